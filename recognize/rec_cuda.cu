/*
 * rec_cuda.cu - the CUDA engine: the table of operations of rec_engine.h on
 * one NVIDIA GPU.  Convolutions run in cuDNN (the legacy descriptor API:
 * enough for stride-1 square kernels in NHWC, one call per direction, and
 * an algorithm search we can cache by shape; the graph API would mainly buy
 * fusions we get from one small kernel instead), dense layers in cuBLAS,
 * everything else in the kernels below, written to the CPU engine's
 * contracts: pooling (own kernels: the tie rule of pool_backward is the
 * first maximum in row-major order, which cuDNN does not promise),
 * batch-norm (momentum and unbiased running variance as documented),
 * dropout (the util_uniform hash, shared with the host through
 * rec_cuda_hash.h), softmax cross-entropy, RMSProp and images_load.
 *
 * Everything runs in order on one non-blocking stream; upload() copies
 * small host buffers through a pinned staging area (two halves used in
 * turn, an event guarding each) so it never waits for the GPU, download()
 * and sync() wait.  Kernels that mirror simple CPU arithmetic (images_load,
 * RMSProp, dropout, ReLU, pooling) use round-to-nearest intrinsics so nvcc
 * cannot contract them into FMAs: their results equal the CPU engine's bit
 * for bit.  Reductions (biases, batch-norm) are two-pass with a fixed order.
 * Convolution algorithms are cuDNN's fastest by default, as in PyTorch; some
 * of them sum with atomics, so two training runs on the GPU may differ in
 * the last bits.  DOCPIPE_CUDA_DETERMINISTIC=1 asks for deterministic ones
 * (where cuDNN has one) and a run then repeats exactly on the same GPU
 * (measured on an H100: kaggle trains about 14 % slower at batch 1024,
 * lenet5 about 2.8 times slower).  The filter gradient may run on NCHW
 * copies of x and dy, where cuDNN has FFT and Winograd algorithms (the
 * 32->32 5x5 layer of kaggle: 1430 us in NHWC, 820 us through NCHW on an
 * H100 at batch 1024); one timed run of each path per shape decides.
 *
 * Only the table (and nothing else) is visible to C: extern "C" below.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "util/util.h"
}
#include "rec_cuda.h"
#include "rec_cuda_cache.h"
#include "rec_cuda_hash.h"

#define STAGE_HALF ((size_t)16 << 20) /* bytes per half of the pinned upload area */
#define WS_LIMIT ((size_t)1 << 30)    /* most workspace a convolution algorithm may take */
#define THREADS 256
#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct rec_engine {
    int dev, tf32, search, det;
    char desc[400];
    cudaStream_t st;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    void *ws; /* convolution workspace */
    size_t ws_cap;
    float *scratch; /* reductions */
    size_t scratch_cap; /* bytes */
    char *pin; /* pinned staging, 2 x STAGE_HALF */
    int half;
    size_t at;
    cudaEvent_t ev[2];
    int ev_live[2];
    rec_algo_cache cache;
    int prof;                 /* DOCPIPE_CUDA_PROFILE=1: GPU time per operation */
    cudaEvent_t prof_ev[2];
    double prof_ms[32];
    long prof_calls[32], prof_seen[32];
    struct {
        int dir, n, c, oc, h, k, algo;
        double ms;
        long calls;
    } prof_conv[24];
    int prof_nconv;
    cudnnTensorDescriptor_t bd;     /* convolution bias, 1 x oc x 1 x 1 */
    cudnnActivationDescriptor_t ad; /* ReLU, for the fused convolution */
    int nofuse;                     /* the fused convolution was refused once */
    int wgrad_mode;                 /* DOCPIPE_CUDA_WGRAD: 0 auto, 1 nhwc, 2 nchw */
    cudnnTensorDescriptor_t tn[2];  /* NCHW copies and layout transforms */
    cudnnFilterDescriptor_t wn;     /* the filter in NCHW (KCRS) */
    cudaEvent_t tev[2];             /* timing the two filter-gradient paths */
    float *tbuf;                    /* NCHW x, dy and dw */
    size_t tbuf_cap;                /* bytes */
};

/* --------------------------------------------------------- profiling */

/*
 * With DOCPIPE_CUDA_PROFILE=1 every operation below is bracketed by two
 * events and waited for, and the engine prints the GPU milliseconds per
 * operation (and per convolution shape) when it is destroyed.  The first
 * PROF_WARM calls of each operation are left out: they hold the lazy
 * loading of kernels and the first allocations.  The waits serialize host
 * and GPU, so the totals are for finding the expensive operation, not a
 * throughput.
 */
#define PROF_WARM 12
enum {
    P_CONV_FWD, P_CONV_BWD_DATA, P_CONV_BWD_FILTER, P_POOL_FWD, P_POOL_BWD, P_RELU_FWD,
    P_RELU_BWD, P_DENSE_FWD, P_DENSE_BWD, P_BN_FWD, P_BN_BWD, P_DROP_FWD, P_DROP_BWD,
    P_XENT, P_SOFTMAX, P_RMSPROP, P_IMAGES, P_UPLOAD, P_DOWNLOAD, P_COUNT
};
static const char *const prof_names[P_COUNT] = {
    "conv forward", "conv backward data", "conv backward filter", "pool forward",
    "pool backward", "relu forward", "relu backward", "dense forward", "dense backward",
    "batchnorm forward", "batchnorm backward", "dropout forward", "dropout backward",
    "softmax cross-entropy", "softmax", "rmsprop", "images load", "upload", "download"};

struct ProfScope {
    rec_engine *e;
    int k;
    const rec_conv_shape *cs;
    int algo;
    ProfScope(rec_engine *eng, int kind, const rec_conv_shape *shape = NULL)
        : e(eng), k(kind), cs(shape), algo(-1)
    {
        if (e->prof)
            cudaEventRecord(e->prof_ev[0], e->st);
    }
    ~ProfScope()
    {
        float ms = 0.0f;
        if (!e->prof || ++e->prof_seen[k] <= PROF_WARM)
            return;
        cudaEventRecord(e->prof_ev[1], e->st);
        if (cudaEventSynchronize(e->prof_ev[1]) != cudaSuccess ||
            cudaEventElapsedTime(&ms, e->prof_ev[0], e->prof_ev[1]) != cudaSuccess)
            return;
        e->prof_ms[k] += ms;
        e->prof_calls[k]++;
        if (!cs)
            return;
        int j = 0;
        while (j < e->prof_nconv &&
               !(e->prof_conv[j].dir == k && e->prof_conv[j].n == cs->n &&
                 e->prof_conv[j].c == cs->c && e->prof_conv[j].oc == cs->oc &&
                 e->prof_conv[j].h == cs->h && e->prof_conv[j].k == cs->k))
            j++;
        if (j == e->prof_nconv) {
            if (j == COUNT_OF(e->prof_conv))
                return;
            e->prof_nconv++;
            e->prof_conv[j].dir = k, e->prof_conv[j].n = cs->n, e->prof_conv[j].c = cs->c;
            e->prof_conv[j].oc = cs->oc, e->prof_conv[j].h = cs->h, e->prof_conv[j].k = cs->k;
            e->prof_conv[j].ms = 0.0, e->prof_conv[j].calls = 0;
        }
        e->prof_conv[j].algo = algo;
        e->prof_conv[j].ms += ms;
        e->prof_conv[j].calls++;
    }
};
#define PROFILE(kind) ProfScope prof_scope_(e, kind)
#define PROFILE_CONV(kind, shape) ProfScope prof_scope_(e, kind, shape)

