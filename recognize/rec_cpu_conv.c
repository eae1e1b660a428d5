/*
 * rec_cpu_conv.c - convolutions for the CPU engine.
 *
 * Two algorithms, both handing their arithmetic to OpenBLAS GEMMs:
 *   im2col    - any kernel: output pixels in chunks, each chunk's receptive
 *               fields copied into rows of a matrix (NHWC makes every copy a
 *               run of C contiguous floats), times the weights.
 *   Winograd  - 3x3 and 5x5 kernels with enough channels
 *               (rec_cpu_winograd.c): fewer multiplications per output.
 * The backward-data pass is the forward convolution of dy with the kernel
 * flipped and its channel axes swapped, padded by k-1-pad, so it reuses the
 * forward code.  The backward-filter pass sums per-thread partial gradients
 * in thread order, which keeps it deterministic for a given thread count.
 */
#include "rec_cpu.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "rec_cpu_winograd.h"
#include "util/util.h"

/* Output pixels per im2col chunk: the chunk's matrix is kept near 256 KiB. */
static size_t chunk_rows(size_t kkc)
{
    size_t rows = 65536 / kkc;
    if (rows < 16)
        rows = 16;
    return rows;
}

/* Copies n floats, a vector at a time: runs are short (a kernel row of a
 * few channels, an output row), too short for a memcpy call to pay. */
static inline void copy_run(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        vstore(dst + i, vload(src + i));
    for (; i < n; i++)
        dst[i] = src[i];
}

static inline void zero_run(float *dst, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        vstore(dst + i, (vf8){0});
    for (; i < n; i++)
        dst[i] = 0.0f;
}

/* Fills col[rows][k*k*c] for output pixels p0..p0+rows-1 (over the batch).
 * In NHWC the in-image part of each kernel row is one contiguous run of
 * input, so every (pixel, ky) is one copy between two zero fills. */
static void im2col(float *col, const float *x, size_t p0, size_t rows, const rec_conv_shape *s)
{
    const int K = s->k, C = s->c;
    const size_t kkc = (size_t)K * K * C, kc = (size_t)K * C, hw = (size_t)s->oh * s->ow;
    size_t n = p0 / hw;
    int oy = (int)(p0 % hw / (size_t)s->ow), ox = (int)(p0 % hw % (size_t)s->ow);

    for (size_t r = 0; r < rows; r++) {
        int lo = s->pad - ox > 0 ? s->pad - ox : 0;
        int hi = s->w + s->pad - ox < K ? s->w + s->pad - ox : K;
        float *dst = col + r * kkc;
        if (hi < lo)
            hi = lo;
        for (int ky = 0; ky < K; ky++, dst += kc) {
            int iy = oy + ky - s->pad;
            if (iy < 0 || iy >= s->h) {
                zero_run(dst, kc);
                continue;
            }
            const float *src = x + ((n * s->h + (size_t)iy) * s->w) * C +
                               (ptrdiff_t)(ox - s->pad) * C;
            if (lo == 0 && hi == K) {
                copy_run(dst, src, kc);
                continue;
            }
            zero_run(dst, (size_t)lo * C);
            copy_run(dst + (size_t)lo * C, src + (size_t)lo * C, (size_t)(hi - lo) * C);
            zero_run(dst + (size_t)hi * C, (size_t)(K - hi) * C);
        }
        if (++ox == s->ow) {
            ox = 0;
            if (++oy == s->oh)
                oy = 0, n++;
        }
    }
}

/* The transpose of im2col for one input channel: colt[k*k][rows], where
 * row (ky, kx) holds the input pixel at that offset from every output
 * pixel, so it is built from runs of whole output rows.  With C == 1 the
 * NHWC runs of im2col would be single floats. */
