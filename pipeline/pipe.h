/*
 * pipe.h - the ingest pipeline's public entry points: `docpipe ingest`
 * (folders of scans into the SQLite database, with a confidence per field)
 * and `docpipe eval-ingest` (the database scored against a samples truth
 * file).
 *
 * pipeline/ uses segment/ (pages to fields and candidate digit splits),
 * recognize/ (crops to calibrated probabilities) and db/ (one transaction
 * per document); none of those know each other.  The pieces:
 *   pipe_walk.c      paths and folders to the list of files to read
 *   pipe_ingest.c    the threaded run: segmentation workers, cross-page
 *                    batches for the classifier, documents into the database
 *   pipe_assemble.c  choosing a field's split, its text, value, confidence
 *   pipe_eval.c      eval-ingest
 *   pipe_progress.c  the progress bar
 *   pipe_shard.c     --shard K/N and the Slurm / Kubernetes array variables
 */
#ifndef DOCPIPE_PIPE_H
#define DOCPIPE_PIPE_H

#include <stdint.h>

/* The review threshold used when --review-below is not given (measured on
 * generated pages, see README "Confidence"). */
#define PIPE_REVIEW_BELOW_DEFAULT 0.95
#define PIPE_BATCH_DEFAULT 512
#define PIPE_SHARD_MAX 100000  /* the most shards one ingest may be split into */

/* One shard of an ingest split N ways: index 0..count-1; count 0 (or 1):
 * everything. */
typedef struct pipe_shard {
    int index;
    int count;
} pipe_shard;

/*
 * pipe_shard_parse - "K/N" (as --shard takes it: K is 1-based, shard 1 of
 * 4 is "1/4"; 1 <= K <= N <= PIPE_SHARD_MAX, whole numbers, nothing
 * around them) into *pshard (index K - 1, count N).  UTIL_EINVAL otherwise,
 * logging nothing (the CLI names the option).
 */
int pipe_shard_parse(const char *spec, pipe_shard *pshard);

typedef struct pipe_ingest_opts {
    const char *db;          /* database file (docpipe.db), created when missing */
    const char *model;       /* model file, NULL: rec_model_default_path() */
    const char *checker;     /* checker model file (a second opinion on each digit, weighed
                              * into the confidence), NULL: rec_model_checker_path() when it
                              * exists, none otherwise; "none": no checker */
    const char *judge;       /* judge model file (whole digit, touching digits or a piece,
                              * weighed into the choice among splits), NULL:
                              * rec_model_judge_path() when it exists, none otherwise;
                              * "none": no judge */
    const char *pairs;       /* "none": no pair readers; NULL: the shipped pair-left.model
                              * and pair-right.model (rec_model_pair_left_path) when both
                              * exist; else "LEFT,RIGHT", the two model files */
    const char *form;        /* NULL: best template else auto; "auto"; or a template name */
    const char *forms_dir;   /* NULL: seg_forms_default_dir() */
    const char *engine;      /* --device: "auto" (NULL), "cpu" or "cuda" (rec_engine_open) */
    int threads;             /* segmentation threads, 0: every core */
    int batch;               /* crops per classifier batch */
    int force;               /* re-read documents already stored, replacing them */
    double review_below;     /* fields under this confidence get status review */
    int progress;            /* 1 bar, 0 plain lines, -1: a bar when stderr is a terminal */
    int quiet;               /* no per-document lines, only the summary */
    const char *command;     /* the command line, stored with the run */
    const char *shard;       /* --shard "K/N" (1-based K), NULL: from the environment */
    int shard_count;         /* --shard-count N: shards of a Kubernetes Indexed Job (with
                              * JOB_COMPLETION_INDEX), 0: not given */
    int n_paths;
    const char *const *paths;
} pipe_ingest_opts;

/* pipe_ingest_opts_default - the defaults above (db "docpipe.db", batch 512,
 * threads 0, review_below PIPE_REVIEW_BELOW_DEFAULT, progress -1). */
void pipe_ingest_opts_default(pipe_ingest_opts *o);

/* What an ingest did (the summary). */
typedef struct pipe_ingest_stats {
    long files;              /* image files found (failed and skipped ones included) */
    long documents;          /* stored, replacements included */
    long replaced;           /* of those, replacing an earlier copy (--force) */
    long skipped;            /* already in the database (same SHA-256) */
    long failed;             /* recorded as failed (unreadable, not an image, broken) */
    long not_images;         /* files that are not images by content or name, left alone */
    long pages, fields, review;
    double seconds;
    double classify_seconds; /* the main thread in the classifier (engine time included) */
    double wait_seconds;     /* the main thread waiting for segmented documents */
    long crops;              /* digits classified */
    int64_t run_id;
    pipe_shard shard;        /* the shard read (count 0: not sharded) */
    long other_shards;       /* files found that belong to other shards, left alone */
} pipe_ingest_stats;

/*
 * pipe_ingest_run - reads every image under o->paths into the database;
 * with a shard (o->shard, else the environment: see pipe_shard_resolve in
 * pipe_int.h) only the files of that shard, by their path's hash.
 * Returns UTIL_OK when the run went through, even when some documents
 * failed (they are recorded with their reason; pstats->failed counts them:
 * the CLI exits 3 then); UTIL_EINTR after pipe_interrupt() (documents
 * already finished are stored); another code when the run could not start
 * or the database stopped taking writes (model, forms or database refused:
 * the message says why).  pstats may be NULL.
 */
int pipe_ingest_run(const pipe_ingest_opts *o, pipe_ingest_stats *pstats);

/* pipe_interrupt - asks a running ingest to stop after the documents under
 * way (async-signal-safe: sets a flag). */
void pipe_interrupt(void);

typedef struct pipe_eval_opts {
    const char *db;          /* docpipe.db */
    const char *truth;       /* truth.csv: file,page,field,type,text */
    int json;                /* one JSON object instead of the text report */
    double target_error;     /* the read rate's error bound (0.01) */
} pipe_eval_opts;

void pipe_eval_opts_default(pipe_eval_opts *o);

/*
 * pipe_eval_run - compares the fields in the database with the truth file
 * and prints the report on standard output: field exact-match rate overall,
 * per type and per field name, digit accuracy (1 - edit distance / truth
 * digits), the read rate at <= target_error field error (fields sorted by
 * confidence, the largest accepted fraction whose error rate stays within
 * the bound), the status split (ok / review and the accuracy of each), and
 * a reliability table (confidence bins against actual accuracy).  Truth
 * rows are matched to documents by the path relative to the truth file's
 * folder (see pipe_eval.c), page and field name; a truth field with no
 * stored field counts as wrong with confidence 0.  Errors: the truth file
 * or database unreadable, or no truth row matching any stored document.
 */
int pipe_eval_run(const pipe_eval_opts *o);

#endif
