/*
 * test_cuda.c - the CUDA engine against the CPU engine, and the host-side
 * pieces of the CUDA build that need no GPU.
 *
 * Without a GPU (always run):
 *   - the hash port (rec_cuda_hash.h, the text the dropout kernel uses)
 *     equals util_hash64 / util_key / util_uniform bit for bit;
 *   - the algorithm cache: hits, misses, shapes told apart by every field,
 *     least-recently-used eviction;
 *   - choosing an engine: rec_device_valid, rec_engine_open for cpu, auto,
 *     cuda and a bad name, and the CLI's --device (usage error 2, and exit 1
 *     with a clear message for cuda where none is usable).
 * With a GPU (skipped, through tst_skip, where the CUDA engine's create()
 * says UTIL_ENODEV; DOCPIPE_REQUIRE_GPU=1, as make test-cuda sets, turns
 * the skip into a failure), every operation on random inputs against the
 * CPU engine, TF32 off (DOCPIPE_CUDA_TF32=0):
 *   convolutions forward/backward  max error <= 1e-4 x the largest |value|
 *   dense, batch-norm, softmax     <= 1e-4 relative likewise
 *   pooling (ties included), ReLU, dropout (mask and values), RMSProp,
 *   images_load (plain and affine)  bit-exact
 *   softmax_xent                   gradient 1e-4 relative, loss 1e-4, hits exact
 * then three training steps of a small network from the same weights
 * (parameters within 1e-3 relative), and the shipped model's predictions on
 * 300 MNIST test digits through both engines (same arg-max, probabilities
 * within 1e-4).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_cuda_cache.h"
#include "recognize/rec_cuda_hash.h"
#include "recognize/rec_engine.h"
#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "util/util.h"

static util_rng rng;

static float frand(void) { return (float)((util_rng_next(&rng) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }

/* ----------------------------------------------------- host-side parts */

static void test_hash_port(void)
{
    int bad = 0;
    const uint64_t edge[] = {0, 1, UINT64_MAX, 0x9e3779b97f4a7c15ULL, 1ULL << 63};

    for (int i = 0; i < 200000; i++) {
        uint64_t a = util_rng_next(&rng), b = util_rng_next(&rng), c = util_rng_next(&rng);
        uint64_t d = i < 5 ? edge[i] : util_rng_next(&rng);
        uint64_t ctr = (uint64_t)i * 7919u;
        bad += rec_hash64(a) != util_hash64(a);
        bad += rec_key(a, b, c, d) != util_key(a, b, c, d);
        float u = rec_uniform(d, ctr), v = util_uniform(d, ctr);
        bad += memcmp(&u, &v, sizeof u) != 0;
    }
    TST_CHECK(bad == 0, "hash port differs from util/util.c in %d of 600000 draws", bad);
    /* an independent value: splitmix64's finalizer of 0 + golden ratio */
    TST_CHECK(rec_hash64(0) == 0xe220a8397b1dcdafULL, "rec_hash64(0) = %016llx",
              (unsigned long long)rec_hash64(0));
}

static rec_conv_shape shape(int n, int h, int w, int c, int k, int pad, int oc)
{
    rec_conv_shape s = {n, h, w, c, k, pad, oc, h + 2 * pad - k + 1, w + 2 * pad - k + 1};
    return s;
}

static void test_algo_cache(void)
{
    static rec_algo_cache cache;
    rec_conv_shape a = shape(86, 28, 28, 1, 3, 1, 32), b = a;
    rec_algo_entry *ea, *eb, *first;

    rec_algo_cache_clear(&cache);
    ea = rec_algo_cache_slot(&cache, &a);
    TST_CHECK(cache.misses == 1 && cache.hits == 0 && !ea->found[0], "first lookup is a miss");
    ea->found[REC_CONV_FWD] = 1;
    ea->algo[REC_CONV_FWD] = 6;
    ea->workspace[REC_CONV_FWD] = 4096;
    TST_CHECK(rec_algo_cache_slot(&cache, &a) == ea && cache.hits == 1 &&
                  ea->algo[REC_CONV_FWD] == 6 && ea->workspace[REC_CONV_FWD] == 4096,
              "same shape: the same entry, a hit, the choice kept");
    /* every field is part of the key */
    int fields_differ = 0;
    for (int f = 0; f < 9; f++) {
        b = a;
        ((int *)&b)[f] += 1;
        eb = rec_algo_cache_slot(&cache, &b);
        fields_differ += eb != ea && !eb->found[REC_CONV_FWD];
    }
    TST_CHECK(fields_differ == 9, "a shape differing in one field is another entry (%d/9)",
              fields_differ);
    /* fill up: the least recently used entry goes first */
    rec_algo_cache_clear(&cache);
    first = rec_algo_cache_slot(&cache, &a);
    first->found[0] = 1;
    for (int i = 1; i < REC_ALGO_CACHE_MAX; i++) {
        b = shape(i + 1, 28, 28, 1, 3, 1, 32);
        rec_algo_cache_slot(&cache, &b)->found[0] = 1;
    }
    rec_algo_cache_slot(&cache, &a); /* a is now the most recent */
    b = shape(1000, 28, 28, 1, 3, 1, 32);
    eb = rec_algo_cache_slot(&cache, &b);
    TST_CHECK(eb != first && !eb->found[0], "a new shape in a full cache takes a fresh entry");
    TST_CHECK(rec_algo_cache_slot(&cache, &a) == first && first->found[0],
              "the recently used shape survived eviction");
    b = shape(2, 28, 28, 1, 3, 1, 32); /* the oldest after a: evicted */
    long misses = cache.misses;
    rec_algo_cache_slot(&cache, &b);
    TST_CHECK(cache.misses == misses + 1, "the least recently used shape was the one evicted");
}

