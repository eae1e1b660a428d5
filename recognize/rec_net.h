/*
 * rec_net.h - a network described by data: the layer list (rec_arch), its
 * text form and presets, and a network instance (rec_net) that runs the
 * list forward and backward on an engine.
 *
 * Parameters live in one engine buffer laid out by a size table (one entry
 * per tensor: name, offset, count, trainable); the gradients and the
 * optimizer state use the same layout, so the optimizer is one call over
 * the trainable prefix.  Trainable tensors come first, non-trainable ones
 * (batch-norm running statistics) after them.
 *
 * The text form of an architecture is a list of layer words separated by
 * spaces or commas:
 *   conv<C>k<K>[p<P>]   convolution, C output channels, K x K, padding P (0)
 *   pool<K>[s<S>]       max pooling K x K, stride S (default K)
 *   relu                ReLU
 *   bn                  batch normalization over channels (or units)
 *   drop<R>             dropout with rate R in [0, 1), e.g. drop0.25
 *   flatten             marks the move from feature maps to a vector
 *   dense<N>            fully connected, N units
 * The input is one 28 x 28 gray image; the last layer must be dense10.
 */
#ifndef DOCPIPE_REC_NET_H
#define DOCPIPE_REC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "rec_engine.h"

enum {
    REC_L_CONV = 1,
    REC_L_POOL = 2,
    REC_L_RELU = 3,
    REC_L_DROPOUT = 4,
    REC_L_FLATTEN = 5,
    REC_L_DENSE = 6,
    REC_L_BN = 7
};

#define REC_MAX_LAYERS 64
#define REC_IN_H 28
#define REC_IN_W 28
#define REC_CLASSES 10
#define REC_BN_EPS 1e-5f
#define REC_BN_MOMENTUM 0.1f

typedef struct rec_layer {
    int type;   /* REC_L_* */
    int out;    /* conv: output channels; dense: units */
    int k;      /* conv, pool: kernel size */
    int pad;    /* conv: zero padding */
    int stride; /* pool: stride */
    float rate; /* dropout: rate */
} rec_layer;

typedef struct rec_arch {
    int n_layers;
    rec_layer layers[REC_MAX_LAYERS];
} rec_arch;

/*
 * rec_arch_parse - fills dst from the text form (above).  Checks the words
 * and that the shapes work out (every size stays >= 1, the net ends in
 * dense10).  On error, logs what and where (the word's position) and
 * returns UTIL_EINVAL; dst is then unspecified.
 */
int rec_arch_parse(rec_arch *dst, const char *text);

/* rec_arch_preset - the text form of a preset ("lenet5", "kaggle",
 * "default"), or NULL when name is no preset. */
const char *rec_arch_preset(const char *name);

/* rec_arch_resolve - a preset name or a text form, parsed into dst. */
int rec_arch_resolve(rec_arch *dst, const char *name_or_text);

/* rec_arch_format - the text form of src into buf (truncated to cap). */
void rec_arch_format(const rec_arch *src, char *buf, size_t cap);

/* rec_arch_validate - the shape checks of rec_arch_parse on a filled arch
 * (as read from a model file); logs and returns UTIL_EFORMAT on failure. */
int rec_arch_validate(const rec_arch *arch);

/* One entry of the parameter size table. */
typedef struct rec_param_info {
    char name[32];   /* "3.conv.w", "5.bn.var", ... (layer index first) */
    size_t offset;   /* in floats, into the parameter buffer */
    size_t count;
    int trainable;
} rec_param_info;

#define REC_MAX_PARAMS (4 * REC_MAX_LAYERS)

/*
 * rec_arch_params - the size table for an architecture: fills table (up to
 * REC_MAX_PARAMS entries) and returns the number of entries; *pn_total and
 * *pn_trainable get the float counts.  The arch must be valid.
 */
int rec_arch_params(const rec_arch *arch, rec_param_info *table, size_t *pn_total,
                    size_t *pn_trainable);

/* rec_arch_flops - multiply-adds x 2 of one forward pass for one image. */
double rec_arch_flops(const rec_arch *arch);

typedef struct rec_net rec_net;

/*
 * rec_net_create - a network for arch on an engine, able to take batches of
 * up to max_batch images.  training=1 also allocates gradients, optimizer
 * state and what the backward pass keeps.  Parameters start at zero: call
 * rec_net_init_params() or rec_net_set_params().
 */
int rec_net_create(rec_net **pnet, const rec_arch *arch, const rec_engine_ops *ops,
                   rec_engine *eng, int max_batch, int training);
void rec_net_destroy(rec_net **pnet);

/* rec_net_init_params - He-uniform weights (Glorot for the last layer),
 * zero biases, batch-norm gamma 1, beta 0, running var 1; a function of
 * seed alone, the same on every engine. */
int rec_net_init_params(rec_net *net, uint64_t seed);

/* Parameters to and from host memory (n_total floats, size-table layout). */
int rec_net_get_params(rec_net *net, float *dst_host);
int rec_net_set_params(rec_net *net, const float *src_host);
/* The optimizer state (n_trainable floats), for checkpoints. */
int rec_net_get_opt_state(rec_net *net, float *dst_host);
int rec_net_set_opt_state(rec_net *net, const float *src_host);

/* Read-only facts. */
const rec_arch *rec_net_arch(const rec_net *net);
size_t rec_net_param_count(const rec_net *net, size_t *pn_trainable);
const rec_param_info *rec_net_param_table(const rec_net *net, int *pcount);
const rec_engine_ops *rec_net_ops(const rec_net *net);
rec_engine *rec_net_engine(const rec_net *net);
int rec_net_max_batch(const rec_net *net);

/*
 * rec_net_forward - runs n <= max_batch images x (engine memory,
 * n x 28 x 28 x 1) through the layers; *plogits (engine memory owned by the
 * net, valid until the next call) gets n x 10 logits.  train=1 applies
 * dropout with masks keyed by dropout_key and batch statistics in
 * batch-norm layers (and needs a net created for training).
 */
int rec_net_forward(rec_net *net, const float *x, int n, int train, uint64_t dropout_key,
                    const float **plogits);

/*
 * rec_net_loss - softmax cross-entropy of the last forward's logits against
 * labels (engine memory, n int32): writes the gradient for the backward
 * pass and adds loss sum and correct count into stats (engine, 2 floats).
 */
int rec_net_loss(rec_net *net, const int32_t *labels, int n, float *stats);

/* rec_net_backward - gradients of every parameter for the last training
 * forward pass, from the gradient rec_net_loss() left. */
int rec_net_backward(rec_net *net, int n);

/* rec_net_rmsprop - one RMSProp step over the trainable parameters. */
int rec_net_rmsprop(rec_net *net, float lr, float rho, float eps);

/* Engine buffers of the trainer's making are reached through these. */
float *rec_net_grads(rec_net *net);
float *rec_net_params(rec_net *net);

#endif
