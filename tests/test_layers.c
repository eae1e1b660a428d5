/*
 * test_layers.c - the CPU engine's operations and the network's passes:
 * forward passes against small cases computed by hand, convolutions (both
 * algorithms) against a double-precision reference, every backward pass
 * against finite differences, and a whole network's gradients likewise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_cpu.h"
#include "recognize/rec_cpu_winograd.h"
#include "recognize/rec_net.h"
#include "tests/tst.h"
#include "util/util.h"

static const rec_engine_ops *ops = &rec_engine_cpu_ops;
static rec_engine *eng;
static util_rng rng;

static float frand(void) { return (float)((util_rng_next(&rng) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }

static float *fvec(size_t n)
{
    float *v = calloc(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Largest |a-b| relative to the largest |b| (or 1e-3 when b is tiny). */
static double rel_err(const float *a, const double *b, size_t n)
{
    double m = 1e-3, e = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(b[i]));
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs((double)a[i] - b[i]));
    return e / m;
}

/* ------------------------------------------------ reference convolution */

static void ref_conv(double *y, const float *x, const float *w, const float *b,
                     const rec_conv_shape *s)
{
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int o = 0; o < s->oc; o++) {
                    double acc = b ? b[o] : 0.0;
                    for (int ky = 0; ky < s->k; ky++)
                        for (int kx = 0; kx < s->k; kx++) {
                            int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            for (int c = 0; c < s->c; c++)
                                acc += (double)x[(((size_t)n * s->h + iy) * s->w + ix) * s->c + c] *
                                       w[(((size_t)o * s->k + ky) * s->k + kx) * s->c + c];
                        }
                    y[(((size_t)n * s->oh + oy) * s->ow + ox) * s->oc + o] = acc;
                }
}

static void ref_conv_grads(double *dx, double *dw, double *db, const float *dy, const float *x,
                           const float *w, const rec_conv_shape *s)
{
    size_t nx = (size_t)s->n * s->h * s->w * s->c, nw = (size_t)s->oc * s->k * s->k * s->c;
    memset(dx, 0, nx * sizeof(double));
    memset(dw, 0, nw * sizeof(double));
    memset(db, 0, (size_t)s->oc * sizeof(double));
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int o = 0; o < s->oc; o++) {
                    double g = dy[(((size_t)n * s->oh + oy) * s->ow + ox) * s->oc + o];
                    db[o] += g;
                    for (int ky = 0; ky < s->k; ky++)
                        for (int kx = 0; kx < s->k; kx++) {
                            int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            for (int c = 0; c < s->c; c++) {
                                size_t xi = (((size_t)n * s->h + iy) * s->w + ix) * s->c + c;
                                size_t wi = (((size_t)o * s->k + ky) * s->k + kx) * s->c + c;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                        }
                }
}

static rec_conv_shape mkconv(int n, int h, int w, int c, int k, int pad, int oc)
{
    rec_conv_shape s = {n, h, w, c, k, pad, oc, h + 2 * pad - k + 1, w + 2 * pad - k + 1};
    return s;
}

/* ------------------------------------------------------------- tests */

static void test_winograd_matrices(void)
{
    static const int cases[][2] = {{2, 3}, {4, 3}, {4, 5}, {2, 5}, {6, 3}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int m = cases[ci][0], r = cases[ci][1];
        float bt[64], g[64], at[64], d[8], gg[5];
        int a = rec_cpu_winograd_matrices(m, r, bt, g, at);
        double worst = 0.0;
        TST_CHECK(a == m + r - 1, "F(%d,%d) has alpha %d", m, r, a);
        for (int trial = 0; trial < 20; trial++) {
            double U[8], V[8];
            for (int i = 0; i < a; i++)
                d[i] = frand();
            for (int i = 0; i < r; i++)
                gg[i] = frand();
            for (int j = 0; j < a; j++) {
                U[j] = V[j] = 0.0;
                for (int k = 0; k < r; k++)
                    U[j] += (double)g[j * r + k] * gg[k];
                for (int k = 0; k < a; k++)
                    V[j] += (double)bt[j * a + k] * d[k];
            }
            for (int i = 0; i < m; i++) {
                double y = 0.0, ref = 0.0;
                for (int j = 0; j < a; j++)
                    y += (double)at[i * a + j] * U[j] * V[j];
                for (int k = 0; k < r; k++)
                    ref += (double)gg[k] * d[i + k];
                worst = fmax(worst, fabs(y - ref));
            }
        }
        TST_CHECK(worst < 1e-5, "F(%d,%d) 1-D correlation off by %g", m, r, worst);
    }
}

