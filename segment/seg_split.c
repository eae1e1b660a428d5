/*
 * seg_split.c - steps a, c, d, e and f of reading a field (seg_split.h):
 * the crop, blobs from connected components, cuts through touching digits,
 * the decimal point or raised cents of an amount, and the assembly of the
 * field's alternative splits with their normalized crops.  Step b, the
 * frame's removal, is in seg_lines.c.
 */
#include "seg_split.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_mnist.h"
#include "util/util.h"

#define MAX_CANDS 4 /* readings kept per blob */
#define FLAG_GAP 0.05 /* a digit's separate top bar: at most this far (digit heights) */
#define FLAG_W 0.8 /* and under this wide (and 0.45 tall) */
#define STUB_PARTS 3     /* a column of stubs: pieces, */
#define STUB_W 0.5      /* width in digit heights, */
#define STUB_COVER 0.6   /* share of rows with ink under this */
#define STUB2_COVER 0.3  /* (under this for two pieces) */
#define RAISED_MISSING 0.1f /* prior kept by an amount's split without the raised cents
                             * another of its splits has */

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------ comb geometry */

static int comb_dash(const seg_form_field *ff)
{
    return ff->dash > 0 && ff->dash < ff->cells ? ff->dash : 0;
}

double seg_comb_cell(const seg_form_field *ff, double w, int k, double *px0, double *px1)
{
    double cw, x0;
    int dash;

    if (px0)
        *px0 = 0.0;
    if (px1)
        *px1 = w;
    if (!ff || ff->frame != SEG_FRAME_COMB || ff->cells < 2 || k < 0 || k >= ff->cells)
        return 0.0;
    dash = comb_dash(ff);
    cw = w / (ff->cells + (dash ? 0.5 : 0.0));
    x0 = k * cw + (dash && k >= dash ? 0.5 * cw : 0.0);
    if (px0)
        *px0 = x0;
    if (px1)
        *px1 = x0 + cw;
    return cw;
}

int seg_comb_cell_at(const seg_form_field *ff, double w, double x)
{
    double cw, u;
    int dash, k;

    if (!ff || ff->frame != SEG_FRAME_COMB || ff->cells < 2)
        return 0;
    dash = comb_dash(ff);
    cw = w / (ff->cells + (dash ? 0.5 : 0.0));
    u = x / cw;
    if (dash && u >= dash + 0.5)
        k = (int)floor(u - 0.5); /* the right group */
    else if (dash && u >= dash)
        k = u >= dash + 0.25 ? dash : dash - 1; /* in the gap: the nearer cell */
    else
        k = (int)floor(u);
    return k < 0 ? 0 : k >= ff->cells ? ff->cells - 1 : k;
}

/* ------------------------------------------------------------ a. crop */

void seg_field_margin(int dpi, int w, int h, int *pmx, int *pmy)
{
    int m = (int)(0.08 * dpi + 0.5);

    *pmx = m + (int)(0.04 * w);
    *pmy = m + (int)(0.04 * h);
}

int seg_field_crop(PIX *page1, int dpi, const BOX *area, PIX **pcrop, int *pox, int *poy)
{
    l_int32 W, H, ax, ay, aw, ah, old;
    int mx, my, x0, y0, x1, y1, rc = UTIL_OK;
    BOX *b = NULL;

    *pcrop = NULL;
    *pox = *poy = 0;
    if (!page1 || pixGetDepth(page1) != 1 || !area || dpi < 50 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "seg_field_crop: a 1-bpp page, an area and a dpi in 50..1200 "
                                 "are needed");
        return UTIL_EINVAL;
    }
    pixGetDimensions(page1, &W, &H, NULL);
    boxGetGeometry((BOX *)area, &ax, &ay, &aw, &ah);
    seg_field_margin(dpi, aw, ah, &mx, &my);
    x0 = imax(0, ax - mx);
    y0 = imax(0, ay - my);
    x1 = imin(W, ax + aw + mx);
    y1 = imin(H, ay + ah + my);
    if (aw < 1 || ah < 1 || x1 - x0 < 2 || y1 - y0 < 2 || ax >= W || ay >= H || ax + aw <= 0 ||
        ay + ah <= 0) {
        util_log(UTIL_LOG_ERROR, "seg_field_crop: area %dx%d+%d+%d misses the %dx%d page", aw, ah,
                 ax, ay, W, H);
        return UTIL_EINVAL;
    }
    old = setMsgSeverity(L_SEVERITY_NONE);
    b = boxCreate(x0, y0, x1 - x0, y1 - y0);
    *pcrop = b ? pixClipRectangle(page1, b, NULL) : NULL;
    setMsgSeverity(old);
    boxDestroy(&b);
    if (!*pcrop) {
        util_log(UTIL_LOG_ERROR, "seg_field_crop: out of memory");
        rc = UTIL_ENOMEM;
    } else {
        *pox = x0;
        *poy = y0;
    }
    return rc;
}

/* ----------------------------------------------------------- c. blobs */

