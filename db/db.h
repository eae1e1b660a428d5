/*
 * db.h - docpipe's SQLite database: opening (with creation and migration),
 * runs, one transaction per document, failed documents, SHA-256 of files,
 * merging shard databases (`merge`), and the `export` subcommand.
 *
 * db/ knows SQLite and the plain records below; it never includes
 * recognize/ or segment/.  The layout is db/schema.sql (embedded in the
 * binary), documented in docs/database.md.
 *
 * A db handle is used by one thread at a time.  Several processes may
 * write one database at once: every write is a BEGIN IMMEDIATE transaction
 * and a busy timeout of DB_BUSY_MS waits for the other writer.
 */
#ifndef DOCPIPE_DB_H
#define DOCPIPE_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 4        /* PRAGMA user_version of a current database */
#define DB_APPLICATION_ID 0x44504950 /* PRAGMA application_id, "DPIP" */
#define DB_BUSY_MS 10000           /* how long a writer waits for another one */
#define DB_CROP 28
#define DB_CROP_PIXELS (DB_CROP * DB_CROP)
#define DB_SHA256_HEX 65           /* 64 lowercase hex digits and the NUL */

typedef struct db db;

/* Field status. */
enum { DB_FIELD_OK = 0, DB_FIELD_REVIEW = 1 };

/* What db_doc_put did. */
enum { DB_PUT_ADDED = 1, DB_PUT_REPLACED = 2, DB_PUT_SKIPPED = 3 };

/* How a run ended (runs.status). */
enum { DB_RUN_DONE = 0, DB_RUN_FAILED = 1, DB_RUN_INTERRUPTED = 2 };

/*
 * One digit of a field.  A digit zeroed with memset (or = {0}) has no
 * checker probability: has_check 0 stores check_prob as NULL.
 */
typedef struct db_digit {
    int pos;                       /* 0-based, left to right */
    int label;                     /* 0..9 */
    double prob;                   /* its probability, 0..1 */
    int label2;                    /* runner-up label 0..9, or -1: none (NULL) */
    double prob2;                  /* its probability (ignored when label2 < 0) */
    int has_check;                 /* 0: no checker, check_prob stored as NULL */
    double check_prob;             /* the checker's probability of label, 0..1 */
    int x, y, w, h;                /* box on the page, pixels */
    int has_crop;                  /* 0: crop stored as NULL */
    uint8_t crop[DB_CROP_PIXELS];  /* 28 x 28, row by row, 0 background .. 255 ink */
} db_digit;

/*
 * One field.  value: for type "amount" the amount in cents (has_value 0:
 * NULL); for every other type value_text (NULL: NULL), e.g. a postcode
 * "12345-6789".  Strings are borrowed for the call only.
 */
typedef struct db_field {
    const char *form;              /* template name, or "auto" */
    const char *name;              /* the field's name on the form */
    const char *type;              /* "amount", "postcode", "date", "number" */
    int x, y, w, h;                /* the writing area on the page */
    const char *text;              /* what was read ("" when nothing) */
    int has_value;                 /* amounts: whether cents holds the value */
    int64_t cents;                 /* amounts: the value in cents */
    const char *value_text;        /* other types: the parsed value, or NULL */
    double confidence;             /* 0..1 */
    int status;                    /* DB_FIELD_OK or DB_FIELD_REVIEW */
    double doubt;                  /* the segmenter's doubt 0..1 */
    const char *note;              /* why it doubts, or NULL */
    int n_digits;
    const db_digit *digits;
} db_field;

/* One page. */
typedef struct db_page {
    int page_no;                   /* 1-based */
    int width, height;             /* pixels */
    int dpi;                       /* 0: unknown (NULL) */
    double skew_deg;               /* the skew corrected */
    const char *form;              /* the form found on the page, or NULL */
    const char *error;             /* why the page could not be read, or NULL */
    int n_fields;
    const db_field *fields;
} db_page;

/*
 * One document, to be stored whole.  Its status is 'review' when any field
 * or the document itself (review) asks for it, or any page has an error;
 * 'ok' otherwise.
 */
