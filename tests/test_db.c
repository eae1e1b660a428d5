/*
 * test_db.c - the database layer (db/): SHA-256 against known vectors, the
 * embedded schema against db/schema.sql, a document with pages, fields and
 * digits written and read back column by column (tables and views), runs
 * and models, duplicates skipped or replaced, a document failing half way
 * leaving nothing behind, failed documents, two processes writing at once,
 * a writer killed with SIGKILL inside its transaction, migrations (the
 * machinery, and real version-1, version-2 and version-3 databases from
 * tests/data/schema-v1.sql, schema-v2.sql and schema-v3.sql brought to the
 * current version), the checker's digits.check_prob and runs.checker_id,
 * the judge's runs.judge_id, the pair readers' runs.pair_left_id and
 * runs.pair_right_id, the refusal of newer, foreign, empty and damaged files,
 * and export (CSV quoting, JSON validity, the command line with its exit
 * codes and -o).
 *
 * The checks read the database with plain SQL through their own SQLite
 * connection, not through db/.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_int.h"
#include "tests/tst.h"
#include "util/util.h"

#define OUT_CAP (1 << 20)

static char g_out[OUT_CAP];

/* ------------------------------------------------------------- helpers */

/* The first column of the first row as text ("<null>", "<error>"), in a
 * rotating static buffer. */
static const char *q_text(sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *q_text(sqlite3 *h, const char *fmt, ...)
{
    static char bufs[4][1000];
    static int slot;
    char sql[2000], *out = bufs[slot++ % 4];
    sqlite3_stmt *st = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    snprintf(out, 1000, "<error>");
    if (!h || sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "q_text %s: %s\n", sql, h ? sqlite3_errmsg(h) : "no handle");
        return out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        snprintf(out, 1000, "%s", s ? (const char *)s : "<null>");
    }
    sqlite3_finalize(st);
    return out;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* ------------------------------------------------ documents to store */

/*
 * A made-up document: n_pages pages of n_fields fields each, alternately an
 * amount ("amt<k>") and a postcode ("zip<k>"); every value follows from
 * (seed, page, field) so the checks can recompute it.
 */
typedef struct tdoc {
    db_doc doc;
    db_page *pages;
    db_field *fields;
    db_digit *digits;
    char *texts;    /* 64 bytes per field: text, then value text at +32 */
    char *names;    /* 16 bytes per field */
    char path[300];
} tdoc;

#define TXT(t, i) ((t)->texts + 64 * (size_t)(i))
#define NAME(t, i) ((t)->names + 16 * (size_t)(i))

static long long t_cents(int seed, int page, int k) { return seed * 100000LL + page * 1000 + k * 10 + 6; }
static int t_crop(int seed, int page, int k, int pos, int i)
{
    return (seed * 7 + page * 13 + k * 17 + pos * 19 + i * 5) & 0xff;
}

static void tdoc_free(tdoc *t)
{
    free(t->pages);
    free(t->fields);
    free(t->digits);
    free(t->texts);
    free(t->names);
    memset(t, 0, sizeof *t);
}

static void tdoc_make(tdoc *t, const char *path, int seed, int n_pages, int n_fields)
{
    char key[64];
    int nf = n_pages * n_fields, fi = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->pages = calloc((size_t)n_pages, sizeof *t->pages);
    t->fields = calloc((size_t)nf, sizeof *t->fields);
    t->digits = calloc((size_t)nf * 10, sizeof *t->digits);
    t->texts = calloc((size_t)nf, 64);
    t->names = calloc((size_t)nf, 16);
    if (!t->pages || !t->fields || !t->digits || !t->texts || !t->names) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    snprintf(key, sizeof key, "doc-%d", seed);
    db_sha256_mem(key, strlen(key), t->doc.sha256);
    t->doc.path = t->path;
    t->doc.bytes = 1000 + seed;
    t->doc.page_count = n_pages;
    t->doc.seconds = 0.25;
    t->doc.n_pages = n_pages;
    t->doc.pages = t->pages;
    for (int p = 0; p < n_pages; p++) {
        db_page *pg = &t->pages[p];
        pg->page_no = p + 1;
        pg->width = 2550;
        pg->height = 3300;
        pg->dpi = 300;
        pg->skew_deg = -0.75 + p;
        pg->form = "us-check";
        pg->n_fields = n_fields;
        pg->fields = &t->fields[fi];
        for (int k = 0; k < n_fields; k++, fi++) {
            db_field *f = &t->fields[fi];
            db_digit *g = &t->digits[(size_t)fi * 10];
            char *text = TXT(t, fi), *val = TXT(t, fi) + 32, digits[32];
            int amount = k % 2 == 0, n = 0;

            snprintf(NAME(t, fi), 16, "%s%d", amount ? "amt" : "zip", k);
            f->form = "us-check";
            f->name = NAME(t, fi);
            f->type = amount ? "amount" : "postcode";
            f->x = 100 + k;
            f->y = 200 + p;
            f->w = 300;
            f->h = 60;
            if (amount) {
                long long c = t_cents(seed, p + 1, k);
                snprintf(text, 32, "%lld.%02lld", c / 100, c % 100);
                snprintf(digits, sizeof digits, "%lld", c);
                f->has_value = 1;
                f->cents = c;
            } else {
                snprintf(text, 32, "%05d-%04d", (seed * 31 + p) % 100000, k);
                memcpy(val, text, 32);
                snprintf(digits, sizeof digits, "%05d%04d", (seed * 31 + p) % 100000, k);
                f->value_text = val;
            }
            f->text = text;
            f->confidence = 0.93;
            f->status = (seed % 2 && p == 1 && k == 1) ? DB_FIELD_REVIEW : DB_FIELD_OK;
            f->doubt = 0.125;
            f->note = k == 1 ? "touching digits split" : NULL;
            for (n = 0; digits[n] && n < 10; n++) {
                g[n].pos = n;
                g[n].label = digits[n] - '0';
                g[n].prob = 0.9f; /* a float, stored rounded */
                g[n].label2 = n == 0 ? -1 : (g[n].label + 1) % 10;
                g[n].prob2 = 0.0625;
                g[n].x = f->x + 20 * n;
                g[n].y = f->y;
                g[n].w = 18;
                g[n].h = 40;
                g[n].has_crop = n != 1;
                for (int i = 0; i < DB_CROP_PIXELS; i++)
                    g[n].crop[i] = (uint8_t)t_crop(seed, p + 1, k, n, i);
            }
            f->n_digits = n;
            f->digits = g;
        }
    }
}

static int tdoc_digits(const tdoc *t)
{
    int n = 0;
    for (int p = 0; p < t->doc.n_pages; p++)
        for (int f = 0; f < t->pages[p].n_fields; f++)
            n += t->pages[p].fields[f].n_digits;
    return n;
}

static int put(db *d, int64_t run, const tdoc *t, int replace, int *pout, int64_t *pid)
{
    int out;
    int64_t id;
    return db_doc_put(d, run, &t->doc, replace, pout ? pout : &out, pid ? pid : &id);
}

/* ------------------------------------------------------------- SHA-256 */

static void test_sha256(void)
{
    char hex[DB_SHA256_HEX], hex2[DB_SHA256_HEX];
    int64_t bytes = -1;
    const char *path;
    uint8_t *big;
    size_t n = 700001; /* more than one read chunk */

    TST_CHECK(db_sha256_mem("", 0, hex) == UTIL_OK &&
                  strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
              "sha256(\"\") = %s", hex);
    TST_CHECK(db_sha256_mem("abc", 3, hex) == UTIL_OK &&
                  strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
              "sha256(\"abc\") = %s", hex);
    path = tst_write_file("abc.bin", "abc", 3);
    TST_CHECK(db_sha256_file(path, hex2, &bytes) == UTIL_OK && strcmp(hex, hex2) == 0 && bytes == 3,
              "file sha256 %s, %lld bytes", hex2, (long long)bytes);
    big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    path = tst_write_file("big.bin", big, n);
    TST_CHECK(db_sha256_file(path, hex2, &bytes) == UTIL_OK && db_sha256_mem(big, n, hex) == UTIL_OK &&
                  strcmp(hex, hex2) == 0 && bytes == (int64_t)n,
              "a file over several chunks hashes like the buffer");
    free(big);
    path = tst_write_file("empty.bin", "", 0);
    TST_CHECK(db_sha256_file(path, hex2, &bytes) == UTIL_OK && bytes == 0 &&
                  strcmp(hex2, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
              "an empty file");
    util_clear_error();
    TST_CHECK(db_sha256_file(tst_path("no-such-file"), hex2, &bytes) == UTIL_EIO &&
                  strstr(util_last_error(), "no-such-file") && hex2[0] == '\0',
              "a missing file: %s", util_last_error());
    TST_CHECK(db_sha256_file(tst_tmpdir(), hex2, NULL) == UTIL_EIO, "a folder is not readable");
}

/* The schema in the binary is db/schema.sql byte for byte. */
static void test_schema_embedded(void)
{
    char *text = tst_read_text("db/schema.sql");

    TST_CHECK(text != NULL, "db/schema.sql readable from the repository root");
    if (text)
        TST_CHECK(strlen(text) == db_schema_sql_len &&
                      memcmp(text, db_schema_sql, db_schema_sql_len) == 0,
                  "embedded schema equals db/schema.sql (%zu vs %zu bytes)", strlen(text),
                  db_schema_sql_len);
    free(text);
}

/* -------------------------------------------------------- a new database */

static void test_open_new(void)
{
    const char *path = tst_path("new.db");
    db *d = NULL;
    sqlite3 *h;

    TST_CHECK(db_open(path, 0, &d) == UTIL_EIO && !d && !tst_file_exists(path),
              "without CREATE a missing file is an error and is not created");
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK && d, "created");
    if (!d)
        return;
    TST_CHECK(strcmp(db_path(d), path) == 0, "db_path");
    TST_CHECK(tst_sql_int(d->h, "PRAGMA foreign_keys") == 1, "foreign keys on");
    TST_CHECK(tst_sql_int(d->h, "PRAGMA busy_timeout") == DB_BUSY_MS, "busy timeout %lld",
              tst_sql_int(d->h, "PRAGMA busy_timeout"));
    TST_CHECK(strcmp(q_text(d->h, "PRAGMA journal_mode"), "wal") == 0, "WAL");
    db_close(&d);
    TST_CHECK(d == NULL, "db_close NULLs");
    db_close(&d);
    db_close(NULL);
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION, "user_version");
    TST_CHECK(tst_sql_int(h, "PRAGMA application_id") == DB_APPLICATION_ID, "application_id");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE name IN ('documents', 'pages', "
                       "'fields', 'digits', 'models', 'runs', 'amounts', 'postcodes', "
                       "'documents_sha256')") == 9,
              "tables, views and the sha256 index");
    sqlite3_close(h);
    /* Opening again changes nothing. */
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "reopened");
    db_close(&d);
    /* A zero-byte file is an empty database: CREATE fills it, export refuses it. */
    path = tst_write_file("zero.db", "", 0);
    util_clear_error();
    TST_CHECK(db_open(path, 0, &d) == UTIL_EFORMAT && strstr(util_last_error(), "zero.db") &&
                  strstr(util_last_error(), "empty"),
              "zero bytes without CREATE: %s", util_last_error());
    TST_CHECK(file_size(path) == 0, "left as it was");
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "zero bytes with CREATE");
    db_close(&d);
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION,
              "zero-byte file got the schema");
    sqlite3_close(h);
}