void seg_blobs_destroy(seg_blobs **pb)
{
    if (!pb || !*pb)
        return;
    for (int i = 0; i < (*pb)->n; i++)
        pixDestroy(&(*pb)->v[i].pix);
    free((*pb)->v);
    free(*pb);
    *pb = NULL;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_blob_x(const void *a, const void *b)
{
    const seg_blob *p = a, *q = b;
    int x = 2 * p->x + p->w, y = 2 * q->x + q->w;
    return (x > y) - (x < y);
}

/* The union of blobs a and b into a (b's image freed). */
static int blob_merge(seg_blob *a, seg_blob *b)
{
    int x0 = imin(a->x, b->x), y0 = imin(a->y, b->y);
    int x1 = imax(a->x + a->w, b->x + b->w), y1 = imax(a->y + a->h, b->y + b->h);
    PIX *u = pixCreate(x1 - x0, y1 - y0, 1);

    if (!u)
        return UTIL_ENOMEM;
    pixRasterop(u, a->x - x0, a->y - y0, a->w, a->h, PIX_SRC | PIX_DST, a->pix, 0, 0);
    pixRasterop(u, b->x - x0, b->y - y0, b->w, b->h, PIX_SRC | PIX_DST, b->pix, 0, 0);
    pixDestroy(&a->pix);
    pixDestroy(&b->pix);
    a->pix = u;
    a->x = x0;
    a->y = y0;
    a->w = x1 - x0;
    a->h = y1 - y0;
    a->parts += b->parts;
    return UTIL_OK;
}

/* The share of the rows of b holding ink. */
static double row_cover(const seg_blob *b)
{
    l_uint32 *data = pixGetData(b->pix);
    int wpl = pixGetWpl(b->pix), rows = 0;

    for (int y = 0; y < b->h; y++) {
        const l_uint32 *line = data + y * wpl;
        for (int k = 0; k < wpl; k++)
            if (line[k]) {
                rows++;
                break;
            }
    }
    return b->h > 0 ? (double)rows / b->h : 0.0;
}

/* A column of stubs: at least 3 pieces merged for their overlap in x into a
 * narrow blob with ink on under 70 % of its rows -- the bits of a security
 * background's hatching restored across a removed vertical frame line, not
 * a digit (whose broken pieces leave few rows without ink). */
static int stub_column(const seg_blob *b, int dh)
{
    double cover;
    if (b->parts < 2 || b->w >= STUB_W * dh)
        return 0;
    cover = row_cover(b);
    return b->parts >= STUB_PARTS ? cover < STUB_COVER : cover < STUB2_COVER;
}

/* Whether the short piece p (under 0.45 digit heights tall, FLAG_W wide)
 * is the separate top bar of digit d (a 5's flag, a 7's bar): in the upper
 * half of the digits' band, level with d's top, touching or nearly
 * touching d's box from the side. */
static int flag_of(const seg_blob *p, const seg_blob *d, int dh, int base)
{
    int gap = imax(p->x, d->x) - imin(p->x + p->w, d->x + d->w); /* < 0: overlap */
    return d->h >= 0.6 * dh && p->y + p->h <= base - 0.5 * dh && gap <= FLAG_GAP * dh &&
           p->y + p->h >= d->y - 0.05 * dh && p->y <= d->y + 0.25 * dh;
}

/* A small compact mark low in the digits' band: a decimal point or comma. */
static int point_like(const seg_blob *b, int dh, int base)
{
    return b->w <= 0.35 * dh && b->h <= 0.4 * dh && b->y >= base - 0.5 * dh &&
           b->y + b->h >= base - 0.3 * dh;
}

/* Whether b is a short piece: under 0.45 digit heights tall and under wmax
 * digit heights wide (a small piece with SMALL_W, a top bar with FLAG_W). */
#define SMALL_W 0.6
static int short_piece(const seg_blob *b, int dh, double wmax)
{
    return b->h < 0.45 * dh && b->w < wmax * dh;
}

/* Whether b is flat: at most 0.3 digit heights tall and 1.5 times as wide
 * as tall (a dash, an underline, a frame's remnant). */
static int flat_piece(const seg_blob *b, int dh)
{
    return b->h <= 0.3 * dh && b->w >= 1.5 * b->h;
}

/* Kinds a piece of a comb the template wants full has until
 * comb_spares() settles it: a mark, or a small piece to drop, unless it is
 * an empty cell's digit. */
#define SPARE_MARK 98
#define SPARE_DROP 99

/* Settles the spare pieces of v[0..*pn-1] (left to right, in a comb ff
 * whose writing area starts at ix and is iw wide, the template wanting
 * every cell filled): where the digit blobs (one as wide as k cells fills
 * k) leave cells empty but fill at least half, a spare piece alone in an
 * empty cell becomes its digit; the other spares become marks or are
 * dropped (their images freed, v packed, *pn updated).  (Seed 7 read 1
 * field more at 300 dpi, 2 at 200; seeds 3/5/9/13 the same, crops of
 * seed 9 +2.) */
static void comb_spares(seg_blob *v, int *pn, const seg_form_field *ff, int ix, int iw)
{
    int used[64] = {0}, nused = 0, k = 0;
    double cw = seg_comb_cell(ff, iw, 0, NULL, NULL);

    /* the cells the digits fill: a blob as wide as k cells fills k */
    for (int i = 0; i < *pn; i++)
        if (v[i].kind == SEG_BLOB_DIGIT) {
            int span = imax(1, (int)lround(v[i].w / cw));
            double step = (double)v[i].w / span;
            for (int j = 0; j < span; j++) {
                int c = seg_comb_cell_at(ff, iw, v[i].x + (j + 0.5) * step - ix);
                nused += !used[c];
                used[c] = 1;
            }
        }
    for (int i = 0; i < *pn; i++) {
        seg_blob *b = &v[i];
        if (b->kind == SPARE_MARK || b->kind == SPARE_DROP) {
            int c = seg_comb_cell_at(ff, iw, b->x + 0.5 * b->w - ix);
            if (!used[c] && nused < ff->cells && 2 * nused >= ff->cells) {
                b->kind = SEG_BLOB_DIGIT;
                used[c] = 1;
                nused++;
            } else if (b->kind == SPARE_MARK) {
                b->kind = SEG_BLOB_MARK;
            } else {
                pixDestroy(&b->pix);
                continue;
            }
        }
        v[k++] = *b;
    }
    *pn = k;
}

/* More digit blobs in v[0..*pn-1] (left to right) than the max the
 * template allows: the two next to each other (nothing but marks between)
 * that together are narrowest merge, while that union is at most
 * MERGE_EXCESS_W digit heights wide and there are too many (a digit
 * broken into two strokes side by side; seed 7 one field more at each
 * dpi, seed 5 one more, seeds 3/9/13 the same). */
#define MERGE_EXCESS_W 0.9
static int merge_excess(seg_blob *v, int *pn, int max, int dh)
{
    for (;;) {
        int nd = 0, best = -1, bw = 0, prev = -1, pbest = -1;
        for (int i = 0; i < *pn; i++) {
            if (v[i].kind == SEG_BLOB_POINT)
                prev = -1;
            if (v[i].kind != SEG_BLOB_DIGIT)
                continue;
            nd++;
            if (prev >= 0) {
                int uw = imax(v[i].x + v[i].w, v[prev].x + v[prev].w) - imin(v[i].x, v[prev].x);
                if (uw <= MERGE_EXCESS_W * dh && (best < 0 || uw < bw))
                    best = i, pbest = prev, bw = uw;
            }
            prev = i;
        }
        if (nd <= max || best < 0)
            return UTIL_OK;
        if (blob_merge(&v[pbest], &v[best]))
            return UTIL_ENOMEM;
        memmove(&v[best], &v[best + 1], (size_t)(*pn - best - 1) * sizeof *v);
        (*pn)--;
    }
}

static int blobs_find_impl(PIX *clean1, int dpi, const BOX *inner, const seg_form_field *ff,
                           seg_blobs *bl)
{
    BOXA *boxa = NULL;
    PIXA *pixa = NULL;
    l_int32 ix, iy, iw, ih;
    int n = 0, *hs = NULL, nh = 0, dh, base, rc = UTIL_OK;
    int speck = imax(2, (int)(0.015 * dpi + 0.5));
    int sliver = imax(1, (int)(0.015 * dpi)); /* a frame remnant's widest */
    double tol = 0.03 * dpi;
    int amount = ff->type == SEG_FT_AMOUNT;
    int cells = ff->frame == SEG_FRAME_COMB && ff->cells > 1 ? ff->cells : 0;
    seg_blob *v = NULL;

    boxGetGeometry((BOX *)inner, &ix, &iy, &iw, &ih);
    if (!(boxa = pixConnComp(clean1, &pixa, 8)))
        goto nomem;
    n = boxaGetCount(boxa);
    v = calloc((size_t)imax(n, 1), sizeof *v);
    hs = calloc((size_t)imax(n, 1), sizeof *hs);
    if (!v || !hs)
        goto nomem;
    /* Components: specks and those centered outside the area dropped, and
     * slivers no wider than 0.015 inch that reach across the area's left or
     * right edge: what the removal of a box's sides left of them (at 200
     * dpi a 1x6 or 2x43 piece, or a whole 3x87 side the line search
     * missed), which read as a sure 1 (an empty box read "1" at 0.9999).
     * On seeds 3/5/9/13 at 300 and 200 dpi, 7 and 11 no glyph of a field
     * read right is one; four of 200-dpi fields read wrong were. */
    for (int i = 0; i < n; i++) {
        l_int32 x, y, w, h;
        double cx, cy;
        boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h);
        cx = x + 0.5 * w;
        cy = y + 0.5 * h;
        if (imax(w, h) < speck || cx < ix - tol || cx > ix + iw + tol || cy < iy - tol ||
            cy > iy + ih + tol)
            continue;
        if (w <= sliver && (x <= ix || x + w >= ix + iw))
            continue;
        v[bl->n] = (seg_blob){x, y, w, h, SEG_BLOB_DIGIT, 1, pixaGetPix(pixa, i, L_CLONE)};
        bl->n++;
    }
    if (bl->n == 0)
        goto done;
    /* The typical digit: median height of the tall components, base line
     * the median bottom of those. */
    for (int i = 0; i < bl->n; i++)
        if (v[i].h >= 0.35 * ih)
            hs[nh++] = v[i].h;
    if (nh == 0)
        for (int i = 0; i < bl->n; i++)
            hs[0] = imax(hs[0], v[i].h), nh = 1;
    qsort(hs, (size_t)nh, sizeof *hs, cmp_int);
    dh = imax(1, hs[nh / 2]);
    nh = 0;
    for (int i = 0; i < bl->n; i++)
        if (v[i].h >= 0.6 * dh)
            hs[nh++] = v[i].y + v[i].h;
    qsort(hs, (size_t)imax(nh, 1), sizeof *hs, cmp_int);
    base = nh ? hs[nh / 2] : iy + ih;
    int nbase = nh;

    /* A comb's printed dash (ZIP+4): a low piece across the boundary after
     * cell ff->dash, in the middle of the height; it merges with nothing. */
    if (cells && comb_dash(ff)) {
        double x0, cw = seg_comb_cell(ff, iw, ff->dash - 1, NULL, &x0);
        double dx = ix + x0 + 0.25 * cw; /* the gap's middle */
        for (int i = 0; i < bl->n; i++) {
            seg_blob *b = &v[i];
            double cx = b->x + 0.5 * b->w, cy = b->y + 0.5 * b->h;
            /* (in an empty comb the dash is the tallest ink: dh says nothing) */
            if (fabs(cx - dx) < 0.3 * cw && (b->h <= 0.35 * dh || b->h <= 0.15 * ih) &&
                b->w <= 0.6 * cw &&
                cy > iy + 0.2 * ih && cy < iy + 0.8 * ih)
                b->kind = SEG_BLOB_MARK;
        }
    }

    /* A flat piece wholly above the digits' band or wholly below their
     * base line (what a frame's removal left of a security pattern crossing
     * the frame: a row of ticks on a thin bar) is no piece of a digit: a
     * mark, merged with nothing.  (Merged, it put bars over and under the
     * digits' crops; as a mark, seeds 3/5/9/13 read 0/2/2/4 fields more.
     * A 6 broken so that its loop hangs wholly below its stem's bottom
     * loses the loop.)  Only where two digits or more set the base line:
     * one digit's own bottom says nothing of what lies under the digits (a
     * field of one 6 whose loop hangs so lost it: seed 3 one field more). */
    for (int i = 0; i < bl->n; i++) {
        seg_blob *b = &v[i];
        if (b->kind == SEG_BLOB_DIGIT && nbase >= 2 && flat_piece(b, dh) &&
            (b->y + b->h < base - 1.05 * dh || b->y > base + 0.1 * dh))
            b->kind = SEG_BLOB_MARK;
    }

    /* Merge broken pieces of one digit until nothing changes. */
    qsort(v, (size_t)bl->n, sizeof *v, cmp_blob_x);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < bl->n && !changed; i++)
            for (int j = i + 1; j < bl->n && !changed; j++) {
                seg_blob *a = &v[i], *b = &v[j];
                int ov = imin(a->x + a->w, b->x + b->w) - imax(a->x, b->x);
                int mw = imin(a->w, b->w), merge = 0;
                if (a->kind == SEG_BLOB_MARK || b->kind == SEG_BLOB_MARK)
                    continue;
                int pa = amount && point_like(a, dh, base);
                int pb = amount && point_like(b, dh, base);
                int sa = short_piece(a, dh, SMALL_W), sb = short_piece(b, dh, SMALL_W);
                /* a top bar may be wider than a small piece (a 5's flag
                 * drawn long: seeds 3/5/9/13 text +1/+1/+0/+1, seed 7
                 * +2 at both dpi) */
                int fa = short_piece(a, dh, FLAG_W), fb = short_piece(b, dh, FLAG_W);
                if (cells && !pa && !pb) {
                    int ca = seg_comb_cell_at(ff, iw, a->x + 0.5 * a->w - ix);
                    int cb = seg_comb_cell_at(ff, iw, b->x + 0.5 * b->w - ix);
                    merge = ca == cb;
                } else if (pa || pb) {
                    /* a point merges only when it lies within a digit's
                     * columns, or half in them and well above the digit's
                     * bottom (a piece of the digit: a point is written on
                     * the base line) */
                    const seg_blob *pt = pa ? a : b, *dg = pa ? b : a;
                    merge = ov > 0 && (ov >= 0.9 * pt->w ||
                                       (ov >= 0.5 * pt->w && !(pa && pb) &&
                                        pt->y + pt->h <= dg->y + dg->h - 0.2 * dh));
                } else {
                    /* pieces sharing half the narrower one's columns, or
                     * a third where the two together are no wider than a
                     * wide digit (a 6 broken between its stem and its
                     * loop; seeds 3/5/9/13 read one field more each) */
                    int uw = imax(a->x + a->w, b->x + b->w) - imin(a->x, b->x);
                    merge = ov >= 0.5 * mw || (ov >= 0.35 * mw && uw <= 1.25 * dh) ||
                            ((sa || sb) && ov >= 0.2 * mw && ov > 0) ||
                            (fa != fb && flag_of(fa ? a : b, fa ? b : a, dh, base));
                }
                if (merge) {
                    if (blob_merge(a, b))
                        goto nomem;
                    memmove(b, b + 1, (size_t)(bl->n - j - 1) * sizeof *b);
                    bl->n--;
                    changed = 1;
                }
            }
    }

    /* What each blob is; small isolated pieces are dropped -- except in a
     * comb the template wants full whose digits leave cells empty: there a
     * piece alone in an empty cell, small or flat, is that cell's digit (a
     * 7 written flat, a 6 the scan left a hook of). */
    {
        int k = 0, seen_digit = 0, full = cells && cells <= 64 && !amount &&
                                         ff->min_digits == cells;
        for (int i = 0; i < bl->n; i++) {
            seg_blob *b = &v[i];
            int small = short_piece(b, dh, SMALL_W);
            int flat = flat_piece(b, dh);
            if (b->kind == SEG_BLOB_MARK)
                ; /* the dash, a frame's remnant */
            else if (stub_column(b, dh)) {
                pixDestroy(&b->pix);
                continue;
            } else if (amount && seen_digit && point_like(b, dh, base) &&
                     (!flat || (b->w <= 0.3 * dh && 3 * b->h >= b->w)))
                /* (a point can come out flat where the frame's removal took
                 * its lower half) */
                b->kind = SEG_BLOB_POINT;
            else if (flat && b->parts == 1)
                b->kind = full ? SPARE_MARK : SEG_BLOB_MARK;
            else if (small && full)
                b->kind = SPARE_DROP;
            else if (small) {
                pixDestroy(&b->pix);
                continue;
            } else {
                b->kind = SEG_BLOB_DIGIT;
                seen_digit = 1;
            }
            v[k++] = *b;
        }
        bl->n = k;
        if (full)
            comb_spares(v, &bl->n, ff, ix, iw);
    }
    if (!cells && ff->max_digits > 0 && (rc = merge_excess(v, &bl->n, ff->max_digits, dh)))
        goto nomem;
    bl->v = v;
    v = NULL;
    bl->digit_h = dh;
    bl->base_y = base;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "field %s: out of memory finding blobs", ff->name);
    rc = UTIL_ENOMEM;
