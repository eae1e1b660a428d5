/*
 * rec_cpu_winograd.c - Winograd minimal-filtering convolution F(m x m, r x r)
 * for the CPU engine, forward and weight gradient.
 *
 * The 1-D transforms come from Cook-Toom with alpha - 1 finite points plus
 * the point at infinity, computed once in double precision:
 *   G  = V_r     (alpha x r)  kernel evaluated at the points
 *   A  = V_m     (alpha x m)  output interpolation, transposed
 *   B  = V^-1    (alpha x alpha) inverse of the full evaluation matrix
 * so that y = A^T [(G g) . (B^T d)] is the correlation of d with g.  Row j
 * of B^T is scaled by f_j = prod_{l != j} (a_j - a_l), and row j of G by
 * 1/f_j, which leaves the product unchanged and B^T with small integers.
 *
 * In 2-D, with the tiles of one chunk in the columns:
 *   V[xi][tile][c] = (B^T d B)[xi]        input transform, per channel
 *   U[xi][c][o]    = (G g G^T)[xi]        kernel transform
 *   M[xi][tile][o] = V[xi] U[xi]          alpha^2 GEMMs (OpenBLAS)
 *   y              = A^T M A              output transform (+ bias, ReLU)
 * The weight gradient is the dual problem F(r, m), with the same points and
 * B: the dy tile (m x m) plays the kernel (transform G' = V_m / f) and the
 * gradient is read out with A'^T = V_r^T:
 *   W[xi][c][o] = sum over tiles V[xi]^T D[xi]   (GEMMs, per-thread sums)
 *   dw          = A'^T W A'
 * Channels are the innermost, contiguous axis everywhere (NHWC), so each
 * transform step is a loop over channels that the compiler vectorizes.
 */
#include "rec_cpu_winograd.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "util/util.h"

#define WMAX 8 /* largest alpha */

typedef struct wplan {
    int m, r, alpha;
    float bt[WMAX * WMAX];  /* alpha x alpha */
    float g[WMAX * WMAX];   /* alpha x r */
    float at[WMAX * WMAX];  /* m x alpha */
    float gf[WMAX * WMAX];  /* alpha x m: dy tile transform (weight gradient) */
    float atf[WMAX * WMAX]; /* r x alpha: weight gradient read-out */
} wplan;

/* Plans by kernel size: output tile 4 for 3x3 (alpha 6) and 5x5 (alpha 8). */
static wplan g_plan3, g_plan5;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static const double g_points[WMAX - 1] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};

/* Inverts the n x n matrix a (row-major) into inv; 0 on success. */
static int invert(int n, const double *a, double *inv)
{
    double m[WMAX][2 * WMAX];

    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2 * n; j++)
            m[i][j] = j < n ? a[i * n + j] : (j - n == i ? 1.0 : 0.0);
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int i = col + 1; i < n; i++)
            if (fabs(m[i][col]) > fabs(m[piv][col]))
                piv = i;
        if (fabs(m[piv][col]) < 1e-12)
            return -1;
        for (int j = 0; j < 2 * n; j++) {
            double t = m[col][j];
            m[col][j] = m[piv][j];
            m[piv][j] = t;
        }
        double d = m[col][col];
        for (int j = 0; j < 2 * n; j++)
            m[col][j] /= d;
        for (int i = 0; i < n; i++) {
            if (i == col || m[i][col] == 0.0)
                continue;
            double f = m[i][col];
            for (int j = 0; j < 2 * n; j++)
                m[i][j] -= f * m[col][j];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            inv[i * n + j] = m[i][n + j];
    return 0;
}

/* The evaluation matrix V_len (alpha x len): rows a_j^k, last row e_{len-1}. */
static void vander(int alpha, int len, double *v)
{
    for (int j = 0; j < alpha; j++)
        for (int k = 0; k < len; k++) {
            if (j == alpha - 1)
                v[j * len + k] = k == len - 1 ? 1.0 : 0.0;
            else
                v[j * len + k] = pow(g_points[j], k);
        }
}