/* --------------------------------------------- round trip, runs, views */

static void test_roundtrip(void)
{
    const char *path = tst_path("round.db");
    db *d = NULL;
    sqlite3 *h;
    tdoc t;
    db_run run = {0};
    db_run_counts counts = {0};
    int64_t run_id = 0, run2 = 0, doc_id = 0, found = -1;
    int out = 0, ok;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    run.args = "docpipe ingest --db round.db scans/";
    run.model.sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    run.model.arch = "conv32k3 ...";
    run.model.path = "models/default.model";
    run.model.test_accuracy = 0.996;
    run.model.temperature = 1.25;
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK && run_id > 0, "run begun");
    TST_CHECK(db_run_begin(d, &run, &run2) == UTIL_OK && run2 > run_id, "a second run");

    tdoc_make(&t, "scans/check 1.tif", 3, 2, 3);
    TST_CHECK(db_doc_find(d, t.doc.sha256, &found) == UTIL_OK && found == 0, "not in yet");
    TST_CHECK(put(d, run_id, &t, 0, &out, &doc_id) == UTIL_OK && out == DB_PUT_ADDED && doc_id > 0,
              "put");
    TST_CHECK(db_doc_find(d, t.doc.sha256, &found) == UTIL_OK && found == doc_id, "found");
    counts.status = DB_RUN_DONE;
    counts.documents = 1;
    counts.pages = 2;
    counts.fields = 6;
    counts.review = 1;
    counts.skipped = 4;
    TST_CHECK(db_run_end(d, run_id, &counts) == UTIL_OK, "run ended");
    util_clear_error();
    TST_CHECK(db_run_end(d, 9999, &counts) == UTIL_EINVAL && strstr(util_last_error(), "9999"),
              "no such run: %s", util_last_error());
    db_close(&d);

    h = tst_sql_open(path);
    /* models and runs */
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM models") == 1, "one model row for two runs");
    TST_CHECK(strcmp(q_text(h, "SELECT sha256 || '|' || arch || '|' || test_accuracy || '|' || "
                               "temperature || '|' || path FROM models"),
                     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff|conv32k3 "
                     "...|0.996|1.25|models/default.model") == 0,
              "model row: %s", q_text(h, "SELECT arch FROM models"));
    TST_CHECK(strcmp(q_text(h, "SELECT status || '|' || documents || '|' || replaced || '|' || "
                               "skipped || '|' || failed || '|' || pages || '|' || fields || "
                               "'|' || review || '|' || args FROM runs WHERE id = %lld",
                            (long long)run_id),
                     "done|1|0|4|0|2|6|1|docpipe ingest --db round.db scans/") == 0,
              "run row");
    TST_CHECK(tst_sql_int(h, "SELECT ended_at IS NOT NULL AND seconds >= 0 AND started_at <= ended_at "
                       "AND model_id = (SELECT id FROM models) FROM runs WHERE id = %lld",
                    (long long)run_id) == 1,
              "run times and model");
    TST_CHECK(strcmp(q_text(h, "SELECT status FROM runs WHERE id = %lld", (long long)run2),
                     "running") == 0 &&
                  tst_sql_int(h, "SELECT ended_at IS NULL FROM runs WHERE id = %lld", (long long)run2) == 1,
              "an unfinished run stays 'running'");
    /* documents */
    {
        char want[400];
        snprintf(want, sizeof want, "scans/check 1.tif|%s|1003|2|review|NULL|%lld|0.25",
                 t.doc.sha256, (long long)run_id);
        const char *got = q_text(h, "SELECT path || '|' || sha256 || '|' || bytes || '|' || "
                                    "page_count || '|' || status || '|' || ifnull(error, 'NULL') "
                                    "|| '|' || run_id || '|' || seconds FROM documents");
        TST_CHECK(strcmp(got, want) == 0, "document row: %s", got);
    }
    TST_CHECK(tst_sql_int(h, "SELECT ingested_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z' "
                       "FROM documents") == 1,
              "ingested_at is ISO 8601 UTC: %s", q_text(h, "SELECT ingested_at FROM documents"));
    /* pages */
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM pages WHERE document_id = %lld", (long long)doc_id) == 2,
              "two pages");
    TST_CHECK(strcmp(q_text(h, "SELECT group_concat(page_no || ':' || width || 'x' || height || '@' "
                               "|| dpi || '/' || skew_deg || '/' || form || '/' || "
                               "ifnull(error, 'NULL'), ';') FROM (SELECT * FROM pages ORDER BY "
                               "page_no)"),
                     "1:2550x3300@300/-0.75/us-check/NULL;2:2550x3300@300/0.25/us-check/NULL") == 0,
              "page rows: %s",
              q_text(h, "SELECT group_concat(page_no || '/' || skew_deg) FROM pages"));
    /* fields, every column, against the values the builder made */
    ok = 1;
    for (int p = 1; p <= 2; p++)
        for (int k = 0; k < 3; k++) {
            char want[400];
            const char *got;
            int amount = k % 2 == 0;
            long long c = t_cents(3, p, k);
            if (amount)
                snprintf(want, sizeof want,
                         "us-check|amt%d|amount|%d|%d|300|60|%lld.%02lld|integer:%lld|0.93|ok|0.125|NULL",
                         k, 100 + k, 200 + p - 1, c / 100, c % 100, c);
            else
                snprintf(want, sizeof want,
                         "us-check|zip%d|postcode|%d|%d|300|60|%05d-%04d|text:%05d-%04d|0.93|%s|0.125|"
                         "touching digits split",
                         k, 100 + k, 200 + p - 1, (3 * 31 + p - 1) % 100000, k,
                         (3 * 31 + p - 1) % 100000, k, p == 2 && k == 1 ? "review" : "ok");
            got = q_text(h,
                         "SELECT f.form || '|' || f.name || '|' || f.type || '|' || f.x || '|' || "
                         "f.y || '|' || f.w || '|' || f.h || '|' || f.text || '|' || typeof(f.value) "
                         "|| ':' || f.value || '|' || f.confidence || '|' || f.status || '|' || "
                         "f.doubt || '|' || ifnull(f.note, 'NULL') FROM fields f JOIN pages p ON "
                         "p.id = f.page_id WHERE p.page_no = %d AND f.name = '%s%d'",
                         p, amount ? "amt" : "zip", k);
            if (strcmp(got, want) != 0) {
                ok = 0;
                fprintf(stderr, "field p%d k%d:\n  got  %s\n  want %s\n", p, k, got, want);
            }
        }
    TST_CHECK(ok, "every field column as written");
    /* digits: every column and every crop byte */
    {
        sqlite3_stmt *st = NULL;
        int rows = 0, bad = 0;
        sqlite3_prepare_v2(h,
                           "SELECT p.page_no, f.name, g.pos, g.label, g.prob, g.label2, g.prob2, "
                           "g.x, g.y, g.w, g.h, g.crop, f.text FROM digits g JOIN fields f ON "
                           "f.id = g.field_id JOIN pages p ON p.id = f.page_id "
                           "ORDER BY p.page_no, f.id, g.pos",
                           -1, &st, NULL);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            int page = sqlite3_column_int(st, 0), pos = sqlite3_column_int(st, 2);
            int k = ((const char *)sqlite3_column_text(st, 1))[3] - '0';
            const char *text = (const char *)sqlite3_column_text(st, 12);
            char digits[32];
            int j = 0;
            for (const char *c = text; *c; c++)
                if (*c >= '0' && *c <= '9')
                    digits[j++] = *c;
            digits[j] = '\0';
            int label = digits[pos] - '0';
            const uint8_t *crop = sqlite3_column_blob(st, 11);
            int crop_ok;
            if (pos == 1) {
                crop_ok = sqlite3_column_type(st, 11) == SQLITE_NULL;
            } else {
                crop_ok = crop && sqlite3_column_bytes(st, 11) == DB_CROP_PIXELS;
                for (int i = 0; crop_ok && i < DB_CROP_PIXELS; i++)
                    crop_ok = crop[i] == t_crop(3, page, k, pos, i);
            }
            if (sqlite3_column_int(st, 3) != label || sqlite3_column_double(st, 4) != 0.9 ||
                (pos == 0 ? sqlite3_column_type(st, 5) != SQLITE_NULL ||
                                sqlite3_column_type(st, 6) != SQLITE_NULL
                          : sqlite3_column_int(st, 5) != (label + 1) % 10 ||
                                sqlite3_column_double(st, 6) != 0.0625) ||
                sqlite3_column_int(st, 7) != 100 + k + 20 * pos ||
                sqlite3_column_int(st, 8) != 200 + page - 1 || sqlite3_column_int(st, 9) != 18 ||
                sqlite3_column_int(st, 10) != 40 || !crop_ok) {
                if (bad++ < 3)
                    fprintf(stderr, "digit page %d field %d pos %d wrong\n", page, k, pos);
            }
            rows++;
        }
        sqlite3_finalize(st);
        /* 2 pages x (2 amounts of 6 digits + 1 postcode of 9) */
        TST_CHECK(rows == 2 * (6 + 6 + 9) && rows == tdoc_digits(&t) && bad == 0, "digit rows %d, %d wrong", rows, bad);
    }
    /* the views, as a user queries them */
    {
        long long c = t_cents(3, 2, 2);
        char want[200];
        snprintf(want, sizeof want, "scans/check 1.tif|2|amt2|real:%lld.%02lld|integer:%lld|0.93|ok",
                 c / 100, c % 100, c);
        const char *got = q_text(h, "SELECT file || '|' || page || '|' || field || '|' || "
                                    "typeof(amount) || ':' || amount || '|' || typeof(cents) || "
                                    "':' || cents || '|' || confidence || '|' || status FROM "
                                    "amounts WHERE page = 2 AND field = 'amt2'");
        TST_CHECK(strcmp(got, want) == 0, "amounts view: %s", got);
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM amounts") == 4, "four amounts");
        TST_CHECK(tst_sql_int(h, "SELECT sum(cents) FROM amounts") ==
                      t_cents(3, 1, 0) + t_cents(3, 1, 2) + t_cents(3, 2, 0) + t_cents(3, 2, 2),
                  "sum of cents");
        got = q_text(h, "SELECT file || '|' || page || '|' || field || '|' || typeof(postcode) || "
                        "':' || postcode || '|' || confidence || '|' || status FROM postcodes "
                        "WHERE page = 1");
        snprintf(want, sizeof want, "scans/check 1.tif|1|zip1|text:%05d-0001|0.93|ok", 3 * 31);
        TST_CHECK(strcmp(got, want) == 0, "postcodes view: %s", got);
        TST_CHECK(strcmp(q_text(h, "SELECT status FROM postcodes WHERE page = 2"), "review") == 0,
                  "review status through the view");
    }
    sqlite3_close(h);
    tdoc_free(&t);
}

