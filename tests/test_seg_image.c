/*
 * test_seg_image.c - reading scanned pages (segment/seg_image.h): files
 * written by Leptonica in every format and depth the reader takes (TIFF G4,
 * LZW, deflate and uncompressed, multi-page; PNG 1/8/16 bpp, colormapped,
 * RGB, RGBA; JPEG gray and colour; PNM) read back with their sizes, pixel
 * values, resolution and page counts; and every kind of broken input
 * refused with UTIL_EFORMAT (or UTIL_EIO, UTIL_EUNSUP) and a message naming
 * the file and page: empty and text files, truncated TIFF, PNG, JPEG and
 * PNM, corrupt TIFF directories, strips beyond the end of the file, headers
 * claiming 100000 x 100000 pixels, page indexes out of range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "segment/seg_image.h"
#include "tests/tst.h"
#include "util/util.h"

/* ------------------------------------------------------------- helpers */

/* A gray page with a known content: a ramp plus dark and light blocks. */
static int gray_val(int x, int y)
{
    if (x >= 20 && x < 60 && y >= 10 && y < 30)
        return 0;
    if (x >= 70 && x < 90 && y >= 40 && y < 70)
        return 150;
    return (x * 3 + y * 5) % 256;
}

static PIX *make_gray(int w, int h)
{
    PIX *pix = pixCreate(w, h, 8);

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            pixSetPixel(pix, x, y, (l_uint32)gray_val(x, y));
    return pix;
}

/* A bilevel page: ink (1) where (x / 7 + y / 5) is odd, and a frame. */
static int bit_val(int x, int y, int w, int h)
{
    return x == 0 || y == 0 || x == w - 1 || y == h - 1 || ((x / 7 + y / 5) & 1);
}

static PIX *make_bits(int w, int h)
{
    PIX *pix = pixCreate(w, h, 1);

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            pixSetPixel(pix, x, y, (l_uint32)bit_val(x, y, w, h));
    return pix;
}

/* Bytes of pix written by Leptonica in format; the caller frees. */
static uint8_t *enc(PIX *pix, int format, size_t *plen)
{
    l_uint8 *data = NULL;

    *plen = 0;
    setMsgSeverity(L_SEVERITY_NONE);
    if (pixWriteMem(&data, plen, pix, format) != 0) {
        free(data);
        return NULL;
    }
    return data;
}

/* Opens len bytes, reads page i; rc of the first failing call. */
static int read_mem(const uint8_t *data, size_t len, const char *name, int i, PIX **ppix,
                    int *pdpi, int *passumed, int *pnpages)
{
    seg_doc *doc = NULL;
    int rc;

    *ppix = NULL;
    if (pnpages)
        *pnpages = 0;
    rc = seg_doc_open_mem(&doc, data, len, name);
    if (rc == UTIL_OK) {
        if (pnpages)
            *pnpages = seg_doc_page_count(doc);
        rc = seg_doc_read_page(doc, i, ppix, pdpi, passumed);
    }
    seg_doc_destroy(&doc);
    return rc;
}

/* Whether the last error names the file (and the text frag, when not NULL). */
static int said(const char *name, const char *frag)
{
    const char *e = util_last_error();
    return strstr(e, name) != NULL && (!frag || strstr(e, frag) != NULL);
}

/* Number of pixels of an 8 bpp pix differing from gray_val by more than tol. */
static long gray_diff(PIX *pix, int tol, double *pmean)
{
    long bad = 0;
    double sum = 0;
    int w = pixGetWidth(pix), h = pixGetHeight(pix);

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v;
            int d;
            pixGetPixel(pix, x, y, &v);
            d = abs((int)v - gray_val(x, y));
            sum += d;
            bad += d > tol;
        }
    if (pmean)
        *pmean = sum / ((double)w * h);
    return bad;
}