static void prof_report(const rec_engine *e)
{
    double total = 0.0;
    for (int k = 0; k < P_COUNT; k++)
        total += e->prof_ms[k];
    util_log(UTIL_LOG_INFO, "CUDA profile: %.1f ms of GPU time in all", total);
    for (int k = 0; k < P_COUNT; k++)
        if (e->prof_calls[k])
            util_log(UTIL_LOG_INFO, "CUDA profile: %-22s %9.2f ms %5.1f %% %7ld calls %8.1f us/call",
                     prof_names[k], e->prof_ms[k], total > 0 ? 100.0 * e->prof_ms[k] / total : 0.0,
                     e->prof_calls[k], 1000.0 * e->prof_ms[k] / (double)e->prof_calls[k]);
    for (int j = 0; j < e->prof_nconv; j++)
        util_log(UTIL_LOG_INFO, "CUDA profile:   %-20s n %5d c %3d -> %3d, %2dx%-2d k%d, algo %d: "
                 "%8.1f us/call",
                 prof_names[e->prof_conv[j].dir], e->prof_conv[j].n, e->prof_conv[j].c,
                 e->prof_conv[j].oc, e->prof_conv[j].h, e->prof_conv[j].h, e->prof_conv[j].k,
                 e->prof_conv[j].algo, 1000.0 * e->prof_conv[j].ms / (double)e->prof_conv[j].calls);
}

/* ------------------------------------------------------------- errors */

static int cu_fail(cudaError_t err, const char *what)
{
    (void)cudaGetLastError(); /* clears a non-sticky error */
    if (err == cudaErrorMemoryAllocation) {
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        util_log(UTIL_LOG_ERROR, "CUDA engine: out of GPU memory (%s; %zu of %zu MiB free)", what,
                 fr >> 20, tot >> 20);
        return UTIL_ENOMEM;
    }
    util_log(UTIL_LOG_ERROR, "CUDA engine: %s: %s", what, cudaGetErrorString(err));
    return UTIL_ENODEV;
}

static int dnn_fail(cudnnStatus_t st, const char *what)
{
    if (st == CUDNN_STATUS_ALLOC_FAILED) {
        util_log(UTIL_LOG_ERROR, "CUDA engine: out of GPU memory (cuDNN, %s)", what);
        return UTIL_ENOMEM;
    }
    util_log(UTIL_LOG_ERROR, "CUDA engine: cuDNN %s: %s", what, cudnnGetErrorString(st));
    return UTIL_ENODEV;
}

static int blas_fail(cublasStatus_t st, const char *what)
{
    if (st == CUBLAS_STATUS_ALLOC_FAILED) {
        util_log(UTIL_LOG_ERROR, "CUDA engine: out of GPU memory (cuBLAS, %s)", what);
        return UTIL_ENOMEM;
    }
    util_log(UTIL_LOG_ERROR, "CUDA engine: cuBLAS %s: %s", what, cublasGetStatusString(st));
    return UTIL_ENODEV;
}

#define CK(call, what)                        \
    do {                                      \
        cudaError_t err_ = (call);            \
        if (err_ != cudaSuccess)              \
            return cu_fail(err_, what);       \
    } while (0)
#define DK(call, what)                        \
    do {                                      \
        cudnnStatus_t st_ = (call);           \
        if (st_ != CUDNN_STATUS_SUCCESS)      \
            return dnn_fail(st_, what);       \
    } while (0)
#define BK(call, what)                        \
    do {                                      \
        cublasStatus_t st_ = (call);          \
        if (st_ != CUBLAS_STATUS_SUCCESS)     \
            return blas_fail(st_, what);      \
    } while (0)
/* After a kernel launch: a bad configuration shows at once. */
#define LAUNCHED(what) CK(cudaGetLastError(), what)

static unsigned blocks(size_t n) { return (unsigned)((n + THREADS - 1) / THREADS); }

/* ----------------------------------------------------------- instance */

static void cuda_destroy(rec_engine **pe)
{
    rec_engine *e;

    if (!pe || !*pe)
        return;
    e = *pe;
    if (e->st)
        cudaStreamSynchronize(e->st);
    if (e->prof)
        prof_report(e);
    for (int i = 0; i < 2; i++)
        if (e->prof_ev[i])
            cudaEventDestroy(e->prof_ev[i]);
    cudaFree(e->ws);
    cudaFree(e->scratch);
    if (e->pin)
        cudaFreeHost(e->pin);
    for (int i = 0; i < 2; i++)
        if (e->ev[i])
            cudaEventDestroy(e->ev[i]);
    if (e->xd)
        cudnnDestroyTensorDescriptor(e->xd);
    if (e->yd)
        cudnnDestroyTensorDescriptor(e->yd);
    if (e->wd)
        cudnnDestroyFilterDescriptor(e->wd);
    if (e->cd)
        cudnnDestroyConvolutionDescriptor(e->cd);
    if (e->bd)
        cudnnDestroyTensorDescriptor(e->bd);
    for (int i = 0; i < 2; i++) {
        if (e->tn[i])
            cudnnDestroyTensorDescriptor(e->tn[i]);
        if (e->tev[i])
            cudaEventDestroy(e->tev[i]);
    }
    if (e->wn)
        cudnnDestroyFilterDescriptor(e->wn);
    cudaFree(e->tbuf);
    if (e->ad)
        cudnnDestroyActivationDescriptor(e->ad);
    if (e->dnn)
        cudnnDestroy(e->dnn);
    if (e->blas)
        cublasDestroy(e->blas);
    if (e->st)
        cudaStreamDestroy(e->st);
    free(e);
    *pe = NULL;
}

static int create_on(rec_engine *e)
{
    cudaDeviceProp prop;
    const char *env = getenv("DOCPIPE_CUDA_TF32");
    size_t fr = 0, tot = 0;

    CK(cudaSetDevice(e->dev), "selecting the GPU");
    CK(cudaGetDeviceProperties(&prop, e->dev), "reading the GPU's properties");
    if (prop.major < 8) {
        util_log(UTIL_LOG_ERROR, "CUDA engine: no usable GPU: %s is sm_%d%d, this build needs "
                 "sm_80 or newer", prop.name, prop.major, prop.minor);
        return UTIL_ENODEV;
    }
    CK(cudaStreamCreateWithFlags(&e->st, cudaStreamNonBlocking), "creating a stream");
    for (int i = 0; i < 2; i++)
        CK(cudaEventCreateWithFlags(&e->ev[i], cudaEventDisableTiming), "creating an event");
    DK(cudnnCreate(&e->dnn), "start");
    DK(cudnnSetStream(e->dnn, e->st), "stream");
    BK(cublasCreate(&e->blas), "start");
    BK(cublasSetStream(e->blas, e->st), "stream");
    BK(cublasSetMathMode(e->blas, CUBLAS_DEFAULT_MATH), "math mode");
    DK(cudnnCreateTensorDescriptor(&e->xd), "descriptor");
    DK(cudnnCreateTensorDescriptor(&e->yd), "descriptor");
    DK(cudnnCreateFilterDescriptor(&e->wd), "descriptor");
    DK(cudnnCreateConvolutionDescriptor(&e->cd), "descriptor");
    DK(cudnnCreateTensorDescriptor(&e->bd), "descriptor");
    DK(cudnnCreateTensorDescriptor(&e->tn[0]), "descriptor");
    DK(cudnnCreateTensorDescriptor(&e->tn[1]), "descriptor");
    DK(cudnnCreateFilterDescriptor(&e->wn), "descriptor");
    for (int i = 0; i < 2; i++)
        CK(cudaEventCreate(&e->tev[i]), "creating a timing event");
    DK(cudnnCreateActivationDescriptor(&e->ad), "descriptor");
    DK(cudnnSetActivationDescriptor(e->ad, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0),
       "ReLU descriptor");
    e->tf32 = !(env && strcmp(env, "0") == 0);
    env = getenv("DOCPIPE_CUDA_SEARCH");
    e->search = env && strcmp(env, "1") == 0;
    env = getenv("DOCPIPE_CUDA_WGRAD");
    e->wgrad_mode = env && strcmp(env, "nhwc") == 0 ? 1 : env && strcmp(env, "nchw") == 0 ? 2 : 0;
    env = getenv("DOCPIPE_CUDA_DETERMINISTIC");
    e->det = env && strcmp(env, "1") == 0;
    env = getenv("DOCPIPE_CUDA_PROFILE");
    if (env && strcmp(env, "1") == 0) {
        for (int i = 0; i < 2; i++)
            CK(cudaEventCreate(&e->prof_ev[i]), "creating a profiling event");
        e->prof = 1;
    }
    cudaMemGetInfo(&fr, &tot);
    snprintf(e->desc, sizeof e->desc,
             "cuda, %s (sm_%d%d, %zu GiB), cuDNN %zu, %s convolutions%s%s", prop.name,
             prop.major, prop.minor, (tot + (1u << 29)) >> 30, cudnnGetVersion(),
             e->tf32 ? "TF32" : "FP32", e->search ? ", measured algorithm search" : "",
             e->det ? ", deterministic" : "");
    return UTIL_OK;
}

