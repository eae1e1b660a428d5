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
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define WMAX 8 /* largest alpha */

/* A transform matrix by rows, its nonzero entries only (column, value). */
typedef struct wsparse {
    int rows, cols;
    int nnz[WMAX];
    int col[WMAX][WMAX];
    float val[WMAX][WMAX];
} wsparse;

typedef struct wplan {
    int m, r, alpha;
    wsparse sbt, sat, sgf;  /* bt, at and gf by nonzero entries, for transform2d */
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

static void sparse_make(wsparse *dst, const float *mat, int rows, int cols)
{
    dst->rows = rows, dst->cols = cols;
    for (int a = 0; a < rows; a++) {
        dst->nnz[a] = 0;
        for (int k = 0; k < cols; k++)
            if (mat[a * cols + k] != 0.0f) {
                dst->col[a][dst->nnz[a]] = k;
                dst->val[a][dst->nnz[a]++] = mat[a * cols + k];
            }
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
    sparse_make(&p->sbt, p->bt, alpha, alpha);
    sparse_make(&p->sat, p->at, m, alpha);
    sparse_make(&p->sgf, p->gf, alpha, m);
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


/* Channels of one block of transform2d: NV vectors of VL. */
#define NV_MAX 4
#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL_NV _Pragma("GCC unroll 4")
#else
#define UNROLL_NV
#endif

/* transform2d over channels [c, c + nv*VL); nv is a constant at each call,
 * so the loops over the nv vectors unroll into independent chains. */
static inline __attribute__((always_inline)) void
transform_block(float *out, size_t os, const float *in, size_t is, size_t js, const wsparse *L,
                const wsparse *R, int c, int nv)
{
    const int ra = L->rows, ni = L->cols, rb = R->rows, nj = R->cols;
    vf8 t[WMAX][WMAX][NV_MAX], x[WMAX][NV_MAX];

    for (int j = 0; j < nj; j++) {
        for (int i = 0; i < ni; i++)
            UNROLL_NV
            for (int q = 0; q < nv; q++)
                x[i][q] = vload(in + i * is + j * js + c + q * VL);
        for (int a = 0; a < ra; a++) {
            vf8 acc[NV_MAX];
            UNROLL_NV
            for (int q = 0; q < nv; q++)
                acc[q] = (vf8){0};
            for (int k = 0; k < L->nnz[a]; k++) {
                float f = L->val[a][k];
                const vf8 *xi = x[L->col[a][k]];
                UNROLL_NV
            for (int q = 0; q < nv; q++)
                    acc[q] = acc[q] + f * xi[q];
            }
            UNROLL_NV
            for (int q = 0; q < nv; q++)
                t[a][j][q] = acc[q];
        }
    }
    for (int a = 0; a < ra; a++)
        for (int b = 0; b < rb; b++) {
            vf8 acc[NV_MAX];
            float *o = out + (size_t)(a * rb + b) * os + c;
            UNROLL_NV
            for (int q = 0; q < nv; q++)
                acc[q] = (vf8){0};
            for (int k = 0; k < R->nnz[b]; k++) {
                float f = R->val[b][k];
                const vf8 *ti = t[a][R->col[b][k]];
                UNROLL_NV
            for (int q = 0; q < nv; q++)
                    acc[q] = acc[q] + f * ti[q];
            }
            UNROLL_NV
            for (int q = 0; q < nv; q++)
                vstore(o + q * VL, acc[q]);
        }
}

/*
 * The 2-D transform of one tile, channel by channel:
 *   out(a, b) = sum_j R[b][j] * (sum_i L[a][i] * in(i, j))
 * for a < L.rows, b < R.rows, with in(i, j) (L.cols x R.cols points of C
 * channels) at in + i*is + j*js and out(a, b) at out + (a*R.rows + b)*os.
 * Channels go through registers a block of vectors at a time: first the
 * columns (the left factor), into a small table, then its rows (the right
 * factor).  Each sum starts at zero and adds its nonzero terms in index
 * order, so the result does not depend on the channel blocking.
 */
static void transform2d(float *out, size_t os, const float *in, size_t is, size_t js,
                        const wsparse *L, const wsparse *R, int C)
{
    const int ra = L->rows, rb = R->rows, nj = R->cols;
    int c = 0;

    for (; c + NV_MAX * VL <= C; c += NV_MAX * VL)
        transform_block(out, os, in, is, js, L, R, c, NV_MAX);
    for (; c + VL <= C; c += VL)
        transform_block(out, os, in, is, js, L, R, c, 1);
    for (; c < C; c++) { /* the same sums, one channel at a time */
        float ts[WMAX][WMAX];
        for (int j = 0; j < nj; j++)
            for (int a = 0; a < ra; a++) {
                float acc = 0.0f;
                for (int k = 0; k < L->nnz[a]; k++)
                    acc = acc + L->val[a][k] * in[L->col[a][k] * is + j * js + c];
                ts[a][j] = acc;
            }
        for (int a = 0; a < ra; a++)
            for (int b = 0; b < rb; b++) {
                float acc = 0.0f;
                for (int k = 0; k < R->nnz[b]; k++)
                    acc = acc + R->val[b][k] * ts[a][R->col[b][k]];
                out[(size_t)(a * rb + b) * os + c] = acc;
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

/* V[xi][j][c] (stride WTILES*C between xi) for tile t at column j: read in
 * place when the patch lies inside the image, else from a zero-padded copy
 * in d. */
static void input_transform(float *V, int j, float *d, const float *x, const wplan *p,
                            const tiling *tl, size_t t, const rec_conv_shape *s)
{
    const int A = p->alpha, C = s->c;
    size_t per = (size_t)tl->ty * tl->tx, n = t / per, q = t % per;
    int y0 = (int)(q / (size_t)tl->tx) * p->m - s->pad;
    int x0 = (int)(q % (size_t)tl->tx) * p->m - s->pad;
    const float *in = d;
    size_t is = (size_t)A * C;

    if (y0 >= 0 && x0 >= 0 && y0 + A <= s->h && x0 + A <= s->w) {
        in = x + ((n * s->h + (size_t)y0) * s->w + (size_t)x0) * C;
        is = (size_t)s->w * C;
    } else {
        gather_patch(d, x, p, tl, t, s);
    }
    transform2d(V + (size_t)j * C, (size_t)WTILES * C, in, is, (size_t)C, &p->sbt, &p->sbt, C);
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

/* The transform U of weights w (shape s), from the cache when the same
 * weights were transformed before, else made and remembered. */
static int kernel_cached(rec_engine *e, const float **pU, const float *w, const wplan *p,
                         const rec_conv_shape *s)
{
    const size_t wn = (size_t)s->oc * s->k * s->k * s->c;
    const size_t un = (size_t)p->alpha * p->alpha * s->c * s->oc;
    rec_cpu_kcache *hit = NULL, *pick = &e->kcache[0];

    *pU = NULL;
    e->kclock++;
    for (int i = 0; i < REC_CPU_KCACHE && !hit; i++) {
        rec_cpu_kcache *kc = &e->kcache[i];
        if (kc->src == w && kc->k == s->k && kc->c == s->c && kc->oc == s->oc)
            hit = kc;
        else if (kc->used < pick->used)
            pick = kc; /* the least recently used (or never used) entry */
    }
    if (hit && memcmp(hit->w, w, wn * sizeof(float)) == 0) {
        hit->used = e->kclock;
        *pU = hit->u;
        return UTIL_OK;
    }
    if (hit)
        pick = hit;
    if (pick->un != un || pick->k != s->k || pick->c != s->c || pick->oc != s->oc) {
        free(pick->w);
        free(pick->u);
        memset(pick, 0, sizeof *pick);
        pick->w = malloc(wn * sizeof(float));
        pick->u = malloc(un * sizeof(float));
        if (!pick->w || !pick->u) {
            free(pick->w);
            free(pick->u);
            memset(pick, 0, sizeof *pick);
            util_log(UTIL_LOG_ERROR, "CPU engine: out of memory (Winograd weights)");
            return UTIL_ENOMEM;
        }
        pick->un = un;
        pick->k = s->k, pick->c = s->c, pick->oc = s->oc;
    }
    pick->src = w;
    memcpy(pick->w, w, wn * sizeof(float));
    kernel_transform(pick->u, w, p, s, e->threads);
    pick->used = e->kclock;
    *pU = pick->u;
    return UTIL_OK;
}

int rec_cpu_winograd_forward(rec_engine *e, float *y, const float *x, const float *w,
                             const float *b, int act, const rec_conv_shape *s)
{
    const wplan *p = plan_for(s->k);
    const int A = p ? p->alpha : 0, m = p ? p->m : 0, C = s->c, O = s->oc;
    const int CO = C > O ? C : O;
    const float *U = NULL;
    tiling tl;
    size_t nchunks, per_thread;
    int rc;

    if (!p)
        return UTIL_EINVAL;
    tl = make_tiling(p, s);
    nchunks = (tl.count + WTILES - 1) / WTILES;
    /* scratch: V (A*A*WTILES*C), M (A*A*WTILES*O), a patch (A*A*CO) */
    per_thread = (size_t)A * A * WTILES * (C + O) + (size_t)A * A * CO;
    rc = cpu_scratch(e, per_thread);
    if (!rc)
        rc = cpu_shared(e, (size_t)O);
    if (!rc)
        rc = kernel_cached(e, &U, w, p, s);
    if (rc)
        return rc;
    /* Without a bias, add zeros: a test of b inside the vector loop becomes
     * masked loads from NULL, which cost a microcode assist each. */
    if (!b) {
        memset(e->shared, 0, (size_t)O * sizeof(float));
        b = e->shared;
    }

#pragma omp parallel for num_threads(e->threads) schedule(static)
    for (size_t ch = 0; ch < nchunks; ch++) {
        float *V = e->scratch[omp_get_thread_num()];
        float *M = V + (size_t)A * A * WTILES * C;
        float *d = M + (size_t)A * A * WTILES * O;
        size_t t0 = ch * WTILES, nt = tl.count - t0 < WTILES ? tl.count - t0 : WTILES;
        const size_t per = (size_t)tl.ty * tl.tx;

        for (size_t j = 0; j < nt; j++)
            input_transform(V, (int)j, d, x, p, &tl, t0 + j, s);
        for (int xi = 0; xi < A * A; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nt, O, C, 1.0f,
                        V + (size_t)xi * WTILES * C, C, U + (size_t)xi * C * O, O, 0.0f,
                        M + (size_t)xi * WTILES * O, O);
        for (size_t j = 0; j < nt; j++) {
            size_t t = t0 + j, n = t / per, q = t % per;
            int oy0 = (int)(q / (size_t)tl.tx) * m, ox0 = (int)(q % (size_t)tl.tx) * m;
            /* d[i][jj][o] = (A^T M A) for the tile's alpha^2 rows M[xi][j]. */
            transform2d(d, (size_t)O, M + j * (size_t)O, (size_t)A * WTILES * O,
                        (size_t)WTILES * O, &p->sat, &p->sat, O);
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
    per_thread = (size_t)A * A * WTILES * (C + O) + (size_t)A * A * CO;
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
        float *d = D + (size_t)A * A * WTILES * O;
        float *W = e->shared + (size_t)th * (wsize + (size_t)O), *bsum = W + wsize;
        size_t lo = nchunks * (size_t)th / (size_t)T, hi = nchunks * (size_t)(th + 1) / (size_t)T;

        memset(W, 0, (wsize + (size_t)O) * sizeof(float));
        for (size_t ch = lo; ch < hi; ch++) {
            size_t t0 = ch * WTILES, nt = tl.count - t0 < WTILES ? tl.count - t0 : WTILES;
            for (size_t j = 0; j < nt; j++) {
                input_transform(V, (int)j, d, x, p, &tl, t0 + j, s);
                gather_dy(d, dy, p, &tl, t0 + j, s);
                for (int i = 0; i < m * m; i++)
#pragma omp simd
                    for (int o = 0; o < O; o++)
                        bsum[o] += d[(size_t)i * O + o];
                transform2d(D + j * (size_t)O, (size_t)WTILES * O, d, (size_t)m * O, (size_t)O,
                            &p->sgf, &p->sgf, O);
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