/* Returns 1 when a CUDA engine is usable here; *why gets the reason when not. */
static int test_engine_open(char *why, size_t cap)
{
    const rec_engine_ops *ops = NULL;
    rec_engine *eng = NULL;
    rec_engine_opts eo = {1, 0};
    int rc, level = util_log_get_level(), usable;

    TST_CHECK(rec_device_valid(NULL) && rec_device_valid("auto") && rec_device_valid("cpu") &&
                  rec_device_valid("cuda"),
              "auto, cpu, cuda and NULL are devices");
    TST_CHECK(!rec_device_valid("gpu") && !rec_device_valid("") && !rec_device_valid("CUDA"),
              "gpu, empty and CUDA are not");
    util_log_set_level(-1);
    rc = rec_engine_open("cpu", &eo, &ops, &eng);
    TST_CHECK(rc == UTIL_OK && ops == &rec_engine_cpu_ops && eng, "cpu opens the CPU engine");
    if (eng)
        ops->destroy(&eng);
    util_clear_error();
    rc = rec_engine_open("tpu", &eo, &ops, &eng);
    TST_CHECK(rc == UTIL_EINVAL && !ops && !eng && strstr(util_last_error(), "tpu"),
              "a bad device name is refused, naming it (%s)", util_last_error());
    TST_CHECK((rec_engine_find("cuda") != NULL) == rec_engine_cuda_built(),
              "rec_engine_find(\"cuda\") matches the build");
    util_clear_error();
    rc = rec_engine_open("cuda", &eo, &ops, &eng);
    usable = rc == UTIL_OK;
    if (usable) {
        TST_CHECK(ops == rec_engine_find("cuda") && strncmp(ops->describe(eng), "cuda", 4) == 0,
                  "cuda opens the CUDA engine");
        ops->destroy(&eng);
    } else {
        snprintf(why, cap, "%s", util_last_error());
        TST_CHECK(rc == UTIL_ENODEV && !ops && !eng && why[0],
                  "cuda without a usable GPU: UTIL_ENODEV and a reason (%s)", why);
    }
    rc = rec_engine_open(NULL, &eo, &ops, &eng);
    TST_CHECK(rc == UTIL_OK && eng && ops == (usable ? rec_engine_find("cuda") : &rec_engine_cpu_ops),
              "auto opens the GPU when usable, else the CPU");
    if (eng)
        ops->destroy(&eng);
    util_log_set_level(level);
    return usable;
}

static void test_cli_device(int usable)
{
    char cmd[1024], out[8192];
    int rc;

    snprintf(cmd, sizeof cmd, "%s eval --device tpu data/test_labeled.csv", tst_bin());
    rc = tst_run(cmd, out, sizeof out);
    TST_CHECK(rc == 2 && strstr(out, "--device") && strstr(out, "tpu"),
              "--device tpu: usage error (exit %d): %.200s", rc, out);
    if (usable)
        return;
    snprintf(cmd, sizeof cmd, "%s bench --device cuda --batches 1 data/test_labeled.csv",
             tst_bin());
    rc = tst_run(cmd, out, sizeof out);
    TST_CHECK(rc == 1 && (strstr(out, "no usable GPU") || strstr(out, "without the CUDA")),
              "--device cuda without a GPU: exit 1 and why (exit %d): %.300s", rc, out);
}

/* ------------------------------------------------ against the CPU engine */

