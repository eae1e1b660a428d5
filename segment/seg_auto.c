/*
 * seg_auto.c - --form auto (seg_auto_fields): printed boxes and combs found
 * from the line finder's runs, measured on the full page, kept when they
 * hold handwriting.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_auto.h"
#include "segment/seg_register.h"
#include "util/util.h"

#define MAX_SEPS 64

/* A frame found on the page, in pixels: the centres of its lines. */
typedef struct frame {
    double x0, x1, y0, y1, lw;
    int cells, dash;
    double cw;  /* cell width (of the right half for a dash comb) */
    double cwl; /* cell width of the left half (cw when no dash) */
    double xb;  /* dash comb: where the right half starts */
    int gone;   /* merged into another */
} frame;

static double median3(double *v, int n)
{
    /* n <= 3: sort and take the middle (the lower one of two). */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[(n - 1) / 2];
}

/* refine - the centre of a line near across, measured at three points
 * between along0 and along1 (the median of those found); *pth its
 * thickness.  Returns how many of the three found it. */
static int refine(PIX *page, int vert, double along0, double along1, double across, double search,
                  double max_thick, double *pc, double *pth)
{
    double cs[3], ths[3];
    int n = 0;
    for (int k = 0; k < 3; k++) {
        double a = along0 + (along1 - along0) * (0.25 + 0.25 * k), ctr, th;
        if (seg_measure_line(page, vert, a, across, fmax(3, 0.1 * fabs(along1 - along0)), search, 1,
                             max_thick, &ctr, &th)) {
            cs[n] = ctr;
            ths[n++] = th;
        }
    }
    if (n > 0) {
        *pc = median3(cs, n);
        *pth = median3(ths, n);
    }
    return n;
}

/* separators - the centres of the columns of frame f's interior that are
 * inked over at least 85 % of its height and no thicker than max_thick:
 * a comb's separators (handwriting crossing them does not hide them). */
static int separators(PIX *page, const frame *f, double max_thick, double *seps, int cap)
{
    int x0 = (int)ceil(f->x0 + f->lw), x1 = (int)floor(f->x1 - f->lw);
    int y0 = (int)ceil(f->y0 + f->lw), y1 = (int)floor(f->y1 - f->lw);
    int w = (int)pixGetWidth(page), h = (int)pixGetHeight(page), wpl = (int)pixGetWpl(page), ns = 0;
    const l_uint32 *data = pixGetData(page);
    int *cnt;

    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= w ? w - 1 : x1;
    y1 = y1 >= h ? h - 1 : y1;
    if (x1 - x0 < 2 || y1 - y0 < 2 || !(cnt = calloc((size_t)(x1 - x0 + 1), sizeof *cnt)))
        return 0;
    for (int y = y0; y <= y1; y++) {
        const l_uint32 *line = data + (size_t)y * wpl;
        for (int x = x0; x <= x1; x++)
            cnt[x - x0] += GET_DATA_BIT(line, x);
    }
    for (int k = 0; k <= x1 - x0 && ns < cap;) {
        int s;
        if (cnt[k] < 0.85 * (y1 - y0 + 1)) {
            k++;
            continue;
        }
        s = k;
        while (k <= x1 - x0 && cnt[k] >= 0.85 * (y1 - y0 + 1))
            k++;
        if (k - s <= max_thick)
            seps[ns++] = x0 + (s + k) / 2.0;
    }
    free(cnt);
    return ns;
}

/* tall_ink - whether the cell interior x0..x1, y0..y1 holds a piece of
 * ink at least min_h pixels tall. */
