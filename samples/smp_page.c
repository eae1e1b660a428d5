/*
 * smp_page.c - composing one sample page: canvas and placement, paper,
 * the printed form, handwriting in each field (comb cells, boxes, amounts
 * with a decimal point or raised cents), a signature, and the scan.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp_draw.h"
#include "smp_page.h"

#define MAX_ITEMS (SMP_VALUE_MAX + 8)

/* What one page's handwriting needs at hand. */
typedef struct pen {
    PIX *page;
    const smp_bank *bank;
    const smp_writer *w;
    const smp_place *pl;
    uint8_t *used;
    util_rng *rng;
    int dpi;
} pen;

static double grain(const pen *p) { return p->w->pencil ? 0.35 : 0.0; }

/* Stroke width of this writer's digits in pixels at height h (for dots,
 * commas and underlines that match them). */
static double stroke_px(const smp_writer *w, double h)
{
    return h * (0.07 + (150.0 - w->thresh) / 95.0 * 0.05);
}

/* Renders a digit ch drawn from the bank; *psrc is its row there. */
static int render(const pen *p, char ch, double h, smp_glyph *g, int *psrc)
{
    int idx = smp_bank_pick(p->bank, ch - '0', p->used, p->rng);
    *psrc = idx;
    return smp_glyph_render(g, p->bank, idx, h, p->w, p->rng);
}

/* Blends glyph g with its ink box's bottom-center at (cx, base). */
static void put_glyph(const pen *p, const smp_glyph *g, double cx, double base)
{
    int x = (int)lround(cx - (g->bx + g->bw / 2.0)), y = (int)lround(base - (g->by + g->bh));
    smp_blend_ink(p->page, g->mask, x, y, p->w->ink, grain(p), p->rng);
}

static int fill_comb(const pen *p, const seg_form_field *f, smp_value *v)
{
    const smp_place *pl = p->pl;
    double fx = pl->dx + f->r.x * pl->ppi, fy = pl->dy + f->r.y * pl->ppi;
    double fw = f->r.w * pl->ppi, fh = f->r.h * pl->ppi;
    double cw = fw / (f->cells + (f->dash ? 0.5 : 0.0));
    double h = fmin(p->w->height_in * pl->ppi, 0.8 * fh);
    double jit = p->w->jitter_in * pl->ppi;
    int rc = UTIL_OK;

    for (int i = 0; i < v->n && i < f->cells && rc == UTIL_OK; i++) {
        smp_glyph g;
        double hi = h * smp_rand(p->rng, 0.92, 1.06);
        int idx = smp_bank_pick(p->bank, v->digits[i] - '0', p->used, p->rng);
        v->src[i] = idx;
        if ((rc = smp_glyph_render(&g, p->bank, idx, hi, p->w, p->rng)))
            break;
        if (g.bw > 0.8 * cw) { /* too wide for its cell: the same digit smaller */
            hi *= 0.8 * cw / g.bw;
            smp_glyph_free(&g);
            if ((rc = smp_glyph_render(&g, p->bank, idx, hi, p->w, p->rng)))
                break;
        }
        double cx = fx + (i + 0.5 + (f->dash && i >= f->dash ? 0.5 : 0.0)) * cw;
        cx += smp_rand(p->rng, -0.09, 0.09) * cw;
        double base = fy + fh - (fh - hi) / 2 + smp_rand(p->rng, -0.02, 0.07) * fh;
        base += smp_rand(p->rng, -1, 1) * jit;
        double r = smp_rand(p->rng, 0, 1);
        if (r < 0.04) /* written low: strokes cross the bottom line */
            base = fy + fh + smp_rand(p->rng, -0.01, 0.05) * fh;
        else if (r < 0.08) /* pushed sideways across a separator */
            cx += (r < 0.06 ? -1 : 1) * (cw - g.bw) / 2 + smp_rand(p->rng, 0.02, 0.08) * cw *
                                                            (r < 0.06 ? -1 : 1);
        put_glyph(p, &g, cx, base);
        smp_glyph_free(&g);
    }
    return rc;
}

/* One thing written in a box, left to right. */
enum { IT_DIGIT, IT_DOT, IT_COMMA };
typedef struct item {
    int kind;
    int raised;     /* cents written raised and smaller */
    smp_glyph g;
    double width;   /* ink width in pixels */
    double gap;     /* space before the next item (negative: they overlap) */
} item;

static void free_items(item *it, int n)
{
    for (int i = 0; i < n; i++)
        smp_glyph_free(&it[i].g);
}

