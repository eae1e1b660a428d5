/*
 * test_seg_register.c - form registration (segment/seg_register.c): both
 * shipped templates drawn at 200 and 300 dpi with shifts, +-10 % scale
 * and +-1 degree rotation, handwriting across their frames, text and
 * specks, are found with every field corner within 3 px of where it was
 * drawn, and the right template wins; blank, text-only and other-form
 * pages score below SEG_REGISTER_MIN_SCORE; the line measurements; bad
 * arguments.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_form.h"
#include "segment/seg_register.h"
#include "tests/seg_render.h"
#include "tests/tst.h"
#include "util/util.h"

static L_BMF *g_bmf;         /* 10 pt at 300 ppi */
static double g_max_err;     /* largest corner error seen (px) */
static double g_min_own = 1; /* lowest score of a form on its own page */
static double g_max_other;   /* highest score of a form on a page without it */

/* corner_error - the largest distance between where truth and found put
 * a corner of any field of form. */
static double corner_error(const seg_form *form, const seg_xform *truth, const seg_xform *found)
{
    double worst = 0;
    for (int i = 0; i < form->n_fields; i++) {
        const seg_rect *r = &form->fields[i].r;
        double xs[2] = {r->x, r->x + r->w}, ys[2] = {r->y, r->y + r->h};
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                double X1, Y1, X2, Y2;
                seg_xform_apply(truth, xs[a], ys[b], &X1, &Y1);
                seg_xform_apply(found, xs[a], ys[b], &X2, &Y2);
                worst = fmax(worst, hypot(X1 - X2, Y1 - Y2));
            }
    }
    return worst;
}

/* render - form drawn through xf on a w x h page, every field scribbled
 * over, text lines and specks around it. */
static PIX *render(const seg_form *form, const seg_xform *xf, int w, int h, double ppi, uint64_t seed)
{
    PIX *pix = pixCreate(w, h, 1);
    util_rng rng;
    util_rng_seed(&rng, seed);
    if (!pix)
        return NULL;
    rnd_form(pix, form, xf, g_bmf);
    for (int i = 0; i < form->n_fields; i++)
        rnd_fill_field(pix, xf, &form->fields[i], 0.025 * ppi, &rng);
    rnd_text_lines(pix, g_bmf, 6, &rng);
    rnd_specks(pix, 300, &rng);
    return pix;
}

typedef struct pose {
    double scale, deg, dx, dy;
} pose;

static void test_poses(const seg_form_set *set)
{
    static const pose poses[] = {
        {1.00, 0.0, 0.00, 0.00},
        {0.90, 0.7, 0.20, -0.25},
        {1.10, -1.0, -0.30, 0.20},
        {1.03, 1.0, 0.10, 0.15},
    };
    static const int dpis[] = {200, 300};
    const seg_form *pst = seg_form_set_find(set, "postal"), *chk = seg_form_set_find(set, "us-check");

    for (int fi = 0; fi < 2; fi++) {
        const seg_form *form = fi ? chk : pst, *other = fi ? pst : chk;
        for (int di = 0; di < 2; di++) {
            for (size_t pi = 0; pi < sizeof poses / sizeof poses[0]; pi++) {
                const pose *p = &poses[pi];
                int dpi = dpis[di];
                double ppi = dpi * p->scale;
                /* The check lies on a letter-size scanner canvas. */
                double ox = fi ? 1.2 + p->dx * 3 : p->dx, oy = fi ? 2.0 + p->dy * 8 : p->dy;
                int w = (int)(8.5 * ppi), h = (int)(11 * ppi);
                seg_xform truth = rnd_xform(ppi, p->deg, ox * ppi, oy * ppi), found, found2;
                double score = -1, score2 = -1, err;
                PIX *pix = render(form, &truth, w, h, ppi, util_key(7, (uint64_t)fi, (uint64_t)di, pi));
                int rc = pix ? seg_form_register(pix, dpi, form, &found, &score) : -1;
                int rc2 = pix ? seg_form_register(pix, dpi, other, &found2, &score2) : -1;

                err = corner_error(form, &truth, &found);
                g_max_err = fmax(g_max_err, err);
                g_min_own = fmin(g_min_own, score);
                g_max_other = fmax(g_max_other, score2);
                TST_CHECK(rc == UTIL_OK && rc2 == UTIL_OK, "register %s %d dpi pose %zu", form->name, dpi,
                          pi);
                TST_CHECK(score >= SEG_REGISTER_MIN_SCORE, "%s %d dpi pose %zu: found (score %.3f)",
                          form->name, dpi, pi, score);
                TST_CHECK(err <= 3.0, "%s %d dpi pose %zu: corners within 3 px (%.2f)", form->name, dpi, pi,
                          err);
                TST_CHECK(score2 < SEG_REGISTER_MIN_SCORE && score2 < score,
                          "%s page: %s scores low (%.3f vs %.3f)", form->name, other->name, score2, score);
                pixDestroy(&pix);
            }
        }
    }
}

