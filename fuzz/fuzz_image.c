/*
 * fuzz_image.c - libFuzzer harness for the image-loading wrapper
 * (segment/seg_image.c): seg_doc_open_mem on the input, then
 * seg_doc_read_page on its first pages.  A page the wrapper accepts must
 * come back 8 bpp, without colormap, with a resolution in range.  Pages
 * whose header claims more than FUZZ_MAX_PIXELS are not decoded here (the
 * wrapper's own limit, 100 Mpixel, is tested in tests/test_seg_image.c;
 * decoding that much per input would only make the fuzzer slow).
 */
#include <allheaders.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_util.h"
#include "segment/seg_image.h"

#define FUZZ_MAX_PIXELS (4L * 1000 * 1000)
#define FUZZ_MAX_PAGES 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    seg_doc *doc = NULL;
    int n;

    fuzz_quiet();
    setMsgSeverity(L_SEVERITY_NONE);
    if (seg_doc_open_mem(&doc, data, len, "fuzz") != UTIL_OK) {
        if (doc)
            abort();
        return 0;
    }
    n = seg_doc_page_count(doc);
    if (n < 1)
        abort();
    for (int i = 0; i < n && i < FUZZ_MAX_PAGES; i++) {
        PIX *pix = NULL;
        int w = 0, h = 0, dpi = 0, assumed = 0;

        if (seg_doc_page_size(doc, i, &w, &h) != UTIL_OK || w <= 0 || h <= 0 ||
            (long)w * h > FUZZ_MAX_PIXELS)
            continue;
        if (seg_doc_read_page(doc, i, &pix, &dpi, &assumed) == UTIL_OK) {
            if (!pix || pixGetDepth(pix) != 8 || pixGetColormap(pix) ||
                dpi < SEG_DPI_MIN || dpi > SEG_DPI_MAX)
                abort();
            pixDestroy(&pix);
        } else if (pix) {
            abort();
        }
    }
    seg_doc_destroy(&doc);
    return 0;
}