static void test_conv_by_hand(void)
{
    /* 3x3 image 1..9, 2x2 kernel [[1,0],[0,-1]], bias 0.5: every output is
     * x[i][j] - x[i+1][j+1] + 0.5 = -4 + 0.5. */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1}, b = 0.5f, y[4];
    rec_conv_shape s = mkconv(1, 3, 3, 1, 2, 0, 1);
    ops->conv_forward(eng, y, x, w, &b, REC_ACT_NONE, &s);
    TST_CHECK(y[0] == -3.5f && y[1] == -3.5f && y[2] == -3.5f && y[3] == -3.5f,
              "2x2 conv by hand: %g %g %g %g", y[0], y[1], y[2], y[3]);
    ops->conv_forward(eng, y, x, w, &b, REC_ACT_RELU, &s);
    TST_CHECK(y[0] == 0.0f && y[3] == 0.0f, "fused ReLU zeroes negatives");
    /* 3x3 kernel of ones with padding 1 on the same image: the corner sees
     * 1+2+4+5 = 12, the centre 45. */
    float w9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, y9[9];
    s = mkconv(1, 3, 3, 1, 3, 1, 1);
    for (int algo = REC_CPU_CONV_IM2COL; algo <= REC_CPU_CONV_WINOGRAD; algo++) {
        rec_cpu_set_conv_algo(eng, algo);
        ops->conv_forward(eng, y9, x, w9, NULL, REC_ACT_NONE, &s);
        TST_CHECK(fabsf(y9[0] - 12.0f) < 1e-4f && fabsf(y9[4] - 45.0f) < 1e-4f &&
                      fabsf(y9[8] - 28.0f) < 1e-4f,
                  "3x3 ones, pad 1 (algo %d): %g %g %g", algo, y9[0], y9[4], y9[8]);
    }
    rec_cpu_set_conv_algo(eng, REC_CPU_CONV_AUTO);
}

static void test_conv_vs_reference(void)
{
    static const int shapes[][7] = {
        /* n h w c k pad oc */
        {2, 7, 6, 1, 3, 1, 4},   {3, 9, 9, 3, 5, 2, 5},  {2, 10, 10, 16, 3, 0, 16},
        {2, 14, 14, 32, 3, 1, 64}, {1, 12, 11, 8, 5, 0, 6}, {2, 6, 6, 4, 1, 0, 3},
        {1, 28, 28, 1, 5, 2, 6}, {2, 8, 8, 5, 3, 2, 7},  {1, 5, 5, 3, 5, 4, 2},
    };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int *q = shapes[si];
        rec_conv_shape s = mkconv(q[0], q[1], q[2], q[3], q[4], q[5], q[6]);
        size_t nx = (size_t)s.n * s.h * s.w * s.c, ny = (size_t)s.n * s.oh * s.ow * s.oc;
        size_t nw = (size_t)s.oc * s.k * s.k * s.c;
        float *x = fvec(nx), *w = fvec(nw), *b = fvec((size_t)s.oc), *dy = fvec(ny);
        float *y = calloc(ny, 4), *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc((size_t)s.oc, 4);
        double *ry = calloc(ny, 8), *rdx = calloc(nx, 8), *rdw = calloc(nw, 8), *rdb = calloc((size_t)s.oc, 8);

        ref_conv(ry, x, w, b, &s);
        ref_conv_grads(rdx, rdw, rdb, dy, x, w, &s);
        for (int algo = REC_CPU_CONV_IM2COL; algo <= REC_CPU_CONV_WINOGRAD; algo++) {
            if (algo == REC_CPU_CONV_WINOGRAD && !rec_cpu_winograd_supports(&s))
                continue;
            /* Winograd F(4,5) uses points up to +-2 and +-1/2: a looser bound. */
            double tol = algo == REC_CPU_CONV_IM2COL ? 1e-5 : (s.k == 5 ? 2e-3 : 2e-4);
            rec_cpu_set_conv_algo(eng, algo);
            ops->conv_forward(eng, y, x, w, b, REC_ACT_NONE, &s);
            ops->conv_backward_data(eng, dx, dy, w, &s);
            ops->conv_backward_filter(eng, dw, db, dy, x, &s);
            double ey = rel_err(y, ry, ny), ex = rel_err(dx, rdx, nx);
            double ew = rel_err(dw, rdw, nw), eb = rel_err(db, rdb, (size_t)s.oc);
            TST_CHECK(ey < tol && ex < tol && ew < tol && eb < 1e-5,
                      "conv n%d %dx%dx%d k%d p%d oc%d algo %d: rel err y %.2g dx %.2g dw %.2g db %.2g (tol %g)",
                      s.n, s.h, s.w, s.c, s.k, s.pad, s.oc, algo, ey, ex, ew, eb, tol);
        }
        rec_cpu_set_conv_algo(eng, REC_CPU_CONV_AUTO);
        free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
        free(ry), free(rdx), free(rdw), free(rdb);
    }
}

