/*
 * test_train.c - the training stage: the plateau schedule's Keras
 * semantics, temperature fitting, augmentation maps (never a mirror), and
 * whole training runs on a small synthetic set: same seed and threads give
 * bit-identical weights, a run resumed from a checkpoint (at an epoch
 * boundary, or after Ctrl-C mid-epoch) ends with the same weights as one
 * that was never stopped, bad resumes are refused, and --init starts from
 * a model's network and weights.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recognize/rec_model.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "train/trn_train.h"
#include "util/util.h"

#define TINY "conv4k5 pool2 flatten dense10"

/* ------------------------------------------------------------ plateau */

static void test_plateau(void)
{
    trn_plateau p;
    /* Keras: patience 3, factor 0.5, min_delta 1e-4, min_lr 1e-5. */
    const double figs[] = {0.90, 0.95, 0.95, 0.95005, 0.949, 0.96, 0.96, 0.96, 0.96, 0.96,
                           0.96, 0.96};
    const double want[] = {1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4,
                           2.5e-4, 1.25e-4};
    int ok = 1;

    trn_plateau_init(&p, 1e-3, 0.5, 3, 1e-5);
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        trn_plateau_step(&p, figs[i]);
        if (fabs(p.lr - want[i]) > 1e-12) {
            ok = 0;
            fprintf(stderr, "epoch %zu: lr %g, want %g\n", i + 1, p.lr, want[i]);
        }
    }
    TST_CHECK(ok, "plateau schedule follows Keras' ReduceLROnPlateau");
    trn_plateau_init(&p, 2e-5, 0.5, 1, 1e-5);
    trn_plateau_step(&p, 0.5);
    trn_plateau_step(&p, 0.5);
    TST_CHECK(fabs(p.lr - 1e-5) < 1e-15, "lr stops at min_lr (%g)", p.lr);
    trn_plateau_step(&p, 0.5);
    TST_CHECK(fabs(p.lr - 1e-5) < 1e-15, "lr stays at min_lr (%g)", p.lr);
}

/* -------------------------------------------------------- temperature */

static void test_temperature(void)
{
    const int n = 20000;
    float *logits = malloc((size_t)n * 10 * sizeof *logits);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    util_rng rng;
    double t;

    /* Labels drawn from softmax(z / 2): the best temperature is 2. */
    util_rng_seed(&rng, 77);
    for (int i = 0; i < n; i++) {
        double p[10], s = 0, u, acc = 0;
        for (int k = 0; k < 10; k++) {
            logits[i * 10 + k] = (float)(6.0 * ((util_rng_next(&rng) >> 11) * 0x1p-53));
            s += p[k] = exp(logits[i * 10 + k] / 2.0);
        }
        u = (util_rng_next(&rng) >> 11) * 0x1p-53 * s;
        labels[i] = 9;
        for (int k = 0; k < 10; k++) {
            acc += p[k];
            if (u < acc) {
                labels[i] = k;
                break;
            }
        }
    }
    t = trn_fit_temperature(logits, labels, n);
    TST_CHECK(fabs(t - 2.0) < 0.2, "fitted temperature %.3f, want about 2", t);
    TST_CHECK(trn_fit_temperature(logits, labels, 0) == 1.0, "no rows: temperature 1");
    free(logits);
    free(labels);
}

/* ------------------------------------------------------- augmentation */

