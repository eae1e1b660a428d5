/*
 * trn_report.h - the training report a person opens in a browser:
 * DIR/report.html, one self-contained file (inline SVG and CSS, images as
 * data URIs, no script or network access needed): learning curves, the
 * confusion matrix as a heatmap, the class distribution, and a grid of the
 * misclassified validation digits.
 */
#ifndef DOCPIPE_TRN_REPORT_H
#define DOCPIPE_TRN_REPORT_H

#include <stdint.h>

#include "train/trn_eval.h"

/* One epoch's figures, as the trainer logs them. */
typedef struct trn_epoch_stat {
    int epoch;         /* 1-based */
    double train_loss; /* mean over the epoch's batches */
    double train_acc;  /* on the (augmented) training batches */
    double val_loss, val_acc; /* on the held-out set; val_acc < 0 when there is none */
    double lr;         /* learning rate used during the epoch */
    double seconds;    /* wall time of the epoch's training */
} trn_epoch_stat;

typedef struct trn_report_in {
    const char *title;            /* e.g. "docpipe train: default" */
    const char *arch_text;        /* the network's text form */
    const char *summary;          /* free text shown under the title (command, machine), may be NULL */
    const trn_epoch_stat *epochs; /* n_epochs entries, in order */
    int n_epochs;
    const trn_eval *val;          /* the held-out set's evaluation; NULL when there is none */
    const int64_t *class_counts;  /* [10] training images per class */
    /* Misclassified held-out digits, worst first: pixels n_mis x 784 (0..255),
     * true label, predicted label, and the predicted class's probability. */
    const uint8_t *mis_pixels;
    const int32_t *mis_true, *mis_pred;
    const float *mis_conf;
    int n_mis;
} trn_report_in;

/*
 * trn_report_write - creates dir when missing and writes dir/report.html
 * atomically.  Shows at most 100 misclassified digits.  Returns UTIL_EIO
 * when the folder or file cannot be made.
 */
int trn_report_write(const char *dir, const trn_report_in *in);

#endif
