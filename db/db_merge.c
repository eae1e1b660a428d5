/*
 * db_merge.c - `docpipe merge`: shard databases (one per task of a sharded
 * ingest) into one.  Each shard is checked by db_open first (a newer
 * schema version, another program's database, a file that is not SQLite
 * are refused; an older version is migrated like any open), then attached
 * to the output's connection and copied with INSERT ... SELECT in one
 * transaction per shard.
 *
 * What is copied: models (by SHA-256), runs (known by start time and
 * command line; their model, checker, judge and pair readers found by
 * SHA-256), documents whose SHA-256 the output does not hold yet with
 * their pages, fields and digits (check_prob included; ids shifted above
 * the output's highest ever, so none is reused), and failed records whose
 * path the output does not know.  So merging a shard twice, or a shard
 * whose documents another shard already brought, adds nothing.
 */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

void db_merge_opts_default(db_merge_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db = "docpipe.db";
}

/* The highest id table ever had in schema main: its AUTOINCREMENT counter
 * or its largest id, whichever is larger. */
static int high_id(db *d, const char *table, int64_t *pid)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    int rc, src;

    *pid = 0;
    snprintf(sql, sizeof sql,
             "SELECT max(coalesce((SELECT max(id) FROM main.%s), 0), "
             "coalesce((SELECT seq FROM main.sqlite_sequence WHERE name = '%s'), 0))",
             table, table);
    if ((rc = db_prepare(d, sql, &st)))
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *pid = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(d, src, "reading the highest id of %s", table);
    sqlite3_finalize(st);
    return rc;
}

/* Runs one statement with the offsets bound as ?1..?4 (documents, pages,
 * fields, digits); *pchanged: rows it changed. */
static int run_step(db *d, const char *sql, const int64_t off[4], long *pchanged,
                    const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc, src;

    if (pchanged)
        *pchanged = 0;
    if ((rc = db_prepare(d, sql, &st)))
        return rc;
    for (int i = 0; i < 4 && i < sqlite3_bind_parameter_count(st); i++)
        sqlite3_bind_int64(st, i + 1, off[i]);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(d, src, "merging %s", what);
    else if (pchanged)
        *pchanged = sqlite3_changes(d->h);
    sqlite3_finalize(st);
    return rc;
}

/* The copy itself, inside the shard's transaction; schema "shard" is the
 * attached shard. */
