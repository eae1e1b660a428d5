/*
 * test_seg_auto.c - --form auto (segment/seg_auto.c): on a rendered postal
 * page with handwriting in some fields only, the filled boxes and combs
 * are found with their cell counts (the ZIP+4 comb as one comb with its
 * dash, a blot of ink on its frame) and positions, in reading order, and the empty ones, a box with
 * only a printed label and the plain lines are not; a blank page gives no
 * field; bad arguments.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_auto.h"
#include "segment/seg_form.h"
#include "tests/seg_render.h"
#include "tests/tst.h"
#include "util/util.h"

static L_BMF *g_bmf10, *g_bmf6; /* 10 pt at 300 dpi; about 10 pt at 200 dpi */
static L_BMF *g_bmf;
static double g_max_err;

static const seg_form_field *field_named(const seg_form *f, const char *name)
{
    for (int i = 0; i < f->n_fields; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return &f->fields[i];
    return NULL;
}

/* rect_error - largest corner distance in pixels between a found field
 * (inches = pixels / dpi) and where the template field was drawn. */
static double rect_error(const seg_form_field *got, const seg_rect *want, const seg_xform *xf, int dpi)
{
    double xs[2] = {want->x, want->x + want->w}, ys[2] = {want->y, want->y + want->h};
    double gx[2] = {got->r.x * dpi, (got->r.x + got->r.w) * dpi},
           gy[2] = {got->r.y * dpi, (got->r.y + got->r.h) * dpi};
    double worst = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double X, Y;
            seg_xform_apply(xf, xs[a], ys[b], &X, &Y);
            worst = fmax(worst, hypot(X - gx[a], Y - gy[b]));
        }
    return worst;
}

static void test_postal(const seg_form *pst, int dpi, double dx, double dy)
{
    static const char *filled[] = {"zip_new", "phone", "parcels", "postage"};
    static const int cells[] = {9, 10, 0, 0};
    seg_xform xf = rnd_xform(dpi, 0, dx * dpi, dy * dpi);
    PIX *pix = pixCreate((int)(8.5 * dpi), 11 * dpi, 1);
    seg_form_field *got = NULL, label = {0};
    int n = -1, rc;
    util_rng rng;

    util_rng_seed(&rng, util_key(3, (uint64_t)dpi, 0, 0));
    if (!pix) {
        TST_CHECK(0, "pixCreate");
        return;
    }
    rnd_form(pix, pst, &xf, g_bmf);
    for (size_t i = 0; i < sizeof filled / sizeof filled[0]; i++)
        rnd_fill_field(pix, &xf, field_named(pst, filled[i]), 0.025 * dpi, &rng);
    /* A heavy blot of ink lying on the bottom line of the ZIP+4 comb. */
    {
        const seg_form_field *z = field_named(pst, "zip_new");
        rnd_line_in(pix, &xf, z->r.x + 0.8, z->r.y + z->r.h - 0.05, z->r.x + 1.1, z->r.y + z->r.h - 0.03,
                    0.18);
    }
    /* A box with only a printed label in it, and one with a dot of ink. */
    label.frame = SEG_FRAME_BOX;
    label.r = (seg_rect){1.0, 7.0, 2.0, 0.45};
    rnd_field_frame(pix, &xf, &label, pst->line_width);
    rnd_text(pix, g_bmf, &xf, 1.05, 7.05, "OFFICE USE");
    label.r = (seg_rect){4.0, 7.0, 1.5, 0.45};
    rnd_field_frame(pix, &xf, &label, pst->line_width);
    rnd_line_in(pix, &xf, 4.5, 7.2, 4.52, 7.2, 0.02);
    rnd_specks(pix, 300, &rng);

    rc = seg_auto_fields(pix, dpi, &got, &n);
    TST_CHECK(rc == UTIL_OK && n == 4, "%d dpi: 4 filled fields found (%d)", dpi, n);
    for (int i = 0; i < n && i < 4; i++) {
        const seg_form_field *want = field_named(pst, filled[i]);
        char name[16];
        double err = rect_error(&got[i], &want->r, &xf, dpi);
        snprintf(name, sizeof name, "auto%d", i + 1);
        g_max_err = fmax(g_max_err, err);
        TST_CHECK(strcmp(got[i].name, name) == 0 && got[i].type == SEG_FT_NUMBER,
                  "%d dpi: %s in reading order (%s)", dpi, name, got[i].name);
        TST_CHECK(got[i].frame == (cells[i] ? SEG_FRAME_COMB : SEG_FRAME_BOX) && got[i].cells == cells[i],
                  "%d dpi: %s is a %s of %d cells (frame %d, %d cells)", dpi, filled[i],
                  cells[i] ? "comb" : "box", cells[i], got[i].frame, got[i].cells);
        TST_CHECK(err <= 3.0, "%d dpi: %s within 3 px (%.2f)", dpi, filled[i], err);
        TST_CHECK(got[i].min_digits == 1 &&
                      got[i].max_digits == (cells[i] ? cells[i] : (int)lround(want->r.w / 0.15)),
                  "%d dpi: %s digits 1-%d", dpi, filled[i], got[i].max_digits);
    }
    if (n >= 1)
        TST_CHECK(got[0].dash == 5, "%d dpi: the ZIP+4 comb has its dash after 5 cells (%d)", dpi,
                  got[0].dash);
    free(got);

    /* Every field filled: all eight. */
    for (int i = 0; i < pst->n_fields; i++)
        rnd_fill_field(pix, &xf, &pst->fields[i], 0.025 * dpi, &rng);
    got = NULL;
    rc = seg_auto_fields(pix, dpi, &got, &n);
    TST_CHECK(rc == UTIL_OK && n == pst->n_fields, "%d dpi: all %d fields when all are filled (%d)", dpi,
              pst->n_fields, n);
    free(got);
    pixDestroy(&pix);
}