/* ------------------------------------------------------------ duplicates */

static void test_duplicates(void)
{
    const char *path = tst_path("dup.db");
    db *d = NULL;
    sqlite3 *h;
    tdoc a, b;
    int out = 0;
    int64_t id1 = 0, id2 = 0, id3 = 0, found = 0;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    tdoc_make(&a, "a.tif", 5, 2, 2);
    tdoc_make(&b, "copy of a.tif", 5, 1, 4); /* the same bytes (sha256), read differently */
    TST_CHECK(put(d, 0, &a, 0, &out, &id1) == UTIL_OK && out == DB_PUT_ADDED, "first");
    TST_CHECK(put(d, 0, &b, 0, &out, &id2) == UTIL_OK && out == DB_PUT_SKIPPED && id2 == id1,
              "the same sha256 again is skipped (outcome %d)", out);
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 1 &&
                  tst_sql_int(h, "SELECT count(*) FROM pages") == 2 &&
                  tst_sql_int(h, "SELECT count(*) FROM fields") == 4,
              "nothing added by the skip");
    TST_CHECK(put(d, 0, &b, 1, &out, &id3) == UTIL_OK && out == DB_PUT_REPLACED && id3 != id1,
              "replace asked: replaced (outcome %d)", out);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 1 &&
                  strcmp(q_text(h, "SELECT path FROM documents"), "copy of a.tif") == 0,
              "one document, the new one");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM pages") == 1 && tst_sql_int(h, "SELECT count(*) FROM fields") == 4 &&
                  tst_sql_int(h, "SELECT count(*) FROM pages WHERE document_id = %lld", (long long)id1) == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM digits WHERE field_id NOT IN (SELECT id FROM fields)") == 0,
              "the old document's pages, fields and digits are gone");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits") == tdoc_digits(&b),
              "digits of the new document only (%lld)", tst_sql_int(h, "SELECT count(*) FROM digits"));
    TST_CHECK(db_doc_find(d, a.doc.sha256, &found) == UTIL_OK && found == id3, "find gives the new id");
    /* A failure while replacing keeps the old document. */
    a.fields[1].confidence = 2.0;
    util_clear_error();
    TST_CHECK(put(d, 0, &a, 1, &out, &id2) == UTIL_EINVAL && out == 0 && id2 == 0,
              "replacing with a bad record fails: %s", util_last_error());
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 1 &&
                  tst_sql_int(h, "SELECT id FROM documents") == id3 && tst_sql_int(h, "SELECT count(*) FROM pages") == 1,
              "the old document is still there, whole");
    sqlite3_close(h);
    db_close(&d);
    tdoc_free(&a);
    tdoc_free(&b);
}

/* --------------------------------------- a failure in the middle of a put */

static void counts(sqlite3 *h, long long c[4])
{
    c[0] = tst_sql_int(h, "SELECT count(*) FROM documents");
    c[1] = tst_sql_int(h, "SELECT count(*) FROM pages");
    c[2] = tst_sql_int(h, "SELECT count(*) FROM fields");
    c[3] = tst_sql_int(h, "SELECT count(*) FROM digits");
}

static void test_rollback(void)
{
    const char *path = tst_path("rollback.db");
    db *d = NULL;
    sqlite3 *h;
    tdoc good, bad;
    long long before[4], after[4];
    int out = 7;
    int64_t id = 7;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    tdoc_make(&good, "good.tif", 10, 2, 2);
    TST_CHECK(put(d, 0, &good, 0, NULL, NULL) == UTIL_OK, "a good document");
    h = tst_sql_open(path);
    counts(h, before);

    /* The last field of the last page has no name: NOT NULL fails after
     * the document, a page and three fields are written. */
    tdoc_make(&bad, "bad.tif", 11, 2, 2);
    bad.fields[3].name = NULL;
    util_clear_error();
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL && out == 0 && id == 0,
              "a NULL name is refused");
    TST_CHECK(strstr(util_last_error(), "bad.tif") && strstr(util_last_error(), "page 2") &&
                  strstr(util_last_error(), "fields.name") && strstr(util_last_error(), "rollback.db"),
              "the message names database, document, page and column: %s", util_last_error());
    counts(h, after);
    TST_CHECK(memcmp(before, after, sizeof before) == 0, "nothing of it stayed (%lld %lld %lld %lld)",
              after[0], after[1], after[2], after[3]);
    bad.fields[3].name = "zip1";

    /* A digit label out of range, deep inside. */
    bad.digits[20 + 3].label = 12;
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL && strstr(util_last_error(), "digit 3"),
              "a bad digit is refused: %s", util_last_error());
    bad.digits[20 + 3].label = 4;
    /* A confidence that is not a number. */
    bad.fields[1].confidence = 0.0 / 0.0;
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL, "NaN confidence refused");
    bad.fields[1].confidence = 0.5;
    /* An amount field whose type says amount but whose status is odd. */
    bad.fields[0].status = 5;
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL, "a bad status refused");
    bad.fields[0].status = DB_FIELD_OK;
    /* Two pages with the same number. */
    bad.pages[1].page_no = 1;
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL, "a repeated page number refused");
    bad.pages[1].page_no = 2;
    counts(h, after);
    TST_CHECK(memcmp(before, after, sizeof before) == 0, "still nothing of it");
    TST_CHECK(strcmp(q_text(h, "PRAGMA integrity_check"), "ok") == 0,
              "integrity");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys hold");

    /* Bad arguments are refused before anything is written. */
    char save = bad.doc.sha256[5];
    bad.doc.sha256[5] = 'G';
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL, "a bad sha256 refused");
    bad.doc.sha256[5] = save;
    TST_CHECK(db_doc_put(d, 0, NULL, 0, &out, &id) == UTIL_EINVAL, "NULL document refused");
    bad.doc.path = "";
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_EINVAL, "an empty path refused");
    bad.doc.path = bad.path;

    /* Fixed, it goes in; and paths are data, never SQL. */
    snprintf(bad.path, sizeof bad.path, "x'); DROP TABLE documents; --.tif");
    TST_CHECK(put(d, 0, &bad, 0, &out, &id) == UTIL_OK && out == DB_PUT_ADDED, "the fixed document");
    TST_CHECK(strcmp(q_text(h, "SELECT path FROM documents WHERE id = %lld", (long long)id),
                     "x'); DROP TABLE documents; --.tif") == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM documents") == 2,
              "a path with SQL in it is stored as text");
    sqlite3_close(h);
    db_close(&d);
    tdoc_free(&good);
    tdoc_free(&bad);
}

/* ------------------------------------------------------ failed documents */

static void test_failed(void)
{
    const char *path = tst_path("failed.db");
    db *d = NULL;
    sqlite3 *h;
    tdoc t;
    int64_t id = 0, id2 = 0, found = 5;
    int out;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    tdoc_make(&t, "scans/odd.tif", 20, 1, 2);
    TST_CHECK(db_doc_fail(d, 0, "scans/odd.tif", t.doc.sha256, 1020, "truncated TIFF directory", &id) ==
                      UTIL_OK && id > 0,
              "failure recorded");
    TST_CHECK(db_doc_fail(d, 0, "scans/unreadable.tif", NULL, -1, "Permission denied", NULL) == UTIL_OK,
              "failure without sha256");
    TST_CHECK(db_doc_fail(d, 0, "scans/odd.tif", t.doc.sha256, 1020, "truncated TIFF directory", &id2) ==
                      UTIL_OK && id2 != id,
              "the same failure again");
    TST_CHECK(db_doc_find(d, t.doc.sha256, &found) == UTIL_OK && found == 0,
              "a failed document does not count as stored");
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE path = 'scans/odd.tif'") == 1,
              "one failure row per path");
    TST_CHECK(strcmp(q_text(h, "SELECT status || '|' || error || '|' || bytes || '|' || page_count "
                               "FROM documents WHERE path = 'scans/odd.tif'"),
                     "failed|truncated TIFF directory|1020|0") == 0,
              "failure row: %s", q_text(h, "SELECT error FROM documents"));
    TST_CHECK(tst_sql_int(h, "SELECT sha256 IS NULL AND bytes IS NULL FROM documents WHERE path = "
                       "'scans/unreadable.tif'") == 1,
              "unknown sha256 and size are NULL");
    TST_CHECK(put(d, 0, &t, 0, &out, &id) == UTIL_OK && out == DB_PUT_ADDED, "later it reads");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE path = 'scans/odd.tif'") == 1 &&
                  strcmp(q_text(h, "SELECT status FROM documents WHERE path = 'scans/odd.tif'"), "ok") == 0,
              "the good copy replaced the failure");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 2, "the other failure stays");
    TST_CHECK(db_doc_fail(d, 0, "", NULL, 0, "x", NULL) == UTIL_EINVAL, "empty path refused");
    TST_CHECK(db_doc_fail(d, 0, "p", "abc", 0, "x", NULL) == UTIL_EINVAL, "bad sha256 refused");
    sqlite3_close(h);
    db_close(&d);
    tdoc_free(&t);
}

/* ------------------------------------------------- two writers at once */

#define CONC_OWN 25
#define CONC_SHARED 10

/* A child: opens path (maybe creating it) once the parent says go, then
 * puts its own documents and the shared ones interleaved. */
static int conc_child(const char *path, int who, int go_fd)
{
    db *d = NULL;
    char c;
    int rc = 0;

    if (read(go_fd, &c, 1) < 0)
        return 10;
    util_log_set_level(UTIL_LOG_ERROR);
    if (db_open(path, DB_OPEN_CREATE, &d) != UTIL_OK)
        return 11;
    for (int i = 0; i < CONC_OWN + CONC_SHARED && !rc; i++) {
        tdoc t;
        int seed, out;
        char name[64];
        if (i % 3 == 2 && i / 3 < CONC_SHARED)
            seed = 5000 + (who ? CONC_SHARED - 1 - i / 3 : i / 3); /* opposite orders */
        else
            seed = 1000 * (who + 1) + i;
        snprintf(name, sizeof name, "w%d/doc%d.tif", who, seed);
        tdoc_make(&t, name, seed, 2, 2);
        if (put(d, 0, &t, 0, &out, NULL) != UTIL_OK)
            rc = 12;
        tdoc_free(&t);
    }
    db_close(&d);
    return rc;
}