static int copy_shard(db *d, db_merge_counts *c)
{
    int64_t off[4];
    long n;
    int rc;

    if ((rc = high_id(d, "documents", &off[0])) || (rc = high_id(d, "pages", &off[1])) ||
        (rc = high_id(d, "fields", &off[2])) || (rc = high_id(d, "digits", &off[3])))
        return rc;
    if ((rc = run_step(d,
                       "INSERT OR IGNORE INTO main.models(sha256, arch, test_accuracy, "
                       "temperature, path, added_at) SELECT sha256, arch, test_accuracy, "
                       "temperature, path, added_at FROM shard.models",
                       off, &c->models, "models")))
        return rc;
    if ((rc = run_step(d,
                       "INSERT INTO main.runs(args, model_id, checker_id, judge_id, pair_left_id, "
                       "pair_right_id, started_at, "
                       "ended_at, seconds, status, documents, replaced, skipped, failed, pages, "
                       "fields, review) SELECT s.args, (SELECT m.id FROM main.models m JOIN shard.models "
                       "sm ON sm.sha256 = m.sha256 WHERE sm.id = s.model_id), (SELECT m.id FROM "
                       "main.models m JOIN shard.models sm ON sm.sha256 = m.sha256 WHERE sm.id = "
                       "s.checker_id), (SELECT m.id FROM main.models m JOIN shard.models sm ON "
                       "sm.sha256 = m.sha256 WHERE sm.id = s.judge_id), (SELECT m.id FROM "
                       "main.models m JOIN shard.models sm ON sm.sha256 = m.sha256 WHERE sm.id = "
                       "s.pair_left_id), (SELECT m.id FROM main.models m JOIN shard.models sm ON "
                       "sm.sha256 = m.sha256 WHERE sm.id = s.pair_right_id), s.started_at, s.ended_at, "
                       "s.seconds, s.status, "
                       "s.documents, s.replaced, s.skipped, s.failed, s.pages, s.fields, "
                       "s.review FROM shard.runs s "
                       "WHERE NOT EXISTS (SELECT 1 FROM main.runs r "
                       "WHERE r.started_at = s.started_at AND r.args = s.args) ORDER BY s.id",
                       off, &c->runs, "runs")))
        return rc;
    if ((rc = db_exec(d, "DELETE FROM temp.merge_runs")) ||
        (rc = run_step(d,
                       "INSERT INTO temp.merge_runs(old, new) SELECT s.id, (SELECT min(r.id) "
                       "FROM main.runs r WHERE r.started_at = s.started_at AND r.args = s.args) "
                       "FROM shard.runs s",
                       off, NULL, "runs")))
        return rc;
    /* Stored documents the output does not hold, with everything under
     * them: ids above the output's highest, so "id > offset" names exactly
     * what this shard brought. */
    if ((rc = run_step(d,
                       "INSERT INTO main.documents(id, run_id, path, sha256, bytes, page_count, "
                       "status, error, ingested_at, seconds) SELECT s.id + ?1, "
                       "(SELECT new FROM temp.merge_runs WHERE old = s.run_id), s.path, "
                       "s.sha256, s.bytes, s.page_count, s.status, s.error, s.ingested_at, "
                       "s.seconds FROM shard.documents s WHERE s.status <> 'failed' AND "
                       "NOT EXISTS (SELECT 1 FROM main.documents m WHERE m.sha256 = s.sha256 "
                       "AND m.status <> 'failed') ORDER BY s.id",
                       off, &c->documents, "documents")))
        return rc;
    if ((rc = run_step(d,
                       "INSERT INTO main.pages(id, document_id, page_no, width, height, dpi, "
                       "skew_deg, form, error) SELECT s.id + ?2, s.document_id + ?1, s.page_no, "
                       "s.width, s.height, s.dpi, s.skew_deg, s.form, s.error FROM shard.pages s "
                       "WHERE s.document_id + ?1 IN (SELECT id FROM main.documents "
                       "WHERE id > ?1) ORDER BY s.id",
                       off, &c->pages, "pages")) ||
        (rc = run_step(d,
                       "INSERT INTO main.fields(id, page_id, form, name, type, x, y, w, h, text, "
                       "value, confidence, status, doubt, note) SELECT s.id + ?3, s.page_id + ?2, "
                       "s.form, s.name, s.type, s.x, s.y, s.w, s.h, s.text, s.value, "
                       "s.confidence, s.status, s.doubt, s.note FROM shard.fields s "
                       "WHERE s.page_id + ?2 IN (SELECT id FROM main.pages WHERE id > ?2) "
                       "ORDER BY s.id",
                       off, &c->fields, "fields")) ||
        (rc = run_step(d,
                       "INSERT INTO main.digits(id, field_id, pos, label, prob, label2, prob2, "
                       "check_prob, x, y, w, h, crop) SELECT s.id + ?4, s.field_id + ?3, s.pos, "
                       "s.label, s.prob, s.label2, s.prob2, s.check_prob, s.x, s.y, s.w, s.h, "
                       "s.crop "
                       "FROM shard.digits s WHERE s.field_id + ?3 IN "
                       "(SELECT id FROM main.fields WHERE id > ?3) ORDER BY s.id",
                       off, &n, "digits")))
        return rc;
    /* As db_doc_put does: a stored document replaces earlier failures of
     * its path or its bytes. */
    if ((rc = run_step(d,
                       "DELETE FROM main.documents WHERE status = 'failed' AND id <= ?1 AND "
                       "EXISTS (SELECT 1 FROM main.documents n WHERE n.id > ?1 AND "
                       "(n.path = main.documents.path OR n.sha256 = main.documents.sha256))",
                       off, NULL, "failed documents")))
        return rc;
    /* Failed records of paths the output knows nothing of. */
    if ((rc = run_step(d,
                       "INSERT INTO main.documents(run_id, path, sha256, bytes, page_count, "
                       "status, error, ingested_at, seconds) SELECT "
                       "(SELECT new FROM temp.merge_runs WHERE old = s.run_id), s.path, "
                       "s.sha256, s.bytes, s.page_count, s.status, s.error, s.ingested_at, "
                       "s.seconds FROM shard.documents s WHERE s.status = 'failed' AND "
                       "NOT EXISTS (SELECT 1 FROM main.documents m WHERE m.path = s.path OR "
                       "(m.sha256 = s.sha256 AND m.status <> 'failed')) ORDER BY s.id",
                       off, &c->failed, "failed documents")))
        return rc;
    return UTIL_OK;
}