static int cuda_create(rec_engine **pe, const rec_engine_opts *opts)
{
    int count = 0, rc;
    rec_engine *e;
    cudaError_t err;

    *pe = NULL;
    err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        util_log(UTIL_LOG_ERROR, "CUDA engine: no usable GPU (%s)", cudaGetErrorString(err));
        return UTIL_ENODEV;
    }
    if (count < 1) {
        util_log(UTIL_LOG_ERROR, "CUDA engine: no usable GPU (no CUDA device found)");
        return UTIL_ENODEV;
    }
    e = (rec_engine *)calloc(1, sizeof *e);
    if (!e) {
        util_log(UTIL_LOG_ERROR, "out of memory creating the CUDA engine");
        return UTIL_ENOMEM;
    }
    e->dev = opts ? opts->device : 0;
    if (e->dev < 0 || e->dev >= count) {
        util_log(UTIL_LOG_ERROR, "CUDA engine: no GPU %d (%d found)", e->dev, count);
        free(e);
        return UTIL_ENODEV;
    }
    rc = create_on(e);
    if (rc) {
        if (rc != UTIL_ENOMEM)
            rc = UTIL_ENODEV;
        cuda_destroy(&e);
        return rc;
    }
    *pe = e;
    return UTIL_OK;
}

static const char *cuda_describe(rec_engine *e) { return e->desc; }

/* ------------------------------------------------------------- memory */

static int cuda_alloc(rec_engine *e, void **pptr, size_t bytes)
{
    size_t rounded = ((bytes ? bytes : 1) + 63) / 64 * 64;
    cudaError_t err;

    *pptr = NULL;
    err = cudaMalloc(pptr, rounded);
    if (err != cudaSuccess) {
        *pptr = NULL;
        char what[64];
        snprintf(what, sizeof what, "allocating %zu bytes", bytes);
        return cu_fail(err, what);
    }
    CK(cudaMemsetAsync(*pptr, 0, rounded, e->st), "clearing new memory");
    return UTIL_OK;
}

static void cuda_free(rec_engine *e, void *ptr)
{
    (void)e;
    if (ptr)
        cudaFree(ptr); /* waits for work using it */
}

static int cuda_upload(rec_engine *e, void *dst, const void *src, size_t bytes)
{
    PROFILE(P_UPLOAD);
    char *p;

    if (!bytes)
        return UTIL_OK;
    if (!e->pin) {
        cudaError_t err = cudaHostAlloc((void **)&e->pin, 2 * STAGE_HALF, cudaHostAllocDefault);
        if (err != cudaSuccess) {
            e->pin = NULL;
            (void)cudaGetLastError();
        }
    }
    if (!e->pin || bytes > STAGE_HALF) { /* large (the data set, once): wait for it */
        CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, e->st), "upload");
        CK(cudaStreamSynchronize(e->st), "upload");
        return UTIL_OK;
    }
    if (e->at + bytes > STAGE_HALF) { /* this half is full: move to the other one */
        CK(cudaEventRecord(e->ev[e->half], e->st), "upload");
        e->ev_live[e->half] = 1;
        e->half ^= 1;
        e->at = 0;
        if (e->ev_live[e->half])
            CK(cudaEventSynchronize(e->ev[e->half]), "upload");
    }
    p = e->pin + (size_t)e->half * STAGE_HALF + e->at;
    memcpy(p, src, bytes);
    CK(cudaMemcpyAsync(dst, p, bytes, cudaMemcpyHostToDevice, e->st), "upload");
    e->at += (bytes + 255) / 256 * 256;
    return UTIL_OK;
}

static int cuda_download(rec_engine *e, void *dst, const void *src, size_t bytes)
{
    PROFILE(P_DOWNLOAD);
    if (!bytes)
        return UTIL_OK;
    CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, e->st), "download");
    CK(cudaStreamSynchronize(e->st), "download");
    return UTIL_OK;
}

static int cuda_copy(rec_engine *e, void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, e->st), "copy");
    return UTIL_OK;
}

static int cuda_zero(rec_engine *e, void *dst, size_t bytes)
{
    if (bytes)
        CK(cudaMemsetAsync(dst, 0, bytes, e->st), "zero");
    return UTIL_OK;
}

static int cuda_sync(rec_engine *e)
{
    CK(cudaStreamSynchronize(e->st), "sync");
    CK(cudaGetLastError(), "sync");
    return UTIL_OK;
}

/* *pbuf of at least bytes bytes: grown (freed and allocated again, which
 * waits for the work using it), never shrunk; *pcap is its size. */
static int grow(void **pbuf, size_t *pcap, size_t bytes, const char *what)
{
    if (*pcap >= bytes)
        return UTIL_OK;
    cudaFree(*pbuf);
    *pbuf = NULL;
    *pcap = 0;
    CK(cudaMalloc(pbuf, bytes), what);
    *pcap = bytes;
    return UTIL_OK;
}

/* Engine scratch of at least floats floats. */
static int scratch(rec_engine *e, size_t floats)
{
    return grow((void **)&e->scratch, &e->scratch_cap, floats * sizeof(float), "scratch memory");
}

static int workspace(rec_engine *e, size_t bytes)
{
    return grow(&e->ws, &e->ws_cap, bytes, "convolution workspace");
}

/* ---------------------------------------------------------- reductions */

enum { SUM_X = 0, SUM_SQ = 1, SUM_DYX = 2 };

/* Per-column partial sums of f(x) over a slice of rows: block (32, 8),
 * blockIdx.x a tile of 32 columns, blockIdx.y a slice of rows. */
__global__ void k_colsum_part(float *part, const float *x, const float *center, const float *dy,
                              int rows, int cols, int mode, int per)
{
    __shared__ float sh[8][33];
    int col = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * per, r1 = min(rows, r0 + per);
    float acc = 0.0f;

    if (col < cols) {
        float cc = center ? center[col] : 0.0f;
        for (int r = r0 + threadIdx.y; r < r1; r += 8) {
            size_t i = (size_t)r * cols + col;
            float v = x[i];
            if (mode == SUM_SQ)
                v = (v - cc) * (v - cc);
            else if (mode == SUM_DYX)
                v = dy[i] * (v - cc);
            acc += v;
        }
    }
    sh[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
        float s = 0.0f;
        for (int t = 0; t < 8; t++)
            s += sh[t][threadIdx.x];
        part[(size_t)blockIdx.y * cols + col] = s;
    }
}

__global__ void k_colsum_final(float *dst, const float *part, int nb, int cols)
{
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col < cols) {
        float s = 0.0f;
        for (int b = 0; b < nb; b++)
            s += part[(size_t)b * cols + col];
        dst[col] = s;
    }
}

/* dst[cols] = per-column sums of f(x) over rows (dst is engine memory and
 * may lie in the scratch at or after offset `keep` floats). */