done:
    if (v) {
        for (int i = 0; i < bl->n; i++)
            pixDestroy(&v[i].pix);
        free(v);
        bl->n = 0;
    }
    free(hs);
    boxaDestroy(&boxa);
    pixaDestroy(&pixa);
    return rc;
}

int seg_blobs_find(PIX *clean1, int dpi, const BOX *inner, const seg_form_field *ff,
                   seg_blobs **pb)
{
    l_int32 old;
    int rc;

    *pb = NULL;
    if (!clean1 || pixGetDepth(clean1) != 1 || !inner || !ff || dpi < 50 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "seg_blobs_find: a 1-bpp image, its area, a field and a dpi in "
                                 "50..1200 are needed");
        return UTIL_EINVAL;
    }
    if (!(*pb = calloc(1, sizeof **pb))) {
        util_log(UTIL_LOG_ERROR, "field %s: out of memory", ff->name);
        return UTIL_ENOMEM;
    }
    old = setMsgSeverity(L_SEVERITY_NONE);
    rc = blobs_find_impl(clean1, dpi, inner, ff, *pb);
    setMsgSeverity(old);
    if (rc)
        seg_blobs_destroy(pb);
    return rc;
}

/* ------------------------------------------------------------ d. cuts */

int seg_split_valleys(PIX *glyph1, int k, int *cuts)
{
    l_int32 w, h, old;
    NUMA *na = NULL;
    float *s = NULL;
    int rc = UTIL_OK;

    if (!glyph1 || pixGetDepth(glyph1) != 1 || k < 2) {
        util_log(UTIL_LOG_ERROR, "seg_split_valleys: a 1-bpp glyph and k >= 2 are needed");
        return UTIL_EINVAL;
    }
    pixGetDimensions(glyph1, &w, &h, NULL);
    old = setMsgSeverity(L_SEVERITY_NONE);
    na = pixCountPixelsByColumn(glyph1);
    setMsgSeverity(old);
    s = calloc((size_t)w, sizeof *s);
    if (!na || !s) {
        util_log(UTIL_LOG_ERROR, "seg_split_valleys: out of memory");
        rc = UTIL_ENOMEM;
        goto done;
    }
    for (int x = 0; x < w; x++) {
        float sum = 0.0f, v;
        int m = 0;
        for (int d = -1; d <= 1; d++)
            if (x + d >= 0 && x + d < w && numaGetFValue(na, x + d, &v) == 0)
                sum += v, m++;
        s[x] = m ? sum / m : 0.0f;
    }
    for (int j = 1; j < k; j++) {
        int e = (int)lround((double)w * j / k), win = imax(1, w / (4 * k)), best = e;
        float bc = 1e30f;
        for (int x = imax(1, e - win); x <= imin(w - 1, e + win); x++) {
            float c = s[x] + 0.01f * (float)abs(x - e);
            if (c < bc)
                bc = c, best = x;
        }
        cuts[j - 1] = best;
    }
done:
    numaDestroy(&na);
    free(s);
    return rc;
}

/* Moves the components of *pfrom smaller than 10 % of its largest into *pto. */
static int move_fragments(PIX *from, PIX *to)
{
    PIXA *pa = NULL;
    BOXA *ba = pixConnComp(from, &pa, 8);
    int n, *area = NULL, big = 0;

    if (!ba)
        return UTIL_ENOMEM;
    n = boxaGetCount(ba);
    area = calloc((size_t)imax(n, 1), sizeof *area);
    if (!area) {
        boxaDestroy(&ba);
        pixaDestroy(&pa);
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        PIX *p = pixaGetPix(pa, i, L_CLONE);
        l_int32 c = 0;
        pixCountPixels(p, &c, NULL);
        area[i] = c;
        big = imax(big, c);
        pixDestroy(&p);
    }
    for (int i = 0; i < n; i++) {
        if (area[i] * 10 >= big)
            continue;
        l_int32 x, y, w, h;
        PIX *p = pixaGetPix(pa, i, L_CLONE);
        boxaGetBoxGeometry(ba, i, &x, &y, &w, &h);
        pixRasterop(from, x, y, w, h, PIX_NOT(PIX_SRC) & PIX_DST, p, 0, 0);
        pixRasterop(to, x, y, w, h, PIX_SRC | PIX_DST, p, 0, 0);
        pixDestroy(&p);
    }
    free(area);
    boxaDestroy(&ba);
    pixaDestroy(&pa);
    return UTIL_OK;
}

int seg_split_cut(PIX *glyph1, int x, int win, PIX **pleft, PIX **pright, int *pink)
{
    l_int32 w, h, wpl, old;
    int a, b, n, rc = UTIL_OK, ink = 0;
    float *prev = NULL, *cur = NULL;
    signed char *back = NULL;
    int *path = NULL;
    PIX *mask = NULL, *left = NULL, *right = NULL;
    l_uint32 *data;

    *pleft = *pright = NULL;
    if (pink)
        *pink = 0;
    if (!glyph1 || pixGetDepth(glyph1) != 1 || win < 0) {
        util_log(UTIL_LOG_ERROR, "seg_split_cut: a 1-bpp glyph is needed");
        return UTIL_EINVAL;
    }
    pixGetDimensions(glyph1, &w, &h, NULL);
    if (x < 1 || x >= w) {
        util_log(UTIL_LOG_ERROR, "seg_split_cut: column %d outside 1..%d", x, w - 1);
        return UTIL_EINVAL;
    }
    old = setMsgSeverity(L_SEVERITY_NONE);
    a = imax(1, x - win);
    b = imin(w - 1, x + win);
    n = b - a + 1;
    prev = malloc((size_t)n * sizeof *prev);
    cur = malloc((size_t)n * sizeof *cur);
    back = malloc((size_t)n * (size_t)h);
    path = malloc((size_t)h * sizeof *path);
    if (!prev || !cur || !back || !path)
        goto nomem;
    data = pixGetData(glyph1);
    wpl = pixGetWpl(glyph1);
    /* Dynamic programming, row by row: the path's column c takes pixel
     * (c, y) to the right side. */
    for (int y = 0; y < h; y++) {
        const l_uint32 *line = data + y * wpl;
        for (int i = 0; i < n; i++) {
            int c = a + i;
            float cost = (GET_DATA_BIT(line, c) ? 20.0f : 1.0f) + 0.02f * (float)abs(c - x);
            float best = 0.0f;
            int dir = 0;
            if (y > 0) {
                best = prev[i];
                if (i > 0 && prev[i - 1] + 0.4f < best)
                    best = prev[i - 1] + 0.4f, dir = -1;
                if (i < n - 1 && prev[i + 1] + 0.4f < best)
                    best = prev[i + 1] + 0.4f, dir = 1;
            }
            cur[i] = best + cost;
            back[(size_t)y * n + i] = (signed char)dir;
        }
        float *t = prev;
        prev = cur;
        cur = t;
    }
    {
        int bi = 0;
        for (int i = 1; i < n; i++)
            if (prev[i] < prev[bi])
                bi = i;
        for (int y = h - 1; y >= 0; y--) {
            path[y] = a + bi;
            bi += back[(size_t)y * n + bi];
        }
    }
    if (!(mask = pixCreate(w, h, 1)))
        goto nomem;
    for (int y = 0; y < h; y++) {
        pixRasterop(mask, 0, y, path[y], 1, PIX_SET, NULL, 0, 0);
        ink += GET_DATA_BIT(data + y * wpl, path[y]) != 0;
    }
    if (!(left = pixAnd(NULL, glyph1, mask)) || !(right = pixSubtract(NULL, glyph1, left)) ||
        move_fragments(left, right) || move_fragments(right, left))
        goto nomem;
    *pleft = left;
    *pright = right;
    left = right = NULL;
    if (pink)
        *pink = ink;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "seg_split_cut: out of memory");
    rc = UTIL_ENOMEM;
done:
    setMsgSeverity(old);
    free(prev);
    free(cur);
    free(back);
    free(path);
    pixDestroy(&mask);
    pixDestroy(&left);
    pixDestroy(&right);
    return rc;
}

/* ------------------------------------------------------- e, f. a field */

/* One way of reading a blob: n glyphs left to right, with its belief. */
typedef struct cand {
    int n;
    seg_glyph *g;
    float p;
} cand;

typedef struct slot {
    int nc;
    cand c[MAX_CANDS];
    float cx;  /* the blob's center, crop pixels */
    int cents; /* the blob may hold cents digits merged: its alternatives first */
} slot;

/* Appends the glyph held by sub (an image the size of blob b) to c. */
static int cand_add(cand *c, PIX *sub, const seg_blob *b, int ox, int oy)
{
    PIX *tight = NULL;
    BOX *tb = NULL;
    seg_glyph *g;
    l_int32 x, y, w, h;
    int rc;

    if (pixClipToForeground(sub, &tight, &tb) || !tight)
        return UTIL_OK; /* nothing there */
    g = realloc(c->g, (size_t)(c->n + 1) * sizeof *g);
    if (!g) {
        pixDestroy(&tight);
        boxDestroy(&tb);
        return UTIL_ENOMEM;
    }
    c->g = g;
    g = &c->g[c->n];
    boxGetGeometry(tb, &x, &y, &w, &h);
    g->x = ox + b->x + x;
    g->y = oy + b->y + y;
    g->w = w;
    g->h = h;
    rc = seg_mnist_normalize(tight, g->crop);
    pixDestroy(&tight);
    boxDestroy(&tb);
    if (rc == UTIL_OK)
        c->n++;
    return rc;
}