static const rec_engine_ops *C = &rec_engine_cpu_ops, *G;
static rec_engine *ce, *ge;

/* A buffer on both engines with the same host contents. */
typedef struct pair {
    void *c, *g;
    size_t bytes;
} pair;

static pair mk(const void *host, size_t bytes)
{
    pair p = {NULL, NULL, bytes};
    C->alloc(ce, &p.c, bytes);
    G->alloc(ge, &p.g, bytes);
    if (host) {
        C->upload(ce, p.c, host, bytes);
        G->upload(ge, p.g, host, bytes);
    }
    return p;
}

static pair mkf(size_t n)
{
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        h[i] = frand();
    pair p = mk(h, n * sizeof(float));
    free(h);
    return p;
}

static void drop(pair *p)
{
    C->free(ce, p->c);
    G->free(ge, p->g);
}

/* Largest |gpu - cpu| over the largest |cpu| (at least 1e-3); -1 when the
 * GPU side cannot be read. */
static double cmp(const pair *p, int exact, size_t *pdiff)
{
    size_t n = p->bytes / sizeof(float), diff = 0;
    float *a = malloc(p->bytes), *b = malloc(p->bytes);
    double m = 1e-3, e = 0.0;

    memcpy(a, p->c, p->bytes);
    if (G->download(ge, b, p->g, p->bytes) != UTIL_OK) {
        free(a), free(b);
        return -1.0;
    }
    if (exact) {
        diff = 0;
        for (size_t i = 0; i < p->bytes; i++)
            diff += ((uint8_t *)a)[i] != ((uint8_t *)b)[i];
    } else {
        for (size_t i = 0; i < n; i++) {
            m = fmax(m, fabs(a[i]));
            e = fmax(e, fabs((double)a[i] - b[i]));
        }
    }
    if (pdiff)
        *pdiff = diff;
    free(a), free(b);
    return exact ? (double)diff : e / m;
}

#define NEAR(p, tol, what) \
    do { double r_ = cmp(&(p), 0, NULL); TST_CHECK(r_ >= 0 && r_ <= (tol), "%s: error %.3g > %.1g", what, r_, (double)(tol)); } while (0)
#define SAME(p, what) \
    do { size_t d_ = 0; double r_ = cmp(&(p), 1, &d_); TST_CHECK(r_ == 0.0, "%s: %zu bytes differ", what, d_); } while (0)

static void gpu_conv(void)
{
    const rec_conv_shape shapes[] = {shape(3, 9, 7, 3, 3, 1, 5), shape(2, 28, 28, 1, 5, 0, 6),
                                     shape(4, 14, 14, 32, 3, 1, 64), shape(5, 28, 28, 1, 3, 1, 32),
                                     shape(3, 28, 28, 32, 5, 2, 32)};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        const rec_conv_shape *s = &shapes[t];
        size_t nx = (size_t)s->n * s->h * s->w * s->c, ny = (size_t)s->n * s->oh * s->ow * s->oc,
               nw = (size_t)s->oc * s->k * s->k * s->c;
        pair x = mkf(nx), w = mkf(nw), b = mkf((size_t)s->oc), y = mkf(ny), dy = mkf(ny);
        pair dx = mkf(nx), dw = mkf(nw), db = mkf((size_t)s->oc);
        char what[96];
        for (int act = 0; act < 2; act++) {
            C->conv_forward(ce, y.c, x.c, w.c, b.c, act, s);
            G->conv_forward(ge, y.g, x.g, w.g, b.g, act, s);
            snprintf(what, sizeof what, "conv forward %zu act %d", t, act);
            NEAR(y, 1e-4, what);
        }
        C->conv_backward_data(ce, dx.c, dy.c, w.c, s);
        G->conv_backward_data(ge, dx.g, dy.g, w.g, s);
        snprintf(what, sizeof what, "conv backward data %zu", t);
        NEAR(dx, 1e-4, what);
        C->conv_backward_filter(ce, dw.c, db.c, dy.c, x.c, s);
        G->conv_backward_filter(ge, dw.g, db.g, dy.g, x.g, s);
        snprintf(what, sizeof what, "conv backward filter %zu", t);
        NEAR(dw, 1e-4, what);
        snprintf(what, sizeof what, "conv backward bias %zu", t);
        NEAR(db, 1e-4, what);
        drop(&x), drop(&w), drop(&b), drop(&y), drop(&dy), drop(&dx), drop(&dw), drop(&db);
    }
}