static int tall_ink(PIX *page, int x0, int y0, int x1, int y1, double min_h)
{
    BOX *b = NULL;
    PIX *clip = NULL;
    BOXA *ba = NULL;
    int hit = 0;

    if (x1 - x0 < 2 || y1 - y0 < 2)
        return 0;
    if (!(b = boxCreate(x0, y0, x1 - x0, y1 - y0)) || !(clip = pixClipRectangle(page, b, NULL)) ||
        !(ba = pixConnCompBB(clip, 8)))
        goto cleanup;
    for (int i = 0; i < boxaGetCount(ba) && !hit; i++) {
        l_int32 bx, by, bw, bh;
        if (boxaGetBoxGeometry(ba, i, &bx, &by, &bw, &bh) == 0 && bh >= min_h)
            hit = 1;
    }
cleanup:
    boxaDestroy(&ba);
    pixDestroy(&clip);
    boxDestroy(&b);
    return hit;
}

/* cell_range - the k-th cell's x range of frame f. */
static void cell_range(const frame *f, int k, double *pa, double *pb)
{
    if (f->dash && k >= f->dash) {
        *pa = f->xb + (k - f->dash) * f->cw;
        *pb = *pa + f->cw;
    } else if (f->dash) {
        *pa = f->x0 + k * f->cwl;
        *pb = *pa + f->cwl;
    } else {
        *pa = f->x0 + k * f->cw;
        *pb = *pa + f->cw;
    }
}

static int filled(PIX *page, const frame *f, int dpi)
{
    double m = f->lw / 2 + 0.02 * dpi;
    double ih = (f->y1 - f->y0) - 2 * m, min_h = fmax(0.35 * ih, 0.08 * dpi);
    for (int k = 0; k < f->cells; k++) {
        double a, b;
        cell_range(f, k, &a, &b);
        if (tall_ink(page, (int)ceil(a + m), (int)ceil(f->y0 + m), (int)floor(b - m), (int)floor(f->y1 - m),
                     min_h))
            return 1;
    }
    return 0;
}

/* comb_cells - the largest N whose N-1 inner separators are all among
 * seps[0..ns), or 1. */
static int comb_cells(double x0, double x1, const double *seps, int ns, double dpi)
{
    int best = 1;
    for (int n = 2; n <= 40; n++) {
        double cw = (x1 - x0) / n, tol = fmax(3, 0.12 * cw);
        int all = 1;
        if (cw < 0.1 * dpi)
            break;
        for (int k = 1; k < n && all; k++) {
            double x = x0 + k * cw;
            int hit = 0;
            for (int j = 0; j < ns && !hit; j++)
                hit = fabs(seps[j] - x) <= tol;
            all = hit;
        }
        if (all)
            best = n;
    }
    return best;
}

static int cmp_top(const void *pa, const void *pb)
{
    const seg_form_field *a = pa, *b = pb;
    return a->r.y < b->r.y ? -1 : a->r.y > b->r.y ? 1 : 0;
}

/* A field's row is kept in min_digits while sorting (set to 1 after). */
static int cmp_row_x(const void *pa, const void *pb)
{
    const seg_form_field *a = pa, *b = pb;
    if (a->min_digits != b->min_digits)
        return a->min_digits < b->min_digits ? -1 : 1;
    return a->r.x < b->r.x ? -1 : a->r.x > b->r.x ? 1 : 0;
}

/* reading_order - rows top to bottom (a field joins the row of the
 * topmost field of it when their spans overlap by half the smaller
 * height), then left to right. */
static void reading_order(seg_form_field *f, int n)
{
    int row = 0;
    if (n < 2)
        return;
    qsort(f, (size_t)n, sizeof *f, cmp_top);
    for (int i = 0, first = 0; i < n; i++) {
        const seg_form_field *a = &f[first], *b = &f[i];
        double ov = fmin(a->r.y + a->r.h, b->r.y + b->r.h) - fmax(a->r.y, b->r.y);
        if (ov < 0.5 * fmin(a->r.h, b->r.h)) {
            row++;
            first = i;
        }
        f[i].min_digits = row;
    }
    qsort(f, (size_t)n, sizeof *f, cmp_row_x);
    for (int i = 0; i < n; i++)
        f[i].min_digits = 1;
}

/* find_frames - rectangles of runs: a top and bottom line with matching
 * ends, a side at each end, no line across. */