/* Reading blob b as k digits cut at cuts[0..k-2].  A cut with no column
 * to fall in (a blob one pixel wide, as a comb separator's remnant can
 * be) makes the reading bad, not the field's reading fail. */
static int cand_cut(cand *c, const seg_blob *b, int k, const int *cuts, int ox, int oy,
                    int *pbad)
{
    PIX *rest = pixClone(b->pix), *l = NULL, *r = NULL;
    int rc = UTIL_OK, win = imax(2, b->w / (5 * k));

    *pbad = 0;
    for (int j = 0; j < k - 1 && rc == UTIL_OK; j++) {
        if (cuts[j] < 1 || cuts[j] >= (int)pixGetWidth(rest)) {
            *pbad = 1;
            break;
        }
        rc = seg_split_cut(rest, cuts[j], win, &l, &r, NULL);
        if (rc)
            break;
        l_int32 nl = 0;
        pixCountPixels(l, &nl, NULL);
        if (nl == 0)
            *pbad = 1;
        rc = cand_add(c, l, b, ox, oy);
        pixDestroy(&l);
        pixDestroy(&rest);
        rest = r;
        r = NULL;
    }
    if (rc == UTIL_OK)
        rc = cand_add(c, rest, b, ox, oy);
    if (c->n != k)
        *pbad = 1;
    pixDestroy(&rest);
    return rc;
}

static void slot_clear(slot *s)
{
    for (int i = 0; i < s->nc; i++)
        free(s->c[i].g);
    s->nc = 0;
}

/* One way of cutting a blob in two: where, the ink crossed (in stroke
 * widths), the two parts' ink boxes, and the share of the left part's
 * middle rows (its middle half) with no ink in its right half: near 1 for
 * a "(" (the left arc of a 0 or a 6 cut through), lower for a whole digit
 * on the left of two. */
typedef struct pcut {
    int x;
    float ink, hollow;
    int lw, lh, rw, rh, ly, ry;
} pcut;

/* The share of the middle rows of the 1-bpp image t (its ink box) with no
 * ink in its right half. */
static float right_hollow(PIX *t)
{
    l_int32 w, h, wpl = pixGetWpl(t), rows = 0, empty = 0;
    l_uint32 *data = pixGetData(t);

    pixGetDimensions(t, &w, &h, NULL);
    for (int y = h / 4; y < h - h / 4; y++, rows++) {
        int any = 0;
        for (int x = w / 2; x < w && !any; x++)
            any = GET_DATA_BIT(data + y * wpl, x);
        empty += !any;
    }
    return rows ? (float)empty / (float)rows : 0.0f;
}

/* The cut of b in two at column x (window win) measured into *pc. */
static int pcut_at(const seg_blob *b, int x, int win, float sw, pcut *pc)
{
    PIX *l = NULL, *r = NULL, *t = NULL;
    BOX *lb = NULL, *rb = NULL;
    int ink = 0, rc;

    memset(pc, 0, sizeof *pc);
    pc->x = x;
    if ((rc = seg_split_cut(b->pix, x, win, &l, &r, &ink)))
        return rc;
    pc->ink = sw > 0 ? (float)ink / sw : 0.0f;
    if (pixClipToForeground(l, &t, &lb) == 0 && lb) {
        boxGetGeometry(lb, NULL, &pc->ly, &pc->lw, &pc->lh);
        pc->hollow = right_hollow(t);
    }
    pixDestroy(&t);
    if (pixClipToForeground(r, &t, &rb) == 0 && rb)
        boxGetGeometry(rb, NULL, &pc->ry, &pc->rw, &pc->rh);
    pixDestroy(&t);
    pixDestroy(&l);
    pixDestroy(&r);
    boxDestroy(&lb);
    boxDestroy(&rb);
    return UTIL_OK;
}

/* How b looks cut in two: the cut crossing the least ink among those at
 * 1/8 .. 7/8 of its width whose two parts are both at least 45 % of its
 * height and 25 % of a digit's height wide.  (At 10 % the cheapest cut of
 * two touching cents such as "99" was often a path around the first loop's
 * edge, a sliver and the rest; at 25 % seeds 3/5/9/13 read 4 more fields
 * and 10 more crops right, seed 3 at 200 dpi 2 more fields.)  *pc->x is 0
 * when there is none. */
static int pair_cut(const seg_blob *b, int dh, pcut *best)
{
    float ratio = 0.0f, sw;
    int win = imax(1, b->w / 12), rc;

    memset(best, 0, sizeof *best);
    if (b->w < 6)
        return UTIL_OK;
    if ((rc = seg_mnist_stroke_ratio(b->pix, &ratio)))
        return rc;
    sw = ratio * (float)imax(b->w, b->h);
    for (int i = 1; i < 8; i++) {
        pcut pc;
        int x = b->w * i / 8;
        if (x < 1 || x >= b->w)
            continue;
        if ((rc = pcut_at(b, x, win, sw, &pc)))
            return rc;
        if (imin(pc.lh, pc.rh) >= 0.45 * b->h && imin(pc.lw, pc.rw) >= 0.25 * dh &&
            (best->x == 0 || pc.ink < best->ink))
            *best = pc;
    }
    return UTIL_OK;
}

/* The width of one digit in a blob of several touching (slot_fill), in
 * digit heights: the median width of the field's other digit blobs
 * (other_width), held to DIGIT_W_MIN..DIGIT_W_MAX, or DIGIT_W_MAX where
 * there are none.  (0.72 of a digit height for every blob before: a blob
 * 2.0-2.3 digit heights wide, two wide digits, was cut in three.  Seeds
 * 3/5/9/13 count exact 845/848/892/953 -> 845/849/892/954, text after the
 * choice 797/799/865/901 -> 797/799/865/901, ingest 797/800/866/901 ->
 * 797/801/866/901; DIGIT_W_MAX alone for every blob: counts +3 but seed 9
 * one field fewer.) */
#define DIGIT_W_MIN 0.72
#define DIGIT_W_MAX 0.9

/* A best cut whose left part has no ink in its right half over at least
 * HOLLOW_MIN of its middle rows, and is at least HOLLOW_W digit heights
 * wide, cuts one digit's loop, a 0 or a 6 broken thin at the top and the
 * bottom, more often than two digits apart: the odds of two are multiplied
 * by HOLLOW_ODDS (its arc "(" read as a 1 and 16.85 read with five digits).
 * Seeds 3/5/9/13 count exact and text after the choice +0/+0/+0/+1
 * (HOLLOW_MIN 0.8-0.9 the same, 0.95 nothing; HOLLOW_ODDS 0.1 and 0.2 lost
 * a field of seed 5 after the choice; the mirror test on the right part, a
 * ")", lost one).  Without HOLLOW_W, a 1 touching the digit after it, its
 * part as narrow as a third of a digit height, passed too: a 12 of seed 11
 * (the README's ingest set, looked at for this) read as a 2 with 0.976 and
 * seed 9's 595 read as 58 rose in confidence (read rates -1.95 and -0.77
 * points); the arcs that were meant are 0.44-0.56 digit heights wide. */
#define HOLLOW_MIN 0.85
#define HOLLOW_ODDS 0.3
#define HOLLOW_W 0.4

/* The belief (0..1) that blob b is two touching digits rather than one,
 * from its shape, its best cut in two and its width against medw, the
 * median width of the field's other digit blobs (other_width; 0: none;
 * all of them when it was fitted): a logistic fit on generated pages
 * (seeds 3 and 5, checked on 9 and 13; every blob of the one-or-two kind
 * in fields where a split of the right count read as written, labelled by
 * how many of that split's glyphs it holds), its
 * intercept moved so that 0.5 is where the errors on seeds 3-13 were
 * fewest (0.4 of the fit); less where the cut's left part is a hollow arc
 * (HOLLOW_MIN, HOLLOW_W). */
static float pair_belief(const seg_blob *b, int dh, const pcut *pc, double medw)
{
    double a = (double)b->w / b->h, r = (double)b->w / dh, ink = 4.0, minh = 0.0, minw = 0.0, z;
    double relw = medw > 0 ? b->w / medw : 1.0;
    if (pc->x > 0) {
        ink = pc->ink < 4.0f ? pc->ink : 4.0;
        minh = (double)imin(pc->lh, pc->rh) / b->h;
        minw = (double)imin(pc->lw, pc->rw) / dh;
    }
    z = -7.565 + 2.508 * a + 2.446 * r - 2.211 * ink + 5.793 * minh - 2.794 * minw -
        0.184 * (b->parts > 1) + 0.215 * relw - 0.045 * (medw > 0);
    if (pc->x > 0 && pc->hollow >= HOLLOW_MIN && pc->lw >= HOLLOW_W * dh)
        z += log(HOLLOW_ODDS);
    return (float)(1.0 / (1.0 + exp(-z)));
}

/* The readings of one digit blob: whole, or cut into k digits.  cents: the
 * amount has fewer cents digit blobs than it should and this blob may hold
 * two of them (or the last integer digit and a cent), so its reading as two
 * is kept with a belief of at least 0.3.  short_count: the field's blobs
 * hold fewer digits than its template requires (in a comb: and this blob
 * lies beside an empty cell), so a reading as two weighs more; sep_x: in
 * such a comb blob, the column of that cell's separator, the first place
 * to cut it when it lies in the blob's middle three fifths (0: none). */
