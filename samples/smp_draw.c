/*
 * smp_draw.c - printing a form template onto a page, check paper with its
 * security background, pen strokes, and the scanner's effects.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp_draw.h"
#include "smp_hand.h"

static int nomem(const char *what)
{
    util_log(UTIL_LOG_ERROR, "out of memory %s", what);
    return UTIL_ENOMEM;
}

int smp_line_px(const seg_form *f, const smp_place *pl)
{
    int lw = (int)lround(f->line_width * pl->ppi);
    return lw < 1 ? 1 : lw;
}

/* A filled rectangle [x0, x1) x [y0, y1) in pixels, rounded, at least one
 * pixel each way; clipped to the page. */
static void fill_rect(PIX *page, double x0, double y0, double x1, double y1, int ink)
{
    int X0 = (int)lround(x0), Y0 = (int)lround(y0), X1 = (int)lround(x1), Y1 = (int)lround(y1);
    if (X1 <= X0)
        X1 = X0 + 1;
    if (Y1 <= Y0)
        Y1 = Y0 + 1;
    BOX *b = boxCreate(X0, Y0, X1 - X0, Y1 - Y0);
    if (b)
        pixSetInRectArbitrary(page, b, (l_uint32)ink);
    boxDestroy(&b);
}

/* The outline of a rectangle, lines of width lw centered on its border. */
static void outline(PIX *page, double x, double y, double w, double h, double lw, int ink)
{
    double a = lw / 2;
    fill_rect(page, x - a, y - a, x + w + a, y + a, ink);
    fill_rect(page, x - a, y + h - a, x + w + a, y + h + a, ink);
    fill_rect(page, x - a, y - a, x + a, y + h + a, ink);
    fill_rect(page, x + w - a, y - a, x + w + a, y + h + a, ink);
}

static void draw_frame(PIX *page, const seg_form_field *fd, const smp_place *pl, double lw,
                       int ink)
{
    double x = pl->dx + fd->r.x * pl->ppi, y = pl->dy + fd->r.y * pl->ppi;
    double w = fd->r.w * pl->ppi, h = fd->r.h * pl->ppi;

    switch (fd->frame) {
    case SEG_FRAME_BOX:
        outline(page, x, y, w, h, lw, ink);
        break;
    case SEG_FRAME_LINE:
        fill_rect(page, x, y + h - lw / 2, x + w, y + h + lw / 2, ink);
        break;
    case SEG_FRAME_COMB: {
        double cw = w / (fd->cells + (fd->dash ? 0.5 : 0.0));
        int k = fd->dash ? fd->dash : fd->cells;
        outline(page, x, y, k * cw, h, lw, ink);
        for (int i = 1; i < k; i++)
            fill_rect(page, x + i * cw - lw / 2, y, x + i * cw + lw / 2, y + h, ink);
        if (fd->dash) {
            double gx = x + k * cw, x2 = gx + 0.5 * cw;
            int m = fd->cells - k;
            fill_rect(page, gx + 0.12 * cw, y + h / 2 - lw, gx + 0.38 * cw, y + h / 2 + lw, ink);
            outline(page, x2, y, m * cw, h, lw, ink);
            for (int i = 1; i < m; i++)
                fill_rect(page, x2 + i * cw - lw / 2, y, x2 + i * cw + lw / 2, y + h, ink);
        }
        break;
    }
    default:
        break;
    }
}

/* One label: rendered at the bitmap font's own 300 ppi, scaled to ppi. */
static int draw_text(PIX *page, L_BMF *bmf, const seg_form_text *t, const smp_place *pl, int ink)
{
    PIX *t1 = NULL, *t8 = NULL, *ts = NULL;
    int tw = 0, rc = UTIL_OK, pad = 2;
    double s = pl->ppi / 300.0;

    if (bmfGetStringWidth(bmf, t->text, &tw) || tw <= 0)
        return UTIL_OK; /* nothing printable */
    int base = bmf->baselinetab['X'];
    t1 = pixCreate(tw + 2 * pad, bmf->lineheight + 2 * pad, 1);
    if (!t1)
        return nomem("printing a label");
    pixSetTextline(t1, bmf, t->text, 1, pad, base + pad, NULL, NULL);
    t8 = pixConvert1To8(NULL, t1, 0, 255);
    if (!t8) {
        rc = nomem("printing a label");
        goto cleanup;
    }
    if (fabs(s - 1.0) > 1e-4) {
        ts = pixScale(t8, (float)s, (float)s);
        if (!ts) {
            rc = nomem("printing a label");
            goto cleanup;
        }
    } else {
        ts = pixClone(t8);
    }
    smp_blend_ink(page, ts, (int)lround(pl->dx + t->x * pl->ppi - pad * s),
                  (int)lround(pl->dy + t->y * pl->ppi - pad * s), ink, 0, NULL);
cleanup:
    pixDestroy(&t1);
    pixDestroy(&t8);
    pixDestroy(&ts);
    return rc;
}

