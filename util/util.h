/*
 * util.h - the shared corner of docpipe: error codes, the one logging helper,
 * whole-file reading, atomic file writing, deterministic random numbers,
 * time, and strict number parsing.
 *
 * Every stage may include this header; it includes nothing of the project.
 * Conventions used across the code base:
 *   - functions return UTIL_OK (0) or one of the UTIL_E* codes below;
 *   - the function that detects an error reports it once, through util_log(),
 *     naming the file and line (or byte offset) where that makes sense, and
 *     its callers only pass the code up;
 *   - out-parameters are named p... and are zeroed first;
 *   - only main() exits.
 */
#ifndef DOCPIPE_UTIL_H
#define DOCPIPE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error codes.  Keep util_strerror() in step. */
enum {
    UTIL_OK = 0,
    UTIL_EINVAL = 1,  /* a bad argument or option value */
    UTIL_EIO = 2,     /* a file could not be opened, read or written */
    UTIL_EFORMAT = 3, /* input is malformed (CSV, model file, ...) */
    UTIL_ENOMEM = 4,  /* out of memory */
    UTIL_EINTR = 5,   /* interrupted by the user (Ctrl-C) */
    UTIL_ENODEV = 6,  /* the requested compute device is not usable */
    UTIL_EUNSUP = 7   /* valid but unsupported (e.g. a newer file version) */
};

/* util_strerror - a short English phrase for an error code. */
const char *util_strerror(int rc);

/* Log levels, most severe first. */
enum { UTIL_LOG_ERROR = 0, UTIL_LOG_WARN = 1, UTIL_LOG_INFO = 2, UTIL_LOG_DEBUG = 3 };

/*
 * util_log - the one logging helper.  Writes "docpipe: error: <message>\n"
 * (or "warning: ", or nothing for info) to the log stream (stderr by
 * default) when level <= the current level.  The last error message is kept
 * (per thread) for util_last_error(), whatever the level, so tests can check
 * what a failing call said while logging is quiet.
 */
void util_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* util_log_set_level - messages above level are dropped; -1 drops all. */
void util_log_set_level(int level);
int util_log_get_level(void);

/* util_last_error - the last message logged at UTIL_LOG_ERROR by this thread
 * ("" when none); util_clear_error() forgets it. */
const char *util_last_error(void);
void util_clear_error(void);

/*
 * util_file_read - reads the whole file at path into a new buffer, NUL
 * terminated (the NUL is not counted in *plen).  Refuses files larger than
 * max_bytes (0: no limit) with UTIL_EFORMAT.  The caller frees *pbuf.
 */
int util_file_read(const char *path, size_t max_bytes, uint8_t **pbuf, size_t *plen);

/*
 * Atomic file writing: data goes to a temporary file beside the target,
 * which util_afile_commit() flushes, syncs and renames over the target, so
 * readers see the old file or the new one, never half of one.
 * util_afile_abort() (safe on NULL and after commit) removes the temporary.
 */
typedef struct util_afile {
    FILE *fp;        /* write through this */
    char *path;      /* the target */
    char *tmp_path;  /* the temporary beside it */
} util_afile;

int util_afile_open(util_afile **paf, const char *path);
int util_afile_commit(util_afile **paf);
void util_afile_abort(util_afile **paf);

/*
 * Deterministic random numbers.  util_hash64() is a strong 64-bit mixer
 * (splitmix64's finalizer); util_key() combines a seed with up to three
 * counters into a key.  Streams keyed this way make every random draw a pure
 * function of (seed, epoch, batch, index), which is what makes training
 * bit-reproducible and resumable mid-epoch.
 */
uint64_t util_hash64(uint64_t x);
uint64_t util_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
/* util_uniform - a float in [0, 1) from a key and a counter. */
float util_uniform(uint64_t key, uint64_t ctr);

/* A sequential generator (xoshiro256**), seeded from a key. */
typedef struct util_rng { uint64_t s[4]; } util_rng;
void util_rng_seed(util_rng *rng, uint64_t key);
uint64_t util_rng_next(util_rng *rng);
/* util_rng_below - uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t util_rng_below(util_rng *rng, uint64_t n);
/* util_shuffle_i32 - Fisher-Yates shuffle of v[0..n). */
void util_shuffle_i32(int32_t *v, size_t n, util_rng *rng);

/* util_now - monotonic seconds. */
double util_now(void);

/*
 * Strict number parsing for options and text formats: the whole string must
 * be the number (no trailing characters, no empty string), and it must lie
 * in [lo, hi].  Return UTIL_OK or UTIL_EINVAL; they log nothing, so the
 * caller can name the option or the file and line.
 */
int util_parse_long(const char *s, long lo, long hi, long *pval);
int util_parse_double(const char *s, double lo, double hi, double *pval);

/* util_cpu_count - online CPUs usable by this process (at least 1). */
int util_cpu_count(void);

/* util_exe_dir - the folder of the running binary (from /proc/self/exe),
 * or "." when it cannot be found. */
void util_exe_dir(char *buf, size_t cap);

/* util_isatty - whether the stream is a terminal. */
int util_isatty(FILE *fp);

#endif
