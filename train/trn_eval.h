/*
 * trn_eval.h - scoring a classifier's probabilities against true labels:
 * accuracy, the confusion matrix, per-class precision and recall, mean
 * log-loss, expected calibration error with its reliability table, and the
 * printed and JSON forms `docpipe eval` shows.
 */
#ifndef DOCPIPE_TRN_EVAL_H
#define DOCPIPE_TRN_EVAL_H

#include <stdint.h>
#include <stdio.h>

#define TRN_CLASSES 10
#define TRN_ECE_BINS 15

typedef struct trn_eval {
    int n;                                       /* scored images */
    int correct;
    double accuracy;                             /* correct / n */
    int64_t confusion[TRN_CLASSES][TRN_CLASSES]; /* [true][predicted] */
    double precision[TRN_CLASSES];               /* 0 when nothing was predicted as the class */
    double recall[TRN_CLASSES];                  /* 0 when the class has no images */
    double log_loss;                             /* mean -ln p(true), p clamped at 1e-12 */
    double ece;                                  /* expected calibration error, equal-width bins */
    int bin_count[TRN_ECE_BINS];                 /* reliability table: images per bin of */
    double bin_conf[TRN_ECE_BINS];               /* top-1 confidence, their mean confidence */
    double bin_acc[TRN_ECE_BINS];                /* and their accuracy (0 when empty) */
} trn_eval;

/* trn_eval_argmax - the predicted class of one row of 10 scores (probabilities
 * or logits): the arg-max, the first one on ties. */
int trn_eval_argmax(const float *row);

/*
 * trn_eval_compute - fills dst from probs[n][10] (rows summing to 1) and
 * labels[n] (0..9).  The predicted class is the arg-max (the first on
 * ties).  n may be 0 (everything zero).  Returns UTIL_EINVAL on a label
 * outside 0..9.
 */
int trn_eval_compute(trn_eval *dst, const float *probs, const int32_t *labels, int n);

/* trn_eval_print - the human report: accuracy, log-loss, ECE, a per-class
 * table (precision, recall, count) and the confusion matrix. */
void trn_eval_print(FILE *fp, const trn_eval *ev);

/*
 * trn_eval_json - one JSON object on one line, ending in a newline, with at
 * least: "n", "accuracy", "log_loss", "ece", "precision" [10], "recall"
 * [10], "confusion" [[10] x 10, true by row], "reliability" [{"conf",
 * "acc", "count"} per non-empty bin].  extra, when not NULL, is inserted
 * verbatim as further members (e.g. "\"model\":\"m.model\"").
 */
void trn_eval_json(FILE *fp, const trn_eval *ev, const char *extra);

#endif
