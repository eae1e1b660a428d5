/*
 * test_seg_mnist.c - MNIST normalization (segment/seg_mnist.h): exact crops
 * of drawn shapes (size, gray levels, center of mass), the stroke-width
 * estimate, refused input, and the figure that matters: MNIST test digits
 * thresholded, scanned up 3.5x (a 300-dpi pen digit) and renormalized are
 * classified by the shipped model like the originals (>= 99 % on 1000),
 * also when their strokes were made thinner or thicker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_model.h"
#include "segment/seg_mnist.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "util/util.h"

#define MODEL "models/default.model"
#define TEST_SET "data/test_labeled.csv"
#define N_DIGITS 1000

/* A 1-bpp w x h image with the rectangle (x, y, rw, rh) inked. */
static PIX *rect_pix(int w, int h, int x, int y, int rw, int rh)
{
    PIX *p = pixCreate(w, h, 1);
    pixRasterop(p, x, y, rw, rh, PIX_SET, NULL, 0, 0);
    return p;
}

/* An MNIST digit thresholded at 128, scaled up by f with linear
 * interpolation and thresholded again: a pen digit scanned at 300 dpi.
 * morph > 0 dilates by a brick of that size, < 0 erodes. */
static PIX *scan_digit(const uint8_t *px, float f, int morph)
{
    PIX *b = pixCreate(28, 28, 1), *g, *s, *out;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            if (px[y * 28 + x] >= 128)
                pixSetPixel(b, x, y, 1);
    g = pixConvert1To8(NULL, b, 255, 0);
    s = pixScaleGrayLI(g, f, f);
    out = pixThresholdToBinary(s, 128);
    pixDestroy(&b);
    pixDestroy(&g);
    pixDestroy(&s);
    if (morph > 0) {
        PIX *pad = pixAddBorder(out, morph, 0);
        pixDestroy(&out);
        out = pixDilateBrick(NULL, pad, morph, morph);
        pixDestroy(&pad);
    } else if (morph < 0) {
        PIX *e = pixErodeBrick(NULL, out, -morph, -morph);
        pixDestroy(&out);
        out = e;
    }
    return out;
}

static int argmax10(const float *p)
{
    int b = 0;
    for (int k = 1; k < 10; k++)
        if (p[k] > p[b])
            b = k;
    return b;
}

static void test_shapes(void)
{
    uint8_t c[784];
    float ratio = -1.0f;
    PIX *p;

    /* A 10 x 40 bar: 5 x 20 of full ink; center of mass (2, 9.5) moves by
     * (12, 4.5), the half rounded away from zero: columns 12..16, rows 5..24. */
    p = rect_pix(60, 70, 17, 9, 10, 40);
    TST_CHECK(seg_mnist_normalize_ex(p, 0, c) == UTIL_OK, "bar normalizes");
    {
        int ok = 1, ink = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int in = x >= 12 && x < 17 && y >= 5 && y < 25;
                if ((in && c[y * 28 + x] != 255) || (!in && c[y * 28 + x] != 0))
                    ok = 0;
                ink += c[y * 28 + x] != 0;
            }
        TST_CHECK(ok && ink == 100, "bar -> columns 12..16, rows 5..24 at 255 (%d ink)", ink);
    }
    pixDestroy(&p);

    /* A 50 x 25 bar lying down: 20 x 10 with its center of mass at (9.5, 4.5):
     * columns 5..24, rows 10..19. */
    p = rect_pix(80, 40, 3, 7, 50, 25);
    TST_CHECK(seg_mnist_normalize_ex(p, 0, c) == UTIL_OK, "flat bar normalizes");
    TST_CHECK(c[10 * 28 + 5] == 255 && c[19 * 28 + 24] == 255 && c[9 * 28 + 5] == 0 &&
                  c[10 * 28 + 4] == 0 && c[20 * 28 + 24] == 0 && c[10 * 28 + 25] == 0,
              "flat bar -> rows 10..19, columns 5..24");
    pixDestroy(&p);

    /* Area averaging: a 30 x 30 frame with 4-pixel walls scaled to 20 has
     * walls 2.67 pixels thick, so their inner edges are partial pixels. */
    p = rect_pix(40, 40, 0, 0, 30, 30);
    pixRasterop(p, 4, 4, 22, 22, PIX_CLR, NULL, 0, 0);
    TST_CHECK(seg_mnist_normalize_ex(p, 0, c) == UTIL_OK, "thin bar normalizes");
    {
        int partial = 0;
        for (int i = 0; i < 784; i++)
            partial += c[i] > 0 && c[i] < 255;
        TST_CHECK(partial >= 40, "anti-aliased: %d gray pixels between 0 and 255", partial);
    }
    pixDestroy(&p);

    /* Stroke correction: a 2 x 60 line (ratio 0.033) is thickened to about
     * 6 x 60, 2 columns of the crop; without correction it is one column of
     * partial ink. */
    p = rect_pix(70, 70, 30, 5, 2, 60);
    {
        int cols = 0, cols0 = 0;
        TST_CHECK(seg_mnist_normalize(p, c) == UTIL_OK, "thin line normalizes");
        for (int x = 0; x < 28; x++)
            cols += c[14 * 28 + x] >= 128;
        TST_CHECK(seg_mnist_normalize_ex(p, 0, c) == UTIL_OK, "thin line normalizes as is");
        for (int x = 0; x < 28; x++)
            cols0 += c[14 * 28 + x] >= 128;
        TST_CHECK(cols == 2 && cols0 <= 1, "thin line: %d dark columns corrected, %d as is", cols,
                  cols0);
    }
    pixDestroy(&p);

    /* Stroke ratio: a 4-wide bar 40 long is about 0.1. */
    p = rect_pix(50, 50, 5, 5, 4, 40);
    TST_CHECK(seg_mnist_stroke_ratio(p, &ratio) == UTIL_OK && ratio > 0.085f && ratio < 0.11f,
              "stroke ratio of a 4 x 40 bar %.3f ~ 0.1", ratio);
    pixDestroy(&p);

    /* Empty glyph: zeros, fine. */
    p = pixCreate(30, 30, 1);
    memset(c, 7, sizeof c);
    TST_CHECK(seg_mnist_normalize(p, c) == UTIL_OK, "empty glyph is fine");
    {
        int nz = 0;
        for (int i = 0; i < 784; i++)
            nz += c[i] != 0;
        TST_CHECK(nz == 0, "empty glyph -> all zero (%d non-zero)", nz);
    }
    TST_CHECK(seg_mnist_stroke_ratio(p, &ratio) == UTIL_OK && ratio == 0.0f, "empty ratio 0");
    pixDestroy(&p);

    /* Refused: NULL, 8 bpp. */
    util_log_set_level(-1);
    TST_CHECK(seg_mnist_normalize(NULL, c) == UTIL_EINVAL, "NULL refused");
    p = pixCreate(20, 20, 8);
    TST_CHECK(seg_mnist_normalize(p, c) == UTIL_EINVAL, "8 bpp refused");
    TST_CHECK(strstr(util_last_error(), "1-bpp") != NULL, "message says why: %s",
              util_last_error());
    TST_CHECK(seg_mnist_stroke_ratio(p, &ratio) == UTIL_EINVAL, "8 bpp ratio refused");
    pixDestroy(&p);
    util_log_set_level(UTIL_LOG_WARN);
}

