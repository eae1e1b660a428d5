/*
 * seg_split.h - one field's area on a binarized page turned into its
 * digits: crop with a margin, printed frame removed (lines found in the
 * image, the handwriting that crosses them repaired), an amount's written
 * underline under raised cents removed, connected components cleaned and
 * merged into glyphs, touching digits split with alternatives (one or two
 * digits decided by the blob's best cut in two), splits the template rules
 * out put behind, the decimal point or raised cents of an amount found
 * (the point among the blobs, raised cents among each split's glyphs, so
 * that cents cut out of one blob count; a blob that may hold two cents
 * keeps its reading as two), and every glyph
 * MNIST-normalized (seg_mnist.h).  Each step is its own function.
 *
 * All images are 1 bpp with ink 1.  "dpi" scales every size threshold;
 * sizes are tuned for digits 0.15-0.35 inch high at 150-400 dpi.
 */
#ifndef DOCPIPE_SEG_SPLIT_H
#define DOCPIPE_SEG_SPLIT_H

#include <allheaders.h>

#include "segment.h"

#define SEG_MAX_SPLITS 8 /* alternatives kept per field */

/*
 * seg_field_read - the field ff whose writing area registration put at
 * area (page pixels; may be off by a few pixels or 1-2 % in size) on page1
 * (the deskewed 1-bpp page), read into *dst: name, type, box (the area),
 * frame and cells from ff, and up to SEG_MAX_SPLITS splits, splits[0] the
 * best guess, priors summing to at most 1, glyphs left to right with boxes
 * in page pixels and their normalized crops.  An empty field has one split
 * with no glyph.  A comb the template wants full (min_digits = cells, not
 * an amount) read one digit short with one cell empty gets a split more:
 * the ink removed with a separator of that cell where it is wider than the
 * line over half a digit's height (a 1 drawn against the line) as the
 * missing digit, with a tenth of splits[0]'s prior.  dst->doubt (0..1) and dst->note say what was uncertain:
 * touching digits split, pieces merged, a digit count outside
 * ff->min_digits..max_digits, an amount without a decimal point, a stroke
 * along a comb line taken as a digit.  dst is
 * cleared first; on failure it holds nothing.  UTIL_EINVAL for a missing or
 * non-1-bpp page, a dpi outside 50..1200, an area that misses the page;
 * UTIL_ENOMEM; logged once naming the field.
 */
int seg_field_read(PIX *page1, int dpi, const BOX *area, const seg_form_field *ff,
                   seg_field *dst);

/*
 * seg_comb_cell - where cell k (0-based) of the comb field ff lies across a
 * writing area w pixels wide, as docs/forms.md prints it: N cells w / N
 * wide, or with dash=K, w / (N + 0.5) wide, cells K+1..N starting half a
 * cell after cell K ends.  *px0 and *px1 (either may be NULL) get the
 * cell's left and right border, measured from the area's left edge.
 * Returns the cell width, or 0 (and the whole area) when ff is no comb of
 * at least 2 cells or k is outside 0..N-1.
 */
double seg_comb_cell(const seg_form_field *ff, double w, int k, double *px0, double *px1);

/*
 * seg_comb_cell_at - the cell (0..N-1) of the comb field ff (area w pixels
 * wide) that holds x (from the area's left edge): the cell whose span
 * holds x, for x in the dash's gap or outside the area the nearest cell.
 * 0 when ff is no comb of at least 2 cells.
 */
int seg_comb_cell_at(const seg_form_field *ff, double w, double x);

/*
 * seg_field_margin - the margin seg_field_crop() adds around a w x h area
 * at dpi, in pixels: 0.08 inch plus 4 % of the area's width (*pmx) or
 * height (*pmy).
 */
void seg_field_margin(int dpi, int w, int h, int *pmx, int *pmy);

/*
 * Step a. seg_field_crop - the part of page1 around area, with a margin of
 * 0.08 inch plus 4 % of the area's size on every side (strokes stick out of
 * boxes; registration is approximate; seg_field_margin), clipped to the page.  *pcrop is a new
 * image, *pox, *poy its top-left corner on the page.  UTIL_EINVAL when the
 * area misses the page.
 */
int seg_field_crop(PIX *page1, int dpi, const BOX *area, PIX **pcrop, int *pox, int *poy);

