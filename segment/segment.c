/*
 * segment.c - one page through the segmentation stage (segment.h):
 * binarize, find and correct the skew, find the form (the best template, a
 * given one, or auto fields), remove a security pattern binarization kept
 * around each field (on the unrotated scan, where the gray page lies pixel
 * for pixel under the binary one), and read each field into digits.
 */
#include <allheaders.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seg_auto.h"
#include "seg_clean.h"
#include "seg_register.h"
#include "seg_split.h"
#include "segment.h"
#include "util/util.h"

void seg_page_destroy(seg_page **ppage)
{
    seg_page *pg;
    if (!ppage || !(pg = *ppage))
        return;
    for (int i = 0; i < pg->n_fields; i++)
        seg_field_clear(&pg->fields[i]);
    free(pg->fields);
    pixDestroy(&pg->bin);
    free(pg);
    *ppage = NULL;
}

/* read_fields - every field of ff[0..n) through xf into pg->fields. */
static int read_fields(seg_page *pg, PIX *bin, const seg_form_field *ff, int n, const seg_xform *xf)
{
    if (n == 0)
        return UTIL_OK;
    if (!(pg->fields = calloc((size_t)n, sizeof *pg->fields))) {
        util_log(UTIL_LOG_ERROR, "out of memory segmenting a page");
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        int x, y, w, h, rc;
        BOX *area;
        seg_xform_rect(xf, &ff[i].r, &x, &y, &w, &h);
        if (!(area = boxCreate(x, y, w, h))) {
            util_log(UTIL_LOG_ERROR, "out of memory segmenting a page");
            return UTIL_ENOMEM;
        }
        rc = seg_field_read(bin, pg->dpi, area, &ff[i], &pg->fields[i]);
        boxDestroy(&area);
        if (rc)
            return rc;
        pg->n_fields++;
    }
    return UTIL_OK;
}

/*
 * unpattern_fields - seg_unpattern() on the unrotated binary page bin (the
 * gray page src beside it) around each field of ff[0..n) through xf, then
 * the deskewed page *pstraight made again from bin when anything was removed.
 */
static int unpattern_fields(PIX *src, PIX *bin, int dpi, double angle, const seg_form_field *ff,
                            int n, const seg_xform *xf, PIX **pstraight)
{
    int W = pixGetWidth(bin), H = pixGetHeight(bin), removed = 0, rc = UTIL_OK;

    for (int i = 0; i < n && rc == UTIL_OK; i++) {
        int x, y, w, h, mx, my, got = 0;
        double x0 = HUGE_VAL, y0 = HUGE_VAL, x1 = -HUGE_VAL, y1 = -HUGE_VAL;
        BOX *b;
        seg_xform_rect(xf, &ff[i].r, &x, &y, &w, &h);
        seg_field_margin(dpi, w, h, &mx, &my); /* what seg_field_read() will crop */
        for (int k = 0; k < 4; k++) { /* its corners, back onto the scan */
            double cx = k & 1 ? x + w + mx : x - mx;
            double cy = k & 2 ? y + h + my : y - my;
            double ux, uy;
            seg_skew_map(-angle, W, H, cx, cy, &ux, &uy);
            x0 = ux < x0 ? ux : x0;
            y0 = uy < y0 ? uy : y0;
            x1 = ux > x1 ? ux : x1;
            y1 = uy > y1 ? uy : y1;
        }
        if (!(b = boxCreate((int)floor(x0) - 2, (int)floor(y0) - 2, (int)(x1 - x0) + 5,
                            (int)(y1 - y0) + 5))) {
            util_log(UTIL_LOG_ERROR, "out of memory segmenting a page");
            return UTIL_ENOMEM;
        }
        rc = seg_unpattern(bin, src, b, dpi, &got);
        boxDestroy(&b);
        removed += got;
    }
    if (rc == UTIL_OK && removed > 0) {
        pixDestroy(pstraight);
        rc = seg_rotate(bin, angle, 1, pstraight);
    }
    return rc;
}

