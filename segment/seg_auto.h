/*
 * seg_auto.h - --form auto: the fields of a page no template describes,
 * found as the printed boxes and combs that hold handwriting.
 */
#ifndef DOCPIPE_SEG_AUTO_H
#define DOCPIPE_SEG_AUTO_H

#include <allheaders.h>

#include "seg_form.h"

/*
 * seg_auto_fields - every printed box and comb on page1 (a deskewed 1 bpp
 * page, ink 1, at dpi 100..1200) that holds handwriting, as fields of a
 * form whose inches are the page's pixels / dpi.
 *
 * A box is a rectangle of printed lines 0.15..2 in high, with its four
 * sides found as long thin runs and nothing but handwriting inside (a
 * rectangle with a line across it is two boxes or none).  It is a comb
 * when vertical separators reaching from its top to its bottom line split
 * it into N >= 2 equal cells (the largest N whose every separator is
 * there).  Two combs side by side on the same lines with the same cell
 * width and a gap of 0.25..0.85 cell between them (a ZIP+4 comb with its
 * dash) are one field: cells = both, dash = the cells of the left one.
 *
 * A box or comb holds handwriting when some connected piece of ink inside
 * one of its cells (the frame left out) is at least 35 % of the cell's
 * inner height and 0.08 in tall.  So an empty box is skipped, and so is a
 * box holding only a printed label of ordinary size (printed text is
 * short: a 10 pt label is a quarter of a 0.45 in box); a large printed
 * label would count as handwriting.
 *
 * Each field: name "auto1", "auto2", ... in reading order (rows top to
 * bottom, a row being fields whose vertical spans overlap by half, then
 * left to right); type SEG_FT_NUMBER; frame SEG_FRAME_BOX or
 * SEG_FRAME_COMB with cells (and dash); r = the rectangle of the frame
 * lines' centres in inches (pixels / dpi); min_digits 1, max_digits the
 * cells of a comb, else the width / 0.15 in rounded (1..40); cents 0.
 *
 * *pfields (free() it) gets *pn fields; none found is UTIL_OK with NULL
 * and 0.  UTIL_EINVAL (logged) for a NULL argument, a page that is not
 * 1 bpp or a dpi outside 100..1200; UTIL_ENOMEM.
 */
int seg_auto_fields(PIX *page1, int dpi, seg_form_field **pfields, int *pn);

#endif