/* Pixels of an 8 bpp page not matching make_bits (ink 0, paper 255). */
static long bits_diff(PIX *pix, int w, int h)
{
    long bad = 0;

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v;
            pixGetPixel(pix, x, y, &v);
            bad += (int)v != (bit_val(x, y, w, h) ? 0 : 255);
        }
    return bad;
}

/* A little-endian TIFF with one IFD at offset 8 and one strip of 8-bit
 * gray data at strip_off (strip_len bytes claimed), written by hand so the
 * header can say anything.  Returns the length; buf holds 512 bytes. */
static size_t put16(uint8_t *b, size_t o, unsigned v) { b[o] = v & 255; b[o + 1] = (v >> 8) & 255; return o + 2; }
static size_t put32(uint8_t *b, size_t o, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        b[o + k] = (v >> (8 * k)) & 255;
    return o + 4;
}
static size_t tag(uint8_t *b, size_t o, unsigned t, unsigned type, uint32_t n, uint32_t v)
{
    o = put16(b, o, t);
    o = put16(b, o, type);
    o = put32(b, o, n);
    if (type == 3 && n == 1) {
        o = put16(b, o, v);
        return put16(b, o, 0);
    }
    return put32(b, o, v);
}
static size_t make_tiff(uint8_t *b, uint32_t w, uint32_t h, uint32_t strip_off, uint32_t strip_len,
                        size_t data_len)
{
    size_t o = 0;
    memset(b, 0, 512);
    b[o++] = 'I';
    b[o++] = 'I';
    o = put16(b, o, 42);
    o = put32(b, o, 8);
    o = put16(b, o, 9); /* entries */
    o = tag(b, o, 256, 4, 1, w);         /* ImageWidth */
    o = tag(b, o, 257, 4, 1, h);         /* ImageLength */
    o = tag(b, o, 258, 3, 1, 8);         /* BitsPerSample */
    o = tag(b, o, 259, 3, 1, 1);         /* Compression: none */
    o = tag(b, o, 262, 3, 1, 1);         /* Photometric: min is black */
    o = tag(b, o, 273, 4, 1, strip_off); /* StripOffsets */
    o = tag(b, o, 277, 3, 1, 1);         /* SamplesPerPixel */
    o = tag(b, o, 278, 4, 1, h);         /* RowsPerStrip */
    o = tag(b, o, 279, 4, 1, strip_len); /* StripByteCounts */
    o = put32(b, o, 0);                  /* no next IFD */
    for (size_t k = o; k < data_len && k < 512; k++)
        b[k] = (uint8_t)(k * 7);
    return data_len > o ? data_len : o;
}

/* A PNG of three chunks, IHDR saying w x h (8-bit gray), a valid CRC each. */
static size_t chunk(uint8_t *b, size_t o, const char *type, const uint8_t *data, uint32_t n)
{
    uLong crc;
    b[o] = n >> 24; b[o + 1] = (n >> 16) & 255; b[o + 2] = (n >> 8) & 255; b[o + 3] = n & 255;
    memcpy(b + o + 4, type, 4);
    if (n)
        memcpy(b + o + 8, data, n);
    crc = crc32(0L, b + o + 4, 4 + n);
    o += 8 + n;
    b[o] = (crc >> 24) & 255; b[o + 1] = (crc >> 16) & 255; b[o + 2] = (crc >> 8) & 255; b[o + 3] = crc & 255;
    return o + 4;
}
static size_t make_png_header(uint8_t *b, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
    static const uint8_t idat[] = { 0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01 };
    uint8_t ihdr[13] = { 0 };
    size_t o = 8;

    memcpy(b, sig, 8);
    ihdr[0] = w >> 24; ihdr[1] = (w >> 16) & 255; ihdr[2] = (w >> 8) & 255; ihdr[3] = w & 255;
    ihdr[4] = h >> 24; ihdr[5] = (h >> 16) & 255; ihdr[6] = (h >> 8) & 255; ihdr[7] = h & 255;
    ihdr[8] = 8; /* bit depth */
    o = chunk(b, o, "IHDR", ihdr, 13);
    o = chunk(b, o, "IDAT", idat, sizeof idat);
    return chunk(b, o, "IEND", NULL, 0);
}