static int colsum(rec_engine *e, float *dst, const float *x, const float *center, const float *dy,
                  int rows, int cols, int mode, size_t keep)
{
    int nb = rows / 2048 + 1, per;
    float *part;
    int rc;

    if (nb > 256)
        nb = 256;
    per = (rows + nb - 1) / nb;
    nb = per ? (rows + per - 1) / per : 1;
    if (nb < 1)
        nb = 1;
    if ((rc = scratch(e, keep + (size_t)nb * cols)))
        return rc;
    part = e->scratch + keep;
    k_colsum_part<<<dim3((cols + 31) / 32, nb), dim3(32, 8), 0, e->st>>>(part, x, center, dy,
                                                                        rows, cols, mode, per);
    LAUNCHED("column sums");
    k_colsum_final<<<blocks((size_t)cols), THREADS, 0, e->st>>>(dst, part, nb, cols);
    LAUNCHED("column sums");
    return UTIL_OK;
}

/* -------------------------------------------------------- convolution */

__global__ void k_bias_act(float *y, const float *b, size_t count, int oc, int relu)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) {
        float v = y[i] + b[i % (size_t)oc];
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

/* The convolution descriptor for s: its padding, stride 1, no dilation. */
static int conv_padding(rec_engine *e, const rec_conv_shape *s)
{
    DK(cudnnSetConvolution2dDescriptor(e->cd, s->pad, s->pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                       CUDNN_DATA_FLOAT), "convolution descriptor");
    return UTIL_OK;
}

static int conv_describe(rec_engine *e, const rec_conv_shape *s, int math)
{
    int rc;

    DK(cudnnSetTensor4dDescriptor(e->xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s->n, s->c, s->h,
                                  s->w), "input descriptor");
    DK(cudnnSetTensor4dDescriptor(e->yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s->n, s->oc, s->oh,
                                  s->ow), "output descriptor");
    DK(cudnnSetFilter4dDescriptor(e->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, s->oc, s->c, s->k,
                                  s->k), "filter descriptor");
    if ((rc = conv_padding(e, s)))
        return rc;
    DK(cudnnSetConvolutionMathType(e->cd, (cudnnMathType_t)math), "math type");
    return UTIL_OK;
}

/* The fastest result that worked, fits WS_LIMIT and (when asked) is
 * deterministic; -1 when none. */
template <typename Perf>
static int pick(const Perf *perf, int got, int want_det)
{
    for (int pass = want_det ? 0 : 1; pass < 2; pass++)
        for (int i = 0; i < got; i++)
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= WS_LIMIT &&
                (pass == 1 || perf[i].determinism == CUDNN_DETERMINISTIC))
                return i;
    return -1;
}

/*
 * Sets the descriptors for s and direction dir, choosing the algorithm the
 * first time this shape is seen, and makes the workspace large enough.
 * The choice comes from cuDNN's heuristics (as PyTorch's default,
 * cudnn.benchmark off), the fastest candidate or, with
 * DOCPIPE_CUDA_DETERMINISTIC=1, the fastest deterministic one;
 * DOCPIPE_CUDA_SEARCH=1 asks cuDNN to time the candidates instead (on an
 * H100 it picked the same algorithms for the presets and cost time at
 * the start; the pick may change from run to run).
 */
#define CHOOSE(PerfT, COUNT, FIND, GET, DET, WHAT)                                         \
    do {                                                                                   \
        PerfT perf[COUNT];                                                                 \
        int got = 0, i = -1;                                                               \
        if (e->search && FIND == CUDNN_STATUS_SUCCESS)                                     \
            i = pick(perf, got, (DET) && e->det);                                          \
        if (i < 0) {                                                                       \
            DK(GET, WHAT);                                                                 \
            i = pick(perf, got, (DET) && e->det);                                          \
        }                                                                                  \
        if (i < 0)                                                                         \
            return dnn_fail(CUDNN_STATUS_NOT_SUPPORTED, WHAT);                             \
        en->algo[dir] = perf[i].algo, en->workspace[dir] = perf[i].memory;                 \
        en->math[dir] = perf[i].mathType;                                                  \
    } while (0)

static int conv_prepare(rec_engine *e, const rec_conv_shape *s, int dir, int *palgo,
                        size_t *pws)
{
    const int math = e->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    rec_algo_entry *en = rec_algo_cache_slot(&e->cache, s);
    int rc;

    if (!en->found[dir]) {
        if ((rc = conv_describe(e, s, math)))
            return rc;
        if (dir == REC_CONV_FWD)
            CHOOSE(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                   cudnnFindConvolutionForwardAlgorithm(e->dnn, e->xd, e->wd, e->cd, e->yd,
                                                        COUNT_OF(perf), &got, perf),
                   cudnnGetConvolutionForwardAlgorithm_v7(e->dnn, e->xd, e->wd, e->cd, e->yd,
                                                          COUNT_OF(perf), &got, perf),
                   0, "forward algorithm");
        else if (dir == REC_CONV_BWD_DATA)
            CHOOSE(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                   cudnnFindConvolutionBackwardDataAlgorithm(e->dnn, e->wd, e->yd, e->cd, e->xd,
                                                             COUNT_OF(perf), &got, perf),
                   cudnnGetConvolutionBackwardDataAlgorithm_v7(e->dnn, e->wd, e->yd, e->cd,
                                                               e->xd, COUNT_OF(perf), &got, perf),
                   1, "backward data algorithm");
        else
            CHOOSE(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                   cudnnFindConvolutionBackwardFilterAlgorithm(e->dnn, e->xd, e->yd, e->cd,
                                                               e->wd, COUNT_OF(perf), &got, perf),
                   cudnnGetConvolutionBackwardFilterAlgorithm_v7(e->dnn, e->xd, e->yd, e->cd,
                                                                 e->wd, COUNT_OF(perf), &got,
                                                                 perf),
                   1, "backward filter algorithm");
        /* FP32 mode never runs tensor-core math, whatever cuDNN proposed. */
        if (!e->tf32)
            en->math[dir] = CUDNN_FMA_MATH;
        en->found[dir] = 1;
    }
    if ((rc = conv_describe(e, s, en->math[dir])) || (rc = workspace(e, en->workspace[dir])))
        return rc;
    *palgo = en->algo[dir];
    *pws = en->workspace[dir];
    return UTIL_OK;
}

static int cuda_conv_forward(rec_engine *e, float *y, const float *x, const float *w,
                             const float *b, int act, const rec_conv_shape *s)
{
    PROFILE_CONV(P_CONV_FWD, s);
    const float one = 1.0f, zero = 0.0f;
    size_t ws, count = (size_t)s->n * s->oh * s->ow * s->oc;
    int algo, rc;

    if ((rc = conv_prepare(e, s, REC_CONV_FWD, &algo, &ws)))
        return rc;
    prof_scope_.algo = algo;
    /* Convolution, bias and ReLU in one call where cuDNN takes it (one pass
     * over y less); else the convolution and our bias kernel. */
    if (act == REC_ACT_RELU && !e->nofuse) {
        cudnnStatus_t st;
        DK(cudnnSetTensor4dDescriptor(e->bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s->oc, 1, 1),
           "bias descriptor");
        st = cudnnConvolutionBiasActivationForward(e->dnn, &one, e->xd, x, e->wd, w, e->cd,
                                                   (cudnnConvolutionFwdAlgo_t)algo, e->ws, ws,
                                                   &zero, e->yd, y, e->bd, b, e->ad, e->yd, y);
        if (st == CUDNN_STATUS_SUCCESS)
            return UTIL_OK;
        if (st != CUDNN_STATUS_NOT_SUPPORTED)
            return dnn_fail(st, "convolution forward with bias and ReLU");
        e->nofuse = 1;
    }
    DK(cudnnConvolutionForward(e->dnn, &one, e->xd, x, e->wd, w, e->cd,
                               (cudnnConvolutionFwdAlgo_t)algo, e->ws, ws, &zero, e->yd, y),
       "convolution forward");
    k_bias_act<<<blocks(count), THREADS, 0, e->st>>>(y, b, count, s->oc, act == REC_ACT_RELU);
    LAUNCHED("convolution bias");
    return UTIL_OK;
}

