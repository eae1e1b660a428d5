/*
 * trn_bench.c - training and inference throughput on the CPU engine, the
 * peer of the PyTorch reference's throughput mode (trn_bench.h).
 */
#include "trn_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "train/trn_data.h"
#include "util/util.h"

#define BENCH_WARMUP 5
#define BENCH_MIN_ROWS 10000
#define BENCH_SEED 1

void trn_bench_opts_default(trn_bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = "lenet5";
    o->batch = 86;
    o->infer_batch = 1000;
}

/* Training images/s: warm-up steps, then nb timed steps over contiguous
 * slices of the n images already on the engine (d_pixels, d_labels). */
static int bench_train(rec_net *net, const uint8_t *d_pixels, const int32_t *d_idx,
                       const int32_t *d_labels, float *d_x, float *d_stats, int n, int B,
                       int nb, double *pimg_s)
{
    const rec_engine_ops *ops = rec_net_ops(net);
    rec_engine *eng = rec_net_engine(net);
    double t0 = 0.0;
    int rc = UTIL_OK;

    *pimg_s = 0.0;
    for (int k = 0; k < BENCH_WARMUP + nb && rc == UTIL_OK; k++) {
        int i = k < BENCH_WARMUP ? k : k - BENCH_WARMUP;
        int j = (int)(((long long)i * B) % (n - B));
        const float *logits;
        if (k == BENCH_WARMUP) {
            rc = ops->sync(eng);
            t0 = util_now();
        }
        if (!rc)
            rc = ops->images_load(eng, d_x, d_pixels, d_idx + j, NULL, B, TRN_SIDE, TRN_SIDE);
        if (!rc)
            rc = rec_net_forward(net, d_x, B, 1, util_key(BENCH_SEED, 0xD0, 0, (uint64_t)k),
                                 &logits);
        if (!rc)
            rc = rec_net_loss(net, d_labels + j, B, d_stats);
        if (!rc)
            rc = rec_net_backward(net, B);
        if (!rc)
            rc = rec_net_rmsprop(net, 1e-3f, 0.9f, 1e-8f);
    }
    if (!rc)
        rc = ops->sync(eng);
    if (!rc)
        *pimg_s = (double)nb * B / (util_now() - t0);
    return rc;
}

/* Inference images/s of a classifier holding the net's weights. */
static int bench_infer(rec_net *net, const trn_data *d, int n, int ib, double *pimg_s)
{
    rec_model *m = NULL;
    rec_classifier *cls = NULL;
    float *probs = NULL;
    int rc, total = n / ib * ib;
    double t0;

    *pimg_s = 0.0;
    probs = malloc((size_t)total * REC_CLASSES * sizeof *probs);
    if (!probs) {
        util_log(UTIL_LOG_ERROR, "out of memory for %d images' probabilities", total);
        return UTIL_ENOMEM;
    }
    rc = rec_model_create(&m, rec_net_arch(net), REC_MODEL_KIND_MODEL);
    if (!rc)
        rc = rec_net_get_params(net, m->params);
    if (!rc)
        rc = rec_classifier_create(&cls, m, rec_net_ops(net), rec_net_engine(net), ib);
    if (!rc)
        rc = rec_classifier_run(cls, probs, d->pixels, ib); /* warm-up */
    if (rc)
        goto cleanup;
    t0 = util_now();
    rc = rec_classifier_run(cls, probs, d->pixels, total);
    if (!rc)
        *pimg_s = (double)total / (util_now() - t0);
cleanup:
    rec_classifier_destroy(&cls);
    rec_model_destroy(&m);
    free(probs);
    return rc;
}

