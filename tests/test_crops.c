/*
 * test_crops.c - `docpipe crops` (train/trn_crops.h): truth texts to
 * digits, aligning a hand-made field with its truth, and whole runs on
 * generated pages: the rows are a concatenation, in truth order, of whole
 * truth fields (checked against an independent reading of truth.csv),
 * the crops are byte for byte the segmenter's, the shipped model reads
 * them as labeled, the same set gives the same file; broken truth files,
 * missing and broken documents, pages a document lacks and sets without a
 * usable field are refused with nothing written; the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <allheaders.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_cpu.h"
#include "recognize/rec_model.h"
#include "samples/smp_gen.h"
#include "segment/seg_form.h"
#include "segment/seg_image.h"
#include "tests/tst.h"
#include "train/trn_crops.h"
#include "train/trn_data.h"
#include "util/util.h"
#include "util/util_csv.h"

/* ------------------------------------------------------- truth digits */

static void test_truth_digits(void)
{
    char d[64];
    int n_int = -7, n;

    n = trn_truth_digits("1234.56", d, sizeof d, &n_int);
    TST_CHECK(n == 6 && strcmp(d, "123456") == 0 && n_int == 4, "amount: %d \"%s\" n_int %d", n,
              d, n_int);
    n = trn_truth_digits("12345-6789", d, sizeof d, &n_int);
    TST_CHECK(n == 9 && strcmp(d, "123456789") == 0 && n_int == 9, "ZIP+4: %d \"%s\" n_int %d",
              n, d, n_int);
    n = trn_truth_digits("07", d, sizeof d, &n_int);
    TST_CHECK(n == 2 && strcmp(d, "07") == 0 && n_int == 2, "no point: n_int = n (%d)", n_int);
    n = trn_truth_digits("", d, sizeof d, &n_int);
    TST_CHECK(n == 0 && d[0] == '\0' && n_int == 0, "empty field: no digits");
    n = trn_truth_digits(".5", d, sizeof d, &n_int);
    TST_CHECK(n == 1 && n_int == 0, "cents alone: n_int 0 (%d)", n_int);
    n = trn_truth_digits("98765", d, 4, &n_int);
    TST_CHECK(n == 3 && strcmp(d, "987") == 0, "cap respected: \"%s\"", d);
}

/* ----------------------------------------------------------- aligning */

static void test_align(void)
{
    seg_glyph g[3], g2[2];
    seg_split sp[2];
    seg_field f;
    const uint8_t *crops[8];
    int labels[8], n;

    memset(&f, 0, sizeof f);
    for (int k = 0; k < 3; k++)
        memset(g[k].crop, 10 + k, SEG_CROP_PIXELS);
    memset(g2, 0, sizeof g2);
    sp[0] = (seg_split){3, g, 1, 0.7f};
    sp[1] = (seg_split){2, g2, 2, 0.3f};
    f.splits = sp;
    f.n_splits = 2;
    f.type = SEG_FT_AMOUNT;

    memset(labels, -1, sizeof labels);
    n = trn_crops_align(&f, "4.07", crops, labels, 8);
    TST_CHECK(n == 3, "three digits, three glyphs: %d pairs", n);
    TST_CHECK(labels[0] == 4 && labels[1] == 0 && labels[2] == 7, "labels 4 0 7 (%d %d %d)",
              labels[0], labels[1], labels[2]);
    TST_CHECK(crops[0] == g[0].crop && crops[1] == g[1].crop && crops[2] == g[2].crop,
              "crops are the first split's glyphs, in order");
    TST_CHECK(trn_crops_align(&f, "12", crops, labels, 8) == 0,
              "two digits against the first split's three: nothing (the second split is not used)");
    TST_CHECK(trn_crops_align(&f, "1234", crops, labels, 8) == 0, "four digits: nothing");
    TST_CHECK(trn_crops_align(&f, "", crops, labels, 8) == 0, "empty truth: nothing");
    TST_CHECK(trn_crops_align(&f, "407", crops, labels, 2) == 0, "more digits than cap: nothing");
    f.n_splits = 0;
    TST_CHECK(trn_crops_align(&f, "407", crops, labels, 8) == 0, "no split: nothing");
}