static void test_concurrent(void)
{
    const char *path = tst_path("conc.db");
    int fds[2];
    pid_t pid[2];
    int status[2] = {-1, -1};
    sqlite3 *h;
    int ok = 1;

    if (pipe(fds) != 0) {
        TST_CHECK(0, "pipe");
        return;
    }
    fflush(NULL);
    for (int w = 0; w < 2; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            close(fds[1]);
            _exit(conc_child(path, w, fds[0]));
        }
    }
    close(fds[0]);
    close(fds[1]); /* go: both reads return */
    for (int w = 0; w < 2; w++)
        if (pid[w] > 0)
            waitpid(pid[w], &status[w], 0);
    for (int w = 0; w < 2; w++)
        ok &= pid[w] > 0 && WIFEXITED(status[w]) && WEXITSTATUS(status[w]) == 0;
    TST_CHECK(ok, "both writers finished (status %d %d)", status[0], status[1]);
    h = tst_sql_open(path);
    /* Each writer: CONC_OWN + CONC_SHARED puts of which some are shared. */
    long long own = 2LL * (CONC_OWN + CONC_SHARED) - 2 * CONC_SHARED;
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == own + CONC_SHARED,
              "%lld documents, expected %lld", tst_sql_int(h, "SELECT count(*) FROM documents"),
              own + CONC_SHARED);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM (SELECT sha256 FROM documents GROUP BY sha256 "
                       "HAVING count(*) > 1)") == 0,
              "no document twice");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents WHERE path GLOB 'w0/*'") >= CONC_OWN &&
                  tst_sql_int(h, "SELECT count(*) FROM documents WHERE path GLOB 'w1/*'") >= CONC_OWN,
              "each writer's own documents are all there");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents d WHERE (SELECT count(*) FROM pages p WHERE "
                       "p.document_id = d.id) <> 2 OR (SELECT count(*) FROM fields f JOIN pages p "
                       "ON p.id = f.page_id WHERE p.document_id = d.id) <> 4") == 0,
              "every document whole");
    TST_CHECK(strcmp(q_text(h, "PRAGMA integrity_check"), "ok") == 0, "integrity");
    sqlite3_close(h);
}

/* ---------------------------------------- kill -9 inside a transaction */

static void kill_me(int page_no)
{
    if (page_no == 40)
        kill(getpid(), SIGKILL);
}

static void test_kill(void)
{
    const char *path = tst_path("kill.db");
    char wal[700];
    pid_t pid;
    int status = 0, out = 0;
    long long wal_bytes;
    db *d = NULL;
    sqlite3 *h;
    tdoc first, big;

    snprintf(wal, sizeof wal, "%s-wal", path);
    tdoc_make(&first, "first.tif", 30, 2, 2);
    /* 50 pages x 10 fields: megabytes of crops, more than SQLite's page
     * cache, so half the document reaches the WAL file before the kill. */
    tdoc_make(&big, "big.tif", 31, 50, 10);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        util_log_set_level(-1);
        if (db_open(path, DB_OPEN_CREATE, &d) != UTIL_OK || put(d, 0, &first, 0, NULL, NULL) != UTIL_OK)
            _exit(3);
        db_test_hook = kill_me;
        put(d, 0, &big, 0, NULL, NULL);
        _exit(4); /* not reached */
    }
    waitpid(pid, &status, 0);
    TST_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was killed (status %d)",
              status);
    wal_bytes = file_size(wal);
    TST_CHECK(wal_bytes > 1000000, "the uncommitted half reached the WAL (%lld bytes)", wal_bytes);
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "the database opens after the kill");
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 1 &&
                  strcmp(q_text(h, "SELECT path FROM documents"), "first.tif") == 0,
              "only the committed document");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM pages") == 2 && tst_sql_int(h, "SELECT count(*) FROM fields") == 4 &&
                  tst_sql_int(h, "SELECT count(*) FROM digits") == tdoc_digits(&first),
              "no half document");
    TST_CHECK(strcmp(q_text(h, "PRAGMA integrity_check"), "ok") == 0, "integrity");
    /* The same ingest again: in once, then skipped. */
    TST_CHECK(put(d, 0, &big, 0, &out, NULL) == UTIL_OK && out == DB_PUT_ADDED, "stored on the rerun");
    TST_CHECK(put(d, 0, &big, 0, &out, NULL) == UTIL_OK && out == DB_PUT_SKIPPED, "and only once");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM documents") == 2 && tst_sql_int(h, "SELECT count(*) FROM pages") == 52,
              "two documents, 52 pages");
    sqlite3_close(h);
    db_close(&d);
    tdoc_free(&first);
    tdoc_free(&big);
}

/* ------------------------------------------------------------ migration */

static int g_step_calls;

static int step_add_column(db *d)
{
    g_step_calls++;
    return db_exec(d, "ALTER TABLE documents ADD COLUMN source TEXT; "
                      "UPDATE documents SET source = 'migrated'");
}

static int step_broken(db *d)
{
    g_step_calls++;
    return db_exec(d, "ALTER TABLE documents ADD COLUMN source TEXT; SELECT * FROM no_such_table");
}

static long long has_column(sqlite3 *h, const char *table, const char *col)
{
    return tst_sql_int(h, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", table, col);
}

/* The machinery with a made-up version after the current one (V + 1). */
static void test_migration(void)
{
    enum { V = DB_SCHEMA_VERSION };
    const char *path = tst_path("mig.db");
    db_step_fn good[V + 2] = {NULL}, broken[V + 2] = {NULL};
    char versions[64], newer[64];
    db *d = NULL;
    sqlite3 *h;
    tdoc t;

    good[V] = step_add_column;
    broken[V] = step_broken;
    snprintf(versions, sizeof versions, "version %d to %d", V, V + 1);
    snprintf(newer, sizeof newer, "version %d", V + 1);
    tdoc_make(&t, "m.tif", 40, 1, 2);
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK && put(d, 0, &t, 0, NULL, NULL) == UTIL_OK,
              "a version-%d database with a document", V);
    h = tst_sql_open(path);

    /* A failing step leaves version V as it was. */
    g_step_calls = 0;
    util_clear_error();
    TST_CHECK(db_migrate(d, 1, V + 1, broken) != UTIL_OK && g_step_calls == 1, "a broken step fails");
    TST_CHECK(strstr(util_last_error(), "mig.db") && strstr(util_last_error(), versions),
              "the message names the file and the versions: %s", util_last_error());
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == V && has_column(h, "documents", "source") == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM documents") == 1,
              "rolled back: still version %d, no new column", V);
    /* No step for a version: refused. */
    TST_CHECK(db_migrate(d, 1, V + 2, good) == UTIL_EUNSUP && tst_sql_int(h, "PRAGMA user_version") == V,
              "a missing step is refused, nothing done");
    /* The step runs once, the version moves, the data stays. */
    g_step_calls = 0;
    TST_CHECK(db_migrate(d, 1, V + 1, good) == UTIL_OK && g_step_calls == 1, "migrated to %d", V + 1);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == V + 1 && has_column(h, "documents", "source") == 1 &&
                  strcmp(q_text(h, "SELECT source || '|' || path FROM documents"), "migrated|m.tif") == 0,
              "version %d, with the column and the old data", V + 1);
    TST_CHECK(db_migrate(d, 1, V + 1, good) == UTIL_OK && g_step_calls == 1, "at the target: no step runs");
    db_close(&d);
    /* To this docpipe (version V) that database is newer now. */
    util_clear_error();
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_EUNSUP && !d, "a newer version is refused");
    TST_CHECK(strstr(util_last_error(), "mig.db") && strstr(util_last_error(), newer) &&
                  strstr(util_last_error(), "newer"),
              "clear message: %s", util_last_error());
    sqlite3_close(h);

    /* A new database reaching version V + 1: schema.sql, then the step. */
    path = tst_path("mig-new.db");
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "new");
    db_close(&d);
    h = tst_sql_open(path);
    sqlite3_exec(h, "PRAGMA user_version = 0; DROP VIEW amounts; DROP VIEW postcodes; "
                    "DROP TABLE digits; DROP TABLE fields; DROP TABLE pages; DROP TABLE documents; "
                    "DROP TABLE runs; DROP TABLE models",
                 NULL, NULL, NULL);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE name NOT GLOB 'sqlite_*'") == 0,
              "emptied to version 0");
    sqlite3_close(h);
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "a version-0 (empty) database");
    g_step_calls = 0;
    TST_CHECK(d && db_migrate(d, 1, V + 1, good) == UTIL_OK && g_step_calls == 1, "then to %d", V + 1);
    db_close(&d);
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == V + 1 && has_column(h, "documents", "source") == 1,
              "new database at version %d", V + 1);
    sqlite3_close(h);
    tdoc_free(&t);
}

/* ------------------------------------------------ schema version 1 to 2 */

/* Whether sql fails on a constraint. */
static int refused(sqlite3 *h, const char *sql)
{
    return (sqlite3_exec(h, sql, NULL, NULL, NULL) & 0xff) == SQLITE_CONSTRAINT;
}

/* The columns of table as "a,b,c", sorted by name. */
static const char *columns(sqlite3 *h, const char *table)
{
    return q_text(h, "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('%s') "
                     "ORDER BY name)", table);
}

/* A database at path made by plain SQL from fixture, the whole layout of
 * an older schema version (db/schema.sql as it was then), checked to be
 * at that version; NULL (and a failed check) otherwise. */
static sqlite3 *fixture_db(const char *path, const char *fixture, int version)
{
    char *sql = tst_read_text(fixture);
    sqlite3 *h = NULL;
    int ok = sql && sqlite3_open(path, &h) == SQLITE_OK &&
             sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK &&
             tst_sql_int(h, "PRAGMA user_version") == version;

    TST_CHECK(ok, "a version-%d database from %s (read from the repository root)", version,
              fixture);
    free(sql);
    if (!ok) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

/* The fixture's handle h closed, the database at path opened through
 * db_open (which migrates it) into *pd, and a fresh handle on the migrated
 * file returned, checked to be at the current version with docpipe's
 * application_id; NULL (and a failed check) when db_open refused it. */
static sqlite3 *migrate_fixture(sqlite3 *h, const char *path, db **pd)
{
    sqlite3_close(h);
    util_clear_error();
    TST_CHECK(db_open(path, 0, pd) == UTIL_OK && *pd, "db_open migrates it: %s",
              util_last_error());
    if (!*pd)
        return NULL;
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION &&
                  tst_sql_int(h, "PRAGMA application_id") == DB_APPLICATION_ID,
              "user_version %lld", tst_sql_int(h, "PRAGMA user_version"));
    return h;
}

/* The tables of the migrated database h have the columns a new database
 * (made at fresh) has, by name (in a migrated one the added columns come
 * last). */
static void same_columns_as_new(sqlite3 *h, const char *fresh)
{
    static const char *const TABLES[] = {"models", "runs", "documents", "pages", "fields", "digits"};
    db *f = NULL;
    sqlite3 *hf;

    TST_CHECK(db_open(fresh, DB_OPEN_CREATE, &f) == UTIL_OK, "a new database");
    db_close(&f);
    hf = tst_sql_open(fresh);
    for (size_t i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        const char *a = columns(h, TABLES[i]), *b = columns(hf, TABLES[i]);
        TST_CHECK(strcmp(a, b) == 0, "%s: migrated %s, new %s", TABLES[i], a, b);
    }
    sqlite3_close(hf);
}

