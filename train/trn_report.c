/*
 * trn_report.c - the training report: DIR/report.html, one self-contained
 * page (inline CSS and SVG, digits as PNG data URIs made with Leptonica, no
 * script, no external URL) with the run's header, learning curves, the
 * confusion matrix as a heatmap, per-class figures, a reliability diagram,
 * the training class distribution and a grid of misclassified digits.
 * See trn_report.h.
 *
 * The page is written straight through a util_afile; a write error sticks
 * to the stream and util_afile_commit() reports it, so the writers below
 * return nothing.  Accuracies (trn_epoch_stat, trn_eval) are fractions in
 * [0, 1] and are shown as percentages.
 */
#include "train/trn_report.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <leptonica/allheaders.h>

#include "util/util.h"

#define MAX_MIS 100
#define DIGIT_SIDE 28
#define DIGIT_SCALE 3 /* each pixel becomes 3 x 3: 84 x 84 images */

/* Colours shared by the charts and the legend. */
#define C_TRAIN "#1f6fb4"
#define C_VAL "#e0701a"
#define C_GRID "#e4e7ec"
#define C_AXIS "#5b6472"
#define C_TEXT "#222831"

/* ---------------------------------------------------------------- text */

/* Writes s with the five HTML-special characters escaped. */
static void put_esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

static void put_base64(FILE *fp, const uint8_t *d, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        fputc(tab[v >> 18 & 63], fp);
        fputc(tab[v >> 12 & 63], fp);
        fputc(tab[v >> 6 & 63], fp);
        fputc(tab[v & 63], fp);
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        fputc(tab[v >> 18 & 63], fp);
        fputc(tab[v >> 12 & 63], fp);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', fp);
        fputc('=', fp);
    }
}