static void gpu_pool_relu(void)
{
    const rec_pool_shape shapes[] = {{2, 7, 7, 3, 2, 2, 3, 3}, {2, 9, 8, 5, 3, 2, 4, 3},
                                     {3, 28, 28, 32, 2, 2, 14, 14}};
    for (size_t t = 0; t < 3; t++) {
        const rec_pool_shape *s = &shapes[t];
        size_t nx = (size_t)s->n * s->h * s->w * s->c, ny = (size_t)s->n * s->oh * s->ow * s->c;
        float *h = malloc(nx * sizeof(float));
        for (size_t i = 0; i < nx; i++) /* few values: ties in most windows */
            h[i] = (float)(util_rng_next(&rng) % 3);
        pair x = mk(h, nx * sizeof(float)), y = mkf(ny), dy = mkf(ny), dx = mkf(nx);
        free(h);
        C->pool_forward(ce, y.c, x.c, s);
        G->pool_forward(ge, y.g, x.g, s);
        SAME(y, "pool forward");
        C->pool_backward(ce, dx.c, dy.c, x.c, y.c, s);
        G->pool_backward(ge, dx.g, dy.g, x.g, y.g, s);
        SAME(dx, "pool backward (ties: the first maximum)");
        drop(&x), drop(&y), drop(&dy), drop(&dx);
    }
    size_t n = 10007;
    pair x = mkf(n), y = mkf(n), dy = mkf(n), dx = mkf(n);
    C->relu_forward(ce, y.c, x.c, n);
    G->relu_forward(ge, y.g, x.g, n);
    SAME(y, "relu forward");
    C->relu_backward(ce, dx.c, dy.c, y.c, n);
    G->relu_backward(ge, dx.g, dy.g, y.g, n);
    SAME(dx, "relu backward");
    drop(&x), drop(&y), drop(&dy), drop(&dx);
}

static void gpu_dense(void)
{
    const int dims[][3] = {{3, 7, 5}, {86, 3136, 256}, {33, 256, 10}};
    for (int t = 0; t < 3; t++) {
        int n = dims[t][0], in = dims[t][1], out = dims[t][2];
        pair x = mkf((size_t)n * in), w = mkf((size_t)out * in), b = mkf((size_t)out);
        pair y = mkf((size_t)n * out), dy = mkf((size_t)n * out), dx = mkf((size_t)n * in);
        pair dw = mkf((size_t)out * in), db = mkf((size_t)out);
        for (int act = 0; act < 2; act++) {
            C->dense_forward(ce, y.c, x.c, w.c, b.c, act, n, in, out);
            G->dense_forward(ge, y.g, x.g, w.g, b.g, act, n, in, out);
            NEAR(y, 1e-4, "dense forward");
        }
        C->dense_backward(ce, dx.c, dw.c, db.c, dy.c, x.c, w.c, n, in, out);
        G->dense_backward(ge, dx.g, dw.g, db.g, dy.g, x.g, w.g, n, in, out);
        NEAR(dx, 1e-4, "dense backward data");
        NEAR(dw, 1e-4, "dense backward weights");
        NEAR(db, 1e-4, "dense backward bias");
        drop(&x), drop(&w), drop(&b), drop(&y), drop(&dy), drop(&dx), drop(&dw), drop(&db);
    }
}

