/*
 * segment.h - the segmentation stage's results: for one scanned page, its
 * skew, the form found on it, and each field with its digits as
 * MNIST-normalized 28 x 28 crops, together with the alternative ways the
 * field could be split into digits.
 *
 * segment/ knows Leptonica and nothing of the classifier or the database:
 * choosing between the alternatives with the classifier's scores is
 * pipeline/'s job.  Boxes are in pixels of the deskewed page.
 */
#ifndef DOCPIPE_SEGMENT_H
#define DOCPIPE_SEGMENT_H

#include <stdint.h>

#include "seg_form.h"

#define SEG_CROP 28             /* crops are SEG_CROP x SEG_CROP, MNIST's size */
#define SEG_CROP_PIXELS (SEG_CROP * SEG_CROP)

/* One glyph: a box on the page and its normalized crop (0 background .. 255 ink). */
typedef struct seg_glyph {
    int x, y, w, h;
    uint8_t crop[SEG_CROP_PIXELS];
} seg_glyph;

/*
 * One way of reading a field: its glyphs left to right.  prior (0..1) is the
 * segmenter's own belief in this split, before any classifier has looked;
 * the alternatives of one field sum to at most 1.  n_int is the number of
 * glyphs before the decimal point for an amount (n when no cents were
 * found), n for every other type.
 */
typedef struct seg_split {
    int n;
    seg_glyph *glyphs;
    int n_int;
    float prior;
} seg_split;

/* One field: where it is, what it holds, and its splits (splits[0] the best). */
typedef struct seg_field {
    char name[SEG_NAME_MAX];
    int type;                  /* SEG_FT_* */
    int x, y, w, h;            /* the writing area on the deskewed page */
    int frame, cells;          /* as in the template, or as found by --form auto */
    int n_splits;
    seg_split *splits;         /* empty field: n_splits 1 with n 0 */
    float doubt;               /* 0 sure .. 1: how unsure the segmenter is */
    char note[64];             /* why it doubts ("touching digits split", ...), or "" */
} seg_field;

/* seg_field_clear - frees what a field holds (not the field itself). */
void seg_field_clear(seg_field *f);

#endif
