/*
 * test_cli.c - the docpipe command line, run as a program ($DOCPIPE_BIN):
 * help and usage (exit 0, help on stdout), usage errors (exit 2, the
 * offending option and the command's usage on stderr), missing and broken
 * inputs (exit 1, the file named, no output left behind), and a tiny
 * training run whose model, checkpoint, log and report are checked and
 * then used for predict and eval (output format, JSON, agreement between
 * the two).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_model.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "util/util.h"

#define OUT_CAP (1 << 20)
#define N_ROWS 200
#define ARCH "conv4k5 pool2 flatten dense10"

static char g_out[OUT_CAP];
static char g_dir[600];     /* tst_tmpdir() */
static char g_train[700];   /* labeled CSV of N_ROWS synthetic digits */
static char g_unlab[700];   /* the same digits without labels */
static char g_model[700];   /* trained by test_train() */
static int g_labels[N_ROWS];

/* ------------------------------------------------------------- helpers */

/* Runs "$DOCPIPE_BIN <args>" (args printf-formatted) with stdout and stderr
 * into g_out; returns the exit status. */
/* The same with stderr thrown away: g_out holds stdout alone. */
static int dp_stdout(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dp_stdout(const char *fmt, ...)
{
    char args[6000], cmd[7000];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "{ %s %s 2>/dev/null; }", tst_bin(), args);
    return tst_run(cmd, g_out, sizeof g_out);
}

static int has(const char *frag) { return strstr(g_out, frag) != NULL; }

static const char *tmp(const char *name)
{
    static char paths[8][700];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 700, "%s/%s", g_dir, name);
    return p;
}

/*
 * Synthetic digits: a bright 8 x 8 square whose place depends on the label,
 * over deterministic noise, so that a network can tell them apart.
 */
