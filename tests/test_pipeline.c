/*
 * test_pipeline.c - the ingest pipeline (pipeline/): format sniffing and
 * the folder walk; amount, postcode and date texts; choosing a split and
 * the confidence on hand-made fields with known probabilities; the read
 * rate and edit distance on hand-computed cases; then end to end through
 * the CLI on a few generated pages: ingest, the views against truth.csv,
 * re-ingest skipping by SHA-256, --force replacing, eval-ingest's figures
 * (and a database corrupted on purpose scoring lower), paths matched from
 * another folder, and the command's usage errors.
 *
 * Checks on the database use plain SQL through a connection of the test's
 * own.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pipeline/pipe.h"
#include "pipeline/pipe_int.h"
#include "tests/tst.h"
#include "util/util.h"

#define OUT_CAP (1 << 20)
static char g_out[OUT_CAP];

/* ------------------------------------------------------------ units */

static void test_sniff(void)
{
    static const uint8_t tif1[] = {'I', 'I', 42, 0, 8, 0, 0, 0}, tif2[] = {'M', 'M', 0, 42, 0, 0};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
    static const uint8_t jpg[] = {0xff, 0xd8, 0xff, 0xe0}, pgm[] = "P5\n10 10\n255\n";
    static const uint8_t gif[] = "GIF89a....", txt[] = "file,page,field", bmp[] = "BMxxxx\0\0\0\0";
    static const uint8_t bmtext[] = "BMW cars are fine";

    TST_CHECK(pipe_sniff(tif1, sizeof tif1) == PIPE_FMT_READABLE, "TIFF little-endian");
    TST_CHECK(pipe_sniff(tif2, sizeof tif2) == PIPE_FMT_READABLE, "TIFF big-endian");
    TST_CHECK(pipe_sniff(png, sizeof png) == PIPE_FMT_READABLE, "PNG");
    TST_CHECK(pipe_sniff(jpg, sizeof jpg) == PIPE_FMT_READABLE, "JPEG");
    TST_CHECK(pipe_sniff(pgm, sizeof pgm - 1) == PIPE_FMT_READABLE, "PGM");
    TST_CHECK(pipe_sniff(gif, 10) == PIPE_FMT_OTHER_IMAGE, "GIF is an image docpipe cannot read");
    TST_CHECK(pipe_sniff(bmp, 10) == PIPE_FMT_OTHER_IMAGE, "BMP");
    TST_CHECK(pipe_sniff(bmtext, 17) == PIPE_FMT_NONE, "text starting with BM is not a BMP");
    TST_CHECK(pipe_sniff(txt, sizeof txt - 1) == PIPE_FMT_NONE, "CSV is not an image");
    TST_CHECK(pipe_sniff(png, 3) == PIPE_FMT_NONE, "3 bytes of a PNG signature are not enough");
    TST_CHECK(pipe_sniff(txt, 0) == PIPE_FMT_NONE, "empty");
    TST_CHECK(pipe_name_claims_image("a/b/SCAN.TIF") && pipe_name_claims_image("x.jpeg") &&
                  pipe_name_claims_image("x.pgm") && !pipe_name_claims_image("README") &&
                  !pipe_name_claims_image("truth.csv") && !pipe_name_claims_image(".tif"),
              "names that claim an image");
}

static void test_walk(void)
{
    pipe_walk *w = NULL;
    const char *root = tst_path("walk");
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3};
    char buf[700];
    const char *paths[3];
    int rc;

    mkdir(root, 0777);
    mkdir(tst_path("walk/sub"), 0777);
    mkdir(tst_path("walk/sub/deeper"), 0777);
    mkdir(tst_path("walk/.hidden"), 0777);
    tst_write_file("walk/b.png", png, sizeof png);
    tst_write_file("walk/a-image.dat", png, sizeof png);      /* an image by content */
    tst_write_file("walk/README", "hello\n", 6);              /* left alone */
    tst_write_file("walk/truth.csv", "file,page\n", 10);      /* left alone */
    tst_write_file("walk/fake.tif", "not an image\n", 13);    /* claims to be one */
    tst_write_file("walk/sub/deeper/c.png", png, sizeof png);
    tst_write_file("walk/.hidden/d.png", png, sizeof png);    /* hidden: not walked */
    tst_write_file("walk/.e.png", png, sizeof png);
    snprintf(buf, sizeof buf, "%s/sub/deeper/loop", root);
    TST_CHECK(symlink(root, buf) == 0, "a link back up makes a loop");

    paths[0] = root;
    paths[1] = tst_path("walk/b.png");                  /* given twice: listed twice */
    paths[2] = tst_path("walk/nothing-here");
    rc = pipe_walk_paths(paths, 3, &w);
    TST_CHECK(rc == UTIL_OK && w, "walk");
    if (!w)
        return;
    TST_CHECK(w->n == 6, "6 entries (a-image.dat, b.png, fake.tif, c.png, b.png again, missing): %d",
              w->n);
    if (w->n == 6) {
        TST_CHECK(strstr(w->e[0].path, "walk/a-image.dat") && strstr(w->e[1].path, "walk/b.png") &&
                      strstr(w->e[2].path, "walk/fake.tif") &&
                      strstr(w->e[3].path, "walk/sub/deeper/c.png"),
                  "sorted by name, depth first: %s %s %s %s", w->e[0].path, w->e[1].path,
                  w->e[2].path, w->e[3].path);
        TST_CHECK(!w->e[0].error && !w->e[2].error, "readable files carry no error");
        TST_CHECK(w->e[5].error && strstr(w->e[5].error, "no such file"),
                  "a missing path is an entry with its error: %s",
                  w->e[5].error ? w->e[5].error : "(none)");
        TST_CHECK(w->e[1].bytes == (int64_t)sizeof png && w->e[1].pages == 1, "size and pages");
    }
    TST_CHECK(w->not_images == 2, "README and truth.csv left alone: %ld", w->not_images);
    pipe_walk_destroy(&w);
    TST_CHECK(w == NULL, "destroy NULLs");
    pipe_walk_destroy(&w);
}

static void test_texts(void)
{
    int l[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    char t[64], v[32];
    int64_t c = 0;

    TST_CHECK(pipe_amount_text(l, 5, 3, t, sizeof t, &c) && strcmp(t, "123.45") == 0 && c == 12345,
              "123.45 is 12345 cents: %s %lld", t, (long long)c);
    TST_CHECK(pipe_amount_text(l, 4, 4, t, sizeof t, &c) && strcmp(t, "1234") == 0 && c == 123400,
              "no point: whole units");
    TST_CHECK(pipe_amount_text(l, 5, 4, t, sizeof t, &c) && strcmp(t, "1234.5") == 0 && c == 123450,
              "one cents digit is tens of cents");
    TST_CHECK(!pipe_amount_text(l, 6, 3, t, sizeof t, &c) && strcmp(t, "123.456") == 0,
              "three digits after the point are not an amount");
    TST_CHECK(!pipe_amount_text(l, 0, 0, t, sizeof t, &c) && t[0] == '\0', "empty");
    TST_CHECK(pipe_amount_text(l, 2, 0, t, sizeof t, &c) && strcmp(t, ".12") == 0 && c == 12,
              "cents only");
    TST_CHECK(pipe_postcode_text(l, 5, t, sizeof t) && strcmp(t, "12345") == 0, "ZIP");
    TST_CHECK(pipe_postcode_text(l, 9, t, sizeof t) && strcmp(t, "12345-6789") == 0, "ZIP+4");
    TST_CHECK(!pipe_postcode_text(l, 7, t, sizeof t) && strcmp(t, "1234567") == 0,
              "7 digits are no postcode");
    TST_CHECK(pipe_date_value("06222019", v, sizeof v) && strcmp(v, "2019-06-22") == 0, "date");
    TST_CHECK(pipe_date_value("02292020", v, sizeof v) && strcmp(v, "2020-02-29") == 0, "leap day");
    TST_CHECK(!pipe_date_value("02292019", v, sizeof v), "no leap day in 2019");
    TST_CHECK(!pipe_date_value("13012020", v, sizeof v) && !pipe_date_value("00102020", v, sizeof v) &&
                  !pipe_date_value("04312020", v, sizeof v) && !pipe_date_value("0101202", v, sizeof v) &&
                  !pipe_date_value("01011800", v, sizeof v),
              "bad months, days, lengths, years");
}

/* A field with given splits; probabilities p[j] for glyph j (one-hot-ish). */
typedef struct tfield {
    seg_field f;
    seg_split s[3];
    seg_glyph g[3][10];
    float p[30][10];
    const float *gp[30];
} tfield;

static void set_p(float *p, int label, float top, int second, float p2)
{
    float rest = (1.0f - top - p2) / 8.0f;
    for (int c = 0; c < 10; c++)
        p[c] = rest;
    p[label] = top;
    p[second] = p2;
}

static void tfield_make(tfield *t, int type, int n_splits, const int *ns, const float *priors)
{
    int j = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->f.name, sizeof t->f.name, "f");
    t->f.type = type;
    t->f.n_splits = n_splits;
    t->f.splits = t->s;
    for (int k = 0; k < n_splits; k++) {
        t->s[k].n = ns[k];
        t->s[k].n_int = ns[k];
        t->s[k].prior = priors[k];
        t->s[k].glyphs = t->g[k];
        for (int i = 0; i < ns[k]; i++, j++) {
            t->g[k][i].x = 10 * i + k;
            t->g[k][i].crop[0] = (uint8_t)(j + 1);
            t->gp[j] = t->p[j];
            set_p(t->p[j], (i + k) % 10, 0.99f, 7, 0.005f);
        }
    }
}