/* Winograd reuses transformed weights while they compare equal: the same
 * buffer changed in place (as training does) must give the new result. */
static void test_winograd_weight_reuse(void)
{
    rec_conv_shape s = mkconv(1, 8, 8, 16, 3, 1, 16);
    size_t nx = (size_t)8 * 8 * 16, nw = (size_t)16 * 9 * 16;
    float *x = calloc(nx, 4), *w = calloc(nw, 4), *y1 = calloc(nx, 4), *y2 = calloc(nx, 4);
    util_rng prng;
    double d12 = 0.0, d23 = 0.0;

    util_rng_seed(&prng, 4242);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)util_rng_below(&prng, 100) / 50.0f - 1.0f;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)util_rng_below(&prng, 100) / 500.0f - 0.1f;
    rec_cpu_set_conv_algo(eng, REC_CPU_CONV_WINOGRAD);
    ops->conv_forward(eng, y1, x, w, NULL, REC_ACT_NONE, &s);
    w[nw - 1] += 0.5f; /* the last weight only: the compare must see it */
    ops->conv_forward(eng, y2, x, w, NULL, REC_ACT_NONE, &s);
    for (size_t i = 0; i < nx; i++)
        d12 = fmax(d12, fabs((double)y1[i] - y2[i]));
    ops->conv_forward(eng, y1, x, w, NULL, REC_ACT_NONE, &s); /* unchanged: reused */
    for (size_t i = 0; i < nx; i++)
        d23 = fmax(d23, fabs((double)y1[i] - y2[i]));
    rec_cpu_set_conv_algo(eng, REC_CPU_CONV_AUTO);
    TST_CHECK(d12 > 0.01 && d23 == 0.0,
              "winograd weights changed in place are seen (diff %g), unchanged ones reused (%g)",
              d12, d23);
    free(x), free(w), free(y1), free(y2);
}

static void test_pool_relu_by_hand(void)
{
    /* One 4x4 single-channel image, 2x2 pooling. */
    float x[16] = {1, 5, 2, 0, 3, 4, 8, 1, 0, 0, -1, -2, 9, 0, -3, -4}, y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    rec_pool_shape s = {1, 4, 4, 1, 2, 2, 2, 2};
    ops->pool_forward(eng, y, x, &s);
    TST_CHECK(y[0] == 5 && y[1] == 8 && y[2] == 9 && y[3] == -1, "maxpool by hand: %g %g %g %g",
              y[0], y[1], y[2], y[3]);
    ops->pool_backward(eng, dx, dy, x, y, &s);
    TST_CHECK(dx[1] == 1 && dx[6] == 2 && dx[12] == 3 && dx[10] == 4 && dx[0] == 0 && dx[15] == 0,
              "maxpool backward routes to the maxima");
    /* Overlapping windows (3x3 stride 1) add up at a shared maximum. */
    float x2[9] = {0, 0, 0, 0, 9, 0, 0, 0, 0}, y2[1], d2[1] = {2}, dx2[9];
    rec_pool_shape s2 = {1, 3, 3, 1, 3, 1, 1, 1};
    ops->pool_forward(eng, y2, x2, &s2);
    ops->pool_backward(eng, dx2, d2, x2, y2, &s2);
    TST_CHECK(y2[0] == 9 && dx2[4] == 2, "3x3 pool");
    float r[4] = {-1, 0, 2, -0.5f}, ry[4], g[4] = {1, 1, 1, 1};
    ops->relu_forward(eng, ry, r, 4);
    TST_CHECK(ry[0] == 0 && ry[1] == 0 && ry[2] == 2 && ry[3] == 0, "relu by hand");
    ops->relu_backward(eng, g, g, ry, 4);
    TST_CHECK(g[0] == 0 && g[1] == 0 && g[2] == 1 && g[3] == 0, "relu backward by hand");
}

/* Max-pool backward against a plain reference, on shapes that take the
 * engine's vector path (channels a multiple of 8, stride == k) and its
 * generic one, with ties (the first maximum in row-major order takes dy)
 * and sizes no whole number of windows covers. */
