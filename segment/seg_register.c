/*
 * seg_register.c - form registration (seg_form_register) and the printed-line
 * finder it shares with --form auto: candidate lines and marks on a reduced
 * page, transform hypotheses from line and mark correspondences, a coarse
 * least-squares refinement on the reduced candidates, then a fine one on
 * line centres, line ends and mark centres measured on the full page.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_register.h"
#include "util/util.h"

#define MAX_SEGS 400 /* candidates kept per direction (longest first) */
#define MAX_MARKS 40
#define MAX_PROFILE 4096
#define N_COARSE 6 /* hypotheses refined on the reduced page */
#define N_FINE 3   /* of those, refined on the full page */

/* ---- bit access ------------------------------------------------------- */

typedef struct bitimg {
    const l_uint32 *data;
    int w, h, wpl;
} bitimg;

static void bitimg_of(PIX *pix, bitimg *b)
{
    b->data = pixGetData(pix);
    b->w = (int)pixGetWidth(pix);
    b->h = (int)pixGetHeight(pix);
    b->wpl = (int)pixGetWpl(pix);
}

static inline int bit_at(const bitimg *b, int x, int y)
{
    return (int)((b->data[(size_t)y * b->wpl + (x >> 5)] >> (31 - (x & 31))) & 1u);
}

/* row_count - ink pixels of row y in columns [x0, x1] (clipped). */
static int row_count(const bitimg *b, int y, int x0, int x1)
{
    const l_uint32 *line;
    l_uint32 m0, m1;
    int w0, w1, n;

    if (y < 0 || y >= b->h)
        return 0;
    if (x0 < 0)
        x0 = 0;
    if (x1 >= b->w)
        x1 = b->w - 1;
    if (x0 > x1)
        return 0;
    line = b->data + (size_t)y * b->wpl;
    w0 = x0 >> 5;
    w1 = x1 >> 5;
    m0 = 0xffffffffu >> (x0 & 31);
    m1 = 0xffffffffu << (31 - (x1 & 31));
    if (w0 == w1)
        return __builtin_popcount(line[w0] & m0 & m1);
    n = __builtin_popcount(line[w0] & m0);
    for (int i = w0 + 1; i < w1; i++)
        n += __builtin_popcount(line[i]);
    return n + __builtin_popcount(line[w1] & m1);
}

/* col_count - ink pixels of column x in rows [y0, y1] (clipped). */
static int col_count(const bitimg *b, int x, int y0, int y1)
{
    int n = 0;
    if (x < 0 || x >= b->w)
        return 0;
    if (y0 < 0)
        y0 = 0;
    if (y1 >= b->h)
        y1 = b->h - 1;
    for (int y = y0; y <= y1; y++)
        n += bit_at(b, x, y);
    return n;
}

/* line_count - ink of row c (vert 0) or column c (vert 1) from a0 to a1. */
static int line_count(const bitimg *b, int vert, int c, int a0, int a1)
{
    return vert ? col_count(b, c, a0, a1) : row_count(b, c, a0, a1);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- the transform ---------------------------------------------------- */

void seg_xform_apply(const seg_xform *xf, double x, double y, double *pX, double *pY)
{
    *pX = xf->a * x + xf->b * y + xf->tx;
    *pY = xf->c * x + xf->d * y + xf->ty;
}

void seg_xform_rect(const seg_xform *xf, const seg_rect *r, int *px, int *py, int *pw, int *ph)
{
    double xs[4] = {r->x, r->x + r->w, r->x, r->x + r->w};
    double ys[4] = {r->y, r->y, r->y + r->h, r->y + r->h};
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;

    for (int i = 0; i < 4; i++) {
        double X, Y;
        seg_xform_apply(xf, xs[i], ys[i], &X, &Y);
        x0 = fmin(x0, X);
        x1 = fmax(x1, X);
        y0 = fmin(y0, Y);
        y1 = fmax(y1, Y);
    }
    *px = (int)lround(x0);
    *py = (int)lround(y0);
    *pw = (int)lround(x1) - *px;
    *ph = (int)lround(y1) - *py;
}

/* xf_scale - pixels per inch of the transform (geometric mean of the axes). */
static double xf_scale(const seg_xform *xf)
{
    return sqrt(fabs(xf->a * xf->d - xf->b * xf->c));
}

/* xf_sane - scale within 0.6..1.5 times dpi, turn and shear small. */
static int xf_sane(const seg_xform *xf, int dpi)
{
    return xf->a > 0.6 * dpi && xf->a < 1.5 * dpi && xf->d > 0.6 * dpi && xf->d < 1.5 * dpi &&
           fabs(xf->b) < 0.06 * dpi && fabs(xf->c) < 0.06 * dpi;
}

/* One measured constraint: the page coordinate (X when isy is 0, else Y)
 * of the form point (x, y) is val. */
typedef struct cons {
    double x, y, val, w;
    int isy;
} cons;

/*
 * fit_xform - weighted least squares for the six parameters on the
 * constraints, with two soft priors (equal scales, a pure rotation) of
 * weight prior that keep a thinly constrained fit sane.  Returns 1 and
 * the fit, or 0 (xf untouched) when the system is degenerate.
 */
static int fit_xform(const cons *cs, int n, double prior, seg_xform *xf)
{
    double A[6][7];
    double p[6];
    int nx = 0, ny = 0;

    memset(A, 0, sizeof A);
    for (int i = 0; i < n; i++) {
        const cons *c = &cs[i];
        int o = c->isy ? 3 : 0;
        double phi[3] = {c->x, c->y, 1.0};
        for (int r = 0; r < 3; r++) {
            for (int k = 0; k < 3; k++)
                A[o + r][o + k] += c->w * phi[r] * phi[k];
            A[o + r][6] += c->w * phi[r] * c->val;
        }
        if (c->isy)
            ny++;
        else
            nx++;
    }
    if (nx < 2 || ny < 2)
        return 0;
    /* (a - d) = 0 and (b + c) = 0, softly: a = 0, b = 1, tx = 2, c = 3, d = 4, ty = 5. */
    A[0][0] += prior;
    A[0][4] -= prior;
    A[4][0] -= prior;
    A[4][4] += prior;
    A[1][1] += prior;
    A[1][3] += prior;
    A[3][1] += prior;
    A[3][3] += prior;
    for (int col = 0; col < 6; col++) {
        int piv = col;
        for (int r = col + 1; r < 6; r++)
            if (fabs(A[r][col]) > fabs(A[piv][col]))
                piv = r;
        if (fabs(A[piv][col]) < 1e-9)
            return 0;
        if (piv != col)
            for (int k = 0; k < 7; k++) {
                double t = A[col][k];
                A[col][k] = A[piv][k];
                A[piv][k] = t;
            }
        for (int r = 0; r < 6; r++) {
            double f;
            if (r == col)
                continue;
            f = A[r][col] / A[col][col];
            for (int k = col; k < 7; k++)
                A[r][k] -= f * A[col][k];
        }
    }
    for (int r = 0; r < 6; r++)
        p[r] = A[r][6] / A[r][r];
    xf->a = p[0];
    xf->b = p[1];
    xf->tx = p[2];
    xf->c = p[3];
    xf->d = p[4];
    xf->ty = p[5];
    return 1;
}

/* ---- the template's features ------------------------------------------ */

enum { TF_LINE = 0, TF_MARK = 1 };

/* A printed feature: a line from u0 to u1 along, centred at v across (x, y
 * for a horizontal line, y, x for a vertical one), or a mark. Inches. */
typedef struct tfeat {
    int kind, vert;
    double u0, u1, v;
    int ends;   /* bit 0: the u0 end is a free end to check; bit 1: the u1 end */
    seg_rect r; /* a mark */
    double weight;
} tfeat;

typedef struct tmpl {
    tfeat *f;
    int n, cap;
    double lw;
    double min_h, min_v; /* shortest horizontal / vertical line */
    double mark_min;     /* smallest mark side, 0 when none */
} tmpl;

static int tmpl_add(tmpl *t, const tfeat *f)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        tfeat *nf = realloc(t->f, (size_t)cap * sizeof *nf);
        if (!nf)
            return UTIL_ENOMEM;
        t->f = nf;
        t->cap = cap;
    }
    t->f[t->n++] = *f;
    return UTIL_OK;
}