static int write_digits(const char *path, int n, int with_labels, uint32_t seed)
{
    FILE *fp = fopen(path, "w");
    uint32_t x = seed * 2654435761u + 1;

    if (!fp)
        return -1;
    if (with_labels)
        fprintf(fp, "label,");
    for (int i = 0; i < TRN_PIXELS; i++)
        fprintf(fp, i ? ",pixel%d" : "pixel%d", i);
    fputc('\n', fp);
    for (int r = 0; r < n; r++) {
        int lab = (int)((r * 7 + 3) % 10), oy = 2 + (lab / 5) * 12, ox = 2 + (lab % 5) * 5;
        if (with_labels)
            fprintf(fp, "%d,", lab);
        for (int i = 0; i < TRN_PIXELS; i++) {
            int y = i / TRN_SIDE, xx = i % TRN_SIDE, v;
            x = x * 1664525u + 1013904223u;
            v = (int)(x >> 27); /* 0..31 */
            if (y >= oy && y < oy + 8 && xx >= ox && xx < ox + 8)
                v = 200 + v;
            fprintf(fp, i ? ",%d" : "%d", v);
        }
        fputc('\n', fp);
        if (r < N_ROWS)
            g_labels[r] = lab;
    }
    return fclose(fp) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- JSON */

/* Whether s is one JSON object and nothing else (but white space). */
static int json_object_ok(const char *s)
{
    return s[strspn(s, " \t\n\r")] == '{' && tst_json_valid(s);
}

/* The number after "\"key\":" in s. */
static int json_num(const char *s, const char *key, double *pv)
{
    char pat[80];
    const char *p;
    char *end;

    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(s, pat);
    if (!p)
        return -1;
    *pv = strtod(p + strlen(pat), &end);
    return end == p + strlen(pat) ? -1 : 0;
}

/* ---------------------------------------------------------------- help */

static void test_help(void)
{
    static const char *cmds[] = {"train", "predict", "eval"};
    int rc;

    rc = dp_stdout("help");
    TST_CHECK(rc == 0 && has("usage: docpipe COMMAND") && has("train") && has("predict") &&
                  has("eval") && has("mnist-convert"),
              "help: rc %d, stdout \"%s\"", rc, g_out);
    rc = dp_stdout("--help");
    TST_CHECK(rc == 0 && has("usage: docpipe COMMAND"), "--help: rc %d", rc);
    rc = dp_stdout("-h");
    TST_CHECK(rc == 0 && has("usage: docpipe COMMAND"), "-h: rc %d", rc);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char usage[64];
        snprintf(usage, sizeof usage, "usage: docpipe %s", cmds[i]);
        rc = dp_stdout("help %s", cmds[i]);
        TST_CHECK(rc == 0 && has(usage), "help %s: rc %d \"%.200s\"", cmds[i], rc, g_out);
        rc = dp_stdout("%s --help", cmds[i]);
        TST_CHECK(rc == 0 && has(usage), "%s --help: rc %d \"%.200s\"", cmds[i], rc, g_out);
        rc = dp_stdout("%s -h", cmds[i]);
        TST_CHECK(rc == 0 && has(usage), "%s -h: rc %d", cmds[i], rc);
        /* --help wins over whatever else is on the line, and does nothing */
        rc = dp_stdout("%s --threads 1 --help '%s'", cmds[i], tmp("nothing.csv"));
        TST_CHECK(rc == 0 && has(usage), "%s with --help among options: rc %d", cmds[i], rc);
    }
    rc = dp_stdout("help train");
    TST_CHECK(has("--epochs") && has("--arch") && has("--report") && has("--log"),
              "help train does not list the options");
    rc = dp_stdout("help predict");
    TST_CHECK(has("--proba") && has("-o OUT.csv") && has("--model"),
              "help predict does not list the options");
    rc = dp_stdout("help eval");
    TST_CHECK(has("--json") && has("--model"), "help eval does not list the options");

    /* Usage errors go to stderr alone. */
    rc = dp_stdout("%s", "");
    TST_CHECK(rc == 2 && g_out[0] == '\0', "no command: rc %d, stdout \"%s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "%s", "");
    TST_CHECK(rc == 2 && has("usage: docpipe COMMAND"), "no command: rc %d \"%s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "frob");
    TST_CHECK(rc == 2 && has("unknown command \"frob\"") && has("usage: docpipe COMMAND"),
              "unknown command: rc %d \"%s\"", rc, g_out);
    rc = dp_stdout("frob");
    TST_CHECK(rc == 2 && g_out[0] == '\0', "unknown command wrote to stdout: \"%s\"", g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "help frob");
    TST_CHECK(rc == 2 && has("\"frob\"") && has("usage: docpipe COMMAND"),
              "help frob: rc %d \"%s\"", rc, g_out);
}

/* -------------------------------------------------------- usage errors */

static void test_usage_errors(void)
{
    const char *csv = g_train;
    static const struct {
        const char *cmd, *args, *frag1, *frag2;
    } cases[] = {
        {"train", "--frob", "unknown option \"--frob\"", NULL},
        {"train", "--frob=1", "unknown option \"--frob\"", NULL},
        {"train", "-x", "unknown option \"-x\"", NULL},
        {"train", "--epochs abc", "--epochs", "\"abc\""},
        {"train", "--epochs=abc", "--epochs", "\"abc\""},
        {"train", "--epochs 0", "--epochs", "\"0\""},
        {"train", "--epochs 1001", "--epochs", "\"1001\""},
        {"train", "--epochs 2.5", "--epochs", "\"2.5\""},
        {"train", "--epochs ''", "--epochs", "\"\""},
        {"train", "--lr -1", "--lr", "\"-1\""},
        {"train", "--lr 0", "--lr", "\"0\""},
        {"train", "--lr 2", "--lr", "\"2\""},
        {"train", "--lr nan", "--lr", "\"nan\""},
        {"train", "--lr inf", "--lr", "\"inf\""},
        {"train", "--lr 1e-3x", "--lr", "\"1e-3x\""},
        {"train", "--val 0.9", "--val", "\"0.9\""},
        {"train", "--val -0.1", "--val", "\"-0.1\""},
        {"train", "--batch 1e3", "--batch", "\"1e3\""},
        {"train", "--batch 0", "--batch", "\"0\""},
        {"train", "--batch 0x10", "--batch", "\"0x10\""},
        {"train", "--seed -1", "--seed", "\"-1\""},
        {"train", "--threads 65", "--threads", "\"65\""},
        {"train", "--patience 0", "--patience", "\"0\""},
        {"train", "--rotate 46", "--rotate", "\"46\""},
        {"train", "--stop-at 1.5", "--stop-at", "\"1.5\""},
        {"train", "--no-augment=1", "--no-augment takes no value", NULL},
        {"train", "--arch ''", "--arch needs a non-empty value", NULL},
        {"train", "--out=", "--out needs a non-empty value", NULL},
        {"train", "--stop-at 0.5", "--stop-at needs --test", NULL},
        {"train", "extra.csv", "unexpected argument \"", NULL},
        {"predict", "--json", "unknown option \"--json\"", NULL},
        {"predict", "--batch 0", "--batch", "\"0\""},
        {"predict", "--batch 65537", "--batch", "\"65537\""},
        {"predict", "--threads x", "--threads", "\"x\""},
        {"predict", "--proba=yes", "--proba takes no value", NULL},
        {"eval", "--proba", "unknown option \"--proba\"", NULL},
        {"eval", "-o out.csv", "unknown option \"-o\"", NULL},
        {"eval", "--batch -5", "--batch", "\"-5\""},
        {"eval", "extra.csv", "unexpected argument \"", NULL},
    };
    char usage[64];
    int rc;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(usage, sizeof usage, "usage: docpipe %s", cases[i].cmd);
        rc = tst_run_bin(g_out, sizeof g_out, "%s %s '%s'", cases[i].cmd, cases[i].args, csv);
        TST_CHECK(rc == 2, "%s %s: exit %d, expected 2: %.300s", cases[i].cmd, cases[i].args, rc,
                  g_out);
        TST_CHECK(has(usage), "%s %s: no usage in \"%.300s\"", cases[i].cmd, cases[i].args, g_out);
        TST_CHECK(has(cases[i].frag1) && (!cases[i].frag2 || has(cases[i].frag2)),
                  "%s %s: the message does not say \"%s\" %s: \"%.300s\"", cases[i].cmd,
                  cases[i].args, cases[i].frag1, cases[i].frag2 ? cases[i].frag2 : "", g_out);
    }
    /* A missing value at the end of the line; a missing positional. */
    {
        static const char *last[][2] = {{"train", "--epochs"}, {"train", "--lr"},
                                        {"predict", "-o"},     {"predict", "--model"},
                                        {"eval", "--model"},   {"eval", "--threads"}};
        for (size_t i = 0; i < sizeof last / sizeof last[0]; i++) {
            char frag[80];
            snprintf(usage, sizeof usage, "usage: docpipe %s", last[i][0]);
            snprintf(frag, sizeof frag, "option %s needs a value", last[i][1]);
            rc = tst_run_bin(g_out, sizeof g_out, "%s '%s' %s", last[i][0], csv, last[i][1]);
            TST_CHECK(rc == 2 && has(usage) && has(frag), "%s ... %s: exit %d \"%.300s\"",
                      last[i][0], last[i][1], rc, g_out);
        }
    }
    rc = tst_run_bin(g_out, sizeof g_out, "train");
    TST_CHECK(rc == 2 && has("needs the training CSV") && has("usage: docpipe train"),
              "train alone: exit %d \"%.200s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "predict --proba");
    TST_CHECK(rc == 2 && has("needs the CSV of digits") && has("usage: docpipe predict"),
              "predict without a CSV: exit %d \"%.200s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "eval");
    TST_CHECK(rc == 2 && has("needs the CSV of digits") && has("usage: docpipe eval"),
              "eval without a CSV: exit %d \"%.200s\"", rc, g_out);
    /* Nothing goes to stdout on a usage error. */
    rc = dp_stdout("train --epochs abc '%s'", csv);
    TST_CHECK(rc == 2 && g_out[0] == '\0', "a usage error wrote to stdout: \"%.200s\"", g_out);
}

/* ------------------------------------------------------------ training */

static void test_train(void)
{
    const char *report = tmp("report"), *log = tmp("train-log.csv");
    char ckpt[720], *text;
    rec_model *m = NULL, *ck = NULL, *again = NULL;
    int rc;

    snprintf(g_model, sizeof g_model, "%s/tiny.model", g_dir);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", g_model);
    rc = tst_run_bin(g_out, sizeof g_out, "train --arch '" ARCH "' --epochs 2 --val 0.2 --batch 32 --seed 3 --threads 1 "
            "--out '%s' --report '%s' --log '%s' '%s'",
            g_model, report, log, g_train);
    TST_CHECK(rc == 0, "train: exit %d: %.2000s", rc, g_out);
    TST_CHECK(has("epoch  1/2") && has("epoch  2/2"), "train: no epoch lines: %.1000s", g_out);

    /* The model and its checkpoint. */
    rc = rec_model_load(&m, g_model, REC_MODEL_KIND_MODEL);
    TST_CHECK(rc == UTIL_OK && m, "the trained model does not load: %s", util_last_error());
    if (m) {
        char arch[4096], v[4096];
        double d;
        rec_arch_format(&m->arch, arch, sizeof arch);
        TST_CHECK(strcmp(arch, ARCH) == 0, "model arch \"%s\"", arch);
        TST_CHECK(rec_model_meta_double(m, "temperature", 0.05, 20, 0, &d) == UTIL_OK,
                  "no temperature");
        TST_CHECK(rec_model_meta_double(m, "val_accuracy", 0, 1, -1, &d) == UTIL_OK,
                  "no val_accuracy");
        TST_CHECK(rec_model_meta_get(m, "epochs", v, sizeof v) == UTIL_OK && strcmp(v, "2") == 0,
                  "epochs \"%s\"", v);
        TST_CHECK(rec_model_meta_get(m, "seed", v, sizeof v) == UTIL_OK && strcmp(v, "3") == 0,
                  "seed \"%s\"", v);
        TST_CHECK(rec_model_meta_get(m, "batch", v, sizeof v) == UTIL_OK && strcmp(v, "32") == 0,
                  "batch \"%s\"", v);
        TST_CHECK(rec_model_meta_get(m, "data_rows", v, sizeof v) == UTIL_OK &&
                      strcmp(v, "200") == 0,
                  "data_rows \"%s\"", v);
        TST_CHECK(rec_model_meta_get(m, "command", v, sizeof v) == UTIL_OK &&
                      strstr(v, "train") && strstr(v, "--epochs 2"),
                  "command \"%s\"", v);
        TST_CHECK(rec_model_meta_get(m, "trained_at", v, sizeof v) == UTIL_OK && strlen(v) == 20,
                  "trained_at \"%s\"", v);
    }
    rc = rec_model_load(&ck, ckpt, REC_MODEL_KIND_CHECKPOINT);
    TST_CHECK(rc == UTIL_OK && ck, "the checkpoint does not load: %s", util_last_error());
    if (ck && m) {
        char v[64];
        TST_CHECK(rec_model_meta_get(ck, "epoch_done", v, sizeof v) == UTIL_OK &&
                      strcmp(v, "2") == 0,
                  "epoch_done \"%s\"", v);
        TST_CHECK(rec_model_meta_get(ck, "hist.2", v, sizeof v) == UTIL_OK, "no hist.2");
        TST_CHECK(memcmp(ck->params, m->params, m->n_params * sizeof(float)) == 0,
                  "the last checkpoint's weights are not the model's");
    }

    /* The log: a header and one line per epoch. */
    text = tst_read_text(log);
    TST_CHECK(text != NULL, "no log %s", log);
    if (text) {
        const char *hdr = "epoch,train_loss,train_acc,val_loss,val_acc,test_acc,lr,seconds\n";
        int lines = 0, ok = 1;
        TST_CHECK(strncmp(text, hdr, strlen(hdr)) == 0, "log header: %.100s", text);
        for (char *p = strchr(text, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
            int commas = 0;
            lines++;
            ok &= atoi(p + 1) == lines;
            for (char *q = p + 1; *q && *q != '\n'; q++)
                commas += *q == ',';
            ok &= commas == 7;
        }
        TST_CHECK(lines == 2 && ok, "log: %d epoch lines (want 2), well-formed %d:\n%s", lines, ok,
                  text);
        TST_CHECK(text[strlen(text) - 1] == '\n', "log does not end in a newline");
        free(text);
    }

    /* The report. */
    {
        char path[800];
        snprintf(path, sizeof path, "%s/report.html", report);
        text = tst_read_text(path);
        TST_CHECK(text && strncmp(text, "<!DOCTYPE html>", 15) == 0 && strstr(text, "<svg") &&
                      strstr(text, "</html>"),
                  "report %s missing or not a whole HTML page", path);
        free(text);
    }

    /* The same seed and thread count give the same weights. */
    rc = tst_run_bin(g_out, sizeof g_out, "train --arch '" ARCH "' --epochs 2 --val 0.2 --batch 32 --seed 3 --threads 1 "
            "--out '%s' '%s'",
            tmp("again.model"), g_train);
    TST_CHECK(rc == 0, "train again: exit %d: %.500s", rc, g_out);
    rc = rec_model_load(&again, tmp("again.model"), REC_MODEL_KIND_MODEL);
    TST_CHECK(rc == 0 && again && m && again->n_params == m->n_params &&
                  memcmp(again->params, m->params, m->n_params * sizeof(float)) == 0,
              "training is not reproducible");
    rec_model_destroy(&m);
    rec_model_destroy(&ck);
    rec_model_destroy(&again);

    /* Control characters and DEL on the command line (here in file names)
     * do not stop the command from being kept in the metadata. */
    {
        char odd_csv[800], odd_model[800], cmd[4000], v[4096];
        snprintf(odd_csv, sizeof odd_csv, "%s/del\x7f.csv", g_dir);
        snprintf(odd_model, sizeof odd_model, "%s/tab\there.model", g_dir);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && %s train --arch '" ARCH "' --epochs 1 "
                 "--threads 1 --out '%s' '%s'", g_train, odd_csv, tst_bin(), odd_model, odd_csv);
        rc = tst_run(cmd, g_out, sizeof g_out);
        TST_CHECK(rc == 0, "train with DEL and TAB in file names: exit %d \"%.300s\"", rc, g_out);
        rc = rec_model_load(&m, odd_model, REC_MODEL_KIND_MODEL);
        TST_CHECK(rc == 0 && m && rec_model_meta_get(m, "command", v, sizeof v) == UTIL_OK &&
                      strstr(v, "/del .csv") && strstr(v, "/tab here.model"),
                  "the command line in the metadata: \"%s\"", m ? m->meta : "");
        rec_model_destroy(&m);
    }
}

static void test_train_errors(void)
{
    static const struct {
        const char *name, *line;
        int at;
    } bad[] = {
        {"bad-value.csv", "3,abc", 3},     /* a value that is not a number */
        {"bad-short.csv", "3,1,2,3", 4},   /* too few columns */
        {"bad-label.csv", "12,0", 2},      /* label out of range (then short) */
        {"bad-pixel.csv", "1,256", 5},     /* pixel out of range (then short) */
    };
    char line[8000];
    int rc;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *fp = fopen(tmp(bad[i].name), "w");
        char where[800], out[800];
        if (!fp)
            continue;
        fprintf(fp, "label");
        for (int k = 0; k < TRN_PIXELS; k++)
            fprintf(fp, ",pixel%d", k);
        fputc('\n', fp);
        for (int r = 2; r <= 6; r++) {
            if (r == bad[i].at) {
                fprintf(fp, "%s\n", bad[i].line);
                continue;
            }
            snprintf(line, sizeof line, "%d", r % 10);
            for (int k = 0; k < TRN_PIXELS; k++)
                strcat(line, ",0");
            fprintf(fp, "%s\n", line);
        }
        fclose(fp);
        snprintf(where, sizeof where, "%s:%d:", tmp(bad[i].name), bad[i].at);
        snprintf(out, sizeof out, "%s.model", tmp(bad[i].name));
        rc = tst_run_bin(g_out, sizeof g_out, "train --epochs 1 --arch '" ARCH "' --out '%s' '%s'", out, tmp(bad[i].name));
        TST_CHECK(rc == 1 && has(where), "train %s: exit %d, \"%.300s\" lacks %s", bad[i].name,
                  rc, g_out, where);
        TST_CHECK(!tst_file_exists(out), "train %s left a model", bad[i].name);
        rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", g_model, tmp("bad-pred.csv"),
                tmp(bad[i].name));
        TST_CHECK(rc == 1 && has(where) && !tst_file_exists(tmp("bad-pred.csv")),
                  "predict %s: exit %d \"%.300s\"", bad[i].name, rc, g_out);
    }
    /* A wrong header; labels required for training. */
    tst_write_file("bad-header.csv", "lable,pixel0\n1,0\n", strlen("lable,pixel0\n1,0\n"));
    rc = tst_run_bin(g_out, sizeof g_out, "train --epochs 1 '%s'", tmp("bad-header.csv"));
    TST_CHECK(rc == 1 && has(tmp("bad-header.csv")) && has(":1:"),
              "train with a bad header: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "train --epochs 1 --arch '" ARCH "' --out '%s' '%s'", tmp("unlab.model"), g_unlab);
    TST_CHECK(rc == 1 && has(g_unlab) && !tst_file_exists(tmp("unlab.model")),
              "train on unlabeled digits: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "eval --model '%s' '%s'", g_model, g_unlab);
    TST_CHECK(rc == 1 && has(g_unlab), "eval on unlabeled digits: exit %d \"%.300s\"", rc, g_out);
}

/* ------------------------------------------------------ missing files */

static void test_missing(void)
{
    const char *nocsv = tmp("no-such.csv"), *nomodel = tmp("no-such.model"),
               *out = tmp("never.csv");
    int rc;

    rc = tst_run_bin(g_out, sizeof g_out, "train --epochs 1 --out '%s' '%s'", tmp("never.model"), nocsv);
    TST_CHECK(rc == 1 && has(nocsv) && !tst_file_exists(tmp("never.model")),
              "train on a missing CSV: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "train --resume '%s' '%s'", nomodel, g_train);
    TST_CHECK(rc == 1 && has(nomodel), "train --resume a missing checkpoint: exit %d \"%.300s\"",
              rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", g_model, out, nocsv);
    TST_CHECK(rc == 1 && has(nocsv) && !tst_file_exists(out),
              "predict on a missing CSV: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "eval --model '%s' '%s'", g_model, nocsv);
    TST_CHECK(rc == 1 && has(nocsv), "eval on a missing CSV: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", nomodel, out, g_train);
    TST_CHECK(rc == 1 && has(nomodel) && !tst_file_exists(out),
              "predict with a missing model: exit %d \"%.300s\"", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "eval --model '%s' '%s'", nomodel, g_train);
    TST_CHECK(rc == 1 && has(nomodel), "eval with a missing model: exit %d \"%.300s\"", rc, g_out);
    /* The default model comes from DOCPIPE_MODEL. */
    {
        char cmd[3000];
        snprintf(cmd, sizeof cmd, "DOCPIPE_MODEL='%s' %s eval '%s'", nomodel, tst_bin(), g_train);
        rc = tst_run(cmd, g_out, sizeof g_out);
        TST_CHECK(rc == 1 && has(nomodel), "DOCPIPE_MODEL ignored: exit %d \"%.300s\"", rc, g_out);
        snprintf(cmd, sizeof cmd, "DOCPIPE_MODEL='%s' %s eval --json '%s'", g_model, tst_bin(),
                 g_train);
        rc = tst_run(cmd, g_out, sizeof g_out);
        TST_CHECK(rc == 0 && has(g_model), "eval through DOCPIPE_MODEL: exit %d \"%.300s\"", rc,
                  g_out);
    }
    /* An output folder that does not exist. */
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s/none/p.csv' '%s'", g_model, g_dir, g_train);
    TST_CHECK(rc == 1 && has("none/p.csv"), "predict into a missing folder: exit %d \"%.300s\"",
              rc, g_out);
    TST_CHECK(tst_count_in_dir(g_dir, ".tmp") == 0, "a temporary file was left behind");
}

/* ---------------------------------------------------- broken models */

static void test_corrupt_model(void)
{
    uint8_t *good = NULL, junk[1000];
    size_t len = 0;
    const char *out = tmp("corrupt-pred.csv"), *old = tmp("old-pred.csv");
    char ckpt[720];
    uint32_t x = 12345;
    int rc;

    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    if (!TST_CHECK(util_file_read(g_model, 0, &good, &len) == UTIL_OK, "read %s", g_model))
        return;
    tst_write_file("junk.model", junk, sizeof junk);
    tst_write_file("half.model", good, len / 2);
    tst_write_file("short.model", good, len - 1);
    tst_write_file("empty.model", "", 0);
    good[len / 3] ^= 0x10;
    tst_write_file("flipped.model", good, len);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", g_model);
    tst_write_file("old-pred.csv", "OLD\n", 4);
    {
        const char *models[] = {tmp("junk.model"), tmp("half.model"), tmp("short.model"),
                                tmp("empty.model"), tmp("flipped.model"), ckpt};
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
            char *text;
            rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", models[i], out, g_train);
            TST_CHECK(rc == 1 && has(models[i]), "predict with %s: exit %d \"%.300s\"", models[i],
                      rc, g_out);
            TST_CHECK(!tst_file_exists(out), "predict with %s left %s", models[i], out);
            rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", models[i], old, g_train);
            text = tst_read_text(old);
            TST_CHECK(rc == 1 && text && strcmp(text, "OLD\n") == 0,
                      "predict with %s changed the existing output", models[i]);
            free(text);
            rc = tst_run_bin(g_out, sizeof g_out, "eval --model '%s' '%s'", models[i], g_train);
            TST_CHECK(rc == 1 && has(models[i]), "eval with %s: exit %d \"%.300s\"", models[i],
                      rc, g_out);
        }
    }
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' '%s'", ckpt, g_train);
    TST_CHECK(has("checkpoint, a model was expected"), "a checkpoint as a model: \"%.300s\"",
              g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "train --resume '%s' '%s'", g_model, g_train);
    TST_CHECK(rc == 1 && has("model, a checkpoint was expected"),
              "a model as a checkpoint: exit %d \"%.300s\"", rc, g_out);
    TST_CHECK(tst_count_in_dir(g_dir, ".tmp") == 0, "a temporary file was left behind");
    free(good);
}

/* --------------------------------------------------- predict and eval */

static void test_predict_eval(void)
{
    const char *p1 = tmp("pred.csv"), *p2 = tmp("pred-unlab.csv"), *p3 = tmp("pred-proba.csv");
    char *a = NULL, *b = NULL, *c = NULL;
    int labels[N_ROWS], agree = 0, rc;

    for (int i = 0; i < N_ROWS; i++)
        labels[i] = -1;
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' --threads 1 -o '%s' '%s'", g_model, p1, g_train);
    TST_CHECK(rc == 0, "predict: exit %d \"%.300s\"", rc, g_out);
    a = tst_read_text(p1);
    TST_CHECK(a != NULL, "no %s", p1);
    if (a) {
        const char *p = a;
        int n = 0, ok = 1;
        TST_CHECK(strncmp(p, "ImageId,Label\n", 14) == 0, "header: %.40s", p);
        p = strchr(p, '\n') + 1;
        while (*p) {
            int id, lab;
            char want[32];
            if (sscanf(p, "%d,%d", &id, &lab) != 2 || id != n + 1 || lab < 0 || lab > 9) {
                ok = 0;
                break;
            }
            snprintf(want, sizeof want, "%d,%d\n", id, lab);
            if (strncmp(p, want, strlen(want)) != 0) {
                ok = 0;
                break;
            }
            if (n < N_ROWS)
                labels[n] = lab;
            n++;
            p = strchr(p, '\n');
            if (!p) {
                ok = 0;
                break;
            }
            p++;
        }
        TST_CHECK(ok && n == N_ROWS, "predictions: %d well-formed rows of %d", n, N_ROWS);
        for (int i = 0; i < N_ROWS; i++)
            agree += labels[i] == g_labels[i];
    }
    /* The same digits without labels: the same predictions. */
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", g_model, p2, g_unlab);
    b = tst_read_text(p2);
    TST_CHECK(rc == 0 && a && b && strcmp(a, b) == 0,
              "predictions differ without the label column (exit %d)", rc);
    /* To standard output. */
    rc = dp_stdout("predict --model '%s' -o - '%s'", g_model, g_train);
    TST_CHECK(rc == 0 && a && strcmp(g_out, a) == 0, "predict -o - differs from the file");
    /* --proba: the same labels and a top probability in [0.1, 1]. */
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' --proba -o '%s' '%s'", g_model, p3, g_train);
    c = tst_read_text(p3);
    TST_CHECK(rc == 0 && c, "predict --proba: exit %d", rc);
    if (c) {
        const char *p = c;
        int n = 0, ok = 1;
        TST_CHECK(strncmp(p, "ImageId,Label,Confidence\n", 25) == 0, "proba header: %.40s", p);
        p = strchr(p, '\n') + 1;
        while (*p && ok) {
            int id, lab;
            double conf;
            const char *dot;
            ok = sscanf(p, "%d,%d,%lf", &id, &lab, &conf) == 3 && id == n + 1 &&
                 n < N_ROWS && lab == labels[n] && conf >= 0.1 - 1e-6 && conf <= 1.0;
            dot = strchr(p, '.');
            ok &= dot && strspn(dot + 1, "0123456789") == 6 && dot[7] == '\n';
            n++;
            p = strchr(p, '\n');
            p = p ? p + 1 : "";
        }
        TST_CHECK(ok && n == N_ROWS, "--proba rows: %d, well-formed %d", n, ok);
    }
    /* Over an existing file: replaced whole. */
    tst_write_file("pred-over.csv", "x\n", 2);
    rc = tst_run_bin(g_out, sizeof g_out, "predict --model '%s' -o '%s' '%s'", g_model, tmp("pred-over.csv"), g_train);
    free(b);
    b = tst_read_text(tmp("pred-over.csv"));
    TST_CHECK(rc == 0 && a && b && strcmp(a, b) == 0, "predict over an existing file");

    /* eval --json: one JSON object that agrees with predict. */
    rc = dp_stdout("eval --model '%s' --json '%s'", g_model, g_train);
    TST_CHECK(rc == 0, "eval --json: exit %d", rc);
    TST_CHECK(json_object_ok(g_out), "eval --json is not one JSON object: %.500s", g_out);
    TST_CHECK(has("\"accuracy\":") && has("\"n\":") && has("\"confusion\":[["),
              "eval --json lacks accuracy, n or confusion: %.300s", g_out);
    {
        double n = -1, correct = -1, acc = -1;
        json_num(g_out, "n", &n);
        json_num(g_out, "correct", &correct);
        json_num(g_out, "accuracy", &acc);
        TST_CHECK(n == N_ROWS, "eval n %g", n);
        TST_CHECK(correct == agree, "eval counts %g correct, predict's labels agree on %d",
                  correct, agree);
        TST_CHECK(acc > correct / N_ROWS - 1e-9 && acc < correct / N_ROWS + 1e-9,
                  "accuracy %g, correct %g", acc, correct);
        /* the confusion matrix: 10 x 10, summing to n, trace = correct */
        {
            const char *p = strstr(g_out, "\"confusion\":[[");
            long sum = 0, trace = 0, cells = 0;
            if (p) {
                p += strlen("\"confusion\":[");
                for (int r = 0; r < 10 && *p == '['; r++) {
                    p++;
                    for (int k = 0; k < 10; k++) {
                        char *end;
                        long v = strtol(p, &end, 10);
                        if (end == p)
                            break;
                        sum += v, trace += r == k ? v : 0, cells++;
                        p = end;
                        if (*p == ',')
                            p++;
                    }
                    if (*p == ']')
                        p++;
                    if (*p == ',')
                        p++;
                }
            }
            TST_CHECK(cells == 100 && sum == N_ROWS && trace == agree,
                      "confusion: %ld cells, sum %ld, trace %ld", cells, sum, trace);
        }
    }
    TST_CHECK(has("\"arch\":\"" ARCH "\""), "eval --json lacks the arch");
    /* A path that needs escaping in JSON. */
    {
        char odd[800], cmd[6000];
        snprintf(odd, sizeof odd, "%s/we\"ird\\name.model", g_dir);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && { %s eval --model '%s' --json '%s' 2>/dev/null; }",
                 g_model, odd, tst_bin(), odd, g_train);
        rc = tst_run(cmd, g_out, sizeof g_out);
        TST_CHECK(rc == 0 && json_object_ok(g_out) && has("we\\\"ird\\\\name.model"),
                  "eval --json with an odd model path: exit %d %.300s", rc, g_out);
    }
    /* The report form. */
    rc = dp_stdout("eval --model '%s' '%s'", g_model, g_train);
    TST_CHECK(rc == 0 && has(g_model) && has(ARCH) && has("accuracy") && has("confusion"),
              "eval: exit %d \"%.300s\"", rc, g_out);
    free(a);
    free(b);
    free(c);
}

/* eval --record: the accuracy eval prints becomes the model file's
 * test_accuracy (the rest of the file as it was); a failed eval leaves the
 * file byte for byte; predict has no --record. */
static void test_eval_record(void)
{
    const char *m = tmp("record.model"), *missing = tmp("no-such-digits.csv");
    char cmd[3000], before[80], got[64] = "";
    double acc = -1.0;
    rec_model *a = NULL, *b = NULL;
    int rc;

    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", g_model, m);
    if (!TST_CHECK(tst_run(cmd, NULL, 0) == 0, "copy the model"))
        return;
    rc = dp_stdout("eval --json --model '%s' '%s'", m, g_train);
    TST_CHECK(rc == 0 && json_num(g_out, "accuracy", &acc) == 0, "eval --json: exit %d", rc);
    snprintf(cmd, sizeof cmd, "cksum < '%s'", m);
    tst_run(cmd, before, sizeof before);
    rc = tst_run_bin(g_out, sizeof g_out, "eval --record --model '%s' '%s'", m, missing);
    snprintf(cmd, sizeof cmd, "test \"$(cksum < '%s')\" = '%.*s'", m,
             (int)strcspn(before, "\n"), before);
    TST_CHECK(rc == 1 && tst_run(cmd, NULL, 0) == 0,
              "eval --record on a missing CSV: exit %d, the model untouched", rc);
    rc = tst_run_bin(g_out, sizeof g_out, "eval --record --model '%s' '%s'", m, g_train);
    TST_CHECK(rc == 0, "eval --record: exit %d \"%.300s\"", rc, g_out);
    if (TST_CHECK(rec_model_load(&a, g_model, 0) == UTIL_OK && rec_model_load(&b, m, 0) == UTIL_OK,
                  "both models load")) {
        char want[64];
        snprintf(want, sizeof want, "%.6f", acc);
        rec_model_meta_get(b, "test_accuracy", got, sizeof got);
        TST_CHECK(acc >= 0 && strcmp(got, want) == 0, "test_accuracy recorded: \"%s\", eval "
                  "printed %s", got, want);
        TST_CHECK(a->n_params == b->n_params &&
                      memcmp(a->params, b->params, a->n_params * sizeof *a->params) == 0,
                  "the weights are the same");
    }
    rec_model_destroy(&a);
    rec_model_destroy(&b);
    rc = tst_run_bin(g_out, sizeof g_out, "predict --record --model '%s' '%s'", m, g_train);
    TST_CHECK(rc == 2 && has("unknown option \"--record\""), "predict --record: exit %d \"%.200s\"",
              rc, g_out);
}

int main(void)
{
    util_log_set_level(-1);
    snprintf(g_dir, sizeof g_dir, "%s", tst_tmpdir());
    snprintf(g_train, sizeof g_train, "%s/digits.csv", g_dir);
    snprintf(g_unlab, sizeof g_unlab, "%s/digits-unlabeled.csv", g_dir);
    if (write_digits(g_train, N_ROWS, 1, 1) || write_digits(g_unlab, N_ROWS, 0, 1)) {
        fprintf(stderr, "cannot write the test digits\n");
        return 1;
    }
    {
        char cmd[1000];
        snprintf(cmd, sizeof cmd, "test -x %s", tst_bin());
        if (!TST_CHECK(tst_run(cmd, NULL, 0) == 0, "no binary %s (set DOCPIPE_BIN)", tst_bin()))
            return tst_done();
    }
    test_help();
    test_usage_errors();
    test_train();
    test_train_errors();
    test_missing();
    test_corrupt_model();
    test_predict_eval();
    test_eval_record();
    return tst_done();
}
