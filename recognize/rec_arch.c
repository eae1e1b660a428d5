/*
 * rec_arch.c - architectures as data: the presets, the text form (parse and
 * format), shape validation, the parameter size table and FLOP counts.
 */
#include "rec_net.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/*
 * The presets.  lenet5 is LeCun's LeNet-5 with ReLU and max pooling; kaggle
 * is the Keras Digit Recognizer notebook's network.  default is the one
 * shipped and used by ingest, chosen for accuracy per unit of CPU time (see
 * README, "The default network").
 */
static const struct {
    const char *name, *text;
} presets[] = {
    {"lenet5", "conv6k5p2 relu pool2 conv16k5 relu pool2 flatten dense120 relu dense84 relu dense10"},
    {"kaggle", "conv32k5p2 relu conv32k5p2 relu pool2 drop0.25 conv64k3p1 relu conv64k3p1 relu "
               "pool2 drop0.25 flatten dense256 relu drop0.5 dense10"},
    {"default", "conv32k3p1 bn relu conv32k3p1 bn relu pool2 drop0.2 conv64k3p1 bn relu "
                "conv64k3p1 bn relu pool2 drop0.2 flatten dense256 bn relu drop0.4 dense10"},
};

const char *rec_arch_preset(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0)
            return presets[i].text;
    return NULL;
}

/* The shape after each layer; flat tensors have h = w = 1. */
typedef struct shape {
    int h, w, c;
    int flat;
} shape;

/* Applies layer l to shape s.  Returns a static reason on failure. */
static const char *shape_step(const rec_layer *l, shape *s)
{
    switch (l->type) {
    case REC_L_CONV:
        if (s->flat)
            return "a convolution cannot follow flatten or dense";
        if (l->out < 1 || l->out > 4096 || l->k < 1 || l->k > 15 || l->pad < 0 || l->pad >= l->k)
            return "convolution needs 1..4096 channels, kernel 1..15 and padding below the kernel";
        s->h = s->h + 2 * l->pad - l->k + 1;
        s->w = s->w + 2 * l->pad - l->k + 1;
        s->c = l->out;
        if (s->h < 1 || s->w < 1)
            return "the kernel is larger than the (padded) feature map";
        return NULL;
    case REC_L_POOL:
        if (s->flat)
            return "pooling cannot follow flatten or dense";
        if (l->k < 1 || l->k > 8 || l->stride < 1 || l->stride > 8)
            return "pooling needs a window and stride of 1..8";
        if (l->k > s->h || l->k > s->w)
            return "the pooling window is larger than the feature map";
        s->h = (s->h - l->k) / l->stride + 1;
        s->w = (s->w - l->k) / l->stride + 1;
        return NULL;
    case REC_L_RELU:
    case REC_L_BN:
        return NULL;
    case REC_L_DROPOUT:
        if (!(l->rate >= 0.0f && l->rate < 1.0f))
            return "dropout rate must be in [0, 1)";
        return NULL;
    case REC_L_FLATTEN:
        if (s->flat)
            return "flatten twice";
        s->c = s->h * s->w * s->c;
        s->h = s->w = 1;
        s->flat = 1;
        return NULL;
    case REC_L_DENSE:
        if (!s->flat)
            return "dense needs a flatten before it";
        if (l->out < 1 || l->out > 65536)
            return "dense needs 1..65536 units";
        s->c = l->out;
        return NULL;
    default:
        return "unknown layer type";
    }
}

static int arch_check(const rec_arch *a, char *why, size_t cap)
{
    shape s = {REC_IN_H, REC_IN_W, 1, 0};

    if (a->n_layers < 1 || a->n_layers > REC_MAX_LAYERS) {
        snprintf(why, cap, "the network has %d layers (1..%d allowed)", a->n_layers,
                 REC_MAX_LAYERS);
        return -1;
    }
    for (int i = 0; i < a->n_layers; i++) {
        const char *r = shape_step(&a->layers[i], &s);
        if (r) {
            snprintf(why, cap, "layer %d: %s", i + 1, r);
            return i;
        }
    }
    if (a->layers[a->n_layers - 1].type != REC_L_DENSE || s.c != REC_CLASSES) {
        snprintf(why, cap, "the last layer must be dense%d", REC_CLASSES);
        return a->n_layers - 1;
    }
    return -2;
}

