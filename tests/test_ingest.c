/*
 * test_ingest.c - `docpipe ingest` against what goes wrong, through the
 * command line: broken files (zero bytes, text named .tif, truncated TIFF,
 * PNG and JPEG, a PNG header claiming 100000 x 100000 pixels, a GIF, a
 * missing path; an unreadable file and folder when not running as root)
 * recorded as failed with their reason while the good documents go in and
 * the exit code is 3; `kill -9` (and Ctrl-C: exit 130, run 'interrupted')
 * in the middle of an ingest and the same ingest again (no duplicate, no
 * half document); two ingests on one
 * database at once (both finish, nothing lost or duplicated); a newer and a
 * foreign database refused with a clear message and left unchanged.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <allheaders.h>
#include <sqlite3.h>
#include <zlib.h>

#include "tests/tst.h"
#include "util/util.h"

#define OUT_CAP (1 << 20)
static char g_out[OUT_CAP];
static char g_set[600];
static int g_set_files;

static const char *q_text(sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *q_text(sqlite3 *h, const char *fmt, ...)
{
    static char out[2000];
    char sql[2000];
    sqlite3_stmt *st = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    snprintf(out, sizeof out, "<none>");
    if (!h || sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* No half documents: every stored document has all its pages, every page
 * of a known form all its fields, every field all its digits. */
static long long half_documents(sqlite3 *h)
{
    return tst_sql_int(h, "SELECT count(*) FROM documents d WHERE status <> 'failed' AND "
                    "page_count <> (SELECT count(*) FROM pages p WHERE p.document_id = d.id)") +
           tst_sql_int(h, "SELECT count(*) FROM pages p WHERE p.error IS NULL AND "
                    "((p.form = 'postal' AND (SELECT count(*) FROM fields f WHERE f.page_id = p.id) <> 8) "
                    "OR (p.form = 'us-check' AND (SELECT count(*) FROM fields f WHERE f.page_id = p.id) <> 1))") +
           tst_sql_int(h, "SELECT count(*) FROM fields f WHERE length(replace(replace(f.text,'.',''),'-','')) "
                    "<> (SELECT count(*) FROM digits g WHERE g.field_id = f.id)");
}

static int make_set(void)
{
    int rc = tst_runf(g_out, sizeof g_out, "%s samples --out %s --pages 6 --seed 4 --dpi 200 2>&1", tst_bin(), tst_path("set"));
    TST_CHECK(rc == 0, "docpipe samples: %s", g_out);
    snprintf(g_set, sizeof g_set, "%s", tst_path("set"));
    g_set_files = tst_count_in_dir(g_set, ".") - 2 /* . and .. */ - 3 /* truth, pages, sources */;
    return rc == 0 && g_set_files > 0;
}

