/*
 * smp_draw.h - drawing for the sample generator: a form template printed at
 * page resolution (marks, lines, frames, labels in Leptonica's bitmap
 * fonts), check paper with its security background, pen strokes (dots,
 * lines, a signature), and the scanner's effects on a finished page.
 *
 * Pages are 8 bpp gray, 255 = white.  A form is placed by smp_place: a form
 * point (u, v) in inches lands on pixel (dx + u * ppi, dy + v * ppi) of the
 * page before the scan's skew.
 */
#ifndef DOCPIPE_SMP_DRAW_H
#define DOCPIPE_SMP_DRAW_H

#include <allheaders.h>

#include "segment/seg_form.h"
#include "util/util.h"

typedef struct smp_place {
    double ppi;  /* page dpi times the print scale */
    int dx, dy;  /* the form's top-left on the page, pixels */
} smp_place;

/* The frame line thickness in pixels (at least 1). */
int smp_line_px(const seg_form *f, const smp_place *pl);

/*
 * smp_draw_paper - the form's paper: a light tone, and with security the
 * light gray (185-235) patterns of a check (guilloche-like sinusoidal line
 * families, crosshatch, fine texture, a gradient), all from rng.
 */
int smp_draw_paper(PIX *page, const seg_form *f, const smp_place *pl, int security,
                   util_rng *rng);

/*
 * smp_draw_form - prints the template: marks, lines, the frames of the
 * fields (a box or comb outline is centered on the field's border; a comb
 * with dash=K is two outlined groups of cells with a short dash centered in
 * the half-cell gap between them; a line frame is a base line centered on
 * the bottom edge), and the labels (bitmap fonts made for 300 ppi, scaled
 * to ppi), in gray level ink.
 */
int smp_draw_form(PIX *page, const seg_form *f, const smp_place *pl, int ink);

/* smp_draw_polyline - a pen stroke through n points (x0 y0 x1 y1 ...,
 * pixels), width pixels wide, anti-aliased, blended as ink. */
int smp_draw_polyline(PIX *page, const double *xy, int n, double width, int ink);

/* smp_draw_dot - a filled round dot of radius r pixels centered at (cx, cy). */
int smp_draw_dot(PIX *page, double cx, double cy, double r, int ink);

/* smp_draw_scribble - a signature-like looping pen line in the box
 * (x, y, w, h), pixels. */
int smp_draw_scribble(PIX *page, double x, double y, double w, double h, double width, int ink,
                      util_rng *rng);

/*
 * smp_scan - what a scanner does to the page, in place of *ppage: rotation
 * by skew_deg about the page center (Leptonica's sense: positive turns the
 * content clockwise as displayed, y down), white brought in at the corners;
 * then, drawn from rng, a slight blur, uneven light (a brightness gradient
 * or a vignette), the sensor's black and white levels, and additive noise.
 */
int smp_scan(PIX **ppage, double skew_deg, int dpi, util_rng *rng);

#endif
