/*
 * db_open.c - opening a docpipe database: the connection's settings (WAL,
 * foreign keys, busy timeout), telling a docpipe database from a foreign or
 * damaged file, creating the schema, and the migrations between schema
 * versions.  Also the helpers every file of db/ shares (db_int.h).
 */
#include "db/db_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* How often BEGIN IMMEDIATE is tried when each try waits DB_BUSY_MS. */
#define BEGIN_TRIES 3

/*
 * migrate_1_to_2 - version 2 records the checker network: digits.check_prob
 * (the checker's probability of the digit's label) and runs.checker_id (its
 * models row).  Both are added at the end of their tables, NULL in every
 * existing row; schema.sql has them after prob2 and model_id.  Runs inside
 * db_migrate's transaction, which also sets user_version.
 */
static int migrate_1_to_2(db *d)
{
    return db_exec(d, "ALTER TABLE digits ADD COLUMN check_prob REAL "
                      "CHECK (check_prob IS NULL OR check_prob BETWEEN 0 AND 1); "
                      "ALTER TABLE runs ADD COLUMN checker_id INTEGER "
                      "REFERENCES models(id) ON DELETE SET NULL");
}

/*
 * migrate_2_to_3 - version 3 records the judge (README "The judge"), the
 * network whose word on touching digits and pieces counts in the split
 * choice: runs.judge_id, its models row, added at the end of runs and NULL
 * in every existing run; schema.sql has it after checker_id.
 */
static int migrate_2_to_3(db *d)
{
    return db_exec(d, "ALTER TABLE runs ADD COLUMN judge_id INTEGER "
                      "REFERENCES models(id) ON DELETE SET NULL");
}

/*
 * migrate_3_to_4 - version 4 records the pair readers (README "The pair
 * readers"), the two networks that read the left and the right digit of a
 * glyph holding two touching digits: runs.pair_left_id and
 * runs.pair_right_id, their models rows, added at the end of runs and NULL
 * in every existing run; schema.sql has them after judge_id.
 */
static int migrate_3_to_4(db *d)
{
    return db_exec(d, "ALTER TABLE runs ADD COLUMN pair_left_id INTEGER "
                      "REFERENCES models(id) ON DELETE SET NULL; "
                      "ALTER TABLE runs ADD COLUMN pair_right_id INTEGER "
                      "REFERENCES models(id) ON DELETE SET NULL");
}

/*
 * The migration steps: STEPS[v] brings version v to v + 1 (STEPS[0] is not
 * used: an empty database gets schema.sql, the newest layout, at once).
 * db_migrate runs every step a database needs and sets user_version in one
 * transaction.  Version 5 would arrive as migrate_4_to_5(db *d) named here
 * as STEPS[4], with DB_SCHEMA_VERSION raised to 5 and schema.sql changed to
 * the whole version-5 layout (and the version-4 schema.sql kept as
 * tests/data/schema-v4.sql for its test).
 */
static const db_step_fn STEPS[DB_SCHEMA_VERSION] = {NULL, migrate_1_to_2, migrate_2_to_3,
                                                    migrate_3_to_4};

void (*db_test_hook)(int page_no);

/* ------------------------------------------------------------ helpers */

int db_code(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return UTIL_OK;
    case SQLITE_NOMEM:
        return UTIL_ENOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return UTIL_EFORMAT;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return UTIL_EINVAL;
    case SQLITE_INTERRUPT:
        return UTIL_EINTR;
    default:
        return UTIL_EIO;
    }
}

int db_fail(db *d, int src, const char *fmt, ...)
{
    char what[512];
    const char *msg = d && d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(src);
    const char *path = d && d->path ? d->path : "(database)";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    switch (src & 0xff) {
    case SQLITE_NOTADB:
        util_log(UTIL_LOG_ERROR, "%s: not an SQLite database (%s: %s)", path, what, msg);
        break;
    case SQLITE_CORRUPT:
        util_log(UTIL_LOG_ERROR, "%s: the database file is damaged (%s: %s)", path, what, msg);
        break;
    default:
        util_log(UTIL_LOG_ERROR, "%s: %s: %s", path, what, msg);
    }
    return db_code(src);
}

int db_exec(db *d, const char *sql)
{
    int src = sqlite3_exec(d->h, sql, NULL, NULL, NULL);

    if (src != SQLITE_OK)
        return db_fail(d, src, "%.40s", sql);
    return UTIL_OK;
}