/* Renders the items' digits at height h (raised ones at 0.6 h) and sets
 * their widths and gaps. */
static int render_items(const pen *p, item *it, int n, smp_value *v, double h, double scale)
{
    double gap = p->w->gap_in * p->pl->ppi * scale, sp = stroke_px(p->w, h);
    int d = 0, rc = UTIL_OK;

    for (int i = 0; i < n; i++) {
        smp_glyph_free(&it[i].g);
        if (it[i].kind == IT_DIGIT) {
            double hi = h * (it[i].raised ? 0.6 : 1.0) * smp_rand(p->rng, 0.94, 1.05);
            if ((rc = render(p, v->digits[d], hi, &it[i].g, &v->src[d])))
                return rc;
            it[i].width = it[i].g.bw;
            d++;
        } else {
            it[i].width = it[i].kind == IT_DOT ? 2 * sp : 2.2 * sp;
        }
        it[i].gap = gap * smp_rand(p->rng, 0.7, 1.3);
        if (it[i].kind != IT_DIGIT || (i + 1 < n && it[i + 1].kind != IT_DIGIT))
            it[i].gap = gap * smp_rand(p->rng, 0.6, 1.1) + sp * 0.5;
        else if (i + 1 < n && smp_rand(p->rng, 0, 1) < p->w->touch_p)
            it[i].gap = -smp_rand(p->rng, 2, 5) * p->dpi / 300.0;
    }
    return rc;
}

static int fill_box(const pen *p, const seg_form_field *f, smp_value *v)
{
    const smp_place *pl = p->pl;
    double fx = pl->dx + f->r.x * pl->ppi, fy = pl->dy + f->r.y * pl->ppi;
    double fw = f->r.w * pl->ppi, fh = f->r.h * pl->ppi;
    double h = fmin(p->w->height_in * pl->ppi, 0.7 * fh);
    double margin = 0.04 * pl->ppi, jit = p->w->jitter_in * pl->ppi;
    item it[MAX_ITEMS];
    int n = 0, rc = UTIL_OK, raised = 0, underline = 0;

    memset(it, 0, sizeof it);
    if (f->type == SEG_FT_AMOUNT && v->n > v->n_int) {
        raised = smp_rand(p->rng, 0, 1) < 0.4;
        underline = raised && smp_rand(p->rng, 0, 1) < 0.5;
    }
    int comma = f->type == SEG_FT_AMOUNT && v->n_int >= 4 && smp_rand(p->rng, 0, 1) < 0.3;
    for (int i = 0; i < v->n; i++) {
        if (i == v->n_int && i < v->n && !raised)
            it[n++].kind = IT_DOT;
        it[n].kind = IT_DIGIT;
        it[n++].raised = raised && i >= v->n_int;
        if (comma && i < v->n_int - 1 && (v->n_int - 1 - i) % 3 == 0)
            it[n++].kind = IT_COMMA;
    }
    double scale = 1.0, total = 0;
    for (int tries = 0; tries < 4; tries++) {
        if ((rc = render_items(p, it, n, v, h * scale, scale)))
            goto cleanup;
        total = 0;
        for (int i = 0; i < n; i++)
            total += it[i].width + (i + 1 < n ? it[i].gap : 0);
        if (total <= fw - 2 * margin)
            break;
        scale *= (fw - 2 * margin) / total * 0.97;
    }
    h *= scale;
    double x;
    if (p->w->centered)
        x = fx + (fw - total) / 2 + smp_rand(p->rng, -0.03, 0.03) * pl->ppi;
    else
        x = fx + margin + smp_rand(p->rng, 0, fmin(0.1 * pl->ppi, fw - 2 * margin - total));
    x = fmax(fx + margin * 0.5, fmin(x, fx + fw - margin * 0.5 - total));
    double base = fy + fh - (fh - h) / 2 + smp_rand(p->rng, -0.03, 0.06) * fh;
    if (smp_rand(p->rng, 0, 1) < 0.08) /* written low, across the bottom border */
        base = fy + fh + smp_rand(p->rng, 0.0, 0.05) * fh;
    double sp = stroke_px(p->w, h), cents_x0 = -1, cents_x1 = 0, cents_base = 0;
    for (int i = 0; i < n; i++) {
        double cx = x + it[i].width / 2, b = base + smp_rand(p->rng, -1, 1) * jit;
        if (it[i].kind == IT_DIGIT) {
            if (it[i].raised) {
                b = base - 0.4 * h + smp_rand(p->rng, -0.5, 0.5) * jit;
                if (cents_x0 < 0)
                    cents_x0 = x, cents_base = b;
                cents_x1 = x + it[i].width;
            }
            put_glyph(p, &it[i].g, cx, b);
        } else if (it[i].kind == IT_DOT) {
            rc = smp_draw_dot(p->page, cx, base - sp * smp_rand(p->rng, 0.9, 1.6), sp * 0.85,
                              p->w->ink);
        } else {
            double r = sp * 0.8, y = base - r;
            double tail[6] = {cx + r * 0.4, y, cx + r * 0.2, y + r * 1.4, cx - r * 1.0,
                              y + r * 3.0};
            if (!(rc = smp_draw_dot(p->page, cx + r * 0.3, y, r, p->w->ink)))
                rc = smp_draw_polyline(p->page, tail, 3, r * 1.1, p->w->ink);
        }
        if (rc)
            goto cleanup;
        x += it[i].width + it[i].gap;
    }
    if (underline && cents_x0 >= 0) {
        double y = cents_base + sp * smp_rand(p->rng, 1.2, 2.5);
        double ln[4] = {cents_x0 - sp, y + smp_rand(p->rng, -1, 1) * sp * 0.5, cents_x1 + sp,
                        y + smp_rand(p->rng, -1, 1) * sp * 0.5};
        rc = smp_draw_polyline(p->page, ln, 2, fmax(1.5, sp * 0.8), p->w->ink);
    }
cleanup:
    free_items(it, n);
    return rc;
}

