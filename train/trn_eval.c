/*
 * trn_eval.c - scoring probabilities against labels: accuracy, confusion
 * matrix, per-class precision and recall, mean log-loss, expected
 * calibration error (15 equal-width bins on the top-1 confidence) with its
 * reliability table, and the printed and JSON forms.  See trn_eval.h.
 */
#include "train/trn_eval.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

#define LOG_LOSS_FLOOR 1e-12

int trn_eval_argmax(const float *row)
{
    int best = 0;
    for (int c = 1; c < TRN_CLASSES; c++)
        if (row[c] > row[best])
            best = c;
    return best;
}

int trn_eval_compute(trn_eval *dst, const float *probs, const int32_t *labels, int n)
{
    double loss = 0.0, ece = 0.0;
    double conf_sum[TRN_ECE_BINS] = {0};
    int correct_in_bin[TRN_ECE_BINS] = {0};

    if (!dst)
        return UTIL_EINVAL;
    memset(dst, 0, sizeof *dst);
    if (n < 0 || (n > 0 && (!probs || !labels))) {
        util_log(UTIL_LOG_ERROR, "evaluation: %d images with %s", n,
                 n < 0 ? "a negative count" : "no probabilities or labels");
        return UTIL_EINVAL;
    }
    /* Check every label before counting anything, so a refused call leaves
     * dst all zero. */
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= TRN_CLASSES) {
            util_log(UTIL_LOG_ERROR, "evaluation: image %d has label %d, outside 0..%d", i,
                     (int)labels[i], TRN_CLASSES - 1);
            return UTIL_EINVAL;
        }

    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * TRN_CLASSES;
        int t = labels[i], best = trn_eval_argmax(p), bin;
        double pt, conf;

        dst->confusion[t][best]++;
        if (best == t)
            dst->correct++;

        pt = p[t];
        if (!(pt >= LOG_LOSS_FLOOR)) /* also catches NaN */
            pt = LOG_LOSS_FLOOR;
        if (pt > 1.0)
            pt = 1.0;
        loss -= log(pt);

        conf = p[best];
        if (!(conf >= 0.0))
            conf = 0.0;
        if (conf > 1.0)
            conf = 1.0;
        bin = (int)(conf * TRN_ECE_BINS);
        if (bin >= TRN_ECE_BINS) /* confidence exactly 1 */
            bin = TRN_ECE_BINS - 1;
        dst->bin_count[bin]++;
        conf_sum[bin] += conf;
        if (best == t)
            correct_in_bin[bin]++;
    }

    dst->n = n;
    if (n == 0)
        return UTIL_OK;
    dst->accuracy = (double)dst->correct / n;
    dst->log_loss = loss / n;
    for (int b = 0; b < TRN_ECE_BINS; b++) {
        if (!dst->bin_count[b])
            continue;
        dst->bin_conf[b] = conf_sum[b] / dst->bin_count[b];
        dst->bin_acc[b] = (double)correct_in_bin[b] / dst->bin_count[b];
        ece += (double)dst->bin_count[b] / n * fabs(dst->bin_acc[b] - dst->bin_conf[b]);
    }
    dst->ece = ece;
    for (int c = 0; c < TRN_CLASSES; c++) {
        int64_t row = 0, col = 0;
        for (int k = 0; k < TRN_CLASSES; k++) {
            row += dst->confusion[c][k];
            col += dst->confusion[k][c];
        }
        dst->precision[c] = col ? (double)dst->confusion[c][c] / col : 0.0;
        dst->recall[c] = row ? (double)dst->confusion[c][c] / row : 0.0;
    }
    return UTIL_OK;
}

/* Images of class c (the confusion row's sum). */
static int64_t support(const trn_eval *ev, int c)
{
    int64_t s = 0;
    for (int k = 0; k < TRN_CLASSES; k++)
        s += ev->confusion[c][k];
    return s;
}

static int digits(int64_t v)
{
    int d = 1;
    for (; v >= 10; v /= 10)
        d++;
    return d;
}

