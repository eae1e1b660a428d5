/*
 * smp_gen.c - the sample set: planning documents and their formats, drawing
 * each page, writing the image files and the two truth tables.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <allheaders.h>

#include "samples/smp_gen.h"
#include "samples/smp_page.h"
#include "segment/seg_form.h"
#include "util/util.h"

/* File formats of a document. */
enum { F_G4, F_PNG, F_JPEG, F_LZW, F_ZIP };

static const char *const FORM_NAMES[3] = {NULL, "us-check", "postal"};

void smp_opts_default(smp_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->kind = SMP_KIND_MIXED;
    o->dpi = 300;
    o->digits = "data/test_labeled.csv";
    o->touch = 1.0;
}

int smp_kind_parse(const char *s, int *pkind)
{
    static const char *const names[3] = {"mixed", "check", "postal"};
    *pkind = -1;
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *pkind = i;
            return UTIL_OK;
        }
    return UTIL_EINVAL;
}

/* One CSV field per RFC 4180: quoted when it holds a comma, a quote, CR or
 * LF, or starts or ends with a space. */
static void csv_put(FILE *fp, const char *s)
{
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\r\n") && !(n && (s[0] == ' ' || s[n - 1] == ' '))) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* The encoded bytes of a document's pages in its format. */
static int encode(PIXA *pixa, int fmt, int quality, const char *name, l_uint8 **pdata,
                  size_t *psize)
{
    int n = pixaGetCount(pixa), bad = 0;
    FILE *fp = NULL;

    *pdata = NULL, *psize = 0;
    if (n == 1 && fmt != F_LZW && fmt != F_ZIP && fmt != F_G4) {
        PIX *pix = pixaGetPix(pixa, 0, L_CLONE);
        bad = fmt == F_JPEG ? pixWriteMemJpeg(pdata, psize, pix, quality, 0)
                            : pixWriteMemPng(pdata, psize, pix, 0.0f);
        pixDestroy(&pix);
    } else {
        int comp = fmt == F_G4 ? IFF_TIFF_G4 : fmt == F_LZW ? IFF_TIFF_LZW : IFF_TIFF_ZIP;
        fp = tmpfile();
        if (!fp) {
            util_log(UTIL_LOG_ERROR, "%s: cannot make a temporary file: %s", name,
                     strerror(errno));
            return UTIL_EIO;
        }
        for (int i = 0; i < n && !bad; i++) {
            PIX *pix = pixaGetPix(pixa, i, L_CLONE);
            bad = pixWriteStreamTiffWA(fp, pix, comp, i == 0 ? "w" : "a");
            pixDestroy(&pix);
        }
        if (!bad) {
            rewind(fp);
            *pdata = l_binaryReadStream(fp, psize);
            bad = *pdata == NULL;
        }
        fclose(fp);
    }
    if (bad || !*pdata) {
        util_log(UTIL_LOG_ERROR, "%s: Leptonica could not encode the image", name);
        free(*pdata);
        *pdata = NULL;
        return UTIL_EIO;
    }
    return UTIL_OK;
}

static int write_bytes(const char *path, const l_uint8 *data, size_t size)
{
    util_afile *af = NULL;
    int rc = util_afile_open(&af, path);
    if (rc)
        return rc;
    if (fwrite(data, 1, size, af->fp) != size) {
        util_log(UTIL_LOG_ERROR, "%s: write failed: %s", path, strerror(errno));
        util_afile_abort(&af);
        return UTIL_EIO;
    }
    return util_afile_commit(&af);
}

static int make_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        util_log(UTIL_LOG_ERROR, "%s: cannot create the output folder: %s", dir,
                 strerror(errno));
        return UTIL_EIO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        util_log(UTIL_LOG_ERROR, "%s: not a folder", dir);
        return UTIL_EIO;
    }
    return UTIL_OK;
}

/* Picks the forms the kind needs from the set. */
static int find_forms(const seg_form_set *set, const char *dir, int kind,
                      const seg_form *forms[3])
{
    for (int k = 1; k <= 2; k++) {
        forms[k] = NULL;
        if (kind != SMP_KIND_MIXED && kind != k)
            continue;
        forms[k] = seg_form_set_find(set, FORM_NAMES[k]);
        if (!forms[k]) {
            util_log(UTIL_LOG_ERROR, "%s: no template named %s (forms/%s.form is needed)", dir,
                     FORM_NAMES[k], FORM_NAMES[k]);
            return UTIL_EINVAL;
        }
    }
    return UTIL_OK;
}

