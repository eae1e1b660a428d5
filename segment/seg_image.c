/*
 * seg_image.c - reading scanned pages safely (see seg_image.h): the file in
 * memory, its format from its magic bytes, pages counted and each page's
 * header checked against the size limits before Leptonica decodes it, the
 * decoded page brought to 8 bpp gray with a plausible resolution.
 */
#include "seg_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

enum { FMT_TIFF = 0, FMT_PNG, FMT_JPEG, FMT_PNM };
static const char *const fmt_names[] = { "tiff", "png", "jpeg", "pnm" };

struct seg_doc {
    char *name;
    uint8_t *data;
    size_t len;
    int fmt;     /* FMT_* */
    int npages;
};

/* Leptonica's messages off; returns the threshold to restore. */
static int lept_quiet(void) { return setMsgSeverity(L_SEVERITY_NONE); }
static void lept_restore(int sev) { setMsgSeverity(sev); }

/* ------------------------------------------------------------ opening */

/* The format of data from its first bytes: FMT_* or -1 (rc in *prc). */
static int sniff(const char *name, const uint8_t *data, size_t len, int *prc)
{
    uint8_t head[16] = { 0 };
    l_int32 iff = IFF_UNKNOWN;
    int sev;

    *prc = UTIL_OK;
    if (len == 0) {
        util_log(UTIL_LOG_ERROR, "%s: empty file (0 bytes), not an image", name);
        *prc = UTIL_EFORMAT;
        return -1;
    }
    /* findFileFormatBuffer reads 12 bytes whatever the length: pad. */
    memcpy(head, data, len < sizeof head ? len : sizeof head);
    sev = lept_quiet();
    findFileFormatBuffer(head, &iff);
    lept_restore(sev);
    switch (iff) {
    case IFF_TIFF: case IFF_TIFF_PACKBITS: case IFF_TIFF_RLE: case IFF_TIFF_G3:
    case IFF_TIFF_G4: case IFF_TIFF_LZW: case IFF_TIFF_ZIP: case IFF_TIFF_JPEG:
        if (len >= 8)
            return FMT_TIFF;
        break;
    case IFF_PNG:
        if (len >= 8)
            return FMT_PNG;
        break;
    case IFF_JFIF_JPEG:
        if (len >= 3)
            return FMT_JPEG;
        break;
    case IFF_PNM:
        if (len >= 3)
            return FMT_PNM;
        break;
    case IFF_UNKNOWN:
        break;
    default:
        util_log(UTIL_LOG_ERROR,
                 "%s: image format not supported (Leptonica format %d); "
                 "give TIFF, PNG, JPEG or PNM", name, (int)iff);
        *prc = UTIL_EUNSUP;
        return -1;
    }
    util_log(UTIL_LOG_ERROR, "%s: not a TIFF, PNG, JPEG or PNM image (%zu bytes, "
             "first bytes %02x %02x %02x %02x)", name, len, head[0], head[1], head[2], head[3]);
    *prc = UTIL_EFORMAT;
    return -1;
}

/* The number of pages of a TIFF, or -1 when its first directory is broken. */
static int tiff_count(const uint8_t *data, size_t len)
{
    FILE *fp = fmemopen((void *)data, len, "r");
    l_int32 n = 0;
    int sev;

    if (!fp)
        return -1;
    sev = lept_quiet();
    if (tiffGetCount(fp, &n) != 0)
        n = -1;
    lept_restore(sev);
    fclose(fp);
    return n;
}