static int cuda_conv_backward_data(rec_engine *e, float *dx, const float *dy, const float *w,
                                   const rec_conv_shape *s)
{
    PROFILE_CONV(P_CONV_BWD_DATA, s);
    const float one = 1.0f, zero = 0.0f;
    size_t ws;
    int algo, rc;

    if ((rc = conv_prepare(e, s, REC_CONV_BWD_DATA, &algo, &ws)))
        return rc;
    prof_scope_.algo = algo;
    DK(cudnnConvolutionBackwardData(e->dnn, &one, e->wd, w, e->yd, dy, e->cd,
                                    (cudnnConvolutionBwdDataAlgo_t)algo, e->ws, ws, &zero, e->xd,
                                    dx),
       "convolution backward data");
    return UTIL_OK;
}

/* From layout `from` to layout `to`, an n x c x h x w float tensor. */
static int relayout(rec_engine *e, float *dst, cudnnTensorFormat_t to, const float *src,
                    cudnnTensorFormat_t from, int n, int c, int h, int w)
{
    const float one = 1.0f, zero = 0.0f;
    DK(cudnnSetTensor4dDescriptor(e->tn[0], from, CUDNN_DATA_FLOAT, n, c, h, w), "layout");
    DK(cudnnSetTensor4dDescriptor(e->tn[1], to, CUDNN_DATA_FLOAT, n, c, h, w), "layout");
    DK(cudnnTransformTensor(e->dnn, &one, e->tn[0], src, &zero, e->tn[1], dst), "layout change");
    return UTIL_OK;
}

/*
 * The filter gradient through NCHW: x and dy copied to NCHW, cuDNN's
 * fastest NCHW algorithm (measured once per shape: FFT and Winograd exist
 * only there), the KCRS result copied back to our KRSC.  Returns
 * UTIL_EUNSUP (logging nothing) when cuDNN has no algorithm for it.
 */
static int wgrad_nchw(rec_engine *e, float *dw, const float *dy, const float *x,
                      const rec_conv_shape *s, rec_algo_entry *en)
{
    const float one = 1.0f, zero = 0.0f;
    size_t nx = (size_t)s->n * s->c * s->h * s->w, ny = (size_t)s->n * s->oc * s->oh * s->ow;
    size_t nw = (size_t)s->oc * s->c * s->k * s->k, need = nx + ny + nw;
    int rc;

    if ((rc = grow((void **)&e->tbuf, &e->tbuf_cap, need * sizeof(float), "NCHW copies")))
        return rc;
    float *xn = e->tbuf, *dyn = xn + nx, *dwn = dyn + ny;
    /* e->cd holds whichever convolution was described last: this one's. */
    if ((rc = conv_padding(e, s)) ||
        (rc = relayout(e, xn, CUDNN_TENSOR_NCHW, x, CUDNN_TENSOR_NHWC, s->n, s->c, s->h, s->w)) ||
        (rc = relayout(e, dyn, CUDNN_TENSOR_NCHW, dy, CUDNN_TENSOR_NHWC, s->n, s->oc, s->oh,
                       s->ow)))
        return rc;
    /* relayout left tn[1] describing dy in NCHW; tn[0] now x in NCHW. */
    DK(cudnnSetTensor4dDescriptor(e->tn[0], CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n, s->c, s->h,
                                  s->w), "NCHW input");
    DK(cudnnSetFilter4dDescriptor(e->wn, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->oc, s->c, s->k,
                                  s->k), "NCHW filter");
    if (!en->nchw_found) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        int got = 0, i;
        DK(cudnnSetConvolutionMathType(e->cd, e->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
           "math type");
        DK(cudnnFindConvolutionBackwardFilterAlgorithm(e->dnn, e->tn[0], e->tn[1], e->cd, e->wn,
                                                       COUNT_OF(perf), &got, perf),
           "NCHW backward filter algorithm");
        i = pick(perf, got, e->det);
        en->nchw_found = 1;
        en->nchw_algo = i < 0 ? -1 : perf[i].algo;
        en->nchw_math = i < 0 ? 0 : e->tf32 ? perf[i].mathType : CUDNN_FMA_MATH;
        en->nchw_workspace = i < 0 ? 0 : perf[i].memory;
    }
    if (en->nchw_algo < 0)
        return UTIL_EUNSUP;
    DK(cudnnSetConvolutionMathType(e->cd, (cudnnMathType_t)en->nchw_math), "math type");
    if ((rc = workspace(e, en->nchw_workspace)))
        return rc;
    DK(cudnnConvolutionBackwardFilter(e->dnn, &one, e->tn[0], xn, e->tn[1], dyn, e->cd,
                                      (cudnnConvolutionBwdFilterAlgo_t)en->nchw_algo, e->ws,
                                      en->nchw_workspace, &zero, e->wn, dwn),
       "convolution backward filter (NCHW)");
    return relayout(e, dw, CUDNN_TENSOR_NHWC, dwn, CUDNN_TENSOR_NCHW, s->oc, s->c, s->k, s->k);
}

static int wgrad_nhwc(rec_engine *e, float *dw, const float *dy, const float *x,
                      const rec_conv_shape *s, int *palgo)
{
    const float one = 1.0f, zero = 0.0f;
    size_t ws;
    int algo, rc;

    if ((rc = conv_prepare(e, s, REC_CONV_BWD_FILTER, &algo, &ws)))
        return rc;
    *palgo = algo;
    DK(cudnnConvolutionBackwardFilter(e->dnn, &one, e->xd, x, e->yd, dy, e->cd,
                                      (cudnnConvolutionBwdFilterAlgo_t)algo, e->ws, ws, &zero,
                                      e->wd, dw),
       "convolution backward filter");
    return UTIL_OK;
}

/* GPU milliseconds of the work queued between the two timing events. */
static float timed_ms(rec_engine *e)
{
    float ms = 1e30f;
    if (cudaEventSynchronize(e->tev[1]) != cudaSuccess ||
        cudaEventElapsedTime(&ms, e->tev[0], e->tev[1]) != cudaSuccess)
        ms = 1e30f;
    return ms;
}

/*
 * The filter gradient in NHWC, or through NCHW copies where that is
 * faster: decided once per shape by timing one run of each (the second
 * run of each, the first holds the algorithm search), unless
 * DOCPIPE_CUDA_WGRAD says nhwc or nchw.  Deterministic mode stays in
 * NHWC (a timing must not decide what a repeatable run computes).
 */
