/*
 * db_put.c - writing to the database: runs and their models (the
 * classifier, the checker, the judge and the pair readers), a document
 * with its pages, fields and digits in one transaction, failed documents,
 * and the look-up by SHA-256.
 * Every value goes in as a bound parameter.
 */
#include "db/db_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* Probabilities and confidences are stored rounded to 6 decimals, so that
 * sqlite3 shows 0.93 rather than 0.930000007152557 for a float's 0.93. */
static double r6(double x) { return isfinite(x) ? round(x * 1e6) / 1e6 : x; }

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds a REAL; NaN and infinities become NULL, which the schema refuses
 * where a value is required. */
static void bind_real(sqlite3_stmt *st, int i, double x)
{
    if (isfinite(x))
        sqlite3_bind_double(st, i, x);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no row and resets it; the SQLite code. */
static int step_done(sqlite3_stmt *st)
{
    int src = sqlite3_step(st);

    sqlite3_reset(st);
    return src == SQLITE_DONE ? SQLITE_OK : src;
}

static int is_sha256(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* --------------------------------------------------------------- runs */

/* Whether a run's model (or checker, judge or pair reader) may be recorded: no SHA-256
 * (none), or a SHA-256 of 64 lowercase hex digits with an architecture. */
static int model_ok(const db_model_ref *m)
{
    return !m->sha256 || (is_sha256(m->sha256) && m->arch);
}

/*
 * model_row - the models row of file m, added when new (ins: the INSERT ...
 * ON CONFLICT DO NOTHING, sel: the SELECT id), inside db_run_begin's
 * transaction; *pid is its id, 0 when m has no SHA-256.  An unknown
 * accuracy or temperature is NULL; what says which one ("model",
 * "checker", "judge", "pair-left reader", "pair-right reader") in a
 * message.
 */
static int model_row(db *d, sqlite3_stmt *ins, sqlite3_stmt *sel, const char *what,
                     const db_model_ref *m, int64_t *pid)
{
    int rc = UTIL_OK, src;

    *pid = 0;
    if (!m->sha256)
        return UTIL_OK;
    sqlite3_clear_bindings(ins);
    bind_text(ins, 1, m->sha256);
    bind_text(ins, 2, m->arch);
    if (m->test_accuracy >= 0)
        bind_real(ins, 3, m->test_accuracy);
    if (m->temperature > 0)
        bind_real(ins, 4, m->temperature);
    bind_text(ins, 5, m->path);
    src = step_done(ins);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "recording the %s %s", what, m->sha256);
        goto cleanup;
    }
    bind_text(sel, 1, m->sha256);
    src = sqlite3_step(sel);
    if (src != SQLITE_ROW) {
        rc = db_fail(d, src, "finding the %s %s", what, m->sha256);
        goto cleanup;
    }
    *pid = sqlite3_column_int64(sel, 0);
cleanup:
    sqlite3_reset(sel);
    return rc;
}