int rec_arch_validate(const rec_arch *arch)
{
    char why[200];

    if (arch_check(arch, why, sizeof why) != -2) {
        util_log(UTIL_LOG_ERROR, "invalid network: %s", why);
        return UTIL_EFORMAT;
    }
    return UTIL_OK;
}

/* Parses "<prefix><int>" and optional "<letter><int>" suffixes. */
static int parse_word(const char *word, rec_layer *l)
{
    char *end;
    long v;

    memset(l, 0, sizeof *l);
    if (strcmp(word, "relu") == 0) {
        l->type = REC_L_RELU;
        return 0;
    }
    if (strcmp(word, "bn") == 0) {
        l->type = REC_L_BN;
        return 0;
    }
    if (strcmp(word, "flatten") == 0) {
        l->type = REC_L_FLATTEN;
        return 0;
    }
    if (strncmp(word, "drop", 4) == 0) {
        double r;
        if (util_parse_double(word + 4, 0.0, 0.99, &r) != UTIL_OK)
            return -1;
        l->type = REC_L_DROPOUT;
        l->rate = (float)r;
        return 0;
    }
    if (strncmp(word, "conv", 4) == 0) {
        l->type = REC_L_CONV;
        if (!isdigit((unsigned char)word[4]))
            return -1;
        v = strtol(word + 4, &end, 10);
        if (*end != 'k' || !isdigit((unsigned char)end[1]) || v > 4096)
            return -1;
        l->out = (int)v;
        v = strtol(end + 1, &end, 10);
        if (v > 15)
            return -1;
        l->k = (int)v;
        if (*end == 'p') {
            if (!isdigit((unsigned char)end[1]))
                return -1;
            v = strtol(end + 1, &end, 10);
            if (v > 15)
                return -1;
            l->pad = (int)v;
        }
        return *end ? -1 : 0;
    }
    if (strncmp(word, "pool", 4) == 0) {
        l->type = REC_L_POOL;
        if (!isdigit((unsigned char)word[4]))
            return -1;
        v = strtol(word + 4, &end, 10);
        if (v > 8)
            return -1;
        l->k = l->stride = (int)v;
        if (*end == 's') {
            if (!isdigit((unsigned char)end[1]))
                return -1;
            v = strtol(end + 1, &end, 10);
            if (v > 8)
                return -1;
            l->stride = (int)v;
        }
        return *end ? -1 : 0;
    }
    if (strncmp(word, "dense", 5) == 0) {
        l->type = REC_L_DENSE;
        if (!isdigit((unsigned char)word[5]))
            return -1;
        v = strtol(word + 5, &end, 10);
        if (*end || v > 65536)
            return -1;
        l->out = (int)v;
        return 0;
    }
    return -1;
}

int rec_arch_parse(rec_arch *dst, const char *text)
{
    char word[64], why[200];
    const char *p = text;
    int n = 0, bad;

    memset(dst, 0, sizeof *dst);
    for (;;) {
        size_t len = 0;
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        while (p[len] && p[len] != ' ' && p[len] != ',' && p[len] != '\t' && p[len] != '\n')
            len++;
        if (len >= sizeof word) {
            util_log(UTIL_LOG_ERROR, "network description: word %d is too long", n + 1);
            return UTIL_EINVAL;
        }
        memcpy(word, p, len);
        word[len] = '\0';
        p += len;
        if (n == REC_MAX_LAYERS) {
            util_log(UTIL_LOG_ERROR, "network description: more than %d layers",
                     REC_MAX_LAYERS);
            return UTIL_EINVAL;
        }
        if (parse_word(word, &dst->layers[n]) != 0) {
            util_log(UTIL_LOG_ERROR,
                     "network description: word %d \"%s\" is not a layer "
                     "(conv<C>k<K>[p<P>], pool<K>[s<S>], relu, bn, drop<R>, flatten, dense<N>)",
                     n + 1, word);
            return UTIL_EINVAL;
        }
        n++;
    }
    dst->n_layers = n;
    if (n == 0) {
        util_log(UTIL_LOG_ERROR, "network description is empty");
        return UTIL_EINVAL;
    }
    bad = arch_check(dst, why, sizeof why);
    if (bad != -2) {
        util_log(UTIL_LOG_ERROR, "network description: %s", why);
        return UTIL_EINVAL;
    }
    return UTIL_OK;
}