static void test_pool_backward_paths(void)
{
    static const rec_pool_shape shapes[] = {
        {2, 7, 7, 16, 2, 2, 3, 3}, {1, 6, 6, 8, 3, 3, 2, 2}, {2, 5, 5, 6, 2, 2, 2, 2},
        {1, 6, 6, 8, 3, 1, 4, 4}};
    util_rng prng; /* its own stream: the later tests' draws stay as they were */
    util_rng_seed(&prng, 777);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const rec_pool_shape *s = &shapes[k];
        size_t nx = (size_t)s->n * s->h * s->w * s->c, ny = (size_t)s->n * s->oh * s->ow * s->c;
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *dy = malloc(ny * sizeof *dy);
        float *dx = malloc(nx * sizeof *dx), *ref = calloc(nx, sizeof *ref);
        double err = 0.0;
        for (size_t i = 0; i < nx; i++)
            x[i] = (float)(util_rng_below(&prng, 4)); /* few values: many ties */
        for (size_t i = 0; i < ny; i++)
            dy[i] = (float)(i % 7) + 0.5f;
        for (size_t i = 0; i < nx; i++)
            dx[i] = -99.0f; /* every element must be written */
        ops->pool_forward(eng, y, x, s);
        ops->pool_backward(eng, dx, dy, x, y, s);
        for (int n = 0; n < s->n; n++)
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++)
                    for (int c = 0; c < s->c; c++) {
                        size_t o = (((size_t)n * s->oh + oy) * s->ow + ox) * s->c + c, arg = 0;
                        float m = -1e30f;
                        for (int ky = 0; ky < s->k; ky++)
                            for (int kx = 0; kx < s->k; kx++) {
                                size_t i = (((size_t)n * s->h + (size_t)oy * s->stride + ky) * s->w +
                                            (size_t)ox * s->stride + kx) * s->c + c;
                                if (x[i] > m)
                                    m = x[i], arg = i;
                            }
                        ref[arg] += dy[o];
                    }
        for (size_t i = 0; i < nx; i++)
            err = fmax(err, fabs((double)dx[i] - ref[i]));
        TST_CHECK(err == 0.0, "maxpool backward n%d %dx%dx%d k%d s%d: max error %g", s->n, s->h,
                  s->w, s->c, s->k, s->stride, err);
        free(x), free(y), free(dy), free(dx), free(ref);
    }
}

static void test_dense_softmax_rmsprop_by_hand(void)
{
    /* x = [1 2], w = [[1 0] [0 1] [1 1]], b = [0 0 -3]: y = [1 2 0]. */
    float x[2] = {1, 2}, w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0, 0, -3}, y[3];
    ops->dense_forward(eng, y, x, w, b, REC_ACT_NONE, 1, 2, 3);
    TST_CHECK(y[0] == 1 && y[1] == 2 && y[2] == 0, "dense by hand: %g %g %g", y[0], y[1], y[2]);
    float z[2] = {0, (float)log(3.0)}, p[2], d[2], stats[2] = {0, 0};
    int32_t lab = 1;
    ops->softmax(eng, p, z, 1, 2, 1.0f);
    TST_CHECK(fabsf(p[0] - 0.25f) < 1e-6f && fabsf(p[1] - 0.75f) < 1e-6f, "softmax by hand");
    ops->softmax_xent(eng, d, stats, z, &lab, 1, 2);
    TST_CHECK(fabsf(stats[0] - (float)-log(0.75)) < 1e-6f && stats[1] == 1.0f,
              "cross-entropy by hand: %g", stats[0]);
    TST_CHECK(fabsf(d[0] - 0.25f) < 1e-6f && fabsf(d[1] + 0.25f) < 1e-6f, "xent gradient by hand");
    ops->softmax(eng, p, z, 1, 2, 2.0f);
    TST_CHECK(fabsf(p[1] - (float)(sqrt(3.0) / (1 + sqrt(3.0)))) < 1e-6f, "softmax with temperature");
    /* RMSProp: ms = 0.9*0 + 0.1*4 = 0.4; p = 1 - 0.1*2/(sqrt(0.4)+1e-8). */
    float pp = 1.0f, ms = 0.0f, gg = 2.0f;
    ops->rmsprop_step(eng, &pp, &ms, &gg, 1, 0.1f, 0.9f, 1e-8f);
    TST_CHECK(fabsf(ms - 0.4f) < 1e-7f && fabsf(pp - (float)(1 - 0.2 / sqrt(0.4))) < 1e-6f,
              "rmsprop by hand: %g %g", pp, ms);
}

