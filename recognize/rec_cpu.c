/*
 * rec_cpu.c - the CPU engine: its table of operations, memory, and every
 * operation except convolution (rec_cpu_conv.c).
 *
 * Dense layers are GEMMs in OpenBLAS, which is kept to one thread: the
 * engine splits work over its own OpenMP threads with a fixed partition that
 * depends only on the thread count, and reduces partial sums in a fixed
 * order, so results are bit-identical run to run for a given thread count.
 */
#include "rec_cpu.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* OpenBLAS's own thread control (declared in its cblas.h as well). */
void openblas_set_num_threads(int num_threads);

/* ------------------------------------------------------------ instance */

static int cpu_create(rec_engine **pe, const rec_engine_opts *opts)
{
    rec_engine *e;
    int threads = opts && opts->threads > 0 ? opts->threads : util_cpu_count();

    *pe = NULL;
    if (threads > REC_CPU_MAX_THREADS)
        threads = REC_CPU_MAX_THREADS;
    e = calloc(1, sizeof *e);
    if (!e) {
        util_log(UTIL_LOG_ERROR, "out of memory creating the CPU engine");
        return UTIL_ENOMEM;
    }
    e->threads = threads;
    openblas_set_num_threads(1);
    snprintf(e->desc, sizeof e->desc, "cpu, %d thread%s, OpenBLAS", threads,
             threads == 1 ? "" : "s");
    *pe = e;
    return UTIL_OK;
}

static void cpu_destroy(rec_engine **pe)
{
    rec_engine *e;

    if (!pe || !*pe)
        return;
    e = *pe;
    for (int t = 0; t < REC_CPU_MAX_THREADS; t++)
        free(e->scratch[t]);
    free(e->shared);
    free(e->wbuf);
    for (int i = 0; i < REC_CPU_KCACHE; i++) {
        free(e->kcache[i].w);
        free(e->kcache[i].u);
    }
    free(e);
    *pe = NULL;
}

static const char *cpu_describe(rec_engine *e) { return e->desc; }

void rec_cpu_set_conv_algo(rec_engine *e, int algo) { e->conv_algo = algo; }

static int grow(float **p, size_t *cap, size_t floats)
{
    float *n;

    if (*cap >= floats)
        return UTIL_OK;
    n = aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
    if (!n) {
        util_log(UTIL_LOG_ERROR, "CPU engine: out of memory (%zu bytes of scratch)",
                 floats * sizeof(float));
        return UTIL_ENOMEM;
    }
    free(*p);
    *p = n;
    *cap = floats;
    return UTIL_OK;
}

int cpu_scratch(rec_engine *e, size_t floats)
{
    for (int t = 0; t < e->threads; t++) {
        int rc = grow(&e->scratch[t], &e->scratch_cap[t], floats);
        if (rc)
            return rc;
    }
    return UTIL_OK;
}

int cpu_shared(rec_engine *e, size_t floats)
{
    return grow(&e->shared, &e->shared_cap, floats);
}

int cpu_wbuf(rec_engine *e, size_t floats)
{
    return grow(&e->wbuf, &e->wbuf_cap, floats);
}

/* -------------------------------------------------------------- memory */

static int cpu_alloc(rec_engine *e, void **pptr, size_t bytes)
{
    size_t rounded = ((bytes ? bytes : 1) + 63) / 64 * 64;

    (void)e;
    *pptr = aligned_alloc(64, rounded);
    if (!*pptr) {
        util_log(UTIL_LOG_ERROR, "CPU engine: out of memory (%zu bytes)", bytes);
        return UTIL_ENOMEM;
    }
    memset(*pptr, 0, rounded);
    return UTIL_OK;
}

static void cpu_free(rec_engine *e, void *ptr)
{
    (void)e;
    free(ptr);
}

static int cpu_copy(rec_engine *e, void *dst, const void *src, size_t bytes)
{
    (void)e;
    if (bytes)
        memmove(dst, src, bytes);
    return UTIL_OK;
}

static int cpu_zero(rec_engine *e, void *dst, size_t bytes)
{
    (void)e;
    if (bytes)
        memset(dst, 0, bytes);
    return UTIL_OK;
}

static int cpu_sync(rec_engine *e)
{
    (void)e;
    return UTIL_OK;
}