/* The extent of everything printed or written on the form, in inches. */
static void form_extent(const seg_form *f, double *px0, double *py0, double *px1, double *py1)
{
    double x0 = f->width, y0 = f->height, x1 = 0, y1 = 0;
#define GROW(X, Y, W, H)                                                                          \
    do {                                                                                          \
        x0 = fmin(x0, (X)), y0 = fmin(y0, (Y));                                                   \
        x1 = fmax(x1, (X) + (W)), y1 = fmax(y1, (Y) + (H));                                       \
    } while (0)
    for (int i = 0; i < f->n_features; i++)
        GROW(f->features[i].r.x, f->features[i].r.y, f->features[i].r.w, f->features[i].r.h);
    for (int i = 0; i < f->n_fields; i++)
        GROW(f->fields[i].r.x, f->fields[i].r.y, f->fields[i].r.w, f->fields[i].r.h);
    for (int i = 0; i < f->n_texts; i++)
        GROW(f->texts[i].x, f->texts[i].y, 0.0, f->texts[i].pt / 72.0);
#undef GROW
    *px0 = x0, *py0 = y0, *px1 = x1, *py1 = y1;
}

/* Whether the rectangle (inches) stays inside the canvas after placing and
 * rotating by deg about the canvas center, with margin pixels to spare. */
static int stays_inside(const smp_place *pl, int W, int H, double deg, double x0, double y0,
                        double x1, double y1, double margin)
{
    double a = deg * M_PI / 180, c = cos(a), s = sin(a), cx = W / 2.0, cy = H / 2.0;
    double xs[2] = {x0, x1}, ys[2] = {y0, y1};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double X = pl->dx + xs[i] * pl->ppi - cx, Y = pl->dy + ys[j] * pl->ppi - cy;
            double u = cx + X * c - Y * s, v = cy + X * s + Y * c;
            if (u < margin || v < margin || u > W - margin || v > H - margin)
                return 0;
        }
    return 1;
}

/* The signature line: the lowest horizontal printed line shorter than 80 %
 * of the form's width, the rightmost of those at that height; -1 if none. */
static int signature_line(const seg_form *f)
{
    int best = -1;
    for (int i = 0; i < f->n_features; i++) {
        const seg_rect *r = &f->features[i].r;
        if (f->features[i].kind != SEG_FEAT_LINE || r->w < r->h || r->w > 0.8 * f->width ||
            r->y < 0.6 * f->height)
            continue;
        if (best < 0 || r->y > f->features[best].r.y + 1e-6 ||
            (fabs(r->y - f->features[best].r.y) < 1e-6 && r->x > f->features[best].r.x))
            best = i;
    }
    return best;
}

