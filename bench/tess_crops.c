/*
 * tess_crops.c - for bench/ingest.sh: cuts every field docpipe located out
 * of its page, so that Tesseract can read the same areas.  For each field
 * in the database (DB) it reads the page from the file, undoes the skew
 * docpipe found (seg_rotate, as the segmenter does), crops the field's box
 * with a margin of 15 % of its height, and writes OUT/N.png (8 bpp gray);
 * OUT/fields.csv lists N,file,page,field,type.
 *
 *   tess_crops DB OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <allheaders.h>
#include <sqlite3.h>

#include "segment/seg_clean.h"
#include "segment/seg_image.h"

int main(int argc, char **argv)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char cur[4096] = "", path[4200];
    seg_doc *doc = NULL;
    FILE *list;
    int n = 0, cur_page = -1;
    PIX *page = NULL;

    if (argc != 3) {
        fprintf(stderr, "usage: tess_crops DB OUT\n");
        return 2;
    }
    setMsgSeverity(L_SEVERITY_NONE);
    snprintf(path, sizeof path, "%s/fields.csv", argv[2]);
    if (sqlite3_open_v2(argv[1], &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h,
                           "SELECT d.path, p.page_no, p.skew_deg, f.x, f.y, f.w, f.h, f.name, f.type "
                           "FROM fields f JOIN pages p ON p.id = f.page_id "
                           "JOIN documents d ON d.id = p.document_id ORDER BY d.path, p.page_no, f.id",
                           -1, &st, NULL) != SQLITE_OK ||
        !(list = fopen(path, "w"))) {
        fprintf(stderr, "tess_crops: cannot open %s or write %s\n", argv[1], path);
        return 1;
    }
    fprintf(list, "n,file,page,field,type\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(st, 0);
        int pno = sqlite3_column_int(st, 1), x = sqlite3_column_int(st, 3),
            y = sqlite3_column_int(st, 4), w = sqlite3_column_int(st, 5),
            hh = sqlite3_column_int(st, 6), m = hh * 15 / 100;
        double skew = sqlite3_column_double(st, 2);
        BOX *box;
        PIX *crop;
        if (strcmp(cur, file) != 0) {
            seg_doc_destroy(&doc);
            snprintf(cur, sizeof cur, "%s", file);
            cur_page = -1;
            if (seg_doc_open(&doc, file))
                continue;
        }
        if (!doc)
            continue;
        if (pno != cur_page) {
            PIX *raw = NULL;
            pixDestroy(&page);
            cur_page = pno;
            if (seg_doc_read_page(doc, pno - 1, &raw, NULL, NULL) ||
                seg_rotate(raw, skew, 0, &page))
                page = NULL;
            pixDestroy(&raw);
        }
        if (!page)
            continue;
        box = boxCreate(x - m, y - m, w + 2 * m, hh + 2 * m);
        crop = pixClipRectangle(page, box, NULL);
        boxDestroy(&box);
        if (!crop)
            continue;
        snprintf(path, sizeof path, "%s/%d.png", argv[2], n);
        pixWrite(path, crop, IFF_PNG);
        pixDestroy(&crop);
        fprintf(list, "%d,%s,%d,%s,%s\n", n, file, pno, sqlite3_column_text(st, 7),
                sqlite3_column_text(st, 8));
        n++;
    }
    pixDestroy(&page);
    seg_doc_destroy(&doc);
    sqlite3_finalize(st);
    sqlite3_close(h);
    fclose(list);
    printf("%d field crops in %s\n", n, argv[2]);
    return 0;
}
