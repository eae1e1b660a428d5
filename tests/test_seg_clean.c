/*
 * test_seg_clean.c - skew and binarization (segment/seg_clean.h) on
 * synthetic pages whose truth is known: text-like rows and form lines
 * rotated by known angles in [-10, 10] degrees, found within 0.1 degree from
 * the binary page and from the gray one, the sign convention checked, the
 * rotation undone; a blank page gives no skew with confidence 0.  Dark and
 * light (pencil-like) strokes 3-8 px wide over a security background
 * (gradient, uneven light, guilloche waves, crosshatch, a sinusoidal
 * modulation) with Gaussian noise and JPEG artefacts, binarized and
 * measured against the truth mask (ink recall, background pixels turned
 * ink, connected components); clean and blank pages stay clean, large
 * solid marks stay solid; bad arguments are refused.  A security pattern
 * as dark as pencil, which binarization keeps, removed by seg_unpattern
 * while pen and pencil strokes stay, and nothing removed where there is no
 * pattern or the scan is bilevel.  And the committed
 * sample scans (samples/scans, made by `docpipe samples`): every page read,
 * binarized and its skew found within 0.1 degree of pages.csv.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_clean.h"
#include "segment/seg_image.h"
#include "tests/tst.h"
#include "util/util.h"

/* ------------------------------------------------------------- synthetic pages */

typedef struct gen_opts {
    int w, h;
    int pattern;   /* security background: gradient, light, waves, hatch; 2: a dark one */
    double noise;  /* Gaussian sigma, gray levels */
    int light;     /* every other stroke light (pencil, 150..170); 2: every stroke, 120..140
                    * and 7-10 px wide (a soft pencil) */
    int jpeg;      /* JPEG round trip at this quality (0: none) */
    int text;      /* text-like rows and form lines */
    int strokes;   /* digit-like strokes */
    uint64_t seed;
    int frame;     /* a printed box this many px wide, 20 px in from the edges (0: none) */
} gen_opts;

static double gauss(util_rng *r)
{
    double u1 = (double)(util_rng_next(r) >> 11) * (1.0 / 9007199254740992.0) + 1e-12;
    double u2 = (double)(util_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2 * log(u1)) * cos(6.283185307 * u2);
}

/* The paper with its printed security pattern at (x, y): 235 at best,
 * down to 190. */
static double bg_val(const gen_opts *o, int x, int y)
{
    double v = 235, t, m;

    if (!o->pattern)
        return v;
    if (o->pattern == 2) { /* lines 2 px wide at 0.79 of the paper, as dark as pencil */
        v = 240 - 15.0 * (x + y) / (o->w + o->h);
        t = y + 9.0 * sin(x * 0.03);
        m = fmod(t, 16.0);
        if (m < 0)
            m += 16.0;
        if (m < 2.0 || (x + 2 * y) % 23 < 2)
            v = 190 - 15.0 * (x + y) / (o->w + o->h);
        return v;
    }
    v -= 20.0 * (x + y) / (o->w + o->h);                       /* gradient */
    v -= 10.0 * exp(-((x - o->w * 0.7) * (x - o->w * 0.7) + (y - o->h * 0.3) * (y - o->h * 0.3)) /
                    (2.0 * (o->w * 0.2) * (o->w * 0.2)));        /* uneven light */
    v -= 4.0 * (1 + sin(x * 0.21 + 0.7 * sin(y * 0.05)));      /* sinusoidal modulation */
    t = y + 6.0 * sin(x * 0.045) + 3.0 * sin(x * 0.11 + y * 0.01);
    m = fmod(t, 14.0);
    if (m < 0)
        m += 14.0;
    if (m < 1.5)
        v -= 22;                                               /* guilloche waves */
    if ((x + y) % 11 == 0 || (x - y + 110000) % 11 == 0)
        v -= 12;                                               /* crosshatch */
    return v < 190 ? 190 : v;
}

/* A digit-like stroke: a loop, an S curve or a 7-like polyline. */
static void draw_stroke(PIX *mask, util_rng *r, int cx, int cy, int size, int width)
{
    PTA *pta = ptaCreate(0);
    int kind = (int)util_rng_below(r, 3);
    double a0 = (double)util_rng_below(r, 628) / 100.0;

    if (kind == 0) {
        for (int k = 0; k <= 40; k++) {
            double a = a0 + k * 6.2831853 / 36.0;
            ptaAddPt(pta, (l_float32)(cx + size * 0.35 * cos(a)), (l_float32)(cy + size * 0.5 * sin(a)));
        }
    } else if (kind == 1) {
        for (int k = 0; k <= 40; k++) {
            double t = k / 40.0;
            ptaAddPt(pta, (l_float32)(cx + size * 0.3 * sin(t * 6.2831853 + a0)),
                     (l_float32)(cy - size * 0.5 + size * t));
        }
    } else {
        ptaAddPt(pta, (l_float32)(cx - size * 0.3), (l_float32)(cy - size * 0.5));
        ptaAddPt(pta, (l_float32)(cx + size * 0.3), (l_float32)(cy - size * 0.5));
        ptaAddPt(pta, (l_float32)(cx - size * 0.1), (l_float32)(cy + size * 0.5));
    }
    pixRenderPolyline(mask, pta, width, L_SET_PIXELS, 0);
    ptaDestroy(&pta);
}