static void gpu_batchnorm(void)
{
    const int dims[][2] = {{5, 3}, {2 * 28 * 28, 32}, {86, 256}};
    for (int t = 0; t < 3; t++) {
        int rows = dims[t][0], c = dims[t][1];
        size_t n = (size_t)rows * c;
        pair x = mkf(n), y = mkf(n), dy = mkf(n), dx = mkf(n), gam = mkf((size_t)c),
             bet = mkf((size_t)c), rm = mkf((size_t)c), sm = mkf((size_t)c), si = mkf((size_t)c),
             dg = mkf((size_t)c), dbt = mkf((size_t)c);
        float *v = malloc((size_t)c * sizeof(float));
        for (int j = 0; j < c; j++)
            v[j] = 0.5f + (float)(util_rng_next(&rng) % 100) / 100.0f;
        pair rv = mk(v, (size_t)c * sizeof(float));
        free(v);
        for (int train = 1; train >= 0; train--)
            for (int act = 0; act < 2; act++) {
                C->batchnorm_forward(ce, y.c, sm.c, si.c, rm.c, rv.c, x.c, gam.c, bet.c, act, train,
                                     0.1f, 1e-5f, rows, c);
                G->batchnorm_forward(ge, y.g, sm.g, si.g, rm.g, rv.g, x.g, gam.g, bet.g, act, train,
                                     0.1f, 1e-5f, rows, c);
                NEAR(y, 1e-4, train ? "batchnorm forward (train)" : "batchnorm forward (infer)");
                NEAR(rm, 1e-4, "batchnorm running mean");
                NEAR(rv, 1e-4, "batchnorm running variance (unbiased)");
                NEAR(sm, 1e-4, "batchnorm saved mean");
                NEAR(si, 1e-4, "batchnorm saved 1/std");
            }
        C->batchnorm_forward(ce, y.c, sm.c, si.c, rm.c, rv.c, x.c, gam.c, bet.c, 0, 1, 0.1f,
                             1e-5f, rows, c);
        G->batchnorm_forward(ge, y.g, sm.g, si.g, rm.g, rv.g, x.g, gam.g, bet.g, 0, 1, 0.1f,
                             1e-5f, rows, c);
        C->batchnorm_backward(ce, dx.c, dg.c, dbt.c, dy.c, x.c, gam.c, sm.c, si.c, rows, c);
        G->batchnorm_backward(ge, dx.g, dg.g, dbt.g, dy.g, x.g, gam.g, sm.g, si.g, rows, c);
        NEAR(dx, 1e-4, "batchnorm backward data");
        NEAR(dg, 1e-4, "batchnorm backward gamma");
        NEAR(dbt, 1e-4, "batchnorm backward beta");
        drop(&x), drop(&y), drop(&dy), drop(&dx), drop(&gam), drop(&bet), drop(&rm), drop(&rv);
        drop(&sm), drop(&si), drop(&dg), drop(&dbt);
    }
}

static void gpu_dropout_softmax_rmsprop(void)
{
    size_t n = 100003;
    pair x = mkf(n), y = mkf(n), dx = mkf(n), mask = mk(NULL, n);
    for (int k = 0; k < 3; k++) {
        uint64_t key = util_key(7, (uint64_t)k, 0, 0);
        float rate = k == 0 ? 0.2f : k == 1 ? 0.5f : 0.0f;
        C->dropout_forward(ce, y.c, mask.c, x.c, n, rate, key);
        G->dropout_forward(ge, y.g, mask.g, x.g, n, rate, key);
        SAME(mask, "dropout mask");
        SAME(y, "dropout forward");
        C->dropout_backward(ce, dx.c, y.c, mask.c, n, rate);
        G->dropout_backward(ge, dx.g, y.g, mask.g, n, rate);
        SAME(dx, "dropout backward");
    }
    drop(&x), drop(&y), drop(&dx), drop(&mask);

    int rows = 517, classes = 10;
    int32_t *lab = malloc((size_t)rows * sizeof *lab);
    for (int i = 0; i < rows; i++)
        lab[i] = (int32_t)(util_rng_next(&rng) % 10);
    pair z = mkf((size_t)rows * classes), d = mkf((size_t)rows * classes), p = mkf((size_t)rows * classes);
    pair l = mk(lab, (size_t)rows * sizeof *lab), st = mk(NULL, 2 * sizeof(float));
    free(lab);
    for (int rep = 0; rep < 2; rep++) { /* twice: stats accumulate */
        C->softmax_xent(ce, d.c, st.c, z.c, l.c, rows, classes);
        G->softmax_xent(ge, d.g, st.g, z.g, l.g, rows, classes);
    }
    NEAR(d, 1e-4, "softmax_xent gradient");
    {
        float sc[2], sg[2];
        memcpy(sc, st.c, sizeof sc);
        G->download(ge, sg, st.g, sizeof sg);
        TST_CHECK(fabs(sc[0] - sg[0]) <= 1e-4 * fabs(sc[0]) && sc[1] == sg[1],
                  "softmax_xent stats: loss %g vs %g, correct %g vs %g", sc[0], sg[0], sc[1], sg[1]);
    }
    C->softmax(ce, p.c, z.c, rows, classes, 1.7f);
    G->softmax(ge, p.g, z.g, rows, classes, 1.7f);
    NEAR(p, 1e-5, "softmax with temperature");
    drop(&z), drop(&d), drop(&p), drop(&l), drop(&st);

    n = 54321;
    float *ms = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        ms[i] = fabsf(frand());
    pair pp = mkf(n), g = mkf(n), m = mk(ms, n * sizeof(float));
    free(ms);
    for (int k = 0; k < 3; k++) {
        C->rmsprop_step(ce, pp.c, m.c, g.c, n, 1e-3f, 0.9f, 1e-8f);
        G->rmsprop_step(ge, pp.g, m.g, g.g, n, 1e-3f, 0.9f, 1e-8f);
    }
    SAME(pp, "rmsprop parameters");
    SAME(m, "rmsprop mean square");
    drop(&pp), drop(&g), drop(&m);
}

