/*
 * seg_mnist.h - one digit's ink turned into a 28 x 28 gray crop the way
 * MNIST's digits were made: the ink's bounding box scaled (aspect kept) so
 * its larger side is 20 pixels, with area averaging for the gray levels,
 * then placed in 28 x 28 with its gray-weighted center of mass at the
 * center, moved by whole pixels.
 */
#ifndef DOCPIPE_SEG_MNIST_H
#define DOCPIPE_SEG_MNIST_H

#include <stdint.h>

#include <allheaders.h>

/* The stroke width over the digit's larger side that the shipped model
 * likes best: MNIST test digits thresholded at 128 and scanned up 3.5x
 * measure 0.098 by seg_mnist_stroke_ratio; thinned or thickened copies are
 * classified best after correction to 0.10-0.11. */
#define SEG_MNIST_STROKE_RATIO 0.105f

/*
 * seg_mnist_stroke_ratio - the stroke width of the ink in glyph1 (1 bpp,
 * ink 1) relative to the larger side of its bounding box, estimated as
 * 2 * ink pixels / boundary pixels (an ink pixel with a background
 * 8-neighbour or on the image's edge is a boundary pixel).  *pratio is 0
 * for an image without ink.  UTIL_EINVAL for a missing or non-1-bpp image.
 */
int seg_mnist_stroke_ratio(PIX *glyph1, float *pratio);

/*
 * seg_mnist_normalize - dst[784] (row-major, 0 background .. 255 ink) from
 * glyph1, a 1-bpp image holding one digit's ink (1 = ink, anything around
 * it is ignored).  Before scaling, a glyph whose strokes are much thinner
 * than SEG_MNIST_STROKE_RATIO by a pixel or more is thickened, and one
 * thicker is thinned, by a brick dilation or erosion (made smaller when it would
 * break the glyph apart).  The ink's bounding box is scaled by area
 * mapping so its larger side is 20 pixels; the result's gray-weighted
 * center of mass goes to (14, 14) in pixel indices (MNIST's own mean),
 * rounded to whole pixels (halves away from zero); ink pushed past the border is cut.  A glyph
 * without ink gives an all-zero crop and UTIL_OK.  UTIL_EINVAL for a
 * missing or non-1-bpp image, UTIL_ENOMEM when Leptonica fails; logged.
 */
int seg_mnist_normalize(PIX *glyph1, uint8_t dst[784]);

/* seg_mnist_normalize_ex - the same, with the stroke correction only when
 * adjust_stroke is non-zero (seg_mnist_normalize passes 1). */
int seg_mnist_normalize_ex(PIX *glyph1, int adjust_stroke, uint8_t dst[784]);

#endif