int trn_bench_run(const trn_bench_opts *o)
{
    const rec_engine_ops *ops = NULL;
    rec_engine_opts eo = {o->threads > 0 ? o->threads : util_cpu_count(), 0};
    rec_engine *eng = NULL;
    rec_net *net = NULL;
    rec_arch arch;
    trn_data *d = NULL;
    uint8_t *d_pixels = NULL;
    int32_t *idx = NULL, *d_idx = NULL, *d_labels = NULL;
    float *d_x = NULL, *d_stats = NULL;
    double train_s = 0.0, infer_s = 0.0;
    int rc, n, nb = o->batches, B = o->batch;

    if (nb <= 0)
        nb = strcmp(o->arch, "lenet5") == 0 ? 300 : 40;
    rc = rec_arch_resolve(&arch, o->arch);
    if (!rc)
        rc = trn_data_load_csv(&d, o->data, TRN_LABELS_REQUIRED);
    if (rc)
        goto cleanup;
    /* The reference reads max(10000, (nb + 5) * batch) rows. */
    n = (nb + BENCH_WARMUP) * B > BENCH_MIN_ROWS ? (nb + BENCH_WARMUP) * B : BENCH_MIN_ROWS;
    n = n < d->n ? n : d->n;
    if (n <= B || n < o->infer_batch) {
        util_log(UTIL_LOG_ERROR,
                 "%s: %d rows are too few for batches of %d and inference batches of %d",
                 o->data, d->n, B, o->infer_batch);
        rc = UTIL_EINVAL;
        goto cleanup;
    }
    idx = malloc((size_t)n * sizeof *idx);
    if (!idx) {
        util_log(UTIL_LOG_ERROR, "out of memory setting up the benchmark");
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        idx[i] = i;
    rc = rec_engine_open(o->device, &eo, &ops, &eng);
    if (!rc)
        rc = rec_net_create(&net, &arch, ops, eng, B, 1);
    if (!rc)
        rc = rec_net_init_params(net, BENCH_SEED);
    if (!rc)
        rc = ops->alloc(eng, (void **)&d_pixels, (size_t)n * TRN_PIXELS);
    if (!rc)
        rc = ops->upload(eng, d_pixels, d->pixels, (size_t)n * TRN_PIXELS);
    if (!rc)
        rc = ops->alloc(eng, (void **)&d_idx, (size_t)n * sizeof(int32_t));
    if (!rc)
        rc = ops->upload(eng, d_idx, idx, (size_t)n * sizeof(int32_t));
    if (!rc)
        rc = ops->alloc(eng, (void **)&d_labels, (size_t)n * sizeof(int32_t));
    if (!rc)
        rc = ops->upload(eng, d_labels, d->labels, (size_t)n * sizeof(int32_t));
    if (!rc)
        rc = ops->alloc(eng, (void **)&d_x, (size_t)B * TRN_PIXELS * sizeof(float));
    if (!rc)
        rc = ops->alloc(eng, (void **)&d_stats, 2 * sizeof(float));
    if (!rc)
        rc = bench_train(net, d_pixels, d_idx, d_labels, d_x, d_stats, n, B, nb, &train_s);
    if (!rc)
        rc = bench_infer(net, d, n, o->infer_batch, &infer_s);
    if (rc)
        goto cleanup;
    if (ops == &rec_engine_cpu_ops)
        printf("{\"engine\": \"docpipe cpu\", \"device\": \"cpu x%d threads\", ", eo.threads);
    else
        printf("{\"engine\": \"docpipe %s\", \"device\": \"%s\", ", ops->name,
               ops->describe(eng));
    printf("\"arch\": \"%s\", \"batch\": %d, \"infer_batch\": %d, \"mode\": \"throughput\", "
           "\"train_img_s\": %.1f, \"infer_img_s\": %.1f}\n",
           o->arch, B, o->infer_batch, train_s, infer_s);
    fflush(stdout);
cleanup:
    if (eng) {
        rec_net_destroy(&net);
        ops->free(eng, d_pixels);
        ops->free(eng, d_idx);
        ops->free(eng, d_labels);
        ops->free(eng, d_x);
        ops->free(eng, d_stats);
        ops->destroy(&eng);
    }
    trn_data_destroy(&d);
    free(idx);
    return rc;
}