typedef struct db_doc {
    const char *path;              /* as given on the command line / found by the walk */
    char sha256[DB_SHA256_HEX];    /* of the file's bytes (db_sha256_file) */
    int64_t bytes;                 /* the file's size */
    int page_count;                /* pages in the file (usually n_pages) */
    double seconds;                /* time spent on it, or < 0: unknown (NULL) */
    int review;                    /* 1: mark the document 'review' anyway */
    int n_pages;
    const db_page *pages;
} db_doc;

/* A model file a run used (a models row), known by its SHA-256. */
typedef struct db_model_ref {
    const char *sha256;            /* NULL: none (no row; the run's reference NULL) */
    const char *arch;
    const char *path;              /* or NULL */
    double test_accuracy;          /* 0..1, or < 0: unknown */
    double temperature;            /* calibration temperature > 0, or <= 0: unknown */
} db_model_ref;

/*
 * What a run is (db_run_begin): its classifier model and, when it has them,
 * the checker network (a second, independent model), the judge (the
 * network that tells whole digits from touching ones and pieces) and the
 * pair readers (README "The pair readers": the two networks that read the
 * left and the right digit of a glyph holding two touching digits).  A
 * db_run zeroed with = {0} or memset has none of them.
 */
typedef struct db_run {
    const char *args;              /* the command line */
    db_model_ref model;            /* runs.model_id */
    db_model_ref checker;          /* runs.checker_id */
    db_model_ref judge;            /* runs.judge_id */
    db_model_ref pair_left;        /* runs.pair_left_id */
    db_model_ref pair_right;       /* runs.pair_right_id */
} db_run;

/* How a run went (db_run_end). */
typedef struct db_run_counts {
    int status;                    /* DB_RUN_* */
    long documents, replaced, skipped, failed;  /* documents added (replaced ones included) */
    long pages, fields, review;
} db_run_counts;

/* Flags of db_open. */
enum { DB_OPEN_CREATE = 1 };

/*
 * db_open - opens the database at path.  With DB_OPEN_CREATE a missing
 * file is created, and an empty one (zero bytes) gets the schema; without
 * it either is an error (export never creates a database).  An older
 * schema version is migrated in one transaction; a newer one, a database
 * of another program, a file that is not SQLite or a damaged one are
 * refused (UTIL_EUNSUP for a newer version, UTIL_EFORMAT otherwise, with a
 * message naming the file).  Sets WAL, foreign keys and the busy timeout.
 * The caller closes *pdb with db_close.
 */
int db_open(const char *path, int flags, db **pdb);

/* db_close - closes the database (NULL and *pdb NULL are fine); NULLs *pdb. */
void db_close(db **pdb);

/* db_path - the file the handle was opened on. */
const char *db_path(const db *d);

/*
 * db_run_begin - records a new run (status 'running') with its arguments,
 * model (runs.model_id), checker (runs.checker_id), judge (runs.judge_id)
 * and pair readers (runs.pair_left_id, runs.pair_right_id), in one
 * transaction; *prun_id is its id.  A models row is added once per SHA-256
 * (a model already known keeps its row as first recorded; model, checker,
 * judge and pair readers may be the same file, one row).  A model,
 * checker, judge or pair reader given without a SHA-256 of 64 lowercase
 * hex digits or without an architecture is UTIL_EINVAL, and nothing is
 * written.
 */
int db_run_begin(db *d, const db_run *run, int64_t *prun_id);

/* db_run_end - stores a run's end time, duration, status and counts. */
int db_run_end(db *d, int64_t run_id, const db_run_counts *counts);

/*
 * db_doc_find - the id of the stored (not failed) document whose file has
 * this SHA-256, or 0 in *pid when there is none.  A cheap check before
 * reading a file; db_doc_put checks again under its lock.
 */
int db_doc_find(db *d, const char *sha256, int64_t *pid);