static int tmpl_line(tmpl *t, int vert, double u0, double u1, double v, int ends)
{
    tfeat f;
    memset(&f, 0, sizeof f);
    f.kind = TF_LINE;
    f.vert = vert;
    f.u0 = u0;
    f.u1 = u1;
    f.v = v;
    f.ends = ends;
    f.weight = fmin(u1 - u0, 2.0);
    return tmpl_add(t, &f);
}

/* tmpl_frame - a framed rectangle x0..x1, y0..y1 (frame lines centred on
 * it); lends says which ends of the top and bottom lines are free ends. */
static int tmpl_frame(tmpl *t, double x0, double x1, double y0, double y1, int lends, int left_v, int right_v)
{
    double h = t->lw / 2;
    int rc;
    if ((rc = tmpl_line(t, 0, x0 - h, x1 + h, y0, lends)) ||
        (rc = tmpl_line(t, 0, x0 - h, x1 + h, y1, lends)))
        return rc;
    if (left_v && (rc = tmpl_line(t, 1, y0 - h, y1 + h, x0, 3)))
        return rc;
    if (right_v && (rc = tmpl_line(t, 1, y0 - h, y1 + h, x1, 3)))
        return rc;
    return UTIL_OK;
}

static int tmpl_build(const seg_form *form, tmpl *t)
{
    int rc = UTIL_OK;

    memset(t, 0, sizeof *t);
    t->lw = form->line_width;
    for (int i = 0; i < form->n_features && !rc; i++) {
        const seg_form_feature *ft = &form->features[i];
        const seg_rect *r = &ft->r;
        if (ft->kind == SEG_FEAT_MARK) {
            tfeat f;
            memset(&f, 0, sizeof f);
            f.kind = TF_MARK;
            f.r = *r;
            f.weight = 1.0;
            rc = tmpl_add(t, &f);
        } else if (r->w >= r->h) {
            rc = tmpl_line(t, 0, r->x, r->x + r->w, r->y + r->h / 2, 3);
        } else {
            rc = tmpl_line(t, 1, r->y, r->y + r->h, r->x + r->w / 2, 3);
        }
    }
    for (int i = 0; i < form->n_fields && !rc; i++) {
        const seg_form_field *fd = &form->fields[i];
        double x0 = fd->r.x, x1 = fd->r.x + fd->r.w, y0 = fd->r.y, y1 = fd->r.y + fd->r.h;
        double h = t->lw / 2;
        if (fd->frame == SEG_FRAME_BOX) {
            rc = tmpl_frame(t, x0, x1, y0, y1, 3, 1, 1);
        } else if (fd->frame == SEG_FRAME_LINE) {
            rc = tmpl_line(t, 0, x0, x1, y1, 3);
        } else if (fd->frame == SEG_FRAME_COMB && fd->cells >= 1) {
            int n = fd->cells, k = fd->dash > 0 && fd->dash < n ? fd->dash : 0;
            double cw = k ? fd->r.w / (n + 0.5) : fd->r.w / n;
            if (!k) {
                rc = tmpl_frame(t, x0, x1, y0, y1, 3, 1, 1);
                for (int j = 1; j < n && !rc; j++)
                    rc = tmpl_line(t, 1, y0 - h, y1 + h, x0 + j * cw, 0);
            } else {
                double xb = x0 + (k + 0.5) * cw;
                /* Only the outer ends of the two halves are checked: the
                 * frame may or may not be broken at the dash. */
                rc = tmpl_frame(t, x0, x0 + k * cw, y0, y1, 1, 1, 0);
                if (!rc)
                    rc = tmpl_frame(t, xb, x1, y0, y1, 2, 0, 1);
                for (int j = 1; j <= k && !rc; j++)
                    rc = tmpl_line(t, 1, y0 - h, y1 + h, x0 + j * cw, 0);
                for (int j = 0; j < n - k && !rc; j++)
                    rc = tmpl_line(t, 1, y0 - h, y1 + h, xb + j * cw, 0);
            }
        }
    }
    if (rc)
        return rc;
    t->min_h = t->min_v = 1e9;
    for (int i = 0; i < t->n; i++) {
        const tfeat *f = &t->f[i];
        if (f->kind == TF_MARK) {
            double s = fmin(f->r.w, f->r.h);
            t->mark_min = t->mark_min > 0 ? fmin(t->mark_min, s) : s;
        } else if (f->vert) {
            t->min_v = fmin(t->min_v, f->u1 - f->u0);
        } else {
            t->min_h = fmin(t->min_h, f->u1 - f->u0);
        }
    }
    return UTIL_OK;
}