static void gpu_images(void)
{
    int n = 37, h = 28, w = 28, total = 100;
    uint8_t *px = malloc((size_t)total * h * w);
    int32_t idx[37];
    float aff[37 * 6];
    for (int i = 0; i < total * h * w; i++)
        px[i] = (uint8_t)(util_rng_next(&rng) & 255);
    for (int i = 0; i < n; i++) {
        double a = frand() * 0.3, s = 1.0 + frand() * 0.1;
        idx[i] = (int32_t)(util_rng_next(&rng) % (uint64_t)total);
        aff[i * 6 + 0] = (float)(cos(a) / s), aff[i * 6 + 1] = (float)(sin(a) / s);
        aff[i * 6 + 3] = (float)(-sin(a) / s), aff[i * 6 + 4] = (float)(cos(a) / s);
        aff[i * 6 + 2] = frand() * 3.0f, aff[i * 6 + 5] = frand() * 3.0f;
    }
    pair src = mk(px, (size_t)total * h * w), pi = mk(idx, sizeof idx), pa = mk(aff, sizeof aff);
    pair dst = mk(NULL, (size_t)n * h * w * sizeof(float));
    free(px);
    C->images_load(ce, dst.c, src.c, pi.c, NULL, n, h, w);
    G->images_load(ge, dst.g, src.g, pi.g, NULL, n, h, w);
    SAME(dst, "images_load plain");
    C->images_load(ce, dst.c, src.c, pi.c, pa.c, n, h, w);
    G->images_load(ge, dst.g, src.g, pi.g, pa.g, n, h, w);
    SAME(dst, "images_load affine");
    drop(&src), drop(&pi), drop(&pa), drop(&dst);
}

/*
 * The worst, over the tensors of table t, of the largest |a - b| relative to
 * the tensor's largest |a| (or floor, where that is more); *pname gets that
 * tensor's name.  grads: only trainable tensors count, and a bias feeding
 * batch normalization is left out (its gradient is 0 in exact arithmetic:
 * the normalization takes any constant away, and what the engines compute
 * is the rounding of sums that cancel).
 */
static double worst_tensor(const rec_param_info *t, int nt, const float *a, const float *b,
                           double floor, const rec_arch *arch, int grads, const char **pname)
{
    double worst = 0.0;

    *pname = "";
    for (int k = 0; k < nt; k++) {
        double m = floor, e = 0.0;
        const char *dot = strchr(t[k].name, '.');
        int layer = (int)strtol(t[k].name, NULL, 10);
        int bias = dot && (strcmp(dot, ".conv.b") == 0 || strcmp(dot, ".dense.b") == 0);
        if (grads && (!t[k].trainable || (bias && layer + 1 < arch->n_layers &&
                                          arch->layers[layer + 1].type == REC_L_BN)))
            continue;
        for (size_t i = t[k].offset; i < t[k].offset + t[k].count; i++) {
            m = fmax(m, fabs(a[i]));
            e = fmax(e, fabs((double)a[i] - b[i]));
        }
        if (e / m > worst)
            worst = e / m, *pname = t[k].name;
    }
    return worst;
}