int smp_run(const smp_opts *o)
{
    char forms_dir[4096], path[4200], name[64];
    seg_form_set *set = NULL;
    smp_bank *bank = NULL;
    const seg_form *forms[3] = {0};
    util_afile *truth = NULL, *pages = NULL, *sources = NULL;
    PIXA *pixa = NULL;
    l_uint8 *data = NULL;
    size_t size = 0;
    int rc = UTIL_OK, page_no = 0, doc_no = 0;
    smp_page pg;

    memset(&pg, 0, sizeof pg);
    if (!o->out || !*o->out || o->pages < 1 || (o->dpi != 200 && o->dpi != 300) ||
        o->kind < 0 || o->kind > 2) {
        util_log(UTIL_LOG_ERROR, "samples: %s",
                 !o->out || !*o->out ? "no output folder given"
                 : o->pages < 1      ? "the number of pages must be at least 1"
                 : o->kind < 0 || o->kind > 2 ? "the kind must be check, postal or mixed"
                                              : "the dpi must be 200 or 300");
        return UTIL_EINVAL;
    }
    setMsgSeverity(L_SEVERITY_NONE);
    if (o->forms)
        snprintf(forms_dir, sizeof forms_dir, "%s", o->forms);
    else
        seg_forms_default_dir(forms_dir, sizeof forms_dir);
    if ((rc = seg_form_set_load(&set, forms_dir)) ||
        (rc = find_forms(set, forms_dir, o->kind, forms)) ||
        (rc = smp_bank_load(&bank, o->digits)) || (rc = make_dir(o->out)))
        goto cleanup;
    snprintf(path, sizeof path, "%s/truth.csv", o->out);
    if ((rc = util_afile_open(&truth, path)))
        goto cleanup;
    snprintf(path, sizeof path, "%s/pages.csv", o->out);
    if ((rc = util_afile_open(&pages, path)))
        goto cleanup;
    snprintf(path, sizeof path, "%s/sources.csv", o->out);
    if ((rc = util_afile_open(&sources, path)))
        goto cleanup;
    fputs("file,page,field,type,text\n", truth->fp);
    fputs("file,page,field,pos,row\n", sources->fp);
    fputs("file,page,form,dpi,skew_deg,dx_px,dy_px,scale\n", pages->fp);

    util_rng plan;
    util_rng_seed(&plan, util_key(o->seed, 0x5a3d1e, 0, 0));
    while (page_no < o->pages) {
        int left = o->pages - page_no, n = 1, fmt, quality = 0;
        if (left >= 2 && smp_rand(&plan, 0, 1) < 0.2)
            n = 2 + (int)util_rng_below(&plan, 3);
        n = n > left ? left : n;
        double r = smp_rand(&plan, 0, 1);
        if (n > 1)
            fmt = r < 0.5 ? F_G4 : r < 0.75 ? F_LZW : F_ZIP;
        else
            fmt = r < 0.25 ? F_G4 : r < 0.5 ? F_PNG : r < 0.85 ? F_JPEG : F_LZW;
        if (fmt == F_JPEG)
            quality = 70 + (int)util_rng_below(&plan, 21);
        snprintf(name, sizeof name, "doc%04d.%s", ++doc_no,
                 fmt == F_PNG ? "png" : fmt == F_JPEG ? "jpg" : "tif");
        pixa = pixaCreate(n);
        if (!pixa) {
            util_log(UTIL_LOG_ERROR, "out of memory");
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        for (int i = 0; i < n; i++, page_no++) {
            int kind = o->kind;
            util_rng pick;
            util_rng_seed(&pick, util_key(o->seed, (uint64_t)page_no, 1, 0));
            if (kind == SMP_KIND_MIXED)
                kind = smp_rand(&pick, 0, 1) < 0.5 ? SMP_KIND_CHECK : SMP_KIND_POSTAL;
            const seg_form *f = forms[kind];
            if ((rc = smp_page_make(&pg, bank, f, o->dpi, kind == SMP_KIND_CHECK, fmt == F_G4,
                                    o->touch, util_key(o->seed, (uint64_t)page_no, 2, 0))))
                goto cleanup;
            PIX *out = fmt == F_G4 ? pixThresholdToBinary(pg.pix, 140) : pixClone(pg.pix);
            if (!out) {
                util_log(UTIL_LOG_ERROR, "%s: out of memory", name);
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
            pixSetResolution(out, o->dpi, o->dpi);
            pixaAddPix(pixa, out, L_INSERT);
            for (int k = 0; k < f->n_fields; k++) {
                fprintf(truth->fp, "%s,%d,", name, i + 1);
                csv_put(truth->fp, f->fields[k].name);
                fputc(',', truth->fp);
                csv_put(truth->fp, seg_field_type_name(f->fields[k].type));
                fputc(',', truth->fp);
                csv_put(truth->fp, pg.values[k].truth);
                fputc('\n', truth->fp);
                for (int d = 0; d < pg.values[k].n; d++) {
                    if (pg.values[k].src[d] < 0)
                        continue;
                    fprintf(sources->fp, "%s,%d,", name, i + 1);
                    csv_put(sources->fp, f->fields[k].name);
                    fprintf(sources->fp, ",%d,%d\n", d, pg.values[k].src[d]);
                }
            }
            fprintf(pages->fp, "%s,%d,", name, i + 1);
            csv_put(pages->fp, f->name);
            fprintf(pages->fp, ",%d,%.2f,%d,%d,%.4f\n", o->dpi, pg.skew_deg, pg.dx, pg.dy,
                    pg.scale);
            smp_page_free(&pg);
        }
        snprintf(path, sizeof path, "%s/%s", o->out, name);
        if ((rc = encode(pixa, fmt, quality, path, &data, &size)) ||
            (rc = write_bytes(path, data, size)))
            goto cleanup;
        free(data);
        data = NULL;
        pixaDestroy(&pixa);
    }
    if ((rc = util_afile_commit(&truth)) || (rc = util_afile_commit(&pages)) ||
        (rc = util_afile_commit(&sources)))
        goto cleanup;
    util_log(UTIL_LOG_INFO, "wrote %d pages in %d files, truth.csv, pages.csv and sources.csv to %s",
             o->pages, doc_no, o->out);
cleanup:
    smp_page_free(&pg);
    free(data);
    pixaDestroy(&pixa);
    util_afile_abort(&truth);
    util_afile_abort(&pages);
    util_afile_abort(&sources);
    smp_bank_destroy(&bank);
    seg_form_set_destroy(&set);
    return rc;
}
