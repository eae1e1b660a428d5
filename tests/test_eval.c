/*
 * test_eval.c - evaluation metrics and the HTML report: accuracy, confusion,
 * precision, recall, log-loss and ECE on small cases computed by hand, the
 * edge cases (no images, a class never predicted, a label out of range), the
 * printed and JSON forms (the JSON checked by tst_json_valid), and the
 * report: written from synthetic data, self-contained, escaped, its digits
 * real PNGs, and a failed write leaving nothing behind.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leptonica/allheaders.h>

#include "tests/tst.h"
#include "train/trn_eval.h"
#include "train/trn_report.h"
#include "util/util.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-6)

/* ------------------------------------------------------------- helpers */

/* Runs print or json into a string (caller frees). */
static char *capture(const trn_eval *ev, int json, const char *extra)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return NULL;
    if (json)
        trn_eval_json(fp, ev, extra);
    else
        trn_eval_print(fp, ev);
    fclose(fp);
    return buf;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = hay; (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    return n;
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------- metrics */

/*
 * Six images, classes 0..3 in play:
 *   true pred conf  p(true)
 *    0    0   0.9   0.9   correct, bin 13
 *    0    1   0.6   0.4   wrong,   bin 9
 *    1    1   0.8   0.8   correct, bin 12
 *    2    0   0.5   0.5   wrong (a tie: the first class wins), bin 7
 *    2    2   1.0   1.0   correct, bin 14
 *    1    3   1.0   0.0   wrong (p clamped at 1e-12), bin 14
 * accuracy 3/6; ECE = (0.1 + 0.6 + 0.2 + 0.5) / 6 + 2/6 * |0.5 - 1| = 0.4.
 */
static const int32_t hand_labels[6] = {0, 0, 1, 2, 2, 1};
static float hand_probs[6][TRN_CLASSES];

static void fill_hand(void)
{
    memset(hand_probs, 0, sizeof hand_probs);
    hand_probs[0][0] = 0.9f, hand_probs[0][1] = 0.1f;
    hand_probs[1][0] = 0.4f, hand_probs[1][1] = 0.6f;
    hand_probs[2][1] = 0.8f, hand_probs[2][2] = 0.2f;
    hand_probs[3][0] = 0.5f, hand_probs[3][2] = 0.5f;
    hand_probs[4][2] = 1.0f;
    hand_probs[5][3] = 1.0f;
}

static void test_by_hand(void)
{
    trn_eval ev;
    double loss = -(log(0.9f) + log(0.4f) + log(0.8f) + log(0.5f) + log(1.0f) + log(1e-12)) / 6;
    int64_t want[4][4] = {{1, 1, 0, 0}, {0, 1, 0, 1}, {1, 0, 1, 0}, {0, 0, 0, 0}};
    double prec[4] = {0.5, 0.5, 1.0, 0.0}, rec[4] = {0.5, 0.5, 0.5, 0.0};
    int ok = 1;

    fill_hand();
    TST_CHECK(trn_eval_compute(&ev, &hand_probs[0][0], hand_labels, 6) == UTIL_OK, "compute");
    TST_CHECK(ev.n == 6 && ev.correct == 3, "n %d correct %d", ev.n, ev.correct);
    TST_CHECK(NEAR(ev.accuracy, 0.5), "accuracy %g", ev.accuracy);
    for (int t = 0; t < TRN_CLASSES; t++)
        for (int p = 0; p < TRN_CLASSES; p++)
            if (ev.confusion[t][p] != (t < 4 && p < 4 ? want[t][p] : 0))
                ok = 0;
    TST_CHECK(ok, "confusion matrix by hand");
    for (int c = 0; c < 4; c++) {
        TST_CHECK(NEAR(ev.precision[c], prec[c]), "precision[%d] %g want %g", c, ev.precision[c], prec[c]);
        TST_CHECK(NEAR(ev.recall[c], rec[c]), "recall[%d] %g want %g", c, ev.recall[c], rec[c]);
    }
    ok = 1;
    for (int c = 4; c < TRN_CLASSES; c++)
        if (ev.precision[c] != 0.0 || ev.recall[c] != 0.0)
            ok = 0;
    TST_CHECK(ok, "classes never predicted and never seen: precision and recall 0");
    TST_CHECK(NEAR(ev.log_loss, loss), "log-loss %.9f want %.9f", ev.log_loss, loss);
    TST_CHECK(NEAR(-log(1e-12) / 6, 27.6310211159 / 6), "the clamp's share is ln(1e12)/6");
    TST_CHECK(NEAR(ev.ece, 0.4), "ECE %.9f want 0.4", ev.ece);

    /* the reliability table */
    TST_CHECK(ev.bin_count[13] == 1 && ev.bin_count[9] == 1 && ev.bin_count[12] == 1 &&
                  ev.bin_count[7] == 1 && ev.bin_count[14] == 2,
              "bin counts");
    TST_CHECK(NEAR(ev.bin_conf[14], 1.0) && NEAR(ev.bin_acc[14], 0.5), "bin 14: conf %g acc %g",
              ev.bin_conf[14], ev.bin_acc[14]);
    TST_CHECK(NEAR(ev.bin_conf[9], 0.6) && ev.bin_acc[9] == 0.0, "bin 9");
    TST_CHECK(NEAR(ev.bin_conf[13], 0.9) && ev.bin_acc[13] == 1.0, "bin 13");
    TST_CHECK(ev.bin_count[0] == 0 && ev.bin_conf[0] == 0.0 && ev.bin_acc[0] == 0.0, "empty bin zero");
}

static void test_perfect_and_spread(void)
{
    /* All right and all sure: nothing lost, perfectly calibrated. */
    float probs[4][TRN_CLASSES] = {{0}};
    int32_t labels[4] = {3, 7, 7, 9};
    trn_eval ev;

    for (int i = 0; i < 4; i++)
        probs[i][labels[i]] = 1.0f;
    TST_CHECK(trn_eval_compute(&ev, &probs[0][0], labels, 4) == UTIL_OK, "compute perfect");
    TST_CHECK(ev.accuracy == 1.0 && ev.log_loss == 0.0 && ev.ece == 0.0, "perfect: acc %g loss %g ece %g",
              ev.accuracy, ev.log_loss, ev.ece);
    TST_CHECK(ev.precision[7] == 1.0 && ev.recall[7] == 1.0 && ev.confusion[7][7] == 2, "class 7");
    TST_CHECK(ev.precision[0] == 0.0 && ev.recall[0] == 0.0, "class 0 absent");

    /* Uniform probabilities: the first class wins every tie; log-loss ln 10;
     * confidence 0.1 (bin 1) with accuracy 1/4 on these labels. */
    int32_t l2[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < TRN_CLASSES; c++)
            probs[i][c] = 0.1f;
    TST_CHECK(trn_eval_compute(&ev, &probs[0][0], l2, 4) == UTIL_OK, "compute uniform");
    TST_CHECK(ev.confusion[0][0] == 1 && ev.confusion[1][0] == 1 && ev.confusion[3][0] == 1,
              "ties go to class 0");
    TST_CHECK(NEAR(ev.precision[0], 0.25) && ev.recall[0] == 1.0 && ev.recall[1] == 0.0, "tie precision");
    TST_CHECK(fabs(ev.log_loss - log(10.0)) < 1e-6, "log-loss %g want ln 10", ev.log_loss);
    TST_CHECK(ev.bin_count[1] == 4 && NEAR(ev.bin_acc[1], 0.25), "bin 1: %d", ev.bin_count[1]);
    TST_CHECK(NEAR(ev.ece, 0.15), "ECE %g want |0.25 - 0.1|", ev.ece);
}

static void test_edges(void)
{
    trn_eval ev;
    float probs[2][TRN_CLASSES] = {{0}};
    int32_t bad_hi[2] = {1, 10}, bad_lo[2] = {-1, 0};
    int zero = 1;

    memset(&ev, 0x5a, sizeof ev);
    TST_CHECK(trn_eval_compute(&ev, NULL, NULL, 0) == UTIL_OK, "n = 0 is fine");
    for (size_t i = 0; i < sizeof ev; i++)
        if (((unsigned char *)&ev)[i])
            zero = 0;
    TST_CHECK(zero, "n = 0: everything zero");

    probs[0][1] = probs[1][0] = 1.0f;
    util_clear_error();
    memset(&ev, 0x5a, sizeof ev);
    TST_CHECK(trn_eval_compute(&ev, &probs[0][0], bad_hi, 2) == UTIL_EINVAL, "label 10 refused");
    TST_CHECK(strstr(util_last_error(), "label 10") != NULL, "message names the label: %s",
              util_last_error());
    TST_CHECK(ev.n == 0 && ev.correct == 0 && ev.confusion[1][1] == 0, "refused call leaves dst zero");
    TST_CHECK(trn_eval_compute(&ev, &probs[0][0], bad_lo, 2) == UTIL_EINVAL, "label -1 refused");
    TST_CHECK(trn_eval_compute(&ev, NULL, bad_lo, 2) == UTIL_EINVAL, "no probabilities refused");
    TST_CHECK(trn_eval_compute(&ev, &probs[0][0], bad_lo, -1) == UTIL_EINVAL, "negative n refused");
    TST_CHECK(trn_eval_compute(NULL, &probs[0][0], bad_lo, 2) == UTIL_EINVAL, "no dst refused");

    /* NaN probabilities must not crash or poison the figures. */
    int32_t lab[1] = {4};
    float nanp[TRN_CLASSES];
    for (int c = 0; c < TRN_CLASSES; c++)
        nanp[c] = NAN;
    TST_CHECK(trn_eval_compute(&ev, nanp, lab, 1) == UTIL_OK, "NaN row");
    TST_CHECK(ev.confusion[4][0] == 1 && isfinite(ev.log_loss) && isfinite(ev.ece),
              "NaN row: predicted 0, finite loss %g and ECE %g", ev.log_loss, ev.ece);
}

static void test_print_json(void)
{
    trn_eval ev, empty;
    char *s;

    fill_hand();
    trn_eval_compute(&ev, &hand_probs[0][0], hand_labels, 6);
    s = capture(&ev, 0, NULL);
    TST_CHECK(s && strstr(s, "accuracy  50.00 % (3/6)"), "printed accuracy:\n%s", s ? s : "");
    TST_CHECK(s && strstr(s, "log-loss  4.9282") && strstr(s, "ECE       0.4000"), "log-loss, ECE");
    TST_CHECK(s && strstr(s, "true \\ pred"), "confusion matrix labels");
    TST_CHECK(s && strstr(s, "    2   100.00 %   50.00 %"), "class 2 row:\n%s", s ? s : "");
    TST_CHECK(s && count_of(s, "\n") == 3 + 2 + 10 + 2 + 1 + 10, "line count");
    free(s);

    s = capture(&ev, 1, NULL);
    TST_CHECK(s && tst_json_valid(s), "JSON valid: %s", s ? s : "");
    TST_CHECK(s && count_of(s, "\n") == 1 && s[strlen(s) - 1] == '\n', "one line, newline at the end");
    {
        const char *keys[] = {"\"n\":6", "\"accuracy\":0.5,", "\"log_loss\":", "\"ece\":0.4",
                              "\"precision\":[0.5,0.5,1,0,0,0,0,0,0,0]",
                              "\"recall\":[0.5,0.5,0.5,0,0,0,0,0,0,0]",
                              "\"confusion\":[[1,1,0,0,0,0,0,0,0,0],[0,1,0,1,",
                              "\"reliability\":[{\"conf\":0.5", "\"count\":2}]"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            TST_CHECK(s && strstr(s, keys[k]), "JSON has %s", keys[k]);
        TST_CHECK(s && count_of(s, "{\"conf\"") == 5, "5 non-empty bins");
    }
    free(s);

    s = capture(&ev, 1, "\"model\":\"m.model\",\"k\":[1,2]");
    TST_CHECK(s && tst_json_valid(s) && strstr(s, ",\"model\":\"m.model\",\"k\":[1,2]}\n"),
              "extra members: %s", s ? s : "");
    free(s);

    trn_eval_compute(&empty, NULL, NULL, 0);
    s = capture(&empty, 1, NULL);
    TST_CHECK(s && tst_json_valid(s) && strstr(s, "\"reliability\":[]"), "empty JSON: %s", s ? s : "");
    free(s);
    s = capture(&empty, 0, NULL);
    TST_CHECK(s && strstr(s, "(0/0)"), "empty print");
    free(s);

    /* the checker itself refuses broken JSON */
    TST_CHECK(!tst_json_valid("{\"a\":[1,2}") && !tst_json_valid("{\"a\":1,}") &&
                  !tst_json_valid("{\"a\":nan}") && !tst_json_valid("{} {}") &&
                  tst_json_valid("{\"a\":[-1.5e3,null,\"x\\n\"]}"),
              "the JSON checker");
}

/* -------------------------------------------------------------- report */

/* Decodes the first base64 data URI after "base64," in s into a new PIX. */
static PIX *first_image(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *b = strstr(s, "base64,");
    uint8_t *out;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    PIX *pix;

    if (!b)
        return NULL;
    b += 7;
    out = malloc(strlen(b));
    for (; *b && *b != '\'' && *b != '"' && *b != '='; b++) {
        const char *q = strchr(tab, *b);
        if (!q)
            break;
        acc = acc << 6 | (uint32_t)(q - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    pix = pixReadMem(out, n);
    free(out);
    return pix;
}

typedef struct synth {
    trn_epoch_stat ep[6];
    trn_eval val;
    int64_t counts[TRN_CLASSES];
    uint8_t *pix;
    int32_t mt[150], mp[150];
    float mc[150];
} synth;

static void make_synth(synth *s, int n_mis)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 6; i++) {
        s->ep[i] = (trn_epoch_stat){i + 1, 1.0 / (i + 1), 0.8 + 0.03 * i, 1.2 / (i + 1), 0.78 + 0.03 * i,
                                    1e-3, 12.5};
    }
    fill_hand();
    trn_eval_compute(&s->val, &hand_probs[0][0], hand_labels, 6);
    for (int c = 0; c < TRN_CLASSES; c++)
        s->counts[c] = 5000 + 100 * c;
    s->pix = calloc((size_t)n_mis * 784 + 1, 1);
    for (int i = 0; i < n_mis; i++) {
        for (int y = 6; y < 22; y++)
            s->pix[(size_t)i * 784 + y * 28 + 14] = 255; /* a vertical stroke */
        s->mt[i] = i % 10;
        s->mp[i] = (i + 1) % 10;
        s->mc[i] = 0.5f + 0.004f * (float)(i % 100);
    }
}

static trn_report_in synth_in(synth *s, int n_epochs, int n_mis, const char *title)
{
    trn_report_in in = {title, "conv 5x5x32 relu\npool 2\ndense 10 <softmax>", "docpipe train a & b",
                        s->ep, n_epochs, &s->val, s->counts, s->pix, s->mt, s->mp, s->mc, n_mis};
    return in;
}

static void test_report(void)
{
    char dir[512], path[600], plain[600], under[700];
    synth s;
    trn_report_in in;
    char *html;
    PIX *pix;
    int before;

    make_synth(&s, 40);
    in = synth_in(&s, 6, 40, "run <b>& \"co\"");
    snprintf(dir, sizeof dir, "%s/rep", tst_tmpdir());
    snprintf(path, sizeof path, "%s/report.html", dir);
    TST_CHECK(trn_report_write(dir, &in) == UTIL_OK, "report written: %s", util_last_error());
    html = tst_read_text(path);
    TST_CHECK(html != NULL, "report.html exists");
    if (html) {
        TST_CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0 && strstr(html, "</html>\n"), "a whole page");
        TST_CHECK(count_of(html, "<svg") >= 4, "SVG charts: %d", count_of(html, "<svg"));
        TST_CHECK(count_of(html, "src='data:image/png;base64,iVBORw0KGgo") == 40, "40 PNG data URIs");
        TST_CHECK(strstr(html, "run &lt;b&gt;&amp; &quot;co&quot;") != NULL, "title escaped");
        TST_CHECK(strstr(html, "<b>&") == NULL, "title never raw");
        TST_CHECK(strstr(html, "docpipe train a &amp; b") && strstr(html, "dense 10 &lt;softmax&gt;"),
                  "summary and network escaped");
        TST_CHECK(strstr(html, "true 0 \u2192 pred 1 (0.50)") != NULL, "digit caption");
        TST_CHECK(strstr(html, "http") == NULL && strstr(html, "<script") == NULL && strstr(html, "url(") == NULL,
                  "no network, no script");
        TST_CHECK(strstr(html, "true&nbsp;\\&nbsp;pred") != NULL, "heatmap labels");
        TST_CHECK(strstr(html, ">validation</text>") != NULL, "validation in the legend");
        pix = first_image(html);
        TST_CHECK(pix && pixGetWidth(pix) == 84 && pixGetHeight(pix) == 84, "digit decodes as 84 x 84");
        if (pix) {
            l_uint32 ink = 0, paper = 0;
            pixGetPixel(pix, 14 * 3 + 1, 10 * 3 + 1, &ink);
            pixGetPixel(pix, 3, 3, &paper);
            TST_CHECK(ink == 0 && paper == 255, "dark ink on white: %u %u", ink, paper);
            pixDestroy(&pix);
        }
        free(html);
    }

    /* written again over the first, and no temporary left beside it */
    TST_CHECK(trn_report_write(dir, &in) == UTIL_OK && entries_in(dir) == 1, "rewritten, one file");

    /* more than 100 mistakes: 100 shown; one epoch and no validation */
    free(s.pix);
    make_synth(&s, 150);
    in = synth_in(&s, 1, 150, "one epoch");
    for (int i = 0; i < 1; i++)
        s.ep[i].val_acc = -1;
    in.val = NULL;
    in.class_counts = NULL;
    TST_CHECK(trn_report_write(dir, &in) == UTIL_OK, "one-epoch report");
    html = tst_read_text(path);
    TST_CHECK(html && count_of(html, "data:image/png") == 100, "at most 100 digits");
    TST_CHECK(html && strstr(html, "No validation") && strstr(html, ">validation</text>") == NULL,
              "no validation: said, and no legend entry");
    TST_CHECK(html && strstr(html, "The 100 worst of 150"), "says how many were left out");
    TST_CHECK(html && count_of(html, "<circle") == 2, "one epoch: one dot per chart");
    free(html);

    /* nothing at all to show still makes a page */
    in = (trn_report_in){NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0};
    TST_CHECK(trn_report_write(dir, &in) == UTIL_OK, "empty report");
    html = tst_read_text(path);
    TST_CHECK(html && strstr(html, "docpipe training report"), "default title");
    free(html);

    /* bad input */
    in.n_mis = 3;
    TST_CHECK(trn_report_write(dir, &in) == UTIL_EINVAL, "digits without pixels refused");
    in.n_mis = 0;
    TST_CHECK(trn_report_write(NULL, &in) == UTIL_EINVAL, "no folder refused");

    /* a folder that cannot be made, under a regular file, or the file itself */
    snprintf(plain, sizeof plain, "%s/plain", tst_tmpdir());
    TST_CHECK(tst_write_file("plain", "x", 1) != NULL, "regular file");
    snprintf(under, sizeof under, "%s/sub", plain);
    before = entries_in(tst_tmpdir());
    util_clear_error();
    TST_CHECK(trn_report_write(under, &in) == UTIL_EIO, "folder under a file: EIO");
    TST_CHECK(strstr(util_last_error(), under) != NULL, "error names the path: %s", util_last_error());
    util_clear_error();
    TST_CHECK(trn_report_write(plain, &in) == UTIL_EIO, "folder that is a file: EIO");
    TST_CHECK(strstr(util_last_error(), plain) != NULL, "error names the path: %s", util_last_error());
    TST_CHECK(entries_in(tst_tmpdir()) == before, "nothing left behind");
    {
        struct stat st;
        TST_CHECK(stat(plain, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1, "the file untouched");
    }
    free(s.pix);
}

int main(void)
{
    util_log_set_level(-1);
    setMsgSeverity(L_SEVERITY_NONE);
    test_by_hand();
    test_perfect_and_spread();
    test_edges();
    test_print_json();
    test_report();
    return tst_done();
}
