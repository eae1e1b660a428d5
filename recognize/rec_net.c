/*
 * rec_net.c - a network instance: shapes, the parameter buffer and its size
 * table, activation buffers, and the forward and backward passes run layer
 * by layer through an engine's table of operations.
 *
 * Buffer plan.  In training, every layer that computes something new owns
 * its output buffer (the backward pass needs them); a ReLU right after a
 * convolution, dense or batch-norm layer is fused into it and shares its
 * buffer, and flatten is always a view.  In inference, layers write into two
 * buffers used in turn, and ReLU, flatten and dropout take no buffer.
 * Gradients flow through two buffers used in turn as well.
 */
#include "rec_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct net_layer {
    rec_layer d;
    int ih, iw, ic;          /* input shape (flat: 1 x 1 x units) */
    int oh, ow, oc;          /* output shape */
    size_t in_size, out_size; /* floats per image */
    int p_w, p_b;            /* size-table entries: weights/gamma, bias/beta (-1: none) */
    int p_mean, p_var;       /* batch-norm running statistics (-1: none) */
    int act;                 /* REC_ACT_RELU when the next layer's ReLU is fused here */
    int alias;               /* output is the input buffer (view or in place) */
    float *out;              /* output activations (may alias) */
    int owns_out;
    uint8_t *mask;           /* dropout mask (training) */
    float *save_mean, *save_invstd; /* batch-norm (training) */
} net_layer;

struct rec_net {
    rec_arch arch;
    const rec_engine_ops *ops;
    rec_engine *eng;
    int max_batch, training;
    net_layer L[REC_MAX_LAYERS];
    rec_param_info table[REC_MAX_PARAMS];
    int n_table;
    size_t n_params, n_trainable;
    float *params, *grads, *opt_ms; /* engine memory */
    float *ping[2];                  /* inference activations */
    float *grad[2];                  /* gradient ping-pong */
    int grad_cur;                    /* which grad[] holds d(loss)/d(output) */
    const float *last_in;            /* input of the last forward */
    uint64_t last_key;
};

static float *P(rec_net *net, int entry)
{
    return entry < 0 ? NULL : net->params + net->table[entry].offset;
}

static float *G(rec_net *net, int entry)
{
    return entry < 0 ? NULL : net->grads + net->table[entry].offset;
}

static int find_entry(const rec_net *net, int layer, const char *suffix)
{
    char name[32];
    snprintf(name, sizeof name, "%d.%s", layer, suffix);
    for (int i = 0; i < net->n_table; i++)
        if (strcmp(net->table[i].name, name) == 0)
            return i;
    return -1;
}

static int eng_alloc(rec_net *net, void **p, size_t bytes)
{
    return net->ops->alloc(net->eng, p, bytes ? bytes : 64);
}

void rec_net_destroy(rec_net **pnet)
{
    rec_net *net;

    if (!pnet || !*pnet)
        return;
    net = *pnet;
    for (int i = 0; i < net->arch.n_layers; i++) {
        net_layer *l = &net->L[i];
        if (l->owns_out)
            net->ops->free(net->eng, l->out);
        net->ops->free(net->eng, l->mask);
        net->ops->free(net->eng, l->save_mean);
        net->ops->free(net->eng, l->save_invstd);
    }
    for (int i = 0; i < 2; i++) {
        net->ops->free(net->eng, net->ping[i]);
        net->ops->free(net->eng, net->grad[i]);
    }
    net->ops->free(net->eng, net->params);
    net->ops->free(net->eng, net->grads);
    net->ops->free(net->eng, net->opt_ms);
    free(net);
    *pnet = NULL;
}