/* ---- candidates on the reduced page ----------------------------------- */

typedef struct dmark {
    double x, y, w, h;
} dmark;

typedef struct det {
    seg_segment *h, *v; /* sorted by v */
    int nh, nv;
    double maxth_h, maxth_v;
    dmark *m;
    int nm;
    int red;
} det;

static void det_free(det *d)
{
    free(d->h);
    free(d->v);
    free(d->m);
    memset(d, 0, sizeof *d);
}

static int reduction_for(int dpi)
{
    return dpi < 120 ? 1 : dpi < 240 ? 2 : dpi < 480 ? 4 : 8;
}

static int cmp_seg_len(const void *pa, const void *pb)
{
    const seg_segment *a = pa, *b = pb;
    double la = a->u1 - a->u0, lb = b->u1 - b->u0;
    return la > lb ? -1 : la < lb ? 1 : 0;
}

static int cmp_seg_v(const void *pa, const void *pb)
{
    const seg_segment *a = pa, *b = pb;
    return a->v < b->v ? -1 : a->v > b->v ? 1 : 0;
}

/* find_runs - the components of pix opened with a long thin brick, as
 * segments in full-page pixels (longest MAX_SEGS kept), sorted by v. */
static int find_runs(PIX *pr, int vert, int len, int red, seg_segment **pout, int *pn, double *pmaxth)
{
    PIX *po = NULL;
    BOXA *ba = NULL;
    seg_segment *s = NULL;
    bitimg bo;
    int n = 0, rc = UTIL_OK, nb;

    *pout = NULL;
    *pn = 0;
    *pmaxth = 0;
    po = vert ? pixOpenCompBrick(NULL, pr, 1, len) : pixOpenCompBrick(NULL, pr, len, 1);
    if (!po || !(ba = pixConnCompBB(po, 8))) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    bitimg_of(po, &bo);
    nb = boxaGetCount(ba);
    if (nb > 0 && !(s = malloc((size_t)nb * sizeof *s))) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < nb; i++) {
        l_int32 bx, by, bw, bh, along, across, a0, c0;
        if (boxaGetBoxGeometry(ba, i, &bx, &by, &bw, &bh))
            continue;
        along = vert ? bh : bw;
        across = vert ? bw : bh;
        a0 = vert ? by : bx;
        c0 = vert ? bx : by;
        if (along < len)
            continue;
        /* Thin for its length: a line tilted by up to 2 degrees.  A thick
         * one may be a line with a blob of handwriting on it: then the
         * line is the band of rows (columns) inked over 60 % of its length. */
        if (across > 4 + 0.035 * along) {
            int bs = -1, be = -1, k = 0;
            while (k < across) {
                int st;
                if (line_count(&bo, vert, c0 + k, a0, a0 + along - 1) < 0.6 * along) {
                    k++;
                    continue;
                }
                st = k;
                while (k < across && line_count(&bo, vert, c0 + k, a0, a0 + along - 1) >= 0.6 * along)
                    k++;
                if (bs < 0 || k - st > be - bs)
                    bs = st, be = k;
            }
            if (bs < 0 || be - bs > 4)
                continue;
            c0 += bs;
            across = be - bs;
        }
        s[n].vert = vert;
        s[n].u0 = (double)a0 * red;
        s[n].u1 = (double)(a0 + along) * red;
        s[n].v = (c0 + across / 2.0) * red;
        s[n].thick = (double)across * red;
        n++;
    }
    if (n > MAX_SEGS) {
        qsort(s, (size_t)n, sizeof *s, cmp_seg_len);
        n = MAX_SEGS;
    }
    if (n > 1)
        qsort(s, (size_t)n, sizeof *s, cmp_seg_v);
    for (int i = 0; i < n; i++)
        *pmaxth = fmax(*pmaxth, s[i].thick);
    *pout = s;
    *pn = n;
    s = NULL;
cleanup:
    free(s);
    boxaDestroy(&ba);
    pixDestroy(&po);
    return rc;
}