/* The share [*plo, *phi) of n items for thread t of T. */
static void share(size_t n, int t, int T, size_t *plo, size_t *phi)
{
    *plo = n * (size_t)t / (size_t)T;
    *phi = n * (size_t)(t + 1) / (size_t)T;
}

/* --------------------------------------------------------------- pooling */

static int cpu_pool_forward(rec_engine *e, float *y, const float *x, const rec_pool_shape *s)
{
    const int C = s->c;
    const size_t rows = (size_t)s->n * s->oh;

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        int n = (int)(r / (size_t)s->oh), oy = (int)(r % (size_t)s->oh);
        for (int ox = 0; ox < s->ow; ox++) {
            float *o = y + ((r * (size_t)s->ow) + (size_t)ox) * C;
            const float *first = x + (((size_t)n * s->h + (size_t)oy * s->stride) * s->w +
                                      (size_t)ox * s->stride) * C;
            memcpy(o, first, (size_t)C * sizeof(float));
            for (int ky = 0; ky < s->k; ky++)
                for (int kx = 0; kx < s->k; kx++) {
                    const float *xi = first + ((size_t)ky * s->w + (size_t)kx) * C;
                    for (int c = 0; c < C; c++)
                        o[c] = xi[c] > o[c] ? xi[c] : o[c];
                }
        }
    }
    return UTIL_OK;
}

/* pool_backward for windows that do not overlap (stride == k) and channels
 * in whole vectors: every dx element is written once, the first maximum of
 * its window taking dy, eight channels at a time; rows and columns that no
 * window covers are zeroed. */
static void pool_backward_tiled(rec_engine *e, float *dx, const float *dy, const float *x,
                                const float *y, const rec_pool_shape *s)
{
    typedef int vi8 __attribute__((vector_size(32)));
    const int C = s->c, K = s->k;
    const size_t rowc = (size_t)s->w * C;

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (int n = 0; n < s->n; n++) {
        const float *xn = x + (size_t)n * s->h * rowc;
        float *dxn = dx + (size_t)n * s->h * rowc;
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                size_t o = (((size_t)n * s->oh + oy) * s->ow + ox) * C;
                size_t base = (size_t)oy * K * rowc + (size_t)ox * K * C;
                for (int c = 0; c < C; c += VL) {
                    vf8 m = vload(y + o + c), g = vload(dy + o + c);
                    vi8 taken = {0};
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            size_t i = base + (size_t)ky * rowc + (size_t)kx * C + c;
                            vi8 hit = (vload(xn + i) == m) & ~taken;
                            vstore(dxn + i, (vf8)((vi8)g & hit));
                            taken |= hit;
                        }
                }
            }
            if (s->ow * K < s->w) /* columns right of the last window */
                for (int ky = 0; ky < K; ky++)
                    memset(dxn + ((size_t)oy * K + ky) * rowc + (size_t)s->ow * K * C, 0,
                           (size_t)(s->w - s->ow * K) * C * sizeof(float));
        }
        if (s->oh * K < s->h) /* rows below the last window */
            memset(dxn + (size_t)s->oh * K * rowc, 0,
                   (size_t)(s->h - s->oh * K) * rowc * sizeof(float));
    }
}

static int cpu_pool_backward(rec_engine *e, float *dx, const float *dy, const float *x,
                             const float *y, const rec_pool_shape *s)
{
    const int C = s->c;

    if (s->stride == s->k && C % VL == 0) {
        pool_backward_tiled(e, dx, dy, x, y, s);
        return UTIL_OK;
    }

    /* Each image is one task: windows of one image may overlap (stride < k)
     * but images never do. */
#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (int n = 0; n < s->n; n++) {
        float *dxn = dx + (size_t)n * s->h * s->w * C;
        memset(dxn, 0, (size_t)s->h * s->w * C * sizeof(float));
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                size_t o = (((size_t)n * s->oh + oy) * s->ow + ox) * C;
                size_t base = ((size_t)oy * s->stride * s->w + (size_t)ox * s->stride) * C;
                for (int c = 0; c < C; c++) {
                    float m = y[o + c];
                    int done = 0;
                    for (int ky = 0; ky < s->k && !done; ky++)
                        for (int kx = 0; kx < s->k && !done; kx++) {
                            size_t i = base + ((size_t)ky * s->w + kx) * C + c;
                            if (x[(size_t)n * s->h * s->w * C + i] == m) {
                                dxn[i] += dy[o + c];
                                done = 1;
                            }
                        }
                }
            }
    }
    return UTIL_OK;
}