/* len bytes of a small image written by Leptonica in format fmt. */
static uint8_t *image_bytes(int fmt, size_t *plen)
{
    PIX *pix = pixCreate(300, 200, 8);
    l_uint8 *data = NULL;
    size_t len = 0;

    pixSetAll(pix);
    for (int y = 50; y < 150; y++)
        for (int x = 40; x < 60; x++)
            pixSetPixel(pix, x, y, 0);
    if (pixWriteMem(&data, &len, pix, fmt) != 0)
        data = NULL;
    pixDestroy(&pix);
    *plen = len;
    return data;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_bad_files(void)
{
    const char *dir = tst_path("bad"), *db = tst_path("bad.db");
    uint8_t png_bomb[8 + 25 + 12 + 12];
    size_t len;
    uint8_t *b;
    sqlite3 *h;
    int rc, root = geteuid() == 0;

    tst_runf(g_out, sizeof g_out, "cp -r %s %s", g_set, dir);
    tst_write_file("bad/zero.tif", "", 0);
    tst_write_file("bad/text.tif", "this is not a scan\n", 19);
    tst_write_file("bad/notes.txt", "left alone\n", 11);
    tst_write_file("bad/anim.gif", "GIF89a\x01\0\x01\0\0\0\0;", 13);
    if ((b = image_bytes(IFF_TIFF_ZIP, &len))) {
        tst_write_file("bad/trunc.tif", b, len / 2);
        free(b);
    }
    if ((b = image_bytes(IFF_PNG, &len))) {
        tst_write_file("bad/trunc.png", b, len / 2);
        free(b);
    }
    if ((b = image_bytes(IFF_JFIF_JPEG, &len))) {
        tst_write_file("bad/trunc.jpg", b, len / 2);
        free(b);
    }
    /* a PNG whose header claims 100000 x 100000 pixels, and an empty image end */
    memcpy(png_bomb, "\x89PNG\r\n\x1a\n", 8);
    put_be32(png_bomb + 8, 13);
    memcpy(png_bomb + 12, "IHDR", 4);
    put_be32(png_bomb + 16, 100000);
    put_be32(png_bomb + 20, 100000);
    memcpy(png_bomb + 24, "\x08\x00\x00\x00\x00", 5);
    put_be32(png_bomb + 29, (uint32_t)crc32(0, png_bomb + 12, 17));
    put_be32(png_bomb + 33, 0);
    memcpy(png_bomb + 37, "IDAT", 4);
    put_be32(png_bomb + 41, (uint32_t)crc32(0, png_bomb + 37, 4));
    put_be32(png_bomb + 45, 0);
    memcpy(png_bomb + 49, "IEND", 4);
    put_be32(png_bomb + 53, (uint32_t)crc32(0, png_bomb + 49, 4));
    tst_write_file("bad/bomb.png", png_bomb, sizeof png_bomb);
    if (!root) {
        tst_write_file("bad/locked.png", "\x89PNG\r\n\x1a\n", 8);
        chmod(tst_path("bad/locked.png"), 0);
        mkdir(tst_path("bad/locked-dir"), 0777);
        tst_write_file("bad/locked-dir/x.png", "\x89PNG\r\n\x1a\n", 8);
        chmod(tst_path("bad/locked-dir"), 0);
    } else {
        tst_skip("unreadable file and folder (chmod 000): running as root, which reads them anyway");
    }

    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --threads 2 %s %s 2>&1", tst_bin(), db, dir, tst_path("bad/missing.tif"));
    TST_CHECK(rc == 3, "some documents failed: exit 3 (got %d): %s", rc, g_out);
    TST_CHECK(strstr(g_out, "failed: ") && strstr(g_out, "zero.tif"), "failures named on stderr");
    h = tst_sql_open(db);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE status <> 'failed'") == g_set_files,
              "every good document went in (%d): %lld", g_set_files,
              tst_sql_int(h, "SELECT count(*) FROM documents WHERE status <> 'failed'"));
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE status = 'failed'") == 8 + (root ? 0 : 2),
              "8 failures (zero, text, gif, 3 truncated, bomb, missing)%s: %lld",
              root ? "" : " + 2 unreadable", tst_sql_int(h, "SELECT count(*) FROM documents WHERE status = 'failed'"));
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE path LIKE '%%notes.txt'") == 0,
              "notes.txt left alone");
    TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%zero.tif'"), "empty"),
              "zero bytes: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%zero.tif'"));
    TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%text.tif'"), "not a"),
              "text named .tif: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%text.tif'"));
    TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%anim.gif'"), "GIF") ||
                  strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%anim.gif'"), "not"),
              "GIF: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%anim.gif'"));
    const char *trunc[3] = {"trunc.tif", "trunc.png", "trunc.jpg"};
    for (int i = 0; i < 3; i++) {
        const char *e = q_text(h, "SELECT error FROM documents WHERE path LIKE '%%%s'", trunc[i]);
        TST_CHECK(strstr(e, "truncated") || strstr(e, "corrupt"), "%s: %s", trunc[i], e);
    }
    TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%bomb.png'"), "over the limit"),
              "100000 x 100000 header refused before decoding: %s",
              q_text(h, "SELECT error FROM documents WHERE path LIKE '%%bomb.png'"));
    TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%missing.tif'"), "no such"),
              "a missing path: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%missing.tif'"));
    if (!root) {
        TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%locked.png'"),
                         "ermission"),
                  "unreadable file: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%locked.png'"));
        TST_CHECK(strstr(q_text(h, "SELECT error FROM documents WHERE path LIKE '%%locked-dir'"),
                         "ermission"),
                  "unreadable folder: %s", q_text(h, "SELECT error FROM documents WHERE path LIKE '%%locked-dir'"));
        chmod(tst_path("bad/locked.png"), 0644);
        chmod(tst_path("bad/locked-dir"), 0755);
    }
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE status = 'failed' AND "
                       "(error IS NULL OR error = '' OR page_count <> 0)") == 0,
              "every failure has its reason and no pages");
    TST_CHECK(half_documents(h) == 0, "no half document");
    TST_CHECK(tst_sql_int(h, "SELECT failed FROM runs") == 8 + (root ? 0 : 2), "the run counts the failures");
    sqlite3_close(h);
}