/* The field confidence as README "Confidence" documents it, with the
 * constants of pipeline/pipe_assemble.c (refit with bench/conf_fit.py):
 * 1 / (1 + exp(-z)), z = BIAS + TYPE[type] + LP lp + LS ls + MARGIN m + PIECES pieces
 * (+ JUDGE jt with a judge: jt the sum of log(1 - P(touching)) over the
 * glyphs read). */
static const double CONF_TYPE_T[4] = {-0.1702, 0.2996, 0.5008, 0.0};
#define CONF_BIAS_T 0.3445
#define CONF_LP_T 0.5570
#define CONF_LS_T 4.2795
#define CONF_MARGIN_T 0.5825
#define CONF_PIECES_T (-0.9482)
#define CONF_JUDGE_T 0.35
static double want_conf_judged(int type, double lp, double ls, double m, int pieces, double jt)
{
    double z = CONF_BIAS_T + CONF_TYPE_T[type] + CONF_LP_T * lp + CONF_LS_T * ls +
               CONF_MARGIN_T * (m > 15 ? 15 : m) + CONF_PIECES_T * pieces + CONF_JUDGE_T * jt;
    return 1.0 / (1.0 + exp(-z));
}
static double want_conf(int type, double lp, double ls, double m, int pieces)
{
    return want_conf_judged(type, lp, ls, m, pieces, 0.0);
}

/* The judge's term: touching digits read as one glyph (a "12" the model
 * reads as a sure 0) lose against the split that cuts them when the judge
 * says the glyph is two digits, and only then; the share in the confidence
 * counts the judge's term. */
static void test_judge(void)
{
    tfield t;
    pipe_read r;
    db_digit d[10];
    pipe_rules none = {0, 0, 0, 0, ""};
    int ns[2] = {1, 2};
    float pr[2] = {0.77f, 0.23f}, jv[3][10];
    const float *jp[3];
    double s0 = log(0.77) + log(0.99) + log(0.05), s1 = log(0.23) + 2 * log(0.99) + 2 * log(0.98);
    double share1 = 1.0 / (1.0 + exp(s0 - s1));

    tfield_make(&t, SEG_FT_NUMBER, 2, ns, pr); /* split 0 reads "0", split 1 "12" */
    for (int j = 0; j < 3; j++) {
        memset(jv[j], 0, sizeof jv[j]);
        jv[j][0] = 0.97f, jv[j][1] = 0.02f, jv[j][2] = 0.01f; /* whole digits */
        jp[j] = jv[j];
    }
    pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "0") == 0, "no judge: the one glyph (%d %s)",
              r.split, r.text);
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "0") == 0,
              "the judge seeing whole digits: the one glyph (%d %s)", r.split, r.text);
    jv[0][0] = 0.65f, jv[0][1] = 0.30f, jv[0][2] = 0.05f;
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0, "the judge unsure (0.3 touching): the one glyph (%d)", r.split);
    jv[0][0] = 0.04f, jv[0][1] = 0.95f, jv[0][2] = 0.01f;
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && strcmp(r.text, "12") == 0,
              "the judge reading the glyph as touching digits (0.95): the two (%d %s)", r.split,
              r.text);
    TST_CHECK(fabs(r.confidence - want_conf_judged(SEG_FT_NUMBER, 2 * log(0.99), log(share1),
                                                   log(0.99 / 0.005), 0, 2 * log(0.98))) < 1e-4,
              "confidence from the share %.4f with the judge's term, and the judge's word on "
              "the two glyphs read: %.5f", share1, r.confidence);

    /* Pieces: split 0 cuts one digit in two (prior 0.6, both pieces read
     * surely), split 1 keeps it whole.  The judge's 0.9 for "a piece" on
     * both gives the whole glyph the choice; that term stays out of S. */
    {
        int ns2[2] = {2, 1};
        float pr2[2] = {0.6f, 0.4f};
        double p0 = log(0.6) + 2 * log(0.99) + 2 * log(0.98), p1 = log(0.4) + log(0.99) + log(0.98);
        double share = 1.0 / (1.0 + exp(p0 - p1));
        tfield_make(&t, SEG_FT_NUMBER, 2, ns2, pr2); /* split 0 reads "01", split 1 "1" */
        for (int j = 0; j < 3; j++)
            jv[j][0] = 0.97f, jv[j][1] = 0.02f, jv[j][2] = 0.01f;
        pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
        TST_CHECK(r.split == 0 && strcmp(r.text, "01") == 0,
                  "the judge seeing whole digits: the two glyphs (%d %s)", r.split, r.text);
        for (int j = 0; j < 2; j++)
            jv[j][0] = 0.08f, jv[j][1] = 0.02f, jv[j][2] = 0.90f;
        pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
        TST_CHECK(r.split == 1 && strcmp(r.text, "1") == 0,
                  "the judge reading both as pieces (0.9): the whole glyph (%d %s)", r.split,
                  r.text);
        TST_CHECK(fabs(r.confidence - want_conf_judged(SEG_FT_NUMBER, log(0.99), log(share),
                                                       log(0.99 / 0.005), 0, log(0.98))) < 1e-4,
                  "confidence from the share %.4f without the pieces term: %.5f", share,
                  r.confidence);
    }

    /* One split, nothing to choose: the judge's doubt about the glyph read
     * lowers the confidence itself (a "16" read as a sure 6, no cut
     * offered), and its word that the glyph is whole barely moves it. */
    {
        int ns1[1] = {1};
        float pr1[1] = {1.0f};
        double sure;
        tfield_make(&t, SEG_FT_NUMBER, 1, ns1, pr1); /* reads "0" */
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.0, &r, d);
        sure = r.confidence;
        jv[0][0] = 0.97f, jv[0][1] = 0.02f, jv[0][2] = 0.01f;
        pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
        TST_CHECK(r.split == 0 && fabs(r.confidence - want_conf_judged(SEG_FT_NUMBER, log(0.99), 0,
                                                                      log(0.99 / 0.005), 0,
                                                                      log(0.98))) < 1e-4 &&
                      r.confidence < sure && r.confidence > sure - 0.01,
                  "one split judged whole: %.5f (no judge %.5f)", r.confidence, sure);
        jv[0][0] = 0.04f, jv[0][1] = 0.95f, jv[0][2] = 0.01f;
        pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
        TST_CHECK(r.split == 0 && fabs(r.confidence - want_conf_judged(SEG_FT_NUMBER, log(0.99), 0,
                                                                      log(0.99 / 0.005), 0,
                                                                      log(0.05))) < 1e-4 &&
                      r.confidence < sure - 0.05,
                  "one split judged touching (0.95): %.5f (no judge %.5f)", r.confidence, sure);
    }
}

/* The reading with a checker, as pipe_assemble.c makes it: the model's and
 * the checker's probabilities combined, q ∝ p^(1 - w) c^w, w = 0.75. */
#define READ_CHECK_W_T 0.75
static void mixq(const float *p, const float *c, double q[10])
{
    double z = 0;
    for (int k = 0; k < 10; k++)
        z += q[k] = exp((1 - READ_CHECK_W_T) * log(p[k]) + READ_CHECK_W_T * log(c[k]));
    for (int k = 0; k < 10; k++)
        q[k] /= z;
}

/* The confidence of a field of one split (share 1) of n glyphs read with
 * the checker: labels the combined reading's top classes, lp their log
 * probabilities summed, m the smallest log ratio to the runner-up. */
static double want_mixed(int type, float p[][10], float c[][10], int n, char *text)
{
    double lp = 0, m = 15;
    for (int i = 0; i < n; i++) {
        double q[10];
        int a = 0, b = -1;
        mixq(p[i], c[i], q);
        for (int k = 1; k < 10; k++)
            a = q[k] > q[a] ? k : a;
        for (int k = 0; k < 10; k++)
            if (k != a && (b < 0 || q[k] > q[b]))
                b = k;
        lp += log(q[a]);
        m = log(q[a] / q[b]) < m ? log(q[a] / q[b]) : m;
        text[i] = (char)('0' + a);
    }
    text[n] = '\0';
    return want_conf(type, lp, 0.0, m, 0);
}