/* ------------------------------------------------------------- ReLU */

static int cpu_relu_forward(rec_engine *e, float *y, const float *x, size_t count)
{
#pragma omp parallel for simd num_threads(e->threads) schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return UTIL_OK;
}

static int cpu_relu_backward(rec_engine *e, float *dx, const float *dy, const float *y,
                             size_t count)
{
    /* Both operands are loaded unconditionally, so the select vectorizes
     * (a conditional load stays a branch per element, mispredicted at random). */
#pragma omp parallel for simd num_threads(e->threads) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
    return UTIL_OK;
}

/* ------------------------------------------------------------- dense */

static int cpu_dense_forward(rec_engine *e, float *y, const float *x, const float *w,
                             const float *b, int act, int n, int in, int out)
{
    int T = e->threads;

#pragma omp parallel num_threads(T)
    {
        size_t lo, hi;
        share((size_t)n, omp_get_thread_num(), T, &lo, &hi);
        if (hi > lo) {
            float *yr = y + lo * (size_t)out;
            for (size_t r = 0; r < hi - lo; r++)
                memcpy(yr + r * (size_t)out, b, (size_t)out * sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(hi - lo), out, in, 1.0f,
                        x + lo * (size_t)in, in, w, in, 1.0f, yr, out);
            if (act == REC_ACT_RELU)
                for (size_t i = 0; i < (hi - lo) * (size_t)out; i++)
                    yr[i] = yr[i] > 0.0f ? yr[i] : 0.0f;
        }
    }
    return UTIL_OK;
}

static int cpu_dense_backward(rec_engine *e, float *dx, float *dw, float *db, const float *dy,
                              const float *x, const float *w, int n, int in, int out)
{
    int T = e->threads;

#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        size_t lo, hi;
        /* dw[out,in] = dy^T x and db, split over output units. */
        share((size_t)out, t, T, &lo, &hi);
        if (hi > lo) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), in, n, 1.0f,
                        dy + lo, out, x, in, 0.0f, dw + lo * (size_t)in, in);
            for (size_t o = lo; o < hi; o++) {
                float sum = 0.0f;
                for (int r = 0; r < n; r++)
                    sum += dy[(size_t)r * out + o];
                db[o] = sum;
            }
        }
        /* dx[n,in] = dy w, split over rows. */
        if (dx) {
            share((size_t)n, t, T, &lo, &hi);
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(hi - lo), in, out,
                            1.0f, dy + lo * (size_t)out, out, w, in, 0.0f, dx + lo * (size_t)in,
                            in);
        }
    }
    return UTIL_OK;
}

/* --------------------------------------------------------- batchnorm */

/* Per-channel sums of f(x) over rows, reduced in a fixed order: partial sums
 * per thread in the shared scratch, then added thread by thread. */
static int channel_sums(rec_engine *e, float *dst, const float *x, const float *center,
                        const float *dy, int rows, int c)
{
    int T = e->threads, rc;

    rc = cpu_shared(e, (size_t)T * c);
    if (rc)
        return rc;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        size_t lo, hi;
        float *part = e->shared + (size_t)t * c;
        share((size_t)rows, t, T, &lo, &hi);
        memset(part, 0, (size_t)c * sizeof(float));
        for (size_t r = lo; r < hi; r++) {
            const float *xr = x + r * (size_t)c;
            if (dy) {
                const float *dr = dy + r * (size_t)c;
                for (int j = 0; j < c; j++)
                    part[j] += dr[j] * (xr[j] - center[j]);
            } else if (center) {
                for (int j = 0; j < c; j++) {
                    float d = xr[j] - center[j];
                    part[j] += d * d;
                }
            } else {
                for (int j = 0; j < c; j++)
                    part[j] += xr[j];
            }
        }
    }
    for (int j = 0; j < c; j++) {
        float sum = 0.0f;
        for (int t = 0; t < T; t++)
            sum += e->shared[(size_t)t * c + j];
        dst[j] = sum;
    }
    return UTIL_OK;
}

