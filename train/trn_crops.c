/*
 * trn_crops.c - `docpipe crops`: labeled 28 x 28 crops cut from a
 * generated sample set by the segmentation stage, paired with the truth
 * (trn_crops.h).
 */
#include "trn_crops.h"

#include <allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_cpu.h"
#include "recognize/rec_model.h"
#include "segment/seg_form.h"
#include "segment/seg_image.h"
#include "train/trn_data.h"
#include "train/trn_eval.h"
#include "util/util.h"
#include "util/util_csv.h"

#define TRUTH_TEXT_MAX 64

int trn_truth_digits(const char *text, char *digits, size_t cap, int *pn_int)
{
    int n = 0;

    *pn_int = -1;
    for (const char *s = text; *s && (size_t)n + 1 < cap; s++) {
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
        else if (*s == '.' && *pn_int < 0)
            *pn_int = n;
    }
    digits[n] = '\0';
    if (*pn_int < 0)
        *pn_int = n;
    return n;
}

int trn_crops_align(const seg_field *f, const char *truth, const uint8_t **crops, int *labels,
                    int cap)
{
    char digits[TRUTH_TEXT_MAX];
    int n_int, nd;

    nd = trn_truth_digits(truth, digits, sizeof digits, &n_int);
    if (nd < 1 || nd > cap || f->n_splits < 1 || f->splits[0].n != nd)
        return 0;
    for (int k = 0; k < nd; k++) {
        crops[k] = f->splits[0].glyphs[k].crop;
        labels[k] = digits[k] - '0';
    }
    return nd;
}

/* One truth row. */
typedef struct truth_row {
    char file[256];
    int page;
    char field[SEG_NAME_MAX];
    char text[TRUTH_TEXT_MAX];
    int line;
} truth_row;