/* Three training steps of a small network from the same weights. */
static void gpu_training_steps(void)
{
    const char *text = "conv8k3p1 bn relu pool2 drop0.25 conv16k3 relu pool2 flatten dense32 bn "
                       "relu drop0.3 dense10";
    rec_arch arch;
    rec_net *nc = NULL, *ng = NULL;
    int B = 64, total = 256;
    uint8_t *px = malloc((size_t)total * 784);
    int32_t *idx = malloc((size_t)B * sizeof *idx), *lab = malloc((size_t)B * sizeof *lab);
    size_t np;

    /* Every pixel random: on sparse images (MNIST's black background) the
     * 2x2 pooling windows hold exact or near ties, which the engines may
     * break differently by a rounding, and RMSProp turns any gradient,
     * however small, into a step of about lr: the comparison would then
     * measure tie-breaking, not the engines. */
    for (int i = 0; i < total * 784; i++)
        px[i] = (uint8_t)(util_rng_next(&rng) & 255);
    TST_CHECK(rec_arch_parse(&arch, text) == UTIL_OK, "small arch parses");
    TST_CHECK(rec_net_create(&nc, &arch, C, ce, B, 1) == UTIL_OK &&
                  rec_net_create(&ng, &arch, G, ge, B, 1) == UTIL_OK,
              "networks on both engines");
    if (!nc || !ng)
        goto cleanup;
    rec_net_init_params(nc, 5);
    rec_net_init_params(ng, 5);
    np = rec_net_param_count(nc, NULL);
    pair src = mk(px, (size_t)total * 784), pi = mk(NULL, (size_t)B * 4), pl = mk(NULL, (size_t)B * 4);
    pair xb = mk(NULL, (size_t)B * 784 * sizeof(float)), st = mk(NULL, 2 * sizeof(float));
    for (int step = 0; step < 3; step++) {
        const float *lc, *lg;
        for (int i = 0; i < B; i++) {
            idx[i] = (int32_t)(util_rng_next(&rng) % (uint64_t)total);
            lab[i] = idx[i] % 10;
        }
        C->upload(ce, pi.c, idx, (size_t)B * 4), G->upload(ge, pi.g, idx, (size_t)B * 4);
        C->upload(ce, pl.c, lab, (size_t)B * 4), G->upload(ge, pl.g, lab, (size_t)B * 4);
        C->images_load(ce, xb.c, src.c, pi.c, NULL, B, 28, 28);
        G->images_load(ge, xb.g, src.g, pi.g, NULL, B, 28, 28);
        int rc = rec_net_forward(nc, xb.c, B, 1, 99 + step, &lc);
        rc |= rec_net_forward(ng, xb.g, B, 1, 99 + step, &lg);
        rc |= rec_net_loss(nc, pl.c, B, st.c) | rec_net_loss(ng, pl.g, B, st.g);
        {
            float sc[2] = {0, 0}, sg[2] = {0, 0};
            C->download(ce, sc, st.c, sizeof sc), G->download(ge, sg, st.g, sizeof sg);
            TST_CHECK(fabs((double)sc[0] - sg[0]) <= 1e-4 * fmax(1.0, fabs((double)sc[0])),
                      "step %d: loss %.6f on the CPU, %.6f on the GPU", step, sc[0], sg[0]);
        }
        rc |= rec_net_backward(nc, B) | rec_net_backward(ng, B);
        if (step == 0 && rc == 0) {
            /* The gradients of the first step, per tensor, relative to the
             * tensor's largest gradient, or to 1e-3 of the largest of all
             * where that is more (worst_tensor). */
            size_t ntr = 0;
            float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float));
            int nt = 0;
            const rec_param_info *t = rec_net_param_table(nc, &nt);
            double worst;
            const char *worst_name;
            rec_net_param_count(nc, &ntr);
            C->download(ce, a, rec_net_grads(nc), ntr * sizeof(float));
            G->download(ge, b, rec_net_grads(ng), ntr * sizeof(float));
            double gmax = 1e-12;
            for (size_t i = 0; i < ntr; i++)
                gmax = fmax(gmax, fabs(a[i]));
            worst = worst_tensor(t, nt, a, b, 1e-3 * gmax, &arch, 1, &worst_name);
            TST_CHECK(nt > 0 && worst <= 1e-3,
                      "gradients of step 0: worst relative error %.3g (tensor %s)", worst,
                      worst_name);
            free(a), free(b);
        }
        /* eps 1e-2 keeps RMSProp's step linear in the gradient here (about
         * 10 lr g for small g).  With the usual 1e-8 the first steps are
         * about lr times the gradient's sign, so a gradient that is 0 up to
         * rounding (a bias feeding batch normalization, a cancelling sum)
         * would move by +-3 lr on one engine and -+3 lr on the other: the
         * comparison would measure rounding noise, not the engines. */
        rc |= rec_net_rmsprop(nc, 1e-3f, 0.9f, 1e-2f) | rec_net_rmsprop(ng, 1e-3f, 0.9f, 1e-2f);
        TST_CHECK(rc == 0, "training step %d runs on both engines", step);
    }
    {
        /* Per tensor, relative to the tensor's largest magnitude. */
        float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float));
        int nt = 0;
        const rec_param_info *t = rec_net_param_table(nc, &nt);
        double worst;
        const char *worst_name;
        rec_net_get_params(nc, a);
        rec_net_get_params(ng, b);
        worst = worst_tensor(t, nt, a, b, 1e-3, &arch, 0, &worst_name);
        TST_CHECK(nt > 0 && worst <= 1e-3,
                  "parameters after 3 steps: worst relative error %.3g (tensor %s)", worst,
                  worst_name);
        free(a), free(b);
    }
    drop(&src), drop(&pi), drop(&pl), drop(&xb), drop(&st);
cleanup:
    rec_net_destroy(&nc);
    rec_net_destroy(&ng);
    free(px), free(idx), free(lab);
}