/* A page (8 bpp, 300 dpi) and its ink truth (1 bpp). */
static PIX *gen_page(const gen_opts *o, PIX **pmask)
{
    util_rng r;
    PIX *mask = pixCreate(o->w, o->h, 1), *light = pixCreate(o->w, o->h, 1), *pix;

    util_rng_seed(&r, o->seed);
    if (o->text) {
        for (int y = o->h / 12; y < o->h - o->h / 12; y += 60) {
            int x = o->w / 16;
            while (x < o->w - o->w / 8) {
                int ww = 40 + (int)util_rng_below(&r, 160);
                for (int c = x; c < x + ww; c += 14)
                    pixRasterop(mask, c, y + (int)util_rng_below(&r, 3), 10,
                                18 + (int)util_rng_below(&r, 2) * 8, PIX_SET, NULL, 0, 0);
                x += ww + 30;
            }
        }
        pixRenderLine(mask, 60, o->h / 3, o->w - 60, o->h / 3, 3, L_SET_PIXELS);
        pixRenderLine(mask, 60, 2 * o->h / 3, o->w - 60, 2 * o->h / 3, 3, L_SET_PIXELS);
        pixRenderLine(mask, 60, o->h / 3, 60, 2 * o->h / 3, 3, L_SET_PIXELS);
    }
    for (int k = 0; k < o->strokes; k++) {
        int size = 40 + (int)util_rng_below(&r, 60);
        int cx = size + (int)util_rng_below(&r, (uint64_t)(o->w - 2 * size));
        int cy = size + (int)util_rng_below(&r, (uint64_t)(o->h - 2 * size));
        int width = o->light == 2 ? 7 + (int)util_rng_below(&r, 4) : 3 + (int)util_rng_below(&r, 6);
        PIX *dst = o->light == 2 || (o->light && (k & 1)) ? light : mask;
        draw_stroke(dst, &r, cx, cy, size, width);
        if (k % 4 == 0)
            pixRenderLine(dst, cx - size, cy + size / 2, cx + size, cy + size / 2 - 7, width, L_SET_PIXELS);
    }
    if (o->frame) {
        PIX *in = pixCreate(o->w, o->h, 1);
        pixRasterop(in, 20, 20, o->w - 40, o->h - 40, PIX_SET, NULL, 0, 0);
        pixRasterop(in, 20 + o->frame, 20 + o->frame, o->w - 40 - 2 * o->frame,
                    o->h - 40 - 2 * o->frame, PIX_CLR, NULL, 0, 0);
        pixOr(mask, mask, in);
        pixDestroy(&in);
    }
    pix = pixCreate(o->w, o->h, 8);
    for (int y = 0; y < o->h; y++) {
        l_uint32 *ml = pixGetData(mask) + y * pixGetWpl(mask);
        l_uint32 *ll = pixGetData(light) + y * pixGetWpl(light);
        l_uint32 *pl = pixGetData(pix) + y * pixGetWpl(pix);
        for (int x = 0; x < o->w; x++) {
            double v;
            if (GET_DATA_BIT(ml, x))
                v = 40 + (x * 7 + y * 3) % 40;      /* dark ink 40..79 */
            else if (GET_DATA_BIT(ll, x))
                v = (o->light == 2 ? 120 : 150) + ((x + y) / 9) % 21; /* pencil */
            else
                v = bg_val(o, x, y);
            if (o->noise > 0)
                v += o->noise * gauss(&r);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            SET_DATA_BYTE(pl, x, (int)(v + 0.5));
        }
    }
    pixOr(mask, mask, light);
    pixDestroy(&light);
    if (o->jpeg) {
        l_uint8 *data = NULL;
        size_t len = 0;
        pixWriteMemJpeg(&data, &len, pix, o->jpeg, 0);
        pixDestroy(&pix);
        pix = pixReadMemJpeg(data, len, 0, 1, NULL, 0);
        free(data);
    }
    pixSetResolution(pix, 300, 300);
    *pmask = mask;
    return pix;
}

/* Ink recall, background turned ink (fraction of background pixels), and
 * the 8-connected components of bin. */
typedef struct quality { double recall, fp, fp_away; int ncc; } quality;

static quality measure(PIX *bin, PIX *mask)
{
    quality q;
    l_int32 ink, tp, all, ncc = -1;
    PIX *t = pixAnd(NULL, bin, mask);
    double bgc;

    pixCountPixels(mask, &ink, NULL);
    pixCountPixels(t, &tp, NULL);
    pixCountPixels(bin, &all, NULL);
    pixCountConnComp(bin, 8, &ncc);
    bgc = (double)pixGetWidth(mask) * pixGetHeight(mask) - ink;
    q.recall = ink ? (double)tp / ink : 1.0;
    q.fp = (all - tp) / bgc;
    q.ncc = ncc;
    pixDestroy(&t);
    {   /* background farther than 4 px from the ink, turned ink */
        PIX *near = pixDilateBrick(NULL, mask, 9, 9), *away = pixSubtract(NULL, bin, near);
        l_int32 nn = 0, na = 0;
        pixCountPixels(near, &nn, NULL);
        pixCountPixels(away, &na, NULL);
        q.fp_away = (double)na / ((double)pixGetWidth(mask) * pixGetHeight(mask) - nn);
        pixDestroy(&near);
        pixDestroy(&away);
    }
    return q;
}

static int count_cc(PIX *bin)
{
    l_int32 n = -1;
    pixCountConnComp(bin, 8, &n);
    return n;
}

/* ------------------------------------------------------------- binarization */

