/*
 * main.c - the docpipe command line: finds the subcommand, parses its
 * options into the stage's option struct and calls the one function that
 * does the work.  No logic lives here, and this is the only place that
 * exits.
 *
 * Exit codes: 0 success, 1 the work failed (the message says why),
 * 2 a usage error (unknown option, bad value, missing argument),
 * 3 ingest stored the run but some documents failed (recorded with why),
 * 130 interrupted by Ctrl-C (training leaves a checkpoint to resume from).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "pipeline/pipe.h"
#include "recognize/rec_net.h"
#include "samples/smp_gen.h"
#include "samples/smp_pairs.h"
#include "segment/seg_cmd.h"
#include "train/trn_bench.h"
#include "train/trn_crops.h"
#include "train/trn_data.h"
#include "train/trn_train.h"
#include "train/trn_use.h"
#include "util/util.h"

#define EXIT_USAGE 2
#define EXIT_SOME_FAILED 3
#define EXIT_INTR 130

enum { O_STR, O_INT, O_DBL, O_U64, O_FLAG, O_NOFLAG };

typedef struct opt {
    const char *name; /* "--epochs" or "-o" */
    int kind;
    void *dst;
    double lo, hi;    /* O_INT, O_DBL, O_U64 */
} opt;

typedef struct cmd {
    const char *name;
    const char *usage; /* the whole help text */
} cmd;

static const char *g_prog = "docpipe";
#define BAD_DEVICE "option --device: \"%s\" is not auto, cpu or cuda%s"