/* ------------------------------------------------------------- good files */

static void test_formats(void)
{
    static const struct { int format; const char *name; const char *fmt; } fm[] = {
        { IFF_TIFF, "plain.tif", "tiff" },  { IFF_TIFF_LZW, "lzw.tif", "tiff" },
        { IFF_TIFF_ZIP, "zip.tif", "tiff" }, { IFF_PNG, "g.png", "png" },
        { IFF_PNM, "g.pgm", "pnm" },
    };
    PIX *g = make_gray(123, 87);

    pixSetResolution(g, 200, 200);
    for (size_t k = 0; k < sizeof fm / sizeof fm[0]; k++) {
        size_t len;
        uint8_t *data = enc(g, fm[k].format, &len);
        seg_doc *doc = NULL;
        PIX *pix = NULL;
        int dpi = -1, assumed = -1, w = 0, h = 0;
        int rc = seg_doc_open_mem(&doc, data, len, fm[k].name);

        TST_CHECK(data && rc == UTIL_OK, "%s: open rc %d (%s)", fm[k].name, rc, util_last_error());
        if (rc != UTIL_OK) {
            free(data);
            continue;
        }
        TST_CHECK(strcmp(seg_doc_format(doc), fm[k].fmt) == 0, "%s: format %s", fm[k].name,
                  seg_doc_format(doc));
        TST_CHECK(seg_doc_page_count(doc) == 1, "%s: %d pages", fm[k].name, seg_doc_page_count(doc));
        TST_CHECK(seg_doc_page_size(doc, 0, &w, &h) == UTIL_OK && w == 123 && h == 87,
                  "%s: header size %d x %d", fm[k].name, w, h);
        rc = seg_doc_read_page(doc, 0, &pix, &dpi, &assumed);
        TST_CHECK(rc == UTIL_OK && pix, "%s: read rc %d (%s)", fm[k].name, rc, util_last_error());
        if (pix) {
            TST_CHECK(pixGetWidth(pix) == 123 && pixGetHeight(pix) == 87 && pixGetDepth(pix) == 8 &&
                      !pixGetColormap(pix), "%s: %d x %d x %d", fm[k].name, pixGetWidth(pix),
                      pixGetHeight(pix), pixGetDepth(pix));
            TST_CHECK(gray_diff(pix, 0, NULL) == 0, "%s: pixels differ", fm[k].name);
            if (fm[k].format == IFF_PNM)
                TST_CHECK(dpi == 300 && assumed == 1, "%s: dpi %d assumed %d", fm[k].name, dpi, assumed);
            else
                TST_CHECK(dpi == 200 && assumed == 0, "%s: dpi %d assumed %d", fm[k].name, dpi, assumed);
            TST_CHECK(pixGetXRes(pix) == dpi, "%s: pix res %d", fm[k].name, pixGetXRes(pix));
        }
        pixDestroy(&pix);
        seg_doc_destroy(&doc);
        TST_CHECK(doc == NULL, "destroy NULLs");
        free(data);
    }
    pixDestroy(&g);
}

