/*
 * test_merge.c - docpipe merge (db/db_merge.c): shard databases made with
 * db_doc_put merged into one hold exactly what a single database given the
 * same documents holds (fields, digits and crops, pages, documents, failed
 * records), a document in two shards once; merging again changes not one
 * byte of any table; runs and models carried over (a run's model found by
 * SHA-256); the checker's check_prob, runs.checker_id, runs.judge_id,
 * runs.pair_left_id and runs.pair_right_id carried (the checker, the judge
 * and the pair readers found by SHA-256); a version-1 shard migrated and merged; ids
 * above the output's own; a stored document replacing a failed record;
 * refusals (newer schema version, another program's database, not SQLite,
 * missing, the output itself) leaving the output unchanged; a shard failing
 * midway writes nothing of itself; and the CLI end to end on real pages
 * (two --shard ingests merged = one ingest).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "tests/tst.h"
#include "util/util.h"

static char g_out[1 << 16];

static const char *tmp(const char *name)
{
    static char paths[64][600];
    static int slot;
    char *p = paths[slot++ % 64];
    snprintf(p, 600, "%s/%s", tst_tmpdir(), name);
    return p;
}

/* Everything of a table (or query), rows joined, for comparing. */
static int dump_cb(void *arg, int n, char **v, char **names)
{
    char **buf = arg;
    size_t len = *buf ? strlen(*buf) : 0, add = 2;
    (void)names;
    for (int i = 0; i < n; i++)
        add += (v[i] ? strlen(v[i]) : 4) + 1;
    *buf = realloc(*buf, len + add + 1);
    if (!*buf)
        abort();
    (*buf)[len] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(*buf, v[i] ? v[i] : "NULL");
        strcat(*buf, "|");
    }
    strcat(*buf, "\n");
    return 0;
}

static char *dump(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    char *buf = calloc(1, 1);

    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(h, sql, dump_cb, &buf, NULL) != SQLITE_OK) {
        fprintf(stderr, "dump %s: %s\n", path, h ? sqlite3_errmsg(h) : "?");
        free(buf);
        buf = NULL;
    }
    sqlite3_close(h);
    return buf;
}

/* What a reader sees, without ids: fields with their page and document,
 * and every digit with its crop. */
#define CONTENT                                                                                  \
    "SELECT d.path, d.sha256, d.status, d.bytes, p.page_no, p.form, f.name, f.type, f.text, "    \
    "f.value, f.confidence, f.status, f.note FROM fields f JOIN pages p ON p.id = f.page_id "    \
    "JOIN documents d ON d.id = p.document_id ORDER BY 1, 5, 7; "                                \
    "SELECT d.path, p.page_no, f.name, g.pos, g.label, g.prob, g.label2, g.check_prob, "         \
    "hex(g.crop) FROM "                                                                          \
    "digits g JOIN fields f ON f.id = g.field_id JOIN pages p ON p.id = f.page_id JOIN "         \
    "documents d ON d.id = p.document_id ORDER BY 1, 2, 3, 4; "                                  \
    "SELECT path, status, error, sha256 FROM documents ORDER BY path, status"
/* Every row of every table, ids included, and the id counters. */
#define ALL                                                                                      \
    "SELECT * FROM models ORDER BY id; SELECT * FROM runs ORDER BY id; "                         \
    "SELECT * FROM documents ORDER BY id; SELECT * FROM pages ORDER BY id; "                     \
    "SELECT * FROM fields ORDER BY id; SELECT id, field_id, pos, check_prob, hex(crop) FROM "     \
    "digits ORDER BY id; SELECT * FROM sqlite_sequence ORDER BY name"

/* A made-up document: pages x 2 fields, digits with crops, all from seed. */
typedef struct tdoc {
    db_doc doc;
    db_page pages[3];
    db_field fields[6];
    db_digit digits[6][4];
    char texts[6][16], names[6][16], path[64];
} tdoc;