static void test_kill(int sig)
{
    const char *db = tst_path(sig == SIGKILL ? "kill.db" : "int.db");
    char cmd[2000];
    sqlite3 *h;
    pid_t pid;
    long long before = 0;
    int status = 0, killed = 0;

    snprintf(cmd, sizeof cmd, "exec %s ingest --quiet --db %s --threads 1 --batch 1 %s >/dev/null 2>&1",
             tst_bin(), db, g_set);
    pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    TST_CHECK(pid > 0, "fork");
    if (pid <= 0)
        return;
    /* wait for the first document to be committed, then kill -9 */
    for (int i = 0; i < 20000; i++) {
        struct timespec ts = {0, 1000000};
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (access(db, F_OK) == 0) {
            sqlite3 *r = tst_sql_open(db);
            long long n = tst_sql_int(r, "SELECT count(*) FROM documents");
            sqlite3_close(r);
            if (n >= 1) {
                kill(pid, sig);
                waitpid(pid, &status, 0);
                killed = sig == SIGKILL ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
                                        : WIFEXITED(status) && WEXITSTATUS(status) == 130;
                break;
            }
        }
        nanosleep(&ts, NULL);
    }
    h = tst_sql_open(db);
    before = tst_sql_int(h, "SELECT count(*) FROM documents");
    TST_CHECK(killed, sig == SIGKILL ? "the ingest was killed with SIGKILL mid-run"
                                     : "Ctrl-C (SIGINT) mid-run: exit 130");
    TST_CHECK(before >= 1 && before < g_set_files, "stopped after %lld of %d documents", before,
              g_set_files);
    TST_CHECK(half_documents(h) == 0, "after the signal: no half document");
    if (sig == SIGKILL)
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs WHERE status = 'running' AND ended_at IS NULL") == 1,
                  "the killed run stays 'running' with no end");
    else
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs WHERE status = 'interrupted' AND "
                           "ended_at IS NOT NULL AND documents = %lld", before) == 1,
                  "the interrupted run is marked so, with its count");
    sqlite3_close(h);

    int rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --db %s %s 2>&1", tst_bin(), db, g_set);
    h = tst_sql_open(db);
    TST_CHECK(rc == 0, "the same ingest again: exit 0: %s", g_out);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == g_set_files &&
                  tst_sql_int(h, "SELECT count(DISTINCT sha256) FROM documents") == g_set_files &&
                  tst_sql_int(h, "SELECT count(DISTINCT path) FROM documents") == g_set_files,
              "every document once: %lld", tst_sql_int(h, "SELECT count(*) FROM documents"));
    TST_CHECK(tst_sql_int(h, "SELECT skipped FROM runs ORDER BY id DESC LIMIT 1") == before,
              "the second run skipped the %lld stored before the kill", before);
    TST_CHECK(half_documents(h) == 0, "no half document after the second run");
    sqlite3_close(h);
}

static void test_concurrent(void)
{
    const char *db = tst_path("two.db");
    sqlite3 *h;
    int rc;

    rc = tst_runf(g_out, sizeof g_out, "(%s ingest --quiet --db %s --threads 1 %s & p1=$!; "
             "%s ingest --quiet --db %s --threads 1 %s & p2=$!; "
             "wait $p1; a=$?; wait $p2; b=$?; echo \"exits $a $b\") 2>&1",
             tst_bin(), db, g_set, tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && strstr(g_out, "exits 0 0"), "two ingests at once both finish: %s", g_out);
    h = tst_sql_open(db);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == g_set_files &&
                  tst_sql_int(h, "SELECT count(DISTINCT sha256) FROM documents") == g_set_files,
              "each document once: %lld of %d", tst_sql_int(h, "SELECT count(*) FROM documents"), g_set_files);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs WHERE status = 'done'") == 2, "two runs done");
    TST_CHECK(tst_sql_int(h, "SELECT sum(documents) FROM runs") == g_set_files &&
                  tst_sql_int(h, "SELECT sum(skipped) FROM runs") == g_set_files,
              "stored by one run, skipped by the other: %lld + %lld",
              tst_sql_int(h, "SELECT sum(documents) FROM runs"), tst_sql_int(h, "SELECT sum(skipped) FROM runs"));
    TST_CHECK(half_documents(h) == 0, "no half document");
    sqlite3_close(h);
}

static void test_refused_databases(void)
{
    const char *newer = tst_path("newer.db"), *foreign = tst_path("foreign.db"), *text = tst_path("text.db");
    sqlite3 *h;
    int rc;

    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --db %s %s/doc0001.* 2>&1", tst_bin(), newer, g_set);
    h = tst_sql_open(newer);
    sqlite3_exec(h, "PRAGMA user_version = 7", NULL, NULL, NULL);
    sqlite3_close(h);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s %s 2>&1", tst_bin(), newer, g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "newer") && strstr(g_out, "newer.db"),
              "a newer database: exit 1 naming it: %s", g_out);
    h = tst_sql_open(newer);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == 7 && tst_sql_int(h, "SELECT count(*) FROM runs") == 1,
              "left unchanged");
    sqlite3_close(h);

    h = NULL;
    sqlite3_open(foreign, &h);
    sqlite3_exec(h, "CREATE TABLE customers(id, name); INSERT INTO customers VALUES (1, 'x')", NULL,
                 NULL, NULL);
    sqlite3_close(h);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s %s 2>&1", tst_bin(), foreign, g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "not a docpipe database") && strstr(g_out, "foreign.db"),
              "a foreign database: exit 1: %s", g_out);
    h = tst_sql_open(foreign);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM sqlite_master") == 1, "the foreign database untouched");
    sqlite3_close(h);

    tst_write_file("text.db", "hello, not sqlite at all, just some text here.\n", 48);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s %s 2>&1", tst_bin(), text, g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "text.db"), "a text file as database: exit 1: %s", g_out);
}

int main(void)
{
    util_log_set_level(-1);
    if (make_set()) {
        test_bad_files();
        test_kill(SIGKILL);
        test_kill(SIGINT);
        test_concurrent();
        test_refused_databases();
    }
    return tst_done();
}