/*
 * A database of the version-1 layout (tests/data/schema-v1.sql, db/schema.sql
 * as it was at version 1) with a run, a model, a document, a page, a field
 * and a digit written by plain SQL, opened with db_open: migrated to the
 * current version, every row kept, the new columns NULL and constrained
 * like a new database's, and usable by db_doc_put and db_run_begin.
 */
static void test_migrate_v1(void)
{
    const char *path = tst_path("v1.db");
    db *d = NULL;
    sqlite3 *h = fixture_db(path, "tests/data/schema-v1.sql", 1);
    db_run run = {0};
    tdoc t;
    int64_t run_id = 0, id = 0;
    int out = 0, src;

    if (!h)
        return;
    TST_CHECK(has_column(h, "digits", "check_prob") == 0 && has_column(h, "runs", "checker_id") == 0,
              "version 1: no check_prob, no checker_id");
    src = sqlite3_exec(
        h,
        "INSERT INTO models(id, sha256, arch, test_accuracy) VALUES (1, "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'conv8k3 dense10', 0.99); "
        "INSERT INTO runs(id, args, model_id, status) VALUES (1, 'docpipe ingest old', 1, 'done'); "
        "INSERT INTO documents(id, run_id, path, sha256, bytes, page_count, status) VALUES (1, 1, "
        "'old.tif', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 10, 1, 'ok'); "
        "INSERT INTO pages(id, document_id, page_no, width, height, dpi) VALUES (1, 1, 1, 100, 200, 300); "
        "INSERT INTO fields(id, page_id, form, name, type, x, y, w, h, text, value, confidence, status) "
        "VALUES (1, 1, 'us-check', 'amount', 'amount', 1, 2, 3, 4, '12.34', 1234, 0.875, 'ok'); "
        "INSERT INTO digits(id, field_id, pos, label, prob, label2, prob2, x, y, w, h) "
        "VALUES (1, 1, 0, 1, 0.5, 7, 0.25, 1, 2, 3, 4)",
        NULL, NULL, NULL);
    TST_CHECK(src == SQLITE_OK, "version-1 rows written: %s", sqlite3_errmsg(h));
    if (!(h = migrate_fixture(h, path, &d)))
        return;
    TST_CHECK(has_column(h, "digits", "check_prob") == 1 && has_column(h, "runs", "checker_id") == 1,
              "digits.check_prob and runs.checker_id exist");
    TST_CHECK(strcmp(q_text(h, "SELECT r.args || '|' || m.arch || '|' || d.path || '|' || p.page_no || '|' "
                               "|| f.name || '|' || f.value || '|' || f.confidence || '|' || g.label "
                               "|| '|' || g.prob || '|' || g.label2 || '|' || g.prob2 FROM digits g "
                               "JOIN fields f ON f.id = g.field_id JOIN pages p ON p.id = f.page_id "
                               "JOIN documents d ON d.id = p.document_id JOIN runs r ON r.id = "
                               "d.run_id JOIN models m ON m.id = r.model_id"),
                     "docpipe ingest old|conv8k3 dense10|old.tif|1|amount|1234|0.875|1|0.5|7|0.25") == 0,
              "the run, model, document, page, field and digit are still there");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits WHERE check_prob IS NULL") == 1 &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE checker_id IS NULL") == 1,
              "older rows keep NULL");
    TST_CHECK(strcmp(q_text(h, "PRAGMA integrity_check"), "ok") == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM pragma_foreign_key_check") == 0,
              "integrity and foreign keys");
    same_columns_as_new(h, tst_path("v1-fresh.db"));
    /* The added columns are constrained as in schema.sql. */
    sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    TST_CHECK(refused(h, "UPDATE digits SET check_prob = 1.5") &&
                  refused(h, "UPDATE digits SET check_prob = -0.5"),
              "the migrated check_prob has its CHECK");
    TST_CHECK(refused(h, "UPDATE runs SET checker_id = 999"),
              "the migrated checker_id is a foreign key");
    TST_CHECK(sqlite3_exec(h, "UPDATE runs SET checker_id = 1", NULL, NULL, NULL) == SQLITE_OK &&
                  sqlite3_exec(h, "DELETE FROM models", NULL, NULL, NULL) == SQLITE_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE checker_id IS NULL AND model_id IS NULL") == 1,
              "ON DELETE SET NULL");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits WHERE check_prob IS NULL") == 1,
              "nothing changed by the refused updates");

    /* Written to through db/. */
    tdoc_make(&t, "new.tif", 90, 1, 1);
    for (int i = 0; i < t.fields[0].n_digits; i++) {
        t.digits[i].has_check = 1;
        t.digits[i].check_prob = 0.5 + 0.0625 * i;
    }
    run.args = "docpipe ingest new";
    run.model.sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    run.model.arch = "conv8k3 dense10";
    run.model.test_accuracy = -1;
    run.checker.sha256 = "2222222222222222222222222222222222222222222222222222222222222222";
    run.checker.arch = "conv16k5 dense10";
    run.checker.test_accuracy = -1;
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK && run_id > 1, "a run with a checker");
    TST_CHECK(put(d, run_id, &t, 0, &out, &id) == UTIL_OK && out == DB_PUT_ADDED, "a document");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits g JOIN fields f ON f.id = g.field_id JOIN "
                             "pages p ON p.id = f.page_id WHERE p.document_id = %lld AND "
                             "g.check_prob = 0.5 + 0.0625 * g.pos",
                          (long long)id) == t.fields[0].n_digits &&
                  t.fields[0].n_digits > 0,
              "its digits' check_prob stored");
    TST_CHECK(strcmp(q_text(h, "SELECT m.arch FROM runs r JOIN models m ON m.id = r.checker_id "
                               "WHERE r.id = %lld", (long long)run_id),
                     "conv16k5 dense10") == 0,
              "runs.checker_id stored");
    sqlite3_close(h);
    db_close(&d);
    /* Opened again: at the current version no step runs (a second ALTER
     * TABLE ADD COLUMN would fail). */
    TST_CHECK(db_open(path, 0, &d) == UTIL_OK, "reopened: %s", util_last_error());
    db_close(&d);
    tdoc_free(&t);
}


/* ------------------------------------------------ schema version 2 to 3 */

/*
 * A database of the version-2 layout (tests/data/schema-v2.sql, db/schema.sql
 * as it was at version 2) with a model, a checker, a run naming both and a
 * document, opened with db_open: migrated to the current version, every row
 * kept, runs.judge_id added NULL and constrained like a new database's
 * (a foreign key, ON DELETE SET NULL), and a run recorded through db/ with
 * a judge names its models row.
 */
static void test_migrate_v2(void)
{
    const char *path = tst_path("v2.db");
    db *d = NULL;
    sqlite3 *h = fixture_db(path, "tests/data/schema-v2.sql", 2);
    db_run run = {0};
    int64_t run_id = 0;
    int src;

    if (!h)
        return;
    TST_CHECK(has_column(h, "runs", "checker_id") == 1 && has_column(h, "runs", "judge_id") == 0,
              "version 2: checker_id, no judge_id");
    src = sqlite3_exec(
        h,
        "INSERT INTO models(id, sha256, arch) VALUES (1, "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'conv8k3 dense10'), (2, "
        "'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'conv16k5 dense10'); "
        "INSERT INTO runs(id, args, model_id, checker_id, status) VALUES (1, 'docpipe ingest v2', 1, 2, "
        "'done'); "
        "INSERT INTO documents(id, run_id, path, sha256, bytes, page_count, status) VALUES (1, 1, "
        "'v2.tif', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 10, 0, 'ok')",
        NULL, NULL, NULL);
    TST_CHECK(src == SQLITE_OK, "version-2 rows written: %s", sqlite3_errmsg(h));
    if (!(h = migrate_fixture(h, path, &d)))
        return;
    TST_CHECK(has_column(h, "runs", "judge_id") == 1, "runs.judge_id exists");
    TST_CHECK(strcmp(q_text(h, "SELECT r.args || '|' || m.arch || '|' || c.arch || '|' || "
                               "ifnull(r.judge_id, 'NULL') || '|' || d.path FROM runs r JOIN models m ON "
                               "m.id = r.model_id JOIN models c ON c.id = r.checker_id JOIN documents d "
                               "ON d.run_id = r.id"),
                     "docpipe ingest v2|conv8k3 dense10|conv16k5 dense10|NULL|v2.tif") == 0,
              "the run keeps its model and checker, its judge NULL, its document");
    same_columns_as_new(h, tst_path("v3-fresh.db"));

    /* Written to through db/: the judge gets its models row; a judge that is
     * the checker's file shares its row. */
    run.args = "docpipe ingest --judge j.model";
    run.model.sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    run.model.arch = "conv8k3 dense10";
    run.model.test_accuracy = -1;
    run.judge.sha256 = "3333333333333333333333333333333333333333333333333333333333333333";
    run.judge.arch = "lenet5";
    run.judge.test_accuracy = -1;
    run.judge.path = "models/judge.model";
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK && run_id > 1, "a run with a judge: %s",
              util_last_error());
    TST_CHECK(strcmp(q_text(h, "SELECT m.arch || '|' || m.path || '|' || ifnull(r.checker_id, 'NULL') "
                               "FROM runs r JOIN models m ON m.id = r.judge_id WHERE r.id = %lld",
                            (long long)run_id),
                     "lenet5|models/judge.model|NULL") == 0,
              "runs.judge_id stored, no checker");
    run.checker = run.judge;
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE id = %lld AND checker_id = judge_id",
                              (long long)run_id) == 1 &&
                  tst_sql_int(h, "SELECT count(*) FROM models WHERE arch = 'lenet5'") == 1,
              "judge and checker the same file: one models row");
    run.judge.arch = NULL;
    util_clear_error();
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_EINVAL && run_id == 0 &&
                  strstr(util_last_error(), "judge"),
              "a judge without an architecture refused: %s", util_last_error());
    /* The added column is constrained as in schema.sql. */
    sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    TST_CHECK(refused(h, "UPDATE runs SET judge_id = 999"), "the migrated judge_id is a foreign key");
    TST_CHECK(sqlite3_exec(h, "UPDATE runs SET judge_id = 2 WHERE id = 1", NULL, NULL, NULL) == SQLITE_OK &&
                  sqlite3_exec(h, "DELETE FROM models WHERE id = 2", NULL, NULL, NULL) == SQLITE_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE id = 1 AND judge_id IS NULL AND "
                                 "checker_id IS NULL AND model_id = 1") == 1,
              "ON DELETE SET NULL");
    sqlite3_close(h);
    db_close(&d);
    TST_CHECK(db_open(path, 0, &d) == UTIL_OK, "reopened: %s", util_last_error());
    db_close(&d);
}