/* Seconds as "42.0 s", "3 min 12 s" or "1 h 05 min". */
static void put_duration(FILE *fp, double s)
{
    if (!isfinite(s) || s < 0)
        fputs("?", fp);
    else if (s < 60)
        fprintf(fp, "%.1f s", s);
    else if (s < 3600)
        fprintf(fp, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        fprintf(fp, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* ------------------------------------------------------------- scales */

/* A "nice" step (1, 2 or 5 times a power of ten) near range / target. */
static double nice_step(double range, int target)
{
    double raw = range / target, mag, f;

    if (!(raw > 0) || !isfinite(raw))
        return 1.0;
    mag = pow(10.0, floor(log10(raw)));
    f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

/* Decimals a tick label with this step needs. */
static int step_decimals(double step)
{
    int d = 0;
    while (d < 6 && fabs(step * pow(10.0, d) - floor(step * pow(10.0, d) + 0.5)) > 1e-6)
        d++;
    return d;
}

/* A plot area inside an SVG and the data range it shows. */
typedef struct plot {
    double x0, y0, w, h;         /* pixels: left, top, width, height */
    double xmin, xmax, ymin, ymax;
} plot;

static double px(const plot *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const plot *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

/* Horizontal grid lines with y tick labels every ystep (suffix after each). */
static void put_yaxis(FILE *fp, const plot *p, double ystep, const char *suffix, const char *label)
{
    int dec = step_decimals(ystep);

    for (double y = ceil(p->ymin / ystep - 1e-9) * ystep; y <= p->ymax + ystep * 1e-6; y += ystep) {
        double yy = py(p, y);
        fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='" C_GRID "'/>", p->x0, yy,
                p->x0 + p->w, yy);
        fprintf(fp, "<text x='%.1f' y='%.1f' text-anchor='end' dominant-baseline='middle' "
                    "class='tick'>%.*f%s</text>",
                p->x0 - 6, yy, dec, fabs(y) < ystep * 1e-6 ? 0.0 : y, suffix);
    }
    fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='" C_AXIS "'/>", p->x0, p->y0,
            p->x0, p->y0 + p->h);
    fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='" C_AXIS "'/>", p->x0,
            p->y0 + p->h, p->x0 + p->w, p->y0 + p->h);
    if (label)
        fprintf(fp, "<text transform='translate(%.1f %.1f) rotate(-90)' text-anchor='middle' "
                    "class='axis'>%s</text>",
                p->x0 - 46, p->y0 + p->h / 2, label);
}

/* ------------------------------------------------------ learning curves */

typedef double (*stat_get)(const trn_epoch_stat *);
static double get_train_loss(const trn_epoch_stat *e) { return e->train_loss; }
static double get_val_loss(const trn_epoch_stat *e) { return e->val_acc >= 0 ? e->val_loss : NAN; }
static double get_train_acc(const trn_epoch_stat *e) { return 100.0 * e->train_acc; }
static double get_val_acc(const trn_epoch_stat *e) { return e->val_acc >= 0 ? 100.0 * e->val_acc : NAN; }

/* One series as a polyline (broken at missing values) with dots. */
static void put_series(FILE *fp, const plot *p, const trn_epoch_stat *ep, int n, stat_get get,
                       const char *colour, int dashed)
{
    int pen_down = 0;

    fprintf(fp, "<path fill='none' stroke='%s' stroke-width='2.2' stroke-linejoin='round'%s d='",
            colour, dashed ? " stroke-dasharray='6 4'" : "");
    for (int i = 0; i < n; i++) {
        double v = get(&ep[i]);
        if (!isfinite(v)) {
            pen_down = 0;
            continue;
        }
        fprintf(fp, "%c%.1f %.1f ", pen_down ? 'L' : 'M', px(p, ep[i].epoch), py(p, v));
        pen_down = 1;
    }
    fputs("'/>", fp);
    for (int i = 0; i < n; i++) {
        double v = get(&ep[i]);
        if (!isfinite(v))
            continue;
        fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='%s' fill='%s'><title>epoch %d: %.4g</title></circle>",
                px(p, ep[i].epoch), py(p, v), n == 1 ? "5" : n > 40 ? "1.6" : "3", colour, ep[i].epoch, v);
        if (n == 1) /* a lone dot says its value */
            fprintf(fp, "<text x='%.1f' y='%.1f' class='legend' fill='%s'>%.4g</text>",
                    px(p, ep[i].epoch) + 10, py(p, v) + 4, colour, v);
    }
}

/*
 * One learning-curve chart: train and (when any) validation series against
 * the epoch.  Loss charts start at 0; accuracy charts end at 100 %.
 */
static void put_curve_chart(FILE *fp, const trn_epoch_stat *ep, int n, int is_acc)
{
    const int W = 540, H = 330;
    stat_get gt = is_acc ? get_train_acc : get_train_loss;
    stat_get gv = is_acc ? get_val_acc : get_val_loss;
    double lo = DBL_MAX, hi = -DBL_MAX, ystep, xstep;
    int has_val = 0, emin = ep[0].epoch, emax = ep[0].epoch;
    plot p = {68, 44, W - 68 - 22, H - 44 - 52, 0, 1, 0, 1};

    for (int i = 0; i < n; i++) {
        double a = gt(&ep[i]), b = gv(&ep[i]);
        if (isfinite(a)) {
            lo = fmin(lo, a);
            hi = fmax(hi, a);
        }
        if (isfinite(b)) {
            has_val = 1;
            lo = fmin(lo, b);
            hi = fmax(hi, b);
        }
        if (ep[i].epoch < emin)
            emin = ep[i].epoch;
        if (ep[i].epoch > emax)
            emax = ep[i].epoch;
    }
    if (lo > hi) { /* nothing finite to show */
        lo = 0;
        hi = is_acc ? 100 : 1;
    }
    if (is_acc) {
        hi = 100;
        ystep = nice_step(hi - lo, 5);
        lo = floor(lo / ystep) * ystep;
        if (hi - lo < ystep) /* all at 100 % */
            lo = hi - ystep;
        ystep = nice_step(hi - lo, 5);
        lo = floor(lo / ystep) * ystep;
        if (lo < 0)
            lo = 0;
    } else {
        lo = fmin(0.0, lo);
        if (hi <= lo)
            hi = lo + 1;
        ystep = nice_step(hi - lo, 5);
        hi = ceil(hi / ystep - 1e-9) * ystep;
    }
    p.ymin = lo;
    p.ymax = hi;
    if (emax == emin) { /* one epoch: centre its dot */
        p.xmin = emin - 1;
        p.xmax = emax + 1;
    } else {
        p.xmin = emin;
        p.xmax = emax;
    }

    fprintf(fp, "<svg class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>",
            W, H, W, H);
    fprintf(fp, "<text x='%.1f' y='22' class='ctitle'>%s</text>", p.x0,
            is_acc ? "Accuracy" : "Loss");
    put_yaxis(fp, &p, ystep, "", is_acc ? "accuracy (%)" : "mean cross-entropy");

    /* x ticks at whole epochs, at most about 10 of them */
    xstep = emax > emin ? nice_step(emax - emin, 8) : 1;
    if (xstep < 1)
        xstep = 1;
    for (double x = ceil(p.xmin / xstep) * xstep; x <= p.xmax + 1e-9; x += xstep) {
        if (x < emin || x > emax)
            continue;
        fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='" C_AXIS "'/>", px(&p, x),
                p.y0 + p.h, px(&p, x), p.y0 + p.h + 5);
        fprintf(fp, "<text x='%.1f' y='%.1f' text-anchor='middle' class='tick'>%.0f</text>", px(&p, x),
                p.y0 + p.h + 19, x);
    }
    fprintf(fp, "<text x='%.1f' y='%d' text-anchor='middle' class='axis'>epoch</text>",
            p.x0 + p.w / 2, H - 8);

    put_series(fp, &p, ep, n, gt, C_TRAIN, 0);
    if (has_val)
        put_series(fp, &p, ep, n, gv, C_VAL, 0);

    /* legend, in the title row so it never covers a curve */
    {
        double lx = p.x0 + p.w - (has_val ? 200 : 70);
        fprintf(fp, "<line x1='%.1f' y1='18' x2='%.1f' y2='18' stroke='" C_TRAIN "' stroke-width='3'/>"
                    "<text x='%.1f' y='22' class='legend'>train</text>",
                lx, lx + 22, lx + 28);
        if (has_val)
            fprintf(fp, "<line x1='%.1f' y1='18' x2='%.1f' y2='18' stroke='" C_VAL "' stroke-width='3'/>"
                        "<text x='%.1f' y='22' class='legend'>validation</text>",
                    lx + 80, lx + 102, lx + 108);
    }
    fputs("</svg>\n", fp);
}