int db_run_begin(db *d, const db_run *run, int64_t *prun_id)
{
    sqlite3_stmt *model = NULL, *model_id = NULL, *ins = NULL;
    int rc = UTIL_OK, src, in_txn = 0;
    int64_t mid = 0, cid = 0, jid = 0, lid = 0, rid = 0;
    const char *bad;

    *prun_id = 0;
    if (!d || !run || !run->args) {
        util_log(UTIL_LOG_ERROR, "db_run_begin: no database or no arguments");
        return UTIL_EINVAL;
    }
    bad = !model_ok(&run->model)        ? "model"
          : !model_ok(&run->checker)    ? "checker"
          : !model_ok(&run->judge)      ? "judge"
          : !model_ok(&run->pair_left)  ? "pair-left reader"
          : !model_ok(&run->pair_right) ? "pair-right reader"
                                        : NULL;
    if (bad) {
        util_log(UTIL_LOG_ERROR, "%s: a run's %s needs a SHA-256 (64 lowercase hex digits) "
                 "and an architecture", d->path, bad);
        return UTIL_EINVAL;
    }
    rc = db_prepare(d,
                    "INSERT INTO models(sha256, arch, test_accuracy, temperature, path) "
                    "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(sha256) DO NOTHING",
                    &model);
    if (rc == UTIL_OK)
        rc = db_prepare(d, "SELECT id FROM models WHERE sha256 = ?1", &model_id);
    if (rc == UTIL_OK)
        rc = db_prepare(d,
                        "INSERT INTO runs(args, model_id, checker_id, judge_id, pair_left_id, "
                        "pair_right_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                        &ins);
    if (rc == UTIL_OK)
        rc = db_begin(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 1;
    if ((rc = model_row(d, model, model_id, "model", &run->model, &mid)) ||
        (rc = model_row(d, model, model_id, "checker", &run->checker, &cid)) ||
        (rc = model_row(d, model, model_id, "judge", &run->judge, &jid)) ||
        (rc = model_row(d, model, model_id, "pair-left reader", &run->pair_left, &lid)) ||
        (rc = model_row(d, model, model_id, "pair-right reader", &run->pair_right, &rid)))
        goto cleanup;
    bind_text(ins, 1, run->args);
    if (mid)
        sqlite3_bind_int64(ins, 2, mid);
    if (cid)
        sqlite3_bind_int64(ins, 3, cid);
    if (jid)
        sqlite3_bind_int64(ins, 4, jid);
    if (lid)
        sqlite3_bind_int64(ins, 5, lid);
    if (rid)
        sqlite3_bind_int64(ins, 6, rid);
    src = step_done(ins);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "recording a run");
        goto cleanup;
    }
    *prun_id = sqlite3_last_insert_rowid(d->h);
    rc = db_commit(d);
    in_txn = rc != UTIL_OK;
    if (rc != UTIL_OK)
        *prun_id = 0;
cleanup:
    if (in_txn)
        db_rollback(d);
    sqlite3_finalize(model);
    sqlite3_finalize(model_id);
    sqlite3_finalize(ins);
    return rc;
}

int db_run_end(db *d, int64_t run_id, const db_run_counts *c)
{
    static const char *const STATUS[] = {"done", "failed", "interrupted"};
    sqlite3_stmt *st = NULL;
    int rc, src;

    if (!d || !c || c->status < 0 || c->status > DB_RUN_INTERRUPTED) {
        util_log(UTIL_LOG_ERROR, "db_run_end: no database, no counts or a bad status");
        return UTIL_EINVAL;
    }
    rc = db_prepare(d,
                    "UPDATE runs SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
                    "seconds = round((julianday('now') - julianday(started_at)) * 86400, 3), "
                    "status = ?2, documents = ?3, replaced = ?4, skipped = ?5, failed = ?6, "
                    "pages = ?7, fields = ?8, review = ?9 WHERE id = ?1",
                    &st);
    if (rc != UTIL_OK)
        goto cleanup;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, STATUS[c->status]);
    sqlite3_bind_int64(st, 3, c->documents);
    sqlite3_bind_int64(st, 4, c->replaced);
    sqlite3_bind_int64(st, 5, c->skipped);
    sqlite3_bind_int64(st, 6, c->failed);
    sqlite3_bind_int64(st, 7, c->pages);
    sqlite3_bind_int64(st, 8, c->fields);
    sqlite3_bind_int64(st, 9, c->review);
    /* One statement: its own transaction, waiting out other writers. */
    src = step_done(st);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "ending run %lld", (long long)run_id);
        goto cleanup;
    }
    if (sqlite3_changes(d->h) != 1) {
        util_log(UTIL_LOG_ERROR, "%s: there is no run %lld to end", d->path, (long long)run_id);
        rc = UTIL_EINVAL;
    }
cleanup:
    sqlite3_finalize(st);
    return rc;
}

/* ---------------------------------------------------------- documents */

int db_doc_find(db *d, const char *sha256, int64_t *pid)
{
    sqlite3_stmt *st = NULL;
    int rc, src;

    *pid = 0;
    if (!d || !is_sha256(sha256)) {
        util_log(UTIL_LOG_ERROR, "db_doc_find: no database or not a SHA-256 \"%s\"",
                 sha256 ? sha256 : "(null)");
        return UTIL_EINVAL;
    }
    rc = db_prepare(d, "SELECT id FROM documents WHERE sha256 = ?1 AND status <> 'failed'", &st);
    if (rc != UTIL_OK)
        goto cleanup;
    bind_text(st, 1, sha256);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *pid = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = db_fail(d, src, "looking up %s", sha256);
cleanup:
    sqlite3_finalize(st);
    return rc;
}