int db_merge(db *d, const char *shard_path, db_merge_counts *pcounts)
{
    db *s = NULL;
    sqlite3_stmt *st = NULL;
    struct stat a, b;
    int rc, src, attached = 0, in_txn = 0;

    memset(pcounts, 0, sizeof *pcounts);
    if (stat(d->path, &a) == 0 && stat(shard_path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        util_log(UTIL_LOG_ERROR, "%s: is the output database itself, not a shard", shard_path);
        return UTIL_EINVAL;
    }
    /* db_open's checks: version, application id, a file that is SQLite. */
    if ((rc = db_open(shard_path, 0, &s)))
        goto cleanup;
    db_close(&s);
    if ((rc = db_exec(d, "CREATE TEMP TABLE IF NOT EXISTS merge_runs(old INTEGER PRIMARY KEY, "
                         "new INTEGER)")) ||
        (rc = db_prepare(d, "ATTACH DATABASE ?1 AS shard", &st)))
        goto cleanup;
    sqlite3_bind_text(st, 1, shard_path, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) {
        rc = db_fail(d, src, "attaching the shard %s", shard_path);
        goto cleanup;
    }
    attached = 1;
    if ((rc = db_begin(d)))
        goto cleanup;
    in_txn = 1;
    if ((rc = copy_shard(d, pcounts)))
        goto cleanup;
    if ((rc = db_commit(d)))
        goto cleanup;
    in_txn = 0;
cleanup:
    if (in_txn)
        db_rollback(d);
    if (attached)
        sqlite3_exec(d->h, "DETACH DATABASE shard", NULL, NULL, NULL);
    if (rc)
        util_log(UTIL_LOG_ERROR, "%s: not merged into %s (nothing of it was written)",
                 shard_path, d->path);
    return rc;
}

int db_merge_run(const db_merge_opts *o)
{
    db *d = NULL;
    int rc, first = UTIL_OK;
    double t0 = util_now();
    db_merge_counts all = {0};
    long merged = 0;

    if ((rc = db_open(o->db, DB_OPEN_CREATE, &d)))
        return rc;
    for (int i = 0; i < o->n_shards; i++) {
        db_merge_counts c;
        double t1 = util_now();
        rc = db_merge(d, o->shards[i], &c);
        if (rc) {
            if (!first)
                first = rc;
            continue;
        }
        merged++;
        all.documents += c.documents;
        all.pages += c.pages;
        all.fields += c.fields;
        all.failed += c.failed;
        all.runs += c.runs;
        all.models += c.models;
        if (!o->quiet)
            printf("%s: %ld documents (%ld pages, %ld fields), %ld failed records, %ld runs, "
                   "%ld models added; %.2f s\n",
                   o->shards[i], c.documents, c.pages, c.fields, c.failed, c.runs, c.models,
                   util_now() - t1);
    }
    if (!o->quiet)
        printf("%ld of %d shards merged into %s: %ld documents, %ld fields added; %.2f s\n",
               merged, o->n_shards, o->db, all.documents, all.fields, util_now() - t0);
    db_close(&d);
    return first;
}