static int cuda_conv_backward_filter(rec_engine *e, float *dw, float *db, const float *dy,
                                     const float *x, const rec_conv_shape *s)
{
    PROFILE_CONV(P_CONV_BWD_FILTER, s);
    rec_algo_entry *en = rec_algo_cache_slot(&e->cache, s);
    int algo = -1, rc;

    if (!en->wgrad_path) {
        int mode = e->wgrad_mode ? e->wgrad_mode : e->det ? 1 : 0;
        if (mode == 0) {
            float t_nhwc, t_nchw = 1e30f;
            for (int rep = 0; rep < 2; rep++) {
                CK(cudaEventRecord(e->tev[0], e->st), "timing");
                if ((rc = wgrad_nhwc(e, dw, dy, x, s, &algo)))
                    return rc;
                CK(cudaEventRecord(e->tev[1], e->st), "timing");
                t_nhwc = timed_ms(e);
            }
            for (int rep = 0; rep < 2; rep++) {
                CK(cudaEventRecord(e->tev[0], e->st), "timing");
                rc = wgrad_nchw(e, dw, dy, x, s, en);
                if (rc == UTIL_EUNSUP)
                    break;
                if (rc)
                    return rc;
                CK(cudaEventRecord(e->tev[1], e->st), "timing");
                t_nchw = timed_ms(e);
            }
            if (t_nchw >= t_nhwc && (rc = wgrad_nhwc(e, dw, dy, x, s, &algo)))
                return rc; /* dw from the path that stays */
            mode = t_nchw < t_nhwc ? 2 : 1;
        }
        en = rec_algo_cache_slot(&e->cache, s); /* the same entry; conv_prepare may have looked */
        en->wgrad_path = mode;
    }
    if (en->wgrad_path == 2) {
        rc = wgrad_nchw(e, dw, dy, x, s, en);
        if (rc == UTIL_EUNSUP) {
            en->wgrad_path = 1;
            rc = wgrad_nhwc(e, dw, dy, x, s, &algo);
        } else {
            algo = 100 + en->nchw_algo; /* the profile's mark of the NCHW path */
        }
    } else {
        rc = wgrad_nhwc(e, dw, dy, x, s, &algo);
    }
    if (rc)
        return rc;
    prof_scope_.algo = algo;
    return colsum(e, db, dy, NULL, NULL, s->n * s->oh * s->ow, s->oc, SUM_X, 0);
}

/* ------------------------------------------------------------ pooling */

__global__ void k_pool_fwd(float *y, const float *x, rec_pool_shape s, size_t count)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count)
        return;
    int c = (int)(i % s.c);
    size_t r = i / s.c;
    int ox = (int)(r % s.ow), oy = (int)(r / s.ow % s.oh), n = (int)(r / s.ow / s.oh);
    const float *first = x + (((size_t)n * s.h + (size_t)oy * s.stride) * s.w +
                              (size_t)ox * s.stride) * s.c + c;
    float m = first[0];
    for (int ky = 0; ky < s.k; ky++)
        for (int kx = 0; kx < s.k; kx++) {
            float v = first[((size_t)ky * s.w + kx) * s.c];
            m = v > m ? v : m;
        }
    y[i] = m;
}

/* One thread per input element: the sum, over the windows holding it (in
 * the CPU's order), of dy where it is the window's first maximum. */
__global__ void k_pool_bwd(float *dx, const float *dy, const float *x, const float *y,
                           rec_pool_shape s, size_t count)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count)
        return;
    int c = (int)(i % s.c);
    size_t r = i / s.c;
    int ix = (int)(r % s.w), iy = (int)(r / s.w % s.h), n = (int)(r / s.w / s.h);
    int oy0 = iy >= s.k ? (iy - s.k) / s.stride + 1 : 0, oy1 = min(iy / s.stride, s.oh - 1);
    int ox0 = ix >= s.k ? (ix - s.k) / s.stride + 1 : 0, ox1 = min(ix / s.stride, s.ow - 1);
    const float *xn = x + (size_t)n * s.h * s.w * s.c + c;
    float acc = 0.0f;

    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            size_t o = (((size_t)n * s.oh + oy) * s.ow + ox) * s.c + c;
            float m = y[o];
            int fy = -1, fx = -1;
            for (int ky = 0; ky < s.k && fy < 0; ky++)
                for (int kx = 0; kx < s.k; kx++)
                    if (xn[((size_t)(oy * s.stride + ky) * s.w + ox * s.stride + kx) * s.c] == m) {
                        fy = oy * s.stride + ky, fx = ox * s.stride + kx;
                        break;
                    }
            if (fy == iy && fx == ix)
                acc = __fadd_rn(acc, dy[o]);
        }
    dx[i] = acc;
}

/* Windows that do not overlap (stride == k): one thread per window and
 * channel writes the window's part of dx, dy at its first maximum (row by
 * row, as the CPU looks) and 0 elsewhere; each input is read once. */
__global__ void k_pool_bwd_tiled(float *dx, const float *dy, const float *x, const float *y,
                                 rec_pool_shape s, size_t count)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count)
        return;
    int c = (int)(i % s.c);
    size_t r = i / s.c;
    int ox = (int)(r % s.ow), oy = (int)(r / s.ow % s.oh), n = (int)(r / s.ow / s.oh);
    size_t first = (((size_t)n * s.h + (size_t)oy * s.k) * s.w + (size_t)ox * s.k) * s.c + c;
    float m = y[i], g = dy[i];
    int found = 0;

    for (int ky = 0; ky < s.k; ky++)
        for (int kx = 0; kx < s.k; kx++) {
            size_t at = first + ((size_t)ky * s.w + kx) * s.c;
            int hit = !found && x[at] == m;
            dx[at] = hit ? g : 0.0f;
            found |= hit;
        }
}

static int cuda_pool_forward(rec_engine *e, float *y, const float *x, const rec_pool_shape *s)
{
    PROFILE(P_POOL_FWD);
    size_t count = (size_t)s->n * s->oh * s->ow * s->c;
    k_pool_fwd<<<blocks(count), THREADS, 0, e->st>>>(y, x, *s, count);
    LAUNCHED("pool forward");
    return UTIL_OK;
}

static int cuda_pool_backward(rec_engine *e, float *dx, const float *dy, const float *x,
                              const float *y, const rec_pool_shape *s)
{
    PROFILE(P_POOL_BWD);
    size_t count = (size_t)s->n * s->h * s->w * s->c;
    if (s->stride == s->k) {
        size_t windows = (size_t)s->n * s->oh * s->ow * s->c;
        if (s->oh * s->k != s->h || s->ow * s->k != s->w) /* rows or columns no window holds */
            CK(cudaMemsetAsync(dx, 0, count * sizeof(float), e->st), "pool backward");
        k_pool_bwd_tiled<<<blocks(windows), THREADS, 0, e->st>>>(dx, dy, x, y, *s, windows);
        LAUNCHED("pool backward");
        return UTIL_OK;
    }
    k_pool_bwd<<<blocks(count), THREADS, 0, e->st>>>(dx, dy, x, y, *s, count);
    LAUNCHED("pool backward");
    return UTIL_OK;
}

/* --------------------------------------------------------------- ReLU */

__global__ void k_relu_fwd(float *y, const float *x, size_t count)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void k_relu_bwd(float *dx, const float *dy, const float *y, size_t count)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static int cuda_relu_forward(rec_engine *e, float *y, const float *x, size_t count)
{
    PROFILE(P_RELU_FWD);
    if (!count)
        return UTIL_OK;
    k_relu_fwd<<<blocks(count), THREADS, 0, e->st>>>(y, x, count);
    LAUNCHED("relu forward");
    return UTIL_OK;
}

static int cuda_relu_backward(rec_engine *e, float *dx, const float *dy, const float *y,
                              size_t count)
{
    PROFILE(P_RELU_BWD);
    if (!count)
        return UTIL_OK;
    k_relu_bwd<<<blocks(count), THREADS, 0, e->st>>>(dx, dy, y, count);
    LAUNCHED("relu backward");
    return UTIL_OK;
}

/* -------------------------------------------------------------- dense */

/* Row-major y[n,out] = x[n,in] w[out,in]^T is, column-major, the out x n
 * matrix w^T(as stored: in x out) transposed times x (in x n). */
static int cuda_dense_forward(rec_engine *e, float *y, const float *x, const float *w,
                              const float *b, int act, int n, int in, int out)
{
    PROFILE(P_DENSE_FWD);
    const float one = 1.0f, zero = 0.0f;
    size_t count = (size_t)n * out;

    BK(cublasSgemm(e->blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x, in, &zero, y,
                   out), "dense forward");
    k_bias_act<<<blocks(count), THREADS, 0, e->st>>>(y, b, count, out, act == REC_ACT_RELU);
    LAUNCHED("dense bias");
    return UTIL_OK;
}