static const cmd CMDS[] = {
    {"train",
     "usage: docpipe train [options] TRAIN.csv\n"
     "Trains the digit classifier on a Kaggle Digit Recognizer CSV (label,pixel0..pixel783).\n"
     "  --arch NAME|TEXT   lenet5, kaggle, default, or a layer list (default: default)\n"
     "  --epochs N         total epochs (30)\n"
     "  --batch N          images per step (86)\n"
     "  --lr X             RMSProp learning rate (0.001; rho 0.9, eps 1e-8)\n"
     "  --val F            held-out fraction for validation, 0..0.5 (0.1)\n"
     "  --seed N           seed of every random draw (1)\n"
     "  --threads N        CPU threads (0: every core)\n"
     "  --device D         auto (default: the GPU when one is usable), cpu or cuda\n"
     "  --out FILE         the model written at the end (trained.model)\n"
     "  --checkpoint FILE  checkpoint written after every epoch (OUT.ckpt)\n"
     "  --resume CKPT      continue a run from its checkpoint\n"
     "  --init MODEL       start from MODEL's network and weights (fine-tuning; no --arch)\n"
     "  --report DIR       write DIR/report.html (curves, confusion matrix, errors)\n"
     "  --log FILE.csv     per-epoch log\n"
     "  --no-augment       no rotation/zoom/shift augmentation\n"
     "  --test FILE.csv    labeled set scored after every epoch (time to accuracy)\n"
     "  --stop-at F        stop once test accuracy reaches F (needs --test)\n"
     "  --patience N, --factor F, --min-lr X   ReduceLROnPlateau (3, 0.5, 1e-5)\n"
     "  --rotate DEG, --zoom F, --shift F      augmentation ranges (10, 0.1, 0.1)\n"
     "  --average-from E   ship the mean of the weights after epochs E..last (0: off)\n"
     "Ctrl-C saves a checkpoint and exits; --resume continues exactly.\n"},
    {"predict",
     "usage: docpipe predict [--model M] [-o OUT.csv] [--proba] DIGITS.csv\n"
     "Writes Kaggle's submission format ImageId,Label (1-based ids) for every row.\n"
     "  --model M     model file (default: models/default.model beside the binary)\n"
     "  -o OUT.csv    output file, '-' for standard output (predictions.csv)\n"
     "  --proba       add a Confidence column (the calibrated top probability)\n"
     "  --threads N   CPU threads (0: every core)\n"
     "  --device D    auto (default: the GPU when one is usable), cpu or cuda\n"
     "  --batch N     images per forward pass (1000)\n"},
    {"eval",
     "usage: docpipe eval [--model M] [--json] [--record] LABELED.csv\n"
     "Scores a model: accuracy, per-class precision/recall, confusion matrix,\n"
     "mean log-loss and expected calibration error.\n"
     "  --model M     model file (default: models/default.model beside the binary)\n"
     "  --json        one JSON object (accuracy, n, confusion, ...) instead\n"
     "  --record      store the accuracy in the model file as its test_accuracy\n"
     "                (what ingest records in models.test_accuracy); use the\n"
     "                MNIST test set (data/test_labeled.csv)\n"
     "  --threads N   CPU threads (0: every core)\n"
     "  --device D    auto (default: the GPU when one is usable), cpu or cuda\n"
     "  --batch N     images per forward pass (1000)\n"},
    {"mnist-convert",
     "usage: docpipe mnist-convert --images IDX (--labels IDX | --no-labels) -o OUT.csv\n"
     "Converts the original MNIST IDX files to a Kaggle Digit Recognizer CSV\n"
     "(make data runs it).\n"},
    {"bench",
     "usage: docpipe bench [options] TRAIN.csv\n"
     "Training and inference images/s on the engine, measured like the PyTorch reference\n"
     "(bench/torch_mnist.py, throughput mode); prints one JSON line (make bench).\n"
     "  --arch NAME|TEXT   lenet5, kaggle, default, or a layer list (lenet5)\n"
     "  --batch N          training images per step (86)\n"
     "  --infer-batch N    images per inference forward pass (1000)\n"
     "  --batches N        timed training steps after 5 warm-up ones\n"
     "                     (0: 300 for lenet5, 40 otherwise)\n"
     "  --threads N        CPU threads (0: every core)\n"
     "  --device D         auto (default: the GPU when one is usable), cpu or cuda\n"},
    {"samples",
     "usage: docpipe samples --out DIR --pages N --seed S [options]\n"
     "Draws scanned check and postal-form pages filled in with MNIST test digits,\n"
     "with the truth: DIR/truth.csv (file,page,field,type,text) and DIR/pages.csv\n"
     "(file,page,form,dpi,skew_deg,dx_px,dy_px,scale).  The same options give the\n"
     "same files, byte for byte.\n"
     "  --out DIR          the folder written (created when missing)\n"
     "  --pages N          pages in all, grouped into documents\n"
     "  --seed S           seed of every random draw (1)\n"
     "  --kind K           check, postal or mixed (mixed)\n"
     "  --dpi D            200 or 300 (300)\n"
     "  --digits FILE.csv  labeled Kaggle CSV of the digits (data/test_labeled.csv)\n"
     "  --forms DIR        form templates (default: forms/ beside the binary)\n"
     "  --touch X          neighbouring digits touch X times as often (1..10, 1);\n"
     "                     training pages for the judge (README \"The judge\")\n"
     "  --pairs N          no pages: N pairs of touching digits cut as one glyph, in\n"
     "                     DIR/pairs-left.csv and DIR/pairs-right.csv (the pair\n"
     "                     readers' training rows, README \"The pair readers\")\n"},
    {"crops",
     "usage: docpipe crops --out CROPS.csv [--truth TRUTH.csv] [--forms DIR] [--judge M] DIR\n"
     "Cuts labeled digit crops from a docpipe samples set: every page is segmented\n"
     "as ingest does it, and each field whose digit count came out right gives its\n"
     "28x28 crops paired with the digits written there, as a Kaggle CSV\n"
     "(label,pixel0..pixel783) for docpipe train and docpipe eval.  Pages drawn\n"
     "with --digits data/train.csv make training crops; test-digit pages measure.\n"
     "  --out FILE         the CSV written (atomically)\n"
     "  --truth FILE       the truth (DIR/truth.csv); its files are relative to DIR\n"
     "  --forms DIR        the templates (default: forms/ beside the binary)\n"
     "  --judge MODEL      write the judge's rows instead: every glyph of every\n"
     "                     split of a field that MODEL reads right in one of its\n"
     "                     splits, labeled 0 whole digit, 1 touching digits read\n"
     "                     as one, 2 a piece (README \"The judge\")\n"},
    {"segment",
     "usage: docpipe segment [--form NAME|auto] [--forms DIR] [--dump DIR] FILES...\n"
     "Runs the segmentation stage alone and prints, per page, the skew, the form\n"
     "found, the fields and their digit boxes (x,y,wxh on the deskewed page).\n"
     "  --form NAME    read every page as this template; 'auto': no template, every\n"
     "                 printed box or comb holding handwriting is a field\n"
     "                 (default: the template that registers best, else auto)\n"
     "  --forms DIR    the templates (default: forms/ beside the binary)\n"
     "  --dump DIR     write DIR/FILE-pN.png (the deskewed page, fields blue, digits\n"
     "                 red) and DIR/FILE-pN-crops.png (each field's 28x28 crops)\n"
     "A file or page that cannot be read is reported and the rest go on (exit 1).\n"},
    {"ingest",
     "usage: docpipe ingest [options] PATHS...\n"
     "Reads every scanned image under PATHS (files, or folders walked recursively)\n"
     "and stores each amount, postcode, date and number with a confidence in an\n"
     "SQLite database (query the views amounts and postcodes with sqlite3, or use\n"
     "docpipe export).  Images are recognized by content; multi-page TIFFs are\n"
     "split into pages; a file already stored (same SHA-256) is skipped.\n"
     "  --db FILE          the database, created when missing (docpipe.db)\n"
     "  --model M          model file (default: models/default.model beside the binary)\n"
     "  --checker M|none   a second model, trained apart, whose opinion of each digit\n"
     "                     goes into the confidence (default: models/checker.model\n"
     "                     beside the binary when it is there; none: without one)\n"
     "  --judge M|none     a small model that tells touching digits read as one\n"
     "                     glyph from a whole digit, weighed into the choice among\n"
     "                     a field's readings (default: models/judge.model beside\n"
     "                     the binary when it is there; none: without one)\n"
     "  --pairs L,R|none   the pair readers: two models that read the left and the\n"
     "                     right digit of a glyph holding two touching digits,\n"
     "                     weighed into the reading of its cut (default:\n"
     "                     models/pair-left.model and pair-right.model beside the\n"
     "                     binary when both are there; none: without them)\n"
     "  --form NAME|auto   read every page as this template; 'auto': every printed\n"
     "                     box or comb (default: the best template, else auto)\n"
     "  --forms DIR        the templates (default: forms/ beside the binary)\n"
     "  --threads N        segmentation threads (0: every core)\n"
     "  --device D         auto (default: the GPU when one is usable), cpu or cuda\n"
     "  --batch N          digit crops per classifier batch, across pages (512)\n"
     "  --review-below X   fields under this confidence get status review (0.95)\n"
     "  --force            read documents already stored again, replacing them\n"
     "  --quiet            no progress, no summary\n"
     "  --shard K/N        read only shard K of N (1-based: 1/4 .. 4/4), chosen by a hash\n"
     "                     of each file's path below the folder given; without it a\n"
     "                     Slurm array task reads its share (SLURM_ARRAY_TASK_ID,\n"
     "                     SLURM_ARRAY_TASK_COUNT); merge the shards with docpipe merge\n"
     "  --shard-count N    a Kubernetes Indexed Job of N completions: the shard is\n"
     "                     JOB_COMPLETION_INDEX (0-based)\n"
     "Files whose name says image (.tif .png .jpg ...) but that cannot be read are\n"
     "stored as failed with the reason; other files (README, CSV) are left alone.\n"
     "Exit: 0 every document went in (or was already in), 3 some failed (the rest\n"
     "went in; see documents.status = 'failed'), 1 the run could not go on (model,\n"
     "forms or database refused), 2 usage, 130 interrupted (finished documents kept).\n"},
    {"eval-ingest",
     "usage: docpipe eval-ingest --truth TRUTH.csv [--db FILE] [--json] [--max-error F]\n"
     "Scores the database against a samples truth file (file,page,field,type,text,\n"
     "files relative to its folder): field exact match overall, per type and per\n"
     "field, digit accuracy, the read rate at <= 1 % field error (fields taken by\n"
     "decreasing confidence) and a reliability table of confidence against accuracy.\n"
     "  --truth FILE      the truth (docpipe samples writes DIR/truth.csv)\n"
     "  --db FILE         the database (docpipe.db); never created\n"
     "  --json            one JSON object instead of the text report\n"
     "  --max-error F     the read rate's field error bound (0.01)\n"},
    {"merge",
     "usage: docpipe merge [--db OUT.db] [--quiet] SHARD.db...\n"
     "Merges the databases of a sharded ingest (docpipe ingest --shard K/N, one per\n"
     "array task) into one: per shard one transaction; documents whose SHA-256 is\n"
     "already in are skipped, so merging again adds nothing; runs and models are\n"
     "carried over.  A shard of another schema version or program is refused (the\n"
     "others are still merged; exit 1).\n"
     "  --db FILE   the output database, created when missing (docpipe.db)\n"
     "  --quiet     no per-shard lines\n"},
    {"export",
     "usage: docpipe export amounts|postcodes|fields [--db FILE] [--format csv|json] [-o FILE]\n"
     "Writes what ingest stored: the amounts or postcodes view, or every field\n"
     "(file,page,form,field,type,text,confidence,status,value,doubt; page 1-based).\n"
     "  --db FILE        the database (docpipe.db); never created\n"
     "  --format F       csv (RFC 4180, with a header) or json (an array of objects)\n"
     "  -o FILE          output file, written atomically; '-' for standard output (the default)\n"},
};