static void put_curves(FILE *fp, const trn_report_in *in)
{
    int has_val = 0;

    fputs("<section><h2>Learning curves</h2>\n", fp);
    if (in->n_epochs <= 0 || !in->epochs) {
        fputs("<p class='note'>No epochs were recorded.</p></section>\n", fp);
        return;
    }
    for (int i = 0; i < in->n_epochs; i++)
        if (in->epochs[i].val_acc >= 0)
            has_val = 1;
    if (!has_val)
        fputs("<p class='note'>No validation set: only the training figures are shown.</p>\n", fp);
    fputs("<div class='row'>", fp);
    put_curve_chart(fp, in->epochs, in->n_epochs, 0);
    put_curve_chart(fp, in->epochs, in->n_epochs, 1);
    fputs("</div>\n", fp);

    /* the figures themselves, folded away */
    fprintf(fp, "<details><summary>Per-epoch figures (%d epoch%s)</summary>\n"
                "<table class='num'><tr><th>epoch</th><th>train loss</th><th>train acc</th>"
                "<th>val loss</th><th>val acc</th><th>learning rate</th><th>time</th></tr>\n",
            in->n_epochs, in->n_epochs == 1 ? "" : "s");
    for (int i = 0; i < in->n_epochs; i++) {
        const trn_epoch_stat *e = &in->epochs[i];
        fprintf(fp, "<tr><td>%d</td><td>%.4f</td><td>%.2f %%</td>", e->epoch, e->train_loss,
                100.0 * e->train_acc);
        if (e->val_acc >= 0)
            fprintf(fp, "<td>%.4f</td><td>%.2f %%</td>", e->val_loss, 100.0 * e->val_acc);
        else
            fputs("<td>&ndash;</td><td>&ndash;</td>", fp);
        fprintf(fp, "<td>%.3g</td><td>", e->lr);
        put_duration(fp, e->seconds);
        fputs("</td></tr>\n", fp);
    }
    fputs("</table></details></section>\n", fp);
}