/* The pair readers (pipe_pair_reread): split 0 one glyph G over columns
 * 0..39, split 1 the two glyphs it was cut into (centres 9 and 29), which
 * the model reads "71"; the readers say G holds "94". */
static void test_pairs(void)
{
    tfield t;
    pipe_read r;
    db_digit d[10];
    pipe_rules none = {0, 0, 0, 0, ""};
    int ns[2] = {1, 2};
    float pr[2] = {0.3f, 0.7f}, lv[3][10], rv[3][10], jv[3][10], q[30], keep[30];
    const float *lp[3], *rp[3], *jp[3];

    tfield_make(&t, SEG_FT_NUMBER, 2, ns, pr);
    t.g[0][0].x = 0, t.g[0][0].w = 40;
    t.g[1][0].x = 0, t.g[1][0].w = 19;
    t.g[1][1].x = 20, t.g[1][1].w = 19;
    set_p(t.p[0], 5, 0.6f, 3, 0.2f);  /* G as one digit */
    set_p(t.p[1], 7, 0.6f, 9, 0.3f);  /* the left cut: 7, else 9 */
    set_p(t.p[2], 1, 0.55f, 4, 0.4f); /* the right cut: 1, else 4 */
    for (int j = 0; j < 3; j++) {
        set_p(lv[j], 9, 0.95f, 7, 0.03f);
        set_p(rv[j], 4, 0.9f, 1, 0.05f);
        lp[j] = lv[j], rp[j] = rv[j];
    }
    for (int j = 0; j < 3; j++)
        memcpy(q + 10 * j, t.p[j], sizeof t.p[j]);
    memcpy(keep, q, sizeof q);
    TST_CHECK(pipe_pair_reread(&t.f, lp, rp, NULL, q) == 2, "two glyphs taken toward the pair");
    TST_CHECK(memcmp(q, keep, 10 * sizeof *q) == 0, "G's own reading left alone");
    {
        double a = sqrt(0.3 * 0.95), b = sqrt(0.6 * 0.03), z = 0;
        for (int c = 0; c < 10; c++)
            z += sqrt((double)t.p[1][c] * lv[0][c]);
        TST_CHECK(fabs(q[10 + 9] - a / z) < 1e-5 && fabs(q[10 + 7] - b / z) < 1e-5,
                  "left: q^0.5 L^0.5 normalized (9: %.5f want %.5f; 7: %.5f want %.5f)",
                  q[10 + 9], a / z, q[10 + 7], b / z);
    }
    TST_CHECK(q[20 + 4] > q[20 + 1], "right: 4 now above 1 (%.3f %.3f)", q[24], q[21]);
    memcpy(q, keep, sizeof q);
    TST_CHECK(pipe_pair_reread(&t.f, NULL, rp, NULL, q) == 0 && memcmp(q, keep, sizeof q) == 0,
              "one reader missing: nothing changes");
    t.g[1][1].x = 40; /* the right glyph's centre outside G: not a pair of G */
    TST_CHECK(pipe_pair_reread(&t.f, lp, rp, NULL, q) == 0 && memcmp(q, keep, sizeof q) == 0,
              "one centre inside G: nothing changes");
    t.g[1][1].x = 20;

    /* With the judge: the weight is 0.5 P(touching) of G. */
    for (int j = 0; j < 3; j++) {
        memset(jv[j], 0, sizeof jv[j]);
        jv[j][0] = 1.0f; /* whole digits */
        jp[j] = jv[j];
    }
    TST_CHECK(pipe_pair_reread(&t.f, lp, rp, jp, q) == 2 && memcmp(q, keep, sizeof q) == 0,
              "G judged one whole digit: its readers weigh nothing");
    jv[0][0] = 0.4f, jv[0][1] = 0.6f; /* G: touching digits, 0.6 */
    TST_CHECK(pipe_pair_reread(&t.f, lp, rp, jp, q) == 2, "judged touching: taken");
    {
        double a = pow(0.3, 0.7) * pow(0.95, 0.3), z = 0;
        for (int c = 0; c < 10; c++)
            z += pow(t.p[1][c], 0.7) * pow(lv[0][c], 0.3);
        TST_CHECK(fabs(q[10 + 9] - a / z) < 1e-5,
                  "P(touching) 0.6: q^0.7 L^0.3 (9: %.5f want %.5f)", q[10 + 9], a / z);
    }
    memcpy(q, keep, sizeof q);

    pipe_assemble_field_judged(&t.f, t.gp, NULL, NULL, NULL, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && strcmp(r.text, "71") == 0, "without the readers: 71 (%d %s)",
              r.split, r.text);
    pipe_assemble_field_judged(&t.f, t.gp, NULL, NULL, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && strcmp(r.text, "94") == 0, "with them: 94 (%d %s)", r.split,
              r.text);
    TST_CHECK(d[0].label == 9 && d[0].prob > 0.5 && d[1].label == 4,
              "the digits stored carry the combined reading (%d %.3f, %d)", d[0].label,
              d[0].prob, d[1].label);
}

/* Pair splits (pipe_assemble.c): a glyph of splits[0] the judge takes for
 * touching digits that no split cuts is also read as two, by the pair
 * readers, in a split of its own. */
static void test_pair_splits(void)
{
    tfield t;
    pipe_read r;
    db_digit d[10];
    pipe_rules none = {0, 0, 0, 0, ""};
    int ns[1] = {3};
    float pr[1] = {1.0f}, lv[3][10], rv[3][10], jv[3][10];
    const float *lp[3], *rp[3], *jp[3];

    tfield_make(&t, SEG_FT_NUMBER, 1, ns, pr);
    t.g[0][1].x = 10, t.g[0][1].w = 21; /* G: "27" written into each other */
    set_p(t.p[0], 1, 0.98f, 7, 0.01f);
    set_p(t.p[1], 0, 0.9f, 8, 0.05f); /* the model reads G as a sure 0 */
    set_p(t.p[2], 3, 0.98f, 5, 0.01f);
    for (int j = 0; j < 3; j++) {
        set_p(lv[j], 2, 0.95f, 1, 0.02f);
        set_p(rv[j], 7, 0.95f, 1, 0.02f);
        memset(jv[j], 0, sizeof jv[j]);
        jv[j][0] = 1.0f; /* whole digits */
        lp[j] = lv[j], rp[j] = rv[j], jp[j] = jv[j];
    }
    TST_CHECK(pipe_field_digits_max(&t.f) == 4, "room for a glyph read as two: %d",
              pipe_field_digits_max(&t.f));
    jv[1][0] = 0.05f, jv[1][1] = 0.95f; /* G: touching digits, 0.95 */
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && r.n == 4 && strcmp(r.text, "1273") == 0,
              "G judged touching (0.95): read as the pair 27 (%d %d %s)", r.split, r.n, r.text);
    TST_CHECK(d[1].label == 2 && fabs(d[1].prob - 0.95) < 1e-6 && d[2].label == 7 &&
                  d[3].label == 3,
              "the pair's digits are the readers' (%d %.3f, %d, %d)", d[1].label, d[1].prob,
              d[2].label, d[3].label);
    TST_CHECK(d[1].x == 10 && d[1].w == 11 && d[2].x == 21 && d[2].w == 10 &&
                  d[1].crop[0] == t.g[0][1].crop[0] && d[2].crop[0] == t.g[0][1].crop[0],
              "G's box halved (%d+%d, %d+%d), its crop in both", d[1].x, d[1].w, d[2].x,
              d[2].w);
    pipe_assemble_field_judged(&t.f, t.gp, NULL, NULL, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "103") == 0, "no judge: no pair split (%d %s)",
              r.split, r.text);
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, NULL, NULL, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "103") == 0, "no readers: no pair split (%d %s)",
              r.split, r.text);
    jv[1][0] = 0.7f, jv[1][1] = 0.3f; /* under the gate */
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "103") == 0, "judged touching at 0.3: 103 (%d %s)",
              r.split, r.text);
    jv[1][0] = 0.4f, jv[1][1] = 0.6f; /* offered, but the prior's split weighs more */
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 0 && strcmp(r.text, "103") == 0, "judged touching at 0.6: 103 (%d %s)",
              r.split, r.text);

    /* The touching glyph in another split than splits[0]. */
    {
        int ns2[2] = {2, 3};
        float pr2[2] = {0.5f, 0.5f};
        tfield_make(&t, SEG_FT_NUMBER, 2, ns2, pr2);
        set_p(t.p[0], 5, 0.2f, 6, 0.19f); /* splits[0]: two unsure glyphs */
        set_p(t.p[1], 8, 0.2f, 6, 0.19f);
        set_p(t.p[2], 1, 0.98f, 7, 0.01f); /* splits[1]: 1, G, 3 */
        set_p(t.p[3], 0, 0.9f, 8, 0.05f);
        set_p(t.p[4], 3, 0.98f, 5, 0.01f);
        t.g[1][1].x = 30, t.g[1][1].w = 8;
        for (int j = 0; j < 3; j++) { /* 5 glyphs: reuse the readers' rows by pointer */
            memset(jv[j], 0, sizeof jv[j]);
            jv[j][0] = 1.0f;
        }
        jv[1][0] = 0.05f, jv[1][1] = 0.95f;
        {
            const float *lp5[5] = {lv[0], lv[0], lv[0], lv[0], lv[0]};
            const float *rp5[5] = {rv[0], rv[0], rv[0], rv[0], rv[0]};
            const float *jp5[5] = {jv[0], jv[0], jv[0], jv[1], jv[2]};
            db_digit d5[8];
            TST_CHECK(pipe_field_digits_max(&t.f) == 4, "room: %d", pipe_field_digits_max(&t.f));
            pipe_assemble_field_judged(&t.f, t.gp, NULL, jp5, lp5, rp5, &none, 0.0, &r, d5);
            TST_CHECK(r.split == 2 && strcmp(r.text, "1273") == 0 && d5[1].x == 30 &&
                          d5[1].w == 4 && d5[2].x == 34 && d5[2].w == 4,
                      "G touching in splits[1]: that split with G as 27 (%d %s; %d+%d %d+%d)",
                      r.split, r.text, d5[1].x, d5[1].w, d5[2].x, d5[2].w);
        }
    }

    /* An amount: the pair in the cents keeps the point, one before it moves it. */
    tfield_make(&t, SEG_FT_AMOUNT, 1, ns, pr);
    t.s[0].n_int = 2;
    set_p(t.p[0], 4, 0.98f, 7, 0.01f);
    set_p(t.p[1], 5, 0.98f, 6, 0.01f);
    set_p(t.p[2], 0, 0.9f, 8, 0.05f); /* raised cents "27" as one glyph */
    for (int j = 0; j < 3; j++) {
        memset(jv[j], 0, sizeof jv[j]);
        jv[j][0] = 1.0f;
    }
    jv[2][0] = 0.05f, jv[2][1] = 0.95f;
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && strcmp(r.text, "45.27") == 0 && r.has_value && r.cents == 4527,
              "touching cents: 45.27 (%d %s %lld)", r.split, r.text, (long long)r.cents);
    jv[2][0] = 1.0f, jv[2][1] = 0;
    jv[0][0] = 0.05f, jv[0][1] = 0.95f;
    set_p(t.p[2], 3, 0.98f, 5, 0.01f);
    pipe_assemble_field_judged(&t.f, t.gp, NULL, jp, lp, rp, &none, 0.0, &r, d);
    TST_CHECK(r.split == 1 && strcmp(r.text, "275.3") == 0,
              "touching digits before the point: 275.3 (%d %s)", r.split, r.text);
}

