/*
 * trn_train.h - the training stage: options, the learning-rate schedule
 * (ReduceLROnPlateau) and the training run behind `docpipe train`.
 *
 * A run reads a Kaggle CSV, holds out a fraction for validation, trains
 * with RMSProp on augmented batches (rotation, zoom, shift; never flips),
 * evaluates and checkpoints after every epoch, and writes the model (with
 * a softmax temperature fitted on the held-out set), a CSV log and an HTML
 * report.  Every random draw is a function of (seed, epoch, batch, index),
 * so the same seed and thread count give bit-identical weights, and a run
 * resumed from a checkpoint, even one saved mid-epoch by Ctrl-C, continues
 * exactly where it stopped.
 */
#ifndef DOCPIPE_TRN_TRAIN_H
#define DOCPIPE_TRN_TRAIN_H

#include <stdint.h>

/* ReduceLROnPlateau in "max" mode (Keras semantics): when the monitored
 * figure has not risen above best + min_delta for patience epochs in a row,
 * lr = max(lr * factor, min_lr) and the count starts again. */
typedef struct trn_plateau {
    double lr, factor, min_lr, min_delta;
    int patience;
    double best; /* best figure so far (-1 before the first) */
    int wait;    /* epochs since the best */
} trn_plateau;

void trn_plateau_init(trn_plateau *p, double lr, double factor, int patience, double min_lr);
/* trn_plateau_step - feed one epoch's figure; returns 1 when lr was reduced. */
int trn_plateau_step(trn_plateau *p, double figure);

typedef struct trn_opts {
    const char *data;       /* training CSV (labels required) */
    const char *arch;       /* preset name or text form */
    int epochs;             /* total epochs (a resumed run goes on up to this) */
    int batch;
    double lr, rho, eps;    /* RMSProp */
    int patience;           /* ReduceLROnPlateau on validation accuracy */
    double factor, min_lr;
    double val;             /* held-out fraction in [0, 0.5] */
    uint64_t seed;
    int threads;            /* 0: every core */
    const char *device;     /* "auto" (NULL), "cpu" or "cuda": rec_engine_open() */
    int augment;
    double rotate_deg, zoom, shift; /* augmentation ranges: +-degrees, +-fraction, +-fraction of the side */
    const char *out;        /* the model file written at the end */
    const char *checkpoint; /* NULL: out + ".ckpt" */
    const char *resume;     /* checkpoint to continue from, or NULL */
    const char *init;       /* model whose network and weights the run starts from (fine-tuning;
                             * arch is then not used), or NULL: fresh weights from seed */
    const char *report;     /* folder for report.html, or NULL */
    const char *log;        /* per-epoch CSV log, or NULL */
    const char *test;       /* labeled CSV scored after every epoch (time-to-accuracy), or NULL */
    double stop_at;         /* stop once test accuracy reaches this (0: never) */
    int average_from;       /* from this epoch on, average the weights after each epoch and
                             * ship the mean (0: ship the last weights) */
    const char *command;    /* the command line, stored in the model's metadata */
} trn_opts;

/* trn_opts_default - the notebook's recipe: kaggle-style defaults (RMSProp
 * lr 1e-3, rho 0.9, eps 1e-8; plateau patience 3, factor 0.5, min lr 1e-5;
 * batch 86; 30 epochs; 10 % validation; rotation 10 degrees, zoom and shift
 * 10 %), arch "default", out "trained.model". */
void trn_opts_default(trn_opts *o);

/* trn_interrupt - asks a running trn_train_run() to save a checkpoint and
 * return UTIL_EINTR at the next batch; safe to call from a signal handler. */
void trn_interrupt(void);

/*
 * trn_train_run - the whole training run described by o.  Progress goes to
 * stderr (a progress bar on a terminal, plain lines otherwise), one summary
 * line per epoch to stdout.  Returns UTIL_OK, UTIL_EINTR after an
 * interruption (the checkpoint then holds everything needed to resume), or
 * the error of what failed; nothing half-written is left behind.
 */
int trn_train_run(const trn_opts *o);

/*
 * trn_augment_affine - n augmentation maps for rec_engine's images_load
 * (6 floats each, output pixel -> source pixel): the digit rotated by up to
 * +-rotate_deg degrees, scaled by 1 +- zoom, moved by up to +-shift of the
 * side in x and y, each drawn uniformly from key.  A rotation and a
 * positive scale: never a mirror image (a flipped 2 is not a 2).
 */
void trn_augment_affine(float *dst, int n, uint64_t key, double rotate_deg, double zoom,
                        double shift);

/* trn_fit_temperature - the T in [0.05, 20] minimizing the mean negative
 * log-likelihood of softmax(logits / T) on n rows of 10 logits. */
double trn_fit_temperature(const float *logits, const int32_t *labels, int n);

#endif