/* ------------------------------------------------------ confusion matrix */

/* Mixes white into rgb by t in [0, 1] (0: white, 1: the colour). */
static void put_shade(FILE *fp, int r, int g, int b, double t, int *pdark)
{
    int rr = (int)(255 + (r - 255) * t + 0.5), gg = (int)(255 + (g - 255) * t + 0.5),
        bb = (int)(255 + (b - 255) * t + 0.5);
    fprintf(fp, "#%02x%02x%02x", rr, gg, bb);
    *pdark = 0.299 * rr + 0.587 * gg + 0.114 * bb < 150;
}

/*
 * The matrix as a table, true classes by row.  Correct counts are shaded
 * blue, errors red; both on a log scale from the smallest non-zero count
 * up, so a single error stands out from the zeros.
 */
static void put_confusion(FILE *fp, const trn_eval *ev)
{
    int64_t max_diag = 0, max_off = 0;

    for (int t = 0; t < TRN_CLASSES; t++)
        for (int p = 0; p < TRN_CLASSES; p++) {
            int64_t v = ev->confusion[t][p];
            if (t == p && v > max_diag)
                max_diag = v;
            if (t != p && v > max_off)
                max_off = v;
        }

    fputs("<div class='card'><h3>Confusion matrix</h3>\n<table class='cm'>"
          "<tr><th class='corner'>true&nbsp;\\&nbsp;pred</th>", fp);
    for (int p = 0; p < TRN_CLASSES; p++)
        fprintf(fp, "<th>%d</th>", p);
    fputs("<th class='sep'>support</th><th>recall</th></tr>\n", fp);
    for (int t = 0; t < TRN_CLASSES; t++) {
        int64_t row = 0;
        fprintf(fp, "<tr><th>%d</th>", t);
        for (int p = 0; p < TRN_CLASSES; p++) {
            int64_t v = ev->confusion[t][p], max = t == p ? max_diag : max_off;
            int dark = 0;
            row += v;
            if (v == 0) {
                fputs("<td class='zero'>0</td>", fp);
                continue;
            }
            fputs("<td style='background:", fp);
            double s = 0.18 + 0.82 * log1p((double)v) / log1p((double)(max > 0 ? max : 1));
            if (t == p)
                put_shade(fp, 0x1f, 0x5f, 0xa8, s, &dark);
            else
                put_shade(fp, 0xc0, 0x1f, 0x2a, s, &dark);
            fprintf(fp, ";color:%s' title='true %d, predicted %d: %lld'>%lld</td>",
                    dark ? "#fff" : C_TEXT, t, p, (long long)v, (long long)v);
        }
        fprintf(fp, "<td class='sep'>%lld</td><td>%.2f %%</td></tr>\n", (long long)row,
                100.0 * ev->recall[t]);
    }
    fputs("<tr class='foot'><th>precision</th>", fp);
    for (int p = 0; p < TRN_CLASSES; p++)
        fprintf(fp, "<td>%.1f</td>", 100.0 * ev->precision[p]);
    fputs("<td class='sep'></td><td></td></tr>\n</table>\n"
          "<p class='note'>Rows: true class; columns: predicted class. Blue: correct, red: "
          "errors, both shaded on a log scale. Precision in %.</p></div>\n", fp);
}