/* Takes ownership of data (malloc'd) whatever the outcome. */
static int doc_open_owned(seg_doc **pdoc, uint8_t *data, size_t len, const char *name)
{
    seg_doc *doc = NULL;
    int rc = UTIL_OK, fmt;

    *pdoc = NULL;
    if (!name)
        name = "<memory>";
    fmt = sniff(name, data, len, &rc);
    if (fmt < 0)
        goto done;
    doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->name = strdup(name))) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", name);
        rc = UTIL_ENOMEM;
        goto done;
    }
    doc->data = data;
    doc->len = len;
    data = NULL;
    doc->fmt = fmt;
    doc->npages = 1;
    if (fmt == FMT_TIFF) {
        doc->npages = tiff_count(doc->data, doc->len);
        if (doc->npages < 1) {
            util_log(UTIL_LOG_ERROR, "%s: corrupt TIFF: its first directory cannot be read", name);
            rc = UTIL_EFORMAT;
            goto done;
        }
        if (doc->npages > SEG_MAX_PAGES) {
            util_log(UTIL_LOG_ERROR, "%s: TIFF with %d pages, more than the %d allowed",
                     name, doc->npages, SEG_MAX_PAGES);
            rc = UTIL_EFORMAT;
            goto done;
        }
    }
    *pdoc = doc;
    doc = NULL;
done:
    free(data);
    seg_doc_destroy(&doc);
    return rc;
}

int seg_doc_open(seg_doc **pdoc, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *pdoc = NULL;
    rc = util_file_read(path, SEG_MAX_FILE_BYTES, &buf, &len);
    if (rc != UTIL_OK)
        return rc; /* util_file_read named the file */
    return doc_open_owned(pdoc, buf, len, path);
}

int seg_doc_open_mem(seg_doc **pdoc, const uint8_t *data, size_t len, const char *name)
{
    uint8_t *copy;

    *pdoc = NULL;
    if (!data && len) {
        util_log(UTIL_LOG_ERROR, "seg_doc_open_mem: no data");
        return UTIL_EINVAL;
    }
    copy = malloc(len ? len : 1);
    if (!copy) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory for %zu bytes", name ? name : "<memory>", len);
        return UTIL_ENOMEM;
    }
    if (len)
        memcpy(copy, data, len);
    return doc_open_owned(pdoc, copy, len, name);
}

int seg_doc_page_count(const seg_doc *doc) { return doc ? doc->npages : 0; }

const char *seg_doc_format(const seg_doc *doc) { return doc ? fmt_names[doc->fmt] : ""; }

const char *seg_doc_name(const seg_doc *doc) { return doc ? doc->name : ""; }

void seg_doc_destroy(seg_doc **pdoc)
{
    if (!pdoc || !*pdoc)
        return;
    free((*pdoc)->name);
    free((*pdoc)->data);
    free(*pdoc);
    *pdoc = NULL;
}

/* ------------------------------------------------------------ pages */

static int jpeg_has_eoi(const uint8_t *data, size_t len);
static int png_complete(const uint8_t *data, size_t len);

static int check_index(const seg_doc *doc, int i)
{
    if (i < 0 || i >= doc->npages) {
        util_log(UTIL_LOG_ERROR, "%s: no page %d (the file has %d page%s)", doc->name, i + 1,
                 doc->npages, doc->npages == 1 ? "" : "s");
        return UTIL_EFORMAT;
    }
    return UTIL_OK;
}

