/*
 * rec_engine.h - the compute engine interface: one static const table of
 * operations per engine (CPU, and CUDA when built with it), the shapes
 * they take, the lookup of an engine by name, and the choice of an engine
 * for a --device option.
 *
 * Everything a network needs to run forward, backward and update goes
 * through these operations, so the layers (rec_net.c) never know which
 * engine they run on.  The CPU engine is the reference; any other engine is
 * tested against it operation by operation.
 *
 * Memory.  Every float/int/byte pointer passed to an operation is engine
 * memory, obtained from ops->alloc() and filled with ops->upload(); for the
 * CPU engine that is ordinary host memory.  Operations may run
 * asynchronously; ops->download() and ops->sync() wait for them.
 *
 * Layouts (fixed, documented in docs/model-format.md too):
 *   activations  NHWC, float32, contiguous: x[((n*H + y)*W + x)*C + c]
 *   conv weights OHWI: w[((o*K + ky)*K + kx)*C_in + i], bias b[o]
 *   dense        w[o*in + i] (row per output unit), bias b[o]
 *   batchnorm    per channel (the last dimension): gamma, beta, running
 *                mean and running variance
 * Convolutions are cross-correlations (as in every framework), stride 1,
 * square kernels, the same zero padding on every side.
 *
 * Gradients.  Backward operations overwrite (never accumulate) their
 * outputs: each gradient is written exactly once per backward pass, so the
 * gradient buffer needs no clearing.
 *
 * Errors.  Operations return UTIL_OK or a UTIL_E* code, reporting through
 * util_log(); an engine never exits.
 */
#ifndef DOCPIPE_REC_ENGINE_H
#define DOCPIPE_REC_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rec_engine rec_engine; /* one engine instance, opaque */

/* What to do after a convolution or dense layer: nothing or a ReLU. */
enum { REC_ACT_NONE = 0, REC_ACT_RELU = 1 };

/* A stride-1 convolution over a batch. */
typedef struct rec_conv_shape {
    int n;         /* images in the batch */
    int h, w, c;   /* input height, width, channels */
    int k, pad;    /* square kernel size and zero padding on each side */
    int oc;        /* output channels */
    int oh, ow;    /* output size: h + 2*pad - k + 1, w + 2*pad - k + 1 */
} rec_conv_shape;

/* A max pooling over a batch: window k x k moved by stride, no padding. */
typedef struct rec_pool_shape {
    int n, h, w, c;
    int k, stride;
    int oh, ow; /* (h - k) / stride + 1, (w - k) / stride + 1 */
} rec_pool_shape;

/* Options for creating an engine. */
typedef struct rec_engine_opts {
    int threads; /* CPU threads for the engine's own work; 0: all cores */
    int device;  /* device index for GPU engines */
} rec_engine_opts;