static void test_jpeg(void)
{
    PIX *g = make_gray(160, 120), *c = NULL, *pix = NULL;
    size_t len;
    uint8_t *data;
    int dpi, assumed, rc;
    double mean = 0;

    pixSetResolution(g, 400, 400);
    data = enc(g, IFF_JFIF_JPEG, &len);
    rc = read_mem(data, len, "g.jpg", 0, &pix, &dpi, &assumed, NULL);
    TST_CHECK(rc == UTIL_OK && pix, "jpeg gray: rc %d (%s)", rc, util_last_error());
    if (pix) {
        gray_diff(pix, 255, &mean);
        TST_CHECK(mean < 6.0, "jpeg gray: mean error %.2f", mean);
        TST_CHECK(dpi == 400 && assumed == 0, "jpeg dpi %d assumed %d", dpi, assumed);
    }
    pixDestroy(&pix);
    free(data);

    /* Colour: gray RGB comes back as the same gray; pure red as ~0.3 * 255. */
    c = pixConvert8To32(g);
    pixSetRGBPixel(c, 5, 5, 255, 0, 0);
    for (int y = 0; y < 16; y++)
        for (int x = 100; x < 116; x++)
            pixSetRGBPixel(c, x, y, 255, 0, 0);
    data = enc(c, IFF_JFIF_JPEG, &len);
    rc = read_mem(data, len, "c.jpg", 0, &pix, NULL, NULL, NULL);
    TST_CHECK(rc == UTIL_OK && pix && pixGetDepth(pix) == 8, "jpeg rgb: rc %d", rc);
    if (pix) {
        l_uint32 v = 0;
        pixGetPixel(pix, 108, 8, &v);
        TST_CHECK(v >= 66 && v <= 86, "jpeg red block -> gray %u", v);
        pixGetPixel(pix, 30, 100, &v);
        TST_CHECK(abs((int)v - gray_val(30, 100)) <= 12, "jpeg rgb gray %u vs %d", v, gray_val(30, 100));
    }
    pixDestroy(&pix);
    free(data);
    pixDestroy(&c);
    pixDestroy(&g);
}