int seg_doc_page_size(seg_doc *doc, int i, int *pw, int *ph)
{
    l_int32 w = 0, h = 0, bps = 0, spp = 0, d = 0, type = 0, cmap = 0;
    int sev, bad = 1, rc;

    *pw = *ph = 0;
    if ((rc = check_index(doc, i)) != UTIL_OK)
        return rc;
    if ((doc->fmt == FMT_JPEG && !jpeg_has_eoi(doc->data, doc->len)) ||
        (doc->fmt == FMT_PNG && !png_complete(doc->data, doc->len))) {
        util_log(UTIL_LOG_ERROR, "%s: page %d/%d: truncated %s file (%zu bytes, no %s)",
                 doc->name, i + 1, doc->npages, fmt_names[doc->fmt], doc->len,
                 doc->fmt == FMT_JPEG ? "end-of-image marker" : "IEND chunk");
        return UTIL_EFORMAT;
    }
    sev = lept_quiet();
    switch (doc->fmt) {
    case FMT_TIFF:
        bad = readHeaderMemTiff(doc->data, doc->len, i, &w, &h, &bps, &spp, NULL, &cmap, NULL);
        break;
    case FMT_PNG:
        bad = readHeaderMemPng(doc->data, doc->len, &w, &h, &bps, &spp, &cmap);
        break;
    case FMT_JPEG:
        bad = readHeaderMemJpeg(doc->data, doc->len, &w, &h, &spp, NULL, NULL);
        break;
    case FMT_PNM:
        bad = readHeaderMemPnm(doc->data, doc->len, &w, &h, &d, &type, &bps, &spp);
        break;
    }
    lept_restore(sev);
    if (bad || w < 1 || h < 1) {
        util_log(UTIL_LOG_ERROR, "%s: page %d/%d: corrupt %s header (size cannot be read)",
                 doc->name, i + 1, doc->npages, fmt_names[doc->fmt]);
        return UTIL_EFORMAT;
    }
    *pw = w;
    *ph = h;
    return UTIL_OK;
}

/*
 * Whether a JPEG ends with its EOI marker (FF D9), allowing trailing zero
 * padding and other trailing data within the last 64 KiB.  A JPEG cut short
 * lacks it; catching that here keeps libjpeg from printing its warning.
 */
static int jpeg_has_eoi(const uint8_t *data, size_t len)
{
    size_t lo = len > 65536 ? len - 65536 : 2;

    for (size_t k = len; k >= lo + 2; k--)
        if (data[k - 2] == 0xff && data[k - 1] == 0xd9)
            return 1;
    return 0;
}

/*
 * Whether a PNG's chunks run whole from the signature to IEND.  A PNG cut
 * short fails this; catching it here keeps libpng from printing its error.
 */
static int png_complete(const uint8_t *data, size_t len)
{
    size_t o = 8;

    while (o + 12 <= len) {
        uint32_t n = (uint32_t)data[o] << 24 | (uint32_t)data[o + 1] << 16 |
                     (uint32_t)data[o + 2] << 8 | data[o + 3];
        if (n > 0x7fffffffu || n > len - o - 12)
            return 0;
        if (memcmp(data + o + 4, "IEND", 4) == 0)
            return 1;
        o += 12 + (size_t)n;
    }
    return 0;
}

/* Decodes page i as Leptonica gives it; NULL when it does not decode. */
static PIX *decode(seg_doc *doc, int i)
{
    PIX *pix = NULL;
    l_int32 nwarn = 0;
    int sev = lept_quiet();

    switch (doc->fmt) {
    case FMT_TIFF:
        pix = pixReadMemTiff(doc->data, doc->len, i);
        break;
    case FMT_PNG:
        pix = pixReadMemPng(doc->data, doc->len);
        break;
    case FMT_JPEG:
        pix = pixReadMemJpeg(doc->data, doc->len, 0, 1, &nwarn, 0);
        if (pix && nwarn > 0)
            pixDestroy(&pix);
        break;
    case FMT_PNM:
        pix = pixReadMemPnm(doc->data, doc->len);
        break;
    }
    lept_restore(sev);
    return pix;
}

/* pix (any depth Leptonica reads) as 8 bpp gray without colormap, possibly
 * pix itself (a clone); NULL on failure (out of memory). */
static PIX *to_gray8(PIX *pix)
{
    PIX *p1 = NULL, *p2 = NULL;

    if (pixGetColormap(pix)) {
        p1 = pixRemoveColormap(pix, REMOVE_CMAP_TO_GRAYSCALE);
        if (!p1)
            return NULL;
        pix = p1;
    } else if (pixGetDepth(pix) == 32 && pixGetSpp(pix) == 4) {
        p1 = pixAlphaBlendUniform(pix, 0xffffff00);
        if (!p1)
            return NULL;
        pix = p1;
    }
    if (pixGetDepth(pix) == 8 && !pixGetColormap(pix))
        p2 = pixClone(pix); /* the caller drops its own reference */
    else
        p2 = pixConvertTo8(pix, 0);
    pixDestroy(&p1);
    return p2;
}

