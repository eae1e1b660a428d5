/*
 * seg_render.h - a small page renderer for the segmentation tests
 * (test_seg_register.c, test_seg_auto.c): draws a form template onto a
 * 1 bpp page through a known transform (shift, scale, small rotation) -
 * marks, lines, box and comb frames with the dash of a ZIP+4 comb - plus
 * handwriting-like scribbles, printed text and specks.  Header-only (the
 * Makefile links each test with tst.c only); every function is static and
 * may go unused in one of the two tests.
 *
 * Geometry follows seg_register.h: continuous page coordinates (pixel i
 * covers [i, i+1)), frame lines centred on the field border, a dash comb
 * printed as two framed combs with a short dash in the half-cell gap.
 */
#ifndef DOCPIPE_SEG_RENDER_H
#define DOCPIPE_SEG_RENDER_H

#include <math.h>
#include <string.h>

#include <allheaders.h>

#include "segment/seg_form.h"
#include "segment/seg_register.h"
#include "util/util.h"

#define RND_FN static __attribute__((unused))

/* rnd_xform - form inches -> pixels at ppi pixels per inch, turned by deg
 * degrees (clockwise on the page, y down), the form's origin at (tx, ty). */
RND_FN seg_xform rnd_xform(double ppi, double deg, double tx, double ty)
{
    double t = deg * M_PI / 180;
    seg_xform xf = {ppi * cos(t), -ppi * sin(t), ppi * sin(t), ppi * cos(t), tx, ty};
    return xf;
}

/* rnd_seg - a line of thickness th pixels whose centre line runs from
 * (X0, Y0) to (X1, Y1) with its ink ending exactly there (continuous
 * coordinates), drawn with Leptonica's wide line (offset rows for a
 * near-horizontal line, offset columns for a near-vertical one). */
RND_FN void rnd_seg(PIX *pix, double X0, double Y0, double X1, double Y1, double th)
{
    int w = (int)lround(th);
    if (w < 1)
        w = 1;
    /* Rows y-(w-1)/2 .. cover a centre at y + 0.5 for odd w, at y for even w. */
    if (fabs(X1 - X0) >= fabs(Y1 - Y0)) {
        double sh = (w & 1) ? 0.5 : 0.0;
        pixRenderLine(pix, (int)lround(X0), (int)lround(Y0 - sh), (int)lround(X1) - 1, (int)lround(Y1 - sh),
                      w, L_SET_PIXELS);
    } else {
        double sh = (w & 1) ? 0.5 : 0.0;
        pixRenderLine(pix, (int)lround(X0 - sh), (int)lround(Y0), (int)lround(X1 - sh), (int)lround(Y1) - 1,
                      w, L_SET_PIXELS);
    }
}

/* rnd_line_in - a form-inch line from (x0, y0) to (x1, y1), thickness lw in. */
RND_FN void rnd_line_in(PIX *pix, const seg_xform *xf, double x0, double y0, double x1, double y1, double lw)
{
    double X0, Y0, X1, Y1;
    seg_xform_apply(xf, x0, y0, &X0, &Y0);
    seg_xform_apply(xf, x1, y1, &X1, &Y1);
    rnd_seg(pix, X0, Y0, X1, Y1, lw * sqrt(fabs(xf->a * xf->d - xf->b * xf->c)));
}

/* rnd_frame - a rectangle with its lines centred on x0..x1, y0..y1. */
RND_FN void rnd_frame(PIX *pix, const seg_xform *xf, double x0, double x1, double y0, double y1, double lw)
{
    double h = lw / 2;
    rnd_line_in(pix, xf, x0 - h, y0, x1 + h, y0, lw);
    rnd_line_in(pix, xf, x0 - h, y1, x1 + h, y1, lw);
    rnd_line_in(pix, xf, x0, y0 - h, x0, y1 + h, lw);
    rnd_line_in(pix, xf, x1, y0 - h, x1, y1 + h, lw);
}

/* rnd_field_frame - what docs/forms.md prints for a field. */
RND_FN void rnd_field_frame(PIX *pix, const seg_xform *xf, const seg_form_field *f, double lw)
{
    double x0 = f->r.x, x1 = f->r.x + f->r.w, y0 = f->r.y, y1 = f->r.y + f->r.h, h = lw / 2;
    if (f->frame == SEG_FRAME_BOX) {
        rnd_frame(pix, xf, x0, x1, y0, y1, lw);
    } else if (f->frame == SEG_FRAME_LINE) {
        rnd_line_in(pix, xf, x0, y1, x1, y1, lw);
    } else if (f->frame == SEG_FRAME_COMB) {
        int n = f->cells, k = f->dash;
        double cw = k ? f->r.w / (n + 0.5) : f->r.w / n;
        if (!k) {
            rnd_frame(pix, xf, x0, x1, y0, y1, lw);
            for (int j = 1; j < n; j++)
                rnd_line_in(pix, xf, x0 + j * cw, y0 - h, x0 + j * cw, y1 + h, lw);
        } else {
            double xb = x0 + (k + 0.5) * cw, ym = (y0 + y1) / 2;
            rnd_frame(pix, xf, x0, x0 + k * cw, y0, y1, lw);
            rnd_frame(pix, xf, xb, x1, y0, y1, lw);
            for (int j = 1; j < k; j++)
                rnd_line_in(pix, xf, x0 + j * cw, y0 - h, x0 + j * cw, y1 + h, lw);
            for (int j = 1; j < n - k; j++)
                rnd_line_in(pix, xf, xb + j * cw, y0 - h, xb + j * cw, y1 + h, lw);
            rnd_line_in(pix, xf, x0 + (k + 0.12) * cw, ym, x0 + (k + 0.38) * cw, ym, 2 * lw);
        }
    }
}