typedef struct rec_engine_ops {
    const char *name; /* "cpu", "cuda" */

    /* create - a new instance in *pe; UTIL_ENODEV when the device is not
     * usable (no GPU, no driver), with a one-line reason logged. */
    int (*create)(rec_engine **pe, const rec_engine_opts *opts);
    /* destroy - frees the instance and everything it still holds; NULL ok. */
    void (*destroy)(rec_engine **pe);
    /* describe - a short human description ("cpu, 2 threads, OpenBLAS"). */
    const char *(*describe)(rec_engine *e);

    /* alloc - bytes of engine memory, zero-filled, 64-byte aligned. */
    int (*alloc)(rec_engine *e, void **pptr, size_t bytes);
    void (*free)(rec_engine *e, void *ptr);
    int (*upload)(rec_engine *e, void *dst, const void *src_host, size_t bytes);
    int (*download)(rec_engine *e, void *dst_host, const void *src, size_t bytes);
    int (*copy)(rec_engine *e, void *dst, const void *src, size_t bytes);
    int (*zero)(rec_engine *e, void *dst, size_t bytes);
    int (*sync)(rec_engine *e);

    /* conv_forward - y[n,oh,ow,oc] = act(conv(x[n,h,w,c], w[oc,k,k,c]) + b[oc]) */
    int (*conv_forward)(rec_engine *e, float *y, const float *x, const float *w,
                        const float *b, int act, const rec_conv_shape *s);
    /* conv_backward_data - dx[n,h,w,c] from dy[n,oh,ow,oc] and w. */
    int (*conv_backward_data)(rec_engine *e, float *dx, const float *dy, const float *w,
                              const rec_conv_shape *s);
    /* conv_backward_filter - dw[oc,k,k,c] and db[oc] from dy and x. */
    int (*conv_backward_filter)(rec_engine *e, float *dw, float *db, const float *dy,
                                const float *x, const rec_conv_shape *s);

    /* pool_forward - y[n,oh,ow,c] = max over each window of x. */
    int (*pool_forward)(rec_engine *e, float *y, const float *x, const rec_pool_shape *s);
    /* pool_backward - dx (fully written): each window's dy goes to the
     * position of its maximum (the first one, in row-major order, on ties). */
    int (*pool_backward)(rec_engine *e, float *dx, const float *dy, const float *x,
                         const float *y, const rec_pool_shape *s);

    /* relu_forward - y = max(x, 0); y may be x. */
    int (*relu_forward)(rec_engine *e, float *y, const float *x, size_t count);
    /* relu_backward - dx = y > 0 ? dy : 0, from the forward output y; dx may be dy. */
    int (*relu_backward)(rec_engine *e, float *dx, const float *dy, const float *y,
                         size_t count);

    /* dense_forward - y[n,out] = act(x[n,in] w^T + b) */
    int (*dense_forward)(rec_engine *e, float *y, const float *x, const float *w,
                         const float *b, int act, int n, int in, int out);
    /* dense_backward - dw[out,in], db[out], and dx[n,in] unless dx is NULL. */
    int (*dense_backward)(rec_engine *e, float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, int n, int in, int out);

    /*
     * batchnorm_forward - per channel over rows = n*h*w rows of c channels.
     * Training (train=1): normalizes with the batch mean and biased
     * variance, saves the mean and 1/sqrt(var+eps) in save_mean and
     * save_invstd (c floats each) for the backward pass, and moves the
     * running statistics: run = (1-momentum)*run + momentum*batch (the
     * running variance takes the unbiased batch variance).
     * Inference (train=0): uses the running statistics; save_* unused.
     * Then y = act(gamma * xhat + beta).  y may be x.
     */
    int (*batchnorm_forward)(rec_engine *e, float *y, float *save_mean, float *save_invstd,
                             float *run_mean, float *run_var, const float *x,
                             const float *gamma, const float *beta, int act, int train,
                             float momentum, float eps, int rows, int c);
    /* batchnorm_backward - dx, dgamma, dbeta from dy (taken after any fused
     * activation has been undone by relu_backward) and the saved statistics. */
    int (*batchnorm_backward)(rec_engine *e, float *dx, float *dgamma, float *dbeta,
                              const float *dy, const float *x, const float *gamma,
                              const float *save_mean, const float *save_invstd,
                              int rows, int c);

    /*
     * dropout_forward - inverted dropout: each element is kept with
     * probability 1-rate and scaled by 1/(1-rate), or zeroed.  Element i is
     * kept when util_uniform(key, i) >= rate, so every engine draws the same
     * mask for the same key.  mask[i] = 1 when kept.  y may be x.
     */
    int (*dropout_forward)(rec_engine *e, float *y, uint8_t *mask, const float *x,
                           size_t count, float rate, uint64_t key);
    int (*dropout_backward)(rec_engine *e, float *dx, const float *dy, const uint8_t *mask,
                            size_t count, float rate);

    /*
     * softmax_xent - for logits[n,classes] and labels[n] (0..classes-1):
     * dlogits = (softmax(logits) - onehot(label)) / n, and adds to stats[0]
     * the summed cross-entropy and to stats[1] the number of rows whose
     * arg-max equals the label (stats is engine memory, 2 floats).
     */
    int (*softmax_xent)(rec_engine *e, float *dlogits, float *stats, const float *logits,
                        const int32_t *labels, int n, int classes);
    /* softmax - probs = softmax(logits / temperature), row by row. */
    int (*softmax)(rec_engine *e, float *probs, const float *logits, int n, int classes,
                   float temperature);

    /* rmsprop_step - ms = rho*ms + (1-rho)*g^2;  p -= lr * g / (sqrt(ms) + eps) */
    int (*rmsprop_step)(rec_engine *e, float *p, float *ms, const float *g, size_t count,
                        float lr, float rho, float eps);

    /*
     * images_load - builds a float batch dst[n,h,w,1] from byte images
     * src[*,h,w] (0..255 mapped to 0..1), taking image idx[i] for row i.
     * With affine (n*6 floats, or NULL for a plain copy), row i is resampled
     * bilinearly: output pixel (x,y), centre (x+0.5, y+0.5), reads the
     * source at u = a0*x' + a1*y' + a2 + w/2, v = a3*x' + a4*y' + a5 + h/2
     * where x' = x + 0.5 - w/2, y' = y + 0.5 - h/2 (sample centres at
     * half-integers, zero outside the image).
     */
    int (*images_load)(rec_engine *e, float *dst, const uint8_t *src, const int32_t *idx,
                       const float *affine, int n, int h, int w);
} rec_engine_ops;

/* The engines compiled in (rec_engine_cuda_ops: rec_cuda.h, only in a
 * CUDA build; reach it through rec_engine_find("cuda")). */
extern const rec_engine_ops rec_engine_cpu_ops;

/* rec_engine_find - the engine called name ("cpu", "cuda" in a CUDA
 * build), or NULL. */
const rec_engine_ops *rec_engine_find(const char *name);

/* rec_engine_cuda_built - 1 when this binary has the CUDA engine. */
int rec_engine_cuda_built(void);

/* rec_device_valid - 1 when s is a --device value: NULL (auto), "auto",
 * "cpu" or "cuda"; 0 otherwise (logs nothing). */
int rec_device_valid(const char *s);

/*
 * rec_engine_open - the engine for a --device choice, created with opts:
 *   "cpu"   the CPU engine;
 *   "cuda"  the CUDA engine, or the error of its create() (UTIL_ENODEV
 *           with the reason logged when there is no usable GPU or the
 *           binary was built without CUDA);
 *   "auto"  (or NULL) the CUDA engine when its create() succeeds, else the
 *           CPU engine; one line on stderr (util_log, info) says which was
 *           chosen and, for the CPU, why the GPU was not.  In a build
 *           without CUDA, auto is the CPU engine, silently.
 * Anything else: UTIL_EINVAL, logged.  On success *pops and *peng are set
 * (the caller destroys *peng with (*pops)->destroy); on failure both NULL.
 */
int rec_engine_open(const char *device, const rec_engine_opts *opts,
                    const rec_engine_ops **pops, rec_engine **peng);

#endif