int rec_net_create(rec_net **pnet, const rec_arch *arch, const rec_engine_ops *ops,
                   rec_engine *eng, int max_batch, int training)
{
    rec_net *net = NULL;
    int rc = UTIL_OK;
    int h = REC_IN_H, w = REC_IN_W, c = 1;
    size_t max_act = (size_t)REC_IN_H * REC_IN_W, B;

    *pnet = NULL;
    if (max_batch < 1) {
        util_log(UTIL_LOG_ERROR, "batch size must be at least 1");
        return UTIL_EINVAL;
    }
    rc = rec_arch_validate(arch);
    if (rc)
        return rc;
    net = calloc(1, sizeof *net);
    if (!net) {
        util_log(UTIL_LOG_ERROR, "out of memory creating the network");
        return UTIL_ENOMEM;
    }
    net->arch = *arch;
    net->ops = ops;
    net->eng = eng;
    net->max_batch = max_batch;
    net->training = training;
    net->n_table = rec_arch_params(arch, net->table, &net->n_params, &net->n_trainable);
    if (net->n_table < 0) {
        util_log(UTIL_LOG_ERROR, "invalid network: too many parameter tensors");
        rc = UTIL_EFORMAT;
        goto fail;
    }
    B = (size_t)max_batch;

    /* Shapes, parameter entries and fusion. */
    for (int i = 0; i < arch->n_layers; i++) {
        net_layer *l = &net->L[i];
        l->d = arch->layers[i];
        l->ih = h, l->iw = w, l->ic = c;
        l->p_w = l->p_b = l->p_mean = l->p_var = -1;
        switch (l->d.type) {
        case REC_L_CONV:
            h = h + 2 * l->d.pad - l->d.k + 1;
            w = w + 2 * l->d.pad - l->d.k + 1;
            c = l->d.out;
            l->p_w = find_entry(net, i, "conv.w");
            l->p_b = find_entry(net, i, "conv.b");
            break;
        case REC_L_POOL:
            h = (h - l->d.k) / l->d.stride + 1;
            w = (w - l->d.k) / l->d.stride + 1;
            break;
        case REC_L_FLATTEN:
            c = h * w * c;
            h = w = 1;
            break;
        case REC_L_DENSE:
            c = l->d.out;
            l->p_w = find_entry(net, i, "dense.w");
            l->p_b = find_entry(net, i, "dense.b");
            break;
        case REC_L_BN:
            l->p_w = find_entry(net, i, "bn.gamma");
            l->p_b = find_entry(net, i, "bn.beta");
            l->p_mean = find_entry(net, i, "bn.mean");
            l->p_var = find_entry(net, i, "bn.var");
            break;
        default:
            break;
        }
        l->oh = h, l->ow = w, l->oc = c;
        l->in_size = (size_t)l->ih * l->iw * l->ic;
        l->out_size = (size_t)h * w * c;
        if (l->out_size > max_act)
            max_act = l->out_size;
    }
    for (int i = 0; i < arch->n_layers; i++) {
        net_layer *l = &net->L[i];
        int t = l->d.type;
        if (t == REC_L_FLATTEN)
            l->alias = 1;
        else if (t == REC_L_RELU && i > 0 && net->L[i - 1].act == REC_ACT_RELU)
            l->alias = 1;
        else if (!training && (t == REC_L_RELU || t == REC_L_DROPOUT))
            l->alias = 1;
        if (i + 1 < arch->n_layers && arch->layers[i + 1].type == REC_L_RELU &&
            (t == REC_L_CONV || t == REC_L_DENSE || t == REC_L_BN))
            l->act = REC_ACT_RELU;
    }

    /* Engine memory. */
    rc = eng_alloc(net, (void **)&net->params, net->n_params * sizeof(float));
    if (rc)
        goto fail;
    if (training) {
        rc = eng_alloc(net, (void **)&net->grads, net->n_params * sizeof(float));
        if (!rc)
            rc = eng_alloc(net, (void **)&net->opt_ms, net->n_trainable * sizeof(float));
        for (int i = 0; !rc && i < 2; i++)
            rc = eng_alloc(net, (void **)&net->grad[i], B * max_act * sizeof(float));
        for (int i = 0; !rc && i < arch->n_layers; i++) {
            net_layer *l = &net->L[i];
            size_t bytes = B * l->out_size * sizeof(float);
            if (!l->alias) {
                rc = eng_alloc(net, (void **)&l->out, bytes);
                l->owns_out = 1;
            }
            if (!rc && l->d.type == REC_L_DROPOUT)
                rc = eng_alloc(net, (void **)&l->mask, B * l->out_size);
            if (!rc && l->d.type == REC_L_BN) {
                size_t cb = (size_t)l->oc * sizeof(float);
                rc = eng_alloc(net, (void **)&l->save_mean, cb);
                if (!rc)
                    rc = eng_alloc(net, (void **)&l->save_invstd, cb);
            }
        }
    } else {
        for (int i = 0; !rc && i < 2; i++)
            rc = eng_alloc(net, (void **)&net->ping[i], B * max_act * sizeof(float));
    }
    if (rc)
        goto fail;
    *pnet = net;
    return UTIL_OK;
fail:
    rec_net_destroy(&net);
    return rc;
}