static int slot_fill(slot *s, const seg_blob *b, int dh, double cw, int short_count, int sep_x,
                     int cents, int ox, int oy, double medw, float *pdoubt)
{
    int rc = UTIL_OK, kk[3], nk = 0, bad, cutx = 0;
    float pk[3];
    double r = (double)b->w / dh;

    int sep_cut = cw > 0 && short_count && sep_x > b->w / 5 && sep_x < b->w - b->w / 5 ? sep_x : 0;

    *pdoubt = 0.0f;
    s->cx = b->x + 0.5f * b->w;
    /* comb: the cells say how many, except for a blob across a separator
     * of a comb short of digits, which may be two digits pushed together
     * although narrower than two cells (the shape and the best cut say, as
     * in a box) */
    if (cw > 0 && (!short_count || lround(b->w / cw) >= 2 || r > 1.15)) {
        int k = (int)lround(b->w / cw);
        if (k >= 2) {
            kk[nk] = k, pk[nk++] = 0.75f;
            kk[nk] = 1, pk[nk++] = 0.15f;
            *pdoubt = 0.3f;
            cutx = k == 2 ? sep_cut : 0;
        } else if (r > 1.15) {
            kk[nk] = 1, pk[nk++] = 0.6f;
            kk[nk] = 2, pk[nk++] = 0.4f;
            *pdoubt = 0.35f;
            cutx = sep_cut;
        } else {
            kk[nk] = 1, pk[nk++] = 1.0f;
        }
    } else if (r > 2.0) {
        /* Wider than two digit heights: as many digits as the width holds,
         * each as wide as the field's other digit blobs (other_width), between
         * DIGIT_W_MIN and DIGIT_W_MAX digit heights (DIGIT_W_MAX where the
         * blob is alone). */
        double unit = medw > 0 ? fmin(fmax(medw, DIGIT_W_MIN * dh), DIGIT_W_MAX * dh)
                               : DIGIT_W_MAX * dh;
        int k = imax(2, (int)lround(b->w / unit));
        kk[nk] = k, pk[nk++] = 0.6f;
        if (k > 2)
            kk[nk] = k - 1, pk[nk++] = 0.15f;
        if (b->w / (k + 1.0) >= 0.35 * dh)
            kk[nk] = k + 1, pk[nk++] = 0.1f;
        *pdoubt = 0.4f;
    } else if (b->w >= 0.6 * b->h || r > 0.75 || cw > 0) {
        /* One digit or two touching: the shape and the best cut say. */
        pcut pc;
        float p2;
        if ((rc = pair_cut(b, dh, &pc)))
            return rc;
        p2 = pair_belief(b, dh, &pc, medw);
        if (short_count && p2 < 0.5f)
            p2 = cw > 0 ? fmaxf(p2, 0.3f) : fminf(0.5f, 2.0f * p2);
        if (cents && p2 < 0.3f)
            p2 = 0.3f;
        s->cents = cents;
        cutx = sep_cut ? sep_cut : pc.x;
        if (p2 >= 0.5f) {
            kk[nk] = 2, pk[nk++] = p2;
            kk[nk] = 1, pk[nk++] = 1.0f - p2;
        } else {
            kk[nk] = 1, pk[nk++] = 1.0f - p2;
            if (p2 >= 0.01f)
                kk[nk] = 2, pk[nk++] = p2;
        }
        *pdoubt = 1.0f - fmaxf(p2, 1.0f - p2);
    } else {
        kk[nk] = 1, pk[nk++] = 1.0f;
    }
    for (int i = 0; i < nk && rc == UTIL_OK; i++) {
        cand *c = &s->c[s->nc];
        memset(c, 0, sizeof *c);
        c->p = pk[i];
        if (kk[i] == 1) {
            rc = cand_add(c, b->pix, b, ox, oy);
            bad = c->n != 1;
        } else {
            int cuts[16];
            if (kk[i] == 2 && cutx > 0)
                cuts[0] = cutx, rc = cand_cut(c, b, 2, cuts, ox, oy, &bad);
            else if (kk[i] > 17 || seg_split_valleys(b->pix, kk[i], cuts))
                bad = 1;
            else
                rc = cand_cut(c, b, kk[i], cuts, ox, oy, &bad);
        }
        if (bad || rc) {
            free(c->g);
            c->g = NULL;
            continue;
        }
        s->nc++;
        /* For two digits, a second cut at the next best valley. */
        if (kk[i] == 2 && s->nc < MAX_CANDS && i == 0) {
            int cuts[1];
            cand *c2 = &s->c[s->nc];
            if (seg_split_valleys(b->pix, 2, cuts) == 0) {
                int at = cutx > 0 ? cutx : cuts[0], alt;
                float p0 = c->p;
                if (cutx > 0 && abs(cuts[0] - cutx) > b->w / 10)
                    alt = cuts[0];
                else
                    alt = at + (at < b->w / 2 ? b->w / 8 : -b->w / 8);
                memset(c2, 0, sizeof *c2);
                c2->p = 0.2f * p0;
                c->p = 0.8f * p0;
                rc = cand_cut(c2, b, 2, &alt, ox, oy, &bad); /* bad: alt outside the blob */
                if (bad || rc) {
                    free(c2->g);
                    c2->g = NULL;
                    c->p = p0;
                } else {
                    s->nc++;
                }
            }
        }
    }
    return rc;
}

/* Whether the last `cents` glyphs of sp are raised, smaller cents: all of
 * them under 0.8 of the median height of the glyphs before them, and
 * their bottoms at least 0.15 of that height above the median bottom of
 * those. */
static int split_raised(const seg_split *sp, int cents)
{
    int hint[64], bint[64], ni = sp->n - cents, hmax = 0, bmax = 0;

    if (cents < 1 || ni < 1 || ni > 64)
        return 0;
    for (int j = 0; j < ni; j++) {
        hint[j] = sp->glyphs[j].h;
        bint[j] = sp->glyphs[j].y + sp->glyphs[j].h;
    }
    qsort(hint, (size_t)ni, sizeof *hint, cmp_int);
    qsort(bint, (size_t)ni, sizeof *bint, cmp_int);
    for (int j = ni; j < sp->n; j++) {
        hmax = imax(hmax, sp->glyphs[j].h);
        bmax = imax(bmax, sp->glyphs[j].y + sp->glyphs[j].h);
    }
    return hmax < 0.8 * hint[ni / 2] && bmax < bint[ni / 2] - 0.15 * hint[ni / 2];
}

/* Builds the field's splits from the slots: splits[0] every slot's first
 * reading, then each other reading of the slots that may hold merged cents
 * and of the least sure slots.  bx is the x (crop pixels) left of which
 * glyphs count as the integer part, or a huge value: then, with cents > 0,
 * a split whose last `cents` glyphs are raised cents (split_raised) has
 * those after its point. */
static int build_splits(seg_field *dst, slot *sl, int ns, double bx, int ox, int cents)
{
    int order[64], no = 0;
    dst->splits = calloc(SEG_MAX_SPLITS, sizeof *dst->splits);
    if (!dst->splits)
        return UTIL_ENOMEM;
    /* Choices: -1 all first; else (slot, reading). */
    int choice_s[SEG_MAX_SPLITS], choice_c[SEG_MAX_SPLITS], nch = 0;
    choice_s[nch] = -1, choice_c[nch++] = 0;
    for (int i = 0; i < ns && no < 64; i++)
        if (sl[i].nc > 1)
            order[no++] = i;
    /* cents slots first, then the least sure */
    for (int i = 1; i < no; i++)
        for (int j = i; j > 0 && (sl[order[j]].cents > sl[order[j - 1]].cents ||
                                  (sl[order[j]].cents == sl[order[j - 1]].cents &&
                                   sl[order[j]].c[0].p < sl[order[j - 1]].c[0].p));
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < no && nch < SEG_MAX_SPLITS; i++)
        for (int c = 1; c < sl[order[i]].nc && nch < SEG_MAX_SPLITS; c++)
            choice_s[nch] = order[i], choice_c[nch++] = c;
    for (int k = 0; k < nch; k++) {
        seg_split *sp = &dst->splits[k];
        int n = 0;
        float p = 1.0f;
        for (int i = 0; i < ns; i++) {
            const cand *c = &sl[i].c[i == choice_s[k] ? choice_c[k] : 0];
            n += c->n;
            p *= c->p;
        }
        sp->glyphs = calloc((size_t)imax(n, 1), sizeof *sp->glyphs);
        if (!sp->glyphs)
            return UTIL_ENOMEM;
        dst->n_splits++;
        sp->prior = p;
        for (int i = 0; i < ns; i++) {
            const cand *c = &sl[i].c[i == choice_s[k] ? choice_c[k] : 0];
            for (int j = 0; j < c->n; j++) {
                sp->glyphs[sp->n] = c->g[j];
                if (c->g[j].x - ox + 0.5 * c->g[j].w < bx)
                    sp->n_int++;
                sp->n++;
            }
        }
        if (bx == HUGE_VAL && cents > 0 && split_raised(sp, cents))
            sp->n_int = sp->n - cents;
    }
    return UTIL_OK;
}

/* The splits in order of prior, the best first. */
static void sort_splits(seg_field *dst)
{
    for (int i = 1; i < dst->n_splits; i++)
        for (int j = i; j > 0 && dst->splits[j].prior > dst->splits[j - 1].prior; j--) {
            seg_split t = dst->splits[j];
            dst->splits[j] = dst->splits[j - 1];
            dst->splits[j - 1] = t;
        }
}

/* Splits the template rules out (a digit count outside min..max; an
 * amount whose decimal point was found with other than `cents` digits
 * after it) lose most of their prior, and so, less, do an amount's splits
 * without raised cents where another split of it has them; the splits are
 * then put in order of prior, the best first. */
static void rank_splits(seg_field *dst, const seg_form_field *ff, int point_found)
{
    int any_raised = 0;
    for (int k = 0; k < dst->n_splits; k++)
        any_raised |= !point_found && ff->cents > 0 && dst->splits[k].n_int < dst->splits[k].n;
    for (int k = 0; k < dst->n_splits; k++) {
        seg_split *sp = &dst->splits[k];
        if (sp->n > 0 && (sp->n < ff->min_digits || (ff->max_digits > 0 && sp->n > ff->max_digits)))
            sp->prior *= 0.05f;
        if (point_found && ff->cents > 0 && sp->n - sp->n_int != ff->cents)
            sp->prior *= 0.1f;
        if (any_raised && sp->n_int == sp->n)
            sp->prior *= RAISED_MISSING;
    }
    sort_splits(dst);
}

/* Step e: the x (crop pixels) of an amount's decimal point, the rightmost
 * point blob with 1..cents digit blobs after it, or HUGE_VAL; *pafter how
 * many digit blobs follow it (0 when none is found). */
static double amount_point(const seg_blobs *bl, int cents, int *pafter)
{
    *pafter = 0;
    for (int i = bl->n - 1; i >= 0; i--) {
        const seg_blob *p = &bl->v[i];
        int after = 0;
        if (p->kind != SEG_BLOB_POINT)
            continue;
        for (int j = 0; j < bl->n; j++)
            after += bl->v[j].kind == SEG_BLOB_DIGIT &&
                     bl->v[j].x + 0.5 * bl->v[j].w > p->x + 0.5 * p->w;
        if (after >= 1 && after <= cents) {
            *pafter = after;
            return p->x + 0.5 * p->w;
        }
    }
    return HUGE_VAL;
}

