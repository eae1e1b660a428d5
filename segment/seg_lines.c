/*
 * seg_lines.c - step b of reading a field: the printed frame (box lines,
 * comb separators and ticks, base lines) found in the crop as long thin
 * runs near where the template puts them, removed, and the handwriting that
 * crossed them restored.  See seg_split.h.
 */
#include "seg_split.h"

#include "util/util.h"

#define MAX_LINES 64

typedef struct span { int a, b, l, r; } span; /* rows a..b, columns l..r */

static int imax(int a, int b) { return a > b ? a : b; }

/*
 * The printed line in a component of the vertical opening.  A handwritten
 * stroke drawn against the line passes the opening with it, as one
 * component: taken whole, the stroke went with the line (or, wider than
 * 2 tmax, the line stayed, a bar through the digit).  The line is what
 * runs the component's whole height: the columns holding at least 90 % of
 * the tallest column's pixels, when they form one band no wider than
 * 2 tmax; *px and *pw are narrowed to it and 1 returned, else 0 (also when
 * memory runs out: the component is then judged whole, as before).
 */
static int line_columns(PIX *vopen, l_int32 *px, l_int32 y, l_int32 *pw, l_int32 h, int tmax)
{
    BOX *box = boxCreate(*px, y, *pw, h);
    PIX *comp = box ? pixClipRectangle(vopen, box, NULL) : NULL;
    NUMA *cnt = comp ? pixCountPixelsByColumn(comp) : NULL;
    l_float32 best = 0.0f, v;
    int a = -1, b = -1, n = cnt ? numaGetCount(cnt) : 0, ok = 0;

    for (int i = 0; i < n; i++)
        if (numaGetFValue(cnt, i, &v) == 0 && v > best)
            best = v;
    for (int i = 0; i < n; i++) {
        if (numaGetFValue(cnt, i, &v) != 0 || v < 0.9f * best)
            continue;
        if (a >= 0 && i > b + 1)
            goto done; /* two bands */
        if (a < 0)
            a = i;
        b = i;
    }
    if (a >= 0 && b - a + 1 <= 2 * tmax) {
        *px += a;
        *pw = b - a + 1;
        ok = 1;
    }
done:
    numaDestroy(&cnt);
    pixDestroy(&comp);
    boxDestroy(&box);
    return ok;
}

/* A line found: its pixels of the opening open copied into mask, its
 * extent into *s. */
static void line_take(PIX *mask, PIX *open, span *s, l_int32 x, l_int32 y, l_int32 w, l_int32 h)
{
    pixRasterop(mask, x, y, w, h, PIX_SRC | PIX_DST, open, x, y);
    s->a = y;
    s->b = y + h - 1;
    s->l = x;
    s->r = x + w - 1;
}

/* For a second look: *pgapped thickened by a bw x bh brick (a column or a
 * row), the first look's opening and its boxes dropped. */
static int thicken(PIX **pgapped, int bw, int bh, PIX **popen, BOXA **pboxes)
{
    PIX *t = pixDilateBrick(NULL, *pgapped, bw, bh);

    if (!t)
        return UTIL_ENOMEM;
    pixDestroy(pgapped);
    *pgapped = t;
    pixDestroy(popen);
    boxaDestroy(pboxes);
    return UTIL_OK;
}