int smp_draw_form(PIX *page, const seg_form *f, const smp_place *pl, int ink)
{
    L_BMF *fonts[21] = {0};
    double lw = smp_line_px(f, pl);
    int rc = UTIL_OK;

    for (int i = 0; i < f->n_features; i++) {
        const seg_rect *r = &f->features[i].r;
        fill_rect(page, pl->dx + r->x * pl->ppi, pl->dy + r->y * pl->ppi,
                  pl->dx + (r->x + r->w) * pl->ppi, pl->dy + (r->y + r->h) * pl->ppi, ink);
    }
    for (int i = 0; i < f->n_fields; i++)
        draw_frame(page, &f->fields[i], pl, lw, ink);
    for (int i = 0; i < f->n_texts && rc == UTIL_OK; i++) {
        int pt = f->texts[i].pt;
        if (pt < 4 || pt > 20)
            continue;
        if (!fonts[pt] && !(fonts[pt] = bmfCreate(NULL, pt))) {
            rc = nomem("making a bitmap font");
            break;
        }
        rc = draw_text(page, fonts[pt], &f->texts[i], pl, ink);
    }
    for (int i = 0; i < 21; i++)
        bmfDestroy(&fonts[i]);
    return rc;
}

/* How strongly a pixel at distance d (in pixels) from a line's center is
 * covered by a line of half-width hw: 1 inside, a one-pixel ramp outside. */
static double coverage(double d, double hw)
{
    double c = hw + 0.5 - d;
    return c <= 0 ? 0 : c >= 1 ? 1 : c;
}

/* Distance from v to the nearest multiple of period. */
static double period_dist(double v, double period)
{
    double q = v / period;
    return fabs(q - floor(q + 0.5)) * period;
}

typedef struct wave {
    double period, amp, wavelen, phase, hw, tone; /* pixels; tone 0..255 */
    int vertical;
} wave;

int smp_draw_paper(PIX *page, const seg_form *f, const smp_place *pl, int security,
                   util_rng *rng)
{
    int pw = pixGetWidth(page), ph = pixGetHeight(page), wpl = pixGetWpl(page);
    l_uint32 *data = pixGetData(page);
    int X0 = pl->dx, Y0 = pl->dy;
    int W = (int)lround(f->width * pl->ppi), H = (int)lround(f->height * pl->ppi);
    double ppi = pl->ppi;
    wave wv[3];
    int n_wave = 0, hatch = 0, texture = 0;
    double base = smp_rand(rng, security ? 236 : 246, security ? 250 : 255);
    double grad = security ? smp_rand(rng, 0, 22) : 0, gang = smp_rand(rng, 0, 2 * M_PI);
    double h_space = 0, h_hw = 0, h_tone = 0, t_amp = 0;
    PIX *noise = NULL, *smooth = NULL;
    double *col = NULL;
    int rc = UTIL_OK;

    if (security) {
        int style = (int)util_rng_below(rng, 4); /* which patterns join the waves */
        n_wave = 1 + (int)util_rng_below(rng, 3);
        for (int i = 0; i < n_wave; i++) {
            wave *w = &wv[i];
            w->period = smp_rand(rng, 0.035, 0.08) * ppi;
            w->amp = smp_rand(rng, 0.03, 0.18) * ppi;
            w->wavelen = smp_rand(rng, 0.4, 1.6) * ppi;
            w->phase = smp_rand(rng, 0, 2 * M_PI);
            w->hw = smp_rand(rng, 0.0015, 0.005) * ppi;
            w->tone = smp_rand(rng, 185, 228);
            w->vertical = i == 1 ? (int)util_rng_below(rng, 2) : 0;
        }
        hatch = style == 1 || style == 3;
        texture = style == 2 || style == 3 || smp_rand(rng, 0, 1) < 0.3;
        h_space = smp_rand(rng, 0.03, 0.07) * ppi;
        h_hw = smp_rand(rng, 0.0015, 0.004) * ppi;
        h_tone = smp_rand(rng, 200, 232);
        t_amp = smp_rand(rng, 4, 12);
        if (texture) {
            int nw = W / 6 + 3, nh = H / 6 + 3;
            noise = pixCreate(nw, nh, 8);
            if (!noise) {
                rc = nomem("drawing a check background");
                goto cleanup;
            }
            for (int y = 0; y < nh; y++)
                for (int x = 0; x < nw; x++)
                    pixSetPixel(noise, x, y, (l_uint32)util_rng_below(rng, 256));
            smooth = pixScale(noise, 6.0f, 6.0f);
            if (!smooth) {
                rc = nomem("drawing a check background");
                goto cleanup;
            }
        }
    }
    col = malloc(sizeof(double) * (size_t)(W > 0 ? W : 1) * 3);
    if (!col) {
        rc = nomem("drawing a check background");
        goto cleanup;
    }
    for (int x = 0; x < W; x++)
        for (int i = 0; i < n_wave; i++)
            col[x * 3 + i] = wv[i].amp * sin(2 * M_PI * x / wv[i].wavelen + wv[i].phase);
    double gx = cos(gang), gy = sin(gang), gnorm = fabs(gx) * W + fabs(gy) * H;
    double gmin = (gx < 0 ? gx * W : 0) + (gy < 0 ? gy * H : 0);
    int sw = smooth ? pixGetWidth(smooth) : 0, shh = smooth ? pixGetHeight(smooth) : 0;
    l_uint32 *sd = smooth ? pixGetData(smooth) : NULL;
    int swpl = smooth ? pixGetWpl(smooth) : 0;
    for (int y = 0; y < H; y++) {
        int py = Y0 + y;
        if (py < 0 || py >= ph)
            continue;
        l_uint32 *line = data + py * wpl;
        for (int x = 0; x < W; x++) {
            int px = X0 + x;
            if (px < 0 || px >= pw)
                continue;
            double v = base - grad * ((gx * x + gy * y - gmin) / (gnorm > 0 ? gnorm : 1));
            if (smooth && x < sw && y < shh)
                v += (GET_DATA_BYTE(sd + y * swpl, x) - 128) / 128.0 * t_amp;
            for (int i = 0; i < n_wave; i++) {
                const wave *w = &wv[i];
                double d = w->vertical ? period_dist(x + w->amp * sin(2 * M_PI * y / w->wavelen +
                                                                      w->phase), w->period)
                                       : period_dist(y + col[x * 3 + i], w->period);
                double c = coverage(d, w->hw);
                if (c > 0 && w->tone < v)
                    v += (w->tone - v) * c;
            }
            if (hatch) {
                double c = coverage(period_dist((x + y) * M_SQRT1_2, h_space), h_hw);
                double c2 = coverage(period_dist((x - y) * M_SQRT1_2, h_space), h_hw);
                c = c > c2 ? c : c2;
                if (c > 0 && h_tone < v)
                    v += (h_tone - v) * c;
            }
            if (security && v < 185)
                v = 185;
            SET_DATA_BYTE(line, px, (int)(v > 255 ? 255 : v + 0.5));
        }
    }
cleanup:
    free(col);
    pixDestroy(&noise);
    pixDestroy(&smooth);
    return rc;
}