static void test_dropout_and_images(void)
{
    size_t n = 100000;
    float *x = calloc(n, 4), *y = calloc(n, 4), *y2 = calloc(n, 4);
    uint8_t *mask = calloc(n, 1), *mask2 = calloc(n, 1);
    size_t kept = 0, same = 0;
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    ops->dropout_forward(eng, y, mask, x, n, 0.25f, 42);
    ops->dropout_forward(eng, y2, mask2, x, n, 0.25f, 42);
    for (size_t i = 0; i < n; i++) {
        kept += mask[i];
        same += mask[i] == mask2[i];
    }
    TST_CHECK(same == n, "dropout mask is a function of the key");
    TST_CHECK(kept > 74000 && kept < 76000, "dropout keeps about 75%%: %zu", kept);
    TST_CHECK(y[0] == (mask[0] ? 1.0f / 0.75f : 0.0f), "dropout scales kept values");
    free(x), free(y), free(y2), free(mask), free(mask2);

    /* images_load: plain copy, identity affine, and a one-pixel shift. */
    uint8_t img[2 * 784];
    float out[784], out2[784];
    int32_t idx = 1;
    float id[6] = {1, 0, 0, 0, 1, 0}, sh[6] = {1, 0, -1, 0, 1, 0};
    for (int i = 0; i < 2 * 784; i++)
        img[i] = (uint8_t)(i * 7);
    ops->images_load(eng, out, img, &idx, NULL, 1, 28, 28);
    ops->images_load(eng, out2, img, &idx, id, 1, 28, 28);
    TST_CHECK(out[5] == (float)img[784 + 5] / 255.0f && memcmp(out, out2, sizeof out) == 0,
              "image load: copy and identity affine agree");
    ops->images_load(eng, out2, img, &idx, sh, 1, 28, 28);
    TST_CHECK(fabsf(out2[28 * 3 + 5] - out[28 * 3 + 4]) < 1e-6f && out2[28 * 3] == 0.0f,
              "image load: u = x - 1 moves the picture right by one pixel");
}

/* ------------------------------------------- finite-difference checks */

/* Checks analytic gradient g (n floats) of L(v) = sum(y .* R) against
 * central differences, perturbing v[i] for a sample of i. */
typedef double (*loss_fn)(void *ctx);

static void fd_check(const char *what, float *v, size_t n, const float *g, loss_fn L, void *ctx,
                     float rel_h)
{
    double worst = 0.0;
    size_t step = n > 60 ? n / 60 : 1;
    for (size_t i = 0; i < n; i += step) {
        float keep = v[i];
        float h = rel_h * fmaxf(1.0f, fabsf(keep));
        v[i] = keep + h;
        double lp = L(ctx);
        v[i] = keep - h;
        double lm = L(ctx);
        v[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        double err = fabs(num - g[i]) / fmax(1e-2, fabs(num) + fabs(g[i]));
        worst = fmax(worst, err);
    }
    TST_CHECK(worst < 2e-2, "%s: gradient vs finite differences, worst relative error %.3g", what, worst);
}

typedef struct lctx {
    int kind;
    rec_conv_shape cs;
    rec_pool_shape ps;
    int n, in, out, rows, c;
    float *x, *w, *b, *gamma, *beta, *y, *R;
    float *rm, *rv, *sm, *si;
} lctx;

static double dot_R(const lctx *c, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)c->y[i] * c->R[i];
    return s;
}

static double layer_loss(void *p)
{
    lctx *c = p;
    switch (c->kind) {
    case REC_L_CONV:
        /* The reference forward: the backward pass under test is compared
         * with differences of the exact (im2col) forward. */
        rec_cpu_set_conv_algo(eng, REC_CPU_CONV_IM2COL);
        ops->conv_forward(eng, c->y, c->x, c->w, c->b, REC_ACT_NONE, &c->cs);
        return dot_R(c, (size_t)c->cs.n * c->cs.oh * c->cs.ow * c->cs.oc);
    case REC_L_POOL:
        ops->pool_forward(eng, c->y, c->x, &c->ps);
        return dot_R(c, (size_t)c->ps.n * c->ps.oh * c->ps.ow * c->ps.c);
    case REC_L_DENSE:
        ops->dense_forward(eng, c->y, c->x, c->w, c->b, REC_ACT_NONE, c->n, c->in, c->out);
        return dot_R(c, (size_t)c->n * c->out);
    case REC_L_BN:
        ops->batchnorm_forward(eng, c->y, c->sm, c->si, c->rm, c->rv, c->x, c->gamma, c->beta,
                               REC_ACT_NONE, 1, 0.1f, 1e-5f, c->rows, c->c);
        return dot_R(c, (size_t)c->rows * c->c);
    default:
        return 0.0;
    }
}