/* ------------------------------------------------ schema version 3 to 4 */

/*
 * A database of the version-3 layout (tests/data/schema-v3.sql, db/schema.sql
 * as it was at version 3) with a model, a checker, a judge, a run naming
 * them and a document, opened with db_open: migrated to the current
 * version, every row kept, runs.pair_left_id and runs.pair_right_id added
 * NULL and constrained like a new database's (foreign keys, ON DELETE SET
 * NULL), and a run recorded through db/ with pair readers names their
 * models rows.
 */
static void test_migrate_v3(void)
{
    const char *path = tst_path("v3.db");
    db *d = NULL;
    sqlite3 *h = fixture_db(path, "tests/data/schema-v3.sql", 3);
    db_run run = {0};
    int64_t run_id = 0;
    long long runs_before;
    int src;

    if (!h)
        return;
    TST_CHECK(has_column(h, "runs", "judge_id") == 1 && has_column(h, "runs", "pair_left_id") == 0 &&
                  has_column(h, "runs", "pair_right_id") == 0,
              "version 3: judge_id, no pair_left_id or pair_right_id");
    src = sqlite3_exec(
        h,
        "INSERT INTO models(id, sha256, arch) VALUES (1, "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'conv8k3 dense10'), (2, "
        "'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'conv16k5 dense10'), (3, "
        "'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd', 'lenet5'); "
        "INSERT INTO runs(id, args, model_id, checker_id, judge_id, status) VALUES (1, "
        "'docpipe ingest v3', 1, 2, 3, 'done'); "
        "INSERT INTO documents(id, run_id, path, sha256, bytes, page_count, status) VALUES (1, 1, "
        "'v3.tif', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 10, 0, 'ok')",
        NULL, NULL, NULL);
    TST_CHECK(src == SQLITE_OK, "version-3 rows written: %s", sqlite3_errmsg(h));
    if (!(h = migrate_fixture(h, path, &d)))
        return;
    TST_CHECK(has_column(h, "runs", "pair_left_id") == 1 && has_column(h, "runs", "pair_right_id") == 1,
              "runs.pair_left_id and runs.pair_right_id exist");
    TST_CHECK(strcmp(q_text(h, "SELECT r.args || '|' || m.arch || '|' || c.arch || '|' || j.arch || '|' "
                               "|| ifnull(r.pair_left_id, 'NULL') || '|' || "
                               "ifnull(r.pair_right_id, 'NULL') || '|' || d.path FROM runs r JOIN "
                               "models m ON m.id = r.model_id JOIN models c ON c.id = r.checker_id "
                               "JOIN models j ON j.id = r.judge_id JOIN documents d ON d.run_id = r.id"),
                     "docpipe ingest v3|conv8k3 dense10|conv16k5 dense10|lenet5|NULL|NULL|v3.tif") == 0,
              "the run keeps its model, checker and judge, its pair readers NULL, its document");
    TST_CHECK(strcmp(q_text(h, "PRAGMA integrity_check"), "ok") == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM pragma_foreign_key_check") == 0,
              "integrity and foreign keys");
    same_columns_as_new(h, tst_path("v4-fresh.db"));

    /* Written to through db/: each pair reader gets its models row; the
     * two the same file share one. */
    run.args = "docpipe ingest --pairs l.model r.model";
    run.model.sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    run.model.arch = "conv8k3 dense10";
    run.model.test_accuracy = -1;
    run.pair_left.sha256 = "4444444444444444444444444444444444444444444444444444444444444444";
    run.pair_left.arch = "conv32k3 dense10 left";
    run.pair_left.test_accuracy = 0.97;
    run.pair_left.path = "models/pair-left.model";
    run.pair_right.sha256 = "5555555555555555555555555555555555555555555555555555555555555555";
    run.pair_right.arch = "conv32k3 dense10 right";
    run.pair_right.test_accuracy = -1;
    run.pair_right.temperature = 1.25;
    run.pair_right.path = "models/pair-right.model";
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK && run_id > 1, "a run with pair readers: %s",
              util_last_error());
    TST_CHECK(strcmp(q_text(h, "SELECT l.arch || '|' || l.path || '|' || l.test_accuracy || '|' || "
                               "r.arch || '|' || r.path || '|' || r.temperature || '|' || "
                               "ifnull(x.checker_id, 'NULL') || '|' || ifnull(x.judge_id, 'NULL') "
                               "FROM runs x JOIN models l ON l.id = x.pair_left_id JOIN models r ON "
                               "r.id = x.pair_right_id WHERE x.id = %lld",
                            (long long)run_id),
                     "conv32k3 dense10 left|models/pair-left.model|0.97|conv32k3 dense10 right|"
                     "models/pair-right.model|1.25|NULL|NULL") == 0,
              "runs.pair_left_id and runs.pair_right_id stored, no checker or judge: %s",
              q_text(h, "SELECT group_concat(arch, ',') FROM models"));
    run.pair_right = run.pair_left;
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE id = %lld AND "
                                 "pair_left_id = pair_right_id",
                              (long long)run_id) == 1 &&
                  tst_sql_int(h, "SELECT count(*) FROM models WHERE arch = 'conv32k3 dense10 left'") == 1,
              "both pair readers the same file: one models row");
    runs_before = tst_sql_int(h, "SELECT count(*) FROM runs");
    run.pair_left.arch = NULL;
    util_clear_error();
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_EINVAL && run_id == 0 &&
                  strstr(util_last_error(), "pair-left reader"),
              "a pair-left reader without an architecture refused: %s", util_last_error());
    run.pair_left.arch = "conv32k3 dense10 left";
    run.pair_right.sha256 = "6666666666666666666666666666666666666666666666666666666666666666";
    run.pair_right.arch = NULL;
    util_clear_error();
    TST_CHECK(db_run_begin(d, &run, &run_id) == UTIL_EINVAL && run_id == 0 &&
                  strstr(util_last_error(), "pair-right reader"),
              "a pair-right reader without an architecture refused: %s", util_last_error());
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs") == runs_before &&
                  tst_sql_int(h, "SELECT count(*) FROM models WHERE sha256 GLOB '6*'") == 0,
              "nothing written by the refused runs");
    /* The added columns are constrained as in schema.sql. */
    sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    TST_CHECK(refused(h, "UPDATE runs SET pair_left_id = 999") &&
                  refused(h, "UPDATE runs SET pair_right_id = 999"),
              "the migrated pair_left_id and pair_right_id are foreign keys");
    TST_CHECK(sqlite3_exec(h, "UPDATE runs SET pair_left_id = 3, pair_right_id = 3 WHERE id = 1", NULL,
                           NULL, NULL) == SQLITE_OK &&
                  sqlite3_exec(h, "DELETE FROM models WHERE id = 3", NULL, NULL, NULL) == SQLITE_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM runs WHERE id = 1 AND pair_left_id IS NULL AND "
                                 "pair_right_id IS NULL AND judge_id IS NULL AND checker_id = 2 AND "
                                 "model_id = 1") == 1,
              "ON DELETE SET NULL");
    sqlite3_close(h);
    db_close(&d);
    /* Opened again: at the current version no step runs (a second ALTER
     * TABLE ADD COLUMN would fail). */
    TST_CHECK(db_open(path, 0, &d) == UTIL_OK, "reopened: %s", util_last_error());
    db_close(&d);
}

/* ---------------------------------------------------------- check_prob */

static void test_check_prob(void)
{
    const char *path = tst_path("check.db");
    db *d = NULL;
    sqlite3 *h;
    tdoc t, u;
    long long before[4], after[4];
    int out = 0, n0, n1, last;
    int64_t id = 0;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    if (!d)
        return;
    h = tst_sql_open(path);
    /* Field 0: a checker probability on each digit (0.9f on pos 1, a float
     * rounded like prob); field 1: none (has_check 0, as calloc left it). */
    tdoc_make(&t, "check.tif", 80, 1, 2);
    n0 = t.fields[0].n_digits;
    n1 = t.fields[1].n_digits;
    for (int i = 0; i < n0; i++) {
        t.digits[i].has_check = 1;
        t.digits[i].check_prob = i == 1 ? 0.9f : 0.25;
    }
    t.digits[10 + 2].check_prob = 0.75; /* ignored: has_check 0 */
    TST_CHECK(put(d, 0, &t, 0, &out, &id) == UTIL_OK && out == DB_PUT_ADDED, "put");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits g JOIN fields f ON f.id = g.field_id "
                             "WHERE f.name = 'amt0' AND typeof(g.check_prob) = 'real' AND "
                             "g.check_prob = CASE g.pos WHEN 1 THEN 0.9 ELSE 0.25 END") == n0,
              "has_check 1: 0.25 stored as 0.25, 0.9f as 0.9 (%s)",
              q_text(h, "SELECT group_concat(check_prob) FROM digits"));
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits g JOIN fields f ON f.id = g.field_id "
                             "WHERE f.name = 'zip1' AND g.check_prob IS NULL") == n1 && n1 > 0,
              "has_check 0: NULL");
    counts(h, before);

    /* Out of 0..1, in the last digit of the last field of the last page:
     * refused by the CHECK, nothing of the document stored. */
    tdoc_make(&u, "check-bad.tif", 81, 2, 2);
    last = 3 * 10 + u.fields[3].n_digits - 1;
    u.digits[last].has_check = 1;
    u.digits[last].check_prob = 1.5;
    util_clear_error();
    TST_CHECK(put(d, 0, &u, 0, &out, &id) == UTIL_EINVAL && out == 0 && id == 0,
              "check_prob 1.5 refused");
    TST_CHECK(strstr(util_last_error(), "check-bad.tif") && strstr(util_last_error(), "check_prob") &&
                  strstr(util_last_error(), "page 2"),
              "the message names document, page and column: %s", util_last_error());
    counts(h, after);
    TST_CHECK(memcmp(before, after, sizeof before) == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM documents WHERE path = 'check-bad.tif'") == 0,
              "nothing of it stored (%lld %lld %lld %lld)", after[0], after[1], after[2], after[3]);
    u.digits[last].check_prob = -0.125;
    TST_CHECK(put(d, 0, &u, 0, &out, &id) == UTIL_EINVAL, "a negative check_prob refused");
    u.digits[last].check_prob = 0.0 / 0.0;
    util_clear_error();
    TST_CHECK(put(d, 0, &u, 0, &out, &id) == UTIL_EINVAL && strstr(util_last_error(), "checker"),
              "a NaN check_prob refused, not stored as NULL: %s", util_last_error());
    counts(h, after);
    TST_CHECK(memcmp(before, after, sizeof before) == 0, "still nothing of it");
    /* 0 and 1 are probabilities too. */
    u.digits[last].check_prob = 1;
    u.digits[last - 1].has_check = 1;
    u.digits[last - 1].check_prob = 0;
    TST_CHECK(put(d, 0, &u, 0, &out, &id) == UTIL_OK && out == DB_PUT_ADDED, "fixed, it goes in");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits g JOIN fields f ON f.id = g.field_id JOIN "
                             "pages p ON p.id = f.page_id WHERE p.document_id = %lld AND "
                             "g.check_prob IS NOT NULL",
                          (long long)id) == 2 &&
                  tst_sql_int(h, "SELECT sum(g.check_prob) FROM digits g JOIN fields f ON "
                                 "f.id = g.field_id JOIN pages p ON p.id = f.page_id WHERE "
                                 "p.document_id = %lld",
                              (long long)id) == 1,
              "0 and 1 stored, the other digits NULL");
    sqlite3_close(h);
    db_close(&d);
    tdoc_free(&t);
    tdoc_free(&u);
}

