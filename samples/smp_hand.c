/*
 * smp_hand.c - the digit bank, writer styles, rendering one MNIST digit as
 * handwriting at page resolution, and blending ink into a page.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp_hand.h"

double smp_rand(util_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * (double)(util_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

int smp_bank_load(smp_bank **pbank, const char *path)
{
    smp_bank *b = NULL;
    int rc;

    *pbank = NULL;
    b = calloc(1, sizeof *b);
    if (!b) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", path);
        return UTIL_ENOMEM;
    }
    if ((rc = trn_data_load_csv(&b->data, path, TRN_LABELS_REQUIRED)))
        goto cleanup;
    for (int i = 0; i < b->data->n; i++)
        b->count[b->data->labels[i]]++;
    for (int d = 0; d < 10; d++) {
        if (b->count[d] == 0) {
            util_log(UTIL_LOG_ERROR, "%s: has no digit %d; every label 0..9 is needed", path, d);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        b->by_label[d] = malloc((size_t)b->count[d] * sizeof(int));
        if (!b->by_label[d]) {
            util_log(UTIL_LOG_ERROR, "%s: out of memory", path);
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        b->count[d] = 0;
    }
    for (int i = 0; i < b->data->n; i++) {
        int d = b->data->labels[i];
        b->by_label[d][b->count[d]++] = i;
    }
cleanup:
    if (rc)
        smp_bank_destroy(&b);
    *pbank = b;
    return rc;
}

void smp_bank_destroy(smp_bank **pbank)
{
    smp_bank *b = pbank ? *pbank : NULL;
    if (!b)
        return;
    for (int d = 0; d < 10; d++)
        free(b->by_label[d]);
    trn_data_destroy(&b->data);
    free(b);
    *pbank = NULL;
}

int smp_bank_pick(const smp_bank *bank, int label, uint8_t *used, util_rng *rng)
{
    const int *ix = bank->by_label[label];
    int n = bank->count[label];

    /* Random probes first (the usual case: few of the label used), then a
     * scan from a random start, then reuse. */
    for (int t = 0; t < 16; t++) {
        int i = ix[util_rng_below(rng, (uint64_t)n)];
        if (!used[i]) {
            used[i] = 1;
            return i;
        }
    }
    int start = (int)util_rng_below(rng, (uint64_t)n);
    for (int k = 0; k < n; k++) {
        int i = ix[(start + k) % n];
        if (!used[i]) {
            used[i] = 1;
            return i;
        }
    }
    return ix[start];
}

void smp_writer_random(smp_writer *w, util_rng *rng, int dark_only)
{
    memset(w, 0, sizeof *w);
    w->height_in = smp_rand(rng, 0.17, 0.28);
    w->slant = smp_rand(rng, -0.12, 0.36);
    w->rotate = smp_rand(rng, 0.02, 0.07);
    w->thresh = smp_rand(rng, 55, 150);
    w->aspect = smp_rand(rng, 0.85, 1.15);
    w->pencil = !dark_only && smp_rand(rng, 0, 1) < 0.15;
    w->ink = w->pencil ? (int)smp_rand(rng, 110, 161) : (int)smp_rand(rng, 0, 61);
    w->gap_in = smp_rand(rng, 0.015, 0.07);
    w->jitter_in = smp_rand(rng, 0.004, 0.018);
    w->touch_p = smp_rand(rng, 0.06, 0.14);
    w->centered = smp_rand(rng, 0, 1) < 0.5;
}

/* The ink box of a 28 x 28 digit (pixels above 40); the whole square when
 * the digit is blank. */
static void ink_box(const uint8_t *px, int *px0, int *py0, int *pw, int *ph)
{
    int x0 = TRN_SIDE, y0 = TRN_SIDE, x1 = -1, y1 = -1;
    for (int y = 0; y < TRN_SIDE; y++)
        for (int x = 0; x < TRN_SIDE; x++)
            if (px[y * TRN_SIDE + x] > 40) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    if (x1 < 0)
        x0 = y0 = 0, x1 = y1 = TRN_SIDE - 1;
    *px0 = x0, *py0 = y0, *pw = x1 - x0 + 1, *ph = y1 - y0 + 1;
}

/* The box of mask values >= 96 (what reads as ink). */
static void mask_box(PIX *m, int *px0, int *py0, int *pw, int *ph)
{
    int w = pixGetWidth(m), h = pixGetHeight(m), wpl = pixGetWpl(m);
    l_uint32 *data = pixGetData(m);
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + y * wpl;
        for (int x = 0; x < w; x++)
            if (GET_DATA_BYTE(line, x) >= 96) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    }
    if (x1 < 0)
        x0 = y0 = 0, x1 = w - 1, y1 = h - 1;
    *px0 = x0, *py0 = y0, *pw = x1 - x0 + 1, *ph = y1 - y0 + 1;
}