static void test_augment(void)
{
    float a[6 * 1000];
    int mirror = 0, rot_ok = 1, scale_ok = 1, shift_ok = 1, varied = 0;

    trn_augment_affine(a, 1000, util_key(5, 1, 2, 3), 10.0, 0.1, 0.1);
    for (int i = 0; i < 1000; i++) {
        const float *m = a + 6 * i;
        double det = (double)m[0] * m[4] - (double)m[1] * m[3];
        double s = 1.0 / sqrt(det), ang = atan2(m[1], m[0]) * 180.0 / 3.14159265358979;
        /* source = M (out - t): the shift is -M^-1 (a2, a5). */
        double tx = -(s * s) * (m[4] * m[2] - m[1] * m[5]);
        double ty = -(s * s) * (-m[3] * m[2] + m[0] * m[5]);
        mirror += det <= 0;
        rot_ok &= fabs(ang) <= 10.0001;
        scale_ok &= s >= 0.8999 && s <= 1.1001;
        shift_ok &= fabs(tx) <= 2.8001 && fabs(ty) <= 2.8001;
        varied += fabs(ang) > 5.0;
        if (!(m[0] == m[4] && m[1] == -m[3]))
            rot_ok = 0; /* a pure rotation and scale: no shear, no flip */
    }
    TST_CHECK(mirror == 0, "no augmentation map is a mirror (%d were)", mirror);
    TST_CHECK(rot_ok, "rotations within +-10 degrees, no shear");
    TST_CHECK(scale_ok, "zoom within 0.9..1.1");
    TST_CHECK(shift_ok, "shifts within +-10 %% of the side");
    TST_CHECK(varied > 300, "the draws cover the range (%d of 1000 beyond 5 degrees)", varied);
    trn_augment_affine(a, 3, 9, 0.0, 0.0, 0.0);
    TST_CHECK(a[0] == 1.0f && a[1] == 0.0f && a[2] == 0.0f && a[3] == 0.0f && a[4] == 1.0f &&
                  a[5] == 0.0f,
              "zero ranges give the identity");
}

/* ------------------------------------------------------- training runs */

/* A synthetic set: class k is a bright 7x7 block at one of ten places,
 * jittered by a pixel, on light noise.  A tiny net learns it in an epoch. */
static const char *write_set(int n, uint64_t seed)
{
    static char path[600];
    trn_data *d = NULL;
    util_rng rng;

    trn_data_create(&d, n, 1);
    util_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        uint8_t *p = d->pixels + (size_t)i * TRN_PIXELS;
        int k = (int)util_rng_below(&rng, 10);
        int y0 = 3 + (k / 5) * 12 + (int)util_rng_below(&rng, 3) - 1;
        int x0 = 1 + (k % 5) * 5 + (int)util_rng_below(&rng, 2);
        d->labels[i] = k;
        for (int j = 0; j < TRN_PIXELS; j++)
            p[j] = (uint8_t)util_rng_below(&rng, 40);
        for (int y = y0; y < y0 + 7 && y < 28; y++)
            for (int x = x0; x < x0 + 7 && x < 28; x++)
                p[y * 28 + x] = 255;
    }
    snprintf(path, sizeof path, "%s/set%llu.csv", tst_tmpdir(), (unsigned long long)seed);
    if (trn_data_write_csv(d, path, 1) != UTIL_OK)
        path[0] = '\0';
    trn_data_destroy(&d);
    return path;
}

static void opts_for(trn_opts *o, const char *data, const char *out, int epochs)
{
    trn_opts_default(o);
    o->data = data;
    o->arch = TINY;
    o->epochs = epochs;
    o->batch = 32;
    o->threads = 2;
    o->seed = 42;
    o->out = out;
}

static const char *tmp(const char *name)
{
    static char paths[16][600];
    static int slot;
    char *p = paths[slot++ % 16];
    snprintf(p, 600, "%s/%s", tst_tmpdir(), name);
    return p;
}

/* Whether two model files hold bit-identical parameters. */
static int same_params(const char *a, const char *b)
{
    rec_model *ma = NULL, *mb = NULL;
    int same = 0;

    if (rec_model_load(&ma, a, 0) == UTIL_OK && rec_model_load(&mb, b, 0) == UTIL_OK)
        same = ma->n_params == mb->n_params &&
               memcmp(ma->params, mb->params, ma->n_params * sizeof(float)) == 0;
    rec_model_destroy(&ma);
    rec_model_destroy(&mb);
    return same;
}