static int cpu_bn_forward(rec_engine *e, float *y, float *save_mean, float *save_invstd,
                          float *run_mean, float *run_var, const float *x, const float *gamma,
                          const float *beta, int act, int train, float momentum, float eps,
                          int rows, int c)
{
    float *mean = NULL, *invstd = NULL, *scale = NULL, *shift = NULL;
    int rc = UTIL_OK;

    mean = malloc(4 * (size_t)c * sizeof(float));
    if (!mean) {
        util_log(UTIL_LOG_ERROR, "CPU engine: out of memory");
        return UTIL_ENOMEM;
    }
    invstd = mean + c, scale = invstd + c, shift = scale + c;
    if (train) {
        rc = channel_sums(e, mean, x, NULL, NULL, rows, c);
        if (rc)
            goto cleanup;
        for (int j = 0; j < c; j++)
            mean[j] /= (float)rows;
        rc = channel_sums(e, invstd, x, mean, NULL, rows, c); /* sum of squares */
        if (rc)
            goto cleanup;
        for (int j = 0; j < c; j++) {
            float var = invstd[j] / (float)rows;
            float unbiased = rows > 1 ? invstd[j] / (float)(rows - 1) : var;
            invstd[j] = 1.0f / sqrtf(var + eps);
            save_mean[j] = mean[j];
            save_invstd[j] = invstd[j];
            run_mean[j] = (1.0f - momentum) * run_mean[j] + momentum * mean[j];
            run_var[j] = (1.0f - momentum) * run_var[j] + momentum * unbiased;
        }
    } else {
        for (int j = 0; j < c; j++) {
            mean[j] = run_mean[j];
            invstd[j] = 1.0f / sqrtf(run_var[j] + eps);
        }
    }
    for (int j = 0; j < c; j++) {
        scale[j] = gamma[j] * invstd[j];
        shift[j] = beta[j] - mean[j] * scale[j];
    }
#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c;
        float *yr = y + (size_t)r * c;
        for (int j = 0; j < c; j++) {
            float v = xr[j] * scale[j] + shift[j];
            yr[j] = act == REC_ACT_RELU && v < 0.0f ? 0.0f : v;
        }
    }
cleanup:
    free(mean);
    return rc;
}

static int cpu_bn_backward(rec_engine *e, float *dx, float *dgamma, float *dbeta,
                           const float *dy, const float *x, const float *gamma,
                           const float *save_mean, const float *save_invstd, int rows, int c)
{
    float *k1 = NULL, *k2 = NULL, *k3 = NULL;
    int rc;

    k1 = malloc(3 * (size_t)c * sizeof(float));
    if (!k1) {
        util_log(UTIL_LOG_ERROR, "CPU engine: out of memory");
        return UTIL_ENOMEM;
    }
    k2 = k1 + c, k3 = k2 + c;
    rc = channel_sums(e, dbeta, dy, NULL, NULL, rows, c);
    if (!rc)
        rc = channel_sums(e, dgamma, x, save_mean, dy, rows, c); /* sum dy*(x-mean) */
    if (rc)
        goto cleanup;
    for (int j = 0; j < c; j++) {
        dgamma[j] *= save_invstd[j];
        /* dx = gamma*invstd * (dy - dbeta/N - xhat*dgamma/N) */
        k1[j] = gamma[j] * save_invstd[j];
        k2[j] = dbeta[j] / (float)rows;
        k3[j] = dgamma[j] * save_invstd[j] / (float)rows;
    }
#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c, *dr = dy + (size_t)r * c;
        float *o = dx + (size_t)r * c;
        for (int j = 0; j < c; j++)
            o[j] = k1[j] * (dr[j] - k2[j] - (xr[j] - save_mean[j]) * k3[j]);
    }
cleanup:
    free(k1);
    return rc;
}

/* ------------------------------------------------------------ dropout */

static int cpu_dropout_forward(rec_engine *e, float *y, uint8_t *mask, const float *x,
                               size_t count, float rate, uint64_t key)
{
    float scale = 1.0f / (1.0f - rate);

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t i = 0; i < count; i++) {
        uint8_t keep = util_uniform(key, i) >= rate;
        mask[i] = keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
    return UTIL_OK;
}

static int cpu_dropout_backward(rec_engine *e, float *dx, const float *dy, const uint8_t *mask,
                                size_t count, float rate)
{
    float scale = 1.0f / (1.0f - rate);

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t i = 0; i < count; i++)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
    return UTIL_OK;
}

/* ------------------------------------------------------------ softmax */