/* ------------------------------------------------------ runs' checker */

static void test_run_checker(void)
{
    const char *path = tst_path("checker.db");
    const char *A = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const char *B = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    const char *C = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    db *d = NULL;
    sqlite3 *h;
    db_run run;
    int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0, bad = 7;

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    if (!d)
        return;
    h = tst_sql_open(path);
    memset(&run, 0, sizeof run);
    run.args = "docpipe ingest --checker models/checker.model scans/";
    run.model.sha256 = A;
    run.model.arch = "conv32k3 ...";
    run.model.path = "models/default.model";
    run.model.test_accuracy = 0.996;
    run.model.temperature = 1.25;
    run.checker.sha256 = B;
    run.checker.arch = "conv16k5 dense10";
    run.checker.path = "models/checker.model";
    run.checker.test_accuracy = -1; /* unknown: NULL, not the model's 0.996 */
    run.checker.temperature = 0;
    TST_CHECK(db_run_begin(d, &run, &r1) == UTIL_OK && r1 > 0, "a run with a checker");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM models") == 2, "two models rows");
    TST_CHECK(strcmp(q_text(h, "SELECT m.sha256 || '|' || c.sha256 FROM runs r JOIN models m ON "
                               "m.id = r.model_id JOIN models c ON c.id = r.checker_id WHERE r.id = %lld",
                            (long long)r1),
                     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff|"
                     "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100") == 0,
              "runs.model_id and runs.checker_id");
    TST_CHECK(strcmp(q_text(h, "SELECT arch || '|' || path || '|' || ifnull(test_accuracy, 'NULL') || "
                               "'|' || ifnull(temperature, 'NULL') FROM models WHERE sha256 = '%s'", B),
                     "conv16k5 dense10|models/checker.model|NULL|NULL") == 0,
              "the checker's row: %s", q_text(h, "SELECT arch FROM models WHERE sha256 = '%s'", B));
    TST_CHECK(strcmp(q_text(h, "SELECT test_accuracy || '|' || temperature FROM models WHERE sha256 = '%s'", A),
                     "0.996|1.25") == 0,
              "the model's row");
    /* The checker known already: its row is reused. */
    run.checker.test_accuracy = 0.5;
    TST_CHECK(db_run_begin(d, &run, &r2) == UTIL_OK && r2 > r1 &&
                  tst_sql_int(h, "SELECT count(*) FROM models") == 2 &&
                  tst_sql_int(h, "SELECT count(DISTINCT checker_id) FROM runs") == 1,
              "a second run: no new models row");
    /* One file as model and checker: one row. */
    run.model.sha256 = C;
    run.checker.sha256 = C;
    TST_CHECK(db_run_begin(d, &run, &r3) == UTIL_OK &&
                  tst_sql_int(h, "SELECT count(*) FROM models") == 3 &&
                  tst_sql_int(h, "SELECT model_id = checker_id FROM runs WHERE id = %lld", (long long)r3) == 1,
              "the same file as model and checker");
    /* No checker: NULL. */
    run.checker.sha256 = NULL;
    TST_CHECK(db_run_begin(d, &run, &r4) == UTIL_OK &&
                  tst_sql_int(h, "SELECT checker_id IS NULL AND model_id IS NOT NULL FROM runs "
                                 "WHERE id = %lld", (long long)r4) == 1,
              "a run without a checker: checker_id NULL");
    /* A bad checker is refused before anything is written. */
    run.checker.sha256 = "FFEEDDCCBBAA99887766554433221100FFEEDDCCBBAA99887766554433221100";
    util_clear_error();
    TST_CHECK(db_run_begin(d, &run, &bad) == UTIL_EINVAL && bad == 0 &&
                  strstr(util_last_error(), "checker"),
              "an uppercase checker SHA-256 refused: %s", util_last_error());
    run.checker.sha256 = "ffeeddcc";
    TST_CHECK(db_run_begin(d, &run, &bad) == UTIL_EINVAL, "a short checker SHA-256 refused");
    run.checker.sha256 = B;
    run.checker.arch = NULL;
    TST_CHECK(db_run_begin(d, &run, &bad) == UTIL_EINVAL, "a checker without architecture refused");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs") == 4 && tst_sql_int(h, "SELECT count(*) FROM models") == 3,
              "the refused runs wrote nothing");
    sqlite3_close(h);
    db_close(&d);
}

/* ----------------------------------------------------------- refusals */

static void test_refusals(void)
{
    const char *path;
    db *d = NULL;
    sqlite3 *h;
    char text[300];
    uint8_t hdr[20];
    int fd;

    /* A newer docpipe database: refused, and not changed (still not WAL). */
    path = tst_path("newer.db");
    h = NULL;
    sqlite3_open(path, &h);
    sqlite3_exec(h, (const char *)db_schema_sql, NULL, NULL, NULL);
    sqlite3_exec(h, "PRAGMA user_version = 9", NULL, NULL, NULL);
    sqlite3_close(h);
    util_clear_error();
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_EUNSUP && !d &&
                  strstr(util_last_error(), "newer.db") && strstr(util_last_error(), "version 9"),
              "newer: %s", util_last_error());
    fd = open(path, O_RDONLY);
    TST_CHECK(fd >= 0 && read(fd, hdr, 20) == 20 && hdr[18] == 1 && hdr[19] == 1,
              "the refused file was not switched to WAL");
    if (fd >= 0)
        close(fd);

    /* A database of another program, user_version 0. */
    path = tst_path("foreign.db");
    sqlite3_open(path, &h);
    sqlite3_exec(h, "CREATE TABLE customers(id, name)", NULL, NULL, NULL);
    sqlite3_close(h);
    util_clear_error();
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_EFORMAT && !d &&
                  strstr(util_last_error(), "foreign.db") &&
                  strstr(util_last_error(), "not a docpipe database"),
              "foreign: %s", util_last_error());
    h = tst_sql_open(path);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM sqlite_master") == 1, "and left alone");
    sqlite3_close(h);

    /* Another program's, with a user_version of its own. */
    path = tst_path("foreign2.db");
    sqlite3_open(path, &h);
    sqlite3_exec(h, "CREATE TABLE t(x); PRAGMA user_version = 1", NULL, NULL, NULL);
    sqlite3_close(h);
    util_clear_error();
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_EFORMAT &&
                  strstr(util_last_error(), "not a docpipe database"),
              "foreign with user_version 1: %s", util_last_error());

    /* Not SQLite at all. */
    memset(text, 'x', sizeof text);
    snprintf(text, sizeof text, "%s", "name,amount\nalice,12.50\n");
    path = tst_write_file("text.db", text, sizeof text);
    util_clear_error();
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_EFORMAT && !d &&
                  strstr(util_last_error(), "text.db") && strstr(util_last_error(), "not an SQLite"),
              "not SQLite: %s", util_last_error());
    TST_CHECK(file_size(path) == (long long)sizeof text, "left alone");

    /* A folder. */
    util_clear_error();
    TST_CHECK(db_open(tst_tmpdir(), DB_OPEN_CREATE, &d) != UTIL_OK && !d, "a folder: %s",
              util_last_error());
}

/* A database damaged after it was written: clear errors, no crash. */
static void test_damaged(void)
{
    const char *path = tst_path("damaged.db"), *copy;
    db *d = NULL;
    tdoc t;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc, out;
    char cmd[2000];

    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    for (int i = 0; i < 6 && d; i++) {
        tdoc_make(&t, "d.tif", 60 + i, 3, 6);
        put(d, 0, &t, 0, NULL, NULL);
        tdoc_free(&t);
    }
    db_close(&d); /* the last close checkpoints the WAL into the file */
    TST_CHECK(util_file_read(path, 0, &buf, &len) == UTIL_OK && len > 100000, "%zu bytes", len);
    if (!buf)
        return;

    /* Truncated to a third. */
    copy = tst_write_file("truncated.db", buf, len / 3);
    util_clear_error();
    rc = db_open(copy, 0, &d);
    if (rc == UTIL_OK) {
        /* The first page may be fine; then reading the rest fails. */
        tdoc_make(&t, "e.tif", 99, 3, 6);
        rc = put(d, 0, &t, 0, &out, NULL);
        tdoc_free(&t);
        db_close(&d);
    }
    TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), "truncated.db") &&
                  strstr(util_last_error(), "damaged"),
              "truncated: rc %d, %s", rc, util_last_error());
    snprintf(cmd, sizeof cmd, "%s export amounts --db %s", tst_bin(), copy);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 1 && strstr(g_out, "truncated.db") &&
                  (strstr(g_out, "damaged") || strstr(g_out, "not an SQLite")),
              "export of a truncated database: exit %d, %s", rc, g_out);

    /* Garbage over the pages after the first. */
    for (size_t i = 4096; i < len; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    copy = tst_write_file("garbled.db", buf, len);
    snprintf(cmd, sizeof cmd, "%s export fields --db %s", tst_bin(), copy);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 1 && strstr(g_out, "garbled.db") && strstr(g_out, "damaged"),
              "export of a garbled database: exit %d, %s", rc, g_out);

    /* A damaged header. */
    memset(buf, 0x5a, 100);
    copy = tst_write_file("header.db", buf, len);
    util_clear_error();
    TST_CHECK(db_open(copy, DB_OPEN_CREATE, &d) == UTIL_EFORMAT && strstr(util_last_error(), "header.db"),
              "a damaged header: %s", util_last_error());
    free(buf);
}

/* -------------------------------------------------------------- export */

/* A strict RFC 4180 reader: rows of fields, CRLF line ends; returns the
 * number of rows or -1 when the text breaks the rules.  cells[r][c]. */
#define MAXR 64
#define MAXC 12
static char g_cells[MAXR][MAXC][256];
static int g_ncols[MAXR];