/* find_marks - solid blobs of a mark's size (mark_min..mark_max inches). */
static int find_marks(PIX *pr, double rd, int red, double mark_min, double mark_max, det *d)
{
    PIX *po = NULL;
    BOXA *ba = NULL;
    int rc = UTIL_OK, k = (int)(0.6 * 0.85 * mark_min * rd), nb;
    l_int32 *tab = NULL;

    if (k < 2)
        return UTIL_OK;
    if (!(d->m = malloc(MAX_MARKS * sizeof *d->m)) || !(tab = makePixelSumTab8()) ||
        !(po = pixOpenCompBrick(NULL, pr, k, k)) || !(ba = pixConnCompBB(po, 8))) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    nb = boxaGetCount(ba);
    for (int i = 0; i < nb && d->nm < MAX_MARKS; i++) {
        BOX *b = boxaGetBox(ba, i, L_CLONE);
        l_int32 bx, by, bw, bh, cnt = 0;
        if (!b)
            continue;
        boxGetGeometry(b, &bx, &by, &bw, &bh);
        if (bw >= 0.7 * mark_min * rd - 1 && bh >= 0.7 * mark_min * rd - 1 &&
            bw <= 1.35 * mark_max * rd + 1 && bh <= 1.35 * mark_max * rd + 1 &&
            pixCountPixelsInRect(pr, b, &cnt, tab) == 0 && cnt >= 0.75 * bw * bh) {
            dmark *m = &d->m[d->nm++];
            m->x = (bx + bw / 2.0) * red;
            m->y = (by + bh / 2.0) * red;
            m->w = (double)bw * red;
            m->h = (double)bh * red;
        }
        boxDestroy(&b);
    }
cleanup:
    free(tab);
    boxaDestroy(&ba);
    pixDestroy(&po);
    return rc;
}

static int check_page(PIX *page1, int dpi, const char *who)
{
    if (!page1 || pixGetDepth(page1) != 1) {
        util_log(UTIL_LOG_ERROR, "%s: %s", who, !page1 ? "no page" : "the page is not 1 bpp");
        return UTIL_EINVAL;
    }
    if (dpi < 100 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "%s: resolution %d dpi outside 100..1200", who, dpi);
        return UTIL_EINVAL;
    }
    return UTIL_OK;
}

/* detect - line candidates (and marks when mark_min > 0) of page1. */
static int detect(PIX *page1, int dpi, double min_h, double min_v, double mark_min, double mark_max, det *d)
{
    PIX *pr = NULL;
    int red = reduction_for(dpi), rc;
    double rd = (double)dpi / red;
    int lh = clampi((int)(min_h * rd * 0.85), 3, 60), lv = clampi((int)(min_v * rd * 0.85), 3, 60);

    memset(d, 0, sizeof *d);
    d->red = red;
    if ((int)pixGetWidth(page1) < 8 * red || (int)pixGetHeight(page1) < 8 * red)
        return UTIL_OK; /* too small to hold anything */
    pr = red == 1 ? pixClone(page1)
                  : pixReduceRankBinaryCascade(page1, 1, red >= 4 ? 1 : 0, red >= 8 ? 1 : 0, 0);
    if (!pr) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    if ((rc = find_runs(pr, 0, lh, red, &d->h, &d->nh, &d->maxth_h)) ||
        (rc = find_runs(pr, 1, lv, red, &d->v, &d->nv, &d->maxth_v)))
        goto cleanup;
    if (mark_min > 0)
        rc = find_marks(pr, rd, red, mark_min, mark_max, d);
cleanup:
    pixDestroy(&pr);
    if (rc) {
        util_log(UTIL_LOG_ERROR, "line finder: out of memory on a %dx%d page", (int)pixGetWidth(page1),
                 (int)pixGetHeight(page1));
        det_free(d);
    }
    return rc;
}

int seg_find_segments(PIX *page1, int dpi, double min_h, double min_v, seg_segment **psegs, int *pn,
                      int *pred)
{
    det d;
    int rc, sev;

    if (psegs)
        *psegs = NULL;
    if (pn)
        *pn = 0;
    if (pred)
        *pred = 0;
    if (!psegs || !pn || !pred) {
        util_log(UTIL_LOG_ERROR, "seg_find_segments: NULL argument");
        return UTIL_EINVAL;
    }
    if ((rc = check_page(page1, dpi, "line finder")))
        return rc;
    sev = setMsgSeverity(L_SEVERITY_NONE);
    rc = detect(page1, dpi, fmax(min_h, 0.05), fmax(min_v, 0.05), 0, 0, &d);
    setMsgSeverity(sev);
    if (rc)
        return rc;
    if (d.nh + d.nv > 0) {
        seg_segment *s = realloc(d.h, (size_t)(d.nh + d.nv) * sizeof *s);
        if (!s) {
            det_free(&d);
            util_log(UTIL_LOG_ERROR, "line finder: out of memory");
            return UTIL_ENOMEM;
        }
        if (d.nv)
            memcpy(s + d.nh, d.v, (size_t)d.nv * sizeof *s);
        d.h = s;
    }
    *psegs = d.h;
    *pn = d.nh + d.nv;
    *pred = d.red;
    d.h = NULL;
    det_free(&d);
    return UTIL_OK;
}

/* ---- full-resolution measurements ------------------------------------- */

