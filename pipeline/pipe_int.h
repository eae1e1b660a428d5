/*
 * pipe_int.h - the pipeline's inner pieces, shared by the pipeline/ sources and
 * tests/test_pipeline.c: the folder walk, field assembly (choosing a split,
 * text, value, confidence), the evaluation's measures, and the progress
 * bar.
 */
#ifndef DOCPIPE_PIPE_INT_H
#define DOCPIPE_PIPE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db/db.h"
#include "pipeline/pipe.h"
#include "segment/segment.h"

/* ------------------------------------------------------------ the walk */

/* What the first bytes of a file are. */
enum {
    PIPE_FMT_NONE = 0,   /* not an image we know of */
    PIPE_FMT_READABLE,   /* TIFF, PNG, JPEG, PNM: segment/ reads them */
    PIPE_FMT_OTHER_IMAGE /* BMP, GIF, WebP, JPEG 2000: an image docpipe cannot read */
};

/*
 * pipe_sniff - the format class of a file from its first len bytes (16 are
 * enough).  pipe_name_claims_image - 1 when the name ends in .tif .tiff
 * .png .jpg .jpeg .pnm .pgm .pbm .ppm (any case).
 */
int pipe_sniff(const uint8_t *head, size_t len);
int pipe_name_claims_image(const char *path);

/* One file to read, or one that cannot be (error set: recorded as failed). */
typedef struct pipe_entry {
    char *path;          /* as given, or folder + "/" + name */
    int64_t bytes;       /* size, -1 unknown */
    int pages;           /* page count estimate (TIFF directories; 1 otherwise) */
    char *error;         /* NULL, or why it cannot be read (unreadable, ...) */
    size_t rel;          /* path + rel: the path relative to the folder given (the
                          * name alone for a file given by itself); what sharding hashes */
} pipe_entry;

typedef struct pipe_walk {
    int n, cap;
    pipe_entry *e;
    long not_images;     /* files left alone: not images by content or name */
    long pages;          /* sum of the entries' page estimates */
} pipe_walk;

/*
 * pipe_walk_paths - the files under paths, in order: a file is taken as it
 * is; a folder is walked recursively, its entries sorted by name, names
 * starting with '.' left out, symbolic links followed (a folder seen before
 * is not walked twice).  A file is an entry when its first bytes are an
 * image's, or when its name claims one (it will fail with the reason);
 * other files are counted in not_images.  A file or folder that cannot be
 * opened becomes an entry with its error.  A path that does not exist is an
 * entry with an error too.  Errors: memory only.
 */
int pipe_walk_paths(const char *const *paths, int n, pipe_walk **pwalk);
void pipe_walk_destroy(pipe_walk **pwalk);

/* ---------------------------------------------------------- shards */

/*
 * pipe_shard_resolve - the shard an ingest reads: spec ("K/N", --shard)
 * when given; else with count_opt (--shard-count N) the Kubernetes
 * Indexed Job's JOB_COMPLETION_INDEX (0-based, required, below N); else
 * a Slurm array task's SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
 * SLURM_ARRAY_TASK_COUNT (the array must be contiguous: no step); else
 * everything (count 0).  A JOB_COMPLETION_INDEX without --shard-count is
 * refused (every pod would read everything).  UTIL_EINVAL, logged, for a
 * bad spec or variable.
 */
int pipe_shard_resolve(const char *spec, int count_opt, pipe_shard *pshard);

/* pipe_shard_of - the shard (0..count-1) of a relative path: FNV-1a 64 of
 * its bytes through util_hash64, mod count.  The same on every machine. */
int pipe_shard_of(const char *rel, int count);

/* pipe_shard_filter - drops w's entries of other shards (freeing them,
 * their pages taken off w->pages); *pothers counts them.  Nothing when
 * s->count <= 1. */
void pipe_shard_filter(pipe_walk *w, const pipe_shard *s, long *pothers);

/* --------------------------------------------------------- assembly */

/* What the template says about a field (known 0: auto field, no rules). */
typedef struct pipe_rules {
    int known;
    int min_digits, max_digits;
    int cents;           /* amount: digits after the decimal point */
    char pattern[SEG_PATTERN_MAX + 1]; /* the template's pattern= (docs/forms.md), or "" */
} pipe_rules;

#define PIPE_TEXT_MAX 128

/* A field read: the chosen split and what it says. */
typedef struct pipe_read {
    int split;                   /* index into the field's splits */
    int n;                       /* digits of that split */
    char text[PIPE_TEXT_MAX];    /* "1234.56", "12345-6789", "06222019", "" */
    int has_value;               /* amount: cents holds the value */
    int64_t cents;
    int has_value_text;          /* other types: value_text holds the value */
    char value_text[PIPE_TEXT_MAX];
    double confidence;           /* 0..1 */
    int status;                  /* DB_FIELD_OK / DB_FIELD_REVIEW */
    char why[64];                /* why review beside a low confidence, or "" */
} pipe_read;

