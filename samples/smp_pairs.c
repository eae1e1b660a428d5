/*
 * smp_pairs.c - `docpipe samples --pairs N`: two handwritten digits drawn
 * touching, each pair cut as the segmenter cuts one glyph (seg_mnist), as
 * the training rows of the pair readers (README "The pair readers").
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <allheaders.h>

#include "samples/smp_hand.h"
#include "samples/smp_pairs.h"
#include "segment/seg_mnist.h"
#include "segment/segment.h"
#include "util/util.h"

/*
 * One pair a, b in the way `docpipe samples` writes touching neighbours
 * (smp_page.c): one writer, one height, at 200 or 300 dpi; both digits
 * raised cents (0.6 of the height) a third of the time, and one pair in
 * five the last digit before the cents with the first raised cent (the
 * second digit 0.6 high, its foot 0.4 of the height up); the second digit
 * 2-5 px (at 300 dpi) into the first's box, or for 3 pairs in 10 up to
 * 2 px either side of touching; the ink thresholded, and kept (*pkept)
 * only when it is one piece, as a glyph the segmenter would have to cut.
 */
static int pair_draw(const smp_bank *bank, util_rng *rng, int a, int b, uint8_t *crop,
                     int *pkept)
{
    smp_writer w;
    smp_glyph ga = {0}, gb = {0};
    PIX *canvas = NULL, *bin = NULL, *tight = NULL;
    BOXA *parts = NULL;
    int rc, dpi, ia, ib, mixed;
    double h, hb, lift;

    *pkept = 0;
    smp_writer_random(&w, rng, 0);
    dpi = smp_rand(rng, 0, 1) < 0.5 ? 200 : 300;
    h = w.height_in * dpi;
    mixed = smp_rand(rng, 0, 1) < 0.2;
    if (!mixed && smp_rand(rng, 0, 1) < 0.35)
        h *= 0.6;
    hb = mixed ? 0.6 * h : h;
    lift = mixed ? 0.4 * h : 0.0;
    ia = bank->by_label[a][util_rng_below(rng, (uint64_t)bank->count[a])];
    ib = bank->by_label[b][util_rng_below(rng, (uint64_t)bank->count[b])];
    if ((rc = smp_glyph_render(&ga, bank, ia, h * smp_rand(rng, 0.94, 1.05), &w, rng)) ||
        (rc = smp_glyph_render(&gb, bank, ib, hb * smp_rand(rng, 0.94, 1.05), &w, rng)))
        goto cleanup;
    {
        int cw = (int)pixGetWidth(ga.mask) + (int)pixGetWidth(gb.mask) + 20;
        int ch = (int)(2 * h) + 20;
        double jit = w.jitter_in * dpi, base = ch - 10, gap;
        gap = smp_rand(rng, 0, 1) < 0.3 ? smp_rand(rng, -2, 2) * dpi / 300.0
                                        : -smp_rand(rng, 2, 5) * dpi / 300.0;
        if (!(canvas = pixCreate(cw, ch, 8)))
            goto nomem;
        pixSetAll(canvas);
        smp_blend_ink(canvas, ga.mask, 10 - ga.bx,
                      (int)lround(base + smp_rand(rng, -1, 1) * jit - (ga.by + ga.bh)), 0, 0, rng);
        smp_blend_ink(canvas, gb.mask, (int)lround(10 + ga.bw + gap - gb.bx),
                      (int)lround(base - lift + smp_rand(rng, -1, 1) * jit - (gb.by + gb.bh)), 0, 0,
                      rng);
    }
    if (!(bin = pixThresholdToBinary(canvas, 128)))
        goto nomem;
    if (pixClipToForeground(bin, &tight, NULL) || !tight)
        goto cleanup; /* no ink: not kept */
    if (!(parts = pixConnComp(tight, NULL, 8)))
        goto nomem;
    if (boxaGetCount(parts) == 1) {
        if ((rc = seg_mnist_normalize(tight, crop)))
            goto cleanup;
        *pkept = 1;
    }
    goto cleanup;
nomem:
    util_log(UTIL_LOG_ERROR, "out of memory drawing a pair of digits");
    rc = UTIL_ENOMEM;
cleanup:
    smp_glyph_free(&ga);
    smp_glyph_free(&gb);
    pixDestroy(&canvas);
    pixDestroy(&bin);
    pixDestroy(&tight);
    boxaDestroy(&parts);
    return rc;
}

int smp_pairs_run(const char *digits, const char *out_dir, long n, uint64_t seed)
{
    smp_bank *bank = NULL;
    trn_data *set = NULL; /* the crops, labeled with the left digits */
    int32_t *right = NULL, *left;
    char path[4200];
    util_rng rng;
    long made = 0, tries = 0;
    int rc, kept;

    if (n < 1 || n > INT_MAX || !out_dir || !digits) {
        util_log(UTIL_LOG_ERROR, "smp_pairs_run: a digits file, a folder and n >= 1 are needed");
        return UTIL_EINVAL;
    }
    if ((rc = smp_bank_load(&bank, digits)))
        return rc;
    for (int d = 0; d < 10; d++)
        if (bank->count[d] == 0) {
            util_log(UTIL_LOG_ERROR, "%s: no digit %d to draw pairs from", digits, d);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        util_log(UTIL_LOG_ERROR, "%s: cannot create the folder: %s", out_dir, strerror(errno));
        rc = UTIL_EIO;
        goto cleanup;
    }
    if ((rc = trn_data_create(&set, (int)n, 1)))
        goto cleanup;
    if (!(right = malloc((size_t)n * sizeof *right))) {
        util_log(UTIL_LOG_ERROR, "out of memory for %ld pairs of digits", n);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    util_rng_seed(&rng, seed);
    while (made < n) {
        int a = (int)util_rng_below(&rng, 10), b = (int)util_rng_below(&rng, 10);
        if (++tries > 20 * n + 1000) { /* every draw falling apart: a bank of specks */
            util_log(UTIL_LOG_ERROR, "%s: %ld of %ld pairs drawn touching after %ld tries",
                     digits, made, n, tries - 1);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if ((rc = pair_draw(bank, &rng, a, b, set->pixels + (size_t)made * TRN_PIXELS, &kept)))
            goto cleanup;
        if (kept) {
            set->labels[made] = a;
            right[made] = b;
            made++;
        }
    }
    snprintf(path, sizeof path, "%s/pairs-left.csv", out_dir);
    if ((rc = trn_data_write_csv(set, path, 1)))
        goto cleanup;
    left = set->labels; /* the same crops, labeled with the right digits */
    set->labels = right;
    right = left;
    snprintf(path, sizeof path, "%s/pairs-right.csv", out_dir);
    rc = trn_data_write_csv(set, path, 1);
cleanup:
    free(right);
    trn_data_destroy(&set);
    smp_bank_destroy(&bank);
    return rc;
}