static int cpu_softmax_xent(rec_engine *e, float *dlogits, float *stats, const float *logits,
                            const int32_t *labels, int n, int classes)
{
    double loss = 0.0;
    int correct = 0;

    (void)e;
    for (int r = 0; r < n; r++) {
        const float *z = logits + (size_t)r * classes;
        float *d = dlogits + (size_t)r * classes;
        float m = z[0], sum = 0.0f;
        int arg = 0, y = labels[r];
        for (int j = 1; j < classes; j++)
            if (z[j] > m)
                m = z[j], arg = j;
        for (int j = 0; j < classes; j++) {
            d[j] = expf(z[j] - m);
            sum += d[j];
        }
        for (int j = 0; j < classes; j++)
            d[j] = (d[j] / sum - (j == y ? 1.0f : 0.0f)) / (float)n;
        loss += (double)(logf(sum) - (z[y] - m));
        correct += arg == y;
    }
    stats[0] += (float)loss;
    stats[1] += (float)correct;
    return UTIL_OK;
}

static int cpu_softmax(rec_engine *e, float *probs, const float *logits, int n, int classes,
                       float temperature)
{
    (void)e;
    for (int r = 0; r < n; r++) {
        const float *z = logits + (size_t)r * classes;
        float *p = probs + (size_t)r * classes;
        float m = z[0] / temperature, sum = 0.0f;
        for (int j = 1; j < classes; j++)
            if (z[j] / temperature > m)
                m = z[j] / temperature;
        for (int j = 0; j < classes; j++) {
            p[j] = expf(z[j] / temperature - m);
            sum += p[j];
        }
        for (int j = 0; j < classes; j++)
            p[j] /= sum;
    }
    return UTIL_OK;
}

/* ------------------------------------------------------------ RMSProp */

static int cpu_rmsprop_step(rec_engine *e, float *p, float *ms, const float *g, size_t count,
                            float lr, float rho, float eps)
{
#pragma omp parallel for simd num_threads(e->threads) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float m = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
        ms[i] = m;
        p[i] -= lr * g[i] / (sqrtf(m) + eps);
    }
    return UTIL_OK;
}

/* --------------------------------------------------------- image batch */

static int cpu_images_load(rec_engine *e, float *dst, const uint8_t *src, const int32_t *idx,
                           const float *affine, int n, int h, int w)
{
#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const uint8_t *img = src + (size_t)idx[i] * h * w;
        float *o = dst + (size_t)i * h * w;
        if (!affine) {
            for (int j = 0; j < h * w; j++)
                o[j] = (float)img[j] * (1.0f / 255.0f);
            continue;
        }
        const float *a = affine + (size_t)i * 6;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float xc = (float)x + 0.5f - 0.5f * (float)w, yc = (float)y + 0.5f - 0.5f * (float)h;
                /* Source coordinates, in pixel-index space (centres at integers). */
                float u = a[0] * xc + a[1] * yc + a[2] + 0.5f * (float)w - 0.5f;
                float v = a[3] * xc + a[4] * yc + a[5] + 0.5f * (float)h - 0.5f;
                float fu = floorf(u), fv = floorf(v), du = u - fu, dv = v - fv, acc = 0.0f;
                int iu = (int)fu, iv = (int)fv;
                for (int t = 0; t < 4; t++) {
                    int sx = iu + (t & 1), sy = iv + (t >> 1);
                    float wgt = ((t & 1) ? du : 1.0f - du) * ((t >> 1) ? dv : 1.0f - dv);
                    if (sx >= 0 && sx < w && sy >= 0 && sy < h)
                        acc += wgt * (float)img[sy * w + sx];
                }
                o[y * w + x] = acc * (1.0f / 255.0f);
            }
    }
    return UTIL_OK;
}

/* --------------------------------------------------------------- table */

const rec_engine_ops rec_engine_cpu_ops = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .describe = cpu_describe,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .conv_forward = cpu_conv_forward,
    .conv_backward_data = cpu_conv_backward_data,
    .conv_backward_filter = cpu_conv_backward_filter,
    .pool_forward = cpu_pool_forward,
    .pool_backward = cpu_pool_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .dense_forward = cpu_dense_forward,
    .dense_backward = cpu_dense_backward,
    .batchnorm_forward = cpu_bn_forward,
    .batchnorm_backward = cpu_bn_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_xent = cpu_softmax_xent,
    .softmax = cpu_softmax,
    .rmsprop_step = cpu_rmsprop_step,
    .images_load = cpu_images_load,
};