static void test_blank_and_bad(void)
{
    PIX *blank = pixCreate(2550, 3300, 1), *gray = pixCreate(50, 50, 8);
    seg_form_field *got = (seg_form_field *)&g_max_err;
    int n = 5;

    TST_CHECK(blank && seg_auto_fields(blank, 300, &got, &n) == UTIL_OK && got == NULL && n == 0,
              "blank page: none");
    util_log_set_level(-1);
    got = (seg_form_field *)&g_max_err;
    n = 5;
    TST_CHECK(seg_auto_fields(gray, 300, &got, &n) == UTIL_EINVAL && got == NULL && n == 0 &&
                  strstr(util_last_error(), "1 bpp"),
              "8 bpp refused (%s)", util_last_error());
    TST_CHECK(seg_auto_fields(blank, 20, &got, &n) == UTIL_EINVAL, "20 dpi refused");
    TST_CHECK(seg_auto_fields(NULL, 300, &got, &n) == UTIL_EINVAL, "NULL page refused");
    TST_CHECK(seg_auto_fields(blank, 300, NULL, &n) == UTIL_EINVAL, "NULL out refused");
    util_log_set_level(UTIL_LOG_WARN);
    pixDestroy(&blank);
    pixDestroy(&gray);
}

int main(void)
{
    seg_form *pst = NULL;

    if (seg_form_load(&pst, "forms/postal.form") != UTIL_OK || !(g_bmf10 = bmfCreate(NULL, 10)) ||
        !(g_bmf6 = bmfCreate(NULL, 6))) {
        TST_CHECK(0, "forms/postal.form and the bitmap font load");
        seg_form_destroy(&pst);
        bmfDestroy(&g_bmf10);
        return tst_done();
    }
    g_bmf = g_bmf10;
    test_postal(pst, 300, 0, 0);
    g_bmf = g_bmf6;
    test_postal(pst, 200, 0.15, -0.1);
    test_blank_and_bad();
    printf("auto: max field-corner error %.2f px\n", g_max_err);
    bmfDestroy(&g_bmf10);
    bmfDestroy(&g_bmf6);
    seg_form_destroy(&pst);
    return tst_done();
}