static void test_depths(void)
{
    PIX *b = make_bits(101, 77), *pix = NULL, *p16, *cm, *rgba, *rgb;
    size_t len;
    uint8_t *data;
    int rc, dpi;

    /* Bilevel: G4 TIFF, PNG, PBM; ink 0 on paper 255. */
    static const struct { int format; const char *name; } bf[] = {
        { IFF_TIFF_G4, "b.tif" }, { IFF_PNG, "b.png" }, { IFF_PNM, "b.pbm" }, { IFF_TIFF, "b1.tif" },
    };
    pixSetResolution(b, 300, 300);
    for (size_t k = 0; k < sizeof bf / sizeof bf[0]; k++) {
        data = enc(b, bf[k].format, &len);
        rc = read_mem(data, len, bf[k].name, 0, &pix, NULL, NULL, NULL);
        TST_CHECK(rc == UTIL_OK && pix, "%s: rc %d (%s)", bf[k].name, rc, util_last_error());
        if (pix)
            TST_CHECK(pixGetDepth(pix) == 8 && bits_diff(pix, 101, 77) == 0, "%s: %ld pixels wrong",
                      bf[k].name, bits_diff(pix, 101, 77));
        pixDestroy(&pix);
        free(data);
    }

    /* 16 bpp gray (PNG and PGM): the high byte. */
    p16 = pixCreate(40, 30, 16);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++)
            pixSetPixel(p16, x, y, (l_uint32)(gray_val(x, y) * 256 + 77));
    for (int f = 0; f < 2; f++) {
        data = enc(p16, f ? IFF_PNM : IFF_PNG, &len);
        rc = read_mem(data, len, f ? "16.pgm" : "16.png", 0, &pix, NULL, NULL, NULL);
        TST_CHECK(rc == UTIL_OK && pix && gray_diff(pix, 0, NULL) == 0, "16 bpp %s: rc %d, %ld wrong",
                  f ? "pgm" : "png", rc, pix ? gray_diff(pix, 0, NULL) : -1L);
        pixDestroy(&pix);
        free(data);
    }
    pixDestroy(&p16);

    /* Colormapped 8 bpp (PNG, TIFF): through the colors. */
    cm = pixCreate(50, 40, 8);
    {
        PIXCMAP *cmap = pixcmapCreate(8);
        pixcmapAddColor(cmap, 210, 210, 210);
        pixcmapAddColor(cmap, 20, 20, 20);
        pixcmapAddColor(cmap, 120, 120, 120);
        pixSetColormap(cm, cmap);
    }
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 50; x++)
            pixSetPixel(cm, x, y, (l_uint32)((x / 10 + y / 10) % 3));
    for (int f = 0; f < 2; f++) {
        data = enc(cm, f ? IFF_TIFF_ZIP : IFF_PNG, &len);
        rc = read_mem(data, len, f ? "cm.tif" : "cm.png", 0, &pix, NULL, NULL, NULL);
        TST_CHECK(rc == UTIL_OK && pix && !pixGetColormap(pix) && pixGetDepth(pix) == 8,
                  "cmap %d: rc %d", f, rc);
        if (pix) {
            static const int want[3] = { 210, 20, 120 };
            long bad = 0;
            for (int y = 0; y < 40; y++)
                for (int x = 0; x < 50; x++) {
                    l_uint32 v;
                    pixGetPixel(pix, x, y, &v);
                    bad += (int)v != want[(x / 10 + y / 10) % 3];
                }
            TST_CHECK(bad == 0, "cmap %d: %ld pixels wrong", f, bad);
        }
        pixDestroy(&pix);
        free(data);
    }
    pixDestroy(&cm);

    /* RGB TIFF and PNG, and RGBA PNG blended over white. */
    {
        PIX *g = make_gray(60, 50);
        rgb = pixConvert8To32(g);
        pixDestroy(&g);
    }
    for (int f = 0; f < 2; f++) {
        data = enc(rgb, f ? IFF_TIFF_LZW : IFF_PNG, &len);
        rc = read_mem(data, len, f ? "rgb.tif" : "rgb.png", 0, &pix, NULL, NULL, NULL);
        TST_CHECK(rc == UTIL_OK && pix && gray_diff(pix, 1, NULL) == 0, "rgb %d: rc %d, %ld off by > 1",
                  f, rc, pix ? gray_diff(pix, 1, NULL) : -1L);
        pixDestroy(&pix);
        free(data);
    }
    rgba = pixCopy(NULL, rgb);
    pixSetSpp(rgba, 4);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 60; x++) {
            l_uint32 px;
            int r, g, bb;
            pixGetPixel(rgb, x, y, &px);
            extractRGBValues(px, &r, &g, &bb);
            composeRGBAPixel(r, g, bb, x < 30 ? 255 : 0, &px);
            pixSetPixel(rgba, x, y, px);
        }
    data = enc(rgba, IFF_PNG, &len);
    rc = read_mem(data, len, "rgba.png", 0, &pix, NULL, NULL, NULL);
    TST_CHECK(rc == UTIL_OK && pix, "rgba: rc %d (%s)", rc, util_last_error());
    if (pix) {
        l_uint32 v1 = 0, v2 = 0;
        pixGetPixel(pix, 10, 20, &v1);
        pixGetPixel(pix, 45, 20, &v2);
        TST_CHECK(abs((int)v1 - gray_val(10, 20)) <= 1 && v2 >= 254, "rgba: opaque %u (want %d), "
                  "transparent %u (want 255)", v1, gray_val(10, 20), v2);
    }
    pixDestroy(&pix);
    free(data);
    pixDestroy(&rgba);
    pixDestroy(&rgb);

    /* Fax resolution 200 x 100: scaled to square pixels at 200 dpi. */
    pixSetResolution(b, 200, 100);
    data = enc(b, IFF_TIFF_G4, &len);
    rc = read_mem(data, len, "fax.tif", 0, &pix, &dpi, NULL, NULL);
    TST_CHECK(rc == UTIL_OK && pix && pixGetWidth(pix) == 101 && pixGetHeight(pix) == 154 && dpi == 200,
              "fax: rc %d, %d x %d at %d dpi", rc, pix ? pixGetWidth(pix) : 0,
              pix ? pixGetHeight(pix) : 0, dpi);
    pixDestroy(&pix);
    free(data);

    /* Implausible resolution (72): 300 assumed. */
    pixSetResolution(b, 72, 72);
    data = enc(b, IFF_PNG, &len);
    {
        int assumed = -1;
        rc = read_mem(data, len, "72.png", 0, &pix, &dpi, &assumed, NULL);
        TST_CHECK(rc == UTIL_OK && pix && dpi == 300 && assumed == 1, "72 dpi: rc %d dpi %d assumed %d",
                  rc, dpi, assumed);
    }
    pixDestroy(&pix);
    free(data);
    pixDestroy(&b);
}