int seg_measure_line(PIX *page1, int vert, double along, double across, double halfw, double search,
                     double min_thick, double max_thick, double *pcenter, double *pthick)
{
    bitimg b;
    int cnt[MAX_PROFILE];
    int a0, a1, lo, hi, n, lim_a, lim_c, want, found = 0;
    double best = 1e300, thresh;

    *pcenter = 0;
    *pthick = 0;
    if (!page1 || pixGetDepth(page1) != 1)
        return 0;
    bitimg_of(page1, &b);
    lim_a = vert ? b.h : b.w;
    lim_c = vert ? b.w : b.h;
    a0 = (int)floor(along - halfw);
    a1 = (int)floor(along + halfw);
    want = a1 - a0 + 1;
    a0 = clampi(a0, 0, lim_a - 1);
    a1 = clampi(a1, 0, lim_a - 1);
    if (a1 - a0 + 1 < (want + 1) / 2 || a1 - a0 + 1 < 2)
        return 0;
    if (search > MAX_PROFILE / 2 - 2)
        search = MAX_PROFILE / 2 - 2;
    lo = (int)floor(across - search);
    hi = (int)floor(across + search);
    if (hi < 0 || lo >= lim_c)
        return 0;
    lo = clampi(lo, 0, lim_c - 1);
    hi = clampi(hi, 0, lim_c - 1);
    n = hi - lo + 1;
    if (!vert) {
        for (int k = 0; k < n; k++)
            cnt[k] = row_count(&b, lo + k, a0, a1);
    } else {
        memset(cnt, 0, (size_t)n * sizeof cnt[0]);
        for (int y = a0; y <= a1; y++)
            for (int k = 0; k < n; k++)
                cnt[k] += bit_at(&b, lo + k, y);
    }
    thresh = 0.7 * (a1 - a0 + 1);
    for (int k = 0; k < n;) {
        int s, e;
        if (cnt[k] < thresh) {
            k++;
            continue;
        }
        s = k;
        while (k < n && cnt[k] >= thresh)
            k++;
        e = k - 1;
        /* A run cut by the search window may be longer than it looks. */
        if ((s == 0 && lo > 0) || (e == n - 1 && hi < lim_c - 1))
            continue;
        if (e - s + 1 >= min_thick && e - s + 1 <= max_thick) {
            double c = lo + (s + e + 1) / 2.0;
            if (fabs(c - across) < best) {
                best = fabs(c - across);
                *pcenter = c;
                *pthick = e - s + 1;
                found = 1;
            }
        }
    }
    return found;
}

int seg_measure_end(PIX *page1, int vert, double across, double thick, double pred, int dir, double search,
                    double *pend)
{
    bitimg b;
    int c0, c1, start, stop, last, gap, lim_a, need;

    *pend = 0;
    if (!page1 || pixGetDepth(page1) != 1 || (dir != 1 && dir != -1))
        return 0;
    bitimg_of(page1, &b);
    lim_a = vert ? b.h : b.w;
    c0 = (int)floor(across - thick / 2 - 2);
    c1 = (int)floor(across + thick / 2 + 2);
    need = (int)fmax(1, 0.5 * thick);
    start = (int)floor(pred - dir * search);
    stop = (int)floor(pred + dir * search);
    if (start < 0 || start >= lim_a)
        return 0;
#define ON(p) ((vert ? row_count(&b, (p), c0, c1) : col_count(&b, (p), c0, c1)) >= need)
    if (!ON(start))
        return 0;
    last = start;
    gap = 0;
    for (int p = start + dir;; p += dir) {
        if (p < 0 || p >= lim_a)
            break;
        if (dir > 0 ? p > stop : p < stop)
            return 0;
        if (ON(p)) {
            last = p;
            gap = 0;
        } else if (++gap > 2) {
            break;
        }
    }
#undef ON
    *pend = dir > 0 ? last + 1 : last;
    return 1;
}

/* ---- hypotheses on the reduced candidates ----------------------------- */

typedef struct hyp {
    seg_xform xf;
    double ax, ay; /* anchor (form inches): where the hypothesis is surest */
    double grow;   /* tolerance growth per pixel of distance from the anchor */
    double score;
} hyp;

typedef struct ctx {
    PIX *page;
    int dpi;
    const tmpl *t;
    const det *d;
    cons *cs; /* scratch for constraints */
    int cs_cap;
} ctx;

static void feat_point(const tfeat *f, double u, double *px, double *py)
{
    if (f->vert) {
        *px = f->v;
        *py = u;
    } else {
        *px = u;
        *py = f->v;
    }
}

static void push(ctx *c, int *pn, double x, double y, double val, int isy, double w)
{
    if (*pn < c->cs_cap) {
        cons *k = &c->cs[(*pn)++];
        k->x = x;
        k->y = y;
        k->val = val;
        k->isy = isy;
        k->w = w;
    }
}

/* lower_v - first segment with v >= key. */
static int lower_v(const seg_segment *s, int n, double key)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s[mid].v < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * coarse_match - how much of the template the candidates explain under
 * h->xf, with a tolerance of base pixels plus h->grow per pixel of distance
 * from the anchor; the weighted fraction is returned and, when pn is not
 * NULL, the matches are written as constraints.
 */