static int find_frames(PIX *page, int dpi, const seg_segment *s, int n, int red, frame **pf, int *pnf)
{
    frame *fr = NULL;
    int nf = 0, cap = 0, rc = UTIL_OK;
    double tol = 2 * red + 0.04 * dpi;

    *pf = NULL;
    *pnf = 0;
    for (int i = 0; i < n; i++) {
        const seg_segment *t = &s[i];
        int bj = -1;
        if (t->vert)
            continue;
        for (int j = 0; j < n; j++) {
            const seg_segment *b = &s[j];
            int across = 0;
            double h = b->v - t->v;
            if (b->vert || h < 0.15 * dpi || h > 2.0 * dpi || fabs(t->u0 - b->u0) > tol ||
                fabs(t->u1 - b->u1) > tol || t->u1 - t->u0 < 0.15 * dpi)
                continue;
            if (bj >= 0 && h >= s[bj].v - t->v)
                continue;
            for (int k = 0; k < n && !across; k++) {
                const seg_segment *v = &s[k];
                across = !v->vert && v->v > t->v + tol && v->v < b->v - tol &&
                         fmin(v->u1, t->u1) - fmax(v->u0, t->u0) > 0.5 * (t->u1 - t->u0);
            }
            if (!across)
                bj = j;
        }
        if (bj < 0)
            continue;
        {
            const seg_segment *b = &s[bj];
            double search = 2 * red + 0.02 * dpi + 2, maxth = 0.06 * dpi + 2;
            double y0, y1, x0, x1, th[4];
            frame *f;
            /* Both lines, and a side at each end seen at all three heights. */
            if (refine(page, 0, t->u0, t->u1, t->v, search, maxth, &y0, &th[0]) < 2 ||
                refine(page, 0, b->u0, b->u1, b->v, search, maxth, &y1, &th[1]) < 2 ||
                refine(page, 1, y0, y1, t->u0 + th[0] / 2, search + th[0], maxth, &x0, &th[2]) < 3 ||
                refine(page, 1, y0, y1, t->u1 - th[0] / 2, search + th[0], maxth, &x1, &th[3]) < 3)
                continue;
            if (nf == cap) {
                int nc = cap ? 2 * cap : 16;
                frame *nfr = realloc(fr, (size_t)nc * sizeof *nfr);
                if (!nfr) {
                    rc = UTIL_ENOMEM;
                    goto cleanup;
                }
                fr = nfr;
                cap = nc;
            }
            f = &fr[nf++];
            memset(f, 0, sizeof *f);
            f->x0 = x0;
            f->x1 = x1;
            f->y0 = y0;
            f->y1 = y1;
            f->lw = (th[0] + th[1] + th[2] + th[3]) / 4;
            f->cells = 1;
        }
    }
    /* Separators: columns inked from the top line to the bottom one. */
    for (int i = 0; i < nf; i++) {
        frame *f = &fr[i];
        double seps[MAX_SEPS];
        int ns = separators(page, f, 0.06 * dpi + 2, seps, MAX_SEPS);
        f->cells = comb_cells(f->x0, f->x1, seps, ns, dpi);
        f->cw = f->cwl = (f->x1 - f->x0) / f->cells;
    }
    *pf = fr;
    *pnf = nf;
    fr = NULL;
cleanup:
    free(fr);
    return rc;
}

/* merge_dash - joins a comb and the comb right of it on the same lines,
 * same cell width, half a cell away: a ZIP+4 comb with its dash. */