static void test_layer_gradients(void)
{
    lctx c;
    /* Convolution, both algorithms, a shape where Winograd applies. */
    for (int algo = REC_CPU_CONV_IM2COL; algo <= REC_CPU_CONV_WINOGRAD; algo++) {
        memset(&c, 0, sizeof c);
        c.kind = REC_L_CONV;
        c.cs = mkconv(2, 6, 6, 3, 3, 1, 4);
        size_t nx = 2 * 36 * 3, ny = 2 * 36 * 4, nw = 4 * 9 * 3;
        c.x = fvec(nx), c.w = fvec(nw), c.b = fvec(4), c.R = fvec(ny), c.y = calloc(ny, 4);
        float *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(4, 4);
        rec_cpu_set_conv_algo(eng, algo);
        ops->conv_backward_data(eng, dx, c.R, c.w, &c.cs);
        ops->conv_backward_filter(eng, dw, db, c.R, c.x, &c.cs);
        fd_check(algo == 1 ? "conv dx (im2col)" : "conv dx (winograd)", c.x, nx, dx, layer_loss, &c, 1e-2f);
        fd_check(algo == 1 ? "conv dw (im2col)" : "conv dw (winograd)", c.w, nw, dw, layer_loss, &c, 1e-2f);
        fd_check("conv db", c.b, 4, db, layer_loss, &c, 1e-2f);
        free(c.x), free(c.w), free(c.b), free(c.R), free(c.y), free(dx), free(dw), free(db);
    }
    rec_cpu_set_conv_algo(eng, REC_CPU_CONV_AUTO);

    /* Max pooling (distinct values keep the arg-max away from ties). */
    memset(&c, 0, sizeof c);
    c.kind = REC_L_POOL;
    c.ps = (rec_pool_shape){2, 6, 6, 3, 2, 2, 3, 3};
    size_t nx = 2 * 36 * 3, ny = 2 * 9 * 3;
    c.x = calloc(nx, 4), c.R = fvec(ny), c.y = calloc(ny, 4);
    for (size_t i = 0; i < nx; i++)
        c.x[i] = (float)((i * 37) % nx) * 0.1f;
    float *dx = calloc(nx, 4);
    layer_loss(&c);
    ops->pool_backward(eng, dx, c.R, c.x, c.y, &c.ps);
    fd_check("maxpool dx", c.x, nx, dx, layer_loss, &c, 1e-2f);
    free(c.x), free(c.R), free(c.y), free(dx);

    /* Dense. */
    memset(&c, 0, sizeof c);
    c.kind = REC_L_DENSE;
    c.n = 5, c.in = 7, c.out = 3;
    c.x = fvec(35), c.w = fvec(21), c.b = fvec(3), c.R = fvec(15), c.y = calloc(15, 4);
    {
        float *ddx = calloc(35, 4), *dw = calloc(21, 4), *db = calloc(3, 4);
        ops->dense_backward(eng, ddx, dw, db, c.R, c.x, c.w, 5, 7, 3);
        fd_check("dense dx", c.x, 35, ddx, layer_loss, &c, 1e-2f);
        fd_check("dense dw", c.w, 21, dw, layer_loss, &c, 1e-2f);
        fd_check("dense db", c.b, 3, db, layer_loss, &c, 1e-2f);
        free(ddx), free(dw), free(db);
    }
    free(c.x), free(c.w), free(c.b), free(c.R), free(c.y);

    /* Batch normalization (training mode). */
    memset(&c, 0, sizeof c);
    c.kind = REC_L_BN;
    c.rows = 12, c.c = 4;
    c.x = fvec(48), c.gamma = fvec(4), c.beta = fvec(4), c.R = fvec(48), c.y = calloc(48, 4);
    c.rm = calloc(4, 4), c.rv = calloc(4, 4), c.sm = calloc(4, 4), c.si = calloc(4, 4);
    {
        float *ddx = calloc(48, 4), *dg = calloc(4, 4), *dbt = calloc(4, 4);
        layer_loss(&c);
        ops->batchnorm_backward(eng, ddx, dg, dbt, c.R, c.x, c.gamma, c.sm, c.si, 12, 4);
        fd_check("batchnorm dx", c.x, 48, ddx, layer_loss, &c, 1e-2f);
        fd_check("batchnorm dgamma", c.gamma, 4, dg, layer_loss, &c, 1e-2f);
        fd_check("batchnorm dbeta", c.beta, 4, dbt, layer_loss, &c, 1e-2f);
        free(ddx), free(dg), free(dbt);
    }
    /* Running statistics after one step from (0, 0): 0.1 * batch values. */
    {
        double mean = 0.0;
        memset(c.rm, 0, 16);
        layer_loss(&c);
        for (int r = 0; r < 12; r++)
            mean += c.x[r * 4];
        mean /= 12;
        TST_CHECK(fabs(c.rm[0] - 0.1 * mean) < 1e-5 * 40, "batchnorm running mean moves by the momentum");
    }
    free(c.x), free(c.gamma), free(c.beta), free(c.R), free(c.y), free(c.rm), free(c.rv), free(c.sm), free(c.si);
}

/* ------------------------------------------------ whole network check */

/*
 * Whole networks, against central differences of the mean cross-entropy
 * computed in double from the logits.  ReLU and max pooling make the loss
 * piecewise smooth (smooth networks use h = 1e-3): a step of h flips about (units x h) ReLUs, each moving
 * the estimate by one position's share of the gradient, while float
 * rounding puts a floor under h.  h = 1e-4 sits between the two (measured:
 * tensor-level errors of 0.1-2 % for correct gradients, against 100 % for
 * a wrong one), so the check is per tensor, in L2:
 *   |num - g| / |g| < tol                  for tensors with real gradients,
 *   rms(num - g) / rms(all g) < tol / 2    for tensors whose gradient is
 *                                          (near) zero, such as a bias
 *                                          just before batch normalization.
 */
