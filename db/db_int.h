/*
 * db_int.h - what the files of db/ share, and what tests/test_db.c needs to
 * reach inside: the handle, SQLite error reporting, transactions, the
 * migration machinery and a hook for killing a writer mid-transaction.
 * Nothing outside db/ and its test includes it.
 */
#ifndef DOCPIPE_DB_INT_H
#define DOCPIPE_DB_INT_H

#include <sqlite3.h>

#include "db/db.h"

struct db {
    sqlite3 *h;
    char *path;
};

/* db/schema.sql, NUL terminated (db_schema.c, generated at build time). */
extern const unsigned char db_schema_sql[];
extern const size_t db_schema_sql_len; /* without the NUL */

/*
 * db_fail - reports the SQLite error src on d (its message, what was being
 * done, the database file) once through util_log and returns the matching
 * UTIL_E* code: EFORMAT for a file that is not SQLite or is damaged,
 * EINVAL for a record the schema refuses, ENOMEM, EINTR, else EIO.
 */
int db_fail(db *d, int src, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int db_code(int src);

/* db_exec - runs SQL text that holds no values (never user text). */
int db_exec(db *d, const char *sql);

/* db_begin - BEGIN IMMEDIATE, waiting for another writer (busy timeout,
 * retried a few times); db_commit - COMMIT; db_rollback - ROLLBACK,
 * logging nothing (used on paths that already failed). */
int db_begin(db *d);
int db_commit(db *d);
void db_rollback(db *d);

/* db_prepare - prepares one statement, reporting a failure. */
int db_prepare(db *d, const char *sql, sqlite3_stmt **pst);

/*
 * A migration step brings a database of version v to v + 1 inside the
 * migration's transaction (steps[v], v >= 1; a new, empty database gets
 * schema.sql, the newest layout, at once).  db_migrate brings d to target
 * with these steps; db_open calls it with DB_SCHEMA_VERSION and db/'s own
 * steps (db_open.c's STEPS), the tests with a made-up version after it.
 */
typedef int (*db_step_fn)(db *d);
int db_migrate(db *d, int create, int target, const db_step_fn *steps);

/* Called by db_doc_put after each page row is written, inside the
 * transaction (NULL: nothing); tests kill the process from here. */
extern void (*db_test_hook)(int page_no);

#endif