static void im2col_t1(float *colt, const float *x, size_t p0, size_t rows,
                      const rec_conv_shape *s)
{
    const int K = s->k;
    const size_t hw = (size_t)s->oh * s->ow;

    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            float *dst = colt + (size_t)(ky * K + kx) * rows;
            const int sh = kx - s->pad; /* ix = ox + sh */
            size_t n = p0 / hw, r = 0;
            int oy = (int)(p0 % hw / (size_t)s->ow), ox = (int)(p0 % hw % (size_t)s->ow);
            while (r < rows) {
                int len = rows - r < (size_t)(s->ow - ox) ? (int)(rows - r) : s->ow - ox;
                int iy = oy + ky - s->pad;
                float *d = dst + r;
                if (iy < 0 || iy >= s->h) {
                    zero_run(d, (size_t)len);
                } else {
                    const float *src = x + (n * s->h + (size_t)iy) * s->w;
                    int lo = -sh - ox, hi = s->w - sh - ox;
                    lo = lo < 0 ? 0 : lo > len ? len : lo;
                    hi = hi < lo ? lo : hi > len ? len : hi;
                    zero_run(d, (size_t)lo);
                    copy_run(d + lo, src + ox + lo + sh, (size_t)(hi - lo));
                    zero_run(d + hi, (size_t)(len - hi));
                }
                r += (size_t)len;
                ox += len;
                if (ox == s->ow) {
                    ox = 0;
                    if (++oy == s->oh)
                        oy = 0, n++;
                }
            }
        }
}

static int use_winograd(const rec_engine *e, const rec_conv_shape *s)
{
    if (e->conv_algo == REC_CPU_CONV_IM2COL)
        return 0;
    if (!rec_cpu_winograd_supports(s))
        return 0;
    if (e->conv_algo == REC_CPU_CONV_WINOGRAD)
        return 1;
    /* By shape: the transforms cost per channel what the GEMMs save per
     * channel pair, so Winograd pays off once both sides have a few
     * channels (measured in bench/, see README). */
    return s->c >= 16 && s->oc >= 16;
}

static int conv_forward_im2col(rec_engine *e, float *y, const float *x, const float *w,
                               const float *b, int act, const rec_conv_shape *s)
{
    const size_t kkc = (size_t)s->k * s->k * s->c;
    const size_t P = (size_t)s->n * s->oh * s->ow, R = chunk_rows(kkc);
    const size_t nchunks = (P + R - 1) / R;
    const int direct = s->k == 1 && s->pad == 0, one = s->c == 1 && !direct;
    int rc = cpu_scratch(e, R * kkc);

    if (rc)
        return rc;
#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t ch = 0; ch < nchunks; ch++) {
        float *col = e->scratch[omp_get_thread_num()];
        size_t p0 = ch * R, rows = P - p0 < R ? P - p0 : R;
        const float *a = x + p0 * s->c;
        float *yr = y + p0 * (size_t)s->oc;
        if (!direct && !one) {
            im2col(col, x, p0, rows, s);
            a = col;
        }
        if (one) {
            im2col_t1(col, x, p0, rows, s);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)rows, s->oc, (int)kkc, 1.0f,
                        col, (int)rows, w, (int)kkc, 0.0f, yr, s->oc);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, s->oc, (int)kkc,
                        1.0f, a, (int)kkc, w, (int)kkc, 0.0f, yr, s->oc);
        }
        /* Bias and activation in one pass over the chunk (GEMM sums, then
         * + b, as a beta = 1 GEMM onto the bias would round). */
        if (b)
            for (size_t r = 0; r < rows; r++) {
                float *yo = yr + r * s->oc;
#pragma omp simd
                for (int o = 0; o < s->oc; o++)
                    yo[o] += b[o];
            }
        if (act == REC_ACT_RELU)
#pragma omp simd
            for (size_t i = 0; i < rows * (size_t)s->oc; i++)
                yr[i] = yr[i] > 0.0f ? yr[i] : 0.0f;
    }
    return UTIL_OK;
}

int cpu_conv_forward(rec_engine *e, float *y, const float *x, const float *w, const float *b,
                     int act, const rec_conv_shape *s)
{
    if (use_winograd(e, s))
        return rec_cpu_winograd_forward(e, y, x, w, b, act, s);
    return conv_forward_im2col(e, y, x, w, b, act, s);
}