typedef struct nctx {
    rec_net *net;
    float *x;
    int32_t *labels;
    float *params;
    int n;
} nctx;

static double net_loss(nctx *c)
{
    const float *logits;
    double s = 0.0;
    rec_net_set_params(c->net, c->params);
    rec_net_forward(c->net, c->x, c->n, 1, 7, &logits);
    for (int r = 0; r < c->n; r++) {
        const float *z = logits + (size_t)r * 10;
        double m = z[0], sum = 0.0;
        for (int j = 1; j < 10; j++)
            m = fmax(m, z[j]);
        for (int j = 0; j < 10; j++)
            sum += exp(z[j] - m);
        s += log(sum) - (z[c->labels[r]] - m);
    }
    return s / c->n;
}

static void check_net(const char *text, float rel_h, double tol)
{
    rec_arch a;
    nctx c;
    size_t n_params, n_tr;
    int count, rc;

    rc = rec_arch_parse(&a, text);
    TST_CHECK(rc == UTIL_OK, "parse %s", text);
    memset(&c, 0, sizeof c);
    c.n = 6;
    rc = rec_net_create(&c.net, &a, ops, eng, c.n, 1);
    TST_CHECK(rc == UTIL_OK, "create a training network");
    if (rc)
        return;
    rec_net_init_params(c.net, 3);
    n_params = rec_net_param_count(c.net, &n_tr);
    c.params = calloc(n_params, 4);
    rec_net_get_params(c.net, c.params);
    /* Non-zero biases keep ReLU inputs off their kink at 0. */
    const rec_param_info *tab = rec_net_param_table(c.net, &count);
    for (int i = 0; i < count; i++)
        if (strstr(tab[i].name, ".b") && !strstr(tab[i].name, "bn."))
            for (size_t j = 0; j < tab[i].count; j++)
                c.params[tab[i].offset + j] = 0.1f * frand();
    c.x = calloc((size_t)c.n * 784, 4);
    for (int i = 0; i < c.n * 784; i++)
        c.x[i] = 0.5f * (frand() + 1.0f);
    c.labels = calloc((size_t)c.n, 4);
    for (int i = 0; i < c.n; i++)
        c.labels[i] = i % 10;

    float *g = calloc(n_params, 4), stats[2] = {0, 0};
    const float *logits;
    rec_net_set_params(c.net, c.params);
    rec_net_forward(c.net, c.x, c.n, 1, 7, &logits);
    rec_net_loss(c.net, c.labels, c.n, stats);
    rec_net_backward(c.net, c.n);
    memcpy(g, rec_net_grads(c.net), n_tr * 4);
    TST_CHECK(fabs(stats[0] / c.n - net_loss(&c)) < 1e-4, "engine loss agrees with the double loss");

    double all2 = 0.0;
    for (size_t j = 0; j < n_tr; j++)
        all2 += (double)g[j] * g[j];
    double rms_all = sqrt(all2 / (double)n_tr);
    for (int i = 0; i < count; i++) {
        if (!tab[i].trainable)
            continue;
        size_t step = tab[i].count > 40 ? tab[i].count / 40 : 1, k = 0;
        double d2 = 0.0, g2 = 0.0;
        for (size_t j = tab[i].offset; j < tab[i].offset + tab[i].count; j += step, k++) {
            float keep = c.params[j];
            float h = rel_h * fmaxf(1.0f, fabsf(keep));
            c.params[j] = keep + h;
            double lp = net_loss(&c);
            c.params[j] = keep - h;
            double lm = net_loss(&c);
            c.params[j] = keep;
            double num = (lp - lm) / (2.0 * (double)h);
            d2 += (num - g[j]) * (num - g[j]);
            g2 += (double)g[j] * g[j];
        }
        double rms_g = sqrt(g2 / (double)k);
        if (rms_g > 0.1 * rms_all) {
            double err = sqrt(d2 / g2);
            TST_CHECK(err < tol, "%s: %s gradient vs finite differences, L2 error %.4f (tol %g)", text,
                      tab[i].name, err, tol);
        } else {
            double err = sqrt(d2 / (double)k) / rms_all;
            TST_CHECK(err < tol / 2, "%s: %s (near-zero gradient) error %.4f of the gradient scale", text,
                      tab[i].name, err);
        }
    }
    free(g), free(c.params), free(c.x), free(c.labels);
    rec_net_destroy(&c.net);
}