/* The reliability diagram: accuracy against mean confidence per bin. */
static void put_reliability(FILE *fp, const trn_eval *ev)
{
    const int W = 360, H = 360;
    plot p = {62, 20, W - 62 - 18, H - 20 - 52, 0, 1, 0, 1};
    double bw = p.w / TRN_ECE_BINS;
    int64_t maxc = 0;

    for (int b = 0; b < TRN_ECE_BINS; b++)
        if (ev->bin_count[b] > maxc)
            maxc = ev->bin_count[b];
    fprintf(fp, "<div class='card' style='width:%dpx'><h3>Calibration</h3>\n"
                "<svg class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>",
            W, W, H, W, H);
    put_yaxis(fp, &p, 0.2, "", "accuracy in bin");
    for (int i = 0; i <= 5; i++) {
        double x = i * 0.2;
        fprintf(fp, "<text x='%.1f' y='%.1f' text-anchor='middle' class='tick'>%.1f</text>", px(&p, x),
                p.y0 + p.h + 18, x);
    }
    fprintf(fp, "<text x='%.1f' y='%d' text-anchor='middle' class='axis'>top-1 confidence</text>",
            p.x0 + p.w / 2, H - 10);
    for (int b = 0; b < TRN_ECE_BINS; b++) {
        double x = p.x0 + b * bw, top, gap_top;
        if (!ev->bin_count[b])
            continue;
        top = py(&p, ev->bin_acc[b]);
        /* opacity grows with the bin's share, so near-empty bins look faint */
        fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='" C_TRAIN "' "
                    "fill-opacity='%.2f'><title>confidence %.3f, accuracy %.3f, %d images</title></rect>",
                x + 1, top, bw - 2, p.y0 + p.h - top,
                0.35 + 0.65 * sqrt((double)ev->bin_count[b] / (double)maxc), ev->bin_conf[b],
                ev->bin_acc[b], ev->bin_count[b]);
        gap_top = py(&p, fmax(ev->bin_conf[b], ev->bin_acc[b]));
        fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#d62728' "
                    "fill-opacity='0.25' stroke='#d62728' stroke-width='0.8'/>",
                x + 1, gap_top, bw - 2, fabs(py(&p, ev->bin_conf[b]) - top));
    }
    fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='" C_AXIS "' "
                "stroke-dasharray='4 4'/>",
            px(&p, 0), py(&p, 0), px(&p, 1), py(&p, 1));
    fprintf(fp, "</svg>\n<p class='note'>Bars: accuracy of the images whose top-1 confidence falls "
                "in each of %d bins; red: the gap to their mean confidence. "
                "Dashed: perfect calibration. ECE %.4f.</p></div>\n",
            TRN_ECE_BINS, ev->ece);
}

/* --------------------------------------------------- class distribution */

