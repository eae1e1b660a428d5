/*
 * test_accuracy.c - the shipped model, models/default.model, on the real
 * MNIST test set (data/test_labeled.csv, made by `make data`): it must
 * classify at least 99.60 % of the 10,000 digits correctly, its
 * calibration must be sane, and predict must agree with eval.  The shipped
 * checker, models/checker.model (README "Confidence"), must read at least
 * CHECKER_MIN of them and be calibrated too: its probabilities go into
 * every field's confidence.  The shipped judge, models/judge.model (README
 * "The judge"), must take pairs of MNIST test digits drawn touching for
 * touching digits, and the same digits alone for whole ones.  The shipped
 * pair readers, models/pair-left.model and models/pair-right.model (README
 * "The pair readers"), must read the left and the right digit of the same
 * touching pairs (PAIR_MIN of them each).
 */
#include <allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_model.h"
#include "segment/seg_mnist.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "train/trn_eval.h"
#include "util/util.h"

#define MODEL "models/default.model"
#define TEST_SET "data/test_labeled.csv"
#define CHECKER "models/checker.model"
#define CHECKER_MIN 9900 /* of 10,000 */
#define JUDGE "models/judge.model"
#define JUDGE_PAIRS 500
#define PAIR_LEFT "models/pair-left.model"
#define PAIR_RIGHT "models/pair-right.model"
#define PAIR_MIN 85 /* per cent of JUDGE_PAIRS, each side */

/* MNIST digit i of d as 1-bpp ink scanned up 4x (thresholded at 128),
 * clipped to its ink; NULL for a blank digit. */
static PIX *ink_of(const trn_data *d, int i)
{
    PIX *g = pixCreate(28, 28, 8), *b = NULL, *up = NULL, *clip = NULL;

    if (!g)
        return NULL;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            pixSetPixel(g, x, y, 255 - d->pixels[(size_t)i * 784 + (size_t)y * 28 + (size_t)x]);
    b = pixThresholdToBinary(g, 128); /* ink (dark after the inversion) is 1 */
    up = b ? pixExpandReplicate(b, 4) : NULL;
    if (up)
        pixClipToForeground(up, &clip, NULL);
    pixDestroy(&g);
    pixDestroy(&b);
    pixDestroy(&up);
    return clip;
}

/* Digits a and b side by side, b's ink overlapping a's by `over` columns. */
static PIX *pair_of(PIX *a, PIX *b, int over)
{
    int wa = pixGetWidth(a), wb = pixGetWidth(b), ha = pixGetHeight(a), hb = pixGetHeight(b), h = ha > hb ? ha : hb;
    PIX *p = pixCreate(wa + wb - over, h, 1);

    if (!p)
        return NULL;
    pixRasterop(p, 0, h - pixGetHeight(a), wa, pixGetHeight(a), PIX_SRC | PIX_DST, a, 0, 0);
    pixRasterop(p, wa - over, h - pixGetHeight(b), wb, pixGetHeight(b), PIX_SRC | PIX_DST, b, 0,
                0);
    return p;
}

/* How many of the n crops px (labels lab[k]) the model at path reads as
 * their label; -1 when it cannot be loaded or run. */
static int reads_right(const char *path, const rec_engine_ops *ops, rec_engine *eng,
                       const uint8_t *px, const int *lab, int n)
{
    rec_model *m = NULL;
    rec_classifier *cls = NULL;
    float *pr = malloc((size_t)n * 10 * sizeof *pr);
    int right = -1;

    if (pr && rec_model_load(&m, path, REC_MODEL_KIND_MODEL) == UTIL_OK &&
        rec_classifier_create(&cls, m, ops, eng, 500) == UTIL_OK &&
        rec_classifier_run(cls, pr, px, n) == UTIL_OK) {
        right = 0;
        for (int k = 0; k < n; k++)
            right += trn_eval_argmax(pr + (size_t)k * 10) == lab[k];
    }
    rec_classifier_destroy(&cls);
    rec_model_destroy(&m);
    free(pr);
    return right;
}