/*
 * pipe_assemble_field - reads field f from its glyphs' probabilities:
 * gprobs[j] points to the 10 calibrated class probabilities of glyph j,
 * the glyphs numbered split after split (splits[0]'s glyphs first).  Each
 * split is scored log(prior) + the sum of log(probability) of its glyphs'
 * labels (pipe_read_split) + 0.5 per glyph (a top probability says which digit a crop is,
 * not whether it is one digit: without the bonus every extra glyph costs),
 * less 3 for a count outside rules and 3 for an amount's cents of another
 * length than rules->cents, plus, when cprobs is not NULL, 0.5 times the
 * sum of the checker's log probabilities of the same labels; the best is
 * read.  With cprobs, every glyph is read from the model's and the
 * checker's probabilities combined, q proportional to p^0.25 c^0.75 (q
 * takes gprobs' place everywhere: labels, scores, confidence, the digits
 * stored); without, from the model's.  digits (room for the chosen
 * split's n) receives each digit's label, probability, runner-up, box and
 * crop.  The confidence is a logistic function (pipe_assemble.c, README
 * "Confidence") of the chosen digits' log probabilities summed, the log
 * of the chosen split's share of exp(score) over the splits (the scores
 * without the glyph bonus and the checker's term) times factors for a digit count outside rules,
 * an assumed decimal point and a text that does not parse, the smallest
 * log ratio of a digit's probability to its runner-up's, the field's
 * type and whether the segmenter doubted pieces merged.  When cprobs is
 * not NULL (the checker's probabilities, numbered as gprobs) each digit
 * carries the checker's probability of its label in check_prob, and a
 * field with a digit the checker gives less than 0.5 has its confidence
 * halved and goes to review with the reason.  Status is review when the
 * confidence is under review_below or any reason applies.  Pure: no I/O,
 * no errors.
 */
void pipe_assemble_field(const seg_field *f, const float *const *gprobs,
                         const float *const *cprobs, const pipe_rules *rules,
                         double review_below, pipe_read *out, db_digit *digits);

/*
 * pipe_combine_probs - q[10], the reading of one glyph from the model's
 * probabilities p[10] and the checker's c[10]: p^0.25 c^0.75 normalized
 * (what pipe_assemble_field reads when it has the checker's).
 */
void pipe_combine_probs(const float *p, const float *c, float *q);

/*
 * pipe_assemble_field_judged - pipe_assemble_field with the judge's
 * probabilities too: jprobs[j] (numbered as gprobs; NULL: no judge) gives
 * glyph j's chance of being a whole digit, touching digits read as one
 * glyph (class 1) or a piece; each split's score takes 1.0 times the sum
 * of log(1 - P(touching)) over its glyphs, in the choice and in the share
 * S of the confidence (unlike the checker's term), and 0.5 times the sum
 * of log(1 - P(piece)) (class 2), in the choice only.  lprobs and rprobs
 * (numbered as gprobs; NULL: none) are the pair readers', applied by
 * pipe_pair_reread (with jprobs) after the checker's combination; with the
 * judge too, a glyph of a split the judge takes for touching digits
 * (P >= 0.5; the 4 likeliest) also makes a pair split (pipe_assemble.c):
 * that split with the glyph read as two digits by the pair readers, prior
 * 0.05 times the split's, the judge's term log P(touching) for the two; out->split is
 * then f->n_splits or more, and the two digits have the glyph's box halved
 * and its whole crop.  digits needs room for pipe_field_digits_max(f).  The
 * rest is as above.
 */
void pipe_assemble_field_judged(const seg_field *f, const float *const *gprobs,
                                const float *const *cprobs, const float *const *jprobs,
                                const float *const *lprobs, const float *const *rprobs,
                                const pipe_rules *rules, double review_below, pipe_read *out,
                                db_digit *digits);

/*
 * pipe_pair_reread - the pair readers' word on touching digits: wherever a
 * glyph G of one split of f has the centres of exactly two glyphs of
 * another split inside its columns (the two it was cut into), the reading
 * of those two, q[10 * j .. 10 * j + 9] for glyph j (numbered as in
 * pipe_field_glyphs), becomes q^(1-w) L^w normalized for the left one and
 * q^(1-w) R^w for the right one, L = lprobs[G] and R = rprobs[G] (the left
 * and the right pair reader's probabilities for G's crop, numbered as q),
 * w = 0.5 times the judge's P(touching digits) for G, jprobs[G][1] (w = 0.5
 * when jprobs is NULL: no judge).  Each glyph is taken toward a pair at
 * most once (the first G found, split by split).  Returns how many glyphs
 * were taken, 0 without both readers, -1 when out of memory (q untouched).
 */