static void check_bin(const char *what, const gen_opts *o, double min_recall, double max_fp, int cc_slack)
{
    PIX *mask = NULL, *pix = gen_page(o, &mask), *bin = NULL;
    int rc = seg_binarize(pix, 300, &bin);

    TST_CHECK(rc == UTIL_OK && bin, "%s: rc %d (%s)", what, rc, util_last_error());
    if (bin) {
        quality q = measure(bin, mask);
        int truth = count_cc(mask);
        TST_CHECK(pixGetDepth(bin) == 1 && pixGetWidth(bin) == o->w && pixGetHeight(bin) == o->h &&
                  pixGetXRes(bin) == 300, "%s: output %d x %d x %d", what, pixGetWidth(bin),
                  pixGetHeight(bin), pixGetDepth(bin));
        TST_CHECK(q.recall >= min_recall, "%s: ink recall %.4f < %.4f", what, q.recall, min_recall);
        TST_CHECK(q.fp <= max_fp, "%s: background turned ink %.5f > %.5f", what, q.fp, max_fp);
        TST_CHECK(abs(q.ncc - truth) <= cc_slack, "%s: %d components, truth %d", what, q.ncc, truth);
        if (getenv("TST_VERBOSE"))
            printf("%s: recall %.4f fp %.5f cc %d (truth %d)\n", what, q.recall, q.fp, q.ncc, truth);
    }
    pixDestroy(&bin);
    pixDestroy(&pix);
    pixDestroy(&mask);
}

static void test_binarize_quality(void)
{
    /* A check-sized piece (6 x 2.6 in at 300 dpi). */
    gen_opts o = { 1800, 780, 1, 6.0, 1, 75, 0, 40, 11, 0 };

    check_bin("security background, noise 6, JPEG 75", &o, 0.98, 0.002, 1);
    o.jpeg = 0;
    o.noise = 10;
    o.seed = 12;
    check_bin("security background, noise 10", &o, 0.98, 0.002, 1);
    o.noise = 3;
    o.seed = 13;
    check_bin("security background, noise 3", &o, 0.99, 0.001, 0);
    o.pattern = 0;
    o.noise = 4;
    o.seed = 14;
    check_bin("clean paper, noise 4", &o, 0.999, 0.0001, 0);
    /* Pencil only (150..170 on paper 235), with JPEG. */
    o.pattern = 0;
    o.light = 1;
    o.noise = 5;
    o.jpeg = 85;
    o.seed = 15;
    check_bin("pencil on clean paper", &o, 0.98, 0.001, 0);
}

static void test_binarize_clean(void)
{
    gen_opts o = { 1200, 900, 1, 8.0, 0, 70, 0, 0, 21, 0 };
    PIX *mask = NULL, *pix, *bin = NULL, *solid;
    l_int32 n = -1, inside = 0;

    /* A blank security background: nothing comes out. */
    pix = gen_page(&o, &mask);
    TST_CHECK(seg_binarize(pix, 300, &bin) == UTIL_OK && bin, "blank background binarized");
    if (bin) {
        pixCountPixels(bin, &n, NULL);
        TST_CHECK(n <= 20 && count_cc(bin) <= 2, "blank security background: %d ink pixels, %d components",
                  n, count_cc(bin));
    }
    pixDestroy(&bin);

    /* Plain paper with a strong gradient and noise: nothing. */
    pixDestroy(&pix);
    pixDestroy(&mask);
    o.pattern = 0;
    o.jpeg = 0;
    pix = gen_page(&o, &mask);
    for (int y = 0; y < 900; y++)
        for (int x = 0; x < 1200; x++) {
            l_uint32 v;
            pixGetPixel(pix, x, y, &v);
            pixSetPixel(pix, x, y, (l_uint32)((int)v - (x * 90) / 1200)); /* 235 .. 145 */
        }
    TST_CHECK(seg_binarize(pix, 300, &bin) == UTIL_OK && bin, "gradient page binarized");
    if (bin) {
        pixCountPixels(bin, &n, NULL);
        TST_CHECK(n == 0, "blank paper with a gradient: %d ink pixels", n);
    }
    pixDestroy(&bin);

    /* Solid marks larger than the background closing stay solid: a
     * 120 x 120 black square and a 300 x 40 bar. */
    pixRasterop(pix, 200, 200, 120, 120, PIX_CLR, NULL, 0, 0);
    pixRasterop(pix, 600, 600, 300, 40, PIX_SET, NULL, 0, 0);
    pixRasterop(pix, 600, 600, 300, 40, PIX_CLR, NULL, 0, 0);
    TST_CHECK(seg_binarize(pix, 300, &bin) == UTIL_OK && bin, "marks binarized");
    if (bin) {
        BOX *sq = boxCreate(200, 200, 120, 120);
        solid = pixClipRectangle(bin, sq, NULL);
        boxDestroy(&sq);
        pixCountPixels(solid, &inside, NULL);
        TST_CHECK(inside == 120 * 120, "solid square: %d of %d pixels ink", inside, 120 * 120);
        pixDestroy(&solid);
        pixCountPixels(bin, &n, NULL);
        /* (Hysteresis may grow a mark by a noisy pixel or two.) */
        TST_CHECK(n >= 120 * 120 + 300 * 40 && n <= 120 * 120 + 300 * 40 + 40,
                  "solid marks: %d ink pixels, want %d", n, 120 * 120 + 300 * 40);
        TST_CHECK(count_cc(bin) == 2, "solid marks: %d components", count_cc(bin));
    }
    pixDestroy(&bin);
    pixDestroy(&pix);
    pixDestroy(&mask);
}