static int plan_make(wplan *p, int m, int r)
{
    int alpha = m + r - 1;
    double V[WMAX * WMAX], C[WMAX * WMAX], Vm[WMAX * WMAX], Vr[WMAX * WMAX], f[WMAX];

    memset(p, 0, sizeof *p);
    if (alpha > WMAX || m < 1 || r < 1)
        return -1;
    p->m = m, p->r = r, p->alpha = alpha;
    vander(alpha, alpha, V);
    vander(alpha, m, Vm);
    vander(alpha, r, Vr);
    if (invert(alpha, V, C) != 0)
        return -1;
    for (int j = 0; j < alpha; j++) {
        f[j] = 1.0;
        if (j < alpha - 1)
            for (int l = 0; l < alpha - 1; l++)
                if (l != j)
                    f[j] *= g_points[j] - g_points[l];
    }
    for (int j = 0; j < alpha; j++) {
        for (int k = 0; k < alpha; k++)
            p->bt[j * alpha + k] = (float)(C[k * alpha + j] * f[j]); /* B^T = C^T, scaled */
        for (int k = 0; k < r; k++)
            p->g[j * r + k] = (float)(Vr[j * r + k] / f[j]);
        for (int k = 0; k < m; k++)
            p->gf[j * m + k] = (float)(Vm[j * m + k] / f[j]);
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < alpha; j++)
            p->at[i * alpha + j] = (float)Vm[j * m + i];
    for (int i = 0; i < r; i++)
        for (int j = 0; j < alpha; j++)
            p->atf[i * alpha + j] = (float)Vr[j * r + i];
    return 0;
}

static void plans_init(void)
{
    plan_make(&g_plan3, 4, 3);
    plan_make(&g_plan5, 4, 5);
}

static const wplan *plan_for(int k)
{
    pthread_once(&g_once, plans_init);
    if (k == 3)
        return &g_plan3;
    if (k == 5)
        return &g_plan5;
    return NULL;
}

int rec_cpu_winograd_matrices(int m, int r, float *bt, float *g, float *at)
{
    wplan p;

    if (plan_make(&p, m, r) != 0)
        return 0;
    memcpy(bt, p.bt, sizeof(float) * (size_t)p.alpha * p.alpha);
    memcpy(g, p.g, sizeof(float) * (size_t)p.alpha * r);
    memcpy(at, p.at, sizeof(float) * (size_t)m * p.alpha);
    return p.alpha;
}

int rec_cpu_winograd_supports(const rec_conv_shape *s)
{
    return (s->k == 3 || s->k == 5) && s->pad < s->k;
}

/* Tiles of one chunk; a compile-time size keeps GEMM blocks in cache. */
#define WTILES 64

/* Where the tiles are. */
typedef struct tiling {
    int ty, tx;   /* tiles per column and per row */
    size_t count; /* n * ty * tx */
} tiling;

static tiling make_tiling(const wplan *p, const rec_conv_shape *s)
{
    tiling t;
    t.ty = (s->oh + p->m - 1) / p->m;
    t.tx = (s->ow + p->m - 1) / p->m;
    t.count = (size_t)s->n * t.ty * t.tx;
    return t;
}

/*
 * out[a][b][c] = sum_k mat[a][k] * in[k][b][c]   (rows: rows_out x cols)
 * with in laid out [rows_in][cols][C] and out [rows_out][cols][C].
 */
static void left_mul(float *out, const float *mat, int rows_out, int rows_in, const float *in,
                     int cols, int C)
{
    const size_t row = (size_t)cols * C;

    for (int a = 0; a < rows_out; a++) {
        float *o = out + (size_t)a * row;
        memset(o, 0, row * sizeof(float));
        for (int k = 0; k < rows_in; k++) {
            float f = mat[a * rows_in + k];
            if (f == 0.0f)
                continue;
            const float *src = in + (size_t)k * row;
#pragma omp simd
            for (size_t i = 0; i < row; i++)
                o[i] += f * src[i];
        }
    }
}

/*
 * out[a][b][c] = sum_k in[a][k][c] * mat[b][k]   (columns)
 * in [rows][cols_in][C], out written with a stride: element (a, b) goes to
 * out + (a*cols_out + b) * ostride.
 */