int seg_doc_read_page(seg_doc *doc, int i, PIX **ppix, int *pdpi, int *passumed)
{
    PIX *raw = NULL, *gray = NULL;
    int w, h, rc, sev, xres, yres, dpi, assumed = 0;

    *ppix = NULL;
    if (pdpi)
        *pdpi = 0;
    if (passumed)
        *passumed = 0;
    if ((rc = seg_doc_page_size(doc, i, &w, &h)) != UTIL_OK)
        return rc;
    if (w > SEG_MAX_SIDE || h > SEG_MAX_SIDE || (long long)w * h > SEG_MAX_PIXELS) {
        util_log(UTIL_LOG_ERROR,
                 "%s: page %d/%d is %d x %d pixels, over the limit (%d per side, "
                 "%lld Mpixel); not decoded", doc->name, i + 1, doc->npages, w, h,
                 SEG_MAX_SIDE, SEG_MAX_PIXELS / 1000000);
        return UTIL_EFORMAT;
    }
    raw = decode(doc, i);
    if (!raw) {
        util_log(UTIL_LOG_ERROR, "%s: page %d/%d: corrupt or truncated %s data (%d x %d)",
                 doc->name, i + 1, doc->npages, fmt_names[doc->fmt], w, h);
        rc = UTIL_EFORMAT;
        goto done;
    }
    if (pixGetWidth(raw) != w || pixGetHeight(raw) != h) {
        util_log(UTIL_LOG_ERROR, "%s: page %d/%d: header says %d x %d, data decode to %d x %d",
                 doc->name, i + 1, doc->npages, w, h, pixGetWidth(raw), pixGetHeight(raw));
        rc = UTIL_EFORMAT;
        goto done;
    }
    sev = lept_quiet();
    gray = to_gray8(raw);
    lept_restore(sev);
    if (!gray) {
        util_log(UTIL_LOG_ERROR, "%s: page %d/%d: out of memory converting %d x %d to gray",
                 doc->name, i + 1, doc->npages, w, h);
        rc = UTIL_ENOMEM;
        goto done;
    }
    xres = pixGetXRes(raw);
    yres = pixGetYRes(raw);
    if (xres <= 0 && yres > 0)
        xres = yres;
    if (yres <= 0)
        yres = xres;
    dpi = xres;
    if (dpi < SEG_DPI_MIN || dpi > SEG_DPI_MAX) {
        dpi = SEG_DPI_DEFAULT;
        assumed = 1;
    } else if (yres >= SEG_DPI_MIN / 2 && yres <= SEG_DPI_MAX &&
               (yres * 50 < xres * 49 || yres * 50 > xres * 51)) {
        /* Non-square pixels (fax): scale y to xres. */
        PIX *sq;

        sev = lept_quiet();
        sq = pixScale(gray, 1.0f, (l_float32)xres / (l_float32)yres);
        lept_restore(sev);
        if (!sq) {
            util_log(UTIL_LOG_ERROR, "%s: page %d/%d: out of memory scaling %d x %d dpi to square",
                     doc->name, i + 1, doc->npages, xres, yres);
            rc = UTIL_ENOMEM;
            goto done;
        }
        pixDestroy(&gray);
        gray = sq;
    }
    pixSetResolution(gray, dpi, dpi);
    *ppix = gray;
    gray = NULL;
    if (pdpi)
        *pdpi = dpi;
    if (passumed)
        *passumed = assumed;
done:
    pixDestroy(&raw);
    pixDestroy(&gray);
    return rc;
}