int smp_page_make(smp_page *pg, const smp_bank *bank, const seg_form *form, int dpi,
                  int is_check, int dark_only, double touch_x, uint64_t key)
{
    util_rng rng;
    smp_writer wr;
    smp_place pl;
    uint8_t *used = NULL;
    PIX *page = NULL;
    int rc = UTIL_OK;

    memset(pg, 0, sizeof *pg);
    util_rng_seed(&rng, key);
    pg->form = form;
    pg->dpi = dpi;
    pg->scale = round(smp_rand(&rng, 0.985, 1.015) * 1e4) / 1e4;
    pl.ppi = dpi * pg->scale;
    double fw = form->width * pl.ppi, fh = form->height * pl.ppi;
    int W, H;
    if (is_check) {
        W = (int)lround((form->width + 0.7) * dpi), H = (int)lround((form->height + 0.6) * dpi);
        double m = 0.08 * dpi;
        pl.dx = (int)lround(smp_rand(&rng, m, fmax(m, W - fw - m)));
        pl.dy = (int)lround(smp_rand(&rng, m, fmax(m, H - fh - m)));
    } else {
        W = (int)lround(form->width * dpi), H = (int)lround(form->height * dpi);
        pl.dx = (int)lround((W - fw) / 2 + smp_rand(&rng, -0.08, 0.08) * dpi);
        pl.dy = (int)lround((H - fh) / 2 + smp_rand(&rng, -0.08, 0.08) * dpi);
    }
    pg->dx = pl.dx, pg->dy = pl.dy;
    /* Skew: mostly small, now and then up to 5 degrees. */
    double r = smp_rand(&rng, 0, 1), lim = r < 0.6 ? 1.5 : r < 0.9 ? 3.0 : 5.0;
    double deg = smp_rand(&rng, -lim, lim), ex0, ey0, ex1, ey1;
    form_extent(form, &ex0, &ey0, &ex1, &ey1);
    while (fabs(deg) > 0.01 &&
           !stays_inside(&pl, W, H, deg, ex0, ey0, ex1, ey1, 0.04 * dpi))
        deg *= 0.8;
    pg->skew_deg = round(deg * 100) / 100;

    page = pixCreate(W, H, 8);
    used = calloc((size_t)bank->data->n, 1);
    pg->values = calloc((size_t)form->n_fields, sizeof *pg->values);
    if (!page || !used || !pg->values) {
        util_log(UTIL_LOG_ERROR, "out of memory drawing a page");
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    pixSetAll(page);
    if ((rc = smp_draw_paper(page, form, &pl, is_check, &rng)) ||
        (rc = smp_draw_form(page, form, &pl, (int)smp_rand(&rng, 8, 45))))
        goto cleanup;
    smp_writer_random(&wr, &rng, dark_only);
    if (touch_x > 1.0)
        wr.touch_p = fmin(1.0, wr.touch_p * touch_x);
    pen p = {page, bank, &wr, &pl, used, &rng, dpi};
    for (int i = 0; i < form->n_fields && rc == UTIL_OK; i++) {
        const seg_form_field *f = &form->fields[i];
        smp_value_random(&pg->values[i], f, !is_check, &rng);
        if (pg->values[i].blank)
            continue;
        rc = f->frame == SEG_FRAME_COMB ? fill_comb(&p, f, &pg->values[i])
                                        : fill_box(&p, f, &pg->values[i]);
    }
    if (rc)
        goto cleanup;
    int sl = signature_line(form);
    if (sl >= 0 && smp_rand(&rng, 0, 1) < 0.85) {
        const seg_rect *s = &form->features[sl].r;
        double sh = smp_rand(&rng, 0.25, 0.4) * pl.ppi, sw = s->w * pl.ppi * smp_rand(&rng, 0.5, 0.85);
        double sx = pl.dx + s->x * pl.ppi + smp_rand(&rng, 0.05, 0.15) * s->w * pl.ppi;
        double sy = pl.dy + s->y * pl.ppi - sh * 0.85;
        if ((rc = smp_draw_scribble(page, sx, sy, sw, sh, fmax(1.5, 0.012 * pl.ppi), wr.ink,
                                    &rng)))
            goto cleanup;
    }
    if ((rc = smp_scan(&page, pg->skew_deg, dpi, &rng)))
        goto cleanup;
    pixSetResolution(page, dpi, dpi);
    pg->pix = page;
    page = NULL;
cleanup:
    pixDestroy(&page);
    free(used);
    if (rc)
        smp_page_free(pg);
    return rc;
}

void smp_page_free(smp_page *pg)
{
    if (!pg)
        return;
    pixDestroy(&pg->pix);
    free(pg->values);
    pg->values = NULL;
}