static void test_binarize_sizes(void)
{
    PIX *pix, *bin = NULL, *big;
    l_int32 n = -1;
    int rc;

    /* Tiny pages: 1 x 1 paper, 5 x 3 with one dark pixel. */
    pix = pixCreate(1, 1, 8);
    pixSetAllArbitrary(pix, 230);
    rc = seg_binarize(pix, 300, &bin);
    TST_CHECK(rc == UTIL_OK && bin && pixGetWidth(bin) == 1, "1 x 1: rc %d", rc);
    pixDestroy(&bin);
    pixDestroy(&pix);
    pix = pixCreate(5, 3, 8);
    pixSetAllArbitrary(pix, 230);
    pixSetPixel(pix, 2, 1, 20);
    rc = seg_binarize(pix, 300, &bin);
    if (bin)
        pixCountPixels(bin, &n, NULL);
    TST_CHECK(rc == UTIL_OK && n == 1, "5 x 3 with one dark pixel: rc %d, %d ink", rc, n);
    pixDestroy(&bin);
    pixDestroy(&pix);

    /* Widths around a word boundary (31..33, 63..65): the last bits of a
     * row and the byte tail. */
    for (int w = 31; w <= 65; w += (w == 33 ? 30 : 1)) {
        pix = pixCreate(w, 40, 8);
        pixSetAllArbitrary(pix, 225);
        for (int y = 10; y < 30; y++)
            pixSetPixel(pix, w - 1, y, 30); /* last column */
        rc = seg_binarize(pix, 300, &bin);
        n = -1;
        if (bin)
            pixCountPixels(bin, &n, NULL);
        TST_CHECK(rc == UTIL_OK && n == 20, "width %d: last column ink %d of 20", w, n);
        pixDestroy(&bin);
        pixDestroy(&pix);
    }

    /* The same page at 150 and 600 dpi (scaled), strokes scaled with it. */
    {
        gen_opts o = { 900, 390, 1, 5.0, 1, 0, 0, 12, 31, 0 };
        PIX *mask = NULL, *m2, *p2;
        pix = gen_page(&o, &mask);
        p2 = pixScaleAreaMap2(pix);
        m2 = pixScaleBySampling(mask, 0.5f, 0.5f);
        rc = seg_binarize(p2, 150, &bin);
        if (bin) {
            quality q = measure(bin, m2);
            /* Stroke edges are half-tone pixels here: the truth is blurred. */
            TST_CHECK(q.recall >= 0.93 && q.fp <= 0.006 && abs(q.ncc - count_cc(m2)) <= 1,
                      "150 dpi: recall %.4f fp %.5f cc %d (truth %d)", q.recall, q.fp, q.ncc, count_cc(m2));
        }
        TST_CHECK(rc == UTIL_OK, "150 dpi rc %d", rc);
        pixDestroy(&bin);
        pixDestroy(&p2);
        pixDestroy(&m2);
        big = pixScale(pix, 2.0f, 2.0f);
        m2 = pixExpandReplicate(mask, 2);
        rc = seg_binarize(big, 600, &bin);
        if (bin) {
            quality q = measure(bin, m2);
            TST_CHECK(q.recall >= 0.97 && q.fp <= 0.003 && q.ncc <= count_cc(m2) + 1,
                      "600 dpi: recall %.4f fp %.5f cc %d", q.recall, q.fp, q.ncc);
        }
        TST_CHECK(rc == UTIL_OK, "600 dpi rc %d", rc);
        pixDestroy(&bin);
        pixDestroy(&big);
        pixDestroy(&m2);
        pixDestroy(&pix);
        pixDestroy(&mask);
    }
}

static void test_binarize_args(void)
{
    PIX *p8 = pixCreate(50, 40, 8), *p32 = pixCreate(50, 40, 32), *bin = (PIX *)1;
    seg_bin_params p = seg_bin_params_default();

    TST_CHECK(seg_binarize(p32, 300, &bin) == UTIL_EINVAL && bin == NULL, "32 bpp refused");
    bin = (PIX *)1;
    TST_CHECK(seg_binarize(NULL, 300, &bin) == UTIL_EINVAL && bin == NULL, "NULL refused");
    TST_CHECK(seg_binarize(p8, 0, &bin) == UTIL_EINVAL && bin == NULL, "0 dpi refused");
    TST_CHECK(seg_binarize(p8, 5000, &bin) == UTIL_EINVAL, "5000 dpi refused");
    p.strong = 0.9;
    p.weak = 0.8;
    TST_CHECK(seg_binarize_with(p8, 300, &p, &bin) == UTIL_EINVAL, "strong > weak refused");
    p = seg_bin_params_default();
    p.close_in = NAN;
    TST_CHECK(seg_binarize_with(p8, 300, &p, &bin) == UTIL_EINVAL, "NaN closing refused");
    p = seg_bin_params_default();
    TST_CHECK(seg_binarize_with(p8, 300, &p, &bin) == UTIL_OK && bin, "explicit defaults work");
    pixDestroy(&bin);
    TST_CHECK(seg_binarize_with(p8, 300, NULL, &bin) == UTIL_OK && bin, "NULL params: defaults");
    pixDestroy(&bin);
    pixDestroy(&p8);
    pixDestroy(&p32);
}

/* ------------------------------------------------------------- patterns */

/* seg_unpattern over the whole of a page made by gen_page: the pixels it
 * removed, the quality before and after. */
