/*
 * seg_image.h - reading scanned pages safely: one image file (TIFF with any
 * number of pages, PNG, JPEG or PNM) held in memory, its format found from
 * its first bytes (never from its name), and each page handed out as an
 * 8 bpp gray PIX with ink dark, together with its resolution.
 *
 * Every page's size is read from the file's header before anything is
 * decoded, and pages over the limits below are refused, so a small file
 * cannot make the reader allocate gigabytes (a decompression bomb).
 * Broken files (empty, not an image, truncated, a corrupt TIFF directory)
 * are refused with UTIL_EFORMAT and one message naming the file and the
 * page; messages count pages from 1, the functions from 0.
 *
 * Leptonica's own messages are silenced while these functions call it (its
 * message threshold is process-wide, so this is not thread-safe against
 * other threads changing it; the decoding itself is).  libtiff's warnings
 * are already silenced by Leptonica.  libjpeg prints one line to stderr for
 * a corrupt JPEG that is not simply cut short; a cut JPEG is caught before
 * decoding.
 */
#ifndef DOCPIPE_SEG_IMAGE_H
#define DOCPIPE_SEG_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <allheaders.h>

/*
 * Decompression-bomb limits, per page: at most SEG_MAX_SIDE pixels on a
 * side and SEG_MAX_PIXELS in all (a US-letter page at 600 dpi is 5100 x
 * 6600 = 34 Mpixel; at 1200 dpi, 135 Mpixel, which is refused).  Files
 * larger than SEG_MAX_FILE_BYTES are not read at all.
 */
#define SEG_MAX_SIDE 30000
#define SEG_MAX_PIXELS 100000000LL
#define SEG_MAX_FILE_BYTES ((size_t)1 << 30)
/* Most pages one file may hold. */
#define SEG_MAX_PAGES 10000

/* The resolution assumed when a file gives none, or one outside
 * [SEG_DPI_MIN, SEG_DPI_MAX] (72 and 96 are software defaults, not scans). */
#define SEG_DPI_DEFAULT 300
#define SEG_DPI_MIN 100
#define SEG_DPI_MAX 1200

/* One opened image file. */
typedef struct seg_doc seg_doc;

/*
 * seg_doc_open - reads the file at path into memory, finds its format from
 * its first bytes and counts its pages (for a TIFF, the directories that
 * libtiff can read in a row).  Returns UTIL_EIO when the file cannot be
 * read, UTIL_EFORMAT for an empty file, one that is no image, or a TIFF
 * whose first directory is broken, UTIL_EUNSUP for an image format other
 * than the four (BMP, GIF, WebP, JPEG 2000, PDF, PostScript).  Nothing is
 * decoded yet.  Destroy *pdoc with seg_doc_destroy().
 */
int seg_doc_open(seg_doc **pdoc, const char *path);

/*
 * seg_doc_open_mem - the same for len bytes at data (copied; the caller
 * keeps its buffer); name is what messages call the file ("<memory>" when
 * NULL).
 */
int seg_doc_open_mem(seg_doc **pdoc, const uint8_t *data, size_t len, const char *name);

/* seg_doc_page_count - the number of pages (at least 1 for an opened doc). */
int seg_doc_page_count(const seg_doc *doc);

/* seg_doc_format - "tiff", "png", "jpeg" or "pnm". */
const char *seg_doc_format(const seg_doc *doc);

/* seg_doc_name - the name messages give the file. */
const char *seg_doc_name(const seg_doc *doc);

/*
 * seg_doc_page_size - the width and height of page i as its header gives
 * them, without decoding it; UTIL_EFORMAT when the header cannot be read.
 * (Does not apply the size limits: seg_doc_read_page does.)
 */
int seg_doc_page_size(seg_doc *doc, int i, int *pw, int *ph);

/*
 * seg_doc_read_page - decodes page i (0-based) into *ppix, an 8 bpp gray
 * PIX without colormap, 0 black .. 255 white: bilevel pages come back with
 * ink 0 on paper 255, colormapped ones through their colors, 16-bit ones by
 * their high byte, colour ones as luminance, transparent ones blended over
 * white.  *pdpi is the page's horizontal resolution, or SEG_DPI_DEFAULT
 * with *passumed = 1 when the file gives none or an implausible one
 * (*passumed = 0 otherwise).  A page whose vertical resolution differs from
 * its horizontal one by more than 2 % (a fax at 204 x 98 dpi) is scaled
 * vertically so its pixels are square at *pdpi.  The PIX's own resolution
 * is set to *pdpi.
 *
 * Refuses, with UTIL_EFORMAT and a message naming the file and the page:
 * an index out of range, a page over the size limits (checked from the
 * header, before decoding), a header that cannot be read, data that do not
 * decode (truncated, corrupt), and a decoded size that differs from the
 * header's.  UTIL_ENOMEM when memory runs out.  On error *ppix is NULL.
 * pdpi and passumed may be NULL.
 */
int seg_doc_read_page(seg_doc *doc, int i, PIX **ppix, int *pdpi, int *passumed);

/* seg_doc_destroy - frees the doc; accepts NULL and NULLs the pointer. */
void seg_doc_destroy(seg_doc **pdoc);

#endif