static void merge_dash(frame *fr, int nf)
{
    for (int i = 0; i < nf; i++) {
        frame *a = &fr[i];
        if (a->gone || a->cells < 2 || a->dash)
            continue;
        for (int j = 0; j < nf; j++) {
            frame *b = &fr[j];
            double gap, tol = fmax(3, 0.1 * a->cw);
            if (j == i || b->gone || b->cells < 2 || b->dash || fabs(a->y0 - b->y0) > tol ||
                fabs(a->y1 - b->y1) > tol || fabs(a->cw - b->cw) > 0.1 * a->cw)
                continue;
            gap = b->x0 - a->x1;
            if (gap < 0.25 * a->cw || gap > 0.85 * a->cw)
                continue;
            a->dash = a->cells;
            a->cells += b->cells;
            a->xb = b->x0;
            a->cwl = a->cw;
            a->cw = b->cw;
            a->x1 = b->x1;
            a->y0 = (a->y0 + b->y0) / 2;
            a->y1 = (a->y1 + b->y1) / 2;
            b->gone = 1;
            break;
        }
    }
}

int seg_auto_fields(PIX *page1, int dpi, seg_form_field **pfields, int *pn)
{
    seg_segment *s = NULL;
    frame *fr = NULL;
    seg_form_field *out = NULL;
    int n = 0, red = 0, nf = 0, no = 0, rc, sev = 0, silenced = 0;

    if (pfields)
        *pfields = NULL;
    if (pn)
        *pn = 0;
    if (!page1 || !pfields || !pn || pixGetDepth(page1) != 1 || dpi < 100 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "auto fields: %s",
                 !page1 || !pfields || !pn ? "NULL argument"
                 : pixGetDepth(page1) != 1 ? "the page is not 1 bpp"
                                           : "resolution outside 100..1200 dpi");
        return UTIL_EINVAL;
    }
    if ((rc = seg_find_segments(page1, dpi, 0.25, 0.15, &s, &n, &red)))
        goto cleanup;
    sev = setMsgSeverity(L_SEVERITY_NONE);
    silenced = 1;
    if ((rc = find_frames(page1, dpi, s, n, red, &fr, &nf))) {
        util_log(UTIL_LOG_ERROR, "auto fields: out of memory");
        goto cleanup;
    }
    /* A frame inside another is handwriting and separators, not a field. */
    for (int i = 0; i < nf; i++)
        for (int j = 0; j < nf && !fr[i].gone; j++) {
            double cx = (fr[i].x0 + fr[i].x1) / 2, cy = (fr[i].y0 + fr[i].y1) / 2;
            if (j != i &&
                (fr[j].x1 - fr[j].x0) * (fr[j].y1 - fr[j].y0) >
                    (fr[i].x1 - fr[i].x0) * (fr[i].y1 - fr[i].y0) &&
                cx > fr[j].x0 && cx < fr[j].x1 && cy > fr[j].y0 && cy < fr[j].y1)
                fr[i].gone = 1;
        }
    merge_dash(fr, nf);
    if (nf > 0 && !(out = calloc((size_t)nf, sizeof *out))) {
        util_log(UTIL_LOG_ERROR, "auto fields: out of memory");
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < nf; i++) {
        const frame *f = &fr[i];
        seg_form_field *o;
        if (f->gone || !filled(page1, f, dpi))
            continue;
        o = &out[no++];
        o->type = SEG_FT_NUMBER;
        o->frame = f->cells >= 2 ? SEG_FRAME_COMB : SEG_FRAME_BOX;
        o->cells = f->cells >= 2 ? f->cells : 0;
        o->dash = f->dash;
        o->r.x = f->x0 / dpi;
        o->r.y = f->y0 / dpi;
        o->r.w = (f->x1 - f->x0) / dpi;
        o->r.h = (f->y1 - f->y0) / dpi;
        o->min_digits = 1;
        o->max_digits = o->cells ? o->cells : (int)fmin(40, fmax(1, lround(o->r.w / 0.15)));
    }
    reading_order(out, no);
    for (int i = 0; i < no; i++)
        snprintf(out[i].name, sizeof out[i].name, "auto%d", i + 1);
    if (no > 0) {
        *pfields = out;
        *pn = no;
        out = NULL;
    }
cleanup:
    if (silenced)
        setMsgSeverity(sev);
    free(out);
    free(fr);
    free(s);
    return rc;
}
