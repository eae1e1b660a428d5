/*
 * seg_register.h - finding a known printed form (a forms/ template) on a
 * deskewed, binarized page: the affine map from the form's inches to the
 * page's pixels, and a score saying how surely the form is there.  Also the
 * printed-line finder that registration and --form auto (seg_auto.h) share.
 *
 * Geometry conventions (docs/forms.md): a `line` feature's ink covers its
 * rectangle (x .. x+w, y .. y+line_width for a horizontal one); a mark is a
 * filled rectangle; the frame of a box or comb field is drawn with its
 * lines centred on the field rectangle's border, and a comb's separators
 * centred on the cell borders; a comb with dash=K is printed as two framed
 * combs (cells 1..K, then K+1..N) with a gap of half a cell between them
 * holding a short dash; a line frame is a base line centred on the bottom
 * border.  Registration only relies on the ends of a comb's top and bottom
 * lines away from the dash, so a comb printed as one long frame with the
 * gap inside it registers as well.
 *
 * Page coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1).
 */
#ifndef DOCPIPE_SEG_REGISTER_H
#define DOCPIPE_SEG_REGISTER_H

#include <allheaders.h>

#include "seg_form.h"

/* Form inches -> page pixels: X = a*x + b*y + tx, Y = c*x + d*y + ty. */
typedef struct seg_xform {
    double a, b, c, d, tx, ty;
} seg_xform;

/*
 * A score below this means "this form is not on the page".  Scores are the
 * weighted fraction of the template's printed features found where the
 * transform puts them (a line that runs on past its predicted ends counts
 * for a quarter), so they compare across forms.  A form printed clean and
 * found scores above 0.85; the other shipped form's page, a page of text
 * and a blank page score below 0.35 (in the tests and on docpipe samples
 * pages).
 */
#define SEG_REGISTER_MIN_SCORE 0.5

/*
 * seg_form_register - finds form on page1, a deskewed 1 bpp page (ink 1)
 * whose resolution is said to be dpi (100..1200; it may be off by up to
 * 15 %: the transform's scale absorbs it).  The form may lie anywhere on
 * the page, scaled by 0.8..1.2 and turned by up to about 1.5 degrees.
 *
 * How: candidate lines and marks are found on a page reduced to 50..120
 * dpi (morphological openings with long thin elements, connected
 * components); transforms are hypothesized from single line
 * correspondences (scale from the line's length) and from pairs of marks,
 * ranked by how many template features they explain, refined by least
 * squares on the matched features, and the best few are then refined on
 * the full-resolution page by measuring each printed line's centre (at
 * several points along it), its ends and each mark's centre where the
 * transform predicts them.  The score of the final transform is the
 * weighted fraction of those measurements that landed within about
 * 0.01 in of the prediction.
 *
 * Writes the transform to *pxf and the score in [0, 1] to *pscore; when
 * the form is not found (score below SEG_REGISTER_MIN_SCORE) *pxf is the
 * best guess, or the plain scale by dpi when nothing matched at all, and
 * the return is still UTIL_OK.  UTIL_EINVAL (logged) for a NULL argument,
 * a page that is not 1 bpp, a dpi outside 100..1200, a form with no
 * registration feature; UTIL_ENOMEM when Leptonica fails to allocate.
 * Not thread-safe against other threads changing Leptonica's message
 * severity (it silences Leptonica while it runs).
 */
int seg_form_register(PIX *page1, int dpi, const seg_form *form, seg_xform *pxf, double *pscore);

/* seg_xform_apply - the page point (*pX, *pY) of the form point (x, y) in inches. */
void seg_xform_apply(const seg_xform *xf, double x, double y, double *pX, double *pY);

/*
 * seg_xform_rect - the bounding box in whole pixels of the image of r (in
 * form inches): its corners mapped, then rounded to the nearest pixel edge.
 */
void seg_xform_rect(const seg_xform *xf, const seg_rect *r, int *px, int *py, int *pw, int *ph);

/* ---- The line finder shared with seg_auto.c -------------------------- */

/*
 * One printed-line candidate in page pixels: horizontal (vert 0) from
 * u0 to u1 in x at centre height v, or vertical (vert 1) from u0 to u1 in y
 * at centre abscissa v; thick is its thickness as seen on the reduced page
 * (a tilted line looks thicker).
 */
typedef struct seg_segment {
    int vert;
    double u0, u1, v, thick;
} seg_segment;

/*
 * seg_find_segments - horizontal runs at least min_h inches long and
 * vertical runs at least min_v inches long on page1 (1 bpp, dpi as above),
 * found on a reduced copy; positions are accurate to the reduction factor,
 * which is written to *pred (1, 2, 4 or 8).  The caller frees *psegs.
 * UTIL_EINVAL or UTIL_ENOMEM as for seg_form_register.
 */
int seg_find_segments(PIX *page1, int dpi, double min_h, double min_v, seg_segment **psegs, int *pn,
                      int *pred);

/*
 * seg_measure_line - measures a printed line near a predicted position on
 * the full-resolution page: a horizontal line (vert 0) in the window of
 * columns along +- halfw around its predicted height across (searched
 * within +- search), or a vertical one (vert 1) in rows along +- halfw
 * around abscissa across.  The line is the run of rows (columns) at least
 * 70 % inked across the window whose thickness lies in [min_thick,
 * max_thick] and whose centre is nearest the prediction.  Returns 1 and
 * the centre and thickness in pixels, or 0 when there is none.
 */
int seg_measure_line(PIX *page1, int vert, double along, double across, double halfw, double search,
                     double min_thick, double max_thick, double *pcenter, double *pthick);

/*
 * seg_measure_end - the end of a printed line near a predicted end:
 * walks along the line (centre across, thickness thick) from search
 * pixels inside the predicted end pred (dir +1: the line's right or bottom
 * end, -1: its left or top end) until the line stops (gaps of up to 2
 * pixels are bridged).  Returns 1 and the end's edge in *pend, or 0 when
 * the line is not there at the start or still goes on search pixels past
 * the prediction.
 */
int seg_measure_end(PIX *page1, int vert, double across, double thick, double pred, int dir, double search,
                    double *pend);

#endif
