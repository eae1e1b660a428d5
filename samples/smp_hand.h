/*
 * smp_hand.h - handwriting for the sample generator: the bank of labeled
 * MNIST digits a page draws from, a writer's style, one digit rendered as
 * an ink coverage mask at handwriting size, and blending ink into a page.
 *
 * Masks are 8 bpp with 0 = no ink and 255 = full ink; pages are 8 bpp gray
 * with 255 = white paper.
 */
#ifndef DOCPIPE_SMP_HAND_H
#define DOCPIPE_SMP_HAND_H

#include <allheaders.h>
#include <stdint.h>

#include "train/trn_data.h"
#include "util/util.h"

/* The digits a page may use, with the indices of each label. */
typedef struct smp_bank {
    trn_data *data;
    int *by_label[10]; /* indices into data, per label */
    int count[10];
} smp_bank;

/*
 * smp_bank_load - reads a labeled Kaggle CSV (trn_data_load_csv, which names
 * the file and line of a bad row) and indexes it by label.  A file lacking
 * some label 0..9 is refused (UTIL_EFORMAT), since every digit must be
 * writable.
 */
int smp_bank_load(smp_bank **pbank, const char *path);
void smp_bank_destroy(smp_bank **pbank);

/*
 * smp_bank_pick - a seeded choice among the digits with this label that
 * used[] (one byte per digit of the bank, kept per page) does not mark yet;
 * marks it.  Only when every digit of the label is used already (a small
 * bank) is one reused.
 */
int smp_bank_pick(const smp_bank *bank, int label, uint8_t *used, util_rng *rng);

/* How one person writes. */
typedef struct smp_writer {
    double height_in; /* digit height */
    double slant;     /* shear, radians; positive leans the tops right */
    double rotate;    /* spread of each digit's own tilt, radians */
    double thresh;    /* re-threshold level of the smoothed digit: low = thick */
    double aspect;    /* width factor */
    int ink;          /* gray level of the ink */
    int pencil;       /* light, grainy strokes */
    double gap_in;    /* space between digits in a box */
    double jitter_in; /* baseline jitter */
    double touch_p;   /* probability that two adjacent digits overlap */
    int centered;     /* boxes: centered rather than left-aligned */
} smp_writer;

/* smp_writer_random - a plausible writer; dark_only forbids pencil (a
 * page that is thresholded to one bit). */
void smp_writer_random(smp_writer *w, util_rng *rng, int dark_only);

/* One rendered digit: its mask and the ink box inside it. */
typedef struct smp_glyph {
    PIX *mask;
    int bx, by, bw, bh;
} smp_glyph;

/*
 * smp_glyph_render - digit `index` of the bank with its ink box scaled to
 * height_px (width by its own aspect and the writer's), smoothly
 * interpolated, re-thresholded at the writer's level, tilted and slanted.
 */
int smp_glyph_render(smp_glyph *pg, const smp_bank *bank, int index, double height_px,
                     const smp_writer *w, util_rng *rng);
void smp_glyph_free(smp_glyph *g);

/*
 * smp_blend_ink - darkens page (8 bpp) where mask (8 bpp coverage) has ink,
 * with the mask's top-left at (x, y) (clipped to the page): the paper's
 * value is multiplied toward ink/255 by the coverage, as ink on paper does.
 * grain > 0 thins the coverage at random (pencil), from rng.
 */
void smp_blend_ink(PIX *page, PIX *mask, int x, int y, int ink, double grain, util_rng *rng);

/* smp_rand - a uniform double in [lo, hi) from rng. */
double smp_rand(util_rng *rng, double lo, double hi);

#endif