static int unpattern_page(const gen_opts *o, quality *pbefore, quality *pafter)
{
    PIX *mask = NULL, *pix = gen_page(o, &mask), *bin = NULL;
    BOX *all = boxCreate(0, 0, o->w, o->h);
    int removed = -1, rc;

    rc = seg_binarize(pix, 300, &bin);
    if (rc == UTIL_OK && bin) {
        *pbefore = measure(bin, mask);
        rc = seg_unpattern(bin, pix, all, 300, &removed);
        *pafter = measure(bin, mask);
    }
    TST_CHECK(rc == UTIL_OK, "seg_unpattern: rc %d (%s)", rc, util_last_error());
    boxDestroy(&all);
    pixDestroy(&bin);
    pixDestroy(&pix);
    pixDestroy(&mask);
    return removed;
}

static void test_unpattern(void)
{
    /* A check's field (1.5 x 0.6 in) under a pattern binarization keeps. */
    gen_opts o = { 450, 180, 2, 4.0, 0, 0, 0, 6, 31, 0 };
    quality before = {0}, after = {0};
    int removed;

    for (int seed = 31; seed < 35; seed++) {
        o.seed = (uint64_t)seed;
        o.jpeg = seed & 1 ? 80 : 0;
        removed = unpattern_page(&o, &before, &after);
        /* The precondition, or the test would prove nothing. */
        TST_CHECK(before.fp > 0.02, "seed %d: binarization dropped the dark pattern itself "
                  "(%.4f of the background kept)", seed, before.fp);
        TST_CHECK(removed > 0 && after.fp_away < 0.002, "seed %d: pattern left: %.4f of the "
                  "background away from the ink (%d removed)", seed, after.fp_away, removed);
        TST_CHECK(after.recall >= before.recall - 0.005 && after.recall >= 0.97,
                  "seed %d: ink recall %.4f -> %.4f", seed, before.recall, after.recall);
        if (getenv("TST_VERBOSE"))
            printf("unpattern seed %d: fp %.4f -> %.4f (away %.4f -> %.4f), recall %.4f -> %.4f, "
                   "%d removed\n", seed, before.fp, after.fp, before.fp_away, after.fp_away,
                   before.recall, after.recall, removed);
    }

    /* Every other stroke pencil (150..170) over the pattern: pencil as
     * wide as a pen stroke stays; a 3 px (0.25 mm) diagonal pencil stroke is
     * as thin as a pattern line and goes with it (4 % of this page's ink,
     * the limit seg_unpattern documents). */
    o.light = 1;
    o.seed = 41;
    removed = unpattern_page(&o, &before, &after);
    TST_CHECK(removed > 0 && after.fp_away < 0.002, "pencil over the pattern: pattern left %.4f",
              after.fp_away);
    TST_CHECK(after.recall >= before.recall - 0.05 && after.recall >= 0.95,
              "pencil over the pattern: ink recall %.4f -> %.4f", before.recall, after.recall);

    /* A soft pencil alone (120..140, 7-10 px) over the pattern inside a
     * printed box 12 px wide (a field 1.5 x 0.8 in): the box's dark lines
     * are what the first split of the gray levels sets apart from all the
     * rest (pencil and pattern together, not thin enough to be a pattern);
     * the lighter side split again finds the pattern.  (Before it was, on
     * pages 43-62 nothing was removed.) */
    o.light = 2;
    o.frame = 12;
    o.strokes = 14;
    o.h = 240;
    for (int seed = 43; seed < 47; seed++) {
        o.seed = (uint64_t)seed;
        removed = unpattern_page(&o, &before, &after);
        TST_CHECK(before.fp > 0.02, "seed %d: binarization dropped the dark pattern itself "
                  "(%.4f of the background kept)", seed, before.fp);
        TST_CHECK(removed > 0 && after.fp_away < 0.002,
                  "pencil alone over the pattern in a printed box, seed %d: pattern left %.4f "
                  "(%d removed)", seed, after.fp_away, removed);
        TST_CHECK(after.recall >= before.recall - 0.05 && after.recall >= 0.95,
                  "pencil alone over the pattern in a printed box, seed %d: ink recall %.4f -> "
                  "%.4f", seed, before.recall, after.recall);
    }
    o.light = 1;
    o.frame = 0;
    o.strokes = 6;
    o.h = 180;

    /* Pen and pencil on plain paper, dark form lines: nothing is a pattern. */
    o.pattern = 0;
    o.text = 1;
    o.w = 900;
    o.h = 400;
    o.seed = 42;
    removed = unpattern_page(&o, &before, &after);
    TST_CHECK(removed == 0 && after.recall == before.recall,
              "pencil on plain paper: %d pixels removed, recall %.4f -> %.4f", removed,
              before.recall, after.recall);

    /* A bilevel scan: one gray value under the ink, nothing to tell apart. */
    {
        PIX *mask = NULL, *pix, *bin = NULL, *g = NULL;
        BOX *all = boxCreate(0, 0, 900, 400);
        l_int32 n0 = 0, n1 = 0;
        o.pattern = 2;
        o.text = 0;
        pix = gen_page(&o, &mask);
        seg_binarize(pix, 300, &bin);
        g = bin ? pixConvert1To8(NULL, bin, 255, 0) : NULL;
        TST_CHECK(bin && g, "bilevel page made");
        if (bin && g) {
            pixCountPixels(bin, &n0, NULL);
            TST_CHECK(seg_unpattern(bin, g, all, 300, &removed) == UTIL_OK && removed == 0,
                      "bilevel page: %d pixels removed", removed);
            pixCountPixels(bin, &n1, NULL);
            TST_CHECK(n0 == n1, "bilevel page: %d -> %d ink pixels", n0, n1);
            /* Bad arguments: a gray page of another size, a 1 bpp "gray". */
            PIX *small = pixCreate(10, 10, 8);
            TST_CHECK(seg_unpattern(bin, small, all, 300, &removed) == UTIL_EINVAL,
                      "a gray page of another size refused");
            TST_CHECK(seg_unpattern(bin, bin, all, 300, &removed) == UTIL_EINVAL,
                      "a 1 bpp gray page refused");
            pixDestroy(&small);
        }
        boxDestroy(&all);
        pixDestroy(&g);
        pixDestroy(&bin);
        pixDestroy(&pix);
        pixDestroy(&mask);
    }
}