static void right_mul(float *out, size_t ostride, const float *mat, int cols_out, int cols_in,
                      const float *in, int rows, int C)
{
    for (int a = 0; a < rows; a++)
        for (int b = 0; b < cols_out; b++) {
            float *o = out + ((size_t)a * cols_out + b) * ostride;
            memset(o, 0, (size_t)C * sizeof(float));
            for (int k = 0; k < cols_in; k++) {
                float f = mat[b * cols_in + k];
                if (f == 0.0f)
                    continue;
                const float *src = in + ((size_t)a * cols_in + k) * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    o[c] += f * src[c];
            }
        }
}

/* Copies the alpha x alpha input patch of tile t (zeros outside) into d. */
static void gather_patch(float *d, const float *x, const wplan *p, const tiling *tl, size_t t,
                         const rec_conv_shape *s)
{
    const int A = p->alpha, C = s->c;
    size_t per = (size_t)tl->ty * tl->tx, n = t / per, q = t % per;
    int y0 = (int)(q / (size_t)tl->tx) * p->m - s->pad;
    int x0 = (int)(q % (size_t)tl->tx) * p->m - s->pad;

    for (int a = 0; a < A; a++) {
        int iy = y0 + a;
        float *row = d + (size_t)a * A * C;
        if (iy < 0 || iy >= s->h) {
            memset(row, 0, (size_t)A * C * sizeof(float));
            continue;
        }
        const float *src = x + ((n * s->h + (size_t)iy) * s->w) * C;
        int lo = x0 < 0 ? -x0 : 0, hi = s->w - x0 < A ? s->w - x0 : A;
        if (hi < lo)
            hi = lo;
        if (lo > 0)
            memset(row, 0, (size_t)lo * C * sizeof(float));
        if (hi > lo)
            memcpy(row + (size_t)lo * C, src + (size_t)(x0 + lo) * C,
                   (size_t)(hi - lo) * C * sizeof(float));
        if (hi < A)
            memset(row + (size_t)hi * C, 0, (size_t)(A - hi) * C * sizeof(float));
    }
}

/* V[xi][j][c] (stride WTILES*C between xi) for tile t at column j. */
static void input_transform(float *V, int j, float *d, float *t1, const float *x,
                            const wplan *p, const tiling *tl, size_t t, const rec_conv_shape *s)
{
    const int A = p->alpha, C = s->c;

    gather_patch(d, x, p, tl, t, s);
    left_mul(t1, p->bt, A, A, d, A, C);
    right_mul(V + (size_t)j * C, (size_t)WTILES * C, p->bt, A, A, t1, A, C);
}

/* U[xi][c][o] = (G g G^T)[xi] for every (o, c); work is alpha*r*C floats. */
static void kernel_transform(float *U, const float *w, const wplan *p, const rec_conv_shape *s,
                             int threads)
{
    const int A = p->alpha, R = p->r, C = s->c, O = s->oc;

#pragma omp parallel num_threads(threads)
    {
        float t1[WMAX * 5], t2[WMAX * WMAX];
#pragma omp for schedule(static)
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++) {
                for (int a = 0; a < A; a++)
                    for (int kx = 0; kx < R; kx++) {
                        float sum = 0.0f;
                        for (int ky = 0; ky < R; ky++)
                            sum += p->g[a * R + ky] * w[(((size_t)o * R + ky) * R + kx) * C + c];
                        t1[a * R + kx] = sum;
                    }
                for (int a = 0; a < A; a++)
                    for (int b = 0; b < A; b++) {
                        float sum = 0.0f;
                        for (int kx = 0; kx < R; kx++)
                            sum += t1[a * R + kx] * p->g[b * R + kx];
                        t2[a * A + b] = sum;
                    }
                for (int xi = 0; xi < A * A; xi++)
                    U[((size_t)xi * C + c) * O + o] = t2[xi];
            }
    }
}