static void test_runs(void)
{
    const char *set = write_set(1200, 7);
    trn_opts o;
    rec_model *m = NULL;
    double v;
    int rc;

    TST_CHECK(set[0], "synthetic set written");
    util_log_set_level(UTIL_LOG_ERROR);
    fflush(stdout);

    /* Same seed and threads: bit-identical. */
    opts_for(&o, set, tmp("a.model"), 3);
    o.log = tmp("a.csv");
    rc = trn_train_run(&o);
    TST_CHECK(rc == UTIL_OK, "training run (rc %d: %s)", rc, util_last_error());
    opts_for(&o, set, tmp("b.model"), 3);
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "second run");
    TST_CHECK(same_params(tmp("a.model"), tmp("b.model")), "same seed: bit-identical weights");
    opts_for(&o, set, tmp("c.model"), 3);
    o.seed = 43;
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "other seed");
    TST_CHECK(!same_params(tmp("a.model"), tmp("c.model")), "another seed: other weights");

    /* The model: it learnt, and carries its calibration. */
    TST_CHECK(rec_model_load(&m, tmp("a.model"), REC_MODEL_KIND_MODEL) == UTIL_OK,
              "the result is a model file");
    if (m) {
        TST_CHECK(rec_model_meta_double(m, "val_accuracy", 0, 1, 0, &v) == UTIL_OK && v > 0.9,
                  "the tiny net learnt the synthetic set (val accuracy %.3f)", v);
        TST_CHECK(rec_model_meta_double(m, "temperature", 0.05, 20, 0, &v) == UTIL_OK,
                  "temperature stored (%.3f)", v);
        rec_model_destroy(&m);
    }
    TST_CHECK(rec_model_load(&m, tmp("a.model.ckpt"), REC_MODEL_KIND_CHECKPOINT) == UTIL_OK &&
                  rec_model_meta_double(m, "epoch_done", 0, 1000, 0, &v) == UTIL_OK && v == 3,
              "a checkpoint after every epoch (epoch_done %g)", v);
    rec_model_destroy(&m);
    {
        uint8_t *buf = NULL;
        size_t len = 0, lines = 0;
        if (util_file_read(tmp("a.csv"), 0, &buf, &len) == UTIL_OK)
            for (size_t i = 0; i < len; i++)
                lines += buf[i] == '\n';
        TST_CHECK(lines == 4 && buf &&
                      strncmp((char *)buf, "epoch,train_loss,train_acc,val_loss,val_acc", 43) == 0,
                  "log: header and one line per epoch (%zu lines)", lines);
        free(buf);
    }

    /* Resumed at an epoch boundary: the same end. */
    opts_for(&o, set, tmp("r1.model"), 1);
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "one epoch");
    opts_for(&o, set, tmp("r2.model"), 3);
    o.resume = tmp("r1.model.ckpt");
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "resumed to three epochs");
    TST_CHECK(same_params(tmp("a.model"), tmp("r2.model")),
              "resumed run ends bit-identical to the straight one");

    /* Weight averaging: the shipped model is the mean of the last epochs,
     * and resuming in the middle of the averaging ends the same way. */
    opts_for(&o, set, tmp("avg.model"), 3);
    o.average_from = 2;
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "run with averaging");
    TST_CHECK(!same_params(tmp("avg.model"), tmp("a.model")),
              "the averaged model differs from the last weights");
    TST_CHECK(rec_model_load(&m, tmp("avg.model.ckpt"), REC_MODEL_KIND_CHECKPOINT) == UTIL_OK &&
                  m->avg_params && rec_model_meta_double(m, "avg_count", 0, 1000, 0, &v) == 0 &&
                  v == 2,
              "the checkpoint carries the mean of two epochs (%g)", v);
    rec_model_destroy(&m);
    opts_for(&o, set, tmp("avg1.model"), 2);
    o.average_from = 2;
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "two epochs with averaging");
    opts_for(&o, set, tmp("avg2.model"), 3);
    o.resume = tmp("avg1.model.ckpt");
    TST_CHECK(trn_train_run(&o) == UTIL_OK, "resumed inside the averaging");
    TST_CHECK(same_params(tmp("avg.model"), tmp("avg2.model")),
              "resumed averaging ends bit-identical to the straight run");

    /* Bad resumes. */
    util_log_set_level(-1);
    opts_for(&o, set, tmp("x.model"), 3);
    o.resume = tmp("a.model");
    TST_CHECK(trn_train_run(&o) == UTIL_EFORMAT && strstr(util_last_error(), "a.model"),
              "resume from a model (not a checkpoint) refused: %s", util_last_error());
    opts_for(&o, write_set(300, 8), tmp("x.model"), 3);
    o.resume = tmp("r1.model.ckpt");
    TST_CHECK(trn_train_run(&o) == UTIL_EINVAL && strstr(util_last_error(), "other training data"),
              "resume on other data refused: %s", util_last_error());
    TST_CHECK(access(tmp("x.model"), F_OK) != 0, "no model written by refused runs");
    opts_for(&o, set, tmp("x.model"), 1);
    o.arch = "conv4k5 dense10";
    TST_CHECK(trn_train_run(&o) == UTIL_EINVAL, "invalid network refused");
    opts_for(&o, tmp("missing.csv"), tmp("x.model"), 1);
    TST_CHECK(trn_train_run(&o) == UTIL_EIO && strstr(util_last_error(), "missing.csv"),
              "missing data named: %s", util_last_error());

    /* --init: the run starts from a model's network and weights.  With a
     * learning rate too small to move them, the result is that model (its
     * arch, whatever o.arch says, and its accuracy); from fresh weights the
     * same run has learnt nothing. */
    util_log_set_level(UTIL_LOG_ERROR);
    opts_for(&o, set, tmp("i.model"), 1);
    o.init = tmp("a.model");
    o.arch = "lenet5";
    o.lr = 1e-12;
    o.min_lr = 0;
    rc = trn_train_run(&o);
    TST_CHECK(rc == UTIL_OK, "run from --init (rc %d: %s)", rc, util_last_error());
    {
        rec_model *a = NULL, *i = NULL;
        double va = 0, vi = 0, d = 1;
        char init[600] = "";
        if (rec_model_load(&a, tmp("a.model"), REC_MODEL_KIND_MODEL) == UTIL_OK &&
            rec_model_load(&i, tmp("i.model"), REC_MODEL_KIND_MODEL) == UTIL_OK &&
            a->n_params == i->n_params) {
            d = 0;
            for (size_t k = 0; k < a->n_params; k++)
                d = fmax(d, fabs((double)a->params[k] - (double)i->params[k]));
            rec_model_meta_double(a, "val_accuracy", 0, 1, 0, &va);
            rec_model_meta_double(i, "val_accuracy", 0, 1, 0, &vi);
            rec_model_meta_get(i, "init", init, sizeof init);
        }
        TST_CHECK(d < 1e-6, "--init: the starting model's network and weights (max change %g)", d);
        TST_CHECK(va > 0.9 && fabs(va - vi) < 1e-9,
                  "--init: the starting model's val accuracy (%.4f, started from %.4f)", vi, va);
        TST_CHECK(strcmp(init, tmp("a.model")) == 0, "the model records where it started: %s",
                  init);
        rec_model_destroy(&a);
        rec_model_destroy(&i);
    }
    opts_for(&o, set, tmp("f.model"), 1);
    o.lr = 1e-12;
    o.min_lr = 0;
    TST_CHECK(trn_train_run(&o) == UTIL_OK && rec_model_load(&m, tmp("f.model"), 1) == UTIL_OK &&
                  rec_model_meta_double(m, "val_accuracy", 0, 1, 0, &v) == UTIL_OK && v < 0.5,
              "the same run from fresh weights learns nothing (val accuracy %.3f)", v);
    rec_model_destroy(&m);
    opts_for(&o, set, tmp("i2.model"), 1);
    o.init = tmp("a.model");
    TST_CHECK(trn_train_run(&o) == UTIL_OK && rec_model_load(&m, tmp("i2.model"), 1) == UTIL_OK &&
                  rec_model_meta_double(m, "val_accuracy", 0, 1, 0, &v) == UTIL_OK && v > 0.9,
              "fine-tuning one more epoch keeps what was learnt (val accuracy %.3f)", v);
    rec_model_destroy(&m);
    util_log_set_level(-1);
    opts_for(&o, set, tmp("x.model"), 1);
    o.init = tmp("a.model.ckpt");
    TST_CHECK(trn_train_run(&o) == UTIL_EFORMAT && strstr(util_last_error(), "a.model.ckpt"),
              "--init from a checkpoint refused: %s", util_last_error());
    o.init = tmp("missing.model");
    TST_CHECK(trn_train_run(&o) == UTIL_EIO && strstr(util_last_error(), "missing.model"),
              "--init from a missing file refused: %s", util_last_error());
    o.init = tmp("a.model");
    o.resume = tmp("r1.model.ckpt");
    TST_CHECK(trn_train_run(&o) == UTIL_EINVAL, "--init with --resume refused: %s",
              util_last_error());
    TST_CHECK(access(tmp("x.model"), F_OK) != 0, "no model written by refused --init runs");

    /* No validation set: trains, schedules on training accuracy. */
    util_log_set_level(UTIL_LOG_ERROR);
    opts_for(&o, set, tmp("nv.model"), 1);
    o.val = 0;
    TST_CHECK(trn_train_run(&o) == UTIL_OK && access(tmp("nv.model"), F_OK) == 0,
              "--val 0 trains without a held-out set");
    util_log_set_level(UTIL_LOG_INFO);
}