/* An ink layer over the box (x0, y0)-(x1, y1) of the page: drawn into with
 * Leptonica's renderers, softened, blended. */
static PIX *layer_new(double x0, double y0, double x1, double y1, int *pox, int *poy)
{
    int ox = (int)floor(x0) - 4, oy = (int)floor(y0) - 4;
    int w = (int)ceil(x1) - ox + 5, h = (int)ceil(y1) - oy + 5;
    *pox = ox, *poy = oy;
    return pixCreate(w > 8 ? w : 8, h > 8 ? h : 8, 8);
}

static int layer_blend(PIX *page, PIX *layer, int ox, int oy, int ink)
{
    PIX *soft = pixBlockconvGray(layer, NULL, 1, 1);
    if (!soft)
        return nomem("drawing a pen stroke");
    smp_blend_ink(page, soft, ox, oy, ink, 0, NULL);
    pixDestroy(&soft);
    return UTIL_OK;
}

int smp_draw_polyline(PIX *page, const double *xy, int n, double width, int ink)
{
    double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
    int ox, oy, rc;
    PIX *layer;
    PTA *pta;

    for (int i = 0; i < n; i++) {
        x0 = fmin(x0, xy[2 * i]), x1 = fmax(x1, xy[2 * i]);
        y0 = fmin(y0, xy[2 * i + 1]), y1 = fmax(y1, xy[2 * i + 1]);
    }
    layer = layer_new(x0 - width, y0 - width, x1 + width, y1 + width, &ox, &oy);
    pta = ptaCreate(n);
    if (!layer || !pta) {
        pixDestroy(&layer);
        ptaDestroy(&pta);
        return nomem("drawing a pen stroke");
    }
    for (int i = 0; i < n; i++)
        ptaAddPt(pta, (float)(xy[2 * i] - ox), (float)(xy[2 * i + 1] - oy));
    int wpx = (int)lround(width);
    pixRenderPolyline(layer, pta, wpx < 1 ? 1 : wpx, L_SET_PIXELS, 0);
    rc = layer_blend(page, layer, ox, oy, ink);
    pixDestroy(&layer);
    ptaDestroy(&pta);
    return rc;
}