int rec_net_init_params(rec_net *net, uint64_t seed)
{
    float *host = NULL;
    int rc;
    util_rng rng;

    host = calloc(net->n_params ? net->n_params : 1, sizeof(float));
    if (!host) {
        util_log(UTIL_LOG_ERROR, "out of memory initializing parameters");
        return UTIL_ENOMEM;
    }
    util_rng_seed(&rng, util_key(seed, 0x1417, 0, 0));
    for (int i = 0; i < net->arch.n_layers; i++) {
        net_layer *l = &net->L[i];
        float bound = 0.0f;
        size_t fan_in = 0, fan_out = 0;
        if (l->d.type == REC_L_CONV) {
            fan_in = (size_t)l->d.k * l->d.k * l->ic;
            fan_out = (size_t)l->d.k * l->d.k * l->oc;
        } else if (l->d.type == REC_L_DENSE) {
            fan_in = (size_t)l->ic;
            fan_out = (size_t)l->oc;
        } else if (l->d.type == REC_L_BN) {
            for (size_t j = 0; j < net->table[l->p_w].count; j++) {
                host[net->table[l->p_w].offset + j] = 1.0f;
                host[net->table[l->p_var].offset + j] = 1.0f;
            }
            continue;
        } else {
            continue;
        }
        if (i == net->arch.n_layers - 1)
            bound = sqrtf(6.0f / (float)(fan_in + fan_out)); /* Glorot: no ReLU follows */
        else
            bound = sqrtf(6.0f / (float)fan_in);             /* He, for ReLU */
        for (size_t j = 0; j < net->table[l->p_w].count; j++) {
            float u = (float)(util_rng_next(&rng) >> 40) * (1.0f / 16777216.0f);
            host[net->table[l->p_w].offset + j] = (2.0f * u - 1.0f) * bound;
        }
    }
    rc = net->ops->upload(net->eng, net->params, host, net->n_params * sizeof(float));
    if (!rc && net->opt_ms)
        rc = net->ops->zero(net->eng, net->opt_ms, net->n_trainable * sizeof(float));
    free(host);
    return rc;
}

int rec_net_get_params(rec_net *net, float *dst_host)
{
    return net->ops->download(net->eng, dst_host, net->params, net->n_params * sizeof(float));
}

int rec_net_set_params(rec_net *net, const float *src_host)
{
    return net->ops->upload(net->eng, net->params, src_host, net->n_params * sizeof(float));
}

int rec_net_get_opt_state(rec_net *net, float *dst_host)
{
    if (!net->opt_ms)
        return UTIL_EINVAL;
    return net->ops->download(net->eng, dst_host, net->opt_ms, net->n_trainable * sizeof(float));
}

int rec_net_set_opt_state(rec_net *net, const float *src_host)
{
    if (!net->opt_ms)
        return UTIL_EINVAL;
    return net->ops->upload(net->eng, net->opt_ms, src_host, net->n_trainable * sizeof(float));
}

const rec_arch *rec_net_arch(const rec_net *net) { return &net->arch; }
const rec_engine_ops *rec_net_ops(const rec_net *net) { return net->ops; }
rec_engine *rec_net_engine(const rec_net *net) { return net->eng; }
int rec_net_max_batch(const rec_net *net) { return net->max_batch; }
float *rec_net_grads(rec_net *net) { return net->grads; }
float *rec_net_params(rec_net *net) { return net->params; }

size_t rec_net_param_count(const rec_net *net, size_t *pn_trainable)
{
    if (pn_trainable)
        *pn_trainable = net->n_trainable;
    return net->n_params;
}

const rec_param_info *rec_net_param_table(const rec_net *net, int *pcount)
{
    *pcount = net->n_table;
    return net->table;
}

static void conv_shape(const net_layer *l, int n, rec_conv_shape *s)
{
    s->n = n;
    s->h = l->ih, s->w = l->iw, s->c = l->ic;
    s->k = l->d.k, s->pad = l->d.pad;
    s->oc = l->oc, s->oh = l->oh, s->ow = l->ow;
}

static void pool_shape(const net_layer *l, int n, rec_pool_shape *s)
{
    s->n = n;
    s->h = l->ih, s->w = l->iw, s->c = l->ic;
    s->k = l->d.k, s->stride = l->d.stride;
    s->oh = l->oh, s->ow = l->ow;
}