static void tdoc_make(tdoc *t, const char *path, int seed, int n_pages)
{
    char key[32];

    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(key, sizeof key, "content-%d", seed);
    db_sha256_mem(key, strlen(key), t->doc.sha256);
    t->doc.path = t->path;
    t->doc.bytes = 100 + seed;
    t->doc.page_count = n_pages;
    t->doc.seconds = 0.5;
    t->doc.n_pages = n_pages;
    t->doc.pages = t->pages;
    for (int p = 0; p < n_pages; p++) {
        t->pages[p].page_no = p + 1;
        t->pages[p].width = 1700;
        t->pages[p].height = 2200;
        t->pages[p].dpi = 200;
        t->pages[p].form = "postal";
        t->pages[p].n_fields = 2;
        t->pages[p].fields = &t->fields[2 * p];
        for (int k = 0; k < 2; k++) {
            int i = 2 * p + k;
            db_field *f = &t->fields[i];
            snprintf(t->names[i], sizeof t->names[i], "f%d", k);
            snprintf(t->texts[i], 16, "%04d", (seed * 37 + i * 11) % 10000);
            f->form = "postal";
            f->name = t->names[i];
            f->type = "number";
            f->w = f->h = 50;
            f->text = t->texts[i];
            f->value_text = t->texts[i];
            f->confidence = (seed % 10) / 10.0 + 0.05;
            f->status = DB_FIELD_REVIEW;
            f->n_digits = 4;
            f->digits = t->digits[i];
            for (int n = 0; n < 4; n++) {
                db_digit *g = &t->digits[i][n];
                g->pos = n;
                g->label = t->texts[i][n] - '0';
                g->prob = 0.5;
                g->label2 = -1;
                g->w = g->h = 10;
                g->has_crop = 1;
                for (int j = 0; j < DB_CROP_PIXELS; j++)
                    g->crop[j] = (uint8_t)(seed * 3 + i * 5 + n * 7 + j);
            }
        }
    }
}

/* A database at path holding the documents seeds[] (paths "docS.tif"), a
 * run and, when failed_path, a failed record. */
static void make_db(const char *path, const int *seeds, int n, const char *failed_path,
                    const char *run_args)
{
    db *d = NULL;
    db_run run = {0};
    db_run_counts c = {0};
    int64_t run_id = 0, id;
    int out;

    unlink(path);
    run.args = run_args;
    run.model.sha256 = "5555555555555555555555555555555555555555555555555555555555555555";
    run.model.arch = "conv8k3 flatten dense10";
    run.model.test_accuracy = 0.99;
    run.model.temperature = 1.25;
    if (db_open(path, DB_OPEN_CREATE, &d) || (run_args && db_run_begin(d, &run, &run_id))) {
        fprintf(stderr, "make_db %s: %s\n", path, util_last_error());
        abort();
    }
    for (int i = 0; i < n; i++) {
        tdoc t;
        char name[32];
        snprintf(name, sizeof name, "doc%d.tif", seeds[i]);
        tdoc_make(&t, name, seeds[i], 1 + seeds[i] % 3);
        if (db_doc_put(d, run_id, &t.doc, 0, &out, &id)) {
            fprintf(stderr, "make_db put: %s\n", util_last_error());
            abort();
        }
    }
    if (failed_path && db_doc_fail(d, run_id, failed_path, NULL, 0, "not an image", &id))
        abort();
    c.status = DB_RUN_DONE;
    c.documents = n;
    if (run_args && db_run_end(d, run_id, &c))
        abort();
    db_close(&d);
}

