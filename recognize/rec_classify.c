/*
 * rec_classify.c - batched inference with a trained model (rec_classify.h).
 *
 * The pixels of batch k+1 are uploaded before the probabilities of batch k
 * are downloaded, into the other of two engine buffers: on an asynchronous
 * engine (CUDA) the host-side copy of the next batch overlaps the GPU's
 * work on this one, and download() is the only wait per batch.
 */
#include "rec_classify.h"

#include <stdlib.h>

#include "util/util.h"

struct rec_classifier {
    const rec_engine_ops *ops;
    rec_engine *eng;
    rec_net *net;
    int max_batch;
    float temperature;
    uint8_t *d_pixels[2]; /* engine: max_batch x 784 bytes, used in turn */
    int32_t *d_idx;    /* engine: 0..max_batch-1 */
    float *d_x;        /* engine: max_batch x 784 floats */
    float *d_probs;    /* engine: max_batch x 10 */
};

void rec_classifier_destroy(rec_classifier **pc)
{
    rec_classifier *c;

    if (!pc || !*pc)
        return;
    c = *pc;
    rec_net_destroy(&c->net);
    c->ops->free(c->eng, c->d_pixels[0]);
    c->ops->free(c->eng, c->d_pixels[1]);
    c->ops->free(c->eng, c->d_idx);
    c->ops->free(c->eng, c->d_x);
    c->ops->free(c->eng, c->d_probs);
    free(c);
    *pc = NULL;
}

int rec_classifier_create(rec_classifier **pc, const rec_model *m, const rec_engine_ops *ops,
                          rec_engine *eng, int max_batch)
{
    rec_classifier *c = NULL;
    int32_t *idx = NULL;
    double t = 1.0;
    int rc;
    const size_t px = (size_t)REC_IN_H * REC_IN_W;

    *pc = NULL;
    c = calloc(1, sizeof *c);
    idx = malloc((size_t)(max_batch > 0 ? max_batch : 1) * sizeof *idx);
    if (!c || !idx) {
        free(c);
        free(idx);
        util_log(UTIL_LOG_ERROR, "out of memory creating a classifier");
        return UTIL_ENOMEM;
    }
    c->ops = ops;
    c->eng = eng;
    c->max_batch = max_batch;
    rec_model_meta_double(m, "temperature", 0.05, 20.0, 1.0, &t);
    c->temperature = (float)t;
    rc = rec_net_create(&c->net, &m->arch, ops, eng, max_batch, 0);
    if (!rc)
        rc = rec_net_set_params(c->net, m->params);
    if (!rc)
        rc = ops->alloc(eng, (void **)&c->d_pixels[0], (size_t)max_batch * px);
    if (!rc)
        rc = ops->alloc(eng, (void **)&c->d_pixels[1], (size_t)max_batch * px);
    if (!rc)
        rc = ops->alloc(eng, (void **)&c->d_idx, (size_t)max_batch * sizeof(int32_t));
    if (!rc)
        rc = ops->alloc(eng, (void **)&c->d_x, (size_t)max_batch * px * sizeof(float));
    if (!rc)
        rc = ops->alloc(eng, (void **)&c->d_probs, (size_t)max_batch * REC_CLASSES * sizeof(float));
    for (int i = 0; i < max_batch; i++)
        idx[i] = i;
    if (!rc)
        rc = ops->upload(eng, c->d_idx, idx, (size_t)max_batch * sizeof(int32_t));
    free(idx);
    if (rc) {
        rec_classifier_destroy(&c);
        return rc;
    }
    *pc = c;
    return UTIL_OK;
}

int rec_classifier_run(rec_classifier *c, float *probs, const uint8_t *pixels, int n)
{
    const size_t px = (size_t)REC_IN_H * REC_IN_W;
    int rc = UTIL_OK;

    int k = 0;

    if (n > 0)
        rc = c->ops->upload(c->eng, c->d_pixels[0], pixels,
                            (size_t)(n < c->max_batch ? n : c->max_batch) * px);
    for (int at = 0; at < n && rc == UTIL_OK; at += c->max_batch, k ^= 1) {
        int b = n - at < c->max_batch ? n - at : c->max_batch, next = at + b;
        const float *logits = NULL;
        rc = c->ops->images_load(c->eng, c->d_x, c->d_pixels[k], c->d_idx, NULL, b, REC_IN_H,
                                 REC_IN_W);
        if (!rc)
            rc = rec_net_forward(c->net, c->d_x, b, 0, 0, &logits);
        if (!rc)
            rc = c->ops->softmax(c->eng, c->d_probs, logits, b, REC_CLASSES, c->temperature);
        if (!rc && next < n)
            rc = c->ops->upload(c->eng, c->d_pixels[k ^ 1], pixels + (size_t)next * px,
                                (size_t)(n - next < c->max_batch ? n - next : c->max_batch) * px);
        if (!rc)
            rc = c->ops->download(c->eng, probs + (size_t)at * REC_CLASSES, c->d_probs,
                                  (size_t)b * REC_CLASSES * sizeof(float));
    }
    return rc;
}

float rec_classifier_temperature(const rec_classifier *c) { return c->temperature; }