static double coarse_match(ctx *c, const hyp *h, double base, int *pn)
{
    const tmpl *t = c->t;
    const det *d = c->d;
    double got = 0, all = 0, ppi = xf_scale(&h->xf);

    if (pn)
        *pn = 0;
    for (int i = 0; i < t->n; i++) {
        const tfeat *f = &t->f[i];
        double x, y, X0, Y0, X1, Y1, dist, tol;
        all += f->weight;
        if (f->kind == TF_MARK) {
            double mx = f->r.x + f->r.w / 2, my = f->r.y + f->r.h / 2, best = 1e300;
            int bi = -1;
            seg_xform_apply(&h->xf, mx, my, &X0, &Y0);
            dist = hypot(mx - h->ax, my - h->ay) * ppi;
            tol = base + h->grow * dist;
            for (int k = 0; k < d->nm; k++) {
                double e = hypot(d->m[k].x - X0, d->m[k].y - Y0);
                if (e <= tol && e < best && d->m[k].w > 0.6 * f->r.w * ppi &&
                    d->m[k].w < 1.5 * f->r.w * ppi + 2 * d->red) {
                    best = e;
                    bi = k;
                }
            }
            if (bi >= 0) {
                got += f->weight;
                if (pn) {
                    push(c, pn, mx, my, d->m[bi].x, 0, 2.0);
                    push(c, pn, mx, my, d->m[bi].y, 1, 2.0);
                }
            }
            continue;
        }
        {
            const seg_segment *s = f->vert ? d->v : d->h;
            int ns = f->vert ? d->nv : d->nh, bi = -1, k;
            double maxth = f->vert ? d->maxth_v : d->maxth_h;
            double pa0, pa1, pv, best = 1e300, um = (f->u0 + f->u1) / 2, fx, fy;
            feat_point(f, f->u0, &x, &y);
            seg_xform_apply(&h->xf, x, y, &X0, &Y0);
            feat_point(f, f->u1, &x, &y);
            seg_xform_apply(&h->xf, x, y, &X1, &Y1);
            pa0 = f->vert ? Y0 : X0;
            pa1 = f->vert ? Y1 : X1;
            pv = f->vert ? (X0 + X1) / 2 : (Y0 + Y1) / 2;
            feat_point(f, um, &fx, &fy);
            dist = hypot(fx - h->ax, fy - h->ay) * ppi;
            tol = base + h->grow * dist;
            for (k = lower_v(s, ns, pv - tol - maxth / 2); k < ns && s[k].v <= pv + tol + maxth / 2; k++) {
                double ov = fmin(pa1, s[k].u1) - fmax(pa0, s[k].u0), e = fabs(s[k].v - pv);
                if (e <= tol + s[k].thick / 2 && ov >= 0.6 * (pa1 - pa0) && e < best) {
                    best = e;
                    bi = k;
                }
            }
            if (bi >= 0) {
                int ne = 0, ok = 0;
                if (pn)
                    push(c, pn, fx, fy, s[bi].v, !f->vert, 1.0);
                if (f->ends & 1) {
                    ne++;
                    if (fabs(s[bi].u0 - pa0) <= tol) {
                        ok++;
                        if (pn) {
                            feat_point(f, f->u0, &x, &y);
                            push(c, pn, x, y, s[bi].u0, f->vert, 1.0);
                        }
                    }
                }
                if (f->ends & 2) {
                    ne++;
                    if (fabs(s[bi].u1 - pa1) <= tol) {
                        ok++;
                        if (pn) {
                            feat_point(f, f->u1, &x, &y);
                            push(c, pn, x, y, s[bi].u1, f->vert, 1.0);
                        }
                    }
                }
                got += f->weight * (ne ? 0.6 + 0.4 * ok / ne : 1.0);
            }
        }
    }
    return all > 0 ? got / all : 0;
}

/* coarse_refine - three rounds of match and fit with shrinking tolerance;
 * h->score is the final match's. */
static void coarse_refine(ctx *c, hyp *h)
{
    double r = c->d->red, dpi = c->dpi;
    double bases[3] = {r + 0.08 * dpi, r + 0.05 * dpi, r + 0.03 * dpi};
    double grows[3] = {h->grow, h->grow / 4, 0};

    for (int it = 0; it < 3; it++) {
        hyp cur = *h;
        seg_xform xf = h->xf;
        int n;
        cur.grow = grows[it];
        coarse_match(c, &cur, bases[it], &n);
        if (fit_xform(c->cs, n, 10.0, &xf) && xf_sane(&xf, c->dpi))
            h->xf = xf;
    }
    h->grow = 0;
    h->score = coarse_match(c, h, bases[2], NULL);
}

/* ---- fine refinement on the full page --------------------------------- */

typedef struct fstat {
    double got, all;
} fstat;

/*
 * fine_measure - measures every template feature near where xf puts it
 * (searching +- search pixels) and writes the constraints; when st is
 * not NULL, scores the measurements by their residual against xf instead
 * (within tol pixels counts).
 */
