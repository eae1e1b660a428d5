/*
 * seg_bench.c - the segmentation stage measured on a generated sample set
 * (`docpipe samples`), against its ground truth: skew error, forms and
 * fields found, digit-count exact rate per field, agreement of the crops
 * with the digits written (under the shipped model), and milliseconds per
 * page on one core.  `make bench-segment` runs it; README shows its figures.
 *
 *   seg_bench [-v] [-d DUMPDIR] [-s SPLITS.csv] SAMPLES_DIR [MODEL]
 *
 * -v lists each field whose digit count is wrong (file, page, field, truth
 * text, count found, the segmenter's note) and each field counted right
 * whose crops disagree with the truth or whose cents were missed (what the
 * model read, n_int).  -d DUMPDIR also writes, for each field listed, the
 * field's part of the deskewed binary page with the glyph boxes of
 * splits[0] drawn (PNG, named after the file, page and field).  -s
 * SPLITS.csv writes one line per split of every field found: what the
 * split choice sees (prior, sum of the log probabilities of the labels
 * read, the lowest of them, the widest glyph's width / height, the
 * template's range and cents), which split pipeline/ chose, and whether
 * the split has the right count and the right text (for fitting the
 * choice offline).  The split chosen is ingest's: the model's, the
 * checker's, the judge's and the pair readers' probabilities when
 * models/checker.model, models/judge.model and models/pair-left.model with
 * models/pair-right.model are beside the model (the line says which).
 *
 * SAMPLES_DIR holds truth.csv (file,page,field,type,text) and pages.csv
 * (file,page,form,dpi,skew_deg,...) as `docpipe samples` writes them.  When
 * it also holds sources.csv (file,page,field,pos,row: the row of the
 * digits file, data/test_labeled.csv, each digit was drawn from), the crops
 * are scored apart by whether the model reads the digit's MNIST original
 * right: what rescanning and segmentation lose, and what the model would
 * miss on the original anyway; and each crop is compared with the model's
 * reading of its original (issue 4's step 6: crops "classified like the
 * originals").  The crops of the split ingest chooses are scored too.
 */
#include <allheaders.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "pipeline/pipe_int.h"
#include "recognize/rec_cpu.h"
#include "segment/seg_image.h"
#include "segment/segment.h"
#include "train/trn_crops.h"
#include "train/trn_data.h"
#include "train/trn_eval.h"
#include "util/util.h"
#include "util/util_csv.h"

typedef struct truth_field {
    char file[256];
    int page;
    char field[SEG_NAME_MAX];
    int type;
    char text[64];
    int src[64]; /* the digits file's row of each digit, -1 unknown */
} truth_field;

typedef struct truth_page {
    char file[256];
    int page;
    char form[SEG_NAME_MAX];
    double skew;
} truth_page;

typedef struct tally { long n, ok; } tally;

/* The networks ingest reads with, as seg_bench loads them. */
enum { BN_MODEL, BN_CHECK, BN_JUDGE, BN_LEFT, BN_RIGHT, BN_COUNT };

static double pct(tally t) { return t.n ? 100.0 * (double)t.ok / (double)t.n : 0.0; }

