/*
 * seg_clean.h - the first cleaning steps of a scanned page: finding and
 * undoing its skew, background normalization with binarization, and the
 * removal, field by field, of a security pattern binarization kept.
 *
 * Skew sign convention, used by every function here: an angle is the angle
 * in degrees by which the page's content is rotated on the scan,
 * counter-clockwise positive as a reader sees the page (text lines rising
 * to the right have a positive angle).  Undoing it rotates the page
 * clockwise by that angle.
 *
 * Intended order for speed (times for a US-letter page at 300 dpi, 2550 x
 * 3300, one core of the development machine, thread CPU time):
 *   seg_binarize(page8)            -> bin1 (unrotated)       12-13 ms
 *   seg_find_skew(bin1)            -> angle, conf            3-7 ms (grows with the angle)
 *   seg_rotate(bin1, angle)        -> the deskewed binary    0.8 ms under 3.4 deg, 1.8 ms at 6
 * and, when gray pixels are needed later, work on the unrotated scan in the
 * regions of the fields (seg_skew_map gives where they lie on the scan; the
 * pipeline runs seg_unpattern there and rotates bin1 again): rotating the
 * whole gray page costs 15-23 ms by shears (fast) and 44 ms by area
 * mapping.  seg_deskew() does it all on the gray page (about 60 ms) when
 * simplicity matters more than time.
 */
#ifndef DOCPIPE_SEG_CLEAN_H
#define DOCPIPE_SEG_CLEAN_H

#include <allheaders.h>

/* The largest skew seg_find_skew() is asked to search by the pipeline. */
#define SEG_SKEW_MAX_DEG 10.0
/* Below this confidence (Leptonica's max/min score ratio) no skew is
 * reported: angle 0.  Leptonica's own pixDeskew uses 3. */
#define SEG_SKEW_MIN_CONF 3.0

/*
 * seg_find_skew - the skew of a page within +-max_deg degrees (0.5 ..
 * 45), by Leptonica's sweep and binary search of the differential square
 * sum of row profiles (pixFindSkewSweepAndSearchScorePivot).  pix is 1 bpp
 * with ink 1 (as seg_binarize gives it), searched at half resolution; or
 * 8 bpp gray with ink dark, binarized first at half resolution.  *pangle is
 * the angle in degrees (sign convention above), *pconf Leptonica's
 * confidence (max/min score ratio; 0 when there is nothing to measure).
 * When the page holds too little ink, or the confidence is below
 * SEG_SKEW_MIN_CONF, or the best angle lies at the edge of the range, no
 * skew is found: *pangle = 0 and *pconf is what was measured (0 for a
 * blank page).  That is UTIL_OK; errors (UTIL_EINVAL for a bad argument,
 * UTIL_ENOMEM) are logged.
 */
int seg_find_skew(PIX *pix, double max_deg, double *pangle, double *pconf);

/*
 * seg_rotate - undoes a skew of angle degrees (as seg_find_skew gives it):
 * pix rotated clockwise by angle about its centre, same size, white (or 0
 * in a 1 bpp image) brought in at the corners; content rotated out past
 * the edges is lost.  1 bpp rotates by shears (fast, exact pixels); 8 bpp
 * by area mapping (smooth) unless fast is set (shears: about 3x faster,
 * edges stair-stepped by a pixel).  Other depths: by Leptonica's choice.
 * An angle under 0.05 degrees gives a copy.  *pdst is new in every case.
 */
int seg_rotate(PIX *pix, double angle, int fast, PIX **pdst);

/*
 * seg_skew_map - where the point (x, y) of a w x h page skewed by angle
 * degrees lands on the page seg_rotate() makes of it (*px, *py); with
 * -angle, the way back: where a point of the deskewed page lies on the
 * scan.  Lets a caller deskew only the regions it needs: find them on the
 * deskewed binary page, map their corners back, and rotate those pieces
 * of the gray scan alone.  The centre of rotation is (w / 2, h / 2) in
 * integers, as Leptonica's.
 */
void seg_skew_map(double angle, int w, int h, double x, double y, double *px, double *py);

/*
 * seg_deskew - seg_find_skew() on the gray page src8 (8 bpp) within
 * +-max_deg, then seg_rotate() of src8 (area mapped) when a skew was
 * found; otherwise *pdst is a copy.  *pangle and *pconf as from
 * seg_find_skew.
 */
int seg_deskew(PIX *src8, double max_deg, PIX **pdst, double *pangle, double *pconf);

/*
 * Binarization parameters.  The background (paper plus any printed
 * security pattern) is estimated at 1/reduction scale: area-averaged, then
 * a gray closing over a square of close_in inches removes ink narrower
 * than that.  Relative to that local background b, a pixel is ink when
 *   - it is darker than dark * b (a seed by itself: hairlines stay), or
 *   - it is darker than strong * b inside a 2 x 2 block of such pixels
 *     (a seed: lone noise pixels are not), or
 *   - it is darker than weak * b and 8-connected to a seed (hysteresis);
 * and the strong and weak thresholds never fall below dark * the page's
 * median background, so marks larger than the closing stay solid.
 */
typedef struct seg_bin_params {
    int reduction;     /* 4, 8 or 16 at 300 dpi; scaled with dpi */
    double close_in;   /* closing size, inches */
    double dark;       /* lone-seed threshold, fraction of background (<= strong) */
    double strong;     /* seed threshold, fraction of background */
    double weak;       /* grow threshold, fraction of background (>= strong) */
} seg_bin_params;

/* seg_bin_params_default - the tuned defaults (see seg_clean.c). */
seg_bin_params seg_bin_params_default(void);

/*
 * seg_binarize - background normalization and binarization of the gray
 * page src8 (8 bpp, ink dark) scanned at dpi (50 .. 2400): *pdst1 is 1 bpp
 * with ink 1, same size, resolution copied.  Keeps light pencil-like ink
 * (about 0.6-0.75 of the paper's brightness) over gradients, uneven light
 * and light fine security patterns (guilloche, crosshatch, texture down to
 * about 0.8 of the paper), and leaves a clean page without specks.
 * UTIL_EINVAL for a wrong depth or dpi, UTIL_ENOMEM; logged.
 */
int seg_binarize(PIX *src8, int dpi, PIX **pdst1);

/* seg_binarize_with - the same with explicit parameters (p NULL: defaults). */
int seg_binarize_with(PIX *src8, int dpi, const seg_bin_params *p, PIX **pdst1);

/*
 * seg_unpattern - where the binary page bin1 (1 bpp, ink 1) holds, within
 * box, a light printed pattern that binarization kept (a check's security
 * background darker than seg_binarize() drops) beside ink clearly darker
 * than it, removes the pattern's pixels from bin1 using the gray page src8
 * (8 bpp, the same geometry).  The ink's gray levels are split in two
 * (Otsu), and where the light side is no pattern, it is split again (the
 * darkest ink may be a printed frame, the pencil on the light side with
 * the pattern).  *premoved: the pixels removed (0: no pattern found).
 * UTIL_ENOMEM; logged.
 */
int seg_unpattern(PIX *bin1, PIX *src8, const BOX *box, int dpi, int *premoved);

#endif
