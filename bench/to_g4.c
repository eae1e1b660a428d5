/*
 * to_g4.c - for bench/ingest.sh: every page of every image file given
 * written as its own 1 bpp G4 TIFF (thresholded at 140, as docpipe
 * samples makes its G4 files; the resolution kept) into OUT, so that the
 * throughput can be measured on G4 letter pages only.
 *
 *   to_g4 OUT FILES...
 */
#include <stdio.h>
#include <string.h>

#include <allheaders.h>

#include "segment/seg_image.h"

int main(int argc, char **argv)
{
    int n = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: to_g4 OUT FILES...\n");
        return 2;
    }
    setMsgSeverity(L_SEVERITY_NONE);
    for (int i = 2; i < argc; i++) {
        seg_doc *doc = NULL;
        if (seg_doc_open(&doc, argv[i]))
            continue;
        for (int p = 0; p < seg_doc_page_count(doc); p++) {
            PIX *gray = NULL, *bin;
            int dpi = 0;
            char out[4200];
            if (seg_doc_read_page(doc, p, &gray, &dpi, NULL))
                continue;
            bin = pixThresholdToBinary(gray, 140);
            pixSetResolution(bin, dpi, dpi);
            snprintf(out, sizeof out, "%s/page%05d.tif", argv[1], n++);
            pixWrite(out, bin, IFF_TIFF_G4);
            pixDestroy(&bin);
            pixDestroy(&gray);
        }
        seg_doc_destroy(&doc);
    }
    printf("%d G4 pages in %s\n", n, argv[1]);
    return 0;
}