static int fine_measure(ctx *c, const seg_xform *xf, double search, double tol, fstat *st)
{
    const tmpl *t = c->t;
    double ppi = xf_scale(xf), dpi = c->dpi;
    double lw_px = fmax(1.0, t->lw * ppi), maxth = lw_px * 1.8 + 3;
    int n = 0;

    if (st)
        st->got = st->all = 0;
    for (int i = 0; i < t->n; i++) {
        const tfeat *f = &t->f[i];
        double X, Y, fx, fy;
        int ok = 0, tot = 0, eok = 0, etot = 0;
        if (f->kind == TF_MARK) {
            double mx = f->r.x + f->r.w / 2, my = f->r.y + f->r.h / 2, cy, cx, th;
            double mw = f->r.w * ppi, mh = f->r.h * ppi;
            seg_xform_apply(xf, mx, my, &X, &Y);
            tot = 2;
            if (seg_measure_line(c->page, 0, X, Y, 0.25 * mw, search + 0.8 * mh, 0.7 * mh, 1.35 * mh + 2, &cy,
                                 &th)) {
                if (st)
                    ok += fabs(cy - Y) <= tol;
                else
                    push(c, &n, mx, my, cy, 1, 2.0);
            }
            if (seg_measure_line(c->page, 1, Y, X, 0.25 * mh, search + 0.8 * mw, 0.7 * mw, 1.35 * mw + 2, &cx,
                                 &th)) {
                if (st)
                    ok += fabs(cx - X) <= tol;
                else
                    push(c, &n, mx, my, cx, 0, 2.0);
            }
        } else {
            double len = f->u1 - f->u0, len_px = len * ppi;
            int ns = clampi((int)(len / 0.35), 3, 9);
            double halfw = fmin(0.04 * dpi, 0.4 * len_px / ns);
            double off0 = 0, off1 = 0, th0 = lw_px, th1 = lw_px;
            int have0 = 0, have1 = 0;
            for (int k = 0; k < ns; k++) {
                double u = f->u0 + len * (0.08 + 0.84 * (k + 0.5) / ns), ctr, th;
                double pa, pc;
                feat_point(f, u, &fx, &fy);
                seg_xform_apply(xf, fx, fy, &X, &Y);
                pa = f->vert ? Y : X;
                pc = f->vert ? X : Y;
                tot++;
                if (!seg_measure_line(c->page, f->vert, pa, pc, halfw, search, 1, maxth, &ctr, &th))
                    continue;
                if (st)
                    ok += fabs(ctr - pc) <= tol;
                else
                    push(c, &n, fx, fy, ctr, !f->vert, 1.0);
                if (!have0) { /* the first sample found: for the u0 end */
                    off0 = ctr - pc;
                    th0 = th;
                    have0 = 1;
                }
                off1 = ctr - pc; /* the last one: for the u1 end */
                th1 = th;
                have1 = 1;
            }
            for (int e = 0; e < 2; e++) {
                double u = e ? f->u1 : f->u0, pa, pc, end;
                if (!(f->ends & (1 << e)))
                    continue;
                etot++;
                if (!(e ? have1 : have0))
                    continue;
                feat_point(f, u, &fx, &fy);
                seg_xform_apply(xf, fx, fy, &X, &Y);
                pa = f->vert ? Y : X;
                pc = (f->vert ? X : Y) + (e ? off1 : off0);
                if (!seg_measure_end(c->page, f->vert, pc, e ? th1 : th0, pa, e ? 1 : -1, search, &end))
                    continue;
                if (st)
                    eok += fabs(end - pa) <= tol * 1.5;
                else
                    push(c, &n, fx, fy, end, f->vert, 1.0);
            }
        }
        /* A line that does not end where it should is another line: its
         * ends weigh on the whole of it. */
        if (st && tot > 0) {
            st->all += f->weight;
            st->got += f->weight * ok / tot * (etot ? 0.25 + 0.75 * eok / etot : 1.0);
        }
    }
    return n;
}

/* fine_refine - measure and fit three times, dropping outliers from the
 * later fits; returns the score of the final transform. */
static double fine_refine(ctx *c, seg_xform *xf)
{
    double dpi = c->dpi, r = c->d->red;
    double tol = fmax(2.5, 0.01 * dpi);
    double searches[3] = {2 * r + 0.03 * dpi, 0.02 * dpi + 2, 0.015 * dpi + 2};
    fstat st;

    for (int it = 0; it < 3; it++) {
        seg_xform nf = *xf;
        int n = fine_measure(c, xf, searches[it], tol, NULL);
        if (!fit_xform(c->cs, n, 1.0, &nf) || !xf_sane(&nf, c->dpi))
            break;
        if (it > 0) {
            /* Drop measurements far off the fit (handwriting on a line). */
            int m = 0;
            for (int k = 0; k < n; k++) {
                const cons *q = &c->cs[k];
                double X, Y;
                seg_xform_apply(&nf, q->x, q->y, &X, &Y);
                if (fabs((q->isy ? Y : X) - q->val) <= 2 * tol)
                    c->cs[m++] = *q;
            }
            if (!fit_xform(c->cs, m, 1.0, &nf) || !xf_sane(&nf, c->dpi))
                break;
        }
        *xf = nf;
    }
    fine_measure(c, xf, searches[2], tol, &st);
    return st.all > 0 ? st.got / st.all : 0;
}

/* ---- the search ------------------------------------------------------- */

static int cmp_hyp(const void *pa, const void *pb)
{
    const hyp *a = pa, *b = pb;
    return a->score > b->score ? -1 : a->score < b->score ? 1 : 0;
}

/* keep_top - inserts h into top[0..*pn) (best first, at most cap). */
static void keep_top(hyp *top, int *pn, int cap, const hyp *h)
{
    int i;
    if (*pn == cap && h->score <= top[cap - 1].score)
        return;
    i = *pn < cap ? (*pn)++ : cap - 1;
    while (i > 0 && top[i - 1].score < h->score) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = *h;
}

static int same_xf(const seg_xform *a, const seg_xform *b, double w, double h, double tol)
{
    double pts[3][2] = {{0, 0}, {w, 0}, {0, h}};
    for (int i = 0; i < 3; i++) {
        double X1, Y1, X2, Y2;
        seg_xform_apply(a, pts[i][0], pts[i][1], &X1, &Y1);
        seg_xform_apply(b, pts[i][0], pts[i][1], &X2, &Y2);
        if (hypot(X1 - X2, Y1 - Y2) > tol)
            return 0;
    }
    return 1;
}