static void test_negatives(const seg_form_set *set)
{
    for (int dpi = 200; dpi <= 300; dpi += 100) {
        int w = (int)(8.5 * dpi), h = 11 * dpi;
        PIX *blank = pixCreate(w, h, 1), *text = pixCreate(w, h, 1);
        util_rng rng;
        util_rng_seed(&rng, (uint64_t)dpi);
        if (!blank || !text) {
            TST_CHECK(0, "pixCreate");
            pixDestroy(&blank);
            pixDestroy(&text);
            return;
        }
        /* A page of text: many lines, like a letter. */
        for (int y = (int)(0.8 * dpi); y < h - dpi; y += (int)(0.17 * dpi)) {
            char buf[96];
            int len = 40 + (int)util_rng_below(&rng, 40);
            for (int k = 0; k < len; k++) {
                int c = (int)util_rng_below(&rng, 32);
                buf[k] = c < 26 ? (char)('A' + c) : c < 30 ? (char)('0' + c) : ' ';
            }
            buf[len] = 0;
            pixSetTextline(text, g_bmf, buf, 1, (int)(0.7 * dpi), y, NULL, NULL);
        }
        rnd_specks(text, 200, &rng);
        for (int i = 0; i < set->n; i++) {
            seg_xform xf;
            double s1 = -1, s2 = -1;
            int rc1 = seg_form_register(blank, dpi, set->forms[i], &xf, &s1);
            int rc2 = seg_form_register(text, dpi, set->forms[i], &xf, &s2);
            g_max_other = fmax(g_max_other, fmax(s1, s2));
            TST_CHECK(rc1 == UTIL_OK && s1 < SEG_REGISTER_MIN_SCORE && s1 >= 0, "%s on a blank page: %.3f",
                      set->forms[i]->name, s1);
            TST_CHECK(rc2 == UTIL_OK && s2 < SEG_REGISTER_MIN_SCORE && s2 >= 0, "%s on a text page: %.3f",
                      set->forms[i]->name, s2);
        }
        pixDestroy(&blank);
        pixDestroy(&text);
    }
}

static void test_xform(void)
{
    seg_xform xf = rnd_xform(300, 0, 10, 20);
    seg_rect r = {1, 2, 0.5, 0.25};
    double X, Y;
    int x, y, w, h;

    seg_xform_apply(&xf, 1, 2, &X, &Y);
    TST_CHECK(fabs(X - 310) < 1e-9 && fabs(Y - 620) < 1e-9, "apply: (%g, %g)", X, Y);
    seg_xform_rect(&xf, &r, &x, &y, &w, &h);
    TST_CHECK(x == 310 && y == 620 && w == 150 && h == 75, "rect: %d %d %d %d", x, y, w, h);
    /* Turned: the bounding box of the turned rectangle. */
    xf = rnd_xform(100, 90, 0, 0);
    seg_xform_rect(&xf, &r, &x, &y, &w, &h);
    TST_CHECK(x == -225 && y == 100 && w == 25 && h == 50, "rect turned 90: %d %d %d %d", x, y, w, h);
}

static void test_measure(void)
{
    PIX *pix = pixCreate(400, 300, 1);
    double c, th, end;
    if (!pix) {
        TST_CHECK(0, "pixCreate");
        return;
    }
    /* A horizontal line covering rows 100..103 and columns 50..349. */
    pixRasterop(pix, 50, 100, 300, 4, PIX_SET, NULL, 0, 0);
    /* A vertical one: columns 200..202, rows 150..249. */
    pixRasterop(pix, 200, 150, 3, 100, PIX_SET, NULL, 0, 0);
    TST_CHECK(seg_measure_line(pix, 0, 120, 97, 10, 10, 1, 8, &c, &th) && fabs(c - 102) < 1e-9 && th == 4,
              "horizontal centre 102 (%g, %g)", c, th);
    TST_CHECK(!seg_measure_line(pix, 0, 120, 97, 10, 10, 5, 8, &c, &th), "too thin for min_thick 5");
    TST_CHECK(!seg_measure_line(pix, 0, 120, 130, 10, 10, 1, 8, &c, &th), "nothing where predicted");
    TST_CHECK(seg_measure_line(pix, 1, 200, 199, 10, 8, 1, 8, &c, &th) && fabs(c - 201.5) < 1e-9 && th == 3,
              "vertical centre 201.5 (%g)", c);
    TST_CHECK(seg_measure_end(pix, 0, 102, 4, 345, 1, 12, &end) && fabs(end - 350) < 1e-9,
              "right end 350 (%g)", end);
    TST_CHECK(seg_measure_end(pix, 0, 102, 4, 53, -1, 12, &end) && fabs(end - 50) < 1e-9, "left end 50 (%g)",
              end);
    TST_CHECK(!seg_measure_end(pix, 0, 102, 4, 300, 1, 12, &end), "the line goes on past 312: no end there");
    TST_CHECK(seg_measure_end(pix, 1, 201.5, 3, 255, 1, 10, &end) && fabs(end - 250) < 1e-9,
              "bottom end 250 (%g)", end);
    TST_CHECK(!seg_measure_line(pix, 0, 1000, 100, 10, 10, 1, 8, &c, &th), "window off the page");
    pixDestroy(&pix);
}