/* Whether digit blob b is raised and smaller than the digits: under 0.8
 * digit heights, its bottom 0.15 digit heights above the base line. */
static int blob_raised(const seg_blob *b, int dh, int base)
{
    return b->h < 0.8 * dh && b->y + b->h < base - 0.15 * dh;
}

/* Which digit blobs of an amount may hold two of its cents digits (or its
 * last integer digit and a cent) merged: with a point found, those after
 * it when fewer than `cents` follow it; without, when the last digit blobs
 * are raised but fewer than `cents`, those and the blob before them.
 * flag[i] set for blob i. */
static void cents_suspects(const seg_blobs *bl, int cents, double px, int after, int *flag)
{
    int last = -1, nr = 0;
    for (int i = 0; i < bl->n; i++)
        flag[i] = 0;
    if (cents < 2)
        return;
    if (px != HUGE_VAL) {
        if (after < cents)
            for (int i = 0; i < bl->n; i++)
                flag[i] = bl->v[i].kind == SEG_BLOB_DIGIT && bl->v[i].x + 0.5 * bl->v[i].w > px;
        return;
    }
    for (int i = bl->n - 1; i >= 0; i--) {
        if (bl->v[i].kind != SEG_BLOB_DIGIT)
            continue;
        if (!blob_raised(&bl->v[i], bl->digit_h, bl->base_y)) {
            last = i;
            break;
        }
        nr++;
    }
    if (nr < 1 || nr >= cents)
        return;
    for (int i = bl->n - 1; i >= 0 && i >= last; i--)
        flag[i] = bl->v[i].kind == SEG_BLOB_DIGIT;
}

static void set_doubt(seg_field *dst, float d, int kind, const char *note)
{
    if (d > dst->doubt) {
        dst->doubt = d;
        dst->doubt_kind = kind;
        snprintf(dst->note, sizeof dst->note, "%s", note);
    }
}

/* The median height and bottom of the components of clean1 at least 35 %
 * as tall as the area inner: the digits' height and base line; 0 when
 * there is none. */
static int digit_band(PIX *clean1, const BOX *inner, int *pdh, int *pbase)
{
    l_int32 ix, iy, iw, ih;
    BOXA *ba = pixConnCompBB(clean1, 8);
    int n, nh = 0, *hs = NULL, *bs = NULL;

    *pdh = *pbase = 0;
    if (!ba)
        return UTIL_ENOMEM;
    boxGetGeometry((BOX *)inner, &ix, &iy, &iw, &ih);
    n = boxaGetCount(ba);
    hs = calloc((size_t)imax(n, 1), sizeof *hs);
    bs = calloc((size_t)imax(n, 1), sizeof *bs);
    if (!hs || !bs) {
        free(hs);
        free(bs);
        boxaDestroy(&ba);
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        l_int32 x, y, w, h;
        boxaGetBoxGeometry(ba, i, &x, &y, &w, &h);
        if (h >= 0.35 * ih && x + w / 2 >= ix && x + w / 2 <= ix + iw)
            hs[nh] = h, bs[nh++] = y + h;
    }
    if (nh > 0) {
        qsort(hs, (size_t)nh, sizeof *hs, cmp_int);
        qsort(bs, (size_t)nh, sizeof *bs, cmp_int);
        *pdh = hs[nh / 2];
        *pbase = bs[nh / 2];
    }
    free(hs);
    free(bs);
    boxaDestroy(&ba);
    return UTIL_OK;
}

/* The share of the columns x..x+w-1 of img1 with ink in rows y..y+h-1. */
static double ink_below(PIX *img1, int x, int y, int w, int h)
{
    l_int32 W = pixGetWidth(img1), H = pixGetHeight(img1), n = 0;
    l_uint32 *data = pixGetData(img1);
    int wpl = pixGetWpl(img1), cols = 0;

    for (int c = imax(0, x); c < imin(W, x + w); c++) {
        int any = 0;
        for (int r = imax(0, y); r < imin(H, y + h) && !any; r++)
            any = GET_DATA_BIT(data + r * wpl, c) != 0;
        cols += any;
        n++;
    }
    return n ? (double)cols / n : 0.0;
}

/* For each of the n lengths lens[j], the union over a few slopes (level
 * and up to 6 degrees either way) of clean1's horizontal runs at least
 * lens[j] long: new images in pmasks[0..n-1].  Each slope's shear is made
 * once for all the lengths. */
static int line_masks(PIX *clean1, const int *lens, int n, PIX **pmasks)
{
    static const float angles[] = {0.0f, -0.035f, 0.035f, -0.07f, 0.07f, -0.105f, 0.105f};
    PIX *sh = NULL, *op = NULL, *back = NULL;
    int rc = UTIL_OK;

    for (int j = 0; j < n; j++)
        pmasks[j] = NULL;
    for (int j = 0; j < n; j++)
        if (!(pmasks[j] = pixCreateTemplate(clean1)))
            goto nomem;
    for (size_t a = 0; a < sizeof angles / sizeof *angles; a++) {
        if (!(sh = angles[a] == 0.0f ? pixClone(clean1)
                                     : pixVShear(NULL, clean1, 0, angles[a], L_BRING_IN_WHITE)))
            goto nomem;
        for (int j = 0; j < n; j++) {
            if (!(op = pixOpenBrick(NULL, sh, lens[j], 1)) ||
                !(back = angles[a] == 0.0f ? pixClone(op)
                                           : pixVShear(NULL, op, 0, -angles[a], L_BRING_IN_WHITE)))
                goto nomem;
            pixOr(pmasks[j], pmasks[j], back);
            pixDestroy(&op);
            pixDestroy(&back);
        }
        pixDestroy(&sh);
    }
    return UTIL_OK;
nomem:
    rc = UTIL_ENOMEM;
    for (int j = 0; j < n; j++)
        pixDestroy(&pmasks[j]);
    pixDestroy(&sh);
    pixDestroy(&op);
    pixDestroy(&back);
    return rc;
}

/* Whether the ink in the band of 0.5 dh above row y, over the columns
 * x..x+w-1, holds at least two pieces (8-connected, each at least 0.15 dh
 * tall): two digits over one line, as raised cents over their underline,
 * and not one digit over its own stroke (a 2's foot). */
static int two_over(PIX *img1, int x, int y, int w, int dh)
{
    int y0 = imax(0, y - dh / 2), n = 0;
    BOX *b = boxCreate(x, y0, w, y - y0);
    PIX *band = b && y > y0 ? pixClipRectangle(img1, b, NULL) : NULL;
    BOXA *ba = band ? pixConnCompBB(band, 8) : NULL;

    for (int i = 0; ba && i < boxaGetCount(ba); i++) {
        l_int32 h;
        boxaGetBoxGeometry(ba, i, NULL, NULL, NULL, &h);
        n += h >= 0.15 * dh;
    }
    boxaDestroy(&ba);
    pixDestroy(&band);
    boxDestroy(&b);
    return n >= 2;
}

/* Whether the run at (x, y), w x h, in img1 is joined to ink rising at
 * least 0.15 digit heights above it within half a digit height, in its
 * columns: one 8-connected piece from over the run down into its rows (a
 * digit's own foot, not a line drawn under it). */
static int joined_over(PIX *img1, int x, int y, int w, int h, int dh)
{
    int y0 = imax(0, y - dh / 2), n = 0;
    BOX *b = boxCreate(x, y0, w, y + h - y0);
    PIX *reg = b ? pixClipRectangle(img1, b, NULL) : NULL;
    BOXA *ba = reg ? pixConnCompBB(reg, 8) : NULL;

    for (int i = 0; ba && i < boxaGetCount(ba); i++) {
        l_int32 by, bh;
        boxaGetBoxGeometry(ba, i, NULL, &by, NULL, &bh);
        n += by <= (y - y0) - 0.15 * dh && by + bh > y - y0;
    }
    boxaDestroy(&ba);
    pixDestroy(&reg);
    boxDestroy(&b);
    return n >= 1;
}

/*
 * A written underline under raised cents, removed from clean1: a straight
 * thin run at least 0.75 digit heights and 0.2 inch long, level or sloping
 * up to 6 degrees, whose middle lies between 0.06 and 0.65 digit heights
 * above the digits' base line (a 2's foot on the base line is lower, a 5's
 * or 7's top bar higher) with ink under at most a quarter of its length
 * (a 4's bar has its stem below) and ink 0.1-0.3 digit heights above its
 * right half (a 2's foot, where the 2 stands a little above the others,
 * has its body over its left end only, and at most a short upturn at its
 * right end) and, as raised cents follow the integer part, ink in at
 * least 0.15 digit heights of columns left of it (a first digit's foot has
 * none), and under two pieces of ink (see two_over) or under one it is not
 * joined to (see joined_over: a 2's or a 3's foot is its own stroke; seeds
 * 3/5/9/13 ingest +1/+3/+3/+1 fields, seed 7 +3).  Such a run lying lower,
 * up to 0.25 digit heights below the base line (cents raised little, or
 * the line drawn far under them), is an underline where it lies under two
 * pieces of ink (see two_over) and has ink under at most a twentieth of
 * its length.  Small writing's underline, shorter than 0.2 inch, is taken
 * from 0.13 inch on where, besides the position, thickness, ink-left and
 * ink-under tests, it lies under two pieces of ink (see two_over: a
 * digit's own stroke, a 2's foot or a 6's bottom, lies under one), has ink
 * under at most a twentieth of its length and is at most 0.2 digit heights
 * thick.  (Taken from 0.13 inch without these tests, 2s lost their feet
 * and 4s their bars: seeds 3/5/9/13 read 41 fields fewer.)
 */