int seg_form_register(PIX *page1, int dpi, const seg_form *form, seg_xform *pxf, double *pscore)
{
    tmpl t;
    det d;
    ctx c;
    hyp top[N_COARSE];
    int ntop = 0, rc, sev = 0, silenced = 0;
    double best = -1, mark_max = 0;

    memset(&t, 0, sizeof t);
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    if (pxf)
        memset(pxf, 0, sizeof *pxf);
    if (pscore)
        *pscore = 0;
    if (!form || !pxf || !pscore) {
        util_log(UTIL_LOG_ERROR, "seg_form_register: NULL argument");
        return UTIL_EINVAL;
    }
    if ((rc = check_page(page1, dpi, form->name)))
        return rc;
    pxf->a = pxf->d = dpi;
    if ((rc = tmpl_build(form, &t))) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", form->name);
        goto cleanup;
    }
    if (t.n == 0) {
        util_log(UTIL_LOG_ERROR, "%s: no mark, line or framed field to register the form by", form->name);
        rc = UTIL_EINVAL;
        goto cleanup;
    }
    for (int i = 0; i < t.n; i++)
        if (t.f[i].kind == TF_MARK)
            mark_max = fmax(mark_max, fmax(t.f[i].r.w, t.f[i].r.h));
    sev = setMsgSeverity(L_SEVERITY_NONE);
    silenced = 1;
    if ((rc = detect(page1, dpi, t.min_h < 1e8 ? clampd(0.5 * t.min_h, 0.2, 0.8) : 0.8,
                     t.min_v < 1e8 ? clampd(0.5 * t.min_v, 0.15, 0.8) : 0.8, t.mark_min, mark_max, &d)))
        goto cleanup;
    c.page = page1;
    c.dpi = dpi;
    c.t = &t;
    c.d = &d;
    c.cs_cap = 64 + 16 * t.n;
    if (!(c.cs = malloc((size_t)c.cs_cap * sizeof *c.cs))) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", form->name);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }

    /* Hypotheses from one horizontal line each: the scale from its length. */
    {
        double longest = 0, base = d.red + 0.08 * dpi;
        for (int i = 0; i < t.n; i++)
            if (t.f[i].kind == TF_LINE && !t.f[i].vert)
                longest = fmax(longest, t.f[i].u1 - t.f[i].u0);
        for (int i = 0; i < t.n; i++) {
            const tfeat *f = &t.f[i];
            double len = f->u1 - f->u0;
            if (f->kind != TF_LINE || f->vert || len < fmin(0.8, longest))
                continue;
            for (int k = 0; k < d.nh; k++) {
                const seg_segment *s = &d.h[k];
                double sc = (s->u1 - s->u0) / len;
                hyp h;
                if (sc < 0.78 * dpi || sc > 1.25 * dpi)
                    continue;
                memset(&h, 0, sizeof h);
                h.xf.a = h.xf.d = sc;
                h.xf.tx = (s->u0 + s->u1) / 2 - sc * (f->u0 + f->u1) / 2;
                h.xf.ty = s->v - sc * f->v;
                h.ax = (f->u0 + f->u1) / 2;
                h.ay = f->v;
                h.grow = 0.04;
                h.score = coarse_match(&c, &h, base, NULL);
                keep_top(top, &ntop, N_COARSE, &h);
            }
        }
        /* Hypotheses from pairs of marks: a similarity each. */
        for (int i = 0; i < t.n; i++) {
            for (int j = 0; j < t.n; j++) {
                const tfeat *fi = &t.f[i], *fj = &t.f[j];
                double xi, yi, xj, yj, tdx, tdy, tl;
                if (i == j || fi->kind != TF_MARK || fj->kind != TF_MARK)
                    continue;
                xi = fi->r.x + fi->r.w / 2;
                yi = fi->r.y + fi->r.h / 2;
                xj = fj->r.x + fj->r.w / 2;
                yj = fj->r.y + fj->r.h / 2;
                tdx = xj - xi;
                tdy = yj - yi;
                tl = hypot(tdx, tdy);
                if (i > j || tl < 0.5)
                    continue;
                for (int k = 0; k < d.nm; k++) {
                    for (int l = 0; l < d.nm; l++) {
                        double ddx, ddy, sc, ang;
                        hyp h;
                        if (k == l)
                            continue;
                        ddx = d.m[l].x - d.m[k].x;
                        ddy = d.m[l].y - d.m[k].y;
                        sc = hypot(ddx, ddy) / tl;
                        ang = atan2(ddy, ddx) - atan2(tdy, tdx);
                        ang = remainder(ang, 2 * M_PI);
                        if (sc < 0.78 * dpi || sc > 1.25 * dpi || fabs(ang) > 2.5 * M_PI / 180)
                            continue;
                        memset(&h, 0, sizeof h);
                        h.xf.a = h.xf.d = sc * cos(ang);
                        h.xf.b = -sc * sin(ang);
                        h.xf.c = sc * sin(ang);
                        h.xf.tx = d.m[k].x - (h.xf.a * xi + h.xf.b * yi);
                        h.xf.ty = d.m[k].y - (h.xf.c * xi + h.xf.d * yi);
                        h.ax = (xi + xj) / 2;
                        h.ay = (yi + yj) / 2;
                        h.grow = 0.015;
                        h.score = coarse_match(&c, &h, base, NULL);
                        keep_top(top, &ntop, N_COARSE, &h);
                    }
                }
            }
        }
    }
    for (int i = 0; i < ntop; i++)
        coarse_refine(&c, &top[i]);
    if (ntop > 1)
        qsort(top, (size_t)ntop, sizeof *top, cmp_hyp);
    for (int i = 0, nf = 0; i < ntop && nf < N_FINE; i++) {
        seg_xform xf = top[i].xf;
        double s;
        int dup = 0;
        if (top[i].score <= 0)
            break;
        for (int j = 0; j < i && !dup; j++)
            dup = same_xf(&top[j].xf, &xf, form->width, form->height, 0.03 * dpi);
        if (dup)
            continue;
        nf++;
        s = fine_refine(&c, &xf);
        if (s > best) {
            best = s;
            *pxf = xf;
        }
    }
    *pscore = best > 0 ? best : 0;
cleanup:
    if (silenced)
        setMsgSeverity(sev);
    free(c.cs);
    det_free(&d);
    free(t.f);
    return rc;
}