/* The statements of db_doc_put. */
enum { S_FIND, S_DEL, S_DEL_FAILED, S_DOC, S_PAGE, S_FIELD, S_DIGIT, S_N };

static const char *const PUT_SQL[S_N] = {
    [S_FIND] = "SELECT id FROM documents WHERE sha256 = ?1 AND status <> 'failed'",
    [S_DEL] = "DELETE FROM documents WHERE id = ?1",
    [S_DEL_FAILED] = "DELETE FROM documents WHERE status = 'failed' AND (path = ?1 OR sha256 = ?2)",
    [S_DOC] = "INSERT INTO documents(run_id, path, sha256, bytes, page_count, status, seconds) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_PAGE] = "INSERT INTO pages(document_id, page_no, width, height, dpi, skew_deg, form, error) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_FIELD] = "INSERT INTO fields(page_id, form, name, type, x, y, w, h, text, value, "
                "confidence, status, doubt, note) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [S_DIGIT] = "INSERT INTO digits(field_id, pos, label, prob, label2, prob2, x, y, w, h, crop, "
                "check_prob) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
};

static int doc_status_review(const db_doc *doc)
{
    if (doc->review)
        return 1;
    for (int p = 0; p < doc->n_pages; p++) {
        if (doc->pages[p].error)
            return 1;
        for (int f = 0; f < doc->pages[p].n_fields; f++)
            if (doc->pages[p].fields[f].status == DB_FIELD_REVIEW)
                return 1;
    }
    return 0;
}

/* Writes one field and its digits (inside db_doc_put's transaction). */
static int put_field(db *d, sqlite3_stmt **st, const db_doc *doc, int page_no, int64_t page_id,
                     const db_field *f)
{
    int src;
    int64_t field_id;

    if (f->status != DB_FIELD_OK && f->status != DB_FIELD_REVIEW) {
        util_log(UTIL_LOG_ERROR, "%s: cannot store %s (page %d, field %s): status %d is "
                 "neither ok nor review", d->path, doc->path, page_no,
                 f->name ? f->name : "(no name)", f->status);
        return UTIL_EINVAL;
    }
    if (f->n_digits < 0 || (f->n_digits > 0 && !f->digits)) {
        util_log(UTIL_LOG_ERROR, "%s: cannot store %s (page %d, field %s): %d digits without "
                 "records", d->path, doc->path, page_no, f->name ? f->name : "(no name)",
                 f->n_digits);
        return UTIL_EINVAL;
    }
    sqlite3_stmt *s = st[S_FIELD];
    sqlite3_bind_int64(s, 1, page_id);
    bind_text(s, 2, f->form);
    bind_text(s, 3, f->name);
    bind_text(s, 4, f->type);
    sqlite3_bind_int(s, 5, f->x);
    sqlite3_bind_int(s, 6, f->y);
    sqlite3_bind_int(s, 7, f->w);
    sqlite3_bind_int(s, 8, f->h);
    bind_text(s, 9, f->text);
    if (f->type && strcmp(f->type, "amount") == 0) {
        if (f->has_value)
            sqlite3_bind_int64(s, 10, f->cents);
        else
            sqlite3_bind_null(s, 10);
    } else {
        bind_text(s, 10, f->value_text);
    }
    bind_real(s, 11, r6(f->confidence));
    bind_text(s, 12, f->status == DB_FIELD_REVIEW ? "review" : "ok");
    bind_real(s, 13, r6(f->doubt));
    bind_text(s, 14, f->note);
    src = step_done(s);
    if (src != SQLITE_OK)
        return db_fail(d, src, "cannot store %s (page %d, field %s)", doc->path, page_no,
                       f->name ? f->name : "(no name)");
    field_id = sqlite3_last_insert_rowid(d->h);
    s = st[S_DIGIT];
    for (int i = 0; i < f->n_digits; i++) {
        const db_digit *g = &f->digits[i];
        /* NaN and infinities would bind as NULL, which check_prob allows. */
        if (g->has_check && !isfinite(g->check_prob)) {
            util_log(UTIL_LOG_ERROR, "%s: cannot store %s (page %d, field %s, digit %d): the "
                     "checker's probability is not finite", d->path, doc->path, page_no,
                     f->name ? f->name : "(no name)", g->pos);
            return UTIL_EINVAL;
        }
        sqlite3_bind_int64(s, 1, field_id);
        sqlite3_bind_int(s, 2, g->pos);
        sqlite3_bind_int(s, 3, g->label);
        bind_real(s, 4, r6(g->prob));
        if (g->label2 >= 0) {
            sqlite3_bind_int(s, 5, g->label2);
            bind_real(s, 6, r6(g->prob2));
        } else {
            sqlite3_bind_null(s, 5);
            sqlite3_bind_null(s, 6);
        }
        sqlite3_bind_int(s, 7, g->x);
        sqlite3_bind_int(s, 8, g->y);
        sqlite3_bind_int(s, 9, g->w);
        sqlite3_bind_int(s, 10, g->h);
        if (g->has_crop)
            sqlite3_bind_blob(s, 11, g->crop, DB_CROP_PIXELS, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 11);
        if (g->has_check)
            bind_real(s, 12, r6(g->check_prob));
        else
            sqlite3_bind_null(s, 12);
        src = step_done(s);
        if (src != SQLITE_OK)
            return db_fail(d, src, "cannot store %s (page %d, field %s, digit %d)", doc->path,
                           page_no, f->name ? f->name : "(no name)", g->pos);
    }
    return UTIL_OK;
}