static void test_multipage(void)
{
    char path[512];
    PIX *pages[3];
    seg_doc *doc = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/multi.tif", tst_tmpdir());
    pages[0] = make_bits(200, 100);
    pages[1] = make_gray(150, 90);
    pages[2] = make_bits(80, 120);
    pixSetResolution(pages[0], 300, 300);
    pixSetResolution(pages[1], 150, 150);
    pixSetResolution(pages[2], 600, 600);
    setMsgSeverity(L_SEVERITY_NONE);
    pixWriteTiff(path, pages[0], IFF_TIFF_G4, "w");
    pixWriteTiff(path, pages[1], IFF_TIFF_LZW, "a");
    pixWriteTiff(path, pages[2], IFF_TIFF_G4, "a");

    rc = seg_doc_open(&doc, path);
    TST_CHECK(rc == UTIL_OK, "multi: open rc %d (%s)", rc, util_last_error());
    if (rc == UTIL_OK) {
        static const int ws[3] = { 200, 150, 80 }, hs[3] = { 100, 90, 120 }, dpis[3] = { 300, 150, 600 };
        TST_CHECK(seg_doc_page_count(doc) == 3, "multi: %d pages", seg_doc_page_count(doc));
        TST_CHECK(strcmp(seg_doc_name(doc), path) == 0, "multi: name %s", seg_doc_name(doc));
        /* Out of order on purpose. */
        for (int k = 0; k < 3; k++) {
            int i = (k + 2) % 3, dpi = 0, assumed = -1;
            PIX *pix = NULL;
            rc = seg_doc_read_page(doc, i, &pix, &dpi, &assumed);
            TST_CHECK(rc == UTIL_OK && pix && pixGetWidth(pix) == ws[i] && pixGetHeight(pix) == hs[i] &&
                      dpi == dpis[i] && assumed == 0, "multi page %d: rc %d, %d x %d, %d dpi", i, rc,
                      pix ? pixGetWidth(pix) : 0, pix ? pixGetHeight(pix) : 0, dpi);
            if (pix)
                TST_CHECK((i == 1 ? gray_diff(pix, 0, NULL) : bits_diff(pix, ws[i], hs[i])) == 0,
                          "multi page %d: pixels differ", i);
            pixDestroy(&pix);
        }
        for (int i = -1; i <= 3; i += 4) {
            PIX *pix = (PIX *)1;
            util_clear_error();
            rc = seg_doc_read_page(doc, i, &pix, NULL, NULL);
            TST_CHECK(rc == UTIL_EFORMAT && pix == NULL && said(path, "3 pages"),
                      "page %d: rc %d, said '%s'", i, rc, util_last_error());
        }
    }
    seg_doc_destroy(&doc);
    seg_doc_destroy(&doc); /* twice: a no-op */
    seg_doc_destroy(NULL);
    for (int k = 0; k < 3; k++)
        pixDestroy(&pages[k]);
}

/* ------------------------------------------------------------- broken files */