int rec_arch_resolve(rec_arch *dst, const char *name_or_text)
{
    const char *text = rec_arch_preset(name_or_text);
    return rec_arch_parse(dst, text ? text : name_or_text);
}

void rec_arch_format(const rec_arch *src, char *buf, size_t cap)
{
    size_t len = 0;

    if (cap == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < src->n_layers && len < cap; i++) {
        const rec_layer *l = &src->layers[i];
        char w[64];
        switch (l->type) {
        case REC_L_CONV:
            if (l->pad)
                snprintf(w, sizeof w, "conv%dk%dp%d", l->out, l->k, l->pad);
            else
                snprintf(w, sizeof w, "conv%dk%d", l->out, l->k);
            break;
        case REC_L_POOL:
            if (l->stride != l->k)
                snprintf(w, sizeof w, "pool%ds%d", l->k, l->stride);
            else
                snprintf(w, sizeof w, "pool%d", l->k);
            break;
        case REC_L_RELU: snprintf(w, sizeof w, "relu"); break;
        case REC_L_BN: snprintf(w, sizeof w, "bn"); break;
        case REC_L_DROPOUT: snprintf(w, sizeof w, "drop%g", (double)l->rate); break;
        case REC_L_FLATTEN: snprintf(w, sizeof w, "flatten"); break;
        case REC_L_DENSE: snprintf(w, sizeof w, "dense%d", l->out); break;
        default: snprintf(w, sizeof w, "?"); break;
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", w);
    }
}

int rec_arch_params(const rec_arch *arch, rec_param_info *table, size_t *pn_total,
                    size_t *pn_trainable)
{
    shape s = {REC_IN_H, REC_IN_W, 1, 0};
    size_t off = 0;
    int n = 0;

    *pn_total = *pn_trainable = 0;
    /* Two passes: trainable tensors first, then the running statistics. */
    for (int pass = 0; pass < 2; pass++) {
        s = (shape){REC_IN_H, REC_IN_W, 1, 0};
        for (int i = 0; i < arch->n_layers; i++) {
            const rec_layer *l = &arch->layers[i];
            int in_c = s.c;
            size_t counts[2] = {0, 0};
            const char *names[2] = {NULL, NULL};
            if (shape_step(l, &s))
                return -1;
            if (pass == 0 && l->type == REC_L_CONV) {
                counts[0] = (size_t)l->out * (size_t)l->k * (size_t)l->k * (size_t)in_c;
                counts[1] = (size_t)l->out;
                names[0] = "conv.w";
                names[1] = "conv.b";
            } else if (pass == 0 && l->type == REC_L_DENSE) {
                counts[0] = (size_t)l->out * (size_t)in_c;
                counts[1] = (size_t)l->out;
                names[0] = "dense.w";
                names[1] = "dense.b";
            } else if (l->type == REC_L_BN) {
                counts[0] = counts[1] = (size_t)in_c;
                names[0] = pass == 0 ? "bn.gamma" : "bn.mean";
                names[1] = pass == 0 ? "bn.beta" : "bn.var";
            }
            for (int j = 0; j < 2; j++) {
                if (!names[j])
                    continue;
                if (n == REC_MAX_PARAMS)
                    return -1;
                snprintf(table[n].name, sizeof table[n].name, "%d.%s", i, names[j]);
                table[n].offset = off;
                table[n].count = counts[j];
                table[n].trainable = pass == 0;
                off += counts[j];
                n++;
            }
        }
        if (pass == 0)
            *pn_trainable = off;
    }
    *pn_total = off;
    return n;
}

double rec_arch_flops(const rec_arch *arch)
{
    shape s = {REC_IN_H, REC_IN_W, 1, 0};
    double f = 0.0;

    for (int i = 0; i < arch->n_layers; i++) {
        const rec_layer *l = &arch->layers[i];
        int in_c = s.c;
        if (shape_step(l, &s))
            return 0.0;
        if (l->type == REC_L_CONV)
            f += 2.0 * s.h * s.w * s.c * l->k * l->k * in_c;
        else if (l->type == REC_L_DENSE)
            f += 2.0 * in_c * l->out;
    }
    return f;
}
