/*
 * tst.c - the test harness behind tst.h.
 */
#include "tst.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/util.h"

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

int tst_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tst_count_in_dir(const char *dir, const char *frag)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, frag))
            n++;
    closedir(d);
    return n;
}

char *tst_read_text(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (util_file_read(path, 0, &buf, &len) != UTIL_OK)
        return NULL;
    return (char *)buf;
}

/* ------------------------------------------------------ JSON validity */

typedef struct jp {
    const char *p;
    int depth; /* values open, this one included */
} jp;

static void j_ws(jp *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

static int j_value(jp *j);

static int j_string(jp *j)
{
    if (*j->p != '"')
        return 0;
    for (j->p++; *j->p != '"'; j->p++) {
        if ((unsigned char)*j->p < 0x20) /* the terminating NUL too */
            return 0;
        if (*j->p == '\\') {
            j->p++;
            if (*j->p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!strchr("0123456789abcdefABCDEF", j->p[k]) || !j->p[k])
                        return 0;
                j->p += 4;
            } else if (!*j->p || !strchr("\"\\/bfnrt", *j->p)) {
                return 0;
            }
        }
    }
    j->p++;
    return 1;
}

static int j_number(jp *j)
{
    const char *s = j->p;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    j->p = s;
    return 1;
}

/* An array (object 0) or an object (object 1), from its opening bracket. */
static int j_seq(jp *j, char close, int object)
{
    j->p++;
    j_ws(j);
    if (*j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        if (object) {
            if (!j_string(j))
                return 0;
            j_ws(j);
            if (*j->p++ != ':')
                return 0;
            j_ws(j);
        }
        if (!j_value(j))
            return 0;
        j_ws(j);
        if (*j->p == ',') {
            j->p++;
            j_ws(j);
            continue;
        }
        if (*j->p != close)
            return 0;
        j->p++;
        return 1;
    }
}

static int j_value(jp *j)
{
    int ok;

    if (++j->depth > 64)
        return 0;
    j_ws(j);
    if (*j->p == '{')
        ok = j_seq(j, '}', 1);
    else if (*j->p == '[')
        ok = j_seq(j, ']', 0);
    else if (*j->p == '"')
        ok = j_string(j);
    else if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "null", 4) == 0)
        ok = (j->p += 4, 1);
    else if (strncmp(j->p, "false", 5) == 0)
        ok = (j->p += 5, 1);
    else
        ok = j_number(j);
    j->depth--;
    return ok;
}

int tst_json_valid(const char *text)
{
    jp j = {text, 0};

    if (!j_value(&j))
        return 0;
    j_ws(&j);
    return *j.p == '\0';
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

struct sqlite3 *tst_sql_open(const char *path)
{
    sqlite3 *h = NULL;

    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "tst_sql_open %s: %s\n", path, h ? sqlite3_errmsg(h) : "?");
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 10000);
    return h;
}

long long tst_sql_int(struct sqlite3 *h, const char *fmt, ...)
{
    char sql[2000];
    sqlite3_stmt *st = NULL;
    long long v = -999;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (!h || sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "tst_sql_int %s: %s\n", sql, h ? sqlite3_errmsg(h) : "no handle");
        return v;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int tst_runf(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8000];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tst_run(cmd, out, cap);
}

int tst_run_bin(char *out, size_t cap, const char *fmt, ...)
{
    char args[8000];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tst_runf(out, cap, "%s %s", tst_bin(), args);
}

const char *tst_path(const char *fmt, ...)
{
    static char paths[8][600];
    static int slot;
    char name[300];
    char *p = paths[slot++ % 8];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(p, 600, "%s/%s", tst_tmpdir(), name);
    return p;
}
