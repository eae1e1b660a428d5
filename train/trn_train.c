/*
 * trn_train.c - the training run (trn_train.h): data split, augmented
 * batches, RMSProp steps on the engine, per-epoch evaluation, the plateau
 * schedule, checkpoints (also on Ctrl-C), resume, temperature fitting, the
 * final model, the CSV log and the report.
 */
#include "trn_train.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "train/trn_data.h"
#include "train/trn_eval.h"
#include "train/trn_report.h"
#include "util/util.h"

#define MAX_EPOCHS 1000
#define EVAL_BATCH_MAX 512

static volatile sig_atomic_t g_stop;

void trn_interrupt(void) { g_stop = 1; }

/* ------------------------------------------------------------ schedule */

void trn_plateau_init(trn_plateau *p, double lr, double factor, int patience, double min_lr)
{
    memset(p, 0, sizeof *p);
    p->lr = lr;
    p->factor = factor;
    p->patience = patience;
    p->min_lr = min_lr;
    p->min_delta = 1e-4;
    p->best = -1.0;
}

int trn_plateau_step(trn_plateau *p, double figure)
{
    if (figure > p->best + p->min_delta || p->best < 0.0) {
        p->best = figure;
        p->wait = 0;
        return 0;
    }
    if (++p->wait < p->patience)
        return 0;
    p->wait = 0;
    if (p->lr <= p->min_lr)
        return 0;
    p->lr = fmax(p->lr * p->factor, p->min_lr);
    return 1;
}

void trn_opts_default(trn_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = "default";
    o->epochs = 30;
    o->batch = 86;
    o->lr = 1e-3;
    o->rho = 0.9;
    o->eps = 1e-8;
    o->patience = 3;
    o->factor = 0.5;
    o->min_lr = 1e-5;
    o->val = 0.1;
    o->seed = 1;
    o->augment = 1;
    o->rotate_deg = 10.0;
    o->zoom = 0.1;
    o->shift = 0.1;
    o->out = "trained.model";
}

/* ------------------------------------------------------ host softmax */

/* Mean NLL of softmax(logits/T) and the arg-max accuracy. */
static void nll_acc(const float *logits, const int32_t *labels, int n, double T, double *ploss,
                    double *pacc)
{
    double loss = 0.0;
    int right = 0;

    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * 10;
        int arg = trn_eval_argmax(z);
        double m = z[arg], s = 0.0;
        for (int k = 0; k < 10; k++)
            s += exp(((double)z[k] - m) / T);
        loss += log(s) - ((double)z[labels[i]] - m) / T;
        right += arg == labels[i];
    }
    *ploss = n ? loss / n : 0.0;
    *pacc = n ? (double)right / n : 0.0;
}

double trn_fit_temperature(const float *logits, const int32_t *labels, int n)
{
    /* Golden-section search on ln T: the NLL is unimodal in T. */
    double a = log(0.05), b = log(20.0), g = (sqrt(5.0) - 1.0) / 2.0, acc;
    double c = b - g * (b - a), d = a + g * (b - a), fc, fd;

    if (n <= 0)
        return 1.0;
    nll_acc(logits, labels, n, exp(c), &fc, &acc);
    nll_acc(logits, labels, n, exp(d), &fd, &acc);
    for (int it = 0; it < 60; it++) {
        if (fc < fd) {
            b = d, d = c, fd = fc;
            c = b - g * (b - a);
            nll_acc(logits, labels, n, exp(c), &fc, &acc);
        } else {
            a = c, c = d, fc = fd;
            d = a + g * (b - a);
            nll_acc(logits, labels, n, exp(d), &fd, &acc);
        }
    }
    return exp((a + b) / 2.0);
}

/* ------------------------------------------------------------ a run */

typedef struct run {
    const trn_opts *o;
    trn_opts eff;           /* the options in force (a checkpoint's recipe wins) */
    rec_arch arch;
    trn_data *data, *test;
    int32_t *train_idx, *val_idx, *order;
    int32_t *val_labels;    /* labels of the held-out rows, in val_idx order */
    int32_t *test_idx;      /* 0..test->n-1, for eval_logits */
    int n_train, n_val;
    uint32_t data_crc;
    const rec_engine_ops *ops;
    rec_engine *eng;
    rec_net *net;
    uint8_t *d_pixels, *d_test_pixels;
    int32_t *d_idx, *d_labels;
    float *d_aff, *d_x, *d_stats;
    int32_t *h_labels;
    float *h_aff, *h_logits;
    int max_eval;
    /* Progress, restored from a checkpoint on resume. */
    int epoch_done, batch_next;
    float stats[2];         /* loss sum, correct count of the epoch so far */
    double seen, epoch_secs, train_secs;
    trn_plateau plateau;
    trn_epoch_stat hist[MAX_EPOCHS];
    double test_acc[MAX_EPOCHS];
    double first99, first996; /* training seconds when test accuracy first got there */
    float *avg;             /* host: mean of the weights after epochs average_from.. */
    int avg_count;          /* epochs in that mean */
    size_t n_params;
} run;

static const char *ckpt_path(const run *r, char *buf, size_t cap)
{
    if (r->o->checkpoint)
        return r->o->checkpoint;
    snprintf(buf, cap, "%s.ckpt", r->o->out);
    return buf;
}