int seg_page_run(PIX *src, int dpi, const seg_opts *opts, seg_page **ppage)
{
    seg_page *pg = NULL;
    PIX *bin = NULL, *straight = NULL;
    seg_form_field *auto_ff = NULL;
    int n_auto = 0, rc = UTIL_OK;
    double t = util_now();

    *ppage = NULL;
    if (!(pg = calloc(1, sizeof *pg))) {
        util_log(UTIL_LOG_ERROR, "out of memory segmenting a page");
        return UTIL_ENOMEM;
    }
    pg->width = pixGetWidth(src);
    pg->height = pixGetHeight(src);
    pg->dpi = dpi;
    if ((rc = seg_binarize(src, dpi, &bin)))
        goto cleanup;
    pg->ms[SEG_T_BINARIZE] = 1e3 * (util_now() - t);
    t = util_now();
    if ((rc = seg_find_skew(bin, SEG_SKEW_MAX_DEG, &pg->skew_deg, &pg->skew_conf)) ||
        (rc = seg_rotate(bin, pg->skew_deg, 1, &straight)))
        goto cleanup;
    pg->ms[SEG_T_DESKEW] = 1e3 * (util_now() - t);
    t = util_now();

    if (opts->find == SEG_FIND_ONE || opts->find == SEG_FIND_ANY) {
        const seg_form *best = NULL;
        seg_xform best_xf = {0};
        double best_score = -1;
        int nf = opts->find == SEG_FIND_ONE ? 1 : (opts->forms ? opts->forms->n : 0);
        for (int i = 0; i < nf; i++) {
            const seg_form *f = opts->find == SEG_FIND_ONE ? opts->form : opts->forms->forms[i];
            seg_xform xf;
            double score = 0;
            if ((rc = seg_form_register(straight, dpi, f, &xf, &score)))
                goto cleanup;
            if (score > best_score) {
                best = f;
                best_xf = xf;
                best_score = score;
            }
        }
        pg->ms[SEG_T_REGISTER] = 1e3 * (util_now() - t);
        t = util_now();
        if (best && best_score >= SEG_REGISTER_MIN_SCORE) {
            snprintf(pg->form, sizeof pg->form, "%s", best->name);
            pg->form_score = best_score;
            if ((rc = unpattern_fields(src, bin, dpi, pg->skew_deg, best->fields, best->n_fields,
                                       &best_xf, &straight)) ||
                (rc = read_fields(pg, straight, best->fields, best->n_fields, &best_xf)))
                goto cleanup;
        } else if (opts->find == SEG_FIND_ONE) {
            snprintf(pg->note, sizeof pg->note, "form %s not found (score %.2f)", opts->form->name,
                     best_score < 0 ? 0.0 : best_score);
        }
    }
    if (!pg->form[0] && opts->find != SEG_FIND_ONE) {
        seg_xform id = {(double)dpi, 0, 0, (double)dpi, 0, 0};
        if ((rc = seg_auto_fields(straight, dpi, &auto_ff, &n_auto)))
            goto cleanup;
        pg->ms[SEG_T_REGISTER] += 1e3 * (util_now() - t);
        t = util_now();
        if (n_auto > 0) {
            snprintf(pg->form, sizeof pg->form, "auto");
            if ((rc = unpattern_fields(src, bin, dpi, pg->skew_deg, auto_ff, n_auto, &id,
                                       &straight)) ||
                (rc = read_fields(pg, straight, auto_ff, n_auto, &id)))
                goto cleanup;
        } else {
            snprintf(pg->note, sizeof pg->note, "%s",
                     opts->find == SEG_FIND_AUTO ? "no box or comb holding handwriting"
                                                 : "no template matches and no box or comb "
                                                   "holding handwriting");
        }
    }
    pg->ms[SEG_T_FIELDS] = 1e3 * (util_now() - t);
    if (opts->keep_page) {
        pg->bin = straight;
        straight = NULL;
    }
cleanup:
    free(auto_ff);
    pixDestroy(&bin);
    pixDestroy(&straight);
    if (rc)
        seg_page_destroy(&pg);
    *ppage = pg;
    return rc;
}