static void test_net_gradients(void)
{
    /* Smooth layers only: differences are accurate, the bound is tight. */
    check_net("conv4k3p1 bn conv5k3 flatten dense12 bn drop0.3 dense10", 1e-3f, 5e-3);
    /* Every layer type, fused ReLUs, overlapping pooling, in-place ops. */
    check_net("conv4k3p1 bn relu pool2 conv6k3 relu pool2s1 flatten dense12 bn relu drop0.3 dense10", 1e-4f, 0.05);
    /* A ReLU that follows pooling (not fused) and a first layer on Winograd. */
    check_net("conv16k3p1 conv16k3 relu pool2 relu flatten dense10", 1e-4f, 0.05);

    /* Training drives the loss down on a fixed batch. */
    rec_arch a;
    rec_net *net = NULL;
    float *x = calloc(6 * 784, 4);
    int32_t labels[6] = {0, 1, 2, 3, 4, 5};
    double first = 0.0, last = 0.0;
    for (int i = 0; i < 6 * 784; i++)
        x[i] = 0.5f * (frand() + 1.0f);
    rec_arch_resolve(&a, "default");
    TST_CHECK(rec_net_create(&net, &a, ops, eng, 6, 1) == UTIL_OK, "default net for training");
    rec_net_init_params(net, 11);
    for (int step = 0; step < 30; step++) {
        const float *logits;
        float stats[2] = {0, 0};
        rec_net_forward(net, x, 6, 1, 100 + (uint64_t)step, &logits);
        rec_net_loss(net, labels, 6, stats);
        rec_net_backward(net, 6);
        rec_net_rmsprop(net, 1e-3f, 0.9f, 1e-8f);
        if (step == 0)
            first = stats[0] / 6;
        last = stats[0] / 6;
    }
    TST_CHECK(last < first * 0.2, "30 RMSProp steps fit a fixed batch: loss %.3f -> %.3f", first, last);
    rec_net_destroy(&net);
    TST_CHECK(net == NULL, "destroy nulls the pointer");
    rec_net_destroy(&net);
    free(x);
}

static void test_arch_text(void)
{
    rec_arch a;
    char buf[512];
    const char *bad[] = {"", "conv", "conv32", "conv32k", "conv32k5p", "conv32k5p5", "pool", "drop1.5",
                         "dense10 conv4k3", "conv4k3 dense10", "flatten flatten dense10",
                         "conv4k3 relu flatten dense9", "conv4k29 flatten dense10", "relu,,relux",
                         "pool30 flatten dense10", "conv99999k3 flatten dense10"};
    util_log_set_level(-1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        util_clear_error();
        int rc = rec_arch_parse(&a, bad[i]);
        TST_CHECK(rc == UTIL_EINVAL && util_last_error()[0], "bad network \"%s\" refused (rc %d)", bad[i], rc);
    }
    util_log_set_level(UTIL_LOG_INFO);
    const char *names[] = {"lenet5", "kaggle", "default"};
    for (int i = 0; i < 3; i++) {
        rec_arch b;
        TST_CHECK(rec_arch_resolve(&a, names[i]) == UTIL_OK, "preset %s parses", names[i]);
        rec_arch_format(&a, buf, sizeof buf);
        TST_CHECK(rec_arch_parse(&b, buf) == UTIL_OK && memcmp(&a, &b, sizeof a) == 0,
                  "preset %s survives format and parse", names[i]);
    }
    rec_arch_resolve(&a, "lenet5");
    size_t total, tr;
    rec_param_info tab[REC_MAX_PARAMS];
    rec_arch_params(&a, tab, &total, &tr);
    /* LeNet-5: 6*25+6 + 16*150+16 + 400*120+120 + 120*84+84 + 84*10+10 = 61706 */
    TST_CHECK(total == 61706 && tr == total, "lenet5 has 61,706 parameters (%zu)", total);
    rec_arch_resolve(&a, "kaggle");
    rec_arch_params(&a, tab, &total, &tr);
    /* 832 + 25632 + 18496 + 36928 + 3136*256+256 + 2570 = 887,530 */
    TST_CHECK(total == 887530, "kaggle has 887,530 parameters (%zu)", total);
}

int main(void)
{
    rec_engine_opts o = {2, 0};
    util_rng_seed(&rng, 12345);
    if (ops->create(&eng, &o) != UTIL_OK) {
        fprintf(stderr, "cannot create the CPU engine\n");
        return 1;
    }
    test_arch_text();
    test_winograd_matrices();
    test_conv_by_hand();
    test_conv_vs_reference();
    test_winograd_weight_reuse();
    test_pool_relu_by_hand();
    test_pool_backward_paths();
    test_dense_softmax_rmsprop_by_hand();
    test_dropout_and_images();
    test_layer_gradients();
    test_net_gradients();
    (void)max_abs;
    ops->destroy(&eng);
    return tst_done();
}