static int csv_parse(const char *s)
{
    int r = 0, c = 0;
    size_t n = 0;

    memset(g_ncols, 0, sizeof g_ncols);
    while (*s) {
        char *cell = g_cells[r][c];
        n = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s)
                    return -1;
                if (*s == '"') {
                    if (s[1] == '"') {
                        cell[n++] = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                cell[n++] = *s++;
                if (n > 250)
                    return -1;
            }
        } else {
            while (*s && *s != ',' && *s != '\r' && *s != '\n' && *s != '"' && n < 250)
                cell[n++] = *s++;
            if (*s == '"' || *s == '\n')
                return -1; /* a quote inside an unquoted field, or a bare LF */
        }
        cell[n] = '\0';
        if (*s == ',') {
            s++;
            if (++c >= MAXC)
                return -1;
        } else if (s[0] == '\r' && s[1] == '\n') {
            s += 2;
            g_ncols[r] = c + 1;
            c = 0;
            if (++r >= MAXR)
                return -1;
        } else {
            return -1; /* no CRLF at the end */
        }
    }
    return c == 0 ? r : -1;
}

static void test_export(void)
{
    const char *nasty = "scans/a,b \"c\"\nd.tif";
    char path[600];
    db *d = NULL;
    tdoc a, b;
    db_export_opts o;
    char *text;
    int rows, rc;
    char cmd[3000];

    snprintf(path, sizeof path, "%s", tst_path("export.db"));
    TST_CHECK(db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK, "open");
    tdoc_make(&a, nasty, 70, 2, 2);
    tdoc_make(&b, "scans/\xff\xfe odd bytes.tif", 71, 1, 2);
    TST_CHECK(put(d, 0, &a, 0, NULL, NULL) == UTIL_OK && put(d, 0, &b, 0, NULL, NULL) == UTIL_OK,
              "documents in");
    db_doc_fail(d, 0, "broken.tif", NULL, 0, "not an image", NULL);
    db_close(&d);

    /* amounts as CSV */
    db_export_opts_default(&o);
    TST_CHECK(strcmp(o.db, "docpipe.db") == 0 && strcmp(o.format, "csv") == 0, "defaults");
    o.db = path;
    o.what = "amounts";
    o.out = tst_path("amounts.csv");
    TST_CHECK(db_export_run(&o) == UTIL_OK, "exported");
    text = tst_read_text(o.out);
    rows = text ? csv_parse(text) : -1;
    TST_CHECK(rows == 4, "header and 3 amounts, RFC 4180 (%d rows): %s", rows, text ? text : "");
    if (rows == 4) {
        long long c = t_cents(70, 1, 0);
        char amount[32], cents[32];
        const char *hdr[] = {"file", "page", "field", "amount", "cents", "confidence", "status"};
        int ok = g_ncols[0] == 7;
        for (int i = 0; i < 7 && ok; i++)
            ok = strcmp(g_cells[0][i], hdr[i]) == 0;
        TST_CHECK(ok, "amounts header");
        snprintf(amount, sizeof amount, "%lld.%02lld", c / 100, c % 100);
        snprintf(cents, sizeof cents, "%lld", c);
        /* ordered by file: "scans/\xff..." sorts after "scans/a,..." */
        TST_CHECK(strcmp(g_cells[1][0], nasty) == 0, "the path with comma, quote and newline "
                                                     "comes back: [%s]", g_cells[1][0]);
        TST_CHECK(strcmp(g_cells[1][1], "1") == 0 && strcmp(g_cells[1][2], "amt0") == 0 &&
                      strcmp(g_cells[1][3], amount) == 0 && strcmp(g_cells[1][4], cents) == 0 &&
                      strcmp(g_cells[1][5], "0.93") == 0 && strcmp(g_cells[1][6], "ok") == 0,
                  "first row: %s|%s|%s|%s|%s|%s", g_cells[1][1], g_cells[1][2], g_cells[1][3],
                  g_cells[1][4], g_cells[1][5], g_cells[1][6]);
        TST_CHECK(strcmp(g_cells[2][1], "2") == 0 && strcmp(g_cells[3][0], b.path) == 0,
                  "then page 2, then the other file");
    }
    TST_CHECK(text && strstr(text, "\"scans/a,b \"\"c\"\"\nd.tif\"") != NULL, "quoted and doubled");
    free(text);
    TST_CHECK(tst_count_in_dir(tst_tmpdir(), ".tmp.") == 0, "no temporary left");

    /* fields as CSV */
    o.what = "fields";
    o.out = tst_path("fields.csv");
    TST_CHECK(db_export_run(&o) == UTIL_OK, "fields exported");
    text = tst_read_text(o.out);
    rows = text ? csv_parse(text) : -1;
    TST_CHECK(rows == 7 && text && strncmp(text, "file,page,form,field,type,text,confidence,status,", 49) == 0,
              "fields: header and 6 rows (%d)", rows);
    if (rows == 7)
        TST_CHECK(strcmp(g_cells[4][1], "2") == 0 && strcmp(g_cells[4][3], "zip1") == 0 &&
                      strcmp(g_cells[4][4], "postcode") == 0 && strcmp(g_cells[4][6], "0.93") == 0,
                  "a fields row: page %s field %s type %s", g_cells[4][1], g_cells[4][3], g_cells[4][4]);
    free(text);

    /* JSON */
    o.format = "json";
    const char *whats[] = {"amounts", "postcodes", "fields"};
    for (int i = 0; i < 3; i++) {
        o.what = whats[i];
        o.out = tst_path("%s.json", whats[i]);
        rc = db_export_run(&o);
        text = tst_read_text(o.out);
        TST_CHECK(rc == UTIL_OK && text && tst_json_valid(text), "%s: valid JSON", whats[i]);
        if (i == 0)
            TST_CHECK(text && strstr(text, "\"file\":\"scans/a,b \\\"c\\\"\\nd.tif\"") &&
                          strstr(text, "\"file\":\"scans/\\ufffd\\ufffd odd bytes.tif\"") &&
                          strstr(text, "\"cents\":7001006,"),
                      "escapes, bytes that are not UTF-8, integers: %.300s", text ? text : "");
        if (i == 1)
            TST_CHECK(text && strstr(text, "\"postcode\":\"02170-0001\""), "postcode as a string");
        free(text);
    }

    /* An empty database exports a header / an empty array. */
    const char *empty = tst_path("empty-export.db");
    TST_CHECK(db_open(empty, DB_OPEN_CREATE, &d) == UTIL_OK, "empty db");
    db_close(&d);
    o.db = empty;
    o.what = "amounts";
    o.out = tst_path("none.json");
    text = db_export_run(&o) == UTIL_OK ? tst_read_text(o.out) : NULL;
    TST_CHECK(text && strcmp(text, "[]\n") == 0, "empty JSON array");
    free(text);
    o.format = "csv";
    o.out = tst_path("none.csv");
    text = db_export_run(&o) == UTIL_OK ? tst_read_text(o.out) : NULL;
    TST_CHECK(text && strcmp(text, "file,page,field,amount,cents,confidence,status\r\n") == 0,
              "empty CSV: the header");
    free(text);

    /* Bad options through the API. */
    o.what = "totals";
    TST_CHECK(db_export_run(&o) == UTIL_EINVAL, "unknown what");
    o.what = "amounts";
    o.format = "xml";
    TST_CHECK(db_export_run(&o) == UTIL_EINVAL, "unknown format");
    o.format = "csv";
    o.db = tst_path("missing.db");
    o.out = tst_path("never.csv");
    util_clear_error();
    TST_CHECK(db_export_run(&o) == UTIL_EIO && !tst_file_exists(o.db) && !tst_file_exists(o.out) &&
                  strstr(util_last_error(), "missing.db"),
              "a missing database: error, not created, no output: %s", util_last_error());

    /* ---- the command line */
    snprintf(cmd, sizeof cmd, "%s export amounts --db %s -o %s", tst_bin(), path, tst_path("cli.csv"));
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 0 && g_out[0] == '\0', "CLI -o: exit %d, quiet: %s", rc, g_out);
    {
        char *x = tst_read_text(tst_path("cli.csv")), *y = tst_read_text(tst_path("amounts.csv"));
        TST_CHECK(x && y && strcmp(x, y) == 0, "the CLI writes what the API wrote");
        free(x);
        free(y);
    }
    snprintf(cmd, sizeof cmd, "%s export postcodes --db=%s --format json 2>/dev/null", tst_bin(), path);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 0 && tst_json_valid(g_out) && strstr(g_out, "\"postcode\":"),
              "CLI JSON on standard output: exit %d", rc);
    snprintf(cmd, sizeof cmd, "%s export fields --db %s -o -", tst_bin(), path);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 0 && csv_parse(g_out) == 7, "CLI -o - is standard output");
    snprintf(cmd, sizeof cmd, "%s export amounts --db %s -o %s", tst_bin(), tst_path("nope.db"),
             tst_path("nope.csv"));
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 1 && strstr(g_out, "nope.db") && strstr(g_out, "no such database") &&
                  !tst_file_exists(tst_path("nope.db")) && !tst_file_exists(tst_path("nope.csv")),
              "CLI missing database: exit %d, %s", rc, g_out);
    snprintf(cmd, sizeof cmd, "%s export amounts --db %s -o %s", tst_bin(), path,
             tst_path("no-such-dir/out.csv"));
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 1 && strstr(g_out, "no-such-dir"), "CLI unwritable output: exit %d, %s", rc, g_out);
    snprintf(cmd, sizeof cmd, "%s export amounts --db %s --format xml", tst_bin(), path);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 2 && strstr(g_out, "xml") && strstr(g_out, "usage: docpipe export"),
              "CLI bad format: exit %d", rc);
    snprintf(cmd, sizeof cmd, "%s export totals --db %s", tst_bin(), path);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 2 && strstr(g_out, "totals"), "CLI bad table: exit %d", rc);
    snprintf(cmd, sizeof cmd, "%s export --db %s", tst_bin(), path);
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 2, "CLI nothing to export: exit %d", rc);
    snprintf(cmd, sizeof cmd, "%s export --help", tst_bin());
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 0 && strstr(g_out, "amounts|postcodes|fields"), "CLI help");
    snprintf(cmd, sizeof cmd, "%s help", tst_bin());
    rc = tst_run(cmd, g_out, sizeof g_out);
    TST_CHECK(rc == 0 && strstr(g_out, "export"), "export listed in the commands");
    snprintf(cmd, sizeof cmd, "cd %s && %s export amounts", tst_tmpdir(), tst_bin());
    if (tst_bin()[0] == '/') {
        rc = tst_run(cmd, g_out, sizeof g_out);
        TST_CHECK(rc == 1 && strstr(g_out, "docpipe.db") && !tst_file_exists(tst_path("docpipe.db")),
                  "the default database is ./docpipe.db, not created: %s", g_out);
    }
    tdoc_free(&a);
    tdoc_free(&b);
}

int main(void)
{
    util_log_set_level(-1); /* messages are checked through util_last_error() */
    tst_tmpdir();
    test_sha256();
    test_schema_embedded();
    test_open_new();
    test_roundtrip();
    test_duplicates();
    test_rollback();
    test_failed();
    test_concurrent();
    test_kill();
    test_migration();
    test_migrate_v1();
    test_migrate_v2();
    test_migrate_v3();
    test_check_prob();
    test_run_checker();
    test_refusals();
    test_damaged();
    test_export();
    return tst_done();
}
