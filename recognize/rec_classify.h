/*
 * rec_classify.h - using a trained model: a classifier made from a model
 * file's contents on an engine, that turns any number of 28 x 28 gray
 * digits into calibrated class probabilities, in batches.
 *
 * This is what predict, eval and (later) ingest call; it knows nothing of
 * where the digits come from.
 */
#ifndef DOCPIPE_REC_CLASSIFY_H
#define DOCPIPE_REC_CLASSIFY_H

#include <stdint.h>

#include "rec_engine.h"
#include "rec_model.h"

typedef struct rec_classifier rec_classifier;

/*
 * rec_classifier_create - an inference network for model m on engine
 * (ops, eng), taking batches of up to max_batch images.  The model's
 * "temperature" metadata (1 when absent) divides the logits before the
 * softmax.  m may be destroyed afterwards.
 */
int rec_classifier_create(rec_classifier **pc, const rec_model *m, const rec_engine_ops *ops,
                          rec_engine *eng, int max_batch);
void rec_classifier_destroy(rec_classifier **pc);

/*
 * rec_classifier_run - probs[n][10] (host memory) for the n images in
 * pixels[n][784] (host, 0 background .. 255 ink), in batches.  n may be 0.
 */
int rec_classifier_run(rec_classifier *c, float *probs, const uint8_t *pixels, int n);

/* rec_classifier_temperature - the temperature in use. */
float rec_classifier_temperature(const rec_classifier *c);

#endif