int cpu_conv_backward_data(rec_engine *e, float *dx, const float *dy, const float *w,
                           const rec_conv_shape *s)
{
    const int K = s->k, C = s->c, O = s->oc;
    rec_conv_shape t;
    int rc = cpu_wbuf(e, (size_t)O * K * K * C);

    if (rc)
        return rc;
    /* wf[c][ky][kx][o] = w[o][K-1-ky][K-1-kx][c] */
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
                for (int o = 0; o < O; o++)
                    e->wbuf[(((size_t)c * K + ky) * K + kx) * O + o] =
                        w[(((size_t)o * K + (K - 1 - ky)) * K + (K - 1 - kx)) * C + c];
    t.n = s->n;
    t.h = s->oh, t.w = s->ow, t.c = O;
    t.k = K, t.pad = K - 1 - s->pad;
    t.oc = C, t.oh = s->h, t.ow = s->w;
    return cpu_conv_forward(e, dx, dy, e->wbuf, NULL, REC_ACT_NONE, &t);
}

static int conv_backward_filter_im2col(rec_engine *e, float *dw, float *db, const float *dy,
                                       const float *x, const rec_conv_shape *s)
{
    const int T = e->threads, O = s->oc;
    const size_t kkc = (size_t)s->k * s->k * s->c, part = (size_t)O * kkc + O;
    const size_t P = (size_t)s->n * s->oh * s->ow, R = chunk_rows(kkc);
    const size_t nchunks = (P + R - 1) / R;
    const int direct = s->k == 1 && s->pad == 0, one = s->c == 1 && !direct;
    int rc = cpu_scratch(e, R * kkc);

    if (!rc)
        rc = cpu_shared(e, (size_t)T * part);
    if (rc)
        return rc;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        float *col = e->scratch[t], *pw = e->shared + (size_t)t * part, *pb = pw + (size_t)O * kkc;
        size_t lo, hi;
        lo = nchunks * (size_t)t / (size_t)T;
        hi = nchunks * (size_t)(t + 1) / (size_t)T;
        memset(pw, 0, part * sizeof(float));
        for (size_t ch = lo; ch < hi; ch++) {
            size_t p0 = ch * R, rows = P - p0 < R ? P - p0 : R;
            const float *a = x + p0 * s->c, *d = dy + p0 * (size_t)O;
            if (one) {
                im2col_t1(col, x, p0, rows, s);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, O, (int)kkc, (int)rows, 1.0f,
                            d, O, col, (int)rows, 1.0f, pw, (int)kkc);
            } else {
                if (!direct) {
                    im2col(col, x, p0, rows, s);
                    a = col;
                }
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, (int)kkc, (int)rows,
                            1.0f, d, O, a, (int)kkc, 1.0f, pw, (int)kkc);
            }
            for (size_t r = 0; r < rows; r++)
#pragma omp simd
                for (int o = 0; o < O; o++)
                    pb[o] += d[r * O + o];
        }
    }
    memcpy(dw, e->shared, (size_t)O * kkc * sizeof(float));
    memcpy(db, e->shared + (size_t)O * kkc, (size_t)O * sizeof(float));
    for (int t = 1; t < T; t++) {
        const float *pw = e->shared + (size_t)t * part, *pb = pw + (size_t)O * kkc;
        for (size_t i = 0; i < (size_t)O * kkc; i++)
            dw[i] += pw[i];
        for (int o = 0; o < O; o++)
            db[o] += pb[o];
    }
    return UTIL_OK;
}

int cpu_conv_backward_filter(rec_engine *e, float *dw, float *db, const float *dy,
                             const float *x, const rec_conv_shape *s)
{
    if (use_winograd(e, s))
        return rec_cpu_winograd_backward_filter(e, dw, db, dy, x, s);
    return conv_backward_filter_im2col(e, dw, db, dy, x, s);
}