static int merge_files(const char *out, const char *const *shards, int n)
{
    db_merge_opts o;
    int level = util_log_get_level(), rc;

    db_merge_opts_default(&o);
    o.db = out;
    o.shards = shards;
    o.n_shards = n;
    o.quiet = 1;
    util_log_set_level(-1);
    util_clear_error();
    rc = db_merge_run(&o);
    util_log_set_level(level);
    return rc;
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    if (sqlite3_open(path, &h) != SQLITE_OK || sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
        fprintf(stderr, "exec_raw %s: %s\n", path, h ? sqlite3_errmsg(h) : "?");
    sqlite3_close(h);
}

static void test_merge_api(void)
{
    static const int a_seeds[] = {1, 2, 3}, b_seeds[] = {4, 3, 5}, all[] = {1, 2, 3, 4, 5};
    const char *a = tmp("a.db"), *b = tmp("b.db"), *out = tmp("out.db"), *one = tmp("one.db");
    const char *shards[2] = {a, b};
    char *want, *got, *snap, *snap2;

    make_db(a, a_seeds, 3, "broken.tif", "docpipe ingest --shard 1/2 scans");
    make_db(b, b_seeds, 3, NULL, "docpipe ingest --shard 2/2 scans");
    /* doc3.tif in b is the same content as in a: stored once */
    make_db(one, all, 5, "broken.tif", NULL);
    TST_CHECK(merge_files(out, shards, 2) == UTIL_OK, "merge: %s", util_last_error());
    want = dump(one, CONTENT);
    got = dump(out, CONTENT);
    TST_CHECK(want && got && strcmp(want, got) == 0 && strlen(want) > 1000,
              "merged content = one database given the same documents (%zu bytes)",
              want ? strlen(want) : 0);
    free(want);
    free(got);
    got = dump(out, "SELECT count(*) FROM documents WHERE status <> 'failed'; SELECT count(*) "
                    "FROM documents WHERE status = 'failed'; SELECT count(*) FROM runs; "
                    "SELECT args FROM runs ORDER BY id; SELECT count(*) FROM models; SELECT "
                    "count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE m.sha256 "
                    "LIKE '5555%' AND m.arch = 'conv8k3 flatten dense10' AND "
                    "m.temperature = 1.25; SELECT count(*) FROM documents d JOIN runs r ON "
                    "r.id = d.run_id");
    TST_CHECK(got && strcmp(got, "5|\n1|\n2|\ndocpipe ingest --shard 1/2 scans|\n"
                                 "docpipe ingest --shard 2/2 scans|\n1|\n2|\n6|\n") == 0,
              "documents 5 + 1 failed, runs and the model carried, documents keep their "
              "run:\n%s",
              got);
    free(got);
    /* again, in the other order too: not one byte changes */
    snap = dump(out, ALL);
    TST_CHECK(merge_files(out, shards, 2) == UTIL_OK, "merge again");
    shards[0] = b;
    shards[1] = a;
    TST_CHECK(merge_files(out, shards, 2) == UTIL_OK, "merge again, other order");
    snap2 = dump(out, ALL);
    TST_CHECK(snap && snap2 && strcmp(snap, snap2) == 0, "merging again changes nothing");
    free(snap);
    free(snap2);

    /* ids go above the output's highest ever: delete the last document,
     * merge a new one, its id is still higher */
    {
        static const int c_seeds[] = {9};
        const char *c = tmp("c.db");
        char *before, *after;
        make_db(c, c_seeds, 1, NULL, "docpipe ingest c");
        exec_raw(out, "PRAGMA foreign_keys = ON; DELETE FROM documents WHERE id = "
                      "(SELECT max(id) FROM documents)");
        before = dump(out, "SELECT seq FROM sqlite_sequence WHERE name = 'documents'");
        shards[0] = c;
        TST_CHECK(merge_files(out, shards, 1) == UTIL_OK, "merge c");
        after = dump(out, "SELECT min(id) > (SELECT 0) FROM documents WHERE path = "
                          "'doc9.tif'; SELECT id FROM documents WHERE path = 'doc9.tif'");
        TST_CHECK(before && after && atol(strchr(after, '\n') + 1) > atol(before),
                  "a merged id (%s) is above the highest ever (%s)", after, before);
        free(before);
        free(after);
    }
    /* a stored document replaces the output's failed record of its path */
    {
        static const int d_seeds[] = {7};
        const char *dd = tmp("d.db"), *o2 = tmp("o2.db");
        db *h = NULL;
        int64_t id;
        make_db(dd, d_seeds, 1, NULL, "docpipe ingest d");
        if (db_open(o2, DB_OPEN_CREATE, &h) == UTIL_OK) {
            db_doc_fail(h, 0, "doc7.tif", NULL, 5, "truncated", &id);
            db_close(&h);
        }
        shards[0] = dd;
        TST_CHECK(merge_files(o2, shards, 1) == UTIL_OK, "merge d");
        got = dump(o2, "SELECT path, status FROM documents");
        TST_CHECK(got && strcmp(got, "doc7.tif|review|\n") == 0,
                  "the failed record gave way: %s", got);
        free(got);
        /* and a shard's failed record of a path the output holds is not added */
        exec_raw(dd, "PRAGMA foreign_keys = ON; DELETE FROM documents; INSERT INTO "
                     "documents(path, status, error) VALUES ('doc7.tif', 'failed', 'x')");
        TST_CHECK(merge_files(o2, shards, 1) == UTIL_OK, "merge d again");
        got = dump(o2, "SELECT path, status FROM documents");
        TST_CHECK(got && strcmp(got, "doc7.tif|review|\n") == 0, "no failed record added: %s",
                  got);
        free(got);
    }
}

static void test_refusals(void)
{
    static const int seeds[] = {11};
    const char *good = tmp("good.db"), *out = tmp("r-out.db"), *newer = tmp("newer.db");
    const char *foreign = tmp("foreign.db"), *text = tmp("text.db"), *bad = tmp("bad.db");
    const char *shards[3];
    char *snap, *snap2;
    db *d = NULL;
    db_merge_counts c;

    make_db(good, seeds, 1, NULL, "docpipe ingest good");
    make_db(newer, seeds, 1, NULL, "docpipe ingest newer");
    {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", DB_SCHEMA_VERSION + 1);
        exec_raw(newer, sql);
    }
    exec_raw(foreign, "CREATE TABLE t(a); INSERT INTO t VALUES (1)");
    tst_write_file("text.db", "this is no database\n", 20);
    shards[0] = good;
    TST_CHECK(merge_files(out, shards, 1) == UTIL_OK, "merge good");
    snap = dump(out, ALL);

    shards[0] = newer;
    TST_CHECK(merge_files(out, shards, 1) == UTIL_EUNSUP && strstr(util_last_error(), "newer.db"),
              "a newer schema version refused: %s", util_last_error());
    shards[0] = foreign;
    TST_CHECK(merge_files(out, shards, 1) == UTIL_EFORMAT && strstr(util_last_error(), "foreign.db"),
              "another program's database refused: %s", util_last_error());
    shards[0] = text;
    TST_CHECK(merge_files(out, shards, 1) == UTIL_EFORMAT, "a text file refused: %s",
              util_last_error());
    shards[0] = tmp("missing.db");
    TST_CHECK(merge_files(out, shards, 1) == UTIL_EIO && !tst_file_exists(tmp("missing.db")),
              "a missing shard refused, not created: %s", util_last_error());
    shards[0] = out;
    TST_CHECK(merge_files(out, shards, 1) == UTIL_EINVAL, "the output itself refused: %s",
              util_last_error());
    /* a shard that breaks midway (a field the output's CHECK refuses,
     * slipped into the shard past its own checks): nothing of it is written */
    {
        static const int s2[] = {12, 13};
        make_db(bad, s2, 2, NULL, "docpipe ingest bad");
        exec_raw(bad, "PRAGMA ignore_check_constraints = ON; UPDATE fields SET confidence = 2 "
                      "WHERE id = (SELECT max(id) FROM fields)");
        shards[0] = bad;
        TST_CHECK(merge_files(out, shards, 1) == UTIL_EINVAL &&
                      strstr(util_last_error(), "bad.db"),
                  "a shard failing midway: %s", util_last_error());
    }
    /* the newer one among good ones: the others merged, the error returned */
    {
        static const int s3[] = {14};
        const char *g2 = tmp("good2.db");
        make_db(g2, s3, 1, NULL, "docpipe ingest good2");
        shards[0] = newer;
        shards[1] = g2;
        snap2 = dump(out, ALL);
        TST_CHECK(snap && snap2 && strcmp(snap, snap2) == 0,
                  "every refused or failed shard left the output as it was");
        free(snap2);
        TST_CHECK(merge_files(out, shards, 2) == UTIL_EUNSUP, "newer + good2: the error");
        snap2 = dump(out, "SELECT path FROM documents ORDER BY path");
        TST_CHECK(snap2 && strcmp(snap2, "doc11.tif|\ndoc14.tif|\n") == 0, "good2 merged: %s",
                  snap2);
        free(snap2);
    }
    free(snap);
    /* db_merge on a handle: counts */
    {
        static const int s4[] = {15, 16};
        const char *g3 = tmp("good3.db");
        make_db(g3, s4, 2, "x.png", "docpipe ingest good3");
        if (db_open(out, 0, &d) == UTIL_OK) {
            TST_CHECK(db_merge(d, g3, &c) == UTIL_OK && c.documents == 2 && c.failed == 1 &&
                          c.runs == 1 && c.models == 0 && c.pages == 1 + 2 &&
                          c.fields == 2 * 3,
                      "counts: %ld docs %ld failed %ld runs %ld models %ld pages %ld fields",
                      c.documents, c.failed, c.runs, c.models, c.pages, c.fields);
            TST_CHECK(db_merge(d, g3, &c) == UTIL_OK && c.documents == 0 && c.failed == 0 &&
                          c.runs == 0 && c.fields == 0,
                      "again: nothing");
            db_close(&d);
        }
    }
}

/* A shard whose run has a checker, a judge and pair readers and whose
 * digits carry check_prob: the output keeps every check_prob, and the
 * run's checker_id, judge_id, pair_left_id and pair_right_id name the same
 * models (by SHA-256) under the output's own models ids. */
static void test_merge_checker(void)
{
    static const int seeds[] = {21, 22}, other[] = {23};
    const char *shard = tmp("chk.db"), *out = tmp("chk-out.db");
    const char *shards[1] = {shard};
    const char *B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    db *d = NULL;
    db_run run = {0};
    int64_t run_id = 0, id;
    int out_, n = 0;
    char *want, *got;

    /* The output knows another model first, so the models ids differ. */
    make_db(out, other, 1, NULL, "docpipe ingest other");
    exec_raw(out, "INSERT INTO models(sha256, arch) VALUES "
                  "('dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd', 'other')");
    unlink(shard);
    run.args = "docpipe ingest --checker c.model";
    run.model.sha256 = "5555555555555555555555555555555555555555555555555555555555555555";
    run.model.arch = "conv8k3 flatten dense10";
    run.model.test_accuracy = 0.99;
    run.checker.sha256 = B;
    run.checker.arch = "conv16k5 dense10";
    run.checker.test_accuracy = 0.98;
    run.checker.temperature = 1.5;
    run.judge.sha256 = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    run.judge.arch = "lenet5";
    run.judge.test_accuracy = -1;
    run.pair_left.sha256 = "7777777777777777777777777777777777777777777777777777777777777777";
    run.pair_left.arch = "conv32k3 dense10 left";
    run.pair_left.test_accuracy = -1;
    run.pair_right.sha256 = "8888888888888888888888888888888888888888888888888888888888888888";
    run.pair_right.arch = "conv32k3 dense10 right";
    run.pair_right.test_accuracy = -1;
    if (db_open(shard, DB_OPEN_CREATE, &d) || db_run_begin(d, &run, &run_id)) {
        fprintf(stderr, "chk shard: %s\n", util_last_error());
        abort();
    }
    exec_raw(shard, "INSERT INTO models(sha256, arch) VALUES "
                    "('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 'unused')");
    for (int i = 0; i < 2; i++) {
        tdoc t;
        char name[32];
        snprintf(name, sizeof name, "chk%d.tif", seeds[i]);
        tdoc_make(&t, name, seeds[i], 2);
        for (int f = 0; f < 4; f++)
            for (int k = 0; k < 4; k++, n++) {
                t.digits[f][k].has_check = k != 2; /* one NULL per field */
                t.digits[f][k].check_prob = 0.125 * (k + 1) + 0.001 * i;
            }
        if (db_doc_put(d, run_id, &t.doc, 0, &out_, &id)) {
            fprintf(stderr, "chk put: %s\n", util_last_error());
            abort();
        }
    }
    db_close(&d);
    TST_CHECK(merge_files(out, shards, 1) == UTIL_OK, "merge a shard with a checker: %s",
              util_last_error());
#define CHK_DIGITS                                                                               \
    "SELECT d.path, p.page_no, f.name, g.pos, ifnull(g.check_prob, 'NULL') FROM digits g JOIN " \
    "fields f ON f.id = g.field_id JOIN pages p ON p.id = f.page_id JOIN documents d ON "        \
    "d.id = p.document_id WHERE d.path GLOB 'chk*' ORDER BY 1, 2, 3, 4"
    want = dump(shard, CHK_DIGITS);
    got = dump(out, CHK_DIGITS);
    TST_CHECK(want && got && strcmp(want, got) == 0 && strstr(got, "|0.25|") &&
                  strstr(got, "|0.501|") && strstr(got, "|NULL|"),
              "every check_prob kept (%d digits):\n%s", n, got ? got : "");
    free(want);
    free(got);
    got = dump(out, "SELECT m.sha256, c.sha256, c.arch, c.test_accuracy, c.temperature "
                    "FROM runs r JOIN models m ON m.id = r.model_id JOIN models c ON "
                    "c.id = r.checker_id WHERE r.args = 'docpipe ingest --checker c.model'; "
                    "SELECT count(*) FROM runs WHERE checker_id IS NULL");
    TST_CHECK(got && strcmp(got, "5555555555555555555555555555555555555555555555555555555555555555|"
                                 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb|"
                                 "conv16k5 dense10|0.98|1.5|\n1|\n") == 0,
              "the run's checker carried by SHA-256, the other run without one:\n%s", got);
    free(got);
    got = dump(out, "SELECT j.sha256, j.arch FROM runs r JOIN models j ON j.id = r.judge_id; "
                    "SELECT count(*) FROM runs WHERE judge_id IS NULL");
    TST_CHECK(got && strcmp(got, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff|"
                                 "lenet5|\n1|\n") == 0,
              "the run's judge carried by SHA-256, the other run without one:\n%s", got);
    free(got);
    got = dump(out, "SELECT l.sha256, l.arch, r.sha256, r.arch FROM runs x JOIN models l ON "
                    "l.id = x.pair_left_id JOIN models r ON r.id = x.pair_right_id; "
                    "SELECT count(*) FROM runs WHERE pair_left_id IS NULL AND pair_right_id IS NULL");
    TST_CHECK(got && strcmp(got, "7777777777777777777777777777777777777777777777777777777777777777|"
                                 "conv32k3 dense10 left|"
                                 "8888888888888888888888888888888888888888888888888888888888888888|"
                                 "conv32k3 dense10 right|\n1|\n") == 0,
              "the run's pair readers carried by SHA-256, the other run without them:\n%s", got);
    free(got);
#define CHK_ID                                                                                   \
    "SELECT checker_id, judge_id, pair_left_id, pair_right_id FROM runs WHERE checker_id IS NOT " \
    "NULL"
    want = dump(shard, CHK_ID);
    got = dump(out, CHK_ID);
    TST_CHECK(want && got && strcmp(want, "2|3|4|5|\n") == 0 && strcmp(got, "3|4|5|6|\n") == 0,
              "checker_id, judge_id, pair_left_id and pair_right_id mapped to the output's own "
              "models ids (shard %s, output %s)", want, got);
    free(want);
    free(got);
    want = dump(out, ALL);
    TST_CHECK(merge_files(out, shards, 1) == UTIL_OK, "merge it again");
    got = dump(out, ALL);
    TST_CHECK(want && got && strcmp(want, got) == 0, "again: not one byte changes");
    free(want);
    free(got);
}

/* A shard of schema version 1 (tests/data/schema-v1.sql, rows written by
 * plain SQL): migrated by the open that checks it, then merged; its digit
 * has no check_prob and its run no checker. */
static void test_merge_v1(void)
{
    static const int seeds[] = {31};
    const char *shard = tmp("v1-shard.db"), *out = tmp("v1-out.db");
    const char *shards[1] = {shard};
    char *v1 = tst_read_text("tests/data/schema-v1.sql"), *got, want[64];

    TST_CHECK(v1 != NULL, "tests/data/schema-v1.sql readable from the repository root");
    if (!v1)
        return;
    unlink(shard);
    exec_raw(shard, v1);
    free(v1);
    exec_raw(shard,
             "INSERT INTO models(id, sha256, arch) VALUES (7, "
             "'5555555555555555555555555555555555555555555555555555555555555555', "
             "'conv8k3 flatten dense10'); "
             "INSERT INTO runs(id, args, model_id, status) VALUES (3, 'docpipe ingest v1', 7, 'done'); "
             "INSERT INTO documents(id, run_id, path, sha256, bytes, page_count, status) VALUES "
             "(5, 3, 'v1.tif', 'abababababababababababababababababababababababababababababababab', "
             "10, 1, 'ok'); "
             "INSERT INTO pages(id, document_id, page_no, width, height) VALUES (6, 5, 1, 100, 200); "
             "INSERT INTO fields(id, page_id, form, name, type, x, y, w, h, text, value, confidence, "
             "status) VALUES (8, 6, 'postal', 'f0', 'number', 0, 0, 50, 50, '4', '4', 0.5, 'ok'); "
             "INSERT INTO digits(id, field_id, pos, label, prob, x, y, w, h) VALUES "
             "(9, 8, 0, 4, 0.5, 0, 0, 10, 10)");
    got = dump(shard, "PRAGMA user_version; SELECT count(*) FROM digits");
    TST_CHECK(got && strcmp(got, "1|\n1|\n") == 0, "a version-1 shard with one digit: %s", got);
    free(got);
    make_db(out, seeds, 1, NULL, "docpipe ingest v2");
    TST_CHECK(merge_files(out, shards, 1) == UTIL_OK, "merged: %s", util_last_error());
    got = dump(shard, "PRAGMA user_version");
    snprintf(want, sizeof want, "%d|\n", DB_SCHEMA_VERSION);
    TST_CHECK(got && strcmp(got, want) == 0, "the shard was migrated on open: %s", got);
    free(got);
    got = dump(out, "SELECT d.path, g.label, g.prob, ifnull(g.check_prob, 'NULL'), r.args, "
                    "m.sha256 = '5555555555555555555555555555555555555555555555555555555555555555', "
                    "ifnull(r.checker_id, 'NULL') FROM digits g JOIN fields f ON f.id = g.field_id "
                    "JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id "
                    "JOIN runs r ON r.id = d.run_id JOIN models m ON m.id = r.model_id "
                    "WHERE d.path = 'v1.tif'");
    TST_CHECK(got && strcmp(got, "v1.tif|4|0.5|NULL|docpipe ingest v1|1|NULL|\n") == 0,
              "its document, digit and run in the output: %s", got);
    free(got);
}

/* Real pages: two --shard ingests merged = one ingest. */
static void test_cli(void)
{
    const char *b = tst_bin(), *dir = tst_tmpdir();
    char *x, *y, newer_msg[64];
    int rc;

    rc = tst_runf(g_out, sizeof g_out, "%s merge --db %s/c.db", b, dir);
    TST_CHECK(rc == 2 && strstr(g_out, "usage:"), "merge without shards: exit %d", rc);
    snprintf(newer_msg, sizeof newer_msg, "schema version %d is newer", DB_SCHEMA_VERSION + 1);
    rc = tst_runf(g_out, sizeof g_out, "%s merge --db %s/c.db %s/newer.db", b, dir, dir);
    TST_CHECK(rc == 1 && strstr(g_out, newer_msg) && strstr(g_out, "not merged"),
              "merge of a newer shard: exit %d: %s", rc, g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s merge --db %s/c.db %s/foreign.db", b, dir, dir);
    TST_CHECK(rc == 1 && strstr(g_out, "not a docpipe database") && strstr(g_out, "not merged"),
              "merge of another program's database: exit %d: %s", rc, g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s samples --out %s/pages --pages 3 --seed 5 --dpi 200", b, dir);
    TST_CHECK(rc == 0, "samples: %s", g_out);
    if (rc)
        return;
    tst_write_file("pages/broken.tif", "II*\0garbage", 11);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --threads 1 --db %s/plain.db %s/pages", b, dir, dir);
    TST_CHECK(rc == 3, "plain ingest (one broken file): exit %d: %s", rc, g_out);
    for (int k = 1; k <= 2; k++) {
        rc = tst_runf(g_out, sizeof g_out, "%s ingest --threads 1 --shard %d/2 --db %s/s%d.db %s/pages", b, k, dir, k, dir);
        TST_CHECK((rc == 0 || rc == 3) && strstr(g_out, "shard"), "ingest --shard %d/2: exit %d: %s",
                  k, rc, g_out);
    }
    rc = tst_runf(g_out, sizeof g_out, "%s merge --db %s/m.db %s/s1.db %s/s2.db", b, dir, dir, dir);
    TST_CHECK(rc == 0 && strstr(g_out, "2 of 2 shards merged"), "merge: exit %d: %s", rc, g_out);
    x = dump(tmp("plain.db"), CONTENT);
    y = dump(tmp("m.db"), CONTENT);
    TST_CHECK(x && y && strcmp(x, y) == 0 && strstr(x, "broken.tif|failed"),
              "two shards merged = one ingest, the failed file included");
    free(x);
    free(y);
}

int main(void)
{
    test_merge_api();
    test_refusals();
    test_merge_checker();
    test_merge_v1();
    test_cli();
    return tst_done();
}