/* ------------------------------------------------------ the judge's labels */

static seg_glyph box(int x, int w)
{
    seg_glyph g;
    memset(&g, 0, sizeof g);
    g.x = x, g.y = 5, g.w = w, g.h = 40;
    return g;
}

static void test_judge_labels(void)
{
    /* split 0: "12" touching, one glyph 0..40; split 1: cut at 18; split 2:
     * the 1 alone and the 2 cut again at 30 (a piece 30..40). */
    seg_glyph g0[1] = {box(0, 40)}, g1[2] = {box(0, 18), box(18, 22)},
              g2[3] = {box(0, 18), box(18, 12), box(30, 10)};
    seg_split sp[3] = {{1, g0, 1, 0.6f}, {2, g1, 2, 0.3f}, {3, g2, 3, 0.1f}};
    seg_field f;
    int lab[6], n;

    memset(&f, 0, sizeof f);
    f.splits = sp;
    f.n_splits = 3;
    f.type = SEG_FT_NUMBER;
    n = trn_judge_labels(&f, 1, lab);
    TST_CHECK(n == 5 && lab[0] == TRN_JUDGE_MERGED && lab[1] == TRN_JUDGE_WHOLE &&
                  lab[2] == TRN_JUDGE_WHOLE && lab[3] == -1 && lab[4] == TRN_JUDGE_PIECE &&
                  lab[5] == TRN_JUDGE_PIECE,
              "split 1 right: the wide glyph touching, its two whole, the 1 again skipped, the "
              "2's two parts pieces (%d: %d %d %d %d %d %d)", n, lab[0], lab[1], lab[2], lab[3],
              lab[4], lab[5]);
    n = trn_judge_labels(&f, 0, lab);
    TST_CHECK(n == 5 && lab[0] == TRN_JUDGE_WHOLE && lab[1] == TRN_JUDGE_PIECE &&
                  lab[2] == TRN_JUDGE_PIECE && lab[3] == -1 && lab[4] == TRN_JUDGE_PIECE &&
                  lab[5] == TRN_JUDGE_PIECE,
              "split 0 right (one wide digit): its cuts are pieces (%d: %d %d %d %d %d %d)", n,
              lab[0], lab[1], lab[2], lab[3], lab[4], lab[5]);
    n = trn_judge_labels(&f, -1, lab);
    TST_CHECK(n == 0 && lab[0] == -1 && lab[5] == -1, "no right split: no label (%d)", n);
    f.n_splits = 1;
    n = trn_judge_labels(&f, 0, lab);
    TST_CHECK(n == 0 && lab[0] == -1, "one split, no choice: no label (%d)", n);
}

/* ------------------------------------------------------ whole runs */

/* The digit strings of truth.csv's fields, read here without trn_crops. */
typedef struct tfield {
    char file[256], field[64], digits[64];
    int page;
} tfield;

static int read_truth(const char *path, tfield *t, int cap)
{
    util_csv *c = NULL;
    char **f;
    int n, k = 0;

    if (util_csv_open(&c, path, 0) || util_csv_next(c, &f, &n))
        return -1;
    while (util_csv_next(c, &f, &n) == UTIL_OK && n == 5 && k < cap) {
        int j = 0;
        snprintf(t[k].file, sizeof t[k].file, "%s", f[0]);
        t[k].page = atoi(f[1]);
        snprintf(t[k].field, sizeof t[k].field, "%s", f[2]);
        for (const char *s = f[4]; *s; s++)
            if (*s >= '0' && *s <= '9')
                t[k].digits[j++] = *s;
        t[k].digits[j] = '\0';
        k++;
    }
    util_csv_close(&c);
    return k;
}