/*
 * set_wal - PRAGMA journal_mode = WAL.  Switching needs a moment alone with
 * the file, and SQLite does not wait on the busy timeout for it: when
 * another process is setting the same new database up, the switch answers
 * "locked" at once.  It is retried for up to DB_BUSY_MS.
 */
static int set_wal(db *d)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    int src = SQLITE_OK;

    for (int waited = 0; waited <= DB_BUSY_MS; waited += 20) {
        src = sqlite3_exec(d->h, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (src != SQLITE_BUSY && src != SQLITE_LOCKED)
            break;
        nanosleep(&pause, NULL);
    }
    if (src != SQLITE_OK)
        return db_fail(d, src, "PRAGMA journal_mode = WAL");
    return UTIL_OK;
}

int db_prepare(db *d, const char *sql, sqlite3_stmt **pst)
{
    int src;

    *pst = NULL;
    src = sqlite3_prepare_v2(d->h, sql, -1, pst, NULL);
    if (src != SQLITE_OK)
        return db_fail(d, src, "preparing \"%.40s...\"", sql);
    return UTIL_OK;
}

int db_begin(db *d)
{
    int src = SQLITE_OK;

    /* Each try waits up to the busy timeout for the other writer. */
    for (int i = 0; i < BEGIN_TRIES; i++) {
        src = sqlite3_exec(d->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if ((src & 0xff) != SQLITE_BUSY)
            break;
    }
    if (src != SQLITE_OK)
        return db_fail(d, src, "starting a write transaction");
    return UTIL_OK;
}

int db_commit(db *d)
{
    int src = sqlite3_exec(d->h, "COMMIT", NULL, NULL, NULL);

    if (src != SQLITE_OK)
        return db_fail(d, src, "committing");
    return UTIL_OK;
}

void db_rollback(db *d)
{
    if (d && d->h && !sqlite3_get_autocommit(d->h))
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

/* One integer from a statement without parameters ("PRAGMA user_version"). */
static int query_int(db *d, const char *sql, long long *pval)
{
    sqlite3_stmt *st = NULL;
    int rc, src;

    *pval = 0;
    rc = db_prepare(d, sql, &st);
    if (rc != UTIL_OK)
        goto cleanup;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *pval = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = db_fail(d, src, "reading %s", sql);
cleanup:
    sqlite3_finalize(st);
    return rc;
}

/* What the file holds: its user_version, application_id and how many
 * tables, indexes, views and triggers of its own.  One statement, so one
 * read transaction: another process creating the schema meanwhile is seen
 * wholly or not at all. */
typedef struct db_state {
    long long version, app_id, objects;
} db_state;

static int read_state(db *d, db_state *s)
{
    sqlite3_stmt *st = NULL;
    int rc = UTIL_OK, src;

    memset(s, 0, sizeof *s);
    src = sqlite3_prepare_v2(d->h,
                             "SELECT (SELECT user_version FROM pragma_user_version), "
                             "(SELECT application_id FROM pragma_application_id), "
                             "(SELECT count(*) FROM sqlite_master "
                             "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
                             -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = db_fail(d, src, "reading the schema version");
        goto cleanup;
    }
    s->version = sqlite3_column_int64(st, 0);
    s->app_id = sqlite3_column_int64(st, 1);
    s->objects = sqlite3_column_int64(st, 2);
cleanup:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Whether a file in state s may be brought to target: UTIL_OK (it may, or
 * it is there), else the refusal, reported.  *pwork is set when there is
 * something to do.
 */
static int judge(db *d, const db_state *s, int create, int target, int *pwork)
{
    *pwork = 0;
    if (s->version == 0 && s->objects == 0) {
        if (!create) {
            util_log(UTIL_LOG_ERROR, "%s: the file is empty, not a docpipe database", d->path);
            return UTIL_EFORMAT;
        }
        *pwork = 1;
        return UTIL_OK;
    }
    if (s->version <= 0 || s->app_id != DB_APPLICATION_ID) {
        util_log(UTIL_LOG_ERROR,
                 "%s: not a docpipe database (an SQLite database of another program: "
                 "application_id %lld, user_version %lld, %lld schema objects)",
                 d->path, s->app_id, s->version, s->objects);
        return UTIL_EFORMAT;
    }
    if (s->version > target) {
        util_log(UTIL_LOG_ERROR,
                 "%s: database schema version %lld is newer than this docpipe knows (%d); "
                 "use a newer docpipe",
                 d->path, s->version, target);
        return UTIL_EUNSUP;
    }
    *pwork = s->version < target;
    return UTIL_OK;
}

int db_migrate(db *d, int create, int target, const db_step_fn *steps)
{
    db_state s;
    int rc, work = 0, in_txn = 0;
    long long was;
    char sql[64];

    /* Look first without a lock: refusing a file must not change it. */
    rc = read_state(d, &s);
    if (rc == UTIL_OK)
        rc = judge(d, &s, create, target, &work);
    if (rc != UTIL_OK || !work)
        goto cleanup;
    /* Switching to WAL needs no open transaction; it is a no-op later. */
    rc = set_wal(d);
    if (rc != UTIL_OK)
        goto cleanup;
    rc = db_begin(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 1;
    /* Another process may have done the work meanwhile. */
    rc = read_state(d, &s);
    if (rc == UTIL_OK)
        rc = judge(d, &s, create, target, &work);
    if (rc != UTIL_OK || !work)
        goto cleanup;
    was = s.version;
    if (s.version == 0) {
        rc = db_exec(d, (const char *)db_schema_sql);
        if (rc == UTIL_OK)
            rc = query_int(d, "PRAGMA user_version", &s.version);
        if (rc != UTIL_OK)
            goto cleanup;
        if (s.version < 1 || s.version > target) {
            util_log(UTIL_LOG_ERROR, "%s: the built-in schema says version %lld, expected 1..%d",
                     d->path, s.version, target);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
    }
    for (; s.version < target; s.version++) {
        if (!steps[s.version]) {
            util_log(UTIL_LOG_ERROR, "%s: no migration from schema version %lld to %lld",
                     d->path, s.version, s.version + 1);
            rc = UTIL_EUNSUP;
            goto cleanup;
        }
        rc = steps[s.version](d);
        if (rc != UTIL_OK) {
            util_log(UTIL_LOG_ERROR, "%s: migrating from schema version %lld to %lld failed",
                     d->path, s.version, s.version + 1);
            goto cleanup;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", s.version + 1);
        rc = db_exec(d, sql);
        if (rc != UTIL_OK)
            goto cleanup;
    }
    rc = db_commit(d);
    if (rc != UTIL_OK)
        goto cleanup;
    in_txn = 0;
    if (was > 0)
        util_log(UTIL_LOG_INFO, "%s: migrated from schema version %lld to %d", d->path, was,
                 target);
cleanup:
    if (in_txn)
        db_rollback(d);
    return rc;
}

/* ---------------------------------------------------------- open/close */

int db_open(const char *path, int flags, db **pdb)
{
    db *d = NULL;
    struct stat st;
    int rc = UTIL_OK, src, create = (flags & DB_OPEN_CREATE) != 0;
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);

    *pdb = NULL;
    if (!path || !*path) {
        util_log(UTIL_LOG_ERROR, "no database file given");
        return UTIL_EINVAL;
    }
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !create) {
            util_log(UTIL_LOG_ERROR, "%s: %s", path,
                     errno == ENOENT ? "no such database" : strerror(errno));
            return UTIL_EIO;
        }
    } else if (!S_ISREG(st.st_mode)) {
        util_log(UTIL_LOG_ERROR, "%s: not a regular file, cannot be a database", path);
        return UTIL_EIO;
    }
    d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        util_log(UTIL_LOG_ERROR, "out of memory opening %s", path);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    src = sqlite3_open_v2(path, &d->h, oflags, NULL);
    if (src != SQLITE_OK) {
        rc = db_fail(d, src, "cannot open");
        goto cleanup;
    }
    sqlite3_extended_result_codes(d->h, 1);
    sqlite3_busy_timeout(d->h, DB_BUSY_MS);
    rc = db_exec(d, "PRAGMA foreign_keys = ON");
    if (rc == UTIL_OK)
        rc = db_migrate(d, create, DB_SCHEMA_VERSION, STEPS);
    if (rc == UTIL_OK)
        rc = set_wal(d);
    /* In WAL mode NORMAL syncs at checkpoints: a killed process loses
     * nothing committed, a power cut at most the last transactions. */
    if (rc == UTIL_OK)
        rc = db_exec(d, "PRAGMA synchronous = NORMAL");
    if (rc != UTIL_OK)
        goto cleanup;
    *pdb = d;
    d = NULL;
cleanup:
    db_close(&d);
    return rc;
}

void db_close(db **pdb)
{
    db *d;

    if (!pdb || !*pdb)
        return;
    d = *pdb;
    if (d->h) {
        db_rollback(d);
        sqlite3_close_v2(d->h);
    }
    free(d->path);
    free(d);
    *pdb = NULL;
}

const char *db_path(const db *d) { return d ? d->path : NULL; }