static int load_truth(const char *path, truth_row **prows, int *pn)
{
    util_csv *c = NULL;
    char **f;
    int n, rc, cap = 0, type;
    long page;

    *prows = NULL;
    *pn = 0;
    if ((rc = util_csv_open(&c, path, 0)))
        goto cleanup;
    if ((rc = util_csv_next(c, &f, &n)))
        goto cleanup;
    if (n != 5 || strcmp(f[0], "file") || strcmp(f[1], "page") || strcmp(f[2], "field") ||
        strcmp(f[3], "type") || strcmp(f[4], "text")) {
        util_log(UTIL_LOG_ERROR, "%s:1: expected the header file,page,field,type,text", path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    while ((rc = util_csv_next(c, &f, &n)) == UTIL_OK && n > 0) {
        truth_row *t;
        int line = util_csv_line(c);
        if (n != 5) {
            util_log(UTIL_LOG_ERROR, "%s:%d: expected 5 fields, found %d", path, line, n);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (util_parse_long(f[1], 1, 100000, &page) != UTIL_OK) {
            util_log(UTIL_LOG_ERROR, "%s:%d: page \"%s\" is not a number 1..100000", path, line,
                     f[1]);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (seg_field_type_parse(f[3], &type) != UTIL_OK) {
            util_log(UTIL_LOG_ERROR, "%s:%d: unknown field type \"%s\"", path, line, f[3]);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (!f[0][0] || strlen(f[0]) >= sizeof t->file || strlen(f[2]) >= SEG_NAME_MAX ||
            strlen(f[4]) >= TRUTH_TEXT_MAX) {
            util_log(UTIL_LOG_ERROR, "%s:%d: empty file name, or a name or text too long", path,
                     line);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (*pn == cap) {
            truth_row *nr;
            cap = cap ? 2 * cap : 256;
            nr = realloc(*prows, (size_t)cap * sizeof *nr);
            if (!nr) {
                util_log(UTIL_LOG_ERROR, "%s: out of memory", path);
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
            *prows = nr;
        }
        t = &(*prows)[(*pn)++];
        snprintf(t->file, sizeof t->file, "%s", f[0]);
        t->page = (int)page;
        snprintf(t->field, sizeof t->field, "%s", f[2]);
        snprintf(t->text, sizeof t->text, "%s", f[4]);
        t->line = line;
    }
cleanup:
    util_csv_close(&c);
    if (rc) {
        free(*prows);
        *prows = NULL;
        *pn = 0;
    }
    return rc;
}

/* Growing store of labeled crops. */
typedef struct crop_buf {
    uint8_t *px;
    int32_t *labels;
    long n, cap;
} crop_buf;

static int crop_add(crop_buf *b, const uint8_t *crop, int label)
{
    if (b->n == b->cap) {
        long cap = b->cap ? 2 * b->cap : 4096;
        uint8_t *px = realloc(b->px, (size_t)cap * SEG_CROP_PIXELS);
        int32_t *lb;
        if (!px)
            return UTIL_ENOMEM;
        b->px = px;
        lb = realloc(b->labels, (size_t)cap * sizeof *lb);
        if (!lb)
            return UTIL_ENOMEM;
        b->labels = lb;
        b->cap = cap;
    }
    memcpy(b->px + (size_t)b->n * SEG_CROP_PIXELS, crop, SEG_CROP_PIXELS);
    b->labels[b->n++] = label;
    return UTIL_OK;
}

static int same_box(const seg_glyph *a, const seg_glyph *b)
{
    return a->x == b->x && a->y == b->y && a->w == b->w && a->h == b->h;
}

int trn_judge_labels(const seg_field *f, int right, int *labels)
{
    const seg_split *r = right >= 0 && right < f->n_splits ? &f->splits[right] : NULL;
    int j = 0, n = 0;

    for (int s = 0; s < f->n_splits; s++)
        for (int k = 0; k < f->splits[s].n; k++, j++) {
            const seg_glyph *g = &f->splits[s].glyphs[k];
            int dup = 0, whole = 0, centres = 0, t = 0;
            /* an earlier glyph with the same box */
            for (int s2 = 0; s2 <= s && !dup; s2++)
                for (int k2 = 0; k2 < f->splits[s2].n && !dup; k2++) {
                    const seg_glyph *h = &f->splits[s2].glyphs[k2];
                    if (s2 == s && k2 == k)
                        break;
                    dup = same_box(h, g);
                }
            labels[j] = -1;
            if (dup || !r || f->n_splits < 2)
                continue;
            for (t = 0; t < r->n; t++) {
                const seg_glyph *h = &r->glyphs[t];
                int cx2 = 2 * h->x + h->w; /* twice the centre */
                whole |= same_box(h, g);
                centres += cx2 > 2 * g->x && cx2 < 2 * (g->x + g->w);
            }
            labels[j] = whole ? TRN_JUDGE_WHOLE
                        : centres >= 2 ? TRN_JUDGE_MERGED : TRN_JUDGE_PIECE;
            n++;
        }
    return n;
}

/* The judge's rows of field f written as truth digits `digits` (nd of
 * them): its glyphs read by cls, the right split found, the labels added
 * to b.  *pused is set when the field gave rows. */
static int judge_field(const seg_field *f, const char *digits, int nd, rec_classifier *cls,
                       crop_buf *b, long per_class[3], int *pused)
{
    int ng = 0, right = -1, base = 0, rc = UTIL_OK;
    uint8_t *px = NULL;
    float *probs = NULL;
    int *labels = NULL;

    *pused = 0;
    for (int s = 0; s < f->n_splits; s++)
        ng += f->splits[s].n;
    if (ng == 0 || f->n_splits < 2)
        return UTIL_OK;
    px = malloc((size_t)ng * SEG_CROP_PIXELS);
    probs = malloc((size_t)ng * 10 * sizeof *probs);
    labels = malloc((size_t)ng * sizeof *labels);
    if (!px || !probs || !labels) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int s = 0, j = 0; s < f->n_splits; s++)
        for (int k = 0; k < f->splits[s].n; k++, j++)
            memcpy(px + (size_t)j * SEG_CROP_PIXELS, f->splits[s].glyphs[k].crop,
                   SEG_CROP_PIXELS);
    if ((rc = rec_classifier_run(cls, probs, px, ng)))
        goto cleanup;
    for (int s = 0; s < f->n_splits && right < 0; s++) {
        int ok = f->splits[s].n == nd;
        for (int k = 0; k < f->splits[s].n && ok; k++)
            ok = trn_eval_argmax(probs + (size_t)(base + k) * 10) == digits[k] - '0';
        if (ok)
            right = s;
        base += f->splits[s].n;
    }
    if (right < 0 || trn_judge_labels(f, right, labels) == 0)
        goto cleanup;
    *pused = 1;
    for (int j = 0; j < ng && !rc; j++)
        if (labels[j] >= 0) {
            rc = crop_add(b, px + (size_t)j * SEG_CROP_PIXELS, labels[j]);
            per_class[labels[j]]++;
        }
cleanup:
    free(px);
    free(probs);
    free(labels);
    return rc;
}

int trn_crops_run(const trn_crops_opts *o, trn_crops_stats *pst)
{
    char truth_path[4096], forms_dir[4096], path[4400], cur_file[256] = "";
    truth_row *rows = NULL;
    int nrows = 0, rc;
    seg_form_set *forms = NULL;
    seg_doc *doc = NULL;
    seg_opts so = {0};
    crop_buf buf = {0};
    trn_crops_stats st = {0};
    trn_data *out = NULL;
    rec_model *m = NULL;
    rec_engine *eng = NULL;
    rec_classifier *cls = NULL;
    const rec_engine_ops *ops = &rec_engine_cpu_ops;
    rec_engine_opts eo = {1, 0};

    if (pst)
        memset(pst, 0, sizeof *pst);
    if (!o->dir || !o->out) {
        util_log(UTIL_LOG_ERROR, "crops: needs the samples folder and the output file");
        return UTIL_EINVAL;
    }
    if (o->truth)
        snprintf(truth_path, sizeof truth_path, "%s", o->truth);
    else
        snprintf(truth_path, sizeof truth_path, "%s/truth.csv", o->dir);
    if (o->forms)
        snprintf(forms_dir, sizeof forms_dir, "%s", o->forms);
    else
        seg_forms_default_dir(forms_dir, sizeof forms_dir);
    if ((rc = load_truth(truth_path, &rows, &nrows)) ||
        (rc = seg_form_set_load(&forms, forms_dir)))
        goto cleanup;
    if (o->judge && ((rc = rec_model_load(&m, o->judge, REC_MODEL_KIND_MODEL)) ||
                     (rc = ops->create(&eng, &eo)) ||
                     (rc = rec_classifier_create(&cls, m, ops, eng, 256))))
        goto cleanup;
    so.find = SEG_FIND_ANY;
    so.forms = forms;

    for (int i = 0; i < nrows;) {
        int j = i, dpi = 0, assumed = 0;
        PIX *pix = NULL;
        seg_page *pg = NULL;

        /* Rows i..j-1: one page. */
        while (j < nrows && rows[j].page == rows[i].page && strcmp(rows[j].file, rows[i].file) == 0)
            j++;
        if (strcmp(cur_file, rows[i].file) != 0) {
            seg_doc_destroy(&doc);
            snprintf(path, sizeof path, "%s/%s", o->dir, rows[i].file);
            if ((rc = seg_doc_open(&doc, path)))
                goto cleanup; /* logged by the reader, naming the file */
            snprintf(cur_file, sizeof cur_file, "%s", rows[i].file);
        }
        if (rows[i].page > seg_doc_page_count(doc)) {
            util_log(UTIL_LOG_ERROR, "%s:%d: %s has %d page(s), not page %d", truth_path,
                     rows[i].line, path, seg_doc_page_count(doc), rows[i].page);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if ((rc = seg_doc_read_page(doc, rows[i].page - 1, &pix, &dpi, &assumed)))
            goto cleanup;
        rc = seg_page_run(pix, dpi, &so, &pg);
        pixDestroy(&pix);
        if (rc) {
            util_log(UTIL_LOG_ERROR, "%s: page %d: segmentation failed", path, rows[i].page);
            goto cleanup;
        }
        st.pages++;
        for (int r = i; r < j && !rc; r++) {
            const uint8_t *crops[TRUTH_TEXT_MAX];
            int labels[TRUTH_TEXT_MAX], n_int, nd, np = 0;
            char digits[TRUTH_TEXT_MAX];

            nd = trn_truth_digits(rows[r].text, digits, sizeof digits, &n_int);
            if (nd == 0)
                continue;
            st.fields++;
            for (int k = 0; k < pg->n_fields && np == 0; k++) {
                if (strcmp(pg->fields[k].name, rows[r].field) != 0)
                    continue;
                if (cls) {
                    rc = judge_field(&pg->fields[k], digits, nd, cls, &buf, st.per_class, &np);
                    break;
                }
                np = trn_crops_align(&pg->fields[k], rows[r].text, crops, labels,
                                     TRUTH_TEXT_MAX);
            }
            if (np > 0)
                st.fields_used++;
            for (int k = 0; k < np && !rc && !cls; k++)
                rc = crop_add(&buf, crops[k], labels[k]);
        }
        seg_page_destroy(&pg);
        if (rc) {
            if (rc == UTIL_ENOMEM)
                util_log(UTIL_LOG_ERROR, "crops: out of memory");
            goto cleanup;
        }
        i = j;
    }
    if (buf.n == 0) {
        util_log(UTIL_LOG_ERROR, "%s: no field came out with its digit count: no crop to write",
                 truth_path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    if (buf.n > 100000000) {
        util_log(UTIL_LOG_ERROR, "crops: too many crops (%ld)", buf.n);
        rc = UTIL_EINVAL;
        goto cleanup;
    }
    if ((rc = trn_data_create(&out, (int)buf.n, 1)))
        goto cleanup;
    memcpy(out->pixels, buf.px, (size_t)buf.n * SEG_CROP_PIXELS);
    memcpy(out->labels, buf.labels, (size_t)buf.n * sizeof *buf.labels);
    if ((rc = trn_data_write_csv(out, o->out, 1)))
        goto cleanup;
    st.crops = buf.n;
    if (pst)
        *pst = st;
cleanup:
    trn_data_destroy(&out);
    rec_classifier_destroy(&cls);
    if (eng)
        ops->destroy(&eng);
    rec_model_destroy(&m);
    free(buf.px);
    free(buf.labels);
    seg_doc_destroy(&doc);
    seg_form_set_destroy(&forms);
    free(rows);
    return rc;
}