static void usage_all(FILE *fp)
{
    fprintf(fp,
            "usage: docpipe COMMAND [options] ...\n"
            "docpipe reads handwritten digits; commands:\n"
            "  train          train the CNN on a Kaggle Digit Recognizer CSV\n"
            "  predict        classify a CSV of digits into ImageId,Label\n"
            "  eval           score a model on a labeled CSV\n"
            "  mnist-convert  convert MNIST IDX files to CSV\n"
            "  bench          training and inference speed (images/s)\n"
            "  samples        draw scanned sample pages with known truth\n"
            "  segment        find the form, fields and digits on scanned pages\n"
            "  crops          labeled digit crops from a samples set, as a CSV\n"
            "  ingest         read folders of scans into the SQLite database\n"
            "  eval-ingest    score the database against a samples truth file\n"
            "  merge          merge the databases of a sharded ingest into one\n"
            "  export         amounts, postcodes or fields from the database as CSV or JSON\n"
            "  help [COMMAND] this text, or a command's\n"
            "'docpipe COMMAND --help' describes each command.\n");
}

static const cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++)
        if (strcmp(CMDS[i].name, name) == 0)
            return &CMDS[i];
    return NULL;
}

static int usage_error(const cmd *c, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s %s: ", g_prog, c->name);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n%s", c->usage);
    return EXIT_USAGE;
}