/* rnd_text - text with its top-left at form point (x, y). */
RND_FN void rnd_text(PIX *pix, L_BMF *bmf, const seg_xform *xf, double x, double y, const char *text)
{
    double X, Y;
    seg_xform_apply(xf, x, y, &X, &Y);
    pixSetTextline(pix, bmf, text, 1, (int)X, (int)Y + bmf->baselinetab[(int)'A'], NULL, NULL);
}

/* rnd_form - the whole printed form (with its labels when bmf is given). */
RND_FN void rnd_form(PIX *pix, const seg_form *form, const seg_xform *xf, L_BMF *bmf)
{
    double lw = form->line_width;
    for (int i = 0; i < form->n_features; i++) {
        const seg_rect *r = &form->features[i].r;
        if (form->features[i].kind == SEG_FEAT_MARK)
            rnd_line_in(pix, xf, r->x, r->y + r->h / 2, r->x + r->w, r->y + r->h / 2, r->h);
        else if (r->w >= r->h)
            rnd_line_in(pix, xf, r->x, r->y + r->h / 2, r->x + r->w, r->y + r->h / 2, r->h);
        else
            rnd_line_in(pix, xf, r->x + r->w / 2, r->y, r->x + r->w / 2, r->y + r->h, r->w);
    }
    for (int i = 0; i < form->n_fields; i++)
        rnd_field_frame(pix, xf, &form->fields[i], lw);
    if (bmf)
        for (int i = 0; i < form->n_texts; i++)
            rnd_text(pix, bmf, xf, form->texts[i].x, form->texts[i].y, form->texts[i].text);
}

RND_FN double rnd_u(util_rng *rng)
{
    return (double)(util_rng_next(rng) >> 11) / 9007199254740992.0;
}

/* rnd_scribble - one digit-like polyline of 4..7 points in the form rect
 * (x, y, w, h) widened by 15 % each way, so strokes cross the frame. */
RND_FN void rnd_scribble(PIX *pix, const seg_xform *xf, double x, double y, double w, double h, double pen_px,
                         util_rng *rng)
{
    PTA *pta = ptaCreate(8);
    int n = 4 + (int)util_rng_below(rng, 4);
    if (!pta)
        return;
    for (int i = 0; i < n; i++) {
        double fx = x - 0.15 * w + 1.3 * w * rnd_u(rng), fy = y - 0.15 * h + 1.3 * h * rnd_u(rng), X, Y;
        if (i == 0)
            fy = y + 0.1 * h; /* start high and end low: a tall glyph */
        if (i == n - 1)
            fy = y + 0.9 * h;
        seg_xform_apply(xf, fx, fy, &X, &Y);
        ptaAddPt(pta, (float)X, (float)Y);
    }
    pixRenderPolyline(pix, pta, (int)fmax(1, lround(pen_px)), L_SET_PIXELS, 0);
    ptaDestroy(&pta);
}

/* rnd_fill_field - handwriting in a field: a glyph per comb cell, or 2..5
 * glyphs across a box. */
RND_FN void rnd_fill_field(PIX *pix, const seg_xform *xf, const seg_form_field *f, double pen_px,
                           util_rng *rng)
{
    int n = f->frame == SEG_FRAME_COMB ? f->cells : 2 + (int)util_rng_below(rng, 4);
    double cw = f->frame == SEG_FRAME_COMB && f->dash ? f->r.w / (f->cells + 0.5) : f->r.w / n;
    for (int k = 0; k < n; k++) {
        double x = f->r.x + k * cw + (f->dash && k >= f->dash ? 0.5 * cw : 0);
        rnd_scribble(pix, xf, x + 0.1 * cw, f->r.y + 0.05 * f->r.h, 0.8 * cw, 0.9 * f->r.h, pen_px, rng);
    }
}

/* rnd_text_lines - nlines lines of random capitals and digits at random
 * places of the page. */
RND_FN void rnd_text_lines(PIX *pix, L_BMF *bmf, int nlines, util_rng *rng)
{
    int w = (int)pixGetWidth(pix), h = (int)pixGetHeight(pix);
    for (int i = 0; i < nlines; i++) {
        char buf[48];
        int len = 8 + (int)util_rng_below(rng, 30);
        for (int k = 0; k < len; k++) {
            int c = (int)util_rng_below(rng, 40);
            buf[k] = c < 26 ? (char)('A' + c) : c < 36 ? (char)('0' + c - 26) : ' ';
        }
        buf[len] = 0;
        pixSetTextline(pix, bmf, buf, 1, (int)util_rng_below(rng, (uint64_t)(w * 3 / 4)),
                       20 + (int)util_rng_below(rng, (uint64_t)(h - 40)), NULL, NULL);
    }
}

/* rnd_specks - n specks of 1..3 pixels. */
RND_FN void rnd_specks(PIX *pix, int n, util_rng *rng)
{
    int w = (int)pixGetWidth(pix), h = (int)pixGetHeight(pix);
    for (int i = 0; i < n; i++) {
        int s = 1 + (int)util_rng_below(rng, 3);
        pixRasterop(pix, (int)util_rng_below(rng, (uint64_t)w), (int)util_rng_below(rng, (uint64_t)h), s, s,
                    PIX_SET, NULL, 0, 0);
    }
}

#endif