static void test_segments(void)
{
    PIX *pix = pixCreate(1200, 900, 1);
    seg_segment *s = NULL;
    int n = 0, red = 0, nh = 0, nv = 0, rc;
    if (!pix) {
        TST_CHECK(0, "pixCreate");
        return;
    }
    pixRasterop(pix, 100, 100, 900, 4, PIX_SET, NULL, 0, 0); /* 3 in long at 300 dpi */
    pixRasterop(pix, 600, 300, 4, 200, PIX_SET, NULL, 0, 0); /* 0.67 in */
    pixRasterop(pix, 100, 700, 30, 4, PIX_SET, NULL, 0, 0);  /* 0.1 in: too short */
    rc = seg_find_segments(pix, 300, 0.25, 0.25, &s, &n, &red);
    for (int i = 0; i < n; i++) {
        if (!s[i].vert && fabs(s[i].v - 102) <= 4 && fabs(s[i].u0 - 100) <= 4 && fabs(s[i].u1 - 1000) <= 4)
            nh++;
        if (s[i].vert && fabs(s[i].v - 602) <= 4 && fabs(s[i].u0 - 300) <= 4 && fabs(s[i].u1 - 500) <= 4)
            nv++;
    }
    TST_CHECK(rc == UTIL_OK && red == 4 && n == 2 && nh == 1 && nv == 1, "segments: %d found (red %d)", n,
              red);
    free(s);
    pixDestroy(&pix);
}

static void test_bad_args(const seg_form_set *set)
{
    PIX *gray = pixCreate(100, 100, 8), *bin = pixCreate(100, 100, 1), *tiny = pixCreate(3, 2, 1);
    seg_form *nofeat = NULL;
    const char *txt =
        "docpipe-form 1\nname bare\nsize 4in 2in\nfield a number x=1in y=1in w=1in h=0.4in frame=none\n";
    seg_xform xf;
    double score = 7;
    seg_segment *s = (seg_segment *)&score;
    int n = 5, red = 5;

    util_log_set_level(-1);
    TST_CHECK(seg_form_register(NULL, 300, set->forms[0], &xf, &score) == UTIL_EINVAL && score == 0,
              "NULL page: EINVAL, score zeroed");
    TST_CHECK(seg_form_register(gray, 300, set->forms[0], &xf, &score) == UTIL_EINVAL &&
                  strstr(util_last_error(), "1 bpp"),
              "8 bpp page refused (%s)", util_last_error());
    TST_CHECK(seg_form_register(bin, 50, set->forms[0], &xf, &score) == UTIL_EINVAL, "50 dpi refused");
    TST_CHECK(seg_form_register(bin, 300, NULL, &xf, &score) == UTIL_EINVAL, "NULL form");
    TST_CHECK(seg_form_register(bin, 300, set->forms[0], NULL, &score) == UTIL_EINVAL, "NULL out");
    TST_CHECK(seg_form_parse(&nofeat, txt, strlen(txt), "bare.form") == UTIL_OK,
              "a form with nothing printed");
    TST_CHECK(nofeat && seg_form_register(bin, 300, nofeat, &xf, &score) == UTIL_EINVAL &&
                  strstr(util_last_error(), "register"),
              "refused: nothing to register by (%s)", util_last_error());
    score = 7;
    TST_CHECK(seg_form_register(tiny, 300, set->forms[0], &xf, &score) == UTIL_OK && score == 0 &&
                  xf.a == 300,
              "a 3x2 page: not found, plain scale");
    TST_CHECK(seg_find_segments(gray, 300, 0.2, 0.2, &s, &n, &red) == UTIL_EINVAL && s == NULL && n == 0 &&
                  red == 0,
              "line finder refuses 8 bpp, zeroes outputs");
    util_log_set_level(UTIL_LOG_WARN);
    seg_form_destroy(&nofeat);
    pixDestroy(&gray);
    pixDestroy(&bin);
    pixDestroy(&tiny);
}

int main(void)
{
    seg_form_set *set = NULL;

    if (seg_form_set_load(&set, "forms") != UTIL_OK || set->n < 2 || !seg_form_set_find(set, "postal") ||
        !seg_form_set_find(set, "us-check") || !(g_bmf = bmfCreate(NULL, 10))) {
        TST_CHECK(0, "forms/ and the bitmap font load");
        seg_form_set_destroy(&set);
        return tst_done();
    }
    test_xform();
    test_measure();
    test_segments();
    test_bad_args(set);
    test_poses(set);
    test_negatives(set);
    printf(
        "registration: max field-corner error %.2f px, lowest own score %.3f, highest foreign score %.3f\n",
        g_max_err, g_min_own, g_max_other);
    bmfDestroy(&g_bmf);
    seg_form_set_destroy(&set);
    return tst_done();
}