/* The shipped model (trained on the CPU) through both engines. */
static void gpu_model_predictions(void)
{
    char path[4200];
    rec_model *m = NULL;
    trn_data *d = NULL;
    rec_classifier *cc = NULL, *cg = NULL;
    int n;

    rec_model_default_path(path, sizeof path);
    if (rec_model_load(&m, path, REC_MODEL_KIND_MODEL) ||
        trn_data_load_csv(&d, "data/test_labeled.csv", TRN_LABELS_REQUIRED)) {
        TST_CHECK(0, "shipped model and MNIST test data load");
        goto cleanup;
    }
    n = d->n < 300 ? d->n : 300;
    float *pc = malloc((size_t)n * 10 * sizeof(float)), *pg = malloc((size_t)n * 10 * sizeof(float));
    /* a batch that does not divide n: the double-buffered upload's last batch */
    TST_CHECK(rec_classifier_create(&cc, m, C, ce, 128) == UTIL_OK &&
                  rec_classifier_create(&cg, m, G, ge, 128) == UTIL_OK,
              "classifiers on both engines");
    if (cc && cg && rec_classifier_run(cc, pc, d->pixels, n) == UTIL_OK &&
        rec_classifier_run(cg, pg, d->pixels, n) == UTIL_OK) {
        int same = 0;
        double e = 0.0;
        for (int i = 0; i < n; i++) {
            int ac = 0, ag = 0;
            for (int j = 1; j < 10; j++) {
                ac = pc[i * 10 + j] > pc[i * 10 + ac] ? j : ac;
                ag = pg[i * 10 + j] > pg[i * 10 + ag] ? j : ag;
            }
            same += ac == ag;
            for (int j = 0; j < 10; j++)
                e = fmax(e, fabs(pc[i * 10 + j] - pg[i * 10 + j]));
        }
        TST_CHECK(same == n, "same predicted digit on both engines (%d/%d)", same, n);
        TST_CHECK(e <= 1e-4, "probabilities within 1e-4 (%.3g)", e);
    } else {
        TST_CHECK(0, "classification runs on both engines");
    }
    free(pc), free(pg);
cleanup:
    rec_classifier_destroy(&cc);
    rec_classifier_destroy(&cg);
    rec_model_destroy(&m);
    trn_data_destroy(&d);
}

int main(void)
{
    char why[1024] = "";
    const char *req = getenv("DOCPIPE_REQUIRE_GPU");
    rec_engine_opts eo = {2, 0};
    int usable;

    util_rng_seed(&rng, 2024);
    test_hash_port();
    test_algo_cache();
    usable = test_engine_open(why, sizeof why);
    test_cli_device(usable);
    if (!usable) {
        char msg[1200];
        const char *r = strstr(why, "no usable GPU (");
        size_t len;
        r = r ? r + strlen("no usable GPU (") : why;
        len = strlen(r);
        if (r != why && len && r[len - 1] == ')')
            len--;
        snprintf(msg, sizeof msg, "skipped: no usable GPU (%.*s)", (int)len, r);
        tst_skip(msg);
        TST_CHECK(!(req && strcmp(req, "1") == 0), "DOCPIPE_REQUIRE_GPU=1 but no usable GPU");
        return tst_done();
    }
    setenv("DOCPIPE_CUDA_TF32", "0", 1);
    G = rec_engine_find("cuda");
    if (C->create(&ce, &eo) || G->create(&ge, &eo)) {
        TST_CHECK(0, "both engines start");
        return tst_done();
    }
    printf("GPU: %s\n", G->describe(ge));
    gpu_conv();
    gpu_pool_relu();
    gpu_dense();
    gpu_batchnorm();
    gpu_dropout_softmax_rmsprop();
    gpu_images();
    gpu_training_steps();
    gpu_model_predictions();
    TST_CHECK(G->sync(ge) == UTIL_OK, "no pending CUDA error at the end");
    G->destroy(&ge);
    /* The filter gradient through NCHW copies (taken where it is faster):
     * forced, the convolutions again. */
    setenv("DOCPIPE_CUDA_WGRAD", "nchw", 1);
    if (G->create(&ge, &eo) == UTIL_OK) {
        gpu_conv();
        gpu_training_steps(); /* convolutions of two paddings in turn */
        TST_CHECK(G->sync(ge) == UTIL_OK, "no pending CUDA error after the NCHW filter gradients");
        G->destroy(&ge);
    } else {
        TST_CHECK(0, "the engine starts again with DOCPIPE_CUDA_WGRAD=nchw");
    }
    unsetenv("DOCPIPE_CUDA_WGRAD");
    C->destroy(&ce);
    return tst_done();
}