static void put_classes(FILE *fp, const int64_t *counts)
{
    const int W = 580, H = 300;
    plot p = {68, 24, W - 68 - 16, H - 24 - 46, 0, TRN_CLASSES, 0, 1};
    int64_t maxc = 0, total = 0;
    double step, bw = p.w / TRN_CLASSES;

    for (int c = 0; c < TRN_CLASSES; c++) {
        total += counts[c] > 0 ? counts[c] : 0;
        if (counts[c] > maxc)
            maxc = counts[c];
    }
    step = nice_step(maxc > 0 ? (double)maxc : 1.0, 5);
    if (step < 1)
        step = 1;
    p.ymax = ceil((maxc > 0 ? (double)maxc : 1.0) * 1.08 / step) * step;

    fprintf(fp, "<div class='card'><h3>Training images per class</h3>\n"
                "<svg class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>",
            W, H, W, H);
    put_yaxis(fp, &p, step, "", "images");
    for (int c = 0; c < TRN_CLASSES; c++) {
        double x = p.x0 + c * bw, v = counts[c] > 0 ? (double)counts[c] : 0.0, top = py(&p, v);
        fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='" C_TRAIN "'>"
                    "<title>%d: %lld images (%.1f %%)</title></rect>",
                x + bw * 0.15, top, bw * 0.7, p.y0 + p.h - top, c, (long long)counts[c],
                total ? 100.0 * v / (double)total : 0.0);
        fprintf(fp, "<text x='%.1f' y='%.1f' text-anchor='middle' class='val'>%lld</text>",
                x + bw / 2, top - 5, (long long)counts[c]);
        fprintf(fp, "<text x='%.1f' y='%.1f' text-anchor='middle' class='digit'>%d</text>",
                x + bw / 2, p.y0 + p.h + 20, c);
    }
    fprintf(fp, "<text x='%.1f' y='%d' text-anchor='middle' class='axis'>class</text>",
            p.x0 + p.w / 2, H - 4);
    fprintf(fp, "</svg>\n<p class='note'>%lld training images in all.</p></div>\n",
            (long long)total);
}

/* ------------------------------------------------------- the digit grid */

/* One digit as an <img> with a PNG data URI: dark ink on white, scaled up. */
static int put_digit_img(FILE *fp, const uint8_t *pixels, const char *path)
{
    int rc = UTIL_OK;
    PIX *pix = NULL, *big = NULL;
    l_uint8 *png = NULL;
    size_t png_len = 0;

    pix = pixCreate(DIGIT_SIDE, DIGIT_SIDE, 8);
    if (!pix) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory making a digit image", path);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int y = 0; y < DIGIT_SIDE; y++) {
        l_uint32 *line = pixGetData(pix) + (size_t)y * pixGetWpl(pix);
        for (int x = 0; x < DIGIT_SIDE; x++)
            SET_DATA_BYTE(line, x, 255 - pixels[y * DIGIT_SIDE + x]);
    }
    big = pixExpandReplicate(pix, DIGIT_SCALE);
    if (!big || pixWriteMem(&png, &png_len, big, IFF_PNG) != 0 || !png) {
        util_log(UTIL_LOG_ERROR, "%s: cannot encode a digit as PNG", path);
        rc = UTIL_EIO;
        goto cleanup;
    }
    fprintf(fp, "<img width='%d' height='%d' alt='' src='data:image/png;base64,",
            DIGIT_SIDE * DIGIT_SCALE, DIGIT_SIDE * DIGIT_SCALE);
    put_base64(fp, png, png_len);
    fputs("'>", fp);
cleanup:
    if (png)
        lept_free(png);
    pixDestroy(&big);
    pixDestroy(&pix);
    return rc;
}

static int put_misclassified(FILE *fp, const trn_report_in *in, const char *path)
{
    int rc = UTIL_OK, shown = in->n_mis < MAX_MIS ? in->n_mis : MAX_MIS;

    fputs("<section><h2>Misclassified validation digits</h2>\n", fp);
    if (in->n_mis <= 0) {
        fputs("<p class='note'>None to show.</p></section>\n", fp);
        return UTIL_OK;
    }
    if (shown < in->n_mis)
        fprintf(fp, "<p class='note'>The %d worst of %d, worst first.</p>\n",
                shown, in->n_mis);
    else
        fprintf(fp, "<p class='note'>All %d, worst first.</p>\n", in->n_mis);
    fputs("<div class='grid'>\n", fp);
    for (int i = 0; i < shown; i++) {
        fputs("<figure>", fp);
        if ((rc = put_digit_img(fp, in->mis_pixels + (size_t)i * DIGIT_SIDE * DIGIT_SIDE, path)))
            return rc;
        fprintf(fp, "<figcaption>true %d \u2192 pred %d (%.2f)</figcaption></figure>\n",
                (int)in->mis_true[i], (int)in->mis_pred[i], (double)in->mis_conf[i]);
    }
    fputs("</div></section>\n", fp);
    return UTIL_OK;
}