int db_doc_put(db *d, int64_t run_id, const db_doc *doc, int replace, int *poutcome,
               int64_t *pid)
{
    sqlite3_stmt *st[S_N] = {NULL};
    int rc = UTIL_OK, src, in_txn = 0, outcome = DB_PUT_ADDED;
    int64_t old = 0, doc_id = 0;

    *poutcome = 0;
    *pid = 0;
    if (!d || !doc || !doc->path || !*doc->path) {
        util_log(UTIL_LOG_ERROR, "db_doc_put: no database, no document or no path");
        return UTIL_EINVAL;
    }
    if (!is_sha256(doc->sha256) || doc->n_pages < 0 || (doc->n_pages > 0 && !doc->pages)) {
        util_log(UTIL_LOG_ERROR, "%s: cannot store %s: %s", d->path, doc->path,
                 !is_sha256(doc->sha256) ? "its SHA-256 is not 64 lowercase hex digits"
                                         : "page count and page records disagree");
        return UTIL_EINVAL;
    }
    for (int p = 0; p < doc->n_pages; p++)
        if (doc->pages[p].n_fields < 0 || (doc->pages[p].n_fields > 0 && !doc->pages[p].fields)) {
            util_log(UTIL_LOG_ERROR, "%s: cannot store %s: page %d has %d fields without records",
                     d->path, doc->path, doc->pages[p].page_no, doc->pages[p].n_fields);
            return UTIL_EINVAL;
        }
    for (int i = 0; i < S_N; i++) {
        rc = db_prepare(d, PUT_SQL[i], &st[i]);
        if (rc != UTIL_OK)
            goto cleanup;
    }
    rc = db_begin(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 1;

    /* Already in?  Looked up under the write lock, so that two writers
     * cannot both add the same file. */
    bind_text(st[S_FIND], 1, doc->sha256);
    src = sqlite3_step(st[S_FIND]);
    if (src == SQLITE_ROW)
        old = sqlite3_column_int64(st[S_FIND], 0);
    sqlite3_reset(st[S_FIND]);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_fail(d, src, "looking up %s", doc->path);
        goto cleanup;
    }
    if (old && !replace) {
        outcome = DB_PUT_SKIPPED;
        doc_id = old;
        goto commit;
    }
    if (old) {
        outcome = DB_PUT_REPLACED;
        sqlite3_bind_int64(st[S_DEL], 1, old);
        src = step_done(st[S_DEL]);
        if (src != SQLITE_OK) {
            rc = db_fail(d, src, "deleting the earlier copy of %s", doc->path);
            goto cleanup;
        }
    }
    bind_text(st[S_DEL_FAILED], 1, doc->path);
    bind_text(st[S_DEL_FAILED], 2, doc->sha256);
    src = step_done(st[S_DEL_FAILED]);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "deleting earlier failures of %s", doc->path);
        goto cleanup;
    }

    if (run_id > 0)
        sqlite3_bind_int64(st[S_DOC], 1, run_id);
    else
        sqlite3_bind_null(st[S_DOC], 1);
    bind_text(st[S_DOC], 2, doc->path);
    bind_text(st[S_DOC], 3, doc->sha256);
    sqlite3_bind_int64(st[S_DOC], 4, doc->bytes);
    sqlite3_bind_int(st[S_DOC], 5, doc->page_count);
    bind_text(st[S_DOC], 6, doc_status_review(doc) ? "review" : "ok");
    if (doc->seconds >= 0)
        bind_real(st[S_DOC], 7, doc->seconds);
    else
        sqlite3_bind_null(st[S_DOC], 7);
    src = step_done(st[S_DOC]);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "cannot store %s", doc->path);
        goto cleanup;
    }
    doc_id = sqlite3_last_insert_rowid(d->h);

    for (int p = 0; p < doc->n_pages; p++) {
        const db_page *pg = &doc->pages[p];
        sqlite3_stmt *s = st[S_PAGE];
        int64_t page_id;

        sqlite3_bind_int64(s, 1, doc_id);
        sqlite3_bind_int(s, 2, pg->page_no);
        sqlite3_bind_int(s, 3, pg->width);
        sqlite3_bind_int(s, 4, pg->height);
        if (pg->dpi > 0)
            sqlite3_bind_int(s, 5, pg->dpi);
        else
            sqlite3_bind_null(s, 5);
        bind_real(s, 6, pg->skew_deg);
        bind_text(s, 7, pg->form);
        bind_text(s, 8, pg->error);
        src = step_done(s);
        if (src != SQLITE_OK) {
            rc = db_fail(d, src, "cannot store %s (page %d)", doc->path, pg->page_no);
            goto cleanup;
        }
        page_id = sqlite3_last_insert_rowid(d->h);
        for (int f = 0; f < pg->n_fields; f++) {
            rc = put_field(d, st, doc, pg->page_no, page_id, &pg->fields[f]);
            if (rc != UTIL_OK)
                goto cleanup;
        }
        if (db_test_hook)
            db_test_hook(pg->page_no);
    }