static void expect_fail(const uint8_t *data, size_t len, const char *name, int want_rc, const char *frag,
                        const char *what)
{
    PIX *pix = NULL;
    int rc;

    util_clear_error();
    rc = read_mem(data, len, name, 0, &pix, NULL, NULL, NULL);
    TST_CHECK(rc == want_rc && pix == NULL && said(name, frag), "%s: rc %d (want %d), said '%s'", what,
              rc, want_rc, util_last_error());
    pixDestroy(&pix);
}

static void test_broken(void)
{
    static const char text[] = "This is not an image, only text in a file named .tif\n";
    PIX *g = make_gray(300, 200), *b = make_bits(300, 200);
    uint8_t buf[512];
    size_t len, n;
    uint8_t *data;
    seg_doc *doc = NULL;
    const char *p;
    int rc;

    /* Empty file, text file named .tif, from disk; a missing file. */
    p = tst_write_file("empty.tif", "", 0);
    util_clear_error();
    rc = seg_doc_open(&doc, p);
    TST_CHECK(rc == UTIL_EFORMAT && !doc && said(p, "empty"), "empty: rc %d, '%s'", rc, util_last_error());
    p = tst_write_file("text.tif", text, sizeof text - 1);
    util_clear_error();
    rc = seg_doc_open(&doc, p);
    TST_CHECK(rc == UTIL_EFORMAT && !doc && said(p, "not a TIFF"), "text: rc %d, '%s'", rc,
              util_last_error());
    util_clear_error();
    rc = seg_doc_open(&doc, "/nonexistent/dir/page.tif");
    TST_CHECK(rc == UTIL_EIO && !doc && said("/nonexistent/dir/page.tif", NULL), "missing: rc %d, '%s'",
              rc, util_last_error());
    expect_fail((const uint8_t *)"P", 1, "one-byte.pgm", UTIL_EFORMAT, NULL, "one byte");
    expect_fail((const uint8_t *)"II*", 3, "short.tif", UTIL_EFORMAT, NULL, "3-byte tiff magic");

    /* An unsupported format (BMP). */
    data = enc(g, IFF_BMP, &len);
    expect_fail(data, len, "g.bmp", UTIL_EUNSUP, "not supported", "bmp");
    free(data);

    /* Truncated files of each format, cut at several places. */
    {
        static const struct { int format; const char *name; int bits; } tf[] = {
            { IFF_TIFF_G4, "cut.tif", 1 }, { IFF_TIFF_LZW, "cutlzw.tif", 0 }, { IFF_TIFF, "cutraw.tif", 0 },
            { IFF_PNG, "cut.png", 0 },     { IFF_JFIF_JPEG, "cut.jpg", 0 },   { IFF_PNM, "cut.pgm", 0 },
            { IFF_PNM, "cut.pbm", 1 },
        };
        for (size_t k = 0; k < sizeof tf / sizeof tf[0]; k++) {
            data = enc(tf[k].bits ? b : g, tf[k].format, &len);
            TST_CHECK(data != NULL, "%s written", tf[k].name);
            if (!data)
                continue;
            /* (A TIFF cut by its last bytes only loses the zero "no next
             * directory" pointer, which libtiff forgives.) */
            const size_t cuts[] = { 7, 12, 40, len / 3, len / 2, len - len / 8, len - 2 };
            size_t ncuts = sizeof cuts / sizeof cuts[0] - (strstr(tf[k].name, ".tif") != NULL);
            for (size_t c = 0; c < ncuts; c++) {
                char what[64];
                snprintf(what, sizeof what, "%s cut to %zu of %zu", tf[k].name, cuts[c], len);
                expect_fail(data, cuts[c], tf[k].name, UTIL_EFORMAT, NULL, what);
            }
            free(data);
        }
    }

    /* A hand-made TIFF reads; the same with its strip beyond the end of the
     * file, with 100000 x 100000 pixels, with a broken directory. */
    len = make_tiff(buf, 16, 8, 200, 128, 328);
    {
        PIX *pix = NULL;
        rc = read_mem(buf, len, "hand.tif", 0, &pix, NULL, NULL, NULL);
        TST_CHECK(rc == UTIL_OK && pix && pixGetWidth(pix) == 16 && pixGetHeight(pix) == 8,
                  "hand-made tiff: rc %d (%s)", rc, util_last_error());
        if (pix) {
            l_uint32 v;
            pixGetPixel(pix, 3, 2, &v);
            TST_CHECK(v == (uint8_t)((200 + 2 * 16 + 3) * 7), "hand-made tiff pixel %u", v);
        }
        pixDestroy(&pix);
    }
    len = make_tiff(buf, 16, 8, 200, 128, 250);
    expect_fail(buf, len, "strip.tif", UTIL_EFORMAT, "page 1/1", "strip beyond the end");
    len = make_tiff(buf, 100000, 100000, 200, 100000u * 1000u, 328);
    expect_fail(buf, len, "bomb.tif", UTIL_EFORMAT, "100000 x 100000", "tiff 100000 x 100000");
    len = make_tiff(buf, 16, 8, 200, 128, 328);
    put32(buf, 4, 5000); /* first IFD beyond the end */
    expect_fail(buf, len, "ifd.tif", UTIL_EFORMAT, "directory", "IFD offset beyond the end");
    len = make_tiff(buf, 16, 8, 200, 128, 328);
    put16(buf, 8, 0xffff); /* 65535 entries claimed */
    expect_fail(buf, len, "ifd2.tif", UTIL_EFORMAT, NULL, "IFD entry count");
    len = make_tiff(buf, 16, 8, 200, 128, 328);
    put16(buf, 10, 0); /* the width tag made tag 0 */
    expect_fail(buf, len, "ifd3.tif", UTIL_EFORMAT, NULL, "IFD without width");

    /* PNG headers: 100000 x 100000 refused before decoding; 10 x 10 with
     * nearly no data is corrupt; 30000 x 4000 (within side, over pixels). */
    n = make_png_header(buf, 100000, 100000);
    expect_fail(buf, n, "bomb.png", UTIL_EFORMAT, "100000 x 100000", "png 100000 x 100000");
    n = make_png_header(buf, 30000, 4000);
    expect_fail(buf, n, "bomb2.png", UTIL_EFORMAT, "over the limit", "png 30000 x 4000");
    n = make_png_header(buf, 40000, 10);
    expect_fail(buf, n, "bomb3.png", UTIL_EFORMAT, "over the limit", "png 40000 wide");
    n = make_png_header(buf, 10, 10);
    expect_fail(buf, n, "short.png", UTIL_EFORMAT, "corrupt", "png with too little data");
    n = make_png_header(buf, 10, 10);
    buf[20] ^= 1; /* IHDR CRC now wrong */
    expect_fail(buf, n, "crc.png", UTIL_EFORMAT, NULL, "png with a bad CRC");

    /* PNM header claiming 100000 x 100000. */
    {
        static const char pgm[] = "P5\n100000 100000\n255\n\x80\x80\x80\x80";
        expect_fail((const uint8_t *)pgm, sizeof pgm - 1, "bomb.pgm", UTIL_EFORMAT, "100000 x 100000",
                    "pgm 100000 x 100000");
    }

    /* A JPEG with its middle overwritten (still ends in FF D9): corrupt
     * data that libjpeg warns about (it prints one line to stderr). */
    data = enc(g, IFF_JFIF_JPEG, &len);
    if (data) {
        memset(data + len / 2, 0xff, 64);
        data[len / 2 + 64] = 0xd0; /* an RST marker in the wrong place */
        expect_fail(data, len, "garbled.jpg", UTIL_EFORMAT, NULL, "garbled jpeg");
        free(data);
    }

    pixDestroy(&g);
    pixDestroy(&b);
}

int main(void)
{
    util_log_set_level(-1);
    test_formats();
    test_jpeg();
    test_depths();
    test_multipage();
    test_broken();
    return tst_done();
}