/* Ctrl-C mid-run through the real binary: exit 130, a checkpoint, and a
 * resumed run that ends bit-identical to one never stopped. */
static void test_interrupt(void)
{
    const char *set = write_set(6000, 9);
    char cmd[4096], out[8192];
    const char *arch = "conv8k5 pool2 flatten dense10";
    int rc, interrupted = 0;
    rec_model *ck = NULL;
    double bn = -1, ep = -1;

    snprintf(cmd, sizeof cmd, "%s train --arch '%s' --epochs 3 --batch 16 --threads 2 --seed 5 "
             "--out %s %s > /dev/null", tst_bin(), arch, tmp("full.model"), set);
    rc = tst_run(cmd, out, sizeof out);
    TST_CHECK(rc == 0, "uninterrupted CLI run (exit %d): %s", rc, out);

    /* Interrupt after a while; retry with a shorter wait if it had ended. */
    for (int wait_ms = 700; wait_ms >= 100 && !interrupted; wait_ms /= 2) {
        unlink(tmp("int.model")); /* an attempt that ended before the signal wrote one */
        unlink(tmp("int.model.ckpt"));
        snprintf(cmd, sizeof cmd,
                 "{ %s train --arch '%s' --epochs 3 --batch 16 --threads 2 --seed 5 --out %s %s "
                 ">/dev/null & pid=$!; sleep %d.%03d; kill -INT $pid; wait $pid; }",
                 tst_bin(), arch, tmp("int.model"), set, wait_ms / 1000, wait_ms % 1000);
        rc = tst_run(cmd, out, sizeof out);
        interrupted = rc == 130;
    }
    TST_CHECK(interrupted, "Ctrl-C exits 130 (last exit %d): %s", rc, out);
    TST_CHECK(strstr(out, "--resume") != NULL, "the message says how to resume: %s", out);
    TST_CHECK(access(tmp("int.model"), F_OK) != 0, "no final model after an interruption");
    TST_CHECK(rec_model_load(&ck, tmp("int.model.ckpt"), REC_MODEL_KIND_CHECKPOINT) == UTIL_OK,
              "interrupted run left a valid checkpoint");
    if (ck) {
        rec_model_meta_double(ck, "batch_next", 0, 1e9, -1, &bn);
        rec_model_meta_double(ck, "epoch_done", 0, 1e9, -1, &ep);
        rec_model_destroy(&ck);
    }
    fprintf(stderr, "interrupted at epoch %g + batch %g\n", ep + 1, bn);
    snprintf(cmd, sizeof cmd, "%s train --epochs 3 --threads 2 --out %s --resume %s %s > /dev/null",
             tst_bin(), tmp("int.model"), tmp("int.model.ckpt"), set);
    rc = tst_run(cmd, out, sizeof out);
    TST_CHECK(rc == 0, "resume after Ctrl-C (exit %d): %s", rc, out);
    TST_CHECK(same_params(tmp("full.model"), tmp("int.model")),
              "interrupted and resumed run ends bit-identical to the straight one");
}

int main(void)
{
    /* On a machine with a GPU the trainer's "auto" picks the CUDA engine,
     * whose fastest convolution algorithms may sum in a different order
     * from run to run; the bit-identical checks below ask for the
     * deterministic ones (docpipe itself and its children read this). */
    setenv("DOCPIPE_CUDA_DETERMINISTIC", "1", 1);
    test_plateau();
    test_temperature();
    test_augment();
    test_runs();
    test_interrupt();
    return tst_done();
}