static int lines_remove_impl(PIX *crop1, int dpi, const BOX *inner, const seg_form_field *ff,
                             PIX **pclean, int *pn_lines)
{
    PIX *hopen = NULL, *vopen = NULL, *hmask = NULL, *vmask = NULL, *hd = NULL, *vd = NULL;
    PIX *clean = NULL, *rep = NULL, *gapped = NULL;
    BOXA *hb = NULL, *vb = NULL, *rb = NULL;
    span hs[MAX_LINES];
    l_int32 W, H, ix, iy, iw, ih;
    int nh = 0, nv = 0, th = 0, tv = 0, rc = UTIL_OK;
    int tmax = imax(3, (int)(0.025 * dpi + 0.5));
    int gap = imax(3, (int)(0.02 * dpi + 0.5)); /* gaps closed along a line */

    boxGetGeometry((BOX *)inner, &ix, &iy, &iw, &ih);
    pixGetDimensions(crop1, &W, &H, NULL);
    if (ff->frame == SEG_FRAME_NONE || iw < 4 || ih < 4) {
        if (!(*pclean = pixCopy(NULL, crop1)))
            goto nomem;
        return UTIL_OK;
    }
    if (!(hmask = pixCreateTemplate(crop1)) || !(vmask = pixCreateTemplate(crop1)))
        goto nomem;

    /* Horizontal lines: runs of at least 60 % of the area's width (0.3 inch
     * at least), thin, in the outer bands of the area or outside it (a base
     * line: the lower half). */
    {
        /* a comb with a dash is two outlined groups: the shorter one counts */
        double run = iw;
        if (ff->frame == SEG_FRAME_COMB && ff->dash > 0 && ff->dash < ff->cells) {
            double cw = seg_comb_cell(ff, iw, 0, NULL, NULL);
            int k = ff->dash < ff->cells - ff->dash ? ff->dash : ff->cells - ff->dash;
            run = k * cw;
        }
        int hlen = imax((int)(0.6 * run), (int)(0.3 * dpi));
        if (hlen > W - 2)
            hlen = W - 2;
        /* faint thin lines come out of the binarization broken: small
         * gaps along a line are closed before looking for long runs */
        if (!(gapped = pixCloseSafeBrick(NULL, crop1, gap, 1)))
            goto nomem;
        /* Under 250 dpi a printed hairline is a pixel or two thick, and a
         * scan's rotation and its undoing can leave it a staircase of runs a
         * row apart, none long enough: a second look, at the ink thickened
         * by a row (neighbouring runs then share one), takes the lines the
         * first did not find, with that row. */
        for (int pass = 0; pass < (dpi < 250 ? 2 : 1); pass++) {
            int found = nh;
            if (pass == 1 && thicken(&gapped, 1, 2, &hopen, &hb))
                goto nomem;
            if (hlen < 3 || !(hopen = pixOpenCompBrick(NULL, gapped, hlen, 1)) ||
                !(hb = pixConnCompBB(hopen, 8)))
                goto nomem;
            for (int i = 0; i < boxaGetCount(hb); i++) {
                l_int32 x, y, w, h;
                int seen = 0;
                boxaGetBoxGeometry(hb, i, &x, &y, &w, &h);
                double cy = y + 0.5 * h;
                int ok = h <= 2 * tmax;
                if (ff->frame == SEG_FRAME_LINE)
                    ok = ok && cy > iy + 0.5 * ih;
                else
                    ok = ok && (cy < iy + 0.3 * ih || cy > iy + 0.7 * ih);
                /* found by the first look, as long (not a staircase's step) */
                for (int j = 0; j < found && !seen; j++)
                    seen = y <= hs[j].b + 2 && y + h - 1 >= hs[j].a - 2 &&
                           hs[j].r - hs[j].l + 1 >= 0.9 * w;
                if (!ok || seen || nh >= MAX_LINES)
                    continue;
                line_take(hmask, hopen, &hs[nh++], x, y, w, h);
                th = imax(th, h);
            }
        }
    }

    /* Vertical lines (box sides, comb separators or ticks): thin runs of at
     * least 20 % of the area's height near an expected x that reach a found
     * horizontal line (any, when none was found), not overlapping in columns
     * one found before. */
    if (ff->frame == SEG_FRAME_BOX || ff->frame == SEG_FRAME_COMB) {
        int cells = ff->frame == SEG_FRAME_COMB && ff->cells > 1 ? ff->cells : 1;
        double ex[2 * MAX_LINES];
        int nex = 0;
        /* where the template prints them: every cell's two sides */
        for (int k = 0; k < cells && nex + 2 <= 2 * MAX_LINES; k++) {
            double x0, x1;
            seg_comb_cell(ff, iw, k, &x0, &x1);
            if (k == 0 || ix + x0 > ex[nex - 1] + 1.0)
                ex[nex++] = ix + x0;
            ex[nex++] = ix + x1;
        }
        int vlen = imax((int)(0.2 * ih), (int)(0.03 * dpi));
        double tolx = 3 + 0.015 * dpi + 0.01 * iw;
        if (vlen > H - 2)
            vlen = H - 2;
        span vs[2 * MAX_LINES];
        pixDestroy(&gapped);
        if (!(gapped = pixCloseSafeBrick(NULL, crop1, 1, gap)))
            goto nomem;
        /* Under 250 dpi, as with the horizontal lines, a second look at the
         * ink thickened by a column takes the separators whose staircase
         * left no straight run that reaches a horizontal line (a 1-px
         * separator stepping a column near its ends: its middle run was
         * found but touched neither line, and the whole separator stayed,
         * 3-4 px wide, merged with the digit beside it as a piece). */
        for (int pass = 0; pass < (dpi < 250 ? 2 : 1); pass++) {
            int found = nv;
            if (pass == 1 && thicken(&gapped, 2, 1, &vopen, &vb))
                goto nomem;
            if (vlen < 3 || !(vopen = pixOpenCompBrick(NULL, gapped, 1, vlen)) ||
                !(vb = pixConnCompBB(vopen, 8)))
                goto nomem;
            for (int i = 0; i < boxaGetCount(vb); i++) {
                l_int32 x, y, w, h;
                int near = 0, touch = nh == 0, seen = 0;
                boxaGetBoxGeometry(vb, i, &x, &y, &w, &h);
                if (!line_columns(vopen, &x, y, &w, h, tmax) && w > 2 * tmax)
                    continue;
                for (int k = 0; k < nex && !near; k++)
                    near = x + 0.5 * w > ex[k] - tolx && x + 0.5 * w < ex[k] + tolx;
                for (int j = 0; j < nh && !touch; j++)
                    touch = y <= hs[j].b + 2 && y + h - 1 >= hs[j].a - 2;
                for (int j = 0; j < found && !seen; j++)
                    seen = x <= vs[j].r + 2 && x + w - 1 >= vs[j].l - 2;
                if (!near || !touch || seen || nv >= 2 * MAX_LINES)
                    continue;
                line_take(vmask, vopen, &vs[nv++], x, y, w, h);
                tv = imax(tv, w);
            }
        }
    }

    /* Remove with a pixel of margin across each line, then restore where
     * ink lies on both sides of a removed line. */
    if (!(hd = pixDilateBrick(NULL, hmask, 1, 3)) || !(vd = pixDilateBrick(NULL, vmask, 3, 1)) ||
        !(clean = pixSubtract(NULL, crop1, hd)) || !pixSubtract(clean, clean, vd))
        goto nomem;
    if (nh) {
        if (!(rep = pixCloseSafeBrick(NULL, clean, 3, th + 4)) || !pixAnd(rep, rep, hd) ||
            !pixOr(clean, clean, rep))
            goto nomem;
        pixDestroy(&rep);
    }
    if (nv) {
        if (!(rep = pixCloseSafeBrick(NULL, clean, tv + 4, 3)) || !pixAnd(rep, rep, vd) ||
            !pixOr(clean, clean, rep))
            goto nomem;
        pixDestroy(&rep);
    }
    /* What is left of a line's ragged edges: thin pieces of ink (at most
     * `thin` pixels across) lying wholly within `edge` pixels of a removed
     * line go; a thicker piece there (a decimal point on the base line)
     * stays, and so does ink with some pixel outside those bands (found by
     * a seed fill from it). */
    if (nh || nv) {
        int edge = imax(3, (int)(0.013 * dpi + 0.5)), thin = edge;
        pixDestroy(&hd);
        pixDestroy(&vd);
        if (!(hd = pixDilateBrick(NULL, hmask, 1, 2 * edge + 1)) ||
            !(vd = pixDilateBrick(NULL, vmask, 2 * edge + 1, 1)) || !pixOr(hd, hd, vd) ||
            !(rep = pixSubtract(NULL, clean, hd)) || !pixSeedfillBinary(rep, rep, clean, 8) ||
            !pixSubtract(hd, clean, rep) || !(rb = pixConnCompBB(hd, 8)))
            goto nomem;
        for (int i = 0; i < boxaGetCount(rb); i++) {
            l_int32 x, y, w, h;
            boxaGetBoxGeometry(rb, i, &x, &y, &w, &h);
            if (w > thin && h > thin) /* its pixels back (pieces do not overlap in ink) */
                pixRasterop(rep, x, y, w, h, PIX_SRC | PIX_DST, hd, x, y);
        }
        pixDestroy(&clean);
        clean = rep;
        rep = NULL;
    }
    *pclean = clean;
    clean = NULL;
    if (pn_lines)
        *pn_lines = nh + nv;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "field %s: out of memory removing lines", ff->name);
    rc = UTIL_ENOMEM;
done:
    pixDestroy(&gapped);
    pixDestroy(&hopen);
    pixDestroy(&vopen);
    pixDestroy(&hmask);
    pixDestroy(&vmask);
    pixDestroy(&hd);
    pixDestroy(&vd);
    pixDestroy(&clean);
    pixDestroy(&rep);
    boxaDestroy(&hb);
    boxaDestroy(&vb);
    boxaDestroy(&rb);
    return rc;
}

int seg_lines_remove(PIX *crop1, int dpi, const BOX *inner, const seg_form_field *ff,
                     PIX **pclean, int *pn_lines)
{
    l_int32 old;
    int rc;

    *pclean = NULL;
    if (pn_lines)
        *pn_lines = 0;
    if (!crop1 || pixGetDepth(crop1) != 1 || !inner || !ff || dpi < 50 || dpi > 1200) {
        util_log(UTIL_LOG_ERROR, "seg_lines_remove: a 1-bpp crop, its area, a field and a dpi "
                                 "in 50..1200 are needed");
        return UTIL_EINVAL;
    }
    old = setMsgSeverity(L_SEVERITY_NONE);
    rc = lines_remove_impl(crop1, dpi, inner, ff, pclean, pn_lines);
    setMsgSeverity(old);
    return rc;
}
