/*
 * trn_crops.h - labeled digit crops cut from generated pages: the
 * segmentation stage run on a `docpipe samples` set, each field whose
 * digit count came out right paired digit by digit with its truth, written
 * as a Kaggle CSV (label,pixel0..pixel783) that `docpipe train` and
 * `docpipe eval` read.  Crops from pages drawn with MNIST training digits
 * teach the classifier what rescanned, renormalized digits look like;
 * crops from test-digit pages measure how well it reads them.
 *
 * train/ uses segment/ here (and only here) to make training data; the
 * segment stage itself knows nothing of training.
 */
#ifndef DOCPIPE_TRN_CROPS_H
#define DOCPIPE_TRN_CROPS_H

#include <stddef.h>
#include <stdint.h>

#include "segment/segment.h"

/*
 * trn_truth_digits - the digits of a samples truth text, left to right:
 * "1234.56" gives "123456" and *pn_int 4 (digits before the point),
 * "12345-6789" gives "123456789" (n_int 9); every character that is not a
 * digit is skipped, a '.' marks the cents.  Writes at most cap - 1 digits
 * and a NUL (cap >= 1); returns the number of digits written.
 */
int trn_truth_digits(const char *text, char *digits, size_t cap, int *pn_int);

/*
 * trn_crops_align - pairs a segmented field with what was written in it:
 * when the segmenter's first split (splits[0], its own best guess, chosen
 * before any classifier looked) has exactly as many glyphs as the truth
 * text has digits, (*pcrops)[k] points to glyph k's 28 x 28 crop and
 * labels[k] is truth digit k, for k < the returned count.  Returns 0 when
 * the counts differ, the field has no split, or the truth has no digits or
 * more than cap.  The pointers are into f and live as long as it does.
 */
int trn_crops_align(const seg_field *f, const char *truth, const uint8_t **crops, int *labels,
                    int cap);

/* The judge's classes (README "The judge"). */
enum { TRN_JUDGE_WHOLE = 0, TRN_JUDGE_MERGED = 1, TRN_JUDGE_PIECE = 2 };

/*
 * trn_judge_labels - what each distinct glyph of field f is, given the
 * split `right` that reads the field as written: labels[j] for the j-th
 * glyph counted split after split (splits[0]'s first), -1 for a glyph
 * whose box an earlier glyph already had (one row per box) and for the
 * glyphs of a field with a single split (no choice to learn from);
 * otherwise TRN_JUDGE_WHOLE for a glyph with the box of one of right's,
 * TRN_JUDGE_MERGED for a glyph whose box holds the centres of two or more
 * of right's glyphs, TRN_JUDGE_PIECE for any other.  labels has room for
 * every glyph of f.  Returns the number of labels that are not -1.
 */
int trn_judge_labels(const seg_field *f, int right, int *labels);

typedef struct trn_crops_opts {
    const char *dir;   /* the samples folder (truth.csv's files are relative to it) */
    const char *judge; /* NULL: digit crops; else the model file that picks the split read
                        * as written, and the rows are the judge's (trn_judge_labels) */
    const char *truth; /* the truth file; NULL: DIR/truth.csv */
    const char *out;   /* the Kaggle CSV written */
    const char *forms; /* template folder; NULL: seg_forms_default_dir() */
} trn_crops_opts;

/* What a trn_crops_run did. */
typedef struct trn_crops_stats {
    long pages;         /* pages segmented */
    long fields;        /* truth fields with at least one digit */
    long fields_used;   /* of those, found with the right digit count */
    long crops;         /* rows written */
    long per_class[3];  /* --judge: rows per class */
} trn_crops_stats;

/*
 * trn_crops_run - segments every page named in the truth file (columns
 * file,page,field,type,text as `docpipe samples` writes them; rows of one
 * page together) the way ingest does (the template that registers best,
 * else auto fields), aligns each field with trn_crops_align(), and writes
 * every pair as a row of o->out, atomically, in truth order.  Empty truth
 * fields and fields whose count came out wrong add nothing.  Refused, with
 * nothing written and the reason logged once: a missing or unreadable truth
 * file (UTIL_EIO), a malformed one (wrong header or column count, a page
 * number that is not a positive integer, an unknown type: UTIL_EFORMAT with
 * the line), a document that cannot be read or lacks the page named
 * (the reader's code, naming file and page), no crop at all (UTIL_EFORMAT).
 * *pst (optional) gets the counts.
 */
int trn_crops_run(const trn_crops_opts *o, trn_crops_stats *pst);
/*
 * With o->judge, trn_crops_run writes the judge's training rows instead:
 * each page's glyphs are read by that model, a field's `right` split is the
 * first with the truth's digit count whose glyphs the model reads (top
 * class) as the truth's digits, and every glyph trn_judge_labels labels
 * is a row; fields with no such split add nothing.  fields_used counts the
 * fields that gave rows.  The model that cannot be loaded is refused like
 * the truth file.
 */

#endif