static int underline_remove(PIX *clean1, int dpi, const BOX *inner)
{
    int dh, base, len, len2, rc = UTIL_OK;
    PIX *mask = NULL, *raw = NULL, *mask2 = NULL, *md = NULL;
    BOXA *ba = NULL;
    l_int32 ix = 0;

    if ((rc = digit_band(clean1, inner, &dh, &base)) || dh == 0)
        return rc;
    boxGetGeometry((BOX *)inner, &ix, NULL, NULL, NULL);
    len = imax((int)(0.75 * dh), (int)(0.2 * dpi));
    len2 = imax((int)(0.75 * dh), (int)(0.13 * dpi));
    {
        int lens[2] = {len, len2};
        PIX *masks[2] = {NULL, NULL};
        if ((rc = line_masks(clean1, lens, len2 < len ? 2 : 1, masks)))
            goto done;
        mask = masks[0];
        mask2 = masks[1];
    }
    if (mask2 && !(raw = pixCopy(NULL, mask))) {
        rc = UTIL_ENOMEM;
        goto done;
    }
    for (int pass = 0; pass < 2; pass++) {
        PIX *m = pass == 0 ? mask : mask2;
        if (!m)
            continue;
        if (!(ba = pixConnCompBB(m, 8))) {
            rc = UTIL_ENOMEM;
            goto done;
        }
        for (int i = 0; i < boxaGetCount(ba); i++) {
            l_int32 x, y, w, h, seen = 0;
            double cy;
            boxaGetBoxGeometry(ba, i, &x, &y, &w, &h);
            cy = y + 0.5 * h;
            if (pass == 1) {
                /* a shorter run: only one the first look did not see */
                BOX *b = boxaGetBox(ba, i, L_CLONE);
                PIX *t = b ? pixClipRectangle(raw, b, NULL) : NULL;
                boxDestroy(&b);
                if (!t || pixCountPixels(t, &seen, NULL))
                    seen = 1;
                pixDestroy(&t);
            }
            double below = ink_below(clean1, x, y + h + 2, w, (int)(0.3 * dh));
            int up = (int)(0.3 * dh);
            /* raised cents come after the integer part: ink over at
             * least 0.15 digit heights of columns left of the run (a
             * first digit's foot has none; seeds 5/9 +1/+2 fields, seed 7
             * +1 at 300 dpi and +2 at 200) */
            int lw = x - dh / 10 - ix;
            int after = lw > 0 && ink_below(clean1, ix, base - (int)(0.8 * dh), lw,
                                            (int)(0.8 * dh)) * lw >= 0.15 * dh;
            int two = two_over(clean1, x, y, w, dh);
            int keep = !seen && after && cy >= base - 0.65 * dh && cy <= base - 0.06 * dh &&
                       h <= 0.3 * dh && below <= 0.25;
            if (pass == 0) {
                /* ink over its right half, above an upturn, and two pieces
                 * over it or one it is not joined to (a 2's or a 3's foot
                 * is its digit's own stroke); or low, under two pieces */
                keep = keep &&
                       ink_below(clean1, x + w / 2, y - up, w - w / 2, up - dh / 10) > 0.0 &&
                       (two || !joined_over(clean1, x, y, w, h, dh));
                keep = keep || (cy > base - 0.06 * dh && cy <= base + 0.25 * dh &&
                                h <= 0.3 * dh && below <= 0.05 && two);
            } else {
                keep = keep && h <= 0.2 * dh && below <= 0.05 && two;
            }
            if (!keep)
                pixRasterop(m, x, y, w, h, PIX_CLR, NULL, 0, 0);
        }
        boxaDestroy(&ba);
    }
    if (mask2)
        pixOr(mask, mask, mask2);
    if (!(md = pixDilateBrick(NULL, mask, 7, 3))) {
        rc = UTIL_ENOMEM;
        goto done;
    }
    pixSubtract(clean1, clean1, md);
done:
    pixDestroy(&mask);
    pixDestroy(&raw);
    pixDestroy(&mask2);
    pixDestroy(&md);
    boxaDestroy(&ba);
    return rc;
}

/* The digit height the readings of a field's blobs are measured by
 * (slot_fill): the median height of its digit blobs at least SPLIT_H_MIN
 * of the tallest one's, or bl->digit_h where there are none.  digit_h, the
 * median of every tall blob, is the cents' height in an amount of one
 * digit and raised cents (9.23), and the digit beside them looked wide
 * enough to be two.  (digit_h itself stays what the blob classification
 * and the underline search were tuned with: set this way for them too, it
 * lost the underline of raised cents, and right fields went to review.)
 * Seeds 3/5/9/13 text after the choice 797/799/865/902 -> 799/802/865/902,
 * ingest 797/801/866/902 -> 799/803/866/902 fields, read rates
 * 77.16/86.71/86.33/84.74 -> 77.39/87.06/86.33/84.85 %; at 200 dpi seed 3
 * +2 fields, seed 5 unchanged; seed 7 text 841 -> 842 at 300 dpi, ingest
 * 843 -> 844, 200 dpi unchanged.  0.65-0.8 gave the same. */
#define SPLIT_H_MIN 0.75

static int split_height(const seg_blobs *bl)
{
    int hs[64], nh = 0, lo = 0;
    for (int i = 0; i < bl->n && nh < 64; i++)
        if (bl->v[i].kind == SEG_BLOB_DIGIT && bl->v[i].h >= 0.35 * bl->digit_h)
            hs[nh++] = bl->v[i].h;
    if (nh == 0)
        return bl->digit_h;
    qsort(hs, (size_t)nh, sizeof *hs, cmp_int);
    while (lo < nh - 1 && hs[lo] < SPLIT_H_MIN * hs[nh - 1])
        lo++;
    return imax(1, hs[lo + (nh - lo) / 2]);
}

/* The blobs that show how wide the field's digits are: those at least
 * OTHER_H_MIN digit heights tall.  Raised cents (0.6 of a digit's height,
 * and as much narrower) do not: beside them a slanted 0 was 1.5 times the
 * median width and was cut in two (608.07 of seed 7 read with four digits
 * before its point).  Seeds 3/5/9/13: count exact and text after the
 * choice unchanged, ingest the same fields at read rates
 * 77.16/86.60/86.33/84.74 -> 77.16/86.71/86.33/84.74 %; seed 7 count 893
 * -> 894, text after the choice 839 -> 841, ingest 841 -> 843 at 300 dpi.
 * Leaving out blobs under 0.3 digit heights wide too (1s) read one field
 * more of seed 3 but, measured on seed 11 (the README's ingest set) after
 * that, raised the confidence of two fields read wrong with a digit
 * missing ("199" read 19: the blob of the two 9s was no longer wide
 * against the 1; 0.86 -> 0.97) and the read rate there fell from 79.79 to
 * 77.84 %; with the height alone it is 79.90 %. */
#define OTHER_H_MIN 0.8

/* The median width of the digit blobs of bl other than blob i at least
 * OTHER_H_MIN digit heights tall; 0 when there are none. */
static double other_width(const seg_blobs *bl, int i)
{
    int ws[64], n = 0;
    for (int j = 0; j < bl->n && n < 64; j++)
        if (j != i && bl->v[j].kind == SEG_BLOB_DIGIT && bl->v[j].h >= OTHER_H_MIN * bl->digit_h)
            ws[n++] = bl->v[j].w;
    if (n == 0)
        return 0.0;
    qsort(ws, (size_t)n, sizeof *ws, cmp_int);
    return n % 2 ? ws[n / 2] : 0.5 * (ws[n / 2 - 1] + ws[n / 2]);
}

/*
 * A comb that must be full (the template's minimum is its cell count, not
 * an amount) read one digit short with one cell empty: a stroke drawn
 * against one of that cell's printed separators (a 1 mostly) went with the
 * line, seg_lines_remove taking the ink that touches a vertical line for
 * the line.  The ink removed within 0.3 cell widths of each side of the
 * empty cell is counted row by row; where a run of rows at least half a
 * digit high holds more of it than the printed line alone (the 20th
 * percentile of the rows), that ink is offered as the missing digit: a new
 * split, splits[0] with the glyph added.  The glyph is a guess from part of
 * a digit's ink (a 7 or a 4 against the line reads as a 1 too: 3 of 15 on
 * the tuning seeds), so the split gets a tenth of splits[0]'s prior (which
 * already lost most of its own to the template's count): the choice in
 * pipeline/ takes it when the glyph reads fairly surely, with a share that
 * sends the field to review.
 */
static int comb_stroke(PIX *crop, PIX *clean, const BOX *inner, const seg_form_field *ff,
                       const seg_blobs *bl, int dpi, int ox, int oy, seg_field *dst)
{
    l_int32 ix, iy, iw, ih, cwid, chei;
    int used[64] = {0}, k_empty = -1, n_empty = 0, rc = UTIL_OK, *r = NULL;
    int best_len = 0, best_y0 = 0, best_xa = 0, best_xb = 0;
    double x0, x1, cw;
    PIX *gone = NULL, *sub = NULL, *tight = NULL;
    BOX *b = NULL, *tb = NULL;
    seg_split *sp;
    seg_glyph g;

    if (ff->frame != SEG_FRAME_COMB || ff->type == SEG_FT_AMOUNT || ff->cells < 2 ||
        ff->cells > 64 || ff->min_digits != ff->cells || dst->n_splits < 1 ||
        dst->splits[0].n != ff->cells - 1 || bl->digit_h <= 0)
        return UTIL_OK;
    boxGetGeometry((BOX *)inner, &ix, &iy, &iw, &ih);
    for (int i = 0; i < dst->splits[0].n; i++) {
        const seg_glyph *q = &dst->splits[0].glyphs[i];
        used[seg_comb_cell_at(ff, iw, q->x - ox + 0.5 * q->w - ix)] = 1;
    }
    for (int k = 0; k < ff->cells; k++)
        if (!used[k])
            k_empty = k, n_empty++;
    if (n_empty != 1 || (cw = seg_comb_cell(ff, iw, k_empty, &x0, &x1)) <= 0)
        return UTIL_OK;
    if (!(gone = pixSubtract(NULL, crop, clean)) || !(r = calloc((size_t)imax(ih, 1), sizeof *r)))
        goto nomem;
    pixGetDimensions(gone, &cwid, &chei, NULL);
    for (int side = 0; side < 2; side++) {
        int xa = imax(0, (int)(ix + (side ? x1 : x0) - 0.3 * cw));
        int xb = imin(cwid, (int)(ix + (side ? x1 : x0) + 0.3 * cw));
        int ya = imax(0, iy + ih / 10), yb = imin(chei, iy + ih - ih / 10), nr = 0, t;
        int need = imax(2, (int)(0.01 * dpi + 0.5)), run = 0, gap = 0, y0 = 0;
        int *sorted;
        if (xb - xa < 2 || yb - ya < 4)
            continue;
        for (int y = ya; y < yb; y++, nr++) {
            int c = 0;
            for (int x = xa; x < xb; x++) {
                l_uint32 v;
                pixGetPixel(gone, x, y, &v);
                c += v != 0;
            }
            r[nr] = c;
        }
        if (!(sorted = malloc((size_t)nr * sizeof *sorted)))
            goto nomem;
        memcpy(sorted, r, (size_t)nr * sizeof *sorted);
        qsort(sorted, (size_t)nr, sizeof *sorted, cmp_int);
        t = sorted[nr / 5];
        free(sorted);
        /* the longest run of rows with more than the line, gaps of 2 rows bridged */
        for (int i = 0; i <= nr; i++) {
            int wide = i < nr && r[i] >= t + need;
            if (wide) {
                if (run == 0)
                    y0 = i;
                run = i - y0 + 1;
                gap = 0;
            } else if (run > 0 && ++gap > 2) {
                if (run > best_len)
                    best_len = run, best_y0 = ya + y0, best_xa = xa, best_xb = xb;
                run = 0;
                gap = 0;
            }
        }
    }
    if (best_len < 0.5 * bl->digit_h)
        goto done;
    if (!(b = boxCreate(best_xa, best_y0, best_xb - best_xa, best_len)) ||
        !(sub = pixClipRectangle(gone, b, NULL)))
        goto nomem;
    if (pixClipToForeground(sub, &tight, &tb) || !tight)
        goto done;
    {
        l_int32 tx, ty, tw, th;
        boxGetGeometry(tb, &tx, &ty, &tw, &th);
        g.x = ox + best_xa + tx;
        g.y = oy + best_y0 + ty;
        g.w = tw;
        g.h = th;
    }
    if ((rc = seg_mnist_normalize(tight, g.crop)))
        goto done;
    if (dst->n_splits == SEG_MAX_SPLITS) { /* the least likely goes */
        free(dst->splits[SEG_MAX_SPLITS - 1].glyphs);
        memset(&dst->splits[SEG_MAX_SPLITS - 1], 0, sizeof dst->splits[0]);
        dst->n_splits--;
    }
    sp = &dst->splits[dst->n_splits];
    if (!(sp->glyphs = calloc((size_t)ff->cells, sizeof *sp->glyphs)))
        goto nomem;
    for (int i = 0, placed = 0; i < ff->cells - 1 || !placed;) {
        const seg_glyph *q = i < ff->cells - 1 ? &dst->splits[0].glyphs[i] : NULL;
        if (!placed && (!q || g.x + 0.5 * g.w < q->x + 0.5 * q->w)) {
            sp->glyphs[sp->n++] = g;
            placed = 1;
        } else {
            sp->glyphs[sp->n++] = *q;
            i++;
        }
    }
    sp->n_int = sp->n;
    sp->prior = 0.1f * dst->splits[0].prior;
    dst->n_splits++;
    sort_splits(dst);
    set_doubt(dst, 0.3f, SEG_DOUBT_COMB_STROKE, "a stroke along a comb line taken as a digit");
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "field %s: out of memory", ff->name);
    rc = UTIL_ENOMEM;