int rec_cpu_winograd_forward(rec_engine *e, float *y, const float *x, const float *w,
                             const float *b, int act, const rec_conv_shape *s)
{
    const wplan *p = plan_for(s->k);
    const int A = p ? p->alpha : 0, m = p ? p->m : 0, C = s->c, O = s->oc;
    const int CO = C > O ? C : O;
    tiling tl;
    size_t nchunks, per_thread;
    int rc;

    if (!p)
        return UTIL_EINVAL;
    tl = make_tiling(p, s);
    nchunks = (tl.count + WTILES - 1) / WTILES;
    /* scratch: V (A*A*WTILES*C), M (A*A*WTILES*O), patch and temp (2*A*A*CO) */
    per_thread = (size_t)A * A * WTILES * (C + O) + 2 * (size_t)A * A * CO;
    rc = cpu_scratch(e, per_thread);
    if (!rc)
        rc = cpu_shared(e, (size_t)A * A * C * O + (size_t)O);
    if (rc)
        return rc;
    kernel_transform(e->shared, w, p, s, e->threads);
    /* Without a bias, add zeros: a test of b inside the vector loop becomes
     * masked loads from NULL, which cost a microcode assist each. */
    if (!b) {
        float *zeros = e->shared + (size_t)A * A * C * O;
        memset(zeros, 0, (size_t)O * sizeof(float));
        b = zeros;
    }

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t ch = 0; ch < nchunks; ch++) {
        float *V = e->scratch[omp_get_thread_num()];
        float *M = V + (size_t)A * A * WTILES * C;
        float *d = M + (size_t)A * A * WTILES * O, *t1 = d + (size_t)A * A * CO;
        size_t t0 = ch * WTILES, nt = tl.count - t0 < WTILES ? tl.count - t0 : WTILES;
        const size_t per = (size_t)tl.ty * tl.tx;

        for (size_t j = 0; j < nt; j++)
            input_transform(V, (int)j, d, t1, x, p, &tl, t0 + j, s);
        for (int xi = 0; xi < A * A; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nt, O, C, 1.0f,
                        V + (size_t)xi * WTILES * C, C, e->shared + (size_t)xi * C * O, O, 0.0f,
                        M + (size_t)xi * WTILES * O, O);
        for (size_t j = 0; j < nt; j++) {
            size_t t = t0 + j, n = t / per, q = t % per;
            int oy0 = (int)(q / (size_t)tl.tx) * m, ox0 = (int)(q % (size_t)tl.tx) * m;
            /* d[a][b][o] = M[a*A+b][j][o]: gather the tile's alpha^2 rows. */
            for (int xi = 0; xi < A * A; xi++)
                memcpy(d + (size_t)xi * O, M + ((size_t)xi * WTILES + j) * O,
                       (size_t)O * sizeof(float));
            left_mul(t1, p->at, m, A, d, A, O);          /* t1[i][b][o] */
            right_mul(d, (size_t)O, p->at, m, A, t1, m, O); /* d[i][jj][o] */
            for (int i = 0; i < m; i++) {
                int oy = oy0 + i;
                if (oy >= s->oh)
                    break;
                for (int jj = 0; jj < m; jj++) {
                    int ox = ox0 + jj;
                    if (ox >= s->ow)
                        break;
                    float *dst = y + ((n * s->oh + (size_t)oy) * s->ow + (size_t)ox) * O;
                    const float *src = d + ((size_t)i * m + jj) * O;
                    if (act == REC_ACT_RELU) {
#pragma omp simd
                        for (int o = 0; o < O; o++) {
                            float v = src[o] + b[o];
                            dst[o] = v > 0.0f ? v : 0.0f;
                        }
                    } else {
#pragma omp simd
                        for (int o = 0; o < O; o++)
                            dst[o] = src[o] + b[o];
                    }
                }
            }
        }
    }
    return UTIL_OK;
}

/* Copies dy's m x m tile t (zeros beyond the output) into d[m][m][O]. */
static void gather_dy(float *d, const float *dy, const wplan *p, const tiling *tl, size_t t,
                      const rec_conv_shape *s)
{
    const int m = p->m, O = s->oc;
    size_t per = (size_t)tl->ty * tl->tx, n = t / per, q = t % per;
    int y0 = (int)(q / (size_t)tl->tx) * m, x0 = (int)(q % (size_t)tl->tx) * m;

    for (int i = 0; i < m; i++) {
        float *row = d + (size_t)i * m * O;
        int oy = y0 + i, cols = s->ow - x0 < m ? s->ow - x0 : m;
        if (oy >= s->oh) {
            memset(row, 0, (size_t)m * O * sizeof(float));
            continue;
        }
        memcpy(row, dy + ((n * s->oh + (size_t)oy) * s->ow + (size_t)x0) * O,
               (size_t)cols * O * sizeof(float));
        if (cols < m)
            memset(row + (size_t)cols * O, 0, (size_t)(m - cols) * O * sizeof(float));
    }
}