static uint32_t data_crc(const trn_data *d)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < d->n; i++) {
        crc = crc32(crc, d->pixels + (size_t)i * TRN_PIXELS, TRN_PIXELS);
        crc = crc32(crc, (const Bytef *)&d->labels[i], sizeof d->labels[i]);
    }
    return (uint32_t)crc;
}

/* Logits of n images (indices idx into pixels) into r->h_logits. */
static int eval_logits(run *r, const uint8_t *d_pixels, const int32_t *idx, int n, float *dst)
{
    int rc = UTIL_OK;

    for (int at = 0; at < n && rc == UTIL_OK; at += r->max_eval) {
        int b = n - at < r->max_eval ? n - at : r->max_eval;
        const float *logits = NULL;
        rc = r->ops->upload(r->eng, r->d_idx, idx + at, (size_t)b * sizeof(int32_t));
        if (!rc)
            rc = r->ops->images_load(r->eng, r->d_x, d_pixels, r->d_idx, NULL, b, TRN_SIDE,
                                     TRN_SIDE);
        if (!rc)
            rc = rec_net_forward(r->net, r->d_x, b, 0, 0, &logits);
        if (!rc)
            rc = r->ops->download(r->eng, dst + (size_t)at * 10, logits,
                                  (size_t)b * 10 * sizeof(float));
    }
    return rc;
}

void trn_augment_affine(float *dst, int n, uint64_t key, double rotate_deg, double zoom,
                        double shift)
{
    const double side = TRN_SIDE, pi = 3.14159265358979323846;

    for (int i = 0; i < n; i++) {
        float *a = dst + (size_t)i * 6;
        double u[4];
        /* Image i takes draws 5i..5i+3; 5i+4 is left unused, so the stream
         * is the one the shipped model was trained with. */
        for (int k = 0; k < 4; k++)
            u[k] = 2.0 * util_uniform(key, (uint64_t)i * 5 + (uint64_t)k) - 1.0;
        /* Content rotated by ang, scaled by s, moved by (tx, ty): the
         * output-to-source map is the inverse, a rotation by -ang over s. */
        double ang = u[0] * rotate_deg * pi / 180.0, s = 1.0 + u[1] * zoom;
        double tx = u[2] * shift * side, ty = u[3] * shift * side;
        double c = cos(ang) / s, sn = sin(ang) / s;
        a[0] = (float)c, a[1] = (float)sn, a[3] = (float)-sn, a[4] = (float)c;
        a[2] = (float)-(c * tx + sn * ty);
        a[5] = (float)-(-sn * tx + c * ty);
    }
}

/* ------------------------------------------------- checkpoint state */