static void test_assemble(void)
{
    tfield t;
    pipe_read r;
    db_digit d[10];
    pipe_rules none = {0, 0, 0, 0, ""}, five = {1, 5, 5, 0, ""};

    /* One split of 5 sure digits: text, runner-up, confidence from the product. */
    {
        int ns[1] = {5};
        float pr[1] = {1.0f};
        tfield_make(&t, SEG_FT_POSTCODE, 1, ns, pr);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.85, &r, d);
        double m = log(0.99 / 0.005);
        double want = want_conf(SEG_FT_POSTCODE, 5 * log(0.99), 0.0, m, 0);
        TST_CHECK(r.split == 0 && strcmp(r.text, "01234") == 0 && r.has_value_text &&
                      strcmp(r.value_text, "01234") == 0,
                  "postcode read: %s", r.text);
        TST_CHECK(fabs(r.confidence - want) < 1e-4,
                  "confidence %.6f from lp 5 log 0.99, share 1, margin log(0.99/0.005): %.6f",
                  r.confidence, want);
        TST_CHECK(r.status == DB_FIELD_OK, "sure: ok");
        TST_CHECK(d[2].label == 2 && fabs(d[2].prob - 0.99) < 1e-6 && d[2].label2 == 7 &&
                      fabs(d[2].prob2 - 0.005) < 1e-6 && d[2].pos == 2 && d[2].x == 20 &&
                      d[2].has_crop && d[2].crop[0] == 3,
                  "digit 2: label, runner-up, box, crop");
        pipe_assemble_field(&t.f, t.gp, NULL, &five, want + 0.001, &r, d);
        TST_CHECK(r.status == DB_FIELD_REVIEW, "under --review-below %.4f: review (%.4f)",
                  want + 0.001, r.confidence);
        /* Pieces merged into one digit weigh as documented; other doubts
         * do not enter. */
        t.f.doubt = 0.15f;
        t.f.doubt_kind = SEG_DOUBT_PIECES;
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        TST_CHECK(fabs(r.confidence - want_conf(SEG_FT_POSTCODE, 5 * log(0.99), 0.0, m, 1)) < 1e-4 &&
                      r.confidence > 0 && r.confidence < want - 0.01,
                  "pieces merged weigh as documented: %.4f", r.confidence);
        t.f.doubt = 0.6f;
        t.f.doubt_kind = SEG_DOUBT_WIDE;
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        TST_CHECK(fabs(r.confidence - want) < 1e-4, "a wide glyph's doubt: %.4f", r.confidence);
        /* Every digit certain: the margin's cap, the most a postcode gets. */
        t.f.doubt = 0;
        t.f.doubt_kind = SEG_DOUBT_NONE;
        for (int i = 0; i < 5; i++)
            set_p(t.p[i], i, 1.0f, 7, 0.0f);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        TST_CHECK(fabs(r.confidence - want_conf(SEG_FT_POSTCODE, 0, 0, 15, 0)) < 1e-6,
                  "certain digits: the postcode's most %.5f (%.5f)",
                  want_conf(SEG_FT_POSTCODE, 0, 0, 15, 0), r.confidence);
        /* One digit torn between two readings: the same top probability
         * with a close runner-up gives less than with a far one. */
        double c_far, c_close;
        set_p(t.p[3], 3, 0.6f, 8, 0.05f);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        c_far = r.confidence;
        set_p(t.p[3], 3, 0.6f, 8, 0.39f);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        c_close = r.confidence;
        TST_CHECK(fabs(c_close - want_conf(SEG_FT_POSTCODE, log(0.6), 0, log(0.6 / 0.39), 0)) < 1e-4 &&
                      c_close < c_far - 0.05,
                  "a torn digit: %.4f with runner-up 0.39, %.4f with 0.05", c_close, c_far);
    }
    /* Two splits: the classifier's certainty overrules the segmenter's prior. */
    {
        int ns[2] = {4, 5};
        float pr[2] = {0.6f, 0.4f};
        tfield_make(&t, SEG_FT_NUMBER, 2, ns, pr);
        /* split 0 has one glyph the classifier does not know (0.3) */
        set_p(t.p[1], 1, 0.3f, 2, 0.25f);
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.5, &r, d);
        /* scores: log prior + sum log top p (+ 0.5 per glyph to choose; the
         * share S in the confidence is of the scores without it) */
        double s0 = log(0.6) + 3 * log(0.99) + log(0.3), s1 = log(0.4) + 5 * log(0.99);
        double share = 1.0 / (1.0 + exp(s0 - s1));
        TST_CHECK(r.split == 1 && strcmp(r.text, "12345") == 0, "split 1 chosen: %d %s", r.split,
                  r.text);
        TST_CHECK(fabs(r.confidence - want_conf(SEG_FT_NUMBER, 5 * log(0.99), log(share),
                                                log(0.99 / 0.005), 0)) < 1e-4,
                  "confidence from share %.4f: %.5f", share, r.confidence);
        /* with both sure, the prior decides when it is clear enough ... */
        set_p(t.p[1], 1, 0.99f, 7, 0.005f);
        t.s[0].prior = 0.7f, t.s[1].prior = 0.3f;
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.5, &r, d);
        TST_CHECK(r.split == 0, "both sure, prior 0.7: the prior decides (%d)", r.split);
        /* ... and a close prior goes to the split with more glyphs read
         * surely (log 0.6 + 4 x 0.5 < log 0.4 + 5 x 0.5): two touching
         * digits that also read surely as one */
        t.s[0].prior = 0.6f, t.s[1].prior = 0.4f;
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.5, &r, d);
        s0 = log(0.6) + 4 * log(0.99), s1 = log(0.4) + 5 * log(0.99);
        share = 1.0 / (1.0 + exp(s0 - s1)); /* under one half: the bonus turned it */
        TST_CHECK(r.split == 1 && strcmp(r.text, "12345") == 0,
                  "both sure, prior 0.6 for one glyph fewer: the 5 glyphs (%d %s)", r.split,
                  r.text);
        TST_CHECK(share < 0.5 &&
                      fabs(r.confidence - want_conf(SEG_FT_NUMBER, 5 * log(0.99), log(share),
                                                    log(0.99 / 0.005), 0)) < 1e-4,
                  "share %.4f without the glyph bonus: %.5f", share, r.confidence);
        /* The checker has a say in the choice: it reads one glyph of the
         * 5-glyph split as another digit (0.02 for the model's label, 0.97
         * for a 0), so the combined reading of that glyph is a doubtful 0
         * and 0.5 log c tips the choice back to the 4 glyphs; the share in
         * the confidence is of the combined readings' scores without the
         * checker's term. */
        {
            float cpv[9][10];
            const float *cp[9];
            for (int j = 0; j < 9; j++) {
                int k = j < 4 ? 0 : 1, i = j < 4 ? j : j - 4;
                set_p(cpv[j], (i + k) % 10, 0.98f, 7, 0.01f);
                cp[j] = cpv[j];
            }
            pipe_assemble_field(&t.f, t.gp, cp, &none, 0.0, &r, d);
            TST_CHECK(r.split == 1, "the checker agreeing: still the 5 glyphs (%d)", r.split);
            set_p(cpv[6], 0, 0.97f, 3, 0.02f); /* split 1's third glyph, read 3 */
            pipe_assemble_field(&t.f, t.gp, cp, &none, 0.0, &r, d);
            double qs[10], qt[10];
            mixq(t.p[0], cpv[0], qs); /* a glyph both read surely as its label (0) */
            mixq(t.p[6], cpv[6], qt); /* the glyph they read otherwise */
            s0 = log(0.6) + 4 * log(qs[0]), s1 = log(0.4) + 4 * log(qs[0]) + log(qt[0]);
            double share0 = 1.0 / (1.0 + exp(s1 - s0));
            TST_CHECK(qt[0] > qt[3] && qt[0] < 0.8, "that glyph read as a doubtful 0 (%.3f)",
                      qt[0]);
            TST_CHECK(r.split == 0 && strcmp(r.text, "0123") == 0 &&
                          fabs(r.confidence - want_conf(SEG_FT_NUMBER, 4 * log(qs[0]),
                                                        log(share0), log(qs[0] / qs[7]), 0)) <
                              1e-4,
                      "the checker reading a glyph of the 5 otherwise: the 4 glyphs (%d %s), "
                      "confidence from the share %.4f: %.5f", r.split, r.text, share0,
                      r.confidence);
        }
    }
    /* The template's count range: a 4-digit split loses to a 5-digit one. */
    {
        int ns[2] = {4, 5};
        float pr[2] = {0.7f, 0.3f};
        tfield_make(&t, SEG_FT_POSTCODE, 2, ns, pr);
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.5, &r, d);
        TST_CHECK(r.split == 0, "no rules: the prior's split (%d)", r.split);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.5, &r, d);
        TST_CHECK(r.split == 1 && strcmp(r.text, "12345") == 0, "rules: the 5-digit split (%s)",
                  r.text);
    }
    /* Out of range only: review with the reason. */
    {
        int ns[1] = {4};
        float pr[1] = {1.0f};
        tfield_make(&t, SEG_FT_POSTCODE, 1, ns, pr);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        TST_CHECK(r.status == DB_FIELD_REVIEW && strstr(r.why, "4 digits") && !r.has_value_text,
                  "4-digit postcode: review (%s)", r.why);
    }
    /* Amount with the point at n_int; the grammar: a whole part of two or
     * more digits does not start with 0. */
    {
        int ns[1] = {5};
        float pr[1] = {1.0f};
        pipe_rules amt = {1, 1, 7, 2, ""};
        tfield_make(&t, SEG_FT_AMOUNT, 1, ns, pr);
        t.s[0].n_int = 3;
        pipe_assemble_field(&t.f, t.gp, NULL, &amt, 0.5, &r, d);
        TST_CHECK(strcmp(r.text, "712.34") == 0 && r.has_value && r.cents == 71234 &&
                      d[0].label == 7 && d[0].label2 == 0 && d[0].prob2 > d[0].prob &&
                      r.status == DB_FIELD_REVIEW,
                  "amount read 012.34: the runner-up 7 leads, to review: %s %lld %.4f", r.text,
                  (long long)r.cents, r.confidence);
        t.s[0].n_int = 5;
        pipe_assemble_field(&t.f, t.gp, NULL, &amt, 0.5, &r, d);
        TST_CHECK(r.status == DB_FIELD_REVIEW && strstr(r.why, "decimal point assumed") && strcmp(r.text, "712.34") == 0,
                  "no point where cents are expected: review (%s)", r.why);
        ns[0] = 3;
        tfield_make(&t, SEG_FT_AMOUNT, 1, ns, pr);
        t.s[0].n_int = 1;
        pipe_assemble_field(&t.f, t.gp, NULL, &amt, 0.5, &r, d);
        TST_CHECK(strcmp(r.text, "0.12") == 0 && r.cents == 12 && d[0].label == 0 && r.status == DB_FIELD_OK,
                  "a whole part of one digit may be 0: %s", r.text);
    }
    /* A template's pattern: each position takes the likeliest digit of its class. */
    {
        int ns[1] = {10};
        float pr[1] = {1.0f};
        pipe_rules phone = {1, 10, 10, 0, "NXXNXXXXZ9"};
        tfield_make(&t, SEG_FT_NUMBER, 1, ns, pr); /* reads 0123456789, runner-up 7 */
        pipe_assemble_field(&t.f, t.gp, NULL, &phone, 0.0, &r, d);
        TST_CHECK(strcmp(r.text, "7123456789") == 0 && d[0].label == 7 && d[0].label2 == 0,
                  "pattern N: a 0 read as the likeliest of 2-9: %s", r.text);
        snprintf(phone.pattern, sizeof phone.pattern, "XXXXXXXXX5");
        pipe_assemble_field(&t.f, t.gp, NULL, &phone, 0.0, &r, d);
        TST_CHECK(strcmp(r.text, "0123456785") == 0, "pattern digit: the 9 read as 5: %s", r.text);
        snprintf(phone.pattern, sizeof phone.pattern, "NXXNXXXXX");
        pipe_assemble_field(&t.f, t.gp, NULL, &phone, 0.0, &r, d);
        TST_CHECK(strcmp(r.text, "0123456789") == 0,
                  "a pattern of another length than the reading applies nowhere: %s", r.text);
    }
    /* Dates: the calendar date MMDDYYYY the probabilities make likeliest. */
    {
        int ns[1] = {8};
        float pr[1] = {1.0f};
        const char *seen = "13052019";
        tfield_make(&t, SEG_FT_DATE, 1, ns, pr);
        for (int i = 0; i < 8; i++)
            set_p(t.p[i], seen[i] - '0', 0.99f, (seen[i] - '0' + 1) % 10, 0.005f);
        set_p(t.p[0], 1, 0.6f, 0, 0.3f); /* month 13: the 1 may be a 0 */
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.0, &r, d);
        TST_CHECK(strcmp(r.text, "03052019") == 0 && r.has_value_text &&
                      strcmp(r.value_text, "2019-03-05") == 0 && d[0].label == 0 && d[0].label2 == 1,
                  "month 13 read as 03: %s", r.text);
        set_p(t.p[2], 2, 0.99f, 3, 0.005f); /* day 25 */
        set_p(t.p[6], 2, 0.99f, 3, 0.005f); /* year 2029 */
        set_p(t.p[0], 0, 0.99f, 1, 0.005f);
        set_p(t.p[1], 2, 0.99f, 3, 0.005f); /* February */
        set_p(t.p[3], 9, 0.99f, 8, 0.005f); /* the 29th, in no leap year near 2029 */
        set_p(t.p[7], 9, 0.99f, 8, 0.005f);
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.0, &r, d);
        TST_CHECK(r.has_value_text && strcmp(r.text, "02292029") != 0 &&
                      (strcmp(r.text, "02282029") == 0 || strcmp(r.text, "02292028") == 0),
                  "February 29 2029 read as the likeliest real date: %s", r.text);
        tfield_make(&t, SEG_FT_DATE, 1, ns, pr);
        set_p(t.p[4], 4, 0.99f, 1, 0.005f); /* the year's 4 may be a 1 */
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.9, &r, d);
        TST_CHECK(strcmp(r.text, "01231967") == 0 && r.has_value_text &&
                      r.status == DB_FIELD_REVIEW && r.confidence < 0.5,
                  "month 01 day 23 year 4567: 1967 the likeliest year, unsure (%s %.4f)", r.text,
                  r.confidence);
        ns[0] = 6;
        tfield_make(&t, SEG_FT_DATE, 1, ns, pr);
        pipe_assemble_field(&t.f, t.gp, NULL, &none, 0.0, &r, d);
        TST_CHECK(strcmp(r.text, "012345") == 0 && !r.has_value_text && r.status == DB_FIELD_REVIEW,
                  "a date of 6 digits: read as seen, no value, review (%s)", r.text);
        ns[0] = 0;
        tfield_make(&t, SEG_FT_POSTCODE, 1, ns, pr);
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.9, &r, d);
        TST_CHECK(r.n == 0 && r.text[0] == '\0' && !r.has_value_text && r.confidence > 0.9 &&
                      r.status == DB_FIELD_OK,
                  "a blank field reads as empty, confidently (%.3f)", r.confidence);
    }
    /* The checker: the digits are read from the model's and the checker's
     * probabilities combined; the checker's probability of each label read
     * is stored; where it gives a label read under 0.5 the confidence is
     * halved and the field goes to review with the reason. */
    {
        int ns[1] = {5};
        float pr[1] = {1.0f}, cpv[5][10];
        const float *cp[5];
        char want_text[8];
        double want;
        tfield_make(&t, SEG_FT_POSTCODE, 1, ns, pr);
        for (int i = 0; i < 5; i++) {
            set_p(cpv[i], i, 0.98f, 7, 0.01f);
            cp[i] = cpv[i];
        }
        pipe_assemble_field(&t.f, t.gp, NULL, &five, 0.0, &r, d);
        TST_CHECK(!d[0].has_check && !d[4].has_check &&
                      fabs(r.confidence - want_conf(SEG_FT_POSTCODE, 5 * log(0.99), 0.0,
                                                    log(0.99 / 0.005), 0)) < 1e-4,
                  "no checker: no check_prob, the model's probabilities (%.4f)", r.confidence);
        pipe_assemble_field(&t.f, t.gp, cp, &five, 0.9, &r, d);
        want = want_mixed(SEG_FT_POSTCODE, t.p, cpv, 5, want_text);
        TST_CHECK(strcmp(r.text, "01234") == 0 && strcmp(want_text, "01234") == 0 &&
                      d[3].has_check && fabs(d[3].check_prob - 0.98) < 1e-6 &&
                      fabs(r.confidence - want) < 1e-4 && r.status == DB_FIELD_OK && !r.why[0],
                  "the checker agrees: check_prob %.3f stored, confidence from the combined "
                  "reading (%.4f, want %.4f)", d[3].check_prob, r.confidence, want);
        set_p(cpv[2], 2, 0.51f, 5, 0.45f); /* torn, but still the same digit */
        pipe_assemble_field(&t.f, t.gp, cp, &five, 0.0, &r, d);
        want = want_mixed(SEG_FT_POSTCODE, t.p, cpv, 5, want_text);
        TST_CHECK(strcmp(r.text, "01234") == 0 && fabs(r.confidence - want) < 1e-4 &&
                      !r.why[0],
                  "the checker unsure but agreeing (0.51): the same text, the margin "
                  "smaller (%.4f, want %.4f)", r.confidence, want);
        set_p(cpv[2], 2, 0.35f, 5, 0.60f); /* it leans to a 5; the model is sure of the 2 */
        pipe_assemble_field(&t.f, t.gp, cp, &five, 0.0, &r, d);
        want = want_mixed(SEG_FT_POSTCODE, t.p, cpv, 5, want_text);
        TST_CHECK(strcmp(r.text, "01234") == 0 && fabs(d[2].check_prob - 0.35) < 1e-6 &&
                      fabs(r.confidence - 0.5 * want) < 1e-4 && r.status == DB_FIELD_REVIEW &&
                      strstr(r.why, "checker reads digit 3"),
                  "the checker reads a digit otherwise (0.35 for the label): the combined "
                  "reading keeps the 2, confidence halved (%.4f), review (%s)",
                  r.confidence, r.why);
        set_p(cpv[2], 5, 0.97f, 2, 0.02f); /* sure of a 5 where the model is sure of a 2 */
        pipe_assemble_field(&t.f, t.gp, cp, &five, 0.0, &r, d);
        want = want_mixed(SEG_FT_POSTCODE, t.p, cpv, 5, want_text);
        TST_CHECK(strcmp(r.text, "01534") == 0 && strcmp(want_text, "01534") == 0 &&
                      fabs(d[2].check_prob - 0.97) < 1e-6 && d[2].label2 == 2 &&
                      fabs(r.confidence - want) < 1e-4,
                  "both sure of different digits: the combined reading takes the checker's 5 "
                  "(%s, runner-up %d), its small margin in the confidence (%.4f)", r.text,
                  d[2].label2, r.confidence);
    }
}