int rec_cpu_winograd_backward_filter(rec_engine *e, float *dw, float *db, const float *dy,
                                     const float *x, const rec_conv_shape *s)
{
    const wplan *p = plan_for(s->k);
    const int A = p ? p->alpha : 0, m = p ? p->m : 0, R = s->k, C = s->c, O = s->oc;
    const int CO = C > O ? C : O, T = e->threads;
    const size_t wsize = (size_t)A * A * C * O;
    tiling tl;
    size_t nchunks, per_thread;
    int rc;

    if (!p)
        return UTIL_EINVAL;
    tl = make_tiling(p, s);
    nchunks = (tl.count + WTILES - 1) / WTILES;
    per_thread = (size_t)A * A * WTILES * (C + O) + 2 * (size_t)A * A * CO;
    rc = cpu_scratch(e, per_thread);
    if (!rc)
        rc = cpu_shared(e, (size_t)T * (wsize + (size_t)O));
    if (rc)
        return rc;

#pragma omp parallel num_threads(T)
    {
        int th = omp_get_thread_num();
        float *V = e->scratch[th];
        float *D = V + (size_t)A * A * WTILES * C;
        float *d = D + (size_t)A * A * WTILES * O, *t1 = d + (size_t)A * A * CO;
        float *W = e->shared + (size_t)th * (wsize + (size_t)O), *bsum = W + wsize;
        size_t lo = nchunks * (size_t)th / (size_t)T, hi = nchunks * (size_t)(th + 1) / (size_t)T;

        memset(W, 0, (wsize + (size_t)O) * sizeof(float));
        for (size_t ch = lo; ch < hi; ch++) {
            size_t t0 = ch * WTILES, nt = tl.count - t0 < WTILES ? tl.count - t0 : WTILES;
            for (size_t j = 0; j < nt; j++) {
                input_transform(V, (int)j, d, t1, x, p, &tl, t0 + j, s);
                gather_dy(d, dy, p, &tl, t0 + j, s);
                for (int i = 0; i < m * m; i++)
#pragma omp simd
                    for (int o = 0; o < O; o++)
                        bsum[o] += d[(size_t)i * O + o];
                left_mul(t1, p->gf, A, m, d, m, O);
                right_mul(D + j * (size_t)O, (size_t)WTILES * O, p->gf, A, m, t1, A, O);
            }
            for (int xi = 0; xi < A * A; xi++)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, O, (int)nt, 1.0f,
                            V + (size_t)xi * WTILES * C, C, D + (size_t)xi * WTILES * O, O, 1.0f,
                            W + (size_t)xi * C * O, O);
        }
    }
    /* Reduce in thread order, then read out dw[o][ky][kx][c] = A'^T W A'. */
    for (int th = 1; th < T; th++) {
        const float *src = e->shared + (size_t)th * (wsize + (size_t)O);
        for (size_t i = 0; i < wsize + (size_t)O; i++)
            e->shared[i] += src[i];
    }
    memcpy(db, e->shared + wsize, (size_t)O * sizeof(float));
    {
        const float *W = e->shared;
#pragma omp parallel for num_threads(T) schedule(static)
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++) {
                float t2[WMAX * 5];
                for (int a = 0; a < A; a++)
                    for (int kx = 0; kx < R; kx++) {
                        float sum = 0.0f;
                        for (int bb = 0; bb < A; bb++)
                            sum += W[(((size_t)a * A + bb) * C + c) * O + o] * p->atf[kx * A + bb];
                        t2[a * R + kx] = sum;
                    }
                for (int ky = 0; ky < R; ky++)
                    for (int kx = 0; kx < R; kx++) {
                        float sum = 0.0f;
                        for (int a = 0; a < A; a++)
                            sum += p->atf[ky * A + a] * t2[a * R + kx];
                        dw[(((size_t)o * R + ky) * R + kx) * C + c] = sum;
                    }
            }
    }
    return UTIL_OK;
}