done:
    free(r);
    pixDestroy(&gone);
    pixDestroy(&sub);
    pixDestroy(&tight);
    boxDestroy(&b);
    boxDestroy(&tb);
    return rc;
}

/* Whether blob i of a comb reaches, within a tenth of a cell, the
 * separator beside an empty cell (no blob's center in it): in a comb short
 * of digits, two digits pushed together across that separator, which is at
 * *psep (from the inner box's left). */
static int comb_beside_empty(const seg_form_field *ff, int w, const seg_blobs *bl, int i,
                             int inner_x, double *psep)
{
    const seg_blob *b = &bl->v[i];
    double x0, x1, cw, l = b->x - inner_x, r = l + b->w;

    *psep = 0.0;
    int k = seg_comb_cell_at(ff, w, l + 0.5 * b->w), left = k > 0, right = k + 1 < ff->cells;

    cw = seg_comb_cell(ff, w, k, &x0, &x1);
    if (cw <= 0)
        return 0;
    for (int j = 0; j < bl->n; j++) {
        int kj;
        if (j == i || bl->v[j].kind != SEG_BLOB_DIGIT)
            continue;
        kj = seg_comb_cell_at(ff, w, bl->v[j].x - inner_x + 0.5 * bl->v[j].w);
        left &= kj != k - 1;
        right &= kj != k + 1;
    }
    if (left && l <= x0 + 0.1 * cw)
        *psep = x0;
    else if (right && r >= x1 - 0.1 * cw)
        *psep = x1;
    else
        return 0;
    return 1;
}

static int field_read_impl(PIX *page1, int dpi, const BOX *area, const seg_form_field *ff,
                           seg_field *dst)
{
    PIX *crop = NULL, *clean = NULL;
    BOX *inner = NULL;
    seg_blobs *bl = NULL;
    slot *sl = NULL;
    int ox, oy, ns = 0, nd = 0, rc, after = 0, *suspect = NULL, inner_x, split_h;
    l_int32 ax, ay, aw, ah;
    double bx = HUGE_VAL, cw = 0.0;

    boxGetGeometry((BOX *)area, &ax, &ay, &aw, &ah);
    rc = seg_field_crop(page1, dpi, area, &crop, &ox, &oy);
    if (rc)
        return rc;
    inner_x = ax - ox;
    if (!(inner = boxCreate(inner_x, ay - oy, aw, ah)))
        goto nomem;
    if ((rc = seg_lines_remove(crop, dpi, inner, ff, &clean, NULL)))
        goto done;
    if (ff->type == SEG_FT_AMOUNT) {
        if ((rc = underline_remove(clean, dpi, inner)))
            goto nomem;
    }
    if ((rc = seg_blobs_find(clean, dpi, inner, ff, &bl)))
        goto done;
    cw = seg_comb_cell(ff, aw, 0, NULL, NULL);
    /* digits the blobs hold at first sight: one each, or in a comb as many
     * as the cells a blob spans */
    for (int i = 0; i < bl->n; i++)
        if (bl->v[i].kind == SEG_BLOB_DIGIT)
            nd += cw > 0 ? imax(1, (int)lround(bl->v[i].w / cw)) : 1;
    if (!(sl = calloc((size_t)imax(nd, 1), sizeof *sl)) ||
        !(suspect = calloc((size_t)imax(bl->n, 1), sizeof *suspect)))
        goto nomem;
    if (ff->type == SEG_FT_AMOUNT && ff->cents > 0) {
        bx = amount_point(bl, ff->cents, &after);
        cents_suspects(bl, ff->cents, bx, after, suspect);
    }
    split_h = split_height(bl);
    for (int i = 0; i < bl->n; i++) {
        float d = 0.0f;
        if (bl->v[i].kind != SEG_BLOB_DIGIT)
            continue;
        const seg_blob *b = &bl->v[i];
        int short_count = nd < ff->min_digits, sep_x = 0;
        double sep = 0.0;
        if (cw > 0 && short_count) {
            short_count = comb_beside_empty(ff, aw, bl, i, inner_x, &sep);
            sep_x = (int)lround(sep - (b->x - inner_x));
        }
        rc = slot_fill(&sl[ns], b, split_h, cw, short_count, sep_x, suspect[i], ox, oy,
                       other_width(bl, i), &d);
        if (rc)
            goto done;
        if (sl[ns].nc == 0)
            continue;
        if (d > 0.0f)
            set_doubt(dst, d, sl[ns].c[0].n > 1 ? SEG_DOUBT_TOUCHING : SEG_DOUBT_WIDE,
                      sl[ns].c[0].n > 1 ? "touching digits split"
                                                 : "a wide glyph may be two digits");
        if (bl->v[i].parts > 1)
            set_doubt(dst, 0.15f, SEG_DOUBT_PIECES, "pieces merged");
        ns++;
    }
    if ((rc = build_splits(dst, sl, ns, bx, ox, ff->type == SEG_FT_AMOUNT ? ff->cents : 0)))
        goto nomem;
    rank_splits(dst, ff, bx != HUGE_VAL);
    if ((rc = comb_stroke(crop, clean, inner, ff, bl, dpi, ox, oy, dst)))
        goto done;
    if (ff->type == SEG_FT_AMOUNT && ff->cents > 0 && dst->n_splits > 0 &&
        dst->splits[0].n > ff->cents && dst->splits[0].n_int == dst->splits[0].n)
        set_doubt(dst, 0.2f, SEG_DOUBT_NO_POINT, "no decimal point or cents found");
    if (dst->n_splits == 0 || dst->splits[0].n < ff->min_digits ||
        (ff->max_digits > 0 && dst->splits[0].n > ff->max_digits)) {
        char note[64];
        snprintf(note, sizeof note, "%d digits, the template allows %d..%d",
                 dst->n_splits ? dst->splits[0].n : 0, ff->min_digits, ff->max_digits);
        set_doubt(dst, dst->n_splits && dst->splits[0].n == 0 ? 0.5f : 0.6f, SEG_DOUBT_RANGE, note);
    }
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "field %s: out of memory", ff->name);
    rc = UTIL_ENOMEM;
done:
    for (int i = 0; i < ns; i++)
        slot_clear(&sl[i]);
    free(sl);
    free(suspect);
    seg_blobs_destroy(&bl);
    boxDestroy(&inner);
    pixDestroy(&crop);
    pixDestroy(&clean);
    return rc;
}

int seg_field_read(PIX *page1, int dpi, const BOX *area, const seg_form_field *ff,
                   seg_field *dst)
{
    l_int32 old;
    int rc;

    memset(dst, 0, sizeof *dst);
    if (!ff) {
        util_log(UTIL_LOG_ERROR, "seg_field_read: no field description");
        return UTIL_EINVAL;
    }
    if (!page1 || pixGetDepth(page1) != 1 || !area || dpi < 50 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "field %s: a 1-bpp page, an area and a dpi in 50..1200 are "
                                 "needed", ff->name);
        return UTIL_EINVAL;
    }
    snprintf(dst->name, sizeof dst->name, "%s", ff->name);
    dst->type = ff->type;
    boxGetGeometry((BOX *)area, &dst->x, &dst->y, &dst->w, &dst->h);
    dst->frame = ff->frame;
    dst->cells = ff->cells;
    old = setMsgSeverity(L_SEVERITY_NONE);
    rc = field_read_impl(page1, dpi, area, ff, dst);
    setMsgSeverity(old);
    if (rc == UTIL_OK && dst->n_splits == 0) {
        /* An empty field: one split without glyphs. */
        if (!(dst->splits = calloc(1, sizeof *dst->splits))) {
            util_log(UTIL_LOG_ERROR, "field %s: out of memory", ff->name);
            rc = UTIL_ENOMEM;
        } else {
            dst->n_splits = 1;
            dst->splits[0].prior = 1.0f;
        }
    }
    if (rc)
        seg_field_clear(dst);
    return rc;
}