static void test_measures(void)
{
    pipe_scored v[10];
    double th = 0;

    /* 10 fields; the 7th most confident is wrong. */
    for (int i = 0; i < 10; i++) {
        v[i].confidence = 1.0 - 0.05 * i;
        v[i].correct = i != 6;
    }
    TST_CHECK(fabs(pipe_read_rate(v, 10, 0.01, &th) - 0.6) < 1e-9 && fabs(th - 0.75) < 1e-9,
              "read rate 6/10 at 1 %% (threshold %.2f)", th);
    for (int i = 0; i < 10; i++) {
        v[i].confidence = 1.0 - 0.05 * i;
        v[i].correct = i != 6;
    }
    TST_CHECK(fabs(pipe_read_rate(v, 10, 0.1, &th) - 1.0) < 1e-9, "at 10 %%: all (1 of 10 wrong)");
    /* ties are taken together */
    for (int i = 0; i < 4; i++) {
        v[i].confidence = 0.9;
        v[i].correct = i != 3;
    }
    TST_CHECK(pipe_read_rate(v, 4, 0.01, &th) == 0.0 && th == 1.0, "a wrong field in a tie: none");
    TST_CHECK(pipe_read_rate(v, 0, 0.01, &th) == 0.0, "no fields");
    TST_CHECK(pipe_digit_errors("12345", "12354") == 2, "swap: 2 edits");
    TST_CHECK(pipe_digit_errors("123.45", "12345") == 0, "the point does not count");
    TST_CHECK(pipe_digit_errors("12345-6789", "123456789") == 0, "the dash does not count");
    TST_CHECK(pipe_digit_errors("", "1234") == 4 && pipe_digit_errors("1234", "") == 4, "empty");
    TST_CHECK(pipe_digit_errors("1234", "12034") == 1, "one inserted");
    {
        char real[4096];
        char *r;
        TST_CHECK(realpath(tst_tmpdir(), real) != NULL, "realpath of the temp dir");
        mkdir(tst_path("rel"), 0777);
        tst_write_file("rel/x.png", "x", 1);
        r = pipe_rel_path(real, tst_path("rel/../rel/x.png"));
        TST_CHECK(r && strcmp(r, "rel/x.png") == 0, "relative path through ..: %s", r ? r : "NULL");
        free(r);
        r = pipe_rel_path(tst_path("rel"), "/etc/hostname");
        TST_CHECK(r == NULL, "outside the folder: NULL");
        free(r);
    }
}