static int cuda_dense_backward(rec_engine *e, float *dx, float *dw, float *db, const float *dy,
                               const float *x, const float *w, int n, int in, int out)
{
    PROFILE(P_DENSE_BWD);
    const float one = 1.0f, zero = 0.0f;

    /* dw[out,in] = dy^T x: column-major (in x out) = x (in x n) . dy^T (n x out) */
    BK(cublasSgemm(e->blas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, in, dy, out, &zero, dw,
                   in), "dense backward (weights)");
    /* dx[n,in] = dy w: column-major (in x n) = w (in x out) . dy (out x n) */
    if (dx)
        BK(cublasSgemm(e->blas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in, dy, out, &zero,
                       dx, in), "dense backward (data)");
    return colsum(e, db, dy, NULL, NULL, n, out, SUM_X, 0);
}

/* ---------------------------------------------------------- batchnorm */

/* From the sums: batch statistics, saved ones, running ones, and the
 * per-channel scale and shift of the normalization. */
__global__ void k_bn_stats(float *scale, float *shift, float *save_mean, float *save_invstd,
                           float *run_mean, float *run_var, const float *sum, const float *sq,
                           const float *gamma, const float *beta, int train, float momentum,
                           float eps, int rows, int c)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    float mean, invstd;
    if (train) {
        mean = sum[j] / (float)rows;
        float var = sq[j] / (float)rows;
        float unbiased = rows > 1 ? sq[j] / (float)(rows - 1) : var;
        invstd = 1.0f / sqrtf(var + eps);
        save_mean[j] = mean;
        save_invstd[j] = invstd;
        run_mean[j] = (1.0f - momentum) * run_mean[j] + momentum * mean;
        run_var[j] = (1.0f - momentum) * run_var[j] + momentum * unbiased;
    } else {
        mean = run_mean[j];
        invstd = 1.0f / sqrtf(run_var[j] + eps);
    }
    scale[j] = gamma[j] * invstd;
    shift[j] = beta[j] - mean * scale[j];
}

__global__ void k_bn_apply(float *y, const float *x, const float *scale, const float *shift,
                           size_t count, int c, int relu)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) {
        int j = (int)(i % (size_t)c);
        float v = x[i] * scale[j] + shift[j];
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

__global__ void k_div(float *dst, const float *src, float d, int n)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n)
        dst[j] = src[j] / d;
}

/* Scratch for a batch-norm pass: 4*c floats of its own, then what colsum()
 * needs for its partial sums (at most 256 row slices), reserved at once so
 * colsum never moves the scratch under pointers into it. */
static int bn_scratch(rec_engine *e, int c)
{
    return scratch(e, 4 * (size_t)c + 256 * (size_t)c);
}

static int cuda_bn_forward(rec_engine *e, float *y, float *save_mean, float *save_invstd,
                           float *run_mean, float *run_var, const float *x, const float *gamma,
                           const float *beta, int act, int train, float momentum, float eps,
                           int rows, int c)
{
    PROFILE(P_BN_FWD);
    size_t count = (size_t)rows * c, keep = 4 * (size_t)c;
    float *sum, *sq, *scale, *shift;
    int rc;

    if ((rc = bn_scratch(e, c)))
        return rc;
    sum = e->scratch, sq = sum + c, scale = sq + c, shift = scale + c;
    if (train) {
        /* mean (kept in save_mean), then the sum of squares around it */
        if ((rc = colsum(e, sum, x, NULL, NULL, rows, c, SUM_X, keep)))
            return rc;
        k_div<<<blocks((size_t)c), THREADS, 0, e->st>>>(save_mean, sum, (float)rows, c);
        LAUNCHED("batchnorm mean");
        if ((rc = colsum(e, sq, x, save_mean, NULL, rows, c, SUM_SQ, keep)))
            return rc;
    }
    k_bn_stats<<<blocks((size_t)c), THREADS, 0, e->st>>>(scale, shift, save_mean, save_invstd,
                                                         run_mean, run_var, sum, sq, gamma, beta,
                                                         train, momentum, eps, rows, c);
    LAUNCHED("batchnorm statistics");
    k_bn_apply<<<blocks(count), THREADS, 0, e->st>>>(y, x, scale, shift, count, c,
                                                     act == REC_ACT_RELU);
    LAUNCHED("batchnorm apply");
    return UTIL_OK;
}

/* dgamma *= invstd, and the three per-channel factors of dx. */
__global__ void k_bn_grad_stats(float *k1, float *k2, float *k3, float *dgamma,
                                const float *dbeta, const float *gamma, const float *invstd,
                                int rows, int c)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    dgamma[j] *= invstd[j];
    k1[j] = gamma[j] * invstd[j];
    k2[j] = dbeta[j] / (float)rows;
    k3[j] = dgamma[j] * invstd[j] / (float)rows;
}

__global__ void k_bn_bwd(float *dx, const float *dy, const float *x, const float *mean,
                         const float *k1, const float *k2, const float *k3, size_t count, int c)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) {
        int j = (int)(i % (size_t)c);
        dx[i] = k1[j] * (dy[i] - k2[j] - (x[i] - mean[j]) * k3[j]);
    }
}

static int cuda_bn_backward(rec_engine *e, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *save_mean, const float *save_invstd, int rows, int c)
{
    PROFILE(P_BN_BWD);
    size_t count = (size_t)rows * c, keep = 4 * (size_t)c;
    float *k1, *k2, *k3;
    int rc;

    if ((rc = bn_scratch(e, c)))
        return rc;
    k1 = e->scratch, k2 = k1 + c, k3 = k2 + c;
    if ((rc = colsum(e, dbeta, dy, NULL, NULL, rows, c, SUM_X, keep)) ||
        (rc = colsum(e, dgamma, x, save_mean, dy, rows, c, SUM_DYX, keep)))
        return rc;
    k_bn_grad_stats<<<blocks((size_t)c), THREADS, 0, e->st>>>(k1, k2, k3, dgamma, dbeta, gamma,
                                                              save_invstd, rows, c);
    LAUNCHED("batchnorm backward");
    k_bn_bwd<<<blocks(count), THREADS, 0, e->st>>>(dx, dy, x, save_mean, k1, k2, k3, count, c);
    LAUNCHED("batchnorm backward");
    return UTIL_OK;
}

/* ------------------------------------------------------------ dropout */

__global__ void k_dropout_fwd(float *y, uint8_t *mask, const float *x, size_t count, float rate,
                              float scale, uint64_t key)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) {
        uint8_t keep = rec_uniform(key, i) >= rate;
        mask[i] = keep;
        y[i] = keep ? __fmul_rn(x[i], scale) : 0.0f;
    }
}

__global__ void k_dropout_bwd(float *dx, const float *dy, const uint8_t *mask, size_t count,
                              float scale)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        dx[i] = mask[i] ? __fmul_rn(dy[i], scale) : 0.0f;
}

static int cuda_dropout_forward(rec_engine *e, float *y, uint8_t *mask, const float *x,
                                size_t count, float rate, uint64_t key)
{
    PROFILE(P_DROP_FWD);
    if (!count)
        return UTIL_OK;
    k_dropout_fwd<<<blocks(count), THREADS, 0, e->st>>>(y, mask, x, count, rate,
                                                        1.0f / (1.0f - rate), key);
    LAUNCHED("dropout forward");
    return UTIL_OK;
}

static int cuda_dropout_backward(rec_engine *e, float *dx, const float *dy, const uint8_t *mask,
                                 size_t count, float rate)
{
    PROFILE(P_DROP_BWD);
    if (!count)
        return UTIL_OK;
    k_dropout_bwd<<<blocks(count), THREADS, 0, e->st>>>(dx, dy, mask, count,
                                                        1.0f / (1.0f - rate));
    LAUNCHED("dropout backward");
    return UTIL_OK;
}

/* ------------------------------------------------------------ softmax */

