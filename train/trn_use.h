/*
 * trn_use.h - using a trained model on a digit CSV: `docpipe predict`
 * (Kaggle's submission format) and `docpipe eval` (scores against labels).
 */
#ifndef DOCPIPE_TRN_USE_H
#define DOCPIPE_TRN_USE_H

typedef struct trn_use_opts {
    const char *model;  /* model file; NULL: rec_model_default_path() */
    const char *input;  /* Kaggle CSV (labels optional for predict, required for eval) */
    const char *out;    /* predict: the CSV to write ("-": stdout) */
    int proba;          /* predict: add a Confidence column */
    int json;           /* eval: one JSON object instead of the report */
    int record;         /* eval: store the accuracy in the model file's metadata */
    int threads;        /* 0: every core */
    const char *device; /* "auto" (NULL), "cpu" or "cuda": rec_engine_open() */
    int batch;          /* images per forward pass */
} trn_use_opts;

void trn_use_opts_default(trn_use_opts *o);

/*
 * trn_predict_run - classifies every digit of o->input and writes
 * "ImageId,Label" (1-based ids; ",Confidence" with proba) to o->out,
 * atomically: on any error no output file is left.
 */
int trn_predict_run(const trn_use_opts *o);

/* trn_eval_run - scores the model on a labeled CSV and prints the report
 * (trn_eval_print) or its JSON form, with the model's path and arch.  With
 * o->record the accuracy is then stored as the model file's test_accuracy
 * (the figure ingest copies into models.test_accuracy), the file rewritten
 * atomically; on any error before that the file is untouched. */
int trn_eval_run(const trn_use_opts *o);

#endif