static int load_truth(const char *dir, truth_field **pf, int *pnf, truth_page **pp, int *pnp)
{
    char path[4096];
    util_csv *c = NULL;
    char **f;
    int n, rc, cap = 0;

    *pf = NULL;
    *pp = NULL;
    *pnf = *pnp = 0;
    snprintf(path, sizeof path, "%s/truth.csv", dir);
    if ((rc = util_csv_open(&c, path, 0)) || (rc = util_csv_next(c, &f, &n)))
        goto cleanup;
    while ((rc = util_csv_next(c, &f, &n)) == UTIL_OK && n > 0) {
        truth_field *t;
        if (n != 5) {
            util_log(UTIL_LOG_ERROR, "%s:%d: expected 5 fields", path, util_csv_line(c));
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (*pnf == cap) {
            cap = cap ? 2 * cap : 256;
            *pf = realloc(*pf, (size_t)cap * sizeof **pf);
        }
        t = &(*pf)[(*pnf)++];
        snprintf(t->file, sizeof t->file, "%s", f[0]);
        t->page = atoi(f[1]);
        snprintf(t->field, sizeof t->field, "%s", f[2]);
        seg_field_type_parse(f[3], &t->type);
        snprintf(t->text, sizeof t->text, "%s", f[4]);
        for (int k = 0; k < 64; k++)
            t->src[k] = -1;
    }
    if (rc)
        goto cleanup;
    util_csv_close(&c);
    cap = 0;
    snprintf(path, sizeof path, "%s/pages.csv", dir);
    if ((rc = util_csv_open(&c, path, 0)) || (rc = util_csv_next(c, &f, &n)))
        goto cleanup;
    while ((rc = util_csv_next(c, &f, &n)) == UTIL_OK && n > 0) {
        truth_page *t;
        if (n < 5) {
            util_log(UTIL_LOG_ERROR, "%s:%d: expected at least 5 fields", path, util_csv_line(c));
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (*pnp == cap) {
            cap = cap ? 2 * cap : 256;
            *pp = realloc(*pp, (size_t)cap * sizeof **pp);
        }
        t = &(*pp)[(*pnp)++];
        snprintf(t->file, sizeof t->file, "%s", f[0]);
        t->page = atoi(f[1]);
        snprintf(t->form, sizeof t->form, "%s", f[2]);
        t->skew = atof(f[4]);
    }
cleanup:
    util_csv_close(&c);
    return rc;
}

/* The digits' sources from path (a sources.csv) into tf; rows must lie in
 * bank and carry the label of the truth's digit at that position (a set
 * drawn from another --digits file is refused, not scored against the
 * wrong originals).  On failure tf may hold some sources: the caller then
 * scores none. */
static int load_sources(const char *path, truth_field *tf, int ntf, const trn_data *bank)
{
    char *end;
    util_csv *c = NULL;
    char **f;
    int n, rc;

    if ((rc = util_csv_open(&c, path, 0)) || (rc = util_csv_next(c, &f, &n)))
        goto cleanup;
    while ((rc = util_csv_next(c, &f, &n)) == UTIL_OK && n > 0) {
        long page, pos, row;
        int j;
        if (n != 5) {
            util_log(UTIL_LOG_ERROR, "%s:%d: expected 5 fields", path, util_csv_line(c));
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        page = strtol(f[1], &end, 10);
        pos = *end ? -1 : strtol(f[3], &end, 10);
        row = *end ? -1 : strtol(f[4], &end, 10);
        if (*end || pos < 0 || pos >= 64 || row < 0 || row >= bank->n) {
            util_log(UTIL_LOG_ERROR,
                     "%s:%d: bad position, or a row outside the %d digits (drawn from another "
                     "--digits file?)", path, util_csv_line(c), bank->n);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        for (j = 0; j < ntf; j++)
            if (tf[j].page == page && strcmp(tf[j].file, f[0]) == 0 &&
                strcmp(tf[j].field, f[2]) == 0)
                break;
        if (j == ntf) {
            util_log(UTIL_LOG_ERROR, "%s:%d: no such field in truth.csv", path, util_csv_line(c));
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        {
            char digits[64];
            int n_int, nd = trn_truth_digits(tf[j].text, digits, sizeof digits, &n_int);
            if (pos >= nd || digits[pos] - '0' != bank->labels[row]) {
                util_log(UTIL_LOG_ERROR,
                         "%s:%d: row %ld of the digits is a %d, not digit %ld of \"%s\" (drawn "
                         "from another --digits file?)",
                         path, util_csv_line(c), row, bank->labels[row], pos, tf[j].text);
                rc = UTIL_EFORMAT;
                goto cleanup;
            }
        }
        tf[j].src[pos] = (int)row;
    }
cleanup:
    util_csv_close(&c);
    return rc;
}

/* The field's part of the binary page (twice its size) with splits[0]'s
 * glyph boxes, and below it the glyphs' normalized crops, as a PNG. */
static void dump_field(const char *ddir, const char *file, int page, const seg_field *f, PIX *bin)
{
    char path[4400];
    int m = 40;
    BOX *b = boxCreate(f->x - m, f->y - m, f->w + 2 * m, f->h + 2 * m);
    PIX *c = b ? pixClipRectangle(bin, b, NULL) : NULL, *c32 = c ? pixConvertTo32(c) : NULL;
    PIXA *pa = pixaCreate(2), *pc = pixaCreate(16);
    if (c32 && pa && pc && f->n_splits > 0) {
        l_int32 bx, by;
        boxGetGeometry(b, &bx, &by, NULL, NULL);
        for (int k = 0; k < f->splits[0].n; k++) {
            const seg_glyph *g = &f->splits[0].glyphs[k];
            BOX *gb = boxCreate(g->x - bx, g->y - by, g->w, g->h);
            PIX *cr = pixCreate(SEG_CROP, SEG_CROP, 8), *cx, *c4;
            for (int y = 0; y < SEG_CROP; y++)
                for (int x = 0; x < SEG_CROP; x++)
                    pixSetPixel(cr, x, y, 255u - g->crop[y * SEG_CROP + x]);
            cx = pixExpandReplicate(cr, 3);
            c4 = pixAddBorder(cx, 2, 0);
            pixaAddPix(pc, pixConvertTo32(c4), L_INSERT);
            pixDestroy(&cr);
            pixDestroy(&cx);
            pixDestroy(&c4);
            pixRenderBoxArb(c32, gb, 1, k % 2 ? 255 : 0, k % 2 ? 0 : 160, k % 2 ? 0 : 255);
            boxDestroy(&gb);
        }
        pixaAddPix(pa, pixExpandReplicate(c32, 2), L_INSERT);
        if (pixaGetCount(pc) > 0)
            pixaAddPix(pa, pixaDisplayTiledInRows(pc, 32, 4000, 1.0, 0, 6, 0), L_INSERT);
        PIX *all = pixaDisplayTiledInColumns(pa, 1, 1.0, 10, 0);
        snprintf(path, sizeof path, "%s/%s-p%d-%s.png", ddir, file, page, f->name);
        if (all)
            pixWrite(path, all, IFF_PNG);
        pixDestroy(&all);
    }
    pixaDestroy(&pa);
    pixaDestroy(&pc);
    pixDestroy(&c32);
    pixDestroy(&c);
    boxDestroy(&b);
}

/* One line per split of field f for -s: what the split choice sees (the
 * segmenter's prior, the sum of the log probabilities of the labels
 * pipe_read_split reads, the lowest of those probabilities, the template's
 * rules) and whether the split is right. */
static void dump_splits(FILE *o, const truth_field *t, int nd, const seg_field *f,
                        const float *const *gprobs, const pipe_rules *r, int chosen)
{
    int base = 0;

    for (int s = 0; s < f->n_splits; s++) {
        const seg_split *sp = &f->splits[s];
        double lp, minp = 1, maxwh = 0;
        int labels[PIPE_TEXT_MAX];
        char text[PIPE_TEXT_MAX] = "";
        lp = pipe_read_split(f->type, sp, r, gprobs + base, labels);
        for (int k = 0; k < sp->n; k++) {
            const float *p = gprobs[base + k];
            if (k < PIPE_TEXT_MAX)
                minp = p[labels[k]] < minp ? p[labels[k]] : minp;
            if (sp->glyphs[k].h > 0 && (double)sp->glyphs[k].w / sp->glyphs[k].h > maxwh)
                maxwh = (double)sp->glyphs[k].w / sp->glyphs[k].h;
        }
        if (sp->n <= 64) {
            int64_t cents;
            if (f->type == SEG_FT_AMOUNT) {
                pipe_amount_text(labels, sp->n, pipe_amount_int_digits(sp, r), text, sizeof text,
                                 &cents);
            } else if (f->type == SEG_FT_POSTCODE) {
                pipe_postcode_text(labels, sp->n, text, sizeof text);
            } else {
                for (int k = 0; k < sp->n; k++)
                    text[k] = (char)('0' + labels[k]);
                text[sp->n] = '\0';
            }
        }
        fprintf(o, "%s,%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%.6g,%.6g,%.6g,%.4f,%d,%d,%d,%d,%d,%.3f\n",
                t->file, t->page, t->field, seg_field_type_name(t->type), nd, f->n_splits, s,
                sp->n, sp->n_int, r->known ? r->min_digits : -1, r->known ? r->max_digits : -1,
                (double)sp->prior, lp, minp, maxwh, r->known ? r->cents : -1, s == chosen,
                sp->n == nd, strcmp(text, t->text) == 0, f->cells, (double)f->doubt);
        base += sp->n;
    }
}

int main(int argc, char **argv)
{
    FILE *sfile = NULL;
    const char *dir = NULL, *ddir = NULL;
    int verbose = 0, argi = 1;
    char forms_dir[4096], path[4400];
    truth_field *tf = NULL;
    truth_page *tp = NULL;
    int ntf = 0, ntp = 0, rc;
    seg_form_set *forms = NULL;
    rec_engine *eng = NULL;
    rec_model *nm[BN_COUNT] = {NULL};     /* the networks ingest reads with, */
    rec_classifier *net[BN_COUNT] = {NULL}; /* indexed by BN_* (NULL: absent) */
    char npath[BN_COUNT][4096];
    int have[BN_COUNT] = {0};
    char with[128] = ""; /* the networks beside the model, for the report */
    const rec_engine_ops *ops = &rec_engine_cpu_ops;
    rec_engine_opts eo = {1, 0};
    seg_opts so = {0};
    tally form_ok = {0, 0}, field_found = {0, 0}, count_ok[SEG_FT_COUNT] = {{0, 0}},
          count_all = {0, 0}, cents_ok = {0, 0}, agree = {0, 0}, agree_all = {0, 0},
          any_split = {0, 0}, chosen_count = {0, 0}, chosen_text = {0, 0}, agree_comb = {0, 0},
          chosen_digits = {0, 0}, chosen_crop = {0, 0}, chosen_pair = {0, 0}, like_orig = {0, 0};
    double skew_sum = 0, skew_max = 0, ms_sum[SEG_T_COUNT] = {0}, read_ms = 0, seg_ms_max = 0;
    int pages_done = 0, pages_failed = 0, dpi_seen = 0, have_src = 0;
    trn_data *bank = NULL; /* the digits the pages were drawn from */
    tally src_ok = {0, 0}, src_bad = {0, 0}; /* crops by their original's reading */

    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[argi], "-d") == 0 && argi + 1 < argc)
            ddir = argv[++argi], verbose = 1;
        else if (strcmp(argv[argi], "-s") == 0 && argi + 1 < argc) {
            if (!(sfile = fopen(argv[++argi], "w"))) {
                fprintf(stderr, "seg_bench: cannot write %s\n", argv[argi]);
                return 2;
            }
            fprintf(sfile, "file,page,field,type,nd,n_splits,k,n,n_int,min,max,prior,logp,"
                           "minp,maxwh,cents,chosen,count_ok,text_ok,cells,doubt\n");
        }
        else
            break;
    }
    dir = argi < argc ? argv[argi] : NULL;
    if (!dir || (argi + 1 < argc && argv[argi + 1][0] == '-')) {
        fprintf(stderr, "usage: seg_bench [-v] [-d DUMPDIR] [-s SPLITS.csv] SAMPLES_DIR [MODEL]\n");
        return 2;
    }
    if (argi + 1 < argc)
        snprintf(npath[BN_MODEL], sizeof npath[BN_MODEL], "%s", argv[argi + 1]);
    else
        rec_model_default_path(npath[BN_MODEL], sizeof npath[BN_MODEL]);
    /* The checker, the judge and the pair readers (both or neither), when
     * beside the model, as ingest takes them. */
    have[BN_MODEL] = 1;
    have[BN_CHECK] = rec_model_checker_path(npath[BN_CHECK], sizeof npath[BN_CHECK]);
    have[BN_JUDGE] = rec_model_judge_path(npath[BN_JUDGE], sizeof npath[BN_JUDGE]);
    have[BN_LEFT] = have[BN_RIGHT] =
        rec_model_pair_left_path(npath[BN_LEFT], sizeof npath[BN_LEFT]) &&
        rec_model_pair_right_path(npath[BN_RIGHT], sizeof npath[BN_RIGHT]);
    seg_forms_default_dir(forms_dir, sizeof forms_dir);
    if ((rc = load_truth(dir, &tf, &ntf, &tp, &ntp)) || (rc = seg_form_set_load(&forms, forms_dir)) ||
        (rc = ops->create(&eng, &eo)))
        return 1;
    for (int k = 0; k < BN_COUNT; k++)
        if (have[k] && ((rc = rec_model_load(&nm[k], npath[k], REC_MODEL_KIND_MODEL)) ||
                        (rc = rec_classifier_create(&net[k], nm[k], ops, eng, 64))))
            return 1;
    {
        char sp[4400];
        FILE *probe;
        snprintf(sp, sizeof sp, "%s/sources.csv", dir);
        if ((probe = fopen(sp, "rb"))) {
            fclose(probe);
            have_src =
                trn_data_load_csv(&bank, "data/test_labeled.csv", TRN_LABELS_REQUIRED) == UTIL_OK &&
                load_sources(sp, tf, ntf, bank) == UTIL_OK;
            if (!have_src)
                fprintf(stderr, "seg_bench: crops not scored by their originals: %s\n",
                        util_last_error());
        }
    }
    so.find = SEG_FIND_ANY;
    so.forms = forms;
    so.keep_page = ddir != NULL;

    for (int i = 0; i < ntp; i++) {
        seg_doc *doc = NULL;
        PIX *pix = NULL;
        seg_page *pg = NULL;
        int dpi = 0, assumed = 0;
        double t0;
        snprintf(path, sizeof path, "%s/%s", dir, tp[i].file);
        t0 = util_now();
        if (seg_doc_open(&doc, path) || seg_doc_read_page(doc, tp[i].page - 1, &pix, &dpi, &assumed)) {
            pages_failed++;
            seg_doc_destroy(&doc);
            continue;
        }
        read_ms += 1e3 * (util_now() - t0);
        dpi_seen = dpi;
        t0 = util_now();
        if (seg_page_run(pix, dpi, &so, &pg)) {
            pages_failed++;
            pixDestroy(&pix);
            seg_doc_destroy(&doc);
            continue;
        }
        {
            double ms = 1e3 * (util_now() - t0);
            if (ms > seg_ms_max)
                seg_ms_max = ms;
        }
        pages_done++;
        for (int k = 0; k < SEG_T_COUNT; k++)
            ms_sum[k] += pg->ms[k];
        {
            /* pages.csv gives the rotation applied (clockwise positive), the
             * segmenter the content's angle (counter-clockwise positive). */
            double e = fabs(pg->skew_deg + tp[i].skew);
            skew_sum += e;
            if (e > skew_max)
                skew_max = e;
        }
        form_ok.n++;
        form_ok.ok += strcmp(pg->form, tp[i].form) == 0;
        for (int j = 0; j < ntf; j++) {
            const seg_field *f = NULL;
            char digits[64];
            int n_int, nd;
            if (tf[j].page != tp[i].page || strcmp(tf[j].file, tp[i].file) != 0)
                continue;
            nd = trn_truth_digits(tf[j].text, digits, sizeof digits, &n_int);
            for (int k = 0; k < pg->n_fields; k++)
                if (strcmp(pg->fields[k].name, tf[j].field) == 0)
                    f = &pg->fields[k];
            field_found.n++;
            count_all.n++;
            count_ok[tf[j].type].n++;
            any_split.n++;
            agree_all.n += nd;
            if (!f)
                continue;
            field_found.ok++;
            for (int s = 0; s < f->n_splits; s++)
                if (f->splits[s].n == nd) {
                    any_split.ok++;
                    break;
                }
            /* What pipeline/ makes of the field: the split the classifier
             * likes best (pipe_assemble_field), its count and its text. */
            chosen_count.n++;
            chosen_text.n++;
            {
                int ng = pipe_field_glyphs(f), g = 0;
                uint8_t *gpx = malloc((size_t)(ng ? ng : 1) * SEG_CROP_PIXELS);
                float *gp = malloc((size_t)(ng ? ng : 1) * 10 * BN_COUNT * sizeof *gp);
                const float **gprobs = malloc((size_t)(ng ? ng : 1) * BN_COUNT * sizeof *gprobs);
                db_digit *dd = malloc((size_t)pipe_field_digits_max(f) * sizeof *dd);
                int ran = gpx && gp && gprobs && dd;
                pipe_rules rules;
                pipe_read rd;
                for (int s = 0; s < f->n_splits; s++)
                    for (int k = 0; k < f->splits[s].n; k++, g++)
                        memcpy(gpx + (size_t)g * SEG_CROP_PIXELS, f->splits[s].glyphs[k].crop,
                               SEG_CROP_PIXELS);
                pipe_rules_of(seg_form_set_find(forms, pg->form), f->name, &rules);
                for (int k = 0; ran && k < BN_COUNT; k++) /* network k's rows at gp + 10 k ng */
                    ran = !net[k] ||
                          rec_classifier_run(net[k], gp + 10 * (size_t)k * ng, gpx, ng) == UTIL_OK;
                if (ran) {
                    const float *const *byn[BN_COUNT];
                    for (int k = 0; k < BN_COUNT * ng; k++)
                        gprobs[k] = gp + 10 * k;
                    for (int k = 0; k < BN_COUNT; k++)
                        byn[k] = net[k] ? gprobs + (size_t)k * ng : NULL;
                    pipe_assemble_field_judged(f, byn[BN_MODEL], byn[BN_CHECK], byn[BN_JUDGE],
                                               byn[BN_LEFT], byn[BN_RIGHT], &rules, 0.97, &rd, dd);
                    chosen_count.ok += rd.n == nd;
                    chosen_text.ok += strcmp(rd.text, tf[j].text) == 0;
                    /* The digits ingest stores, against those written; and
                     * the chosen split's crops under the model alone (g0: the
                     * split's first glyph), except a pair split's, whose two
                     * digits share one crop: those are counted apart, as the
                     * pair readers read them. */
                    if (rd.n == nd) {
                        int g0 = rd.split < f->n_splits ? 0 : -1;
                        for (int s = 0; g0 >= 0 && s < rd.split; s++)
                            g0 += f->splits[s].n;
                        for (int i = 0; i < nd; i++) {
                            int stored_ok = dd[i].label == digits[i] - '0';
                            tally *t = g0 >= 0 ? &chosen_crop : &chosen_pair;
                            chosen_digits.n++;
                            chosen_digits.ok += stored_ok;
                            t->n++;
                            t->ok += g0 >= 0 ? trn_eval_argmax(gprobs[g0 + i]) == digits[i] - '0'
                                             : stored_ok;
                        }
                    }
                    if (sfile)
                        dump_splits(sfile, &tf[j], nd, f, gprobs, &rules, rd.split);
                }
                free(gpx);
                free(gp);
                free(gprobs);
                free(dd);
            }
            if (f->n_splits == 0 || f->splits[0].n != nd) {
                if (verbose) {
                    printf("count %s p%d %-8s %-12s want %2d found %2d (alts", tf[j].file,
                           tf[j].page, f->name, tf[j].text, nd, f->n_splits ? f->splits[0].n : 0);
                    for (int s = 1; s < f->n_splits; s++)
                        printf(" %d", f->splits[s].n);
                    printf(") %s\n", f->note);
                    if (ddir && pg->bin)
                        dump_field(ddir, tf[j].file, tf[j].page, f, pg->bin);
                }
                continue;
            }
            count_all.ok++;
            count_ok[tf[j].type].ok++;
            int cents_bad = 0, wrong = 0;
            char read[65] = "";
            if (tf[j].type == SEG_FT_AMOUNT && nd > 0) {
                cents_ok.n++;
                cents_ok.ok += f->splits[0].n_int == n_int;
                cents_bad = f->splits[0].n_int != n_int;
            }
            const uint8_t *crops[64];
            int labels[64];
            if (trn_crops_align(f, tf[j].text, crops, labels, 64) == nd) {
                uint8_t px[64 * SEG_CROP_PIXELS];
                float probs[64 * 10], cprobs[64 * 10];
                for (int k = 0; k < nd; k++)
                    memcpy(px + k * SEG_CROP_PIXELS, crops[k], SEG_CROP_PIXELS);
                if (rec_classifier_run(net[BN_MODEL], probs, px, nd) == UTIL_OK) {
                    if (net[BN_CHECK] &&
                        rec_classifier_run(net[BN_CHECK], cprobs, px, nd) == UTIL_OK)
                        for (int k = 0; k < nd; k++) { /* the combined reading, as ingest's */
                            float q[10];
                            pipe_combine_probs(probs + k * 10, cprobs + k * 10, q);
                            agree_comb.n++;
                            agree_comb.ok += trn_eval_argmax(q) == labels[k];
                        }
                    int srcn = 0, src_row[64];
                    uint8_t spx[64 * SEG_CROP_PIXELS];
                    float sprobs[64 * 10];
                    for (int k = 0; have_src && k < nd; k++)
                        if ((src_row[k] = tf[j].src[k]) >= 0)
                            memcpy(spx + srcn++ * SEG_CROP_PIXELS,
                                   bank->pixels + (size_t)src_row[k] * SEG_CROP_PIXELS,
                                   SEG_CROP_PIXELS);
                    if (srcn && rec_classifier_run(net[BN_MODEL], sprobs, spx, srcn) != UTIL_OK)
                        srcn = 0;
                    for (int k = 0, s = 0; srcn && k < nd; k++) {
                        if (src_row[k] < 0)
                            continue;
                        int orig = trn_eval_argmax(sprobs + 10 * s++);
                        int crop = trn_eval_argmax(probs + k * 10);
                        tally *t = orig == bank->labels[src_row[k]] ? &src_ok : &src_bad;
                        like_orig.n++; /* the crop read as the model reads its original */
                        like_orig.ok += crop == orig;
                        t->n++;
                        t->ok += crop == labels[k];
                    }
                    for (int k = 0; k < nd; k++) {
                        int best = trn_eval_argmax(probs + k * 10);
                        agree.n++;
                        agree.ok += best == labels[k];
                        agree_all.ok += best == labels[k];
                        wrong += best != labels[k];
                        read[k] = (char)('0' + best);
                        read[k + 1] = '\0';
                    }
                }
            }
            if (verbose && (cents_bad || wrong)) {
                printf("%s %s p%d %-8s %-12s read %-10s n_int %d (want %d) %s\n",
                       cents_bad ? "cents" : "crops", tf[j].file, tf[j].page, f->name,
                       tf[j].text, read, f->splits[0].n_int, n_int, f->note);
                if (ddir && pg->bin)
                    dump_field(ddir, tf[j].file, tf[j].page, f, pg->bin);
            }
        }
        seg_page_destroy(&pg);
        pixDestroy(&pix);
        seg_doc_destroy(&doc);
    }
    agree.n = agree.n ? agree.n : 0;
    printf("pages: %d segmented, %d failed to read (%d dpi)\n", pages_done, pages_failed, dpi_seen);
    printf("skew error: mean %.3f deg, max %.3f deg\n", pages_done ? skew_sum / pages_done : 0.0,
           skew_max);
    printf("form found: %ld/%ld pages (%.2f %%)\n", form_ok.ok, form_ok.n, pct(form_ok));
    printf("fields found: %ld/%ld (%.2f %%)\n", field_found.ok, field_found.n, pct(field_found));
    printf("digit count exact: %ld/%ld fields (%.2f %%)", count_all.ok, count_all.n, pct(count_all));
    for (int t = 0; t < SEG_FT_COUNT; t++)
        if (count_ok[t].n)
            printf("; %s %.2f %% of %ld", seg_field_type_name(t), pct(count_ok[t]), count_ok[t].n);
    printf("\n");
    printf("right count among the alternatives: %ld/%ld (%.2f %%)\n", any_split.ok, any_split.n,
           pct(any_split));
    {
        static const char *const names[BN_COUNT] = {"", "checker", "judge", "pair readers", ""};
        size_t o = 0;
        for (int k = BN_CHECK; k < BN_COUNT; k++)
            if (net[k] && names[k][0])
                o += (size_t)snprintf(with + o, sizeof with - o, "%s%s", o ? ", " : "; ",
                                      names[k]);
    }
    printf("with the classifier choosing among the splits (as ingest does%s): count exact "
           "%ld/%ld (%.2f %%), field text exact %ld/%ld (%.2f %%)\n",
           with, chosen_count.ok, chosen_count.n, pct(chosen_count), chosen_text.ok, chosen_text.n,
           pct(chosen_text));
    printf("amounts with the cents found: %ld/%ld (%.2f %%)\n", cents_ok.ok, cents_ok.n, pct(cents_ok));
    printf("crop agreement with the written digit: %ld/%ld (%.2f %%) in fields counted right; "
           "%.2f %% of all %ld written digits\n",
           agree.ok, agree.n, pct(agree), pct(agree_all), agree_all.n);
    if (src_ok.n + src_bad.n)
        printf("crop agreement on digits whose MNIST original the model reads right: %ld/%ld "
               "(%.2f %%); of the %ld it misreads in MNIST itself, %ld crops read right\n",
               src_ok.ok, src_ok.n, pct(src_ok), src_bad.n, src_bad.ok);
    if (like_orig.n)
        printf("crops read like their MNIST originals by the model (issue 4's step 6): %ld/%ld "
               "(%.2f %%) in fields counted right\n",
               like_orig.ok, like_orig.n, pct(like_orig));
    if (agree_comb.n)
        printf("crop agreement under the combined reading (model and checker, as ingest reads): "
               "%ld/%ld (%.2f %%) in fields counted right\n",
               agree_comb.ok, agree_comb.n, pct(agree_comb));
    if (chosen_digits.n)
        printf("digits as ingest reads them (the split chosen, the labels it stores) in fields "
               "whose chosen split has the right count: %ld/%ld (%.2f %%)\n",
               chosen_digits.ok, chosen_digits.n, pct(chosen_digits));
    if (chosen_crop.n + chosen_pair.n)
        printf("crop agreement on the split chosen (model alone) in fields whose chosen split has "
               "the right count: %ld/%ld (%.2f %%); digits of pair splits (the pair readers'): "
               "%ld/%ld\n",
               chosen_crop.ok, chosen_crop.n, pct(chosen_crop), chosen_pair.ok, chosen_pair.n);
    printf("ms per page on one core: segmentation %.1f (max %.1f; binarize %.1f, deskew %.1f, "
           "register %.1f, fields %.1f), reading the file %.1f\n",
           pages_done ? (ms_sum[0] + ms_sum[1] + ms_sum[2] + ms_sum[3]) / pages_done : 0.0,
           seg_ms_max, pages_done ? ms_sum[SEG_T_BINARIZE] / pages_done : 0.0,
           pages_done ? ms_sum[SEG_T_DESKEW] / pages_done : 0.0,
           pages_done ? ms_sum[SEG_T_REGISTER] / pages_done : 0.0,
           pages_done ? ms_sum[SEG_T_FIELDS] / pages_done : 0.0,
           pages_done ? read_ms / pages_done : 0.0);
    if (sfile)
        fclose(sfile);
    for (int k = 0; k < BN_COUNT; k++) {
        rec_classifier_destroy(&net[k]);
        rec_model_destroy(&nm[k]);
    }
    ops->destroy(&eng);
    seg_form_set_destroy(&forms);
    trn_data_destroy(&bank);
    free(tf);
    free(tp);
    return pages_failed ? 1 : 0;
}