/*
 * db_doc_put - stores doc with its pages, fields and digits in one
 * transaction (BEGIN IMMEDIATE): all of it or, on any error, nothing.
 * When a document with the same SHA-256 is already in, it is skipped
 * (*poutcome DB_PUT_SKIPPED, *pid the stored one) unless replace is set:
 * then the old one is deleted with everything under it in the same
 * transaction (DB_PUT_REPLACED).  Earlier 'failed' records of the same
 * path or SHA-256 are deleted.  run_id 0: no run.  A record the schema
 * refuses (a missing name, a confidence or check_prob out of 0..1, ...),
 * or a check_prob that is not finite, gives UTIL_EINVAL with a message
 * naming the document.
 */
int db_doc_put(db *d, int64_t run_id, const db_doc *doc, int replace, int *poutcome,
               int64_t *pid);

/*
 * db_doc_fail - records a document that could not be read: path, SHA-256
 * (NULL when the file could not be read), bytes (< 0: unknown) and the
 * error, status 'failed', in one transaction that also deletes earlier
 * 'failed' records of the same path.  *pid (may be NULL) is its id.
 */
int db_doc_fail(db *d, int64_t run_id, const char *path, const char *sha256, int64_t bytes,
                const char *error, int64_t *pid);

/*
 * SHA-256 as 64 lowercase hex digits and a NUL (OpenSSL's libcrypto).
 * db_sha256_file streams the file (any size) and sets *pbytes (may be
 * NULL) to its size; UTIL_EIO with a message naming the file when it
 * cannot be read.
 */
int db_sha256_mem(const void *data, size_t len, char hex[DB_SHA256_HEX]);
int db_sha256_file(const char *path, char hex[DB_SHA256_HEX], int64_t *pbytes);

/* What db_merge added from one shard. */
typedef struct db_merge_counts {
    long documents, pages, fields;  /* stored documents new to the output, and what is under them */
    long failed;                    /* failed records of paths the output did not know */
    long runs, models;
} db_merge_counts;

/*
 * db_merge - copies the shard database at shard_path into d in one
 * transaction (all of the shard or, on any error, nothing).  The shard is
 * opened with db_open first, so a newer schema version (UTIL_EUNSUP),
 * another program's database, a file that is not SQLite or a damaged one
 * (UTIL_EFORMAT) is refused, and an older version is migrated (the shard
 * file itself).  Models are added by SHA-256; runs unless one with the
 * same start time and command line is in (their model, checker, judge
 * and pair readers found by SHA-256); stored documents
 * unless their SHA-256 is in (then skipped), with their pages, fields and
 * digits under new ids; failed records unless d knows their path; a stored
 * document deletes d's failed records of its path or SHA-256.  Merging the
 * same shard again adds nothing.  The output itself given as a shard is
 * UTIL_EINVAL.
 */
int db_merge(db *d, const char *shard_path, db_merge_counts *pcounts);

/* `docpipe merge` options. */
typedef struct db_merge_opts {
    const char *db;                /* the output database (docpipe.db), created when missing */
    int n_shards;
    const char *const *shards;     /* shard databases, merged in this order */
    int quiet;                     /* no per-shard lines */
} db_merge_opts;

void db_merge_opts_default(db_merge_opts *o);

/*
 * db_merge_run - `docpipe merge`: opens (creating) o->db and merges every
 * shard into it with db_merge, printing per shard what it added.  A
 * refused shard is reported and the others still merged; the first
 * error is returned.
 */
int db_merge_run(const db_merge_opts *o);

/* `docpipe export` options. */
typedef struct db_export_opts {
    const char *db;                /* database file (docpipe.db) */
    const char *what;              /* "amounts", "postcodes" or "fields" */
    const char *format;            /* "csv" or "json" */
    const char *out;               /* output file, NULL or "-": standard output */
} db_export_opts;

void db_export_opts_default(db_export_opts *o);

/*
 * db_export_run - writes the rows of the amounts or postcodes view, or of
 * every field, as CSV (RFC 4180: a header, CRLF line ends, quoted where
 * needed) or as a JSON array of objects.  A file given with -o is written
 * atomically (nothing is left behind on error).  A missing database is an
 * error; it is never created.
 */
int db_export_run(const db_export_opts *o);

#endif