/* ------------------------------------------------------- end to end */

static char g_set[600];   /* the generated sample folder */

static int make_set(void)
{
    const char *dir = tst_path("set");
    int rc = tst_runf(g_out, sizeof g_out, "%s samples --out %s --pages 5 --seed 5 --dpi 200 2>&1", tst_bin(), dir);
    TST_CHECK(rc == 0, "docpipe samples: %s", g_out);
    snprintf(g_set, sizeof g_set, "%s", dir);
    return rc == 0;
}

/* Truth rows of a type (from truth.csv, counted with plain C). */
static int truth_count(const char *type)
{
    char path[700], *text, *s;
    int n = 0;

    snprintf(path, sizeof path, "%s/truth.csv", g_set);
    if (!(text = tst_read_text(path)))
        return -1;
    for (s = text; (s = strchr(s, '\n')); s++) {
        char pat[64];
        snprintf(pat, sizeof pat, ",%s,", type);
        char *eol = strchr(s + 1, '\n');
        if (!eol)
            break;
        *eol = '\0';
        if (strstr(s + 1, pat))
            n++;
        *eol = '\n';
    }
    free(text);
    return n;
}

static double json_num(const char *text, const char *key)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(text, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

static void test_end_to_end(void)
{
    const char *db = tst_path("e2e.db");
    sqlite3 *h;
    int rc, n_docs, n_amounts = truth_count("amount"), n_zips = truth_count("postcode");
    double exact, digits, rr;
    long long ids_before;

    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --threads 2 --batch 64 %s 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0, "ingest exits 0: %s", g_out);
    TST_CHECK(strstr(g_out, "stored") && strstr(g_out, "pages/s") && strstr(g_out, "3 other files"),
              "summary (truth.csv, pages.csv and sources.csv left alone): %s", g_out);
    h = tst_sql_open(db);
    n_docs = (int)tst_sql_int(h, "SELECT count(*) FROM documents");
    TST_CHECK(n_docs >= 3 && tst_sql_int(h, "SELECT count(*) FROM documents WHERE status='failed'") == 0,
              "documents stored, none failed: %d", n_docs);
    TST_CHECK(tst_sql_int(h, "SELECT sum(page_count) FROM documents") == 5 &&
                  tst_sql_int(h, "SELECT count(*) FROM pages") == 5,
              "5 pages");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM amounts") == n_amounts && n_amounts > 0,
              "one amounts row per amount in the truth (%d)", n_amounts);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM postcodes") == n_zips, "postcodes rows (%d)", n_zips);
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM amounts WHERE cents IS NOT NULL AND "
                       "abs(amount * 100 - cents) > 0.001") == 0,
              "amount = cents / 100");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM fields WHERE confidence < 0 OR confidence > 1") == 0 &&
                  tst_sql_int(h, "SELECT count(*) FROM fields WHERE status = 'review' AND confidence >= 0.95 "
                           "AND note IS NULL") == 0,
              "confidences in 0..1; review below 0.95 or with a reason");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM fields f WHERE length(replace(replace(f.text,'.',''),"
                       "'-','')) <> (SELECT count(*) FROM digits d WHERE d.field_id = f.id)") == 0,
              "one digits row per digit of every text");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM digits WHERE length(crop) = 784 AND label2 IS NOT NULL "
                       "AND prob2 <= prob") == tst_sql_int(h, "SELECT count(*) FROM digits"),
              "every digit with its crop and runner-up");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs WHERE status='done' AND documents = %d AND "
                       "pages = 5 AND model_id IS NOT NULL", n_docs) == 1,
              "the run recorded with its counts and model");
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM models m JOIN runs r ON r.model_id = m.id "
                             "WHERE m.test_accuracy > 0.99 AND m.temperature > 1") == 1,
              "the model's accuracy and temperature recorded");
    /* The shipped checker is found beside the binary and used. */
    TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM models m JOIN runs r ON r.checker_id = m.id "
                             "WHERE m.id <> r.model_id AND m.test_accuracy > 0.98 AND "
                             "m.temperature > 0 AND m.path LIKE '%%checker.model'") == 1 &&
                  tst_sql_int(h, "SELECT count(*) FROM digits WHERE check_prob BETWEEN 0 AND 1") ==
                      tst_sql_int(h, "SELECT count(*) FROM digits"),
              "the checker recorded with the run, its probability with every digit");
    ids_before = tst_sql_int(h, "SELECT max(id) FROM documents");

    /* eval-ingest: figures in range, consistent with the text and json forms */
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s/truth.csv --json 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && tst_json_valid(g_out), "eval-ingest --json: valid JSON: %s", g_out);
    exact = json_num(g_out, "exact");
    digits = json_num(g_out, "digit_accuracy");
    rr = json_num(g_out, "read_rate");
    TST_CHECK(exact > 0.3 && exact <= 1 && digits >= exact - 1e-9 && digits <= 1 && rr >= 0 &&
                  rr <= exact + 1e-9,
              "exact %.3f, digits %.3f, read rate %.3f (read rate <= exact <= digit accuracy)",
              exact, digits, rr);
    {
        /* the exact rate recomputed with SQL over the truth, loaded into the database */
        char sql[1500];
        long long n_truth, n_ok;
        snprintf(sql, sizeof sql,
                 "CREATE TEMP TABLE truth(file, page, field, type, text);");
        sqlite3_exec(h, sql, NULL, NULL, NULL);
        char path[700], *text, *line, *save = NULL;
        snprintf(path, sizeof path, "%s/truth.csv", g_set);
        text = tst_read_text(path);
        sqlite3_stmt *ins = NULL;
        sqlite3_prepare_v2(h, "INSERT INTO truth VALUES (?,?,?,?,?)", -1, &ins, NULL);
        for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
            char *f[5] = {0}, *p = line;
            for (int i = 0; i < 5; i++) {
                f[i] = p;
                p = p ? strchr(p, ',') : NULL;
                if (p)
                    *p++ = '\0';
            }
            if (!f[4] || strcmp(f[0], "file") == 0)
                continue;
            for (int i = 0; i < 5; i++)
                sqlite3_bind_text(ins, i + 1, f[i], -1, SQLITE_TRANSIENT);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
        free(text);
        n_truth = tst_sql_int(h, "SELECT count(*) FROM truth");
        n_ok = tst_sql_int(h, "SELECT count(*) FROM truth t JOIN documents d ON d.path LIKE '%%/' || t.file "
                        "JOIN pages p ON p.document_id = d.id AND p.page_no = t.page "
                        "JOIN fields f ON f.page_id = p.id AND f.name = t.field AND f.text = t.text");
        TST_CHECK(n_truth > 0 && fabs((double)n_ok / (double)n_truth - exact) < 1e-6,
                  "eval-ingest's exact rate %.4f = SQL's %lld/%lld", exact, n_ok, n_truth);
    }
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s/truth.csv 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && strstr(g_out, "field exact match") && strstr(g_out, "reliability") &&
                  strstr(g_out, "read rate at <= 1 % field error"),
              "the text report: %s", g_out);

    /* the same ingest again: everything skipped by SHA-256 */
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s %s 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM documents") == n_docs &&
                  tst_sql_int(h, "SELECT max(id) FROM documents") == ids_before,
              "re-ingest stores nothing new: %s", g_out);
    TST_CHECK(tst_sql_int(h, "SELECT skipped FROM runs ORDER BY id DESC LIMIT 1") == n_docs,
              "the second run skipped them all");
    /* --force: replaced, new ids, same counts */
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --force --threads 1 %s 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM documents") == n_docs &&
                  tst_sql_int(h, "SELECT min(id) FROM documents") > ids_before &&
                  tst_sql_int(h, "SELECT count(*) FROM pages") == 5,
              "--force replaces every document under new ids: %s", g_out);
    TST_CHECK(tst_sql_int(h, "SELECT replaced FROM runs ORDER BY id DESC LIMIT 1") == n_docs,
              "the run counts the replacements");
    {
        /* one thread and batch 64 read the same as two threads and batch 1 */
        const char *db2 = tst_path("e2e-b1.db");
        tst_runf(g_out, sizeof g_out, "%s ingest --db %s --threads 2 --batch 1 --quiet %s 2>&1", tst_bin(), db2, g_set);
        char q[1500];
        snprintf(q, sizeof q, "ATTACH '%s' AS o", db2);
        sqlite3_exec(h, q, NULL, NULL, NULL);
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM o.fields") == tst_sql_int(h, "SELECT count(*) FROM fields") &&
                      tst_sql_int(h, "SELECT count(*) FROM (SELECT d.path, p.page_no, f.name, f.text "
                               "FROM fields f JOIN pages p ON p.id = f.page_id "
                               "JOIN documents d ON d.id = p.document_id EXCEPT SELECT d.path, "
                               "p.page_no, f.name, f.text FROM o.fields f "
                               "JOIN o.pages p ON p.id = f.page_id JOIN o.documents d ON "
                               "d.id = p.document_id)") == 0,
                  "batch size and thread count do not change what is read");
        /* Confidences agree to float rounding: the classifier's sums are
         * ordered by batch, so a batch of 1 and one of 64 may differ in the
         * last bits (a rounding to 5 places can then fall either way). */
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM fields f JOIN pages p ON p.id = f.page_id "
                              "JOIN documents d ON d.id = p.document_id WHERE NOT EXISTS "
                              "(SELECT 1 FROM o.fields f2 JOIN o.pages p2 ON p2.id = f2.page_id "
                              "JOIN o.documents d2 ON d2.id = p2.document_id "
                              "WHERE d2.path = d.path AND p2.page_no = p.page_no "
                              "AND f2.name = f.name AND abs(f2.confidence - f.confidence) <= 1e-5)") == 0,
                  "batch size and thread count change no confidence by more than 1e-5");
        sqlite3_exec(h, "DETACH o", NULL, NULL, NULL);
    }

    /* eval-ingest from another folder, on a database corrupted on purpose */
    {
        char bin[4096];
        TST_CHECK(realpath(tst_bin(), bin) != NULL, "binary path");
        rc = tst_runf(g_out, sizeof g_out, "cd / && %s eval-ingest --db %s --truth %s/truth.csv --json 2>&1", bin, db, g_set);
    }
    TST_CHECK(rc == 0 && fabs(json_num(g_out, "exact") - exact) < 1e-9,
              "the same figures from another folder (%.4f)", json_num(g_out, "exact"));
    sqlite3_exec(h, "UPDATE fields SET text = '0' || text WHERE id IN "
                    "(SELECT id FROM fields WHERE type = 'postcode' AND text <> '' LIMIT 3)",
                 NULL, NULL, NULL);
    sqlite3_exec(h, "DELETE FROM fields WHERE id = (SELECT max(id) FROM fields WHERE type = 'amount')",
                 NULL, NULL, NULL);
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s/truth.csv --json 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 0 && json_num(g_out, "exact") < exact - 0.02 &&
                  json_num(g_out, "found") < json_num(g_out, "fields"),
              "a corrupted database scores lower: %.4f < %.4f", json_num(g_out, "exact"), exact);
    sqlite3_close(h);

    /* errors */
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s/nothing.csv 2>&1", tst_bin(), db, g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "nothing.csv"), "a missing truth file: exit 1 naming it");
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s/truth.csv 2>&1", tst_bin(), tst_path("none.db"), g_set);
    TST_CHECK(rc == 1 && !tst_file_exists(tst_path("none.db")), "a missing database: exit 1, not created");
    tst_write_file("other-truth.csv", "file,page,field,type,text\nzzz.tif,1,amount,amount,1.00\n", 55);
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db %s --truth %s 2>&1", tst_bin(), db, tst_path("other-truth.csv"));
    TST_CHECK(rc == 1 && strstr(g_out, "none of its"), "a truth matching nothing: %s", g_out);
}