/* The judge on JUDGE_PAIRS touching pairs and on their first digits alone:
 * how many of each it reads as touching digits (class 1). */
static void judge_pairs(const rec_engine_ops *ops, rec_engine *eng, const trn_data *d)
{
    rec_model *m = NULL;
    rec_classifier *cls = NULL;
    uint8_t *px = malloc((size_t)2 * JUDGE_PAIRS * 784);
    float *pr = malloc((size_t)2 * JUDGE_PAIRS * 10 * sizeof *pr);
    int n = 0, touching_pairs = 0, touching_alone = 0, left[JUDGE_PAIRS], right[JUDGE_PAIRS];

    if (!TST_CHECK(px && pr && rec_model_load(&m, JUDGE, REC_MODEL_KIND_MODEL) == UTIL_OK,
                   "the shipped judge loads: %s", util_last_error()) ||
        !TST_CHECK(rec_classifier_create(&cls, m, ops, eng, 500) == UTIL_OK, "its classifier"))
        goto done;
    for (int i = 0; n < JUDGE_PAIRS && 2 * i + 1 < d->n; i++) {
        PIX *a = ink_of(d, 2 * i), *b = ink_of(d, 2 * i + 1), *p = a && b ? pair_of(a, b, 8) : NULL;
        if (p && seg_mnist_normalize(p, px + (size_t)n * 784) == UTIL_OK &&
            seg_mnist_normalize(a, px + (size_t)(JUDGE_PAIRS + n) * 784) == UTIL_OK) {
            left[n] = d->labels[2 * i];
            right[n] = d->labels[2 * i + 1];
            n++;
        }
        pixDestroy(&a);
        pixDestroy(&b);
        pixDestroy(&p);
    }
    if (!TST_CHECK(n == JUDGE_PAIRS, "%d pairs drawn", n) ||
        !TST_CHECK(rec_classifier_run(cls, pr, px, 2 * n) == UTIL_OK, "judged"))
        goto done;
    for (int k = 0; k < 2 * n; k++) {
        const float *q = pr + (size_t)k * 10;
        int top = q[1] > q[0] && q[1] > q[2];
        touching_pairs += k < n && top;
        touching_alone += k >= n && top;
    }
    printf("%s: %d of %d touching pairs read as touching, %d of their first digits alone\n",
           JUDGE, touching_pairs, n, touching_alone);
    TST_CHECK(touching_pairs >= n * 85 / 100, "the judge finds >= 85 %% of touching pairs (%d/%d)",
              touching_pairs, n);
    TST_CHECK(touching_alone <= n * 3 / 100,
              "the judge takes <= 3 %% of single digits for touching ones (%d/%d)",
              touching_alone, n);
    {
        int l = reads_right(PAIR_LEFT, ops, eng, px, left, n);
        int r = reads_right(PAIR_RIGHT, ops, eng, px, right, n);
        printf("%s, %s: %d and %d of %d touching pairs' left and right digits read right\n",
               PAIR_LEFT, PAIR_RIGHT, l, r, n);
        TST_CHECK(l >= n * PAIR_MIN / 100, "the left pair reader reads >= %d %% (%d/%d)", PAIR_MIN,
                  l, n);
        TST_CHECK(r >= n * PAIR_MIN / 100, "the right pair reader reads >= %d %% (%d/%d)",
                  PAIR_MIN, r, n);
    }
done:
    rec_classifier_destroy(&cls);
    rec_model_destroy(&m);
    free(px);
    free(pr);
}