/* One thread per row: the gradient, and the row's loss and hit in part. */
__global__ void k_xent_rows(float *dlogits, float *part, const float *logits,
                            const int32_t *labels, int n, int classes)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n)
        return;
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
    part[2 * (size_t)r] = logf(sum) - (z[y] - m);
    part[2 * (size_t)r + 1] = arg == y ? 1.0f : 0.0f;
}

/* One block: stats += the rows' sums (in double, a fixed order). */
__global__ void k_xent_sum(float *stats, const float *part, int n)
{
    __shared__ double sl[THREADS], sc[THREADS];
    double l = 0.0, c = 0.0;
    for (int r = threadIdx.x; r < n; r += THREADS) {
        l += part[2 * (size_t)r];
        c += part[2 * (size_t)r + 1];
    }
    sl[threadIdx.x] = l, sc[threadIdx.x] = c;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h)
            sl[threadIdx.x] += sl[threadIdx.x + h], sc[threadIdx.x] += sc[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        stats[0] += (float)sl[0];
        stats[1] += (float)sc[0];
    }
}

static int cuda_softmax_xent(rec_engine *e, float *dlogits, float *stats, const float *logits,
                             const int32_t *labels, int n, int classes)
{
    PROFILE(P_XENT);
    int rc;

    if (n < 1)
        return UTIL_OK;
    if ((rc = scratch(e, 2 * (size_t)n)))
        return rc;
    k_xent_rows<<<blocks((size_t)n), THREADS, 0, e->st>>>(dlogits, e->scratch, logits, labels, n,
                                                          classes);
    LAUNCHED("softmax cross-entropy");
    k_xent_sum<<<1, THREADS, 0, e->st>>>(stats, e->scratch, n);
    LAUNCHED("softmax cross-entropy");
    return UTIL_OK;
}

__global__ void k_softmax(float *probs, const float *logits, int n, int classes, float t)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n)
        return;
    const float *z = logits + (size_t)r * classes;
    float *p = probs + (size_t)r * classes;
    float m = z[0] / t, sum = 0.0f;
    for (int j = 1; j < classes; j++)
        if (z[j] / t > m)
            m = z[j] / t;
    for (int j = 0; j < classes; j++) {
        p[j] = expf(z[j] / t - m);
        sum += p[j];
    }
    for (int j = 0; j < classes; j++)
        p[j] /= sum;
}

static int cuda_softmax(rec_engine *e, float *probs, const float *logits, int n, int classes,
                        float temperature)
{
    PROFILE(P_SOFTMAX);
    if (n < 1)
        return UTIL_OK;
    k_softmax<<<blocks((size_t)n), THREADS, 0, e->st>>>(probs, logits, n, classes, temperature);
    LAUNCHED("softmax");
    return UTIL_OK;
}

/* ------------------------------------------------------------ RMSProp */

/* The CPU's expression, operation by operation (no contraction). */
__global__ void k_rmsprop(float *p, float *ms, const float *g, size_t count, float lr, float rho,
                          float eps)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) {
        float gi = g[i];
        float m = __fadd_rn(__fmul_rn(rho, ms[i]), __fmul_rn(__fmul_rn(1.0f - rho, gi), gi));
        ms[i] = m;
        p[i] = __fsub_rn(p[i], __fdiv_rn(__fmul_rn(lr, gi), __fadd_rn(__fsqrt_rn(m), eps)));
    }
}

static int cuda_rmsprop_step(rec_engine *e, float *p, float *ms, const float *g, size_t count,
                             float lr, float rho, float eps)
{
    PROFILE(P_RMSPROP);
    if (!count)
        return UTIL_OK;
    k_rmsprop<<<blocks(count), THREADS, 0, e->st>>>(p, ms, g, count, lr, rho, eps);
    LAUNCHED("RMSProp step");
    return UTIL_OK;
}

/* --------------------------------------------------------- image batch */

/* One thread per output pixel; the CPU engine's arithmetic in its order. */
__global__ void k_images_load(float *dst, const uint8_t *src, const int32_t *idx,
                              const float *affine, int n, int h, int w)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * h * w)
        return;
    int x = (int)(i % w), y = (int)(i / w % h), r = (int)(i / w / h);
    const uint8_t *img = src + (size_t)idx[r] * h * w;
    if (!affine) {
        dst[i] = __fmul_rn((float)img[y * w + x], 1.0f / 255.0f);
        return;
    }
    const float *a = affine + (size_t)r * 6;
    float hw = __fmul_rn(0.5f, (float)w), hh = __fmul_rn(0.5f, (float)h);
    float xc = __fsub_rn(__fadd_rn((float)x, 0.5f), hw);
    float yc = __fsub_rn(__fadd_rn((float)y, 0.5f), hh);
    float u = __fsub_rn(
        __fadd_rn(__fadd_rn(__fadd_rn(__fmul_rn(a[0], xc), __fmul_rn(a[1], yc)), a[2]), hw), 0.5f);
    float v = __fsub_rn(
        __fadd_rn(__fadd_rn(__fadd_rn(__fmul_rn(a[3], xc), __fmul_rn(a[4], yc)), a[5]), hh), 0.5f);
    float fu = floorf(u), fv = floorf(v), du = __fsub_rn(u, fu), dv = __fsub_rn(v, fv);
    float acc = 0.0f;
    int iu = (int)fu, iv = (int)fv;
    for (int t = 0; t < 4; t++) {
        int sx = iu + (t & 1), sy = iv + (t >> 1);
        float wgt = __fmul_rn((t & 1) ? du : __fsub_rn(1.0f, du),
                              (t >> 1) ? dv : __fsub_rn(1.0f, dv));
        if (sx >= 0 && sx < w && sy >= 0 && sy < h)
            acc = __fadd_rn(acc, __fmul_rn(wgt, (float)img[sy * w + sx]));
    }
    dst[i] = __fmul_rn(acc, 1.0f / 255.0f);
}

static int cuda_images_load(rec_engine *e, float *dst, const uint8_t *src, const int32_t *idx,
                            const float *affine, int n, int h, int w)
{
    PROFILE(P_IMAGES);
    size_t count = (size_t)n * h * w;
    if (!count)
        return UTIL_OK;
    k_images_load<<<blocks(count), THREADS, 0, e->st>>>(dst, src, idx, affine, n, h, w);
    LAUNCHED("images_load");
    return UTIL_OK;
}

/* --------------------------------------------------------------- table */

extern "C" const rec_engine_ops rec_engine_cuda_ops = {
    /* .name = */ "cuda",
    /* .create = */ cuda_create,
    /* .destroy = */ cuda_destroy,
    /* .describe = */ cuda_describe,
    /* .alloc = */ cuda_alloc,
    /* .free = */ cuda_free,
    /* .upload = */ cuda_upload,
    /* .download = */ cuda_download,
    /* .copy = */ cuda_copy,
    /* .zero = */ cuda_zero,
    /* .sync = */ cuda_sync,
    /* .conv_forward = */ cuda_conv_forward,
    /* .conv_backward_data = */ cuda_conv_backward_data,
    /* .conv_backward_filter = */ cuda_conv_backward_filter,
    /* .pool_forward = */ cuda_pool_forward,
    /* .pool_backward = */ cuda_pool_backward,
    /* .relu_forward = */ cuda_relu_forward,
    /* .relu_backward = */ cuda_relu_backward,
    /* .dense_forward = */ cuda_dense_forward,
    /* .dense_backward = */ cuda_dense_backward,
    /* .batchnorm_forward = */ cuda_bn_forward,
    /* .batchnorm_backward = */ cuda_bn_backward,
    /* .dropout_forward = */ cuda_dropout_forward,
    /* .dropout_backward = */ cuda_dropout_backward,
    /* .softmax_xent = */ cuda_softmax_xent,
    /* .softmax = */ cuda_softmax,
    /* .rmsprop_step = */ cuda_rmsprop_step,
    /* .images_load = */ cuda_images_load,
};