/* ---------------------------------------------------------------- page */

static const char CSS[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:" C_TEXT ";background:#f5f6f8;margin:0;padding:24px 32px 48px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 12px}"
    "h3{font-size:16px;margin:0 0 10px}"
    "section,header{background:#fff;border:1px solid #dde1e7;border-radius:8px;"
    "padding:18px 22px;margin:0 0 20px}"
    ".summary{white-space:pre-wrap;color:#4a5260;margin:4px 0 14px}"
    ".kpis{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0 14px}"
    ".kpi{background:#f0f4fa;border-radius:6px;padding:8px 14px;min-width:110px}"
    ".kpi b{display:block;font-size:21px}.kpi span{font-size:12.5px;color:#5b6472}"
    "pre{background:#f6f8fa;border:1px solid #e4e7ec;border-radius:6px;padding:10px 12px;"
    "font-size:13px;overflow-x:auto;margin:6px 0 0}"
    ".row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}"
    ".card{flex:0 0 auto}"
    ".note{color:#5b6472;font-size:13px;margin:8px 0}"
    "svg.chart{display:block;font-family:inherit}"
    "svg .tick{font-size:12px;fill:#4a5260}svg .axis{font-size:13px;fill:#4a5260}"
    "svg .ctitle{font-size:15px;font-weight:600;fill:" C_TEXT "}"
    "svg .legend{font-size:13px;fill:" C_TEXT "}svg .val{font-size:11.5px;fill:#4a5260}"
    "svg .digit{font-size:14px;font-weight:600;fill:" C_TEXT "}"
    "table{border-collapse:collapse}"
    "table.num td,table.num th{padding:3px 10px;text-align:right;border-bottom:1px solid #eceef2;"
    "font-variant-numeric:tabular-nums}"
    "table.cm{font-variant-numeric:tabular-nums;font-size:13.5px}"
    "table.cm td{width:46px;height:32px;text-align:center;border:1px solid #fff}"
    "table.cm th{padding:2px 8px;font-weight:600}"
    "table.cm td.zero{color:#c3c8d0}"
    "table.cm .sep{border-left:10px solid #fff;text-align:right;width:auto;padding:0 6px}"
    "table.cm td:last-child{width:auto;text-align:right;padding:0 6px}"
    "table.cm tr.foot td{font-size:12.5px;color:#4a5260;height:26px}"
    "table.cm .corner{font-size:12px;color:#5b6472;white-space:nowrap}"
    "details{margin-top:12px}summary{cursor:pointer;color:#1f5fa8}"
    ".grid{display:flex;flex-wrap:wrap;gap:10px}"
    "figure{margin:0;padding:6px;background:#fafbfc;border:1px solid #e4e7ec;border-radius:6px;"
    "width:134px;text-align:center}"
    "figure img{display:block;margin:0 auto 4px;image-rendering:pixelated;border:1px solid #e4e7ec}"
    "figcaption{font-size:12px;white-space:nowrap}.bad{color:#c01f2a}";

static void put_kpi(FILE *fp, const char *label, const char *fmt, double v)
{
    fputs("<div class='kpi'><b>", fp);
    fprintf(fp, fmt, v);
    fprintf(fp, "</b><span>%s</span></div>", label);
}

static void put_header(FILE *fp, const trn_report_in *in)
{
    const char *title = in->title && *in->title ? in->title : "docpipe training report";
    double secs = 0.0;
    int best = -1;

    fputs("<header><h1>", fp);
    put_esc(fp, title);
    fputs("</h1>\n", fp);
    if (in->summary && *in->summary) {
        fputs("<p class='summary'>", fp);
        put_esc(fp, in->summary);
        fputs("</p>\n", fp);
    }

    for (int i = 0; i < in->n_epochs; i++) {
        if (isfinite(in->epochs[i].seconds))
            secs += in->epochs[i].seconds;
        if (in->epochs[i].val_acc >= 0 && (best < 0 || in->epochs[i].val_acc > in->epochs[best].val_acc))
            best = i;
    }
    fputs("<div class='kpis'>", fp);
    if (in->val) {
        fprintf(fp, "<div class='kpi'><b>%.2f %%</b><span>validation accuracy (%d/%d)</span></div>",
                100.0 * in->val->accuracy, in->val->correct, in->val->n);
        put_kpi(fp, "validation log-loss", "%.4f", in->val->log_loss);
        put_kpi(fp, "calibration error (ECE)", "%.4f", in->val->ece);
    }
    if (in->n_epochs > 0) {
        const trn_epoch_stat *last = &in->epochs[in->n_epochs - 1];
        put_kpi(fp, "final training accuracy", "%.2f %%", 100.0 * last->train_acc);
        fprintf(fp, "<div class='kpi'><b>%d</b><span>epochs", in->n_epochs);
        if (best >= 0)
            fprintf(fp, " (best validation: %d)", in->epochs[best].epoch);
        fputs("</span></div><div class='kpi'><b>", fp);
        put_duration(fp, secs);
        fputs("</b><span>training time</span></div>", fp);
    }
    fputs("</div>\n", fp);
    if (in->arch_text && *in->arch_text) {
        fputs("<details open><summary>Network</summary><pre>", fp);
        put_esc(fp, in->arch_text);
        fputs("</pre></details>\n", fp);
    }
    fputs("</header>\n", fp);
}

static int put_page(FILE *fp, const trn_report_in *in, const char *path)
{
    int rc;

    fputs("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
          "<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>",
          fp);
    put_esc(fp, in->title && *in->title ? in->title : "docpipe training report");
    fprintf(fp, "</title>\n<style>%s</style></head>\n<body>\n", CSS);
    put_header(fp, in);
    put_curves(fp, in);

    fputs("<section><h2>Validation</h2>\n", fp);
    if (in->val) {
        fputs("<div class='row'>", fp);
        put_confusion(fp, in->val);
        put_reliability(fp, in->val);
        fputs("</div>\n", fp);
    } else {
        fputs("<p class='note'>No validation set was held out.</p>\n", fp);
    }
    fputs("</section>\n", fp);

    if (in->class_counts) {
        fputs("<section><h2>Training data</h2>\n", fp);
        put_classes(fp, in->class_counts);
        fputs("</section>\n", fp);
    }
    if ((rc = put_misclassified(fp, in, path)))
        return rc;
    fputs("<footer class='note'>Written by docpipe.</footer>\n</body></html>\n", fp);
    return UTIL_OK;
}

int trn_report_write(const char *dir, const trn_report_in *in)
{
    int rc = UTIL_OK;
    util_afile *af = NULL;
    char *path = NULL;

    if (!dir || !*dir || !in || in->n_epochs < 0 || (in->n_epochs > 0 && !in->epochs) ||
        in->n_mis < 0 ||
        (in->n_mis > 0 && (!in->mis_pixels || !in->mis_true || !in->mis_pred || !in->mis_conf))) {
        util_log(UTIL_LOG_ERROR, "%s: report: missing or inconsistent input",
                 dir && *dir ? dir : "(no folder)");
        return UTIL_EINVAL;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        util_log(UTIL_LOG_ERROR, "%s: cannot create the folder: %s", dir, strerror(errno));
        return UTIL_EIO;
    }
    path = malloc(strlen(dir) + sizeof "/report.html");
    if (!path) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", dir);
        return UTIL_ENOMEM;
    }
    sprintf(path, "%s/report.html", dir);

    if ((rc = util_afile_open(&af, path)))
        goto cleanup;
    if ((rc = put_page(af->fp, in, path)))
        goto cleanup;
    rc = util_afile_commit(&af);

cleanup:
    util_afile_abort(&af);
    free(path);
    return rc;
}