/* ------------------------------------------------------------- skew */

/* The page rotated counter-clockwise by deg as the reader sees it. */
static PIX *skewed(PIX *page, double deg)
{
    PIX *r = pixRotate(page, (l_float32)(-deg * M_PI / 180.0), L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
    pixSetResolution(r, 300, 300);
    return r;
}

static void test_skew(void)
{
    static const double angles[] = { 0.0, 0.4, -0.9, 1.7, -2.6, 3.3, -4.2, 5.5, -7.3, 8.8, -10.0, 10.0 };
    gen_opts o = { 1700, 2200, 1, 6.0, 1, 0, 1, 12, 41, 0 };
    PIX *mask = NULL, *page = gen_page(&o, &mask), *ref = NULL;
    double worst1 = 0, worst8 = 0;

    seg_binarize(page, 300, &ref);
    for (size_t k = 0; k < sizeof angles / sizeof angles[0]; k++) {
        double a = angles[k], f1 = 99, c1 = -1, f8 = 99, c8 = -1;
        PIX *rot = skewed(page, a), *bin = NULL, *back = NULL;
        int rc = seg_binarize(rot, 300, &bin);

        if (rc == UTIL_OK)
            rc = seg_find_skew(bin, SEG_SKEW_MAX_DEG, &f1, &c1);
        TST_CHECK(rc == UTIL_OK && fabs(f1 - a) <= 0.1 && c1 >= SEG_SKEW_MIN_CONF,
                  "skew %.2f from the binary page: found %.3f (conf %.1f)", a, f1, c1);
        rc = seg_find_skew(rot, SEG_SKEW_MAX_DEG, &f8, &c8);
        TST_CHECK(rc == UTIL_OK && fabs(f8 - a) <= 0.1 && c8 >= SEG_SKEW_MIN_CONF,
                  "skew %.2f from the gray page: found %.3f (conf %.1f)", a, f8, c8);
        worst1 = fmax(worst1, fabs(f1 - a));
        worst8 = fmax(worst8, fabs(f8 - a));

        /* Undoing it: the binary page rotated back matches the unrotated
         * page's binarization (inside a margin the corners cannot reach). */
        if (bin && seg_rotate(bin, f1, 0, &back) == UTIL_OK) {
            BOX *inner = boxCreate(400, 400, 900, 1400);
            PIX *x1 = pixClipRectangle(back, inner, NULL), *x2 = pixClipRectangle(ref, inner, NULL);
            l_int32 diff = 0, ink = 0;
            pixXor(x1, x1, x2);
            pixCountPixels(x1, &diff, NULL);
            pixCountPixels(x2, &ink, NULL);
            TST_CHECK(ink > 1000 && diff < ink / 5, "skew %.2f undone: %d pixels differ of %d ink", a, diff, ink);
            pixDestroy(&x1);
            pixDestroy(&x2);
            boxDestroy(&inner);
        }
        pixDestroy(&back);
        pixDestroy(&bin);
        pixDestroy(&rot);
    }
    if (getenv("TST_VERBOSE"))
        printf("worst skew error: binary %.3f, gray %.3f degrees\n", worst1, worst8);

    /* seg_deskew on the gray page. */
    {
        PIX *rot = skewed(page, 4.0), *dst = NULL;
        double a = 0, c = 0;
        int rc = seg_deskew(rot, 10.0, &dst, &a, &c);
        TST_CHECK(rc == UTIL_OK && dst && dst != rot && fabs(a - 4.0) <= 0.1 && pixGetDepth(dst) == 8 &&
                  pixGetWidth(dst) == 1700 && pixGetHeight(dst) == 2200,
                  "seg_deskew: rc %d, angle %.3f", rc, a);
        if (dst) {
            double a2 = 99, c2 = 0;
            seg_find_skew(dst, 10.0, &a2, &c2);
            TST_CHECK(fabs(a2) <= 0.1, "deskewed page has skew %.3f", a2);
        }
        pixDestroy(&dst);
        pixDestroy(&rot);
    }

    /* Beyond the range searched: not a wrong angle near the edge. */
    {
        PIX *rot = skewed(page, 16.0);
        double a = 99, c = -1;
        int rc = seg_find_skew(rot, 10.0, &a, &c);
        TST_CHECK(rc == UTIL_OK && a == 0.0, "16 degrees, range 10: angle %.3f (conf %.1f)", a, c);
        rc = seg_find_skew(rot, 20.0, &a, &c);
        TST_CHECK(rc == UTIL_OK && fabs(a - 16.0) <= 0.15, "16 degrees, range 20: angle %.3f", a);
        pixDestroy(&rot);
    }
    pixDestroy(&ref);
    pixDestroy(&page);
    pixDestroy(&mask);
}

static void test_skew_blank(void)
{
    PIX *blank8 = pixCreate(1000, 1300, 8), *blank1 = pixCreate(1000, 1300, 1), *specks, *dst = NULL;
    gen_opts o = { 1000, 1300, 1, 6.0, 0, 0, 0, 0, 51, 0 };
    PIX *mask = NULL, *bgpage = gen_page(&o, &mask);
    double a = 99, c = 99;
    util_rng r;

    pixSetAllArbitrary(blank8, 235);
    TST_CHECK(seg_find_skew(blank8, 10, &a, &c) == UTIL_OK && a == 0 && c == 0,
              "blank gray page: angle %g conf %g", a, c);
    a = c = 99;
    TST_CHECK(seg_find_skew(blank1, 10, &a, &c) == UTIL_OK && a == 0 && c == 0,
              "blank binary page: angle %g conf %g", a, c);
    a = c = 99;
    TST_CHECK(seg_find_skew(bgpage, 10, &a, &c) == UTIL_OK && a == 0 && c == 0,
              "security background only: angle %g conf %g", a, c);
    /* Random specks: nothing aligned, so no confident angle. */
    specks = pixCreate(1000, 1300, 1);
    util_rng_seed(&r, 52);
    for (int k = 0; k < 300; k++)
        pixRasterop(specks, (int)util_rng_below(&r, 990), (int)util_rng_below(&r, 1290), 4, 4, PIX_SET, NULL, 0, 0);
    a = 99;
    TST_CHECK(seg_find_skew(specks, 10, &a, &c) == UTIL_OK && (a == 0 || c >= SEG_SKEW_MIN_CONF),
              "random specks: angle %g conf %g", a, c);
    TST_CHECK(seg_deskew(blank8, 10, &dst, &a, &c) == UTIL_OK && dst && dst != blank8 && a == 0 && c == 0,
              "seg_deskew of a blank page: a copy, angle 0");
    pixDestroy(&dst);
    {
        PIX *tiny = pixCreate(10, 10, 8);
        pixSetAllArbitrary(tiny, 100);
        a = c = 99;
        TST_CHECK(seg_find_skew(tiny, 10, &a, &c) == UTIL_OK && a == 0 && c == 0, "10 x 10 page: no skew");
        pixDestroy(&tiny);
    }
    pixDestroy(&specks);
    pixDestroy(&bgpage);
    pixDestroy(&mask);
    pixDestroy(&blank8);
    pixDestroy(&blank1);
}

static void test_rotate(void)
{
    /* Sign: a horizontal bar through the centre, undone by +5 degrees
     * (clockwise), ends with its right end lower than its left. */
    PIX *p = pixCreate(400, 400, 1), *g, *out = NULL, *p32;
    l_uint32 v;
    double a, c;

    pixRasterop(p, 50, 195, 300, 10, PIX_SET, NULL, 0, 0);
    TST_CHECK(seg_rotate(p, 5.0, 0, &out) == UTIL_OK && out, "rotate 1 bpp");
    if (out) {
        /* Clockwise on screen (y down): the right end moves down. */
        pixGetPixel(out, 340, 200 + 12, &v);
        TST_CHECK(v == 1, "right end moved down");
        pixGetPixel(out, 60, 200 - 12, &v);
        TST_CHECK(v == 1, "left end moved up");
    }
    pixDestroy(&out);
    g = pixConvert1To8(NULL, p, 255, 0);
    for (int fast = 0; fast < 2; fast++) {
        TST_CHECK(seg_rotate(g, 5.0, fast, &out) == UTIL_OK && out && pixGetDepth(out) == 8 &&
                  pixGetWidth(out) == 400 && pixGetHeight(out) == 400, "rotate 8 bpp fast=%d", fast);
        if (out) {
            pixGetPixel(out, 340, 212, &v);
            TST_CHECK(v < 128, "8 bpp fast=%d: right end moved down (%u)", fast, v);
            pixGetPixel(out, 5, 5, &v);
            TST_CHECK(v == 255, "8 bpp fast=%d: white brought in (%u)", fast, v);
        }
        pixDestroy(&out);
    }
    /* seg_skew_map follows a blob through seg_rotate, both ways, at
     * angles each rotation method handles (2 and 3 shears, area map). */
    {
        static const double angs[] = { 2.0, -7.0, 12.0 };
        for (size_t k = 0; k < 3; k++) {
            PIX *dot = pixCreate(401, 301, 1), *rd = NULL, *g8, *r8 = NULL;
            l_float32 cx = 0, cy = 0;
            double mx, my, bx, by;
            pixRasterop(dot, 318, 58, 5, 5, PIX_SET, NULL, 0, 0); /* centre (320, 60) */
            seg_skew_map(angs[k], 401, 301, 320, 60, &mx, &my);
            TST_CHECK(seg_rotate(dot, angs[k], 0, &rd) == UTIL_OK && rd, "rotate dot");
            if (rd) {
                pixCentroid(rd, NULL, NULL, &cx, &cy);
                TST_CHECK(fabs(cx - mx) <= 1.0 && fabs(cy - my) <= 1.0, "%.0f deg: dot at (%.1f, %.1f), "
                          "map says (%.1f, %.1f)", angs[k], cx, cy, mx, my);
            }
            seg_skew_map(-angs[k], 401, 301, mx, my, &bx, &by);
            TST_CHECK(fabs(bx - 320) < 1e-9 && fabs(by - 60) < 1e-9, "map back: (%.3f, %.3f)", bx, by);
            g8 = pixConvert1To8(NULL, dot, 255, 0);
            TST_CHECK(seg_rotate(g8, angs[k], 0, &r8) == UTIL_OK && r8, "rotate gray dot");
            if (r8) {
                PIX *b = pixThresholdToBinary(r8, 128);
                pixCentroid(b, NULL, NULL, &cx, &cy);
                TST_CHECK(fabs(cx - mx) <= 1.0 && fabs(cy - my) <= 1.0, "%.0f deg gray: dot at (%.1f, %.1f), "
                          "map says (%.1f, %.1f)", angs[k], cx, cy, mx, my);
                pixDestroy(&b);
            }
            pixDestroy(&r8);
            pixDestroy(&g8);
            pixDestroy(&rd);
            pixDestroy(&dot);
        }
    }

    /* Tiny angles give a copy, never the same PIX. */
    {
        l_int32 same = 0;
        TST_CHECK(seg_rotate(g, 0.01, 0, &out) == UTIL_OK && out && out != g && pixEqual(out, g, &same) == 0 &&
                  same, "tiny angle: a copy");
    }
    pixDestroy(&out);
    out = (PIX *)1;
    TST_CHECK(seg_rotate(g, 60.0, 0, &out) == UTIL_EINVAL && out == NULL, "60 degrees refused");
    TST_CHECK(seg_rotate(g, NAN, 0, &out) == UTIL_EINVAL, "NaN refused");
    TST_CHECK(seg_rotate(NULL, 1.0, 0, &out) == UTIL_EINVAL, "NULL refused");
    p32 = pixCreate(10, 10, 32);
    a = c = 1;
    TST_CHECK(seg_find_skew(p32, 10, &a, &c) == UTIL_EINVAL && a == 0 && c == 0, "32 bpp skew refused");
    TST_CHECK(seg_find_skew(p, 0.1, &a, &c) == UTIL_EINVAL, "range 0.1 refused");
    TST_CHECK(seg_find_skew(p, 60, &a, &c) == UTIL_EINVAL, "range 60 refused");
    TST_CHECK(seg_deskew(p, 10, &out, &a, &c) == UTIL_EINVAL && out == NULL, "deskew of 1 bpp refused");
    pixDestroy(&p32);
    pixDestroy(&g);
    pixDestroy(&p);
}

/* samples/scans/pages.csv gives each page's skew, positive clockwise
 * (Leptonica's sense): ours is its opposite. */
static void test_sample_scans(void)
{
    FILE *fp = fopen("samples/scans/pages.csv", "r");
    char line[512];
    int n = 0;
    double worst = 0;

    if (!fp) {
        tst_skip("samples/scans/pages.csv not found (run from the repository root)");
        return;
    }
    if (!fgets(line, sizeof line, fp))
        line[0] = 0;
    TST_CHECK(strncmp(line, "file,page,form,dpi,skew_deg,", 28) == 0, "pages.csv header: %s", line);
    while (fgets(line, sizeof line, fp)) {
        char file[128], form[32], path[256];
        int page = 0, dpi = 0, got_dpi = 0, assumed = 1, rc;
        double skew = 0, a = 99, c = 0;
        seg_doc *doc = NULL;
        PIX *pix = NULL, *bin = NULL;

        if (sscanf(line, "%127[^,],%d,%31[^,],%d,%lf", file, &page, form, &dpi, &skew) != 5) {
            TST_CHECK(0, "pages.csv line: %s", line);
            continue;
        }
        snprintf(path, sizeof path, "samples/scans/%s", file);
        rc = seg_doc_open(&doc, path);
        if (rc == UTIL_OK)
            rc = seg_doc_read_page(doc, page - 1, &pix, &got_dpi, &assumed);
        TST_CHECK(rc == UTIL_OK && got_dpi == dpi && !assumed, "%s page %d: rc %d, %d dpi (%s)", file, page,
                  rc, got_dpi, util_last_error());
        if (rc == UTIL_OK)
            rc = seg_binarize(pix, got_dpi, &bin);
        if (rc == UTIL_OK)
            rc = seg_find_skew(bin, SEG_SKEW_MAX_DEG, &a, &c);
        TST_CHECK(rc == UTIL_OK && fabs(a + skew) <= 0.1 && c >= SEG_SKEW_MIN_CONF,
                  "%s page %d: skew %.2f, found %.3f (conf %.1f)", file, page, -skew, a, c);
        if (rc == UTIL_OK) {
            worst = fmax(worst, fabs(a + skew));
            n++;
        }
        pixDestroy(&bin);
        pixDestroy(&pix);
        seg_doc_destroy(&doc);
    }
    fclose(fp);
    TST_CHECK(n >= 5, "%d sample pages measured", n);
    if (getenv("TST_VERBOSE"))
        printf("sample scans: %d pages, worst skew error %.3f degrees\n", n, worst);
}

int main(void)
{
    util_log_set_level(-1);
    setMsgSeverity(L_SEVERITY_NONE);
    test_binarize_quality();
    test_binarize_clean();
    test_binarize_sizes();
    test_binarize_args();
    test_unpattern();
    test_skew();
    test_skew_blank();
    test_rotate();
    test_sample_scans();
    return tst_done();
}