commit:
    rc = db_commit(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 0;
    *poutcome = outcome;
    *pid = doc_id;
cleanup:
    if (in_txn)
        db_rollback(d);
    for (int i = 0; i < S_N; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

int db_doc_fail(db *d, int64_t run_id, const char *path, const char *sha256, int64_t bytes,
                const char *error, int64_t *pid)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc, src, in_txn = 0;

    if (pid)
        *pid = 0;
    if (!d || !path || !*path || (sha256 && !is_sha256(sha256))) {
        util_log(UTIL_LOG_ERROR, "db_doc_fail: no database, no path or a bad SHA-256");
        return UTIL_EINVAL;
    }
    rc = db_prepare(d, "DELETE FROM documents WHERE status = 'failed' AND path = ?1", &del);
    if (rc == UTIL_OK)
        rc = db_prepare(d,
                        "INSERT INTO documents(run_id, path, sha256, bytes, page_count, status, "
                        "error) VALUES(?1, ?2, ?3, ?4, 0, 'failed', ?5)",
                        &ins);
    if (rc == UTIL_OK)
        rc = db_begin(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 1;
    bind_text(del, 1, path);
    src = step_done(del);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "deleting earlier failures of %s", path);
        goto cleanup;
    }
    if (run_id > 0)
        sqlite3_bind_int64(ins, 1, run_id);
    bind_text(ins, 2, path);
    bind_text(ins, 3, sha256);
    if (bytes >= 0)
        sqlite3_bind_int64(ins, 4, bytes);
    bind_text(ins, 5, error && *error ? error : "unknown error");
    src = step_done(ins);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "recording the failure of %s", path);
        goto cleanup;
    }
    if (pid)
        *pid = sqlite3_last_insert_rowid(d->h);
    rc = db_commit(d);
    in_txn = rc != UTIL_OK;
    if (rc != UTIL_OK && pid)
        *pid = 0;
cleanup:
    if (in_txn)
        db_rollback(d);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}
