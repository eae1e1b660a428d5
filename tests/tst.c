/*
 * tst.c - the test harness behind tst.h.
 */
#include "tst.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int tst_passed, tst_failed, tst_skipped;
static char g_tmpdir[256];

int tst_check(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        tst_passed++;
        return 1;
    }
    tst_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

void tst_skip(const char *why)
{
    tst_skipped++;
    fprintf(stderr, "SKIP %s\n", why);
}

const char *tst_tmpdir(void)
{
    if (!g_tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(g_tmpdir, sizeof g_tmpdir, "%s/docpipe-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(g_tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return g_tmpdir;
}

const char *tst_write_file(const char *name, const void *data, size_t len)
{
    static char paths[8][512];
    static int slot;
    char *path = paths[slot++ % 8];
    FILE *fp;

    snprintf(path, 512, "%s/%s", tst_tmpdir(), name);
    fp = fopen(path, "wb");
    if (!fp)
        return NULL;
    if (len && fwrite(data, 1, len, fp) != len) {
        fclose(fp);
        return NULL;
    }
    if (fclose(fp) != 0)
        return NULL;
    return path;
}

const char *tst_bin(void)
{
    const char *b = getenv("DOCPIPE_BIN");
    return b && *b ? b : "./docpipe";
}

int tst_run(const char *cmd, char *out, size_t cap)
{
    char full[8192];
    FILE *p;
    size_t len = 0;
    int st;

    snprintf(full, sizeof full, "%s 2>&1", cmd);
    p = popen(full, "r");
    if (!p)
        return -1;
    if (out && cap) {
        len = fread(out, 1, cap - 1, p);
        out[len] = '\0';
    }
    {
        char sink[4096];
        while (fread(sink, 1, sizeof sink, p) > 0)
            ;
    }
    st = pclose(p);
    if (st == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int tst_done(void)
{
    if (tst_skipped)
        printf("%d passed, %d failed, %d skipped\n", tst_passed, tst_failed, tst_skipped);
    else
        printf("%d passed, %d failed\n", tst_passed, tst_failed);
    if (g_tmpdir[0] && tst_failed == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmpdir);
    }
    return tst_failed ? 1 : 0;
}