int rec_net_forward(rec_net *net, const float *x, int n, int train, uint64_t dropout_key,
                    const float **plogits)
{
    const rec_engine_ops *ops = net->ops;
    rec_engine *e = net->eng;
    const float *in = x;
    int rc = UTIL_OK, pp = 0;

    *plogits = NULL;
    if (n < 1 || n > net->max_batch) {
        util_log(UTIL_LOG_ERROR, "batch of %d images outside 1..%d", n, net->max_batch);
        return UTIL_EINVAL;
    }
    if (train && !net->training) {
        util_log(UTIL_LOG_ERROR, "training forward pass on a network made for inference");
        return UTIL_EINVAL;
    }
    for (int i = 0; i < net->arch.n_layers && rc == UTIL_OK; i++) {
        net_layer *l = &net->L[i];
        float *out;
        size_t count = (size_t)n * l->out_size;

        if (l->alias) {
            out = (float *)in;
        } else if (net->training) {
            out = l->out;
        } else {
            out = net->ping[pp];
            pp ^= 1;
        }
        l->out = out;
        switch (l->d.type) {
        case REC_L_CONV: {
            rec_conv_shape s;
            conv_shape(l, n, &s);
            rc = ops->conv_forward(e, out, in, P(net, l->p_w), P(net, l->p_b), l->act, &s);
            break;
        }
        case REC_L_POOL: {
            rec_pool_shape s;
            pool_shape(l, n, &s);
            rc = ops->pool_forward(e, out, in, &s);
            break;
        }
        case REC_L_RELU:
            if (!(l->alias && i > 0 && net->L[i - 1].act == REC_ACT_RELU))
                rc = ops->relu_forward(e, out, in, count);
            break;
        case REC_L_DROPOUT:
            if (train && l->d.rate > 0.0f)
                rc = ops->dropout_forward(e, out, l->mask, in, count, l->d.rate,
                                          util_key(dropout_key, (uint64_t)i, 0, 0));
            else if (out != in)
                rc = ops->copy(e, out, in, count * sizeof(float));
            break;
        case REC_L_FLATTEN:
            break;
        case REC_L_DENSE:
            rc = ops->dense_forward(e, out, in, P(net, l->p_w), P(net, l->p_b), l->act, n,
                                    l->ic, l->oc);
            break;
        case REC_L_BN:
            rc = ops->batchnorm_forward(e, out, l->save_mean, l->save_invstd,
                                        P(net, l->p_mean), P(net, l->p_var), in,
                                        P(net, l->p_w), P(net, l->p_b), l->act, train,
                                        REC_BN_MOMENTUM, REC_BN_EPS, (int)(count / (size_t)l->oc),
                                        l->oc);
            break;
        default:
            rc = UTIL_EFORMAT;
        }
        in = out;
    }
    if (rc)
        return rc;
    net->last_in = x;
    net->last_key = dropout_key;
    *plogits = in;
    return UTIL_OK;
}

int rec_net_loss(rec_net *net, const int32_t *labels, int n, float *stats)
{
    const net_layer *last = &net->L[net->arch.n_layers - 1];

    if (!net->training)
        return UTIL_EINVAL;
    net->grad_cur = 0;
    return net->ops->softmax_xent(net->eng, net->grad[0], stats, last->out, labels, n,
                                  last->oc);
}

int rec_net_backward(rec_net *net, int n)
{
    const rec_engine_ops *ops = net->ops;
    rec_engine *e = net->eng;
    int rc = UTIL_OK, cur = net->grad_cur;

    if (!net->training)
        return UTIL_EINVAL;
    for (int i = net->arch.n_layers - 1; i >= 0 && rc == UTIL_OK; i--) {
        net_layer *l = &net->L[i];
        const float *in = i ? net->L[i - 1].out : net->last_in;
        float *dy = net->grad[cur], *dx = net->grad[cur ^ 1];
        size_t count = (size_t)n * l->out_size;
        int swap = 1;

        switch (l->d.type) {
        case REC_L_CONV: {
            rec_conv_shape s;
            conv_shape(l, n, &s);
            rc = ops->conv_backward_filter(e, G(net, l->p_w), G(net, l->p_b), dy, in, &s);
            if (!rc && i > 0)
                rc = ops->conv_backward_data(e, dx, dy, P(net, l->p_w), &s);
            break;
        }
        case REC_L_POOL: {
            rec_pool_shape s;
            pool_shape(l, n, &s);
            rc = ops->pool_backward(e, dx, dy, in, l->out, &s);
            break;
        }
        case REC_L_RELU:
            rc = ops->relu_backward(e, dy, dy, l->out, count);
            swap = 0;
            break;
        case REC_L_DROPOUT:
            if (l->d.rate > 0.0f)
                rc = ops->dropout_backward(e, dy, dy, l->mask, count, l->d.rate);
            swap = 0;
            break;
        case REC_L_FLATTEN:
            swap = 0;
            break;
        case REC_L_DENSE:
            rc = ops->dense_backward(e, i > 0 ? dx : NULL, G(net, l->p_w), G(net, l->p_b), dy,
                                     in, P(net, l->p_w), n, l->ic, l->oc);
            break;
        case REC_L_BN:
            rc = ops->batchnorm_backward(e, dx, G(net, l->p_w), G(net, l->p_b), dy, in,
                                         P(net, l->p_w), l->save_mean, l->save_invstd,
                                         (int)(count / (size_t)l->oc), l->oc);
            break;
        default:
            rc = UTIL_EFORMAT;
        }
        if (swap)
            cur ^= 1;
    }
    return rc;
}

int rec_net_rmsprop(rec_net *net, float lr, float rho, float eps)
{
    if (!net->training)
        return UTIL_EINVAL;
    return net->ops->rmsprop_step(net->eng, net->params, net->opt_ms, net->grads,
                                  net->n_trainable, lr, rho, eps);
}