static int meta_setf(rec_model *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int meta_setf(rec_model *m, const char *key, const char *fmt, ...)
{
    char val[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    return rec_model_meta_set(m, key, val);
}

/* Recipe and provenance common to checkpoints and models. */
static int meta_recipe(rec_model *m, const run *r)
{
    int rc = 0;
    rc |= meta_setf(m, "seed", "%llu", (unsigned long long)r->eff.seed);
    rc |= meta_setf(m, "batch", "%d", r->eff.batch);
    rc |= meta_setf(m, "val_fraction", "%.17g", r->eff.val);
    rc |= meta_setf(m, "augment", "%d", r->eff.augment);
    rc |= meta_setf(m, "rotate_deg", "%.17g", r->eff.rotate_deg);
    rc |= meta_setf(m, "zoom", "%.17g", r->eff.zoom);
    rc |= meta_setf(m, "shift", "%.17g", r->eff.shift);
    rc |= meta_setf(m, "rho", "%.17g", r->eff.rho);
    rc |= meta_setf(m, "eps", "%.17g", r->eff.eps);
    rc |= meta_setf(m, "patience", "%d", r->eff.patience);
    rc |= meta_setf(m, "factor", "%.17g", r->eff.factor);
    rc |= meta_setf(m, "min_lr", "%.17g", r->eff.min_lr);
    rc |= meta_setf(m, "average_from", "%d", r->eff.average_from);
    rc |= meta_setf(m, "data_rows", "%d", r->data->n);
    rc |= meta_setf(m, "data_crc32", "%08x", (unsigned)r->data_crc);
    rc |= meta_setf(m, "threads", "%d", r->eff.threads);
    rc |= meta_setf(m, "engine", "%s", r->ops->describe(r->eng));
    if (r->o->init)
        rc |= meta_setf(m, "init", "%s", r->o->init);
    if (r->o->command)
        rc |= meta_setf(m, "command", "%s", r->o->command);
    return rc ? UTIL_EINVAL : UTIL_OK;
}

static int save_checkpoint(run *r)
{
    rec_model *m = NULL;
    char buf[1024];
    int rc;

    rc = rec_model_create(&m, &r->arch, REC_MODEL_KIND_CHECKPOINT);
    if (!rc)
        rc = rec_net_get_params(r->net, m->params);
    if (!rc)
        rc = rec_net_get_opt_state(r->net, m->opt_state);
    if (!rc)
        rc = r->ops->download(r->eng, r->stats, r->d_stats, sizeof r->stats);
    if (!rc)
        rc = meta_recipe(m, r);
    if (!rc) {
        int e = 0;
        e |= meta_setf(m, "epoch_done", "%d", r->epoch_done);
        e |= meta_setf(m, "batch_next", "%d", r->batch_next);
        e |= meta_setf(m, "epoch_loss_sum", "%.9g", (double)r->stats[0]);
        e |= meta_setf(m, "epoch_correct", "%.9g", (double)r->stats[1]);
        e |= meta_setf(m, "epoch_seen", "%.17g", r->seen);
        e |= meta_setf(m, "epoch_seconds", "%.17g", r->epoch_secs);
        e |= meta_setf(m, "train_seconds", "%.17g", r->train_secs);
        e |= meta_setf(m, "lr", "%.17g", r->plateau.lr);
        e |= meta_setf(m, "plateau_best", "%.17g", r->plateau.best);
        e |= meta_setf(m, "plateau_wait", "%d", r->plateau.wait);
        e |= meta_setf(m, "first99", "%.17g", r->first99);
        e |= meta_setf(m, "first996", "%.17g", r->first996);
        e |= meta_setf(m, "avg_count", "%d", r->avg_count);
        if (r->avg_count > 0) {
            m->avg_params = malloc(r->n_params * sizeof(float));
            if (!m->avg_params)
                e |= 1;
            else
                memcpy(m->avg_params, r->avg, r->n_params * sizeof(float));
        }
        for (int i = 0; i < r->epoch_done && !e; i++) {
            const trn_epoch_stat *h = &r->hist[i];
            char key[32];
            snprintf(key, sizeof key, "hist.%d", i + 1);
            e |= meta_setf(m, key, "%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", h->train_loss,
                           h->train_acc, h->val_loss, h->val_acc, r->test_acc[i], h->lr,
                           h->seconds);
        }
        rc = e ? UTIL_EINVAL : UTIL_OK;
    }
    if (!rc)
        rc = rec_model_save(m, ckpt_path(r, buf, sizeof buf));
    rec_model_destroy(&m);
    return rc;
}

static int meta_num(const rec_model *m, const char *path, const char *key, double lo, double hi,
                    double *pv)
{
    if (rec_model_meta_double(m, key, lo, hi, 0.0, pv) != UTIL_OK) {
        util_log(UTIL_LOG_ERROR, "%s: checkpoint lacks a valid \"%s\"", path, key);
        return UTIL_EFORMAT;
    }
    return UTIL_OK;
}

/* Reads the recipe of a checkpoint into r->eff and r->arch. */
static int load_recipe(run *r, const rec_model *m, const char *path)
{
    double v[13];
    static const char *keys[13] = {"seed", "batch", "val_fraction", "augment", "rotate_deg",
                                   "zoom", "shift", "rho", "eps", "patience", "factor", "min_lr",
                                   "average_from"};
    static const double lo[13] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const double hi[13] = {2e19, 65536, 0.5, 1, 90, 0.9, 0.5, 1, 1, 1000, 1, 1, 1000};
    int rc = UTIL_OK;

    for (int i = 0; i < 13 && !rc; i++)
        rc = meta_num(m, path, keys[i], lo[i], hi[i], &v[i]);
    if (rc)
        return rc;
    r->arch = m->arch;
    r->eff.seed = (uint64_t)v[0];
    {
        char sb[32];
        rec_model_meta_get(m, "seed", sb, sizeof sb);
        r->eff.seed = strtoull(sb, NULL, 10);
    }
    r->eff.batch = (int)v[1];
    r->eff.val = v[2];
    r->eff.augment = (int)v[3];
    r->eff.rotate_deg = v[4], r->eff.zoom = v[5], r->eff.shift = v[6];
    r->eff.rho = v[7], r->eff.eps = v[8];
    r->eff.patience = (int)v[9], r->eff.factor = v[10], r->eff.min_lr = v[11];
    r->eff.average_from = (int)v[12];
    return UTIL_OK;
}

/* Restores the progress of a checkpoint (after the net exists). */
static int load_progress(run *r, const rec_model *m, const char *path)
{
    double v[12];
    char buf[64];
    int rc = UTIL_OK;

    if (rec_model_meta_get(m, "data_crc32", buf, sizeof buf) ||
        strtoul(buf, NULL, 16) != r->data_crc) {
        util_log(UTIL_LOG_ERROR, "%s: the checkpoint was made on other training data than %s",
                 path, r->o->data);
        return UTIL_EINVAL;
    }
    rc |= meta_num(m, path, "epoch_done", 0, MAX_EPOCHS, &v[0]);
    rc |= meta_num(m, path, "batch_next", 0, 1e9, &v[1]);
    rc |= meta_num(m, path, "epoch_loss_sum", 0, 1e30, &v[2]);
    rc |= meta_num(m, path, "epoch_correct", 0, 1e12, &v[3]);
    rc |= meta_num(m, path, "epoch_seen", 0, 1e12, &v[4]);
    rc |= meta_num(m, path, "epoch_seconds", 0, 1e12, &v[5]);
    rc |= meta_num(m, path, "train_seconds", 0, 1e12, &v[6]);
    rc |= meta_num(m, path, "lr", 0, 10, &v[7]);
    rc |= meta_num(m, path, "plateau_best", -1, 1, &v[8]);
    rc |= meta_num(m, path, "plateau_wait", 0, 1000, &v[9]);
    rc |= meta_num(m, path, "first99", 0, 1e12, &v[10]);
    rc |= meta_num(m, path, "first996", 0, 1e12, &v[11]);
    if (rc)
        return UTIL_EFORMAT;
    r->epoch_done = (int)v[0];
    r->batch_next = (int)v[1];
    r->stats[0] = (float)v[2];
    r->stats[1] = (float)v[3];
    r->seen = v[4];
    r->epoch_secs = v[5];
    r->train_secs = v[6];
    r->plateau.lr = v[7];
    r->plateau.best = v[8];
    r->plateau.wait = (int)v[9];
    r->first99 = v[10];
    r->first996 = v[11];
    {
        double ac;
        if (meta_num(m, path, "avg_count", 0, MAX_EPOCHS, &ac))
            return UTIL_EFORMAT;
        r->avg_count = (int)ac;
        if (r->avg_count > 0) {
            if (!m->avg_params) {
                util_log(UTIL_LOG_ERROR, "%s: checkpoint averages %d epochs but lacks avg.params",
                         path, r->avg_count);
                return UTIL_EFORMAT;
            }
            memcpy(r->avg, m->avg_params, r->n_params * sizeof(float));
        }
    }
    for (int i = 0; i < r->epoch_done; i++) {
        char key[32], val[1024], *p = val;
        double f[7];
        snprintf(key, sizeof key, "hist.%d", i + 1);
        if (rec_model_meta_get(m, key, val, sizeof val)) {
            util_log(UTIL_LOG_ERROR, "%s: checkpoint lacks \"%s\"", path, key);
            return UTIL_EFORMAT;
        }
        for (int k = 0; k < 7; k++) {
            char *end = p;
            while (*end && *end != ',')
                end++;
            char save = *end;
            *end = '\0';
            if (util_parse_double(p, -1.0, 1e12, &f[k]) || (k < 6 && !save)) {
                util_log(UTIL_LOG_ERROR, "%s: checkpoint entry \"%s\" is malformed", path, key);
                return UTIL_EFORMAT;
            }
            p = end + (save ? 1 : 0);
        }
        r->hist[i] = (trn_epoch_stat){i + 1, f[0], f[1], f[2], f[3], f[5], f[6]};
        r->test_acc[i] = f[4];
    }
    rc = rec_net_set_params(r->net, m->params);
    if (!rc)
        rc = rec_net_set_opt_state(r->net, m->opt_state);
    if (!rc)
        rc = r->ops->upload(r->eng, r->d_stats, r->stats, sizeof r->stats);
    return rc;
}

/* --------------------------------------------------------- log, report */

static int write_log(const run *r)
{
    util_afile *af = NULL;
    int rc = util_afile_open(&af, r->o->log);
    if (rc)
        return rc;
    fprintf(af->fp, "epoch,train_loss,train_acc,val_loss,val_acc,test_acc,lr,seconds\n");
    for (int i = 0; i < r->epoch_done; i++) {
        const trn_epoch_stat *h = &r->hist[i];
        fprintf(af->fp, "%d,%.6f,%.6f,", h->epoch, h->train_loss, h->train_acc);
        if (h->val_acc >= 0)
            fprintf(af->fp, "%.6f,%.6f,", h->val_loss, h->val_acc);
        else
            fprintf(af->fp, ",,");
        if (r->test_acc[i] >= 0)
            fprintf(af->fp, "%.6f,", r->test_acc[i]);
        else
            fprintf(af->fp, ",");
        fprintf(af->fp, "%.3g,%.2f\n", h->lr, h->seconds);
    }
    rc = util_afile_commit(&af);
    util_afile_abort(&af);
    return rc;
}

typedef struct mis {
    int i;     /* row of the held-out set */
    int pred;  /* predicted class */
    float conf;
} mis;

static int mis_cmp(const void *a, const void *b)
{
    float x = ((const mis *)a)->conf, y = ((const mis *)b)->conf;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The report from the held-out set's calibrated probabilities. */
static int write_report(const run *r, const float *probs, const int32_t *vlabels, double T)
{
    trn_eval ev;
    trn_report_in in;
    int64_t counts[10] = {0};
    mis *ms = NULL;
    uint8_t *mp = NULL;
    int32_t *mt = NULL, *mpred = NULL;
    float *mc = NULL;
    char arch_text[4096], summary[2048];
    int n_mis = 0, rc = UTIL_OK;

    for (int i = 0; i < r->n_train; i++)
        counts[r->data->labels[r->train_idx[i]]]++;
    memset(&in, 0, sizeof in);
    if (r->n_val > 0) {
        rc = trn_eval_compute(&ev, probs, vlabels, r->n_val);
        if (rc)
            return rc;
        ms = malloc((size_t)r->n_val * sizeof *ms);
        if (!ms)
            return UTIL_ENOMEM;
        for (int i = 0; i < r->n_val; i++) {
            const float *p = probs + (size_t)i * 10;
            int arg = trn_eval_argmax(p);
            if (arg != vlabels[i])
                ms[n_mis++] = (mis){i, arg, p[arg]};
        }
        qsort(ms, (size_t)n_mis, sizeof *ms, mis_cmp);
        if (n_mis > 100)
            n_mis = 100;
        mp = malloc((size_t)(n_mis ? n_mis : 1) * TRN_PIXELS);
        mt = malloc((size_t)(n_mis ? n_mis : 1) * sizeof *mt);
        mpred = malloc((size_t)(n_mis ? n_mis : 1) * sizeof *mpred);
        mc = malloc((size_t)(n_mis ? n_mis : 1) * sizeof *mc);
        if (!mp || !mt || !mpred || !mc) {
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        for (int j = 0; j < n_mis; j++) {
            memcpy(mp + (size_t)j * TRN_PIXELS,
                   r->data->pixels + (size_t)r->val_idx[ms[j].i] * TRN_PIXELS, TRN_PIXELS);
            mt[j] = vlabels[ms[j].i];
            mpred[j] = ms[j].pred;
            mc[j] = ms[j].conf;
        }
        in.val = &ev;
    }
    rec_arch_format(&r->arch, arch_text, sizeof arch_text);
    snprintf(summary, sizeof summary,
             "%d training and %d held-out digits; batch %d, RMSProp, %s augmentation; "
             "%.1f s of training on %s; softmax temperature %.3f fitted on the held-out set.%s%s",
             r->n_train, r->n_val, r->eff.batch, r->eff.augment ? "with" : "no", r->train_secs,
             r->ops->describe(r->eng), T, r->o->command ? " Command: " : "",
             r->o->command ? r->o->command : "");
    in.title = "docpipe training report";
    in.arch_text = arch_text;
    in.summary = summary;
    in.epochs = r->hist;
    in.n_epochs = r->epoch_done;
    in.class_counts = counts;
    in.mis_pixels = mp;
    in.mis_true = mt;
    in.mis_pred = mpred;
    in.mis_conf = mc;
    in.n_mis = n_mis;
    rc = trn_report_write(r->o->report, &in);
cleanup:
    free(ms);
    free(mp);
    free(mt);
    free(mpred);
    free(mc);
    return rc;
}

/* --------------------------------------------------------- progress */

static void progress(const run *r, int epoch, int j, int nb, double secs, int final)
{
    char bar[21];
    double rate = secs > 0 ? r->seen / secs : 0.0, left = rate > 0 ? (r->n_train - r->seen) / rate : 0;
    int fill = nb ? (int)(20.0 * j / nb) : 0;

    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %d:%02d\033[K",
            epoch, r->eff.epochs, bar, j, nb, r->seen ? r->stats[0] / r->seen : 0.0,
            r->seen ? 100.0 * r->stats[1] / r->seen : 0.0, rate, (int)left / 60, (int)left % 60);
    if (final)
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

/* ------------------------------------------------------------ setup */

static int setup(run *r)
{
    rec_engine_opts eo;
    util_rng rng;
    int32_t *perm = NULL;
    int rc, n;
    size_t B;

    if (r->eff.threads <= 0)
        r->eff.threads = util_cpu_count();
    eo.threads = r->eff.threads;
    eo.device = 0;
    rc = trn_data_load_csv(&r->data, r->o->data, TRN_LABELS_REQUIRED);
    if (rc)
        return rc;
    if (r->o->test) {
        rc = trn_data_load_csv(&r->test, r->o->test, TRN_LABELS_REQUIRED);
        if (rc)
            return rc;
    }
    n = r->data->n;
    r->data_crc = data_crc(r->data);
    r->n_val = (int)floor(n * r->eff.val + 0.5);
    r->n_train = n - r->n_val;
    if (r->n_train < 1) {
        util_log(UTIL_LOG_ERROR, "%s: %d rows leave nothing to train on after --val %g",
                 r->o->data, n, r->eff.val);
        return UTIL_EINVAL;
    }
    perm = malloc((size_t)n * sizeof *perm);
    r->train_idx = malloc((size_t)r->n_train * sizeof(int32_t));
    r->order = malloc((size_t)r->n_train * sizeof(int32_t));
    r->val_idx = malloc((size_t)(r->n_val ? r->n_val : 1) * sizeof(int32_t));
    B = (size_t)r->eff.batch;
    r->max_eval = r->eff.batch > EVAL_BATCH_MAX ? r->eff.batch : EVAL_BATCH_MAX;
    r->h_labels = malloc(B * sizeof(int32_t));
    r->h_aff = malloc(B * 6 * sizeof(float));
    if (!perm || !r->train_idx || !r->order || !r->val_idx || !r->h_labels || !r->h_aff) {
        free(perm);
        util_log(UTIL_LOG_ERROR, "out of memory setting up training");
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        perm[i] = i;
    util_rng_seed(&rng, util_key(r->eff.seed, 0x5917, 0, 0));
    util_shuffle_i32(perm, (size_t)n, &rng);
    memcpy(r->val_idx, perm, (size_t)r->n_val * sizeof(int32_t));
    memcpy(r->train_idx, perm + r->n_val, (size_t)r->n_train * sizeof(int32_t));
    free(perm);
    r->val_labels = malloc((size_t)(r->n_val ? r->n_val : 1) * sizeof(int32_t));
    r->test_idx = malloc((size_t)(r->test ? r->test->n : 1) * sizeof(int32_t));
    if (!r->val_labels || !r->test_idx) {
        util_log(UTIL_LOG_ERROR, "out of memory setting up training");
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < r->n_val; i++)
        r->val_labels[i] = r->data->labels[r->val_idx[i]];
    for (int i = 0; r->test && i < r->test->n; i++)
        r->test_idx[i] = i;

    rc = rec_engine_open(r->o->device, &eo, &r->ops, &r->eng);
    if (rc)
        return rc;
    rc = rec_net_create(&r->net, &r->arch, r->ops, r->eng, r->max_eval, 1);
    if (rc)
        return rc;
    r->n_params = rec_net_param_count(r->net, NULL);
    r->avg = calloc(r->n_params ? r->n_params : 1, sizeof(float));
    if (!r->avg) {
        util_log(UTIL_LOG_ERROR, "out of memory setting up training");
        return UTIL_ENOMEM;
    }
#define ALLOC(p, bytes) \
    if (!rc)            \
    rc = r->ops->alloc(r->eng, (void **)&(p), (bytes))
    ALLOC(r->d_pixels, (size_t)n * TRN_PIXELS);
    if (!rc)
        rc = r->ops->upload(r->eng, r->d_pixels, r->data->pixels, (size_t)n * TRN_PIXELS);
    if (r->test) {
        ALLOC(r->d_test_pixels, (size_t)r->test->n * TRN_PIXELS);
        if (!rc)
            rc = r->ops->upload(r->eng, r->d_test_pixels, r->test->pixels,
                                (size_t)r->test->n * TRN_PIXELS);
    }
    ALLOC(r->d_idx, (size_t)r->max_eval * sizeof(int32_t));
    ALLOC(r->d_labels, B * sizeof(int32_t));
    ALLOC(r->d_aff, B * 6 * sizeof(float));
    ALLOC(r->d_x, (size_t)r->max_eval * TRN_PIXELS * sizeof(float));
    ALLOC(r->d_stats, 2 * sizeof(float));
#undef ALLOC
    if (rc)
        return rc;
    {
        int most = r->n_val > (r->test ? r->test->n : 0) ? r->n_val : (r->test ? r->test->n : 0);
        r->h_logits = malloc((size_t)(most ? most : 1) * 10 * sizeof(float));
        if (!r->h_logits) {
            util_log(UTIL_LOG_ERROR, "out of memory setting up training");
            return UTIL_ENOMEM;
        }
    }
    return UTIL_OK;
}

static void teardown(run *r)
{
    if (r->ops && r->eng) {
        rec_net_destroy(&r->net);
        r->ops->free(r->eng, r->d_pixels);
        r->ops->free(r->eng, r->d_test_pixels);
        r->ops->free(r->eng, r->d_idx);
        r->ops->free(r->eng, r->d_labels);
        r->ops->free(r->eng, r->d_aff);
        r->ops->free(r->eng, r->d_x);
        r->ops->free(r->eng, r->d_stats);
        r->ops->destroy(&r->eng);
    }
    trn_data_destroy(&r->data);
    trn_data_destroy(&r->test);
    free(r->train_idx);
    free(r->val_idx);
    free(r->order);
    free(r->val_labels);
    free(r->test_idx);
    free(r->h_labels);
    free(r->h_aff);
    free(r->h_logits);
    free(r->avg);
}

/* Held-out loss and accuracy (T = 1), and test accuracy when a test set is
 * given; -1 for what is absent. */
static int epoch_eval(run *r, double *pvl, double *pva, double *pta)
{
    int rc = UTIL_OK;
    double loss;

    *pvl = *pva = *pta = -1.0;
    if (r->n_val > 0) {
        rc = eval_logits(r, r->d_pixels, r->val_idx, r->n_val, r->h_logits);
        if (!rc)
            nll_acc(r->h_logits, r->val_labels, r->n_val, 1.0, pvl, pva);
    }
    if (!rc && r->test) {
        rc = eval_logits(r, r->d_test_pixels, r->test_idx, r->test->n, r->h_logits);
        if (!rc)
            nll_acc(r->h_logits, r->test->labels, r->test->n, 1.0, &loss, pta);
    }
    return rc;
}

/* The final model: the last (or averaged) weights, temperature from the held-out set. */
static int finish(run *r)
{
    rec_model *m = NULL;
    float *probs = NULL;
    double T = 1.0, vl = -1, va = -1, final_test = -1;
    char when[64];
    time_t now = time(NULL);
    int rc;

    if (r->avg_count > 0) {
        rc = rec_net_set_params(r->net, r->avg);
        if (rc)
            goto cleanup;
        printf("final weights: the mean of the last %d epochs' (from epoch %d)\n", r->avg_count,
               r->epoch_done - r->avg_count + 1);
    }
    if (r->test) {
        double tl, ta;
        rc = eval_logits(r, r->d_test_pixels, r->test_idx, r->test->n, r->h_logits);
        if (rc)
            goto cleanup;
        nll_acc(r->h_logits, r->test->labels, r->test->n, 1.0, &tl, &ta);
        final_test = ta;
        printf("final model: test accuracy %.2f%% (%s)\n", 100 * ta, r->o->test);
    }
    if (r->n_val > 0) {
        probs = malloc((size_t)r->n_val * 10 * sizeof *probs);
        if (!probs) {
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        rc = eval_logits(r, r->d_pixels, r->val_idx, r->n_val, r->h_logits);
        if (rc)
            goto cleanup;
        T = trn_fit_temperature(r->h_logits, r->val_labels, r->n_val);
        nll_acc(r->h_logits, r->val_labels, r->n_val, T, &vl, &va);
        for (int i = 0; i < r->n_val; i++) {
            const float *z = r->h_logits + (size_t)i * 10;
            float *p = probs + (size_t)i * 10, mx = z[0];
            double s = 0;
            for (int k = 1; k < 10; k++)
                mx = z[k] > mx ? z[k] : mx;
            for (int k = 0; k < 10; k++)
                s += (p[k] = (float)exp((z[k] - mx) / T));
            for (int k = 0; k < 10; k++)
                p[k] = (float)(p[k] / s);
        }
    }
    rc = rec_model_create(&m, &r->arch, REC_MODEL_KIND_MODEL);
    if (!rc)
        rc = rec_net_get_params(r->net, m->params);
    if (!rc)
        rc = meta_recipe(m, r);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (!rc) {
        int e = 0;
        e |= meta_setf(m, "temperature", "%.6f", T);
        e |= meta_setf(m, "epochs", "%d", r->epoch_done);
        e |= meta_setf(m, "train_seconds", "%.1f", r->train_secs);
        e |= meta_setf(m, "trained_at", "%s", when);
        if (r->n_val > 0)
            e |= meta_setf(m, "val_accuracy", "%.6f", va);
        if (final_test >= 0)
            e |= meta_setf(m, "test_accuracy", "%.6f", final_test);
        if (r->avg_count > 0)
            e |= meta_setf(m, "averaged_epochs", "%d", r->avg_count);
        rc = e ? UTIL_EINVAL : UTIL_OK;
    }
    if (!rc)
        rc = rec_model_save(m, r->o->out);
    if (!rc)
        util_log(UTIL_LOG_INFO, "wrote %s (temperature %.3f)", r->o->out, T);
    if (!rc && r->o->report) {
        rc = write_report(r, probs, r->val_labels, T);
        if (!rc)
            util_log(UTIL_LOG_INFO, "wrote %s/report.html", r->o->report);
    }
cleanup:
    rec_model_destroy(&m);
    free(probs);
    return rc;
}

/* ------------------------------------------------------------ train */

/* Folds the current weights into the running mean (epoch averaging). */
static int average_in(run *r)
{
    float *p = malloc(r->n_params * sizeof *p);
    int rc;

    if (!p) {
        util_log(UTIL_LOG_ERROR, "out of memory averaging weights");
        return UTIL_ENOMEM;
    }
    rc = rec_net_get_params(r->net, p);
    if (!rc) {
        float w = 1.0f / (float)(r->avg_count + 1);
        for (size_t i = 0; i < r->n_params; i++)
            r->avg[i] += (p[i] - r->avg[i]) * w;
        r->avg_count++;
    }
    free(p);
    return rc;
}

static int train_epochs(run *r)
{
    const int tty = util_isatty(stderr);
    const int B = r->eff.batch, nb = (r->n_train + B - 1) / B;
    int rc = UTIL_OK;

    while (r->epoch_done < r->eff.epochs) {
        const int epoch = r->epoch_done + 1;
        double t0 = util_now(), last = 0.0, vl, va, ta;
        util_rng rng;

        memcpy(r->order, r->train_idx, (size_t)r->n_train * sizeof(int32_t));
        util_rng_seed(&rng, util_key(r->eff.seed, 0xE0C4, (uint64_t)epoch, 0));
        util_shuffle_i32(r->order, (size_t)r->n_train, &rng);
        if (r->batch_next == 0) {
            r->seen = 0;
            r->epoch_secs = 0;
            rc = r->ops->zero(r->eng, r->d_stats, 2 * sizeof(float));
        }
        for (int j = r->batch_next; j < nb && !rc; j++) {
            int b = r->n_train - j * B < B ? r->n_train - j * B : B;
            const int32_t *idx = r->order + (size_t)j * B;
            const float *logits;
            if (g_stop) {
                r->epoch_secs += util_now() - t0;
                r->train_secs += util_now() - t0;
                r->batch_next = j;
                if (tty)
                    fprintf(stderr, "\r\033[K");
                rc = save_checkpoint(r);
                if (!rc) {
                    char buf[1024];
                    util_log(UTIL_LOG_WARN,
                             "interrupted in epoch %d at batch %d/%d: saved %s; continue with "
                             "--resume %s",
                             epoch, j, nb, ckpt_path(r, buf, sizeof buf),
                             ckpt_path(r, buf, sizeof buf));
                }
                return rc ? rc : UTIL_EINTR;
            }
            for (int i = 0; i < b; i++)
                r->h_labels[i] = r->data->labels[idx[i]];
            if (r->eff.augment)
                trn_augment_affine(r->h_aff, b,
                                   util_key(r->eff.seed, 0xA06, (uint64_t)epoch, (uint64_t)j),
                                   r->eff.rotate_deg, r->eff.zoom, r->eff.shift);
            rc = r->ops->upload(r->eng, r->d_idx, idx, (size_t)b * sizeof(int32_t));
            if (!rc)
                rc = r->ops->upload(r->eng, r->d_labels, r->h_labels, (size_t)b * sizeof(int32_t));
            if (!rc && r->eff.augment)
                rc = r->ops->upload(r->eng, r->d_aff, r->h_aff, (size_t)b * 6 * sizeof(float));
            if (!rc)
                rc = r->ops->images_load(r->eng, r->d_x, r->d_pixels, r->d_idx,
                                         r->eff.augment ? r->d_aff : NULL, b, TRN_SIDE, TRN_SIDE);
            if (!rc)
                rc = rec_net_forward(r->net, r->d_x, b, 1,
                                     util_key(r->eff.seed, 0xD0, (uint64_t)epoch, (uint64_t)j),
                                     &logits);
            if (!rc)
                rc = rec_net_loss(r->net, r->d_labels, b, r->d_stats);
            if (!rc)
                rc = rec_net_backward(r->net, b);
            if (!rc)
                rc = rec_net_rmsprop(r->net, (float)r->plateau.lr, (float)r->eff.rho,
                                     (float)r->eff.eps);
            r->seen += b;
            if (!rc && tty && (util_now() - last > 0.25 || j == nb - 1)) {
                last = util_now();
                rc = r->ops->download(r->eng, r->stats, r->d_stats, sizeof r->stats);
                progress(r, epoch, j + 1, nb, r->epoch_secs + last - t0, 0);
            }
        }
        if (rc)
            return rc;
        r->epoch_secs += util_now() - t0;
        r->train_secs += util_now() - t0;
        r->batch_next = 0;
        rc = r->ops->download(r->eng, r->stats, r->d_stats, sizeof r->stats);
        if (tty)
            fprintf(stderr, "\r\033[K");
        if (!rc)
            rc = epoch_eval(r, &vl, &va, &ta);
        if (rc)
            return rc;
        {
            trn_epoch_stat *h = &r->hist[epoch - 1];
            double lr_used = r->plateau.lr;
            h->epoch = epoch;
            h->train_loss = r->stats[0] / r->seen;
            h->train_acc = r->stats[1] / r->seen;
            h->val_loss = vl;
            h->val_acc = va;
            h->lr = lr_used;
            h->seconds = r->epoch_secs;
            r->test_acc[epoch - 1] = ta;
            if (ta >= 0.99 && r->first99 == 0)
                r->first99 = r->train_secs;
            if (ta >= 0.996 && r->first996 == 0)
                r->first996 = r->train_secs;
            printf("epoch %2d/%d  loss %.4f  acc %.2f%%", epoch, r->eff.epochs, h->train_loss,
                   100 * h->train_acc);
            if (va >= 0)
                printf("  val_loss %.4f  val_acc %.2f%%", vl, 100 * va);
            if (ta >= 0)
                printf("  test_acc %.2f%%", 100 * ta);
            printf("  lr %.3g  %.1f s\n", lr_used, h->seconds);
            if (trn_plateau_step(&r->plateau, va >= 0 ? va : h->train_acc))
                printf("  reducing learning rate to %.3g\n", r->plateau.lr);
            fflush(stdout);
        }
        r->epoch_done = epoch;
        if (r->eff.average_from > 0 && epoch >= r->eff.average_from) {
            rc = average_in(r);
            if (rc)
                return rc;
        }
        rc = save_checkpoint(r);
        if (!rc && r->o->log)
            rc = write_log(r);
        if (rc)
            return rc;
        if (r->o->stop_at > 0 && ta >= r->o->stop_at) {
            printf("test accuracy %.2f%% reached %.2f%% after %.1f s of training: stopping\n",
                   100 * ta, 100 * r->o->stop_at, r->train_secs);
            break;
        }
    }
    return UTIL_OK;
}

int trn_train_run(const trn_opts *o)
{
    run *r = NULL;
    rec_model *ck = NULL, *init = NULL;
    int rc;

    g_stop = 0;
    r = calloc(1, sizeof *r);
    if (!r) {
        util_log(UTIL_LOG_ERROR, "out of memory");
        return UTIL_ENOMEM;
    }
    r->o = o;
    r->eff = *o;
    if (o->resume && o->init) {
        util_log(UTIL_LOG_ERROR, "a run resumes from a checkpoint or starts from a model, not both");
        rc = UTIL_EINVAL;
    } else if (o->resume) {
        rc = rec_model_load(&ck, o->resume, REC_MODEL_KIND_CHECKPOINT);
        if (!rc)
            rc = load_recipe(r, ck, o->resume);
    } else if (o->init) {
        /* Fine-tuning: the model's network and weights (batch-norm running
         * statistics included); the optimizer state starts at zero. */
        rc = rec_model_load(&init, o->init, REC_MODEL_KIND_MODEL);
        if (!rc)
            r->arch = init->arch;
    } else {
        rc = rec_arch_resolve(&r->arch, o->arch);
    }
    if (rc)
        goto cleanup;
    if (r->eff.epochs > MAX_EPOCHS) {
        util_log(UTIL_LOG_ERROR, "at most %d epochs", MAX_EPOCHS);
        rc = UTIL_EINVAL;
        goto cleanup;
    }
    rc = setup(r);
    if (rc)
        goto cleanup;
    trn_plateau_init(&r->plateau, r->eff.lr, r->eff.factor, r->eff.patience, r->eff.min_lr);
    if (ck) {
        rc = load_progress(r, ck, o->resume);
        if (rc)
            goto cleanup;
        rec_model_destroy(&ck);
        util_log(UTIL_LOG_INFO, "resuming from %s: %d epochs done, batch %d of the next",
                 o->resume, r->epoch_done, r->batch_next);
    } else if (init) {
        rc = rec_net_set_params(r->net, init->params);
        if (rc)
            goto cleanup;
        rec_model_destroy(&init);
        util_log(UTIL_LOG_INFO, "starting from the weights of %s", o->init);
    } else {
        rc = rec_net_init_params(r->net, r->eff.seed);
        if (rc)
            goto cleanup;
    }
    {
        char arch_text[4096];
        rec_arch_format(&r->arch, arch_text, sizeof arch_text);
        util_log(UTIL_LOG_INFO, "training %s on %d digits (%d held out), batch %d, %s", arch_text,
                 r->n_train, r->n_val, r->eff.batch, r->ops->describe(r->eng));
    }
    rc = train_epochs(r);
    if (rc)
        goto cleanup;
    if (r->first996 > 0)
        printf("test accuracy first reached 99.6%% after %.1f s of training\n", r->first996);
    rc = finish(r);
cleanup:
    rec_model_destroy(&ck);
    rec_model_destroy(&init);
    teardown(r);
    free(r);
    return rc;
}
