/*
 * test_util_csv.c - the general CSV reader and field writer (util_csv.h):
 * quoting, line ends, blank lines, line numbers, and broken text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tst.h"
#include "util/util.h"
#include "util/util_csv.h"

static void test_read(void)
{
    const char *t = "file,page,text\r\n"
                    "a.tif,1,\"12,5\"\n"
                    "\"b \"\"x\"\".png\",2,\"two\nlines\"\n"
                    "\n"
                    "c,,\n"
                    "last,3,end";
    util_csv *c = NULL;
    char **f;
    int n = 0;

    TST_CHECK(util_csv_open_mem(&c, t, strlen(t), "t.csv") == UTIL_OK, "open");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 3 && strcmp(f[2], "text") == 0 &&
                  util_csv_line(c) == 1,
              "header with CRLF");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 3 && strcmp(f[2], "12,5") == 0,
              "quoted comma");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 3 && strcmp(f[0], "b \"x\".png") == 0 &&
                  strcmp(f[2], "two\nlines") == 0 && util_csv_line(c) == 3,
              "doubled quotes and a newline inside quotes");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 1 && f[0][0] == '\0' &&
                  util_csv_line(c) == 5,
              "blank line is one empty field, line numbers count the quoted newline (%d)",
              util_csv_line(c));
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 3 && !f[1][0] && !f[2][0],
              "empty fields");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 3 && strcmp(f[2], "end") == 0,
              "last line without a line end");
    TST_CHECK(util_csv_next(c, &f, &n) == UTIL_OK && n == 0 && f == NULL, "end");
    util_csv_close(&c);
    TST_CHECK(c == NULL, "close nulls");
    util_csv_close(NULL);
}

static void test_broken(void)
{
    static const struct { const char *t; const char *says; } bad[] = {
        {"a,\"b\n", "t.csv:1: a quoted field is never closed"},
        {"a,b\nc,\"d\"x\n", "t.csv:2: text after a closing quote"},
        {"a,b\"c\n", "t.csv:1: a quote inside"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        util_csv *c = NULL;
        char **f;
        int n, rc = UTIL_OK;
        util_csv_open_mem(&c, bad[i].t, strlen(bad[i].t), "t.csv");
        while (rc == UTIL_OK && (rc = util_csv_next(c, &f, &n)) == UTIL_OK && n > 0)
            ;
        TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), bad[i].says), "%s (said: %s)",
                  bad[i].says, util_last_error());
        util_csv_close(&c);
    }
    {
        const char nul[] = "a,b\0c\n";
        util_csv *c = NULL;
        char **f;
        int n;
        util_csv_open_mem(&c, nul, sizeof nul - 1, "t.csv");
        TST_CHECK(util_csv_next(c, &f, &n) == UTIL_EFORMAT && strstr(util_last_error(), "NUL"),
                  "NUL refused");
        util_csv_close(&c);
    }
    {
        util_csv *c = NULL;
        TST_CHECK(util_csv_open(&c, "/nonexistent.csv", 0) == UTIL_EIO && !c, "missing file");
    }
}

static void test_put(void)
{
    static const char *in[] = {"plain", "a,b", "say \"hi\"", "two\nlines", " lead", "", NULL};
    const char *path = tst_write_file("put.csv", "", 0);
    FILE *fp = fopen(path, "w");
    util_csv *c = NULL;
    char **f;
    int n = 0;

    for (int i = 0; in[i]; i++) {
        if (i)
            fputc(',', fp);
        util_csv_put(fp, in[i]);
    }
    fputc('\n', fp);
    fclose(fp);
    TST_CHECK(util_csv_open(&c, path, 0) == UTIL_OK && util_csv_next(c, &f, &n) == UTIL_OK && n == 6,
              "written record reads back (%d fields)", n);
    for (int i = 0; i < n && i < 6; i++)
        TST_CHECK(strcmp(f[i], in[i]) == 0, "field %d round trips: [%s]", i, f[i]);
    util_csv_close(&c);
}

int main(void)
{
    util_log_set_level(-1);
    test_read();
    test_broken();
    test_put();
    return tst_done();
}
