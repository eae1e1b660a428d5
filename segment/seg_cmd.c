/*
 * seg_cmd.c - `docpipe segment`: reads files, segments each page, prints
 * the result and optionally dumps overlays (the deskewed page with the
 * field and digit boxes drawn; the 28 x 28 crops of each field, tiled).
 */
#include <allheaders.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seg_cmd.h"
#include "seg_image.h"
#include "segment.h"
#include "util/util.h"

/* A file name safe to use in a dump file name: the base name, odd bytes as _. */
static void dump_stem(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    size_t n = 0;
    base = base ? base + 1 : path;
    for (; *base && n + 1 < cap; base++)
        buf[n++] = (*base == '.' || *base == '-' || *base == '_' ||
                    (*base >= '0' && *base <= '9') || (*base >= 'a' && *base <= 'z') ||
                    (*base >= 'A' && *base <= 'Z'))
                       ? *base
                       : '_';
    buf[n] = '\0';
}

/* The overlay: the deskewed page at half size, fields blue, digits red. */
static int dump_overlay(const seg_page *pg, const char *path)
{
    PIX *gray = NULL, *col = NULL;
    int rc = UTIL_EIO;

    if (!pg->bin)
        return UTIL_EINVAL;
    if (!(gray = pixScaleToGray2(pg->bin)) || !(col = pixConvertTo32(gray)))
        goto cleanup;
    for (int i = 0; i < pg->n_fields; i++) {
        const seg_field *f = &pg->fields[i];
        BOX *b = boxCreate(f->x / 2, f->y / 2, f->w / 2, f->h / 2);
        pixRenderBoxArb(col, b, 2, 40, 90, 230);
        boxDestroy(&b);
        if (f->n_splits > 0)
            for (int k = 0; k < f->splits[0].n; k++) {
                const seg_glyph *g = &f->splits[0].glyphs[k];
                b = boxCreate(g->x / 2, g->y / 2, g->w / 2 > 0 ? g->w / 2 : 1,
                              g->h / 2 > 0 ? g->h / 2 : 1);
                pixRenderBoxArb(col, b, 1, 230, 30, 30);
                boxDestroy(&b);
            }
    }
    rc = pixWrite(path, col, IFF_PNG) ? UTIL_EIO : UTIL_OK;
cleanup:
    if (rc)
        util_log(UTIL_LOG_ERROR, "cannot write %s", path);
    pixDestroy(&gray);
    pixDestroy(&col);
    return rc;
}

/* The crops: one row per field (name, then its crops of splits[0] at 2x). */
static int dump_crops(const seg_page *pg, const char *path)
{
    const int cell = 2 * SEG_CROP + 4, label_w = 150;
    int most = 1, rc = UTIL_EIO;
    PIX *out = NULL;
    L_BMF *font = NULL;

    for (int i = 0; i < pg->n_fields; i++)
        if (pg->fields[i].n_splits > 0 && pg->fields[i].splits[0].n > most)
            most = pg->fields[i].splits[0].n;
    if (pg->n_fields == 0)
        return UTIL_OK;
    if (!(out = pixCreate(label_w + most * cell, pg->n_fields * cell, 8)))
        goto cleanup;
    pixSetAll(out);
    font = bmfCreate(NULL, 8);
    for (int i = 0; i < pg->n_fields; i++) {
        const seg_field *f = &pg->fields[i];
        if (font)
            pixSetTextline(out, font, f->name, 0, 4, i * cell + cell / 2 + 4, NULL, NULL);
        if (f->n_splits == 0)
            continue;
        for (int k = 0; k < f->splits[0].n; k++) {
            const uint8_t *c = f->splits[0].glyphs[k].crop;
            int x0 = label_w + k * cell + 2, y0 = i * cell + 2;
            for (int y = 0; y < 2 * SEG_CROP; y++)
                for (int x = 0; x < 2 * SEG_CROP; x++)
                    pixSetPixel(out, x0 + x, y0 + y, 255u - c[(y / 2) * SEG_CROP + x / 2]);
        }
    }
    rc = pixWrite(path, out, IFF_PNG) ? UTIL_EIO : UTIL_OK;
cleanup:
    if (rc)
        util_log(UTIL_LOG_ERROR, "cannot write %s", path);
    bmfDestroy(&font);
    pixDestroy(&out);
    return rc;
}