static void test_cli(void)
{
    int rc;

    rc = tst_runf(g_out, sizeof g_out, "%s ingest 2>&1", tst_bin());
    TST_CHECK(rc == 2 && strstr(g_out, "usage: docpipe ingest"), "no paths: usage, exit 2");
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --threads x %s 2>&1", tst_bin(), tst_tmpdir());
    TST_CHECK(rc == 2, "bad --threads: exit 2");
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --review-below 1.5 %s 2>&1", tst_bin(), tst_tmpdir());
    TST_CHECK(rc == 2, "--review-below outside 0..1: exit 2");
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --help", tst_bin());
    TST_CHECK(rc == 0 && strstr(g_out, "Exit: 0") && strstr(g_out, "3 some failed"),
              "help documents the exit codes");
    rc = tst_runf(g_out, sizeof g_out, "%s eval-ingest --db x.db 2>&1", tst_bin());
    TST_CHECK(rc == 2 && strstr(g_out, "--truth"), "eval-ingest without --truth: exit 2");
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --model %s %s 2>&1", tst_bin(), tst_path("m.db"), tst_path("no.model"), g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "no.model") && !tst_file_exists(tst_path("m.db")),
              "a missing model: exit 1 naming it, no database made: %s", g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --checker %s %s 2>&1", tst_bin(), tst_path("c.db"), tst_path("no-checker.model"), g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "no-checker.model") && !tst_file_exists(tst_path("c.db")),
              "a missing checker named: exit 1 naming it, no database made: %s", g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --db %s --checker none %s 2>&1", tst_bin(), tst_path("nc.db"), g_set);
    {
        sqlite3 *h = tst_sql_open(tst_path("nc.db"));
        TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM digits") > 0 &&
                      tst_sql_int(h, "SELECT count(*) FROM digits WHERE check_prob IS NOT NULL") == 0 &&
                      tst_sql_int(h, "SELECT count(*) FROM runs WHERE checker_id IS NULL") == 1 &&
                      tst_sql_int(h, "SELECT count(*) FROM models") == 4,
                  "--checker none: no checker recorded, no check_prob (exit %d): %s", rc, g_out);
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs r JOIN models m ON m.id = r.judge_id WHERE "
                                 "m.path GLOB '*judge.model' AND m.id <> r.model_id") == 1,
                  "the judge, found by default, recorded in runs.judge_id");
        TST_CHECK(tst_sql_int(h, "SELECT count(*) FROM runs r JOIN models l ON l.id = r.pair_left_id "
                                 "JOIN models g ON g.id = r.pair_right_id WHERE l.path GLOB "
                                 "'*pair-left.model' AND g.path GLOB '*pair-right.model'") == 1,
                  "the pair readers, found by default, recorded in runs.pair_left_id and "
                  "pair_right_id");
        sqlite3_close(h);
    }
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --db %s --judge none %s 2>&1", tst_bin(), tst_path("nj.db"), g_set);
    {
        sqlite3 *h = tst_sql_open(tst_path("nj.db"));
        TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM runs WHERE judge_id IS NULL AND "
                                            "checker_id IS NOT NULL") == 1 &&
                      tst_sql_int(h, "SELECT count(*) FROM models") == 4,
                  "--judge none: no judge recorded, the checker is (exit %d): %s", rc, g_out);
        sqlite3_close(h);
    }
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --db %s --pairs none %s 2>&1", tst_bin(), tst_path("np.db"), g_set);
    {
        sqlite3 *h = tst_sql_open(tst_path("np.db"));
        TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM runs WHERE pair_left_id IS NULL AND "
                                            "pair_right_id IS NULL AND judge_id IS NOT NULL") == 1 &&
                      tst_sql_int(h, "SELECT count(*) FROM models") == 3,
                  "--pairs none: no pair readers recorded, the judge is (exit %d): %s", rc, g_out);
        sqlite3_close(h);
    }
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --pairs %s %s 2>&1", tst_bin(), tst_path("p1.db"), "models/pair-left.model", g_set);
    TST_CHECK(rc != 0 && strstr(g_out, "LEFT,RIGHT") && !tst_file_exists(tst_path("p1.db")),
              "--pairs with one file: refused, no database made (exit %d): %s", rc, g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --pairs %s,%s %s 2>&1", tst_bin(), tst_path("p2.db"), tst_path("no-left.model"), tst_path("no-right.model"), g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "no-left.model") && !tst_file_exists(tst_path("p2.db")),
              "a missing pair reader named: exit 1 naming it, no database made: %s", g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --judge %s %s 2>&1", tst_bin(), tst_path("j.db"), tst_path("no-judge.model"), g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "no-judge.model") && !tst_file_exists(tst_path("j.db")),
              "a missing judge named: exit 1 naming it, no database made: %s", g_out);
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --db %s --form nosuch %s 2>&1", tst_bin(), tst_path("f.db"), g_set);
    TST_CHECK(rc == 1 && strstr(g_out, "nosuch"), "an unknown form: exit 1");
    /* from another folder: the model and forms are found beside the binary
     * (an install folder made here: the binary with models/ and forms/) */
    {
        char cwd[4096];
        TST_CHECK(getcwd(cwd, sizeof cwd) != NULL, "cwd");
        rc = tst_runf(g_out, sizeof g_out, "mkdir -p %s && cp %s %s/docpipe && ln -s %s/models %s/models && "
                 "ln -s %s/forms %s/forms 2>&1",
                 tst_path("inst"), tst_bin(), tst_path("inst"), cwd, tst_path("inst"), cwd, tst_path("inst"));
        TST_CHECK(rc == 0, "install folder: %s", g_out);
        rc = tst_runf(g_out, sizeof g_out, "cd %s && env -u DOCPIPE_MODEL -u DOCPIPE_FORMS inst/docpipe ingest --quiet "
                 "--db here.db set/doc0001.* 2>&1", tst_tmpdir());
        TST_CHECK(rc == 0 && tst_file_exists(tst_path("here.db")),
                  "works from any folder (model and forms beside the binary): %s", g_out);
        /* an install without the checker: read without one */
        rc = tst_runf(g_out, sizeof g_out, "mkdir -p %s/models && cp %s %s/docpipe && "
                 "ln -s %s/models/default.model %s/models/default.model && ln -s %s/forms %s/forms 2>&1",
                 tst_path("inst2"), tst_bin(), tst_path("inst2"), cwd, tst_path("inst2"), cwd,
                 tst_path("inst2"));
        TST_CHECK(rc == 0, "install folder without the checker: %s", g_out);
        rc = tst_runf(g_out, sizeof g_out, "cd %s && env -u DOCPIPE_MODEL -u DOCPIPE_FORMS -u DOCPIPE_CHECKER "
                 "inst2/docpipe ingest --quiet --db here2.db set/doc0001.* 2>&1", tst_tmpdir());
        {
            sqlite3 *h = tst_sql_open(tst_path("here2.db"));
            TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM digits") > 0 &&
                          tst_sql_int(h, "SELECT count(*) FROM digits WHERE check_prob IS NOT NULL") == 0,
                      "no checker beside the binary: read without one (exit %d): %s", rc, g_out);
            sqlite3_close(h);
        }
    }
    /* --form auto reads fields without a template */
    rc = tst_runf(g_out, sizeof g_out, "%s ingest --quiet --form auto --db %s %s 2>&1", tst_bin(), tst_path("auto.db"), g_set);
    {
        sqlite3 *h = tst_sql_open(tst_path("auto.db"));
        TST_CHECK(rc == 0 && tst_sql_int(h, "SELECT count(*) FROM fields WHERE form = 'auto'") > 0 &&
                      tst_sql_int(h, "SELECT count(*) FROM fields WHERE form <> 'auto'") == 0,
                  "--form auto: auto fields only (exit %d): %s", rc, g_out);
        sqlite3_close(h);
    }
}

int main(void)
{
    util_log_set_level(-1);
    test_sniff();
    test_walk();
    test_texts();
    test_assemble();
    test_judge();
    test_pairs();
    test_pair_splits();
    test_measures();
    if (make_set()) {
        test_end_to_end();
        test_cli();
    }
    return tst_done();
}