int pipe_pair_reread(const seg_field *f, const float *const *lprobs,
                     const float *const *rprobs, const float *const *jprobs, float *q);

/*
 * pipe_read_split - the labels of split sp's glyphs (probs[i] the 10
 * calibrated probabilities of glyph i) in labels[] (room for sp->n, at most
 * PIPE_TEXT_MAX used), and the sum of their log probabilities: each glyph's
 * top class, except where a field of this type cannot read so; then the
 * reading its grammar allows with the largest sum.  The grammar: a date of
 * 8 digits is a real calendar date MMDDYYYY of 1900..2099; an amount's
 * whole part (pipe_amount_int_digits) of two or more digits does not start
 * with 0; a reading of as many digits as rules->pattern has classes takes
 * at each position a digit of its class (X any, N 2-9, Z 1-9, a digit
 * itself).  pipe_amount_int_digits - the digits before an amount's point:
 * the split's n_int, or, when rules expect cents and no point was found,
 * all but the last rules->cents.
 */
double pipe_read_split(int type, const seg_split *sp, const pipe_rules *rules,
                       const float *const *probs, int *labels);
int pipe_amount_int_digits(const seg_split *sp, const pipe_rules *rules);

/* pipe_rules_of - the rules form (NULL: none) gives its field named name
 * into *r: digit range, cents and pattern, known 1; all zero when form is
 * NULL or has no such field (an auto field). */
void pipe_rules_of(const seg_form *form, const char *name, pipe_rules *r);

/* pipe_field_glyphs - the glyphs of all of f's splits together. */
int pipe_field_glyphs(const seg_field *f);

/* pipe_field_digits_max - the most digits a reading of f can have, so the
 * room the digits argument of pipe_assemble_field_judged needs: f's
 * longest split, plus one for a glyph read as two touching digits. */
int pipe_field_digits_max(const seg_field *f);

/*
 * Text and values.  pipe_amount_text - the digits with a point before
 * digit n_int (none when n_int >= n), and the value in cents (cents
 * digits after the point, padded or cut to 2: "12.5" is 1250; no point:
 * whole units) in *pcents; 0 when n is 0 or the value overflows.
 * pipe_postcode_text - 5 digits "12345", 9 digits "12345-6789"; returns 1
 * when the count is one of those (the value), 0 otherwise (text = digits).
 * pipe_date_value - 8 digits MMDDYYYY that make a real date (1900..2099)
 * into "YYYY-MM-DD"; 0 otherwise.
 */
int pipe_amount_text(const int *labels, int n, int n_int, char *text, size_t cap,
                     int64_t *pcents);
int pipe_postcode_text(const int *labels, int n, char *text, size_t cap);
int pipe_date_value(const char *digits, char *value, size_t cap);

/* ------------------------------------------------------ evaluation */

/* One truth field scored: whether the stored reading matched, its confidence. */
typedef struct pipe_scored {
    double confidence;
    int correct;
} pipe_scored;

/*
 * pipe_read_rate - the largest fraction of the n fields that can be
 * accepted, taking them by decreasing confidence, with at most max_error of
 * the accepted ones wrong; *pthreshold is the lowest confidence accepted
 * then (1.0 when none).  Sorts v.
 */
double pipe_read_rate(pipe_scored *v, size_t n, double max_error, double *pthreshold);

/* pipe_digit_errors - the edit distance between two digit strings (only
 * the characters 0-9 count; '.' and '-' are ignored). */
int pipe_digit_errors(const char *a, const char *b);

/* pipe_rel_path - path relative to the folder dir (both made absolute and
 * resolved with realpath when they exist), or NULL when it is not under
 * it.  The caller frees the result. */
char *pipe_rel_path(const char *dir_real, const char *path);

/* ---------------------------------------------------------- progress */

typedef struct pipe_progress {
    FILE *fp;
    int bar;             /* 1: redraw one line with \r; 0: a plain line now and then */
    long total_pages;
    double t0, last;
    int drawn;
} pipe_progress;

void pipe_progress_init(pipe_progress *p, FILE *fp, int bar, long total_pages);
/* pipe_progress_update - shows pages done of the total (documents done
 * beside); draws at most 10 times a second, plain lines every 5 s. */
void pipe_progress_update(pipe_progress *p, long pages, long docs, long total_docs, int force);
/* pipe_progress_clear - removes the bar (before other output). */
void pipe_progress_clear(pipe_progress *p);

#endif