/*
 * Step b. seg_lines_remove - crop1 without the printed frame of ff: long
 * thin horizontal lines (at least 60 % of the area's width, of the shorter
 * group's for a comb with a dash, or 0.3 inch) in the outer bands of the
 * area or outside it, and for box and comb frames thin vertical runs (at
 * least 20 % of the area's height) near the sides of the area and of every
 * cell (seg_comb_cell), that touch a found horizontal line.  Gaps of up to
 * 0.02 inch along a line (a faint line binarized into pieces) are bridged
 * when looking for them.  Handwriting crossing a removed line is restored where
 * ink lies on both sides of it.  Thin slivers of a line's ragged edges
 * left behind (at most 0.013 inch across, wholly within 0.013 inch of a
 * removed line) are removed too; thicker pieces there (a decimal point on
 * the base line) stay.  inner is the writing area in crop1's
 * pixels.  Frame none removes nothing.  *pclean is a new image; *pn_lines
 * (may be NULL) how many lines were removed.
 */
int seg_lines_remove(PIX *crop1, int dpi, const BOX *inner, const seg_form_field *ff,
                     PIX **pclean, int *pn_lines);

/* What a blob of ink is taken for. */
enum {
    SEG_BLOB_DIGIT = 0, /* one digit, or touching digits when wide */
    SEG_BLOB_POINT = 1, /* an amount's decimal point or a thousands separator */
    SEG_BLOB_MARK = 2   /* a dash, an underline, a stray mark: not a digit */
};

typedef struct seg_blob {
    int x, y, w, h;  /* in the cleaned crop's pixels */
    int kind;        /* SEG_BLOB_* */
    int parts;       /* connected components merged into it */
    PIX *pix;        /* w x h, its ink only */
} seg_blob;

typedef struct seg_blobs {
    int n;
    seg_blob *v;     /* left to right */
    int digit_h;     /* typical digit height (the median of the tall blobs) */
    int base_y;      /* the digits' base line (the median bottom), crop pixels */
} seg_blobs;

/*
 * Step c. seg_blobs_find - the ink of clean1 (a crop without its frame)
 * as blobs: 8-connected components, specks dropped (under 0.015 inch),
 * components whose center lies outside inner (plus 0.03 inch) dropped,
 * broken pieces of one digit merged (overlap in x of half the narrower
 * piece, or a third where together at most 1.25 digit heights wide, a
 * small piece above or below a digit, a short piece (under 0.45 digit
 * heights tall and 0.8 wide) in the band's upper half level with a
 * digit's top at most 0.05 digit heights beside it -- a 5's flag --, the
 * same comb cell, a point-like piece half in a digit's columns and 0.2
 * digit heights above its bottom), small low marks between
 * digits of an amount kept as points, dashes and flat underlines as marks
 * (and, where two digits or more set the base line, any flat piece
 * wholly above the digits' band or below that line, a frame's remnant,
 * merged with nothing), other small isolated
 * pieces dropped, and so are columns of stubs (3 or more pieces merged
 * into a blob under half a digit height wide with ink on under 60 % of its
 * rows, or 2 with ink on under 30 %: a security background's hatching
 * restored across a removed vertical frame line).  In a comb the template
 * wants full (min_digits = cells, not an amount) whose digits fill at
 * least half its cells but not all, a flat or small piece alone in an empty
 * cell is that cell's digit.  Outside combs, where there are more digit
 * blobs than max_digits, the two neighbours (no point between) that
 * together are narrowest merge while they are at most 0.9 digit heights
 * wide together and there are too many.  Left to right.  An
 * empty field gives n 0.  Free with seg_blobs_destroy.
 */
int seg_blobs_find(PIX *clean1, int dpi, const BOX *inner, const seg_form_field *ff,
                   seg_blobs **pb);
void seg_blobs_destroy(seg_blobs **pb);

/*
 * Step d. seg_split_cut - cuts glyph1 (one blob, 1 bpp) in two along the
 * cheapest top-to-bottom path that starts near column x and stays within
 * [x - win, x + win]: a path through background costs 1 a row, through ink
 * much more, and a step sideways a little.  *pleft and *pright are new
 * images the size of glyph1 holding the ink left and right of the path,
 * fragments under 10 % of the largest piece on each side moved to the
 * other; *pink the ink pixels the path crossed (may be NULL).
 */
int seg_split_cut(PIX *glyph1, int x, int win, PIX **pleft, PIX **pright, int *pink);

/*
 * seg_split_valleys - for a blob to be read as k digits, the k - 1 columns
 * where to cut it: each the column with the least ink (the vertical
 * projection, smoothed over 3 columns) within a quarter of a digit's width
 * of j * w / k, the nearer one on ties.  cuts[] holds k - 1 entries.
 */
int seg_split_valleys(PIX *glyph1, int k, int *cuts);

#endif