int smp_glyph_render(smp_glyph *pg, const smp_bank *bank, int index, double height_px,
                     const smp_writer *w, util_rng *rng)
{
    const uint8_t *src = bank->data->pixels + (size_t)index * TRN_PIXELS;
    PIX *p = NULL, *s = NULL, *r = NULL, *pad = NULL, *sh = NULL;
    NUMA *na = NULL;
    int x0, y0, iw, ih, rc = UTIL_OK;
    const int P = 2;

    memset(pg, 0, sizeof *pg);
    ink_box(src, &x0, &y0, &iw, &ih);
    p = pixCreate(iw + 2 * P, ih + 2 * P, 8);
    if (!p)
        goto nomem;
    for (int y = 0; y < ih; y++)
        for (int x = 0; x < iw; x++)
            pixSetPixel(p, x + P, y + P, src[(y + y0) * TRN_SIDE + x + x0]);
    double fy = height_px / ih;
    double fx = fy * w->aspect * smp_rand(rng, 0.93, 1.07);
    s = pixScale(p, (float)fx, (float)fy);
    if (!s)
        goto nomem;
    /* Smooth the interpolated staircase away, then re-threshold: the level
     * sets the stroke width, the ramp keeps edges anti-aliased. */
    int k = fy > 4.5 ? 2 : 1;
    if (pixGetWidth(s) > 2 * k + 2 && pixGetHeight(s) > 2 * k + 2) {
        PIX *b = pixBlockconvGray(s, NULL, k, k);
        if (!b)
            goto nomem;
        pixDestroy(&s);
        s = b;
    }
    na = numaCreate(256);
    if (!na)
        goto nomem;
    double t = w->thresh + smp_rand(rng, -6, 6), ramp = 45;
    for (int v = 0; v < 256; v++) {
        double a = (v - t) / ramp * 255.0 + 127.5;
        numaAddNumber(na, (float)(a < 0 ? 0 : a > 255 ? 255 : a));
    }
    pixTRCMap(s, NULL, na);
    double ang = smp_rand(rng, -w->rotate, w->rotate);
    r = pixRotate(s, (float)ang, L_ROTATE_AREA_MAP, L_BRING_IN_BLACK, pixGetWidth(s),
                  pixGetHeight(s));
    if (!r)
        goto nomem;
    double slant = w->slant + smp_rand(rng, -0.04, 0.04);
    int h = pixGetHeight(r), side = (int)ceil(h * fabs(tan(slant))) + 2;
    pad = pixAddBorderGeneral(r, side, side, 0, 0, 0);
    if (!pad)
        goto nomem;
    int bx, by, bw, bh;
    mask_box(pad, &bx, &by, &bw, &bh);
    sh = pixHShearLI(pad, by + bh - 1, (float)slant, L_BRING_IN_BLACK);
    if (!sh)
        goto nomem;
    pg->mask = sh;
    sh = NULL;
    mask_box(pg->mask, &pg->bx, &pg->by, &pg->bw, &pg->bh);
    goto cleanup;
nomem:
    util_log(UTIL_LOG_ERROR, "out of memory rendering a digit");
    rc = UTIL_ENOMEM;
cleanup:
    numaDestroy(&na);
    pixDestroy(&p);
    pixDestroy(&s);
    pixDestroy(&r);
    pixDestroy(&pad);
    pixDestroy(&sh);
    return rc;
}

void smp_glyph_free(smp_glyph *g)
{
    if (g) {
        pixDestroy(&g->mask);
        memset(g, 0, sizeof *g);
    }
}

void smp_blend_ink(PIX *page, PIX *mask, int x, int y, int ink, double grain, util_rng *rng)
{
    int pw = pixGetWidth(page), ph = pixGetHeight(page), pwpl = pixGetWpl(page);
    int mw = pixGetWidth(mask), mh = pixGetHeight(mask), mwpl = pixGetWpl(mask);
    l_uint32 *pd = pixGetData(page), *md = pixGetData(mask);
    double k = (255.0 - ink) / (255.0 * 255.0);

    for (int j = 0; j < mh; j++) {
        int py = y + j;
        if (py < 0 || py >= ph)
            continue;
        l_uint32 *pl = pd + py * pwpl, *ml = md + j * mwpl;
        for (int i = 0; i < mw; i++) {
            int px = x + i;
            double a = GET_DATA_BYTE(ml, i);
            if (a == 0 || px < 0 || px >= pw)
                continue;
            if (grain > 0)
                a *= 1.0 - grain * smp_rand(rng, 0, 1);
            double v = GET_DATA_BYTE(pl, px) * (1.0 - a * k);
            SET_DATA_BYTE(pl, px, (int)(v + 0.5));
        }
    }
}
