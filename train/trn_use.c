/*
 * trn_use.c - predict and eval on digit CSVs with a trained model
 * (trn_use.h): load, classify in batches on the engine --device picks, write
 * or score.
 */
#include "trn_use.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_model.h"
#include "train/trn_data.h"
#include "train/trn_eval.h"
#include "util/util.h"

void trn_use_opts_default(trn_use_opts *o)
{
    memset(o, 0, sizeof *o);
    o->out = "predictions.csv";
    o->batch = 1000;
}

/* Loads the model and the CSV and classifies every row into *pprobs. */
static int classify_csv(const trn_use_opts *o, int labels, trn_data **pdata, float **pprobs,
                        rec_model **pmodel, char *model_path, size_t cap)
{
    const rec_engine_ops *ops = NULL;
    rec_engine_opts eo = {o->threads, 0};
    rec_engine *eng = NULL;
    rec_classifier *cls = NULL;
    rec_model *m = NULL;
    trn_data *d = NULL;
    float *probs = NULL;
    int rc;

    *pdata = NULL;
    *pprobs = NULL;
    *pmodel = NULL;
    if (o->model)
        snprintf(model_path, cap, "%s", o->model);
    else
        rec_model_default_path(model_path, cap);
    rc = rec_model_load(&m, model_path, REC_MODEL_KIND_MODEL);
    if (!rc)
        rc = trn_data_load_csv(&d, o->input, labels);
    if (rc)
        goto cleanup;
    probs = malloc((size_t)(d->n ? d->n : 1) * 10 * sizeof *probs);
    if (!probs) {
        util_log(UTIL_LOG_ERROR, "out of memory classifying %s", o->input);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    rc = rec_engine_open(o->device, &eo, &ops, &eng);
    if (!rc)
        rc = rec_classifier_create(&cls, m, ops, eng, o->batch > 0 ? o->batch : 1000);
    if (!rc)
        rc = rec_classifier_run(cls, probs, d->pixels, d->n);
    if (rc)
        goto cleanup;
    *pdata = d;
    *pprobs = probs;
    *pmodel = m;
    d = NULL;
    probs = NULL;
    m = NULL;
cleanup:
    rec_classifier_destroy(&cls);
    if (eng)
        ops->destroy(&eng);
    rec_model_destroy(&m);
    trn_data_destroy(&d);
    free(probs);
    return rc;
}

int trn_predict_run(const trn_use_opts *o)
{
    trn_data *d = NULL;
    float *probs = NULL;
    rec_model *m = NULL;
    util_afile *af = NULL;
    FILE *fp = stdout;
    char path[4200];
    int rc;

    rc = classify_csv(o, TRN_LABELS_IGNORE, &d, &probs, &m, path, sizeof path);
    if (rc)
        goto cleanup;
    if (strcmp(o->out, "-") != 0) {
        rc = util_afile_open(&af, o->out);
        if (rc)
            goto cleanup;
        fp = af->fp;
    }
    fprintf(fp, o->proba ? "ImageId,Label,Confidence\n" : "ImageId,Label\n");
    for (int i = 0; i < d->n; i++) {
        const float *p = probs + (size_t)i * 10;
        int a = trn_eval_argmax(p);
        if (o->proba)
            fprintf(fp, "%d,%d,%.6f\n", i + 1, a, (double)p[a]);
        else
            fprintf(fp, "%d,%d\n", i + 1, a);
    }
    if (af) {
        rc = util_afile_commit(&af);
        if (!rc)
            util_log(UTIL_LOG_INFO, "wrote %d predictions to %s", d->n, o->out);
    } else if (fflush(stdout) != 0) {
        util_log(UTIL_LOG_ERROR, "writing predictions to standard output failed");
        rc = UTIL_EIO;
    }
cleanup:
    util_afile_abort(&af);
    trn_data_destroy(&d);
    rec_model_destroy(&m);
    free(probs);
    return rc;
}

int trn_eval_run(const trn_use_opts *o)
{
    trn_data *d = NULL;
    float *probs = NULL;
    rec_model *m = NULL;
    trn_eval ev;
    char path[4200], arch[4096], extra[16384];
    int rc;

    rc = classify_csv(o, TRN_LABELS_REQUIRED, &d, &probs, &m, path, sizeof path);
    if (!rc)
        rc = trn_eval_compute(&ev, probs, d->labels, d->n);
    if (rc)
        goto cleanup;
    rec_arch_format(&m->arch, arch, sizeof arch);
    if (o->json) {
        /* The path is the only free text: escape it for JSON. */
        char ep[8400];
        size_t j = 0;
        for (const char *s = path; *s && j + 7 < sizeof ep; s++) {
            if (*s == '"' || *s == '\\')
                ep[j++] = '\\';
            if ((unsigned char)*s < 0x20) {
                j += (size_t)snprintf(ep + j, sizeof ep - j, "\\u%04x", (unsigned char)*s);
                continue;
            }
            ep[j++] = *s;
        }
        ep[j] = '\0';
        {
            double t;
            rec_model_meta_double(m, "temperature", 0.05, 20.0, 1.0, &t);
            snprintf(extra, sizeof extra, "\"model\":\"%s\",\"arch\":\"%s\",\"temperature\":%.6g",
                     ep, arch, t);
        }
        trn_eval_json(stdout, &ev, extra);
    } else {
        printf("model %s (%s)\n", path, arch);
        trn_eval_print(stdout, &ev);
    }
    fflush(stdout);
    if (o->record) {
        char acc[32];
        snprintf(acc, sizeof acc, "%.6f", ev.accuracy);
        rc = rec_model_meta_set(m, "test_accuracy", acc);
        if (!rc)
            rc = rec_model_save(m, path);
        if (!rc)
            util_log(UTIL_LOG_INFO, "%s: test_accuracy=%s recorded", path, acc);
    }
cleanup:
    trn_data_destroy(&d);
    rec_model_destroy(&m);
    free(probs);
    return rc;
}
