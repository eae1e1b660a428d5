/*
 * smp_page.h - one scanned sample page: a form printed and filled in by
 * hand with MNIST test digits, then scanned, with the truth of what was
 * written and where the form lies.
 */
#ifndef DOCPIPE_SMP_PAGE_H
#define DOCPIPE_SMP_PAGE_H

#include <allheaders.h>
#include <stdint.h>

#include "samples/smp_hand.h"
#include "samples/smp_text.h"
#include "segment/seg_form.h"

typedef struct smp_page {
    PIX *pix;             /* 8 bpp gray scan, its resolution set to dpi */
    const seg_form *form;
    int dpi;
    double skew_deg;      /* as applied by smp_scan (positive: clockwise) */
    int dx, dy;           /* the form's top-left on the page before the skew */
    double scale;         /* form inches print at dpi * scale pixels */
    smp_value *values;    /* one per field of the form, in its order */
} smp_page;

/*
 * smp_page_make - the page drawn from key alone (the same key gives the same
 * pixels).  A check (is_check) lies on a canvas 0.7 x 0.6 in larger than
 * the form, shifted at random, on paper with a security background; other
 * forms fill a canvas of their own size with a shift of at most 0.08 in.
 * dark_only keeps pencil ink off a page that will be thresholded to one
 * bit.  The skew (up to 5 degrees) is reduced until every printed feature
 * and field stays inside the canvas.  Digits come from bank, none twice on
 * one page while the bank has others of that label.  touch_x (>= 1)
 * multiplies the writer's chance that two neighbours touch (at most 1);
 * 1 draws the pages every other option gives.
 */
int smp_page_make(smp_page *pg, const smp_bank *bank, const seg_form *form, int dpi,
                  int is_check, int dark_only, double touch_x, uint64_t key);

/* smp_page_free - the page's image and values; the form is not owned. */
void smp_page_free(smp_page *pg);

#endif