void trn_eval_print(FILE *fp, const trn_eval *ev)
{
    int64_t maxv = 0;
    int w;

    if (!fp || !ev)
        return;
    fprintf(fp, "accuracy  %.2f %% (%d/%d)\n", 100.0 * ev->accuracy, ev->correct, ev->n);
    fprintf(fp, "log-loss  %.4f\n", ev->log_loss);
    fprintf(fp, "ECE       %.4f (%d equal-width bins of top-1 confidence)\n", ev->ece,
            TRN_ECE_BINS);

    for (int t = 0; t < TRN_CLASSES; t++)
        for (int p = 0; p < TRN_CLASSES; p++)
            if (ev->confusion[t][p] > maxv)
                maxv = ev->confusion[t][p];
    w = digits(maxv) + 2;
    if (w < 5)
        w = 5;

    fprintf(fp, "\nclass  precision    recall  %*s\n", w + 2, "support");
    for (int c = 0; c < TRN_CLASSES; c++)
        fprintf(fp, "%5d   %6.2f %%  %6.2f %%  %*lld\n", c, 100.0 * ev->precision[c],
                100.0 * ev->recall[c], w + 2, (long long)support(ev, c));

    fprintf(fp, "\nconfusion matrix (rows: true class, columns: predicted class)\n");
    fprintf(fp, "true \\ pred");
    for (int p = 0; p < TRN_CLASSES; p++)
        fprintf(fp, "%*d", w, p);
    fputc('\n', fp);
    for (int t = 0; t < TRN_CLASSES; t++) {
        fprintf(fp, "%11d", t);
        for (int p = 0; p < TRN_CLASSES; p++)
            fprintf(fp, "%*lld", w, (long long)ev->confusion[t][p]);
        fputc('\n', fp);
    }
}

/* A JSON number; JSON has no NaN or infinity, so those become null. */
static void json_num(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, "%.10g", v);
    else
        fputs("null", fp);
}

static void json_vec(FILE *fp, const char *key, const double *v)
{
    fprintf(fp, ",\"%s\":[", key);
    for (int c = 0; c < TRN_CLASSES; c++) {
        if (c)
            fputc(',', fp);
        json_num(fp, v[c]);
    }
    fputc(']', fp);
}

void trn_eval_json(FILE *fp, const trn_eval *ev, const char *extra)
{
    int first = 1;

    if (!fp || !ev)
        return;
    fprintf(fp, "{\"n\":%d,\"correct\":%d,\"accuracy\":", ev->n, ev->correct);
    json_num(fp, ev->accuracy);
    fputs(",\"log_loss\":", fp);
    json_num(fp, ev->log_loss);
    fputs(",\"ece\":", fp);
    json_num(fp, ev->ece);
    json_vec(fp, "precision", ev->precision);
    json_vec(fp, "recall", ev->recall);
    fputs(",\"support\":[", fp);
    for (int c = 0; c < TRN_CLASSES; c++)
        fprintf(fp, "%s%lld", c ? "," : "", (long long)support(ev, c));
    fputs("],\"confusion\":[", fp);
    for (int t = 0; t < TRN_CLASSES; t++) {
        fputs(t ? ",[" : "[", fp);
        for (int p = 0; p < TRN_CLASSES; p++)
            fprintf(fp, "%s%lld", p ? "," : "", (long long)ev->confusion[t][p]);
        fputc(']', fp);
    }
    fputs("],\"reliability\":[", fp);
    for (int b = 0; b < TRN_ECE_BINS; b++) {
        if (!ev->bin_count[b])
            continue;
        fputs(first ? "{\"conf\":" : ",{\"conf\":", fp);
        first = 0;
        json_num(fp, ev->bin_conf[b]);
        fputs(",\"acc\":", fp);
        json_num(fp, ev->bin_acc[b]);
        fprintf(fp, ",\"count\":%d}", ev->bin_count[b]);
    }
    fputc(']', fp);
    if (extra && *extra)
        fprintf(fp, ",%s", extra);
    fputs("}\n", fp);
}