/* Agreement of the model on originals and on renormalized scans. */
static void test_mnist(void)
{
    const rec_engine_ops *ops = &rec_engine_cpu_ops;
    rec_engine_opts eo = {0, 0};
    rec_engine *eng = NULL;
    rec_model *m = NULL;
    rec_classifier *cls = NULL;
    trn_data *d = NULL;
    uint8_t *crops = NULL;
    float *p0 = NULL, *p1 = NULL;
    /* variants: scale, morphology, stroke correction */
    static const struct { float f; int morph, adjust; const char *what; double need; } v[] = {
        {3.5f, 0, 1, "x3.5", 0.99},
        {3.5f, -3, 0, "x3.5 thin, as is", 0.0}, {3.5f, -3, 1, "x3.5 thin, corrected", 0.985},
        {3.5f, 7, 0, "x3.5 thick, as is", 0.0}, {3.5f, 7, 1, "x3.5 thick, corrected", 0.98},
    };
    int n = N_DIGITS;

    if (!TST_CHECK(rec_model_load(&m, MODEL, REC_MODEL_KIND_MODEL) == UTIL_OK,
                   "the shipped model loads: %s", util_last_error()) ||
        !TST_CHECK(trn_data_load_csv(&d, TEST_SET, TRN_LABELS_REQUIRED) == UTIL_OK,
                   "the MNIST test set loads: %s", util_last_error()))
        goto done;
    if (d->n < n)
        n = d->n;
    crops = calloc((size_t)n, 784);
    p0 = malloc((size_t)n * 10 * sizeof *p0);
    p1 = malloc((size_t)n * 10 * sizeof *p1);
    TST_CHECK(ops->create(&eng, &eo) == UTIL_OK, "CPU engine");
    TST_CHECK(rec_classifier_create(&cls, m, ops, eng, 500) == UTIL_OK, "classifier");
    if (!cls || !crops || !p0 || !p1)
        goto done;
    TST_CHECK(rec_classifier_run(cls, p0, d->pixels, n) == UTIL_OK, "originals classified");
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        int agree = 0, bad = 0;
        double ratio_sum = 0.0;
        for (int i = 0; i < n; i++) {
            PIX *g = scan_digit(d->pixels + (size_t)i * 784, v[k].f, v[k].morph);
            float r = 0.0f;
            seg_mnist_stroke_ratio(g, &r);
            ratio_sum += r;
            bad += seg_mnist_normalize_ex(g, v[k].adjust, crops + (size_t)i * 784) != UTIL_OK;
            pixDestroy(&g);
        }
        TST_CHECK(bad == 0, "%s: every digit normalizes (%d failed)", v[k].what, bad);
        TST_CHECK(rec_classifier_run(cls, p1, crops, n) == UTIL_OK, "crops classified");
        for (int i = 0; i < n; i++)
            agree += argmax10(p0 + i * 10) == argmax10(p1 + i * 10);
        printf("seg_mnist %-22s mean stroke ratio %.3f, agreement with the originals %.2f %% "
               "(%d/%d)\n", v[k].what, ratio_sum / n, 100.0 * agree / n, agree, n);
        TST_CHECK(agree >= v[k].need * n, "%s: agreement %d/%d >= %.0f %%", v[k].what, agree, n,
                  100 * v[k].need);
    }
done:
    rec_classifier_destroy(&cls);
    if (eng)
        ops->destroy(&eng);
    rec_model_destroy(&m);
    trn_data_destroy(&d);
    free(crops);
    free(p0);
    free(p1);
}

int main(void)
{
    util_log_set_level(UTIL_LOG_WARN);
    test_shapes();
    test_mnist();
    return tst_done();
}