int main(void)
{
    const rec_engine_ops *ops = &rec_engine_cpu_ops;
    rec_engine_opts eo = {0, 0};
    rec_engine *eng = NULL;
    rec_model *m = NULL;
    rec_classifier *cls = NULL;
    trn_data *d = NULL;
    float *probs = NULL;
    trn_eval ev;
    char arch[4096];
    double t0;

    if (!TST_CHECK(rec_model_load(&m, MODEL, REC_MODEL_KIND_MODEL) == UTIL_OK,
                   "the shipped model loads: %s", util_last_error()) ||
        !TST_CHECK(trn_data_load_csv(&d, TEST_SET, TRN_LABELS_REQUIRED) == UTIL_OK,
                   "the MNIST test set loads (make data): %s", util_last_error()))
        goto done;
    TST_CHECK(d->n == 10000, "10,000 test digits (%d)", d->n);
    probs = malloc((size_t)d->n * 10 * sizeof *probs);
    TST_CHECK(ops->create(&eng, &eo) == UTIL_OK, "CPU engine");
    TST_CHECK(rec_classifier_create(&cls, m, ops, eng, 500) == UTIL_OK, "classifier");
    t0 = util_now();
    TST_CHECK(cls && rec_classifier_run(cls, probs, d->pixels, d->n) == UTIL_OK, "classified");
    fprintf(stderr, "classified %d digits in %.2f s\n", d->n, util_now() - t0);
    TST_CHECK(trn_eval_compute(&ev, probs, d->labels, d->n) == UTIL_OK, "scored");
    rec_arch_format(&m->arch, arch, sizeof arch);
    printf("%s (%s): test accuracy %.2f %% (%d/%d), log-loss %.4f, ECE %.4f\n", MODEL, arch,
           100.0 * ev.accuracy, ev.correct, ev.n, ev.log_loss, ev.ece);
    TST_CHECK(ev.n == 10000 && ev.correct >= 9960, "accuracy >= 99.60 %% (%d/10000)", ev.correct);
    TST_CHECK(ev.ece < 0.01, "calibrated: ECE %.4f < 0.01", ev.ece);
    TST_CHECK(ev.log_loss < 0.03, "log-loss %.4f < 0.03", ev.log_loss);

    /* The CLI tells the same story. */
    {
        char cmd[1024], out[65536];
        int rc;
        snprintf(cmd, sizeof cmd, "%s eval --json --model %s %s", tst_bin(), MODEL, TEST_SET);
        rc = tst_run(cmd, out, sizeof out);
        char want[64];
        snprintf(want, sizeof want, "\"n\":10000");
        TST_CHECK(rc == 0 && strstr(out, want), "docpipe eval --json ran (exit %d)", rc);
        {
            const char *a = strstr(out, "\"accuracy\":");
            double acc = a ? strtod(a + 11, NULL) : -1.0;
            TST_CHECK(acc == ev.accuracy || (acc > ev.accuracy - 1e-6 && acc < ev.accuracy + 1e-6),
                      "docpipe eval --json reports the same accuracy (%g vs %g)", acc,
                      ev.accuracy);
        }
    }
    /* The checker: a second opinion, weaker than the model but sane. */
    rec_classifier_destroy(&cls);
    rec_model_destroy(&m);
    if (TST_CHECK(rec_model_load(&m, CHECKER, REC_MODEL_KIND_MODEL) == UTIL_OK,
                  "the shipped checker loads: %s", util_last_error()) &&
        TST_CHECK(rec_classifier_create(&cls, m, ops, eng, 500) == UTIL_OK, "its classifier") &&
        TST_CHECK(rec_classifier_run(cls, probs, d->pixels, d->n) == UTIL_OK, "classified") &&
        TST_CHECK(trn_eval_compute(&ev, probs, d->labels, d->n) == UTIL_OK, "scored")) {
        rec_arch_format(&m->arch, arch, sizeof arch);
        printf("%s (%s): test accuracy %.2f %% (%d/%d), log-loss %.4f, ECE %.4f\n", CHECKER,
               arch, 100.0 * ev.accuracy, ev.correct, ev.n, ev.log_loss, ev.ece);
        TST_CHECK(ev.correct >= CHECKER_MIN, "checker accuracy >= %.2f %% (%d/10000)",
                  CHECKER_MIN / 100.0, ev.correct);
        TST_CHECK(ev.ece < 0.01, "checker calibrated: ECE %.4f < 0.01", ev.ece);
    }
    judge_pairs(ops, eng, d);
done:
    rec_classifier_destroy(&cls);
    if (eng)
        ops->destroy(&eng);
    rec_model_destroy(&m);
    trn_data_destroy(&d);
    free(probs);
    return tst_done();
}