int smp_draw_dot(PIX *page, double cx, double cy, double r, int ink)
{
    int ox, oy, rc, ri = (int)lround(r);
    PIX *layer = layer_new(cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1, &ox, &oy);
    PTA *pta = generatePtaFilledCircle(ri < 1 ? 1 : ri);
    if (!layer || !pta) {
        pixDestroy(&layer);
        ptaDestroy(&pta);
        return nomem("drawing a dot");
    }
    /* generatePtaFilledCircle's points span 0..2r around (r, r). */
    PTA *moved = ptaTransform(pta, (int)lround(cx) - ox - ri, (int)lround(cy) - oy - ri, 1.0f,
                              1.0f);
    if (!moved) {
        rc = nomem("drawing a dot");
    } else {
        pixRenderPta(layer, moved, L_SET_PIXELS);
        rc = layer_blend(page, layer, ox, oy, ink);
    }
    ptaDestroy(&moved);
    ptaDestroy(&pta);
    pixDestroy(&layer);
    return rc;
}

int smp_draw_scribble(PIX *page, double x, double y, double w, double h, double width, int ink,
                      util_rng *rng)
{
    enum { N = 160 };
    double xy[2 * N];
    double loops = smp_rand(rng, 3, 7), a = smp_rand(rng, 0.15, 0.35) * w / loops;
    double ph = smp_rand(rng, 0, 2 * M_PI), f2 = smp_rand(rng, 0.8, 1.3);
    for (int i = 0; i < N; i++) {
        double t = (double)i / (N - 1);
        double env = sin(M_PI * (0.08 + 0.84 * t));
        xy[2 * i] = x + w * t + a * sin(2 * M_PI * loops * t * f2 + ph);
        xy[2 * i + 1] = y + h * (0.5 - 0.45 * env * sin(2 * M_PI * loops * t + ph * 0.5) +
                                 0.15 * sin(2 * M_PI * 0.7 * t));
    }
    return smp_draw_polyline(page, xy, N, width, ink);
}

int smp_scan(PIX **ppage, double skew_deg, int dpi, util_rng *rng)
{
    PIX *page = *ppage;
    double gauss[1024];

    if (fabs(skew_deg) > 1e-6) {
        PIX *r = pixRotate(page, (float)(skew_deg * M_PI / 180.0), L_ROTATE_AREA_MAP,
                           L_BRING_IN_WHITE, 0, 0);
        if (!r)
            return nomem("rotating a page");
        pixDestroy(ppage);
        *ppage = page = r;
    }
    if (smp_rand(rng, 0, 1) < (dpi >= 300 ? 0.7 : 0.35)) {
        PIX *b = pixBlockconvGray(page, NULL, 1, 1);
        if (!b)
            return nomem("blurring a page");
        pixDestroy(ppage);
        *ppage = page = b;
    }
    /* Gaussian noise by table: the inverse CDF at 1024 evenly spaced
     * quantiles (Abramowitz-Stegun 26.2.23), indexed by 10 random bits. */
    for (int i = 0; i < 1024; i++) {
        double p = (i + 0.5) / 1024, q = p < 0.5 ? p : 1 - p, t = sqrt(-2 * log(q));
        double z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                           (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
        gauss[i] = p < 0.5 ? -z : z;
    }
    int w = pixGetWidth(page), h = pixGetHeight(page), wpl = pixGetWpl(page);
    l_uint32 *data = pixGetData(page);
    double black = smp_rand(rng, 8, 32), white = smp_rand(rng, 238, 253);
    double sigma = smp_rand(rng, 1.2, 3.5);
    int vignette = smp_rand(rng, 0, 1) < 0.4;
    double strength = smp_rand(rng, 0.02, 0.09), ang = smp_rand(rng, 0, 2 * M_PI);
    double cx = w * smp_rand(rng, 0.3, 0.7), cy = h * smp_rand(rng, 0.3, 0.7);
    double gx = cos(ang) / w, gy = sin(ang) / h;
    uint64_t bits = 0;
    int left = 0;
    double *rowlight = malloc(sizeof(double) * (size_t)w);
    if (!rowlight)
        return nomem("scanning a page");
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + y * wpl;
        double dy2 = (y - cy) / h;
        for (int x = 0; x < w; x++) {
            double dx2 = (x - cx) / w;
            rowlight[x] = vignette ? 1 - strength * 2 * (dx2 * dx2 + dy2 * dy2)
                                   : 1 - strength * (0.5 + 0.5 * (gx * (x - cx) + gy * (y - cy)) * 2);
        }
        for (int x = 0; x < w; x++) {
            if (left == 0)
                bits = util_rng_next(rng), left = 6;
            double n = gauss[bits & 1023] * sigma;
            bits >>= 10, left--;
            double v = black + (white - black) * (GET_DATA_BYTE(line, x) / 255.0) * rowlight[x] + n;
            SET_DATA_BYTE(line, x, v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5));
        }
    }
    free(rowlight);
    return UTIL_OK;
}