/*
 * Parses argv[1..] of a subcommand: options from opts ("--name value",
 * "--name=value", flags), the rest positional (at most max_pos).  Returns
 * 0, EXIT_USAGE after printing what is wrong, or -1 after printing help.
 */
static int parse(const cmd *c, int argc, char **argv, const opt *opts, size_t n_opts,
                 const char **pos, int max_pos, int *pn_pos)
{
    int np = 0, only_pos = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        char name[64];
        const opt *o = NULL;

        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (np == max_pos)
                return usage_error(c, "unexpected argument \"%s\"%s", a, "");
            pos[np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(c->usage, stdout);
            return -1;
        }
        eq = strchr(a, '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        for (size_t k = 0; k < n_opts && !o; k++)
            if (strcmp(opts[k].name, name) == 0)
                o = &opts[k];
        if (!o)
            return usage_error(c, "unknown option \"%s\"%s", name, "");
        if (o->kind == O_FLAG || o->kind == O_NOFLAG) {
            if (eq)
                return usage_error(c, "option %s takes no value%s", name, "");
            *(int *)o->dst = o->kind == O_FLAG;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error(c, "option %s needs a value%s", name, "");
        if (o->kind == O_STR) {
            if (!*val)
                return usage_error(c, "option %s needs a non-empty value%s", name, "");
            *(const char **)o->dst = val;
        } else if (o->kind == O_INT || o->kind == O_U64) {
            long v;
            if (util_parse_long(val, (long)o->lo, (long)o->hi, &v) != UTIL_OK) {
                char range[64];
                snprintf(range, sizeof range, " (a whole number in %.0f..%.0f)", o->lo, o->hi);
                fprintf(stderr, "%s %s: option %s: \"%s\" is not valid%s\n%s", g_prog, c->name,
                        name, val, range, c->usage);
                return EXIT_USAGE;
            }
            if (o->kind == O_INT)
                *(int *)o->dst = (int)v;
            else
                *(uint64_t *)o->dst = (uint64_t)v;
        } else {
            double v;
            if (util_parse_double(val, o->lo, o->hi, &v) != UTIL_OK) {
                fprintf(stderr, "%s %s: option %s: \"%s\" is not a number in %g..%g\n%s", g_prog,
                        c->name, name, val, o->lo, o->hi, c->usage);
                return EXIT_USAGE;
            }
            *(double *)o->dst = v;
        }
    }
    *pn_pos = np;
    return 0;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int exit_code(int rc)
{
    if (rc == UTIL_OK)
        return 0;
    if (rc == UTIL_EINTR)
        return EXIT_INTR;
    return 1;
}

static void on_sigint(int sig)
{
    (void)sig;
    trn_interrupt();
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends at once */
}

static void on_sigint_ingest(int sig)
{
    (void)sig;
    pipe_interrupt();
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends at once */
}

static char g_cmdline[2048];

static void remember_cmdline(int argc, char **argv)
{
    size_t len = 0;
    for (int i = 0; i < argc && len < sizeof g_cmdline - 1; i++)
        len += (size_t)snprintf(g_cmdline + len, sizeof g_cmdline - len, "%s%s", i ? " " : "",
                                argv[i]);
    /* Model metadata values refuse control characters and DEL. */
    for (char *p = g_cmdline; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static int cmd_train(const cmd *c, int argc, char **argv)
{
    trn_opts o;
    const char *pos[1];
    int np = 0, noaug = 0, rc;

    trn_opts_default(&o);
    const opt opts[] = {
        {"--arch", O_STR, &o.arch, 0, 0},          {"--epochs", O_INT, &o.epochs, 1, 1000},
        {"--batch", O_INT, &o.batch, 1, 4096},     {"--lr", O_DBL, &o.lr, 1e-7, 1.0},
        {"--val", O_DBL, &o.val, 0.0, 0.5},        {"--seed", O_U64, &o.seed, 0, 2147483647},
        {"--threads", O_INT, &o.threads, 0, 64},   {"--out", O_STR, &o.out, 0, 0},
        {"--checkpoint", O_STR, &o.checkpoint, 0, 0}, {"--resume", O_STR, &o.resume, 0, 0},
        {"--report", O_STR, &o.report, 0, 0},      {"--log", O_STR, &o.log, 0, 0},
        {"--no-augment", O_FLAG, &noaug, 0, 0},    {"--test", O_STR, &o.test, 0, 0},
        {"--stop-at", O_DBL, &o.stop_at, 0.0, 1.0}, {"--patience", O_INT, &o.patience, 1, 1000},
        {"--factor", O_DBL, &o.factor, 0.01, 1.0}, {"--min-lr", O_DBL, &o.min_lr, 0.0, 1.0},
        {"--rotate", O_DBL, &o.rotate_deg, 0.0, 45.0}, {"--zoom", O_DBL, &o.zoom, 0.0, 0.5},
        {"--shift", O_DBL, &o.shift, 0.0, 0.3},
        {"--average-from", O_INT, &o.average_from, 0, 1000},
        {"--device", O_STR, &o.device, 0, 0},      {"--init", O_STR, &o.init, 0, 0},
    };
    o.arch = NULL;
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 1, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (np != 1)
        return usage_error(c, "needs the training CSV%s%s", "", "");
    if (o.init && (o.arch || o.resume))
        return usage_error(c, "--init takes its network from the model: not with %s%s",
                           o.arch ? "--arch" : "--resume", "");
    if (!o.arch)
        o.arch = "default";
    if (o.stop_at > 0 && !o.test)
        return usage_error(c, "--stop-at needs --test%s%s", "", "");
    if (!rec_device_valid(o.device))
        return usage_error(c, BAD_DEVICE, o.device, "");
    o.data = pos[0];
    o.augment = !noaug;
    o.command = g_cmdline;
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    return exit_code(trn_train_run(&o));
}

static int cmd_use(const cmd *c, int argc, char **argv, int eval)
{
    trn_use_opts o;
    const char *pos[1];
    int np = 0, rc;

    trn_use_opts_default(&o);
    const opt opts[] = {
        {"--model", O_STR, &o.model, 0, 0},      {"-o", O_STR, &o.out, 0, 0},
        {"--proba", O_FLAG, &o.proba, 0, 0},     {"--json", O_FLAG, &o.json, 0, 0},
        {"--record", O_FLAG, &o.record, 0, 0},
        {"--threads", O_INT, &o.threads, 0, 64}, {"--batch", O_INT, &o.batch, 1, 65536},
        {"--device", O_STR, &o.device, 0, 0},
    };
    /* predict takes -o and --proba, eval takes --json and --record. */
    const opt *use = opts;
    opt sel[8];
    size_t n = 0;
    for (size_t i = 0; i < N_OF(opts); i++) {
        const char *nm = use[i].name;
        if (eval && (strcmp(nm, "-o") == 0 || strcmp(nm, "--proba") == 0))
            continue;
        if (!eval && (strcmp(nm, "--json") == 0 || strcmp(nm, "--record") == 0))
            continue;
        sel[n++] = use[i];
    }
    rc = parse(c, argc, argv, sel, n, pos, 1, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (np != 1)
        return usage_error(c, "needs the CSV of digits%s%s", "", "");
    if (!rec_device_valid(o.device))
        return usage_error(c, BAD_DEVICE, o.device, "");
    o.input = pos[0];
    return exit_code(eval ? trn_eval_run(&o) : trn_predict_run(&o));
}

static int cmd_bench(const cmd *c, int argc, char **argv)
{
    trn_bench_opts o;
    const char *pos[1];
    int np = 0, rc;

    trn_bench_opts_default(&o);
    const opt opts[] = {
        {"--arch", O_STR, &o.arch, 0, 0},          {"--batch", O_INT, &o.batch, 1, 4096},
        {"--infer-batch", O_INT, &o.infer_batch, 1, 65536},
        {"--batches", O_INT, &o.batches, 0, 1000000}, {"--threads", O_INT, &o.threads, 0, 64},
        {"--device", O_STR, &o.device, 0, 0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 1, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (np != 1)
        return usage_error(c, "needs the training CSV%s%s", "", "");
    if (!rec_device_valid(o.device))
        return usage_error(c, BAD_DEVICE, o.device, "");
    o.data = pos[0];
    return exit_code(trn_bench_run(&o));
}

static int cmd_samples(const cmd *c, int argc, char **argv)
{
    smp_opts o;
    const char *pos[1], *kind = "mixed";
    int np = 0, rc, pairs = 0;

    smp_opts_default(&o);
    const opt opts[] = {
        {"--out", O_STR, &o.out, 0, 0},           {"--pages", O_INT, &o.pages, 1, 1000000},
        {"--seed", O_U64, &o.seed, 0, 2147483647}, {"--kind", O_STR, &kind, 0, 0},
        {"--dpi", O_INT, &o.dpi, 1, 10000},       {"--digits", O_STR, &o.digits, 0, 0},
        {"--forms", O_STR, &o.forms, 0, 0},        {"--touch", O_DBL, &o.touch, 1.0, 10.0},
        {"--pairs", O_INT, &pairs, 1, 10000000},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 0, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.out)
        return usage_error(c, "needs --out DIR%s%s", "", "");
    if (pairs > 0)
        return exit_code(smp_pairs_run(o.digits, o.out, pairs, o.seed));
    if (o.pages < 1)
        return usage_error(c, "needs --pages N%s%s", "", "");
    if (smp_kind_parse(kind, &o.kind) != UTIL_OK)
        return usage_error(c, "option --kind: \"%s\" is not check, postal or mixed%s", kind, "");
    if (o.dpi != 200 && o.dpi != 300)
        return usage_error(c, "option --dpi: must be 200 or 300%s%s", "", "");
    return exit_code(smp_run(&o));
}

static int cmd_crops(const cmd *c, int argc, char **argv)
{
    trn_crops_opts o = {0};
    trn_crops_stats st;
    const char *pos[1];
    int np = 0, rc;

    const opt opts[] = {
        {"--out", O_STR, &o.out, 0, 0},
        {"--truth", O_STR, &o.truth, 0, 0},
        {"--forms", O_STR, &o.forms, 0, 0},
        {"--judge", O_STR, &o.judge, 0, 0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 1, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (np != 1)
        return usage_error(c, "needs the samples folder%s%s", "", "");
    if (!o.out)
        return usage_error(c, "needs --out CROPS.csv%s%s", "", "");
    o.dir = pos[0];
    rc = trn_crops_run(&o, &st);
    if (rc == UTIL_OK && o.judge)
        printf("%ld judge rows (%ld whole, %ld touching, %ld pieces) from %ld of %ld fields "
               "with digits (%ld pages) into %s\n",
               st.crops, st.per_class[0], st.per_class[1], st.per_class[2], st.fields_used,
               st.fields, st.pages, o.out);
    else if (rc == UTIL_OK)
        printf("%ld crops from %ld of %ld fields with digits (%ld pages) into %s\n", st.crops,
               st.fields_used, st.fields, st.pages, o.out);
    return exit_code(rc);
}

static int cmd_segment(const cmd *c, int argc, char **argv)
{
    seg_cmd_opts o = {0};
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int np = 0, rc;

    if (!pos) {
        fprintf(stderr, "%s: out of memory\n", g_prog);
        return 1;
    }
    const opt opts[] = {
        {"--form", O_STR, &o.form, 0, 0},
        {"--forms", O_STR, &o.forms_dir, 0, 0},
        {"--dump", O_STR, &o.dump, 0, 0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, argc, &np);
    if (rc) {
        free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (np == 0) {
        free(pos);
        return usage_error(c, "needs at least one image file%s%s", "", "");
    }
    o.files = pos;
    o.n_files = np;
    rc = exit_code(seg_cmd_run(&o));
    free(pos);
    return rc;
}

static int cmd_ingest(const cmd *c, int argc, char **argv)
{
    pipe_ingest_opts o;
    pipe_ingest_stats st;
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int np = 0, rc;

    if (!pos) {
        fprintf(stderr, "%s: out of memory\n", g_prog);
        return 1;
    }
    pipe_ingest_opts_default(&o);
    const opt opts[] = {
        {"--db", O_STR, &o.db, 0, 0},           {"--model", O_STR, &o.model, 0, 0},
        {"--checker", O_STR, &o.checker, 0, 0}, {"--judge", O_STR, &o.judge, 0, 0},
        {"--pairs", O_STR, &o.pairs, 0, 0},
        {"--form", O_STR, &o.form, 0, 0},       {"--forms", O_STR, &o.forms_dir, 0, 0},
        {"--threads", O_INT, &o.threads, 0, 64}, {"--batch", O_INT, &o.batch, 1, 65536},
        {"--review-below", O_DBL, &o.review_below, 0.0, 1.0},
        {"--force", O_FLAG, &o.force, 0, 0},    {"--quiet", O_FLAG, &o.quiet, 0, 0},
        {"--device", O_STR, &o.engine, 0, 0},
        {"--shard", O_STR, &o.shard, 0, 0},
        {"--shard-count", O_INT, &o.shard_count, 1, PIPE_SHARD_MAX},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, argc, &np);
    if (rc) {
        free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (np == 0) {
        free(pos);
        return usage_error(c, "needs at least one file or folder%s%s", "", "");
    }
    if (!rec_device_valid(o.engine)) {
        rc = usage_error(c, BAD_DEVICE, o.engine, "");
        free(pos);
        return rc;
    }
    {
        pipe_shard sh;
        if (o.shard && pipe_shard_parse(o.shard, &sh) != UTIL_OK) {
            free(pos);
            return usage_error(c, "option --shard: \"%s\" is not K/N with 1 <= K <= N%s",
                               o.shard, "");
        }
    }
    o.paths = pos;
    o.n_paths = np;
    o.command = g_cmdline;
    signal(SIGINT, on_sigint_ingest);
    signal(SIGTERM, on_sigint_ingest);
    rc = pipe_ingest_run(&o, &st);
    free(pos);
    return rc == UTIL_OK && st.failed > 0 ? EXIT_SOME_FAILED : exit_code(rc);
}

static int cmd_eval_ingest(const cmd *c, int argc, char **argv)
{
    pipe_eval_opts o;
    const char *pos[1];
    int np = 0, rc;

    pipe_eval_opts_default(&o);
    const opt opts[] = {
        {"--db", O_STR, &o.db, 0, 0},
        {"--truth", O_STR, &o.truth, 0, 0},
        {"--json", O_FLAG, &o.json, 0, 0},
        {"--max-error", O_DBL, &o.target_error, 0.0, 1.0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 0, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.truth)
        return usage_error(c, "needs --truth TRUTH.csv%s%s", "", "");
    return exit_code(pipe_eval_run(&o));
}

static int cmd_merge(const cmd *c, int argc, char **argv)
{
    db_merge_opts o;
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int np = 0, rc;

    if (!pos) {
        fprintf(stderr, "%s: out of memory\n", g_prog);
        return 1;
    }
    db_merge_opts_default(&o);
    const opt opts[] = {
        {"--db", O_STR, &o.db, 0, 0},
        {"--quiet", O_FLAG, &o.quiet, 0, 0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, argc, &np);
    if (rc) {
        free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (np == 0) {
        free(pos);
        return usage_error(c, "needs at least one shard database%s%s", "", "");
    }
    o.shards = pos;
    o.n_shards = np;
    rc = exit_code(db_merge_run(&o));
    free(pos);
    return rc;
}

static int cmd_export(const cmd *c, int argc, char **argv)
{
    db_export_opts o;
    const char *pos[1];
    int np = 0, rc;

    db_export_opts_default(&o);
    const opt opts[] = {
        {"--db", O_STR, &o.db, 0, 0},
        {"--format", O_STR, &o.format, 0, 0},
        {"-o", O_STR, &o.out, 0, 0},
    };
    rc = parse(c, argc, argv, opts, N_OF(opts), pos, 1, &np);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (np != 1)
        return usage_error(c, "needs what to export: amounts, postcodes or fields%s%s", "", "");
    o.what = pos[0];
    if (strcmp(o.what, "amounts") != 0 && strcmp(o.what, "postcodes") != 0 &&
        strcmp(o.what, "fields") != 0)
        return usage_error(c, "cannot export \"%s\": amounts, postcodes or fields%s", o.what, "");
    if (strcmp(o.format, "csv") != 0 && strcmp(o.format, "json") != 0)
        return usage_error(c, "option --format: \"%s\" is not csv or json%s", o.format, "");
    return exit_code(db_export_run(&o));
}

int main(int argc, char **argv)
{
    const cmd *c;

    if (argc < 2) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc > 2 && (c = find_cmd(argv[2]))) {
            fputs(c->usage, stdout);
            return 0;
        }
        if (argc > 2) {
            fprintf(stderr, "%s: no command \"%s\"\n", g_prog, argv[2]);
            usage_all(stderr);
            return EXIT_USAGE;
        }
        usage_all(stdout);
        return 0;
    }
    c = find_cmd(argv[1]);
    if (!c) {
        fprintf(stderr, "%s: unknown command \"%s\"\n", g_prog, argv[1]);
        usage_all(stderr);
        return EXIT_USAGE;
    }
    remember_cmdline(argc, argv);
    argc--, argv++;
    if (strcmp(c->name, "train") == 0)
        return cmd_train(c, argc, argv);
    if (strcmp(c->name, "predict") == 0)
        return cmd_use(c, argc, argv, 0);
    if (strcmp(c->name, "eval") == 0)
        return cmd_use(c, argc, argv, 1);
    if (strcmp(c->name, "mnist-convert") == 0)
        return trn_mnist_convert_main(argc, argv);
    if (strcmp(c->name, "bench") == 0)
        return cmd_bench(c, argc, argv);
    if (strcmp(c->name, "samples") == 0)
        return cmd_samples(c, argc, argv);
    if (strcmp(c->name, "export") == 0)
        return cmd_export(c, argc, argv);
    if (strcmp(c->name, "merge") == 0)
        return cmd_merge(c, argc, argv);
    if (strcmp(c->name, "ingest") == 0)
        return cmd_ingest(c, argc, argv);
    if (strcmp(c->name, "eval-ingest") == 0)
        return cmd_eval_ingest(c, argc, argv);
    if (strcmp(c->name, "segment") == 0)
        return cmd_segment(c, argc, argv);
    if (strcmp(c->name, "crops") == 0)
        return cmd_crops(c, argc, argv);
    return exit_code(UTIL_EUNSUP);
}