/* Whether labels[0..n) is the concatenation, in order, of some of the
 * fields' digit strings (each whole or not at all; a greedy walk suffices
 * when the choice is ambiguous only between equal strings, so try both
 * ways with a small search).  *pused gets how many. */
static int concat_of(const int *labels, int n, const tfield *t, int nt, int at, int i, int *pused)
{
    if (at == n)
        return 1;
    if (i == nt)
        return 0;
    {
        int len = (int)strlen(t[i].digits), ok = len > 0 && at + len <= n;
        for (int k = 0; ok && k < len; k++)
            ok = labels[at + k] == t[i].digits[k] - '0';
        if (ok && concat_of(labels, n, t, nt, at + len, i + 1, pused)) {
            (*pused)++;
            return 1;
        }
    }
    return concat_of(labels, n, t, nt, at, i + 1, pused);
}

static int same_file(const char *a, const char *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = util_file_read(a, 0, &x, &nx) == UTIL_OK && util_file_read(b, 0, &y, &ny) == UTIL_OK &&
               nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static void test_run(const char *set)
{
    trn_crops_opts o = {0};
    trn_crops_stats st;
    trn_data *d = NULL;
    tfield *t = calloc(400, sizeof *t);
    int nt, rc, with_digits = 0, used = 0;

    o.dir = set;
    o.out = tst_path("crops.csv");
    o.forms = "forms";
    rc = trn_crops_run(&o, &st);
    TST_CHECK(rc == UTIL_OK, "crops of the set (rc %d: %s)", rc, util_last_error());
    nt = read_truth(tst_path("set/truth.csv"), t, 400);
    for (int i = 0; i < nt; i++)
        with_digits += t[i].digits[0] != '\0';
    TST_CHECK(st.pages == 4, "every page segmented (%ld)", st.pages);
    TST_CHECK(nt > 8 && st.fields == with_digits, "fields with digits: %ld, truth has %d", st.fields,
              with_digits);
    TST_CHECK(st.fields_used >= st.fields * 8 / 10 && st.fields_used <= st.fields,
              "most fields come out with their digit count (%ld of %ld)", st.fields_used,
              st.fields);
    rc = trn_data_load_csv(&d, o.out, TRN_LABELS_REQUIRED);
    TST_CHECK(rc == UTIL_OK && d && d->n == st.crops && st.crops > 20,
              "the CSV reads back as a labeled set of %ld rows (%d)", st.crops, d ? d->n : -1);
    if (!d || !t) {
        trn_data_destroy(&d);
        free(t);
        return;
    }
    TST_CHECK(concat_of(d->labels, d->n, t, nt, 0, 0, &used) && used == st.fields_used,
              "the labels are whole truth fields in truth order (%d fields, %ld counted)", used,
              st.fields_used);

    /* The crops are the segmenter's: the first truth field whose page gives
     * the right count, segmented here, matches the first rows byte for byte. */
    {
        seg_form_set *forms = NULL;
        seg_doc *doc = NULL;
        PIX *pix = NULL;
        seg_page *pg = NULL;
        seg_opts so = {0};
        int dpi, assumed, checked = 0, same = 0;
        if (seg_form_set_load(&forms, "forms") == UTIL_OK &&
            seg_doc_open(&doc, tst_path("set/%s", t[0].file)) == UTIL_OK &&
            seg_doc_read_page(doc, t[0].page - 1, &pix, &dpi, &assumed) == UTIL_OK) {
            so.find = SEG_FIND_ANY;
            so.forms = forms;
            if (seg_page_run(pix, dpi, &so, &pg) == UTIL_OK) {
                for (int i = 0; i < nt && !checked; i++) {
                    const seg_field *f = NULL;
                    int nd = (int)strlen(t[i].digits);
                    if (t[i].page != t[0].page || strcmp(t[i].file, t[0].file) != 0)
                        break;
                    for (int k = 0; k < pg->n_fields; k++)
                        if (strcmp(pg->fields[k].name, t[i].field) == 0)
                            f = &pg->fields[k];
                    if (!f || nd == 0 || f->n_splits < 1 || f->splits[0].n != nd)
                        continue;
                    checked = 1;
                    same = nd <= d->n;
                    for (int k = 0; same && k < nd; k++)
                        same = memcmp(d->pixels + (size_t)k * SEG_CROP_PIXELS,
                                      f->splits[0].glyphs[k].crop, SEG_CROP_PIXELS) == 0 &&
                               d->labels[k] == t[i].digits[k] - '0';
                }
            }
        }
        TST_CHECK(checked && same, "the first rows are the first usable field's crops (%d, %d)",
                  checked, same);
        seg_page_destroy(&pg);
        pixDestroy(&pix);
        seg_doc_destroy(&doc);
        seg_form_set_destroy(&forms);
    }

    /* The shipped model reads the crops as labeled (a shifted pairing
     * would agree one time in ten). */
    {
        rec_model *m = NULL;
        rec_engine *eng = NULL;
        rec_classifier *cls = NULL;
        rec_engine_opts eo = {1, 0};
        float *p = malloc((size_t)d->n * 10 * sizeof *p);
        int agree = 0;
        if (p && rec_model_load(&m, "models/default.model", REC_MODEL_KIND_MODEL) == UTIL_OK &&
            rec_engine_cpu_ops.create(&eng, &eo) == UTIL_OK &&
            rec_classifier_create(&cls, m, &rec_engine_cpu_ops, eng, 256) == UTIL_OK &&
            rec_classifier_run(cls, p, d->pixels, d->n) == UTIL_OK)
            for (int i = 0; i < d->n; i++) {
                int best = 0;
                for (int c = 1; c < 10; c++)
                    if (p[i * 10 + c] > p[i * 10 + best])
                        best = c;
                agree += best == d->labels[i];
            }
        TST_CHECK(agree >= d->n * 95 / 100, "the shipped model reads %d of %d crops as labeled",
                  agree, d->n);
        rec_classifier_destroy(&cls);
        if (eng)
            rec_engine_cpu_ops.destroy(&eng);
        rec_model_destroy(&m);
        free(p);
    }

    /* The truth named explicitly, again: the same bytes. */
    o.truth = tst_path("set/truth.csv");
    o.out = tst_path("crops2.csv");
    TST_CHECK(trn_crops_run(&o, NULL) == UTIL_OK && same_file(tst_path("crops.csv"), o.out),
              "the same set again (truth named): the same file");
    trn_data_destroy(&d);
    free(t);
}

/* A run on the set with the given truth text; returns its code and whether
 * the output (pre-filled with "old") is untouched. */
static int run_truth(const char *set, const char *truth, int *puntouched)
{
    trn_crops_opts o = {0};
    const char *tp = tst_write_file("bad-truth.csv", truth, strlen(truth));
    const char *out = tst_write_file("out.csv", "old", 3);
    char *now;
    int rc;

    o.dir = set;
    o.truth = tp;
    o.out = out;
    o.forms = "forms";
    rc = trn_crops_run(&o, NULL);
    now = tst_read_text(out);
    *puntouched = now && strcmp(now, "old") == 0;
    free(now);
    return rc;
}

/* crops --judge on the set with the shipped model: rows labeled 0..2,
 * every one of them a glyph of a field with a choice. */
static void test_judge_run(const char *set)
{
    trn_crops_opts o = {0};
    trn_crops_stats st;
    trn_data *d = NULL;
    int bad = 0, rc;

    if (!tst_file_exists("models/default.model")) {
        tst_skip("no models/default.model: crops --judge not run");
        return;
    }
    o.dir = set;
    o.out = tst_path("judge.csv");
    o.forms = "forms";
    o.judge = "models/default.model";
    rc = trn_crops_run(&o, &st);
    TST_CHECK(rc == UTIL_OK && st.crops > 0 &&
                  st.crops == st.per_class[0] + st.per_class[1] + st.per_class[2] &&
                  st.per_class[0] > 0 && st.per_class[2] > 0,
              "judge rows of the set: %ld (%ld whole, %ld touching, %ld pieces; rc %d %s)",
              st.crops, st.per_class[0], st.per_class[1], st.per_class[2], rc,
              rc ? util_last_error() : "");
    rc = trn_data_load_csv(&d, o.out, TRN_LABELS_REQUIRED);
    for (int i = 0; d && i < d->n; i++)
        bad += d->labels[i] < 0 || d->labels[i] > 2;
    TST_CHECK(rc == UTIL_OK && d && d->n == st.crops && bad == 0,
              "the rows read back, labels 0..2 (%d rows, %d outside)", d ? d->n : -1, bad);
    TST_CHECK(st.fields_used > 0 && st.fields_used < st.fields,
              "only fields with a choice give rows (%ld of %ld)", st.fields_used, st.fields);
    trn_data_destroy(&d);
}

static void test_refusals(const char *set)
{
    static const char H[] = "file,page,field,type,text\n";
    char buf[1024];
    int rc, untouched;
    trn_crops_opts o = {0};

    util_log_set_level(-1);
    o.dir = set;
    o.truth = tst_path("nope.csv");
    o.out = tst_path("x.csv");
    rc = trn_crops_run(&o, NULL);
    TST_CHECK(rc == UTIL_EIO && strstr(util_last_error(), "nope.csv") && !tst_file_exists(o.out),
              "missing truth refused, nothing written: %s", util_last_error());
    o.truth = NULL;
    o.dir = tst_path("no-such-set");
    rc = trn_crops_run(&o, NULL);
    TST_CHECK(rc == UTIL_EIO && strstr(util_last_error(), "no-such-set/truth.csv"),
              "missing samples folder refused: %s", util_last_error());

    struct {
        const char *text, *what, *msg;
        int rc;
    } bad[] = {
        {"", "an empty file", "", UTIL_EFORMAT},
        {"file,page,field,type\ndoc0001.tif,1,amount,amount\n", "a four-column header",
         "header", UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,1,amount,amount\n", "a short row", ":2:",
         UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,x,amount,amount,1.00\n", "a page not a number",
         ":2:", UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,0,amount,amount,1.00\n", "page 0", ":2:",
         UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,1,amount,money,1.00\n", "an unknown type",
         "money", UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,1,amount,amount,\"1.00\n", "an open quote", "",
         UTIL_EFORMAT},
        {"file,page,field,type,text\nnope.tif,1,amount,amount,1.00\n", "a missing document",
         "nope.tif", UTIL_EIO},
        {"file,page,field,type,text\ndoc0001.tif,9,amount,amount,1.00\n", "a page the document lacks",
         "page 9", UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,1,amount,amount,\n", "only empty fields",
         "no crop", UTIL_EFORMAT},
        {"file,page,field,type,text\ndoc0001.tif,1,nosuchfield,amount,1.00\n",
         "a field the page does not have", "no crop", UTIL_EFORMAT},
        {"file,page,field,type,text\nfake.tif,1,amount,amount,1.00\n", "a text file named .tif",
         "fake.tif", 0},
    };
    (void)H;
    {
        FILE *fp = fopen(tst_path("set/fake.tif"), "w");
        if (fp) {
            fputs("not an image at all\n", fp);
            fclose(fp);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = run_truth(set, bad[i].text, &untouched);
        TST_CHECK((bad[i].rc ? rc == bad[i].rc : rc != UTIL_OK) &&
                      strstr(util_last_error(), bad[i].msg) && untouched,
                  "%s refused (rc %d), the output untouched: %s", bad[i].what, rc,
                  util_last_error());
    }
    o.dir = set;
    o.truth = NULL;
    o.out = tst_path("no-dir/x.csv");
    o.forms = "forms";
    rc = trn_crops_run(&o, NULL);
    TST_CHECK(rc == UTIL_EIO, "an output folder that does not exist: rc %d (%s)", rc,
              util_last_error());
    o.out = tst_path("x.csv");
    o.forms = tst_path("no-forms");
    rc = trn_crops_run(&o, NULL);
    TST_CHECK(rc != UTIL_OK && !tst_file_exists(o.out), "a forms folder that does not exist: %s",
              util_last_error());
    o.dir = NULL;
    TST_CHECK(trn_crops_run(&o, NULL) == UTIL_EINVAL, "no folder: UTIL_EINVAL");
    util_log_set_level(UTIL_LOG_INFO);

    /* The command line. */
    rc = tst_run_bin(buf, sizeof buf, "crops 2>&1");
    TST_CHECK(rc == 2 && strstr(buf, "usage: docpipe crops"), "no arguments: usage, exit 2 (%d)",
              rc);
    rc = tst_run_bin(buf, sizeof buf, "crops %s 2>&1", set);
    TST_CHECK(rc == 2 && strstr(buf, "--out"), "no --out: exit 2 (%d)", rc);
    rc = tst_run_bin(buf, sizeof buf, "crops --out %s --bogus %s 2>&1", tst_path("c.csv"), set);
    TST_CHECK(rc == 2, "unknown option: exit 2 (%d)", rc);
    rc = tst_run_bin(buf, sizeof buf, "crops --out %s --truth %s %s 2>&1", tst_path("c.csv"),
                     tst_path("nope.csv"), set);
    TST_CHECK(rc == 1 && strstr(buf, "nope.csv") && !tst_file_exists(tst_path("c.csv")),
              "missing truth: exit 1, named, nothing written (%d: %s)", rc, buf);
    rc = tst_run_bin(buf, sizeof buf, "crops --out %s %s 2>&1", tst_path("c.csv"), set);
    TST_CHECK(rc == 0 && strstr(buf, " crops from ") && same_file(tst_path("c.csv"),
                                                                  tst_path("crops.csv")),
              "docpipe crops writes what trn_crops_run does (%d: %s)", rc, buf);
    rc = tst_run_bin(buf, sizeof buf, "crops --judge %s --out %s %s 2>&1", tst_path("nope.model"),
                     tst_path("j.csv"), set);
    TST_CHECK(rc == 1 && strstr(buf, "nope.model") && !tst_file_exists(tst_path("j.csv")),
              "--judge with a missing model: exit 1, named, nothing written (%d: %s)", rc, buf);
    rc = tst_run_bin(buf, sizeof buf, "crops --judge %s --out %s %s 2>&1",
                     tst_path("set/truth.csv"), tst_path("j.csv"), set);
    TST_CHECK(rc == 1 && !tst_file_exists(tst_path("j.csv")),
              "--judge with a file that is no model: exit 1, nothing written (%d: %s)", rc, buf);
    rc = tst_run_bin(buf, sizeof buf, "help crops");
    TST_CHECK(rc == 0 && strstr(buf, "label,pixel0"), "help crops (%d)", rc);
}

int main(void)
{
    smp_opts so;
    char set[600];
    int rc;

    test_truth_digits();
    test_align();
    test_judge_labels();

    smp_opts_default(&so);
    snprintf(set, sizeof set, "%s", tst_path("set"));
    so.out = set;
    so.pages = 4;
    so.seed = 23;
    so.forms = "forms";
    util_log_set_level(UTIL_LOG_ERROR);
    rc = smp_run(&so);
    util_log_set_level(UTIL_LOG_INFO);
    TST_CHECK(rc == UTIL_OK, "samples set generated (%s)", util_last_error());
    if (rc == UTIL_OK) {
        test_run(so.out);
        test_judge_run(so.out);
        test_refusals(so.out);
    } else {
        tst_skip("no samples set (data/test_labeled.csv missing?)");
    }
    return tst_done();
}