static void print_page(const char *file, int page, int pages, const seg_page *pg)
{
    printf("%s page %d/%d: %dx%d px, %d dpi%s, skew %+.2f deg, ", file, page, pages, pg->width,
           pg->height, pg->dpi, pg->dpi_assumed ? " (assumed)" : "", pg->skew_deg);
    if (pg->form[0])
        printf("form %s (score %.2f), %d field%s\n", pg->form, pg->form_score, pg->n_fields,
               pg->n_fields == 1 ? "" : "s");
    else
        printf("no form found%s%s\n", pg->note[0] ? ": " : "", pg->note);
    for (int i = 0; i < pg->n_fields; i++) {
        const seg_field *f = &pg->fields[i];
        const seg_split *s = f->n_splits ? &f->splits[0] : NULL;
        printf("  %-10s %-8s at %d,%d %dx%d: ", f->name, seg_field_type_name(f->type), f->x, f->y,
               f->w, f->h);
        if (!s || s->n == 0) {
            printf("empty\n");
            continue;
        }
        printf("%d digit%s", s->n, s->n == 1 ? "" : "s");
        if (f->type == SEG_FT_AMOUNT && s->n_int < s->n)
            printf(" (%d + %d cents)", s->n_int, s->n - s->n_int);
        if (f->n_splits > 1)
            printf(", %d splits", f->n_splits);
        if (f->doubt > 0)
            printf(", doubt %.2f", f->doubt);
        if (f->note[0])
            printf(" (%s)", f->note);
        printf(":");
        for (int k = 0; k < s->n; k++)
            printf(" %d,%d,%dx%d", s->glyphs[k].x, s->glyphs[k].y, s->glyphs[k].w, s->glyphs[k].h);
        printf("\n");
    }
}

int seg_cmd_run(const seg_cmd_opts *o)
{
    seg_form_set *set = NULL;
    seg_opts so = {0};
    char dir[4096];
    int rc = UTIL_OK, first_err = UTIL_OK;

    if (o->form && strcmp(o->form, "auto") == 0) {
        so.find = SEG_FIND_AUTO;
    } else {
        if (o->forms_dir)
            snprintf(dir, sizeof dir, "%s", o->forms_dir);
        else
            seg_forms_default_dir(dir, sizeof dir);
        if ((rc = seg_form_set_load(&set, dir)))
            return rc;
        so.forms = set;
        so.find = SEG_FIND_ANY;
        if (o->form) {
            if (!(so.form = seg_form_set_find(set, o->form))) {
                util_log(UTIL_LOG_ERROR, "no form template named '%s' in %s", o->form, dir);
                rc = UTIL_EINVAL;
                goto cleanup;
            }
            so.find = SEG_FIND_ONE;
        }
    }
    if (o->dump) {
        if (mkdir(o->dump, 0777) != 0 && errno != EEXIST) {
            util_log(UTIL_LOG_ERROR, "cannot create %s: %s", o->dump, strerror(errno));
            rc = UTIL_EIO;
            goto cleanup;
        }
        so.keep_page = 1;
    }
    for (int fi = 0; fi < o->n_files; fi++) {
        const char *file = o->files[fi];
        seg_doc *doc = NULL;
        int n;
        if ((rc = seg_doc_open(&doc, file))) {
            if (!first_err)
                first_err = rc;
            continue;
        }
        n = seg_doc_page_count(doc);
        for (int p = 0; p < n; p++) {
            PIX *pix = NULL;
            seg_page *pg = NULL;
            int dpi = 0, assumed = 0;
            if ((rc = seg_doc_read_page(doc, p, &pix, &dpi, &assumed)) ||
                (rc = seg_page_run(pix, dpi, &so, &pg))) {
                pixDestroy(&pix);
                if (!first_err)
                    first_err = rc;
                if (rc == UTIL_ENOMEM)
                    break;
                continue;
            }
            pg->dpi_assumed = assumed;
            print_page(file, p + 1, n, pg);
            if (o->dump) {
                char stem[256], path[4400];
                dump_stem(file, stem, sizeof stem);
                snprintf(path, sizeof path, "%s/%s-p%d.png", o->dump, stem, p + 1);
                rc = dump_overlay(pg, path);
                snprintf(path, sizeof path, "%s/%s-p%d-crops.png", o->dump, stem, p + 1);
                if (!rc)
                    rc = dump_crops(pg, path);
                if (rc && !first_err)
                    first_err = rc;
            }
            fflush(stdout);
            seg_page_destroy(&pg);
            pixDestroy(&pix);
        }
        seg_doc_destroy(&doc);
    }
    rc = first_err;
cleanup:
    seg_form_set_destroy(&set);
    return rc;
}
