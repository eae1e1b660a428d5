/*
 * test_segment.c - the segmentation stage as a whole (seg_page_run and
 * `docpipe segment`):
 *   - MNIST test digits written onto generated check and postal pages
 *     (`docpipe samples`) at 200 and 300 dpi come back, after deskew,
 *     registration, line removal and splitting, as crops the shipped model
 *     reads as the digits written, in fields whose digit count is right;
 *   - the skew found matches the skew applied, the right form is found;
 *   - `docpipe segment` reports broken files and odd pages one by one and
 *     goes on with the rest; --dump writes overlays a person can open.
 */
#include <allheaders.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "recognize/rec_classify.h"
#include "recognize/rec_engine.h"
#include "segment/seg_image.h"
#include "segment/segment.h"
#include "tests/tst.h"
#include "util/util.h"
#include "util/util_csv.h"

static char g_out[1 << 16];

typedef struct figures {
    long fields, counted, digits, agree, pages, form_ok;
    double skew_err_max;
} figures;

/* The truth text's digits ("1234.56" -> "123456", *pn_int 4). */
static int truth_digits(const char *text, char *digits, int *pn_int)
{
    int n = 0;
    *pn_int = -1;
    for (const char *s = text; *s && n < 40; s++) {
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
        else if (*s == '.')
            *pn_int = n;
    }
    digits[n] = '\0';
    if (*pn_int < 0)
        *pn_int = n;
    return n;
}

/*
 * run_set - segments every page listed in dir/pages.csv and scores it
 * against dir/truth.csv with the classifier.
 */
static int run_set(const char *dir, const seg_form_set *forms, rec_classifier *cls, figures *fg)
{
    char path[1200];
    util_csv *pages = NULL, *truth = NULL;
    char **f;
    int n, rc;
    seg_opts so = {SEG_FIND_ANY, forms, NULL, 0};

    memset(fg, 0, sizeof *fg);
    snprintf(path, sizeof path, "%s/pages.csv", dir);
    if ((rc = util_csv_open(&pages, path, 0)) || (rc = util_csv_next(pages, &f, &n)))
        return rc;
    while ((rc = util_csv_next(pages, &f, &n)) == UTIL_OK && n >= 5) {
        char file[256], form[64];
        int page = atoi(f[1]), dpi = 0, assumed = 0;
        double skew = atof(f[4]);
        seg_doc *doc = NULL;
        PIX *pix = NULL;
        seg_page *pg = NULL;
        snprintf(file, sizeof file, "%s", f[0]);
        snprintf(form, sizeof form, "%s", f[2]);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if ((rc = seg_doc_open(&doc, path)) || (rc = seg_doc_read_page(doc, page - 1, &pix, &dpi, &assumed)) ||
            (rc = seg_page_run(pix, dpi, &so, &pg))) {
            seg_doc_destroy(&doc);
            pixDestroy(&pix);
            break;
        }
        fg->pages++;
        fg->form_ok += strcmp(pg->form, form) == 0;
        if (fabs(pg->skew_deg + skew) > fg->skew_err_max)
            fg->skew_err_max = fabs(pg->skew_deg + skew);
        /* This page's truth rows. */
        snprintf(path, sizeof path, "%s/truth.csv", dir);
        if ((rc = util_csv_open(&truth, path, 0)) || (rc = util_csv_next(truth, &f, &n)))
            break;
        while ((rc = util_csv_next(truth, &f, &n)) == UTIL_OK && n == 5) {
            const seg_field *sf = NULL;
            char digits[48];
            int n_int, nd;
            if (strcmp(f[0], file) != 0 || atoi(f[1]) != page)
                continue;
            nd = truth_digits(f[4], digits, &n_int);
            for (int k = 0; k < pg->n_fields; k++)
                if (strcmp(pg->fields[k].name, f[2]) == 0)
                    sf = &pg->fields[k];
            fg->fields++;
            if (!sf || sf->n_splits == 0 || sf->splits[0].n != nd)
                continue;
            fg->counted++;
            if (nd > 0) {
                uint8_t px[40 * SEG_CROP_PIXELS];
                float probs[40 * 10];
                for (int k = 0; k < nd; k++)
                    memcpy(px + k * SEG_CROP_PIXELS, sf->splits[0].glyphs[k].crop, SEG_CROP_PIXELS);
                if ((rc = rec_classifier_run(cls, probs, px, nd)))
                    break;
                for (int k = 0; k < nd; k++) {
                    int best = 0;
                    for (int c = 1; c < 10; c++)
                        if (probs[k * 10 + c] > probs[k * 10 + best])
                            best = c;
                    fg->digits++;
                    fg->agree += best == digits[k] - '0';
                }
            }
        }
        util_csv_close(&truth);
        seg_page_destroy(&pg);
        pixDestroy(&pix);
        seg_doc_destroy(&doc);
        if (rc)
            break;
    }
    util_csv_close(&pages);
    return rc;
}

static void test_digits_on_pages(void)
{
    static const struct { int dpi, pages, seed; } sets[] = {{200, 14, 21}, {300, 10, 22}};
    seg_form_set *forms = NULL;
    rec_model *m = NULL;
    rec_engine *eng = NULL;
    rec_classifier *cls = NULL;
    const rec_engine_ops *ops = &rec_engine_cpu_ops;
    rec_engine_opts eo = {0, 0};

    if (!tst_file_exists("data/test_labeled.csv")) {
        tst_skip("data/test_labeled.csv missing (make data)");
        return;
    }
    if (seg_form_set_load(&forms, "forms") || rec_model_load(&m, "models/default.model", REC_MODEL_KIND_MODEL) ||
        ops->create(&eng, &eo) || rec_classifier_create(&cls, m, ops, eng, 64)) {
        TST_CHECK(0, "set-up: %s", util_last_error());
        goto cleanup;
    }
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char dir[700];
        figures fg;
        int rc;
        snprintf(dir, sizeof dir, "%s/s%d", tst_tmpdir(), sets[i].dpi);
        rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages %d --seed %d --dpi %d --kind mixed", dir, sets[i].pages,
                sets[i].seed, sets[i].dpi);
        TST_CHECK(rc == 0, "samples at %d dpi: %s", sets[i].dpi, g_out);
        if (rc)
            continue;
        rc = run_set(dir, forms, cls, &fg);
        TST_CHECK(rc == UTIL_OK && fg.pages == sets[i].pages, "%d dpi: %ld pages segmented (%s)",
                  sets[i].dpi, fg.pages, util_last_error());
        printf("%d dpi: %ld pages, forms right %ld, skew error max %.3f deg, fields counted right "
               "%ld/%ld (%.2f %%), crops read as written %ld/%ld (%.2f %%)\n",
               sets[i].dpi, fg.pages, fg.form_ok, fg.skew_err_max, fg.counted, fg.fields,
               100.0 * fg.counted / (fg.fields ? fg.fields : 1), fg.agree, fg.digits,
               100.0 * fg.agree / (fg.digits ? fg.digits : 1));
        TST_CHECK(fg.form_ok == fg.pages, "%d dpi: the right form on every page (%ld/%ld)", sets[i].dpi,
                  fg.form_ok, fg.pages);
        TST_CHECK(fg.skew_err_max < 0.2, "%d dpi: skew within 0.2 deg (max error %.3f)", sets[i].dpi,
                  fg.skew_err_max);
        /*
         * Floors, not the targets: issue 4 asks for 99 % on both, and the
         * stage is not there yet (make bench-segment on 200 pages: 93.6-94.6 %
         * of fields counted right, 97.5-98.4 % of crops read as written; see
         * README "Segmentation: measured").  The floors sit a little under
         * those figures, as these sets are small, so that a regression fails.
         */
        TST_CHECK(fg.counted >= 0.92 * fg.fields, "%d dpi: digit count right in >= 92 %% of fields (%ld/%ld)",
                  sets[i].dpi, fg.counted, fg.fields);
        TST_CHECK(fg.digits > 150 && fg.agree >= 0.965 * fg.digits,
                  "%d dpi: >= 96.5 %% of crops read as the digit written (%ld/%ld)", sets[i].dpi, fg.agree,
                  fg.digits);
    }
cleanup:
    rec_classifier_destroy(&cls);
    if (eng)
        ops->destroy(&eng);
    rec_model_destroy(&m);
    seg_form_set_destroy(&forms);
}

/* One PNG chunk with its CRC at b + *pn. */
static void png_chunk(uint8_t *b, size_t *pn, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t *c = b + *pn;
    uint32_t crc;
    for (int i = 0; i < 4; i++)
        c[i] = (uint8_t)(len >> (24 - 8 * i));
    memcpy(c + 4, type, 4);
    if (len)
        memcpy(c + 8, data, len);
    crc = (uint32_t)crc32(0, c + 4, 4 + len);
    for (int i = 0; i < 4; i++)
        c[8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
    *pn += 12 + len;
}

/* A well-formed PNG whose header claims w x h, 8-bit gray, with a tiny
 * IDAT: a decompression bomb's shape. */
static const char *png_claiming(const char *name, uint32_t w, uint32_t h)
{
    uint8_t b[128] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, ihdr[13] = {0}, idat[32];
    uLongf idat_len = sizeof idat;
    const uint8_t row[2] = {0, 255};
    size_t n = 8;
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)(w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    }
    ihdr[8] = 8; /* 8-bit gray */
    compress(idat, &idat_len, row, sizeof row);
    png_chunk(b, &n, "IHDR", ihdr, 13);
    png_chunk(b, &n, "IDAT", idat, (uint32_t)idat_len);
    png_chunk(b, &n, "IEND", NULL, 0);
    return tst_write_file(name, b, n);
}

/* has_line - 1 when some line of g_out holds both a and b. */
static int has_line(const char *a, const char *b)
{
    const char *s = g_out;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), s);
        if (strstr(line, a) && strstr(line, b))
            return 1;
        s += len + (e ? 1 : 0);
    }
    return 0;
}

/* The first half of a file, written under a new name. */
static const char *truncated(const char *src, const char *name)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *p;
    if (util_file_read(src, 0, &buf, &len))
        return NULL;
    p = tst_write_file(name, buf, len / 2);
    free(buf);
    return p;
}

static void test_cli(void)
{
    char good[600], cmd[6000], dump[700], paths[9][600];
    const char *p;
    PIX *pix;
    int rc;

    snprintf(good, sizeof good, "samples/scans/doc0003.jpg");
    if (!tst_file_exists(good)) {
        tst_skip("samples/scans missing");
        return;
    }
    rc = tst_run_bin(g_out, sizeof g_out, "segment %s", good);
    TST_CHECK(rc == 0 && strstr(g_out, "page 1/1") && strstr(g_out, "form postal") &&
                  strstr(g_out, "zip_old") && strstr(g_out, "account"),
              "a good page: exit 0, its form and fields (%d: %.300s)", rc, g_out);

    /* Broken files, odd pages, then a good one: each named, the rest goes on. */
    snprintf(paths[0], 600, "%s", tst_write_file("empty.png", "", 0));
    snprintf(paths[1], 600, "%s", tst_write_file("text.tif", "hello, not an image\n", 20));
    snprintf(paths[2], 600, "%s", (p = truncated("samples/scans/doc0001.tif", "cut.tif")) ? p : "x");
    snprintf(paths[3], 600, "%s", (p = truncated("samples/scans/doc0002.png", "cut.png")) ? p : "x");
    snprintf(paths[4], 600, "%s", (p = truncated("samples/scans/doc0003.jpg", "cut.jpg")) ? p : "x");
    snprintf(paths[5], 600, "%s", png_claiming("huge.png", 100000, 100000));
    pix = pixCreate(1700, 2200, 8);
    pixSetAll(pix);
    pixSetResolution(pix, 200, 200);
    snprintf(paths[6], 600, "%s/blank.png", tst_tmpdir());
    pixWrite(paths[6], pix, IFF_PNG);
    {
        L_BMF *font = bmfCreate(NULL, 14);
        for (int y = 200; y < 2000 && font; y += 120)
            pixSetTextline(pix, font, "Dear customer, this letter holds no form at all.", 0, 150, y,
                           NULL, NULL);
        bmfDestroy(&font);
    }
    snprintf(paths[7], 600, "%s/letter.png", tst_tmpdir());
    pixWrite(paths[7], pix, IFF_PNG);
    pixDestroy(&pix);
    snprintf(paths[8], 600, "/nonexistent/scan.tif");
    snprintf(cmd, sizeof cmd, "segment");
    for (int i = 0; i < 9; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", paths[i]);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", good);
    rc = tst_run_bin(g_out, sizeof g_out, "%s", cmd);
    TST_CHECK(rc == 1, "broken files in the batch: exit 1 (%d)", rc);
    TST_CHECK(strstr(g_out, "form postal") != NULL, "the good file after the broken ones is still read");
    {
        static const char *names[] = {"empty.png", "text.tif", "cut.tif", "cut.png", "cut.jpg",
                                      "huge.png", "/nonexistent/scan.tif"};
        for (int i = 0; i < 7; i++) {
            TST_CHECK(has_line(names[i], "error:"), "%s is named with an error", names[i]);
        }
        TST_CHECK(has_line("huge.png", "100000"), "the huge header's size is said");
    }
    {
        const char *b = strstr(g_out, "blank.png page 1/1");
        const char *l = strstr(g_out, "letter.png page 1/1");
        TST_CHECK(b && strstr(b, "no form found"), "a blank page: no form found");
        TST_CHECK(l && strstr(l, "no form found"), "a letter without a form: no form found");
    }
    TST_CHECK(strstr(g_out, "Segmentation") == NULL && strstr(g_out, "AddressSanitizer") == NULL,
              "no crash");

    /* --form: a named template, auto, and an unknown name. */
    rc = tst_run_bin(g_out, sizeof g_out, "segment --form us-check samples/scans/doc0001.tif");
    TST_CHECK(rc == 0 && strstr(g_out, "form us-check") && strstr(g_out, "amount"), "--form us-check");
    rc = tst_run_bin(g_out, sizeof g_out, "segment --form us-check %s", good);
    TST_CHECK(rc == 0 && strstr(g_out, "form us-check not found"), "--form us-check on a postal page: not found");
    rc = tst_run_bin(g_out, sizeof g_out, "segment --form auto %s", good);
    TST_CHECK(rc == 0 && strstr(g_out, "form auto") && strstr(g_out, "auto1"), "--form auto finds fields");
    rc = tst_run_bin(g_out, sizeof g_out, "segment --form nope %s", good);
    TST_CHECK(rc == 1 && strstr(g_out, "no form template named 'nope'"), "--form with an unknown name");
    rc = tst_run_bin(g_out, sizeof g_out, "segment");
    TST_CHECK(rc == 2 && strstr(g_out, "usage"), "no file: usage, exit 2");

    /* --dump: an overlay and the crops, valid PNGs. */
    snprintf(dump, sizeof dump, "%s/dump", tst_tmpdir());
    rc = tst_run_bin(g_out, sizeof g_out, "segment --dump %s %s samples/scans/doc0001.tif", dump, good);
    TST_CHECK(rc == 0 && tst_count_in_dir(dump, ".png") == 4, "--dump writes 2 PNGs per page (%d)",
              tst_count_in_dir(dump, ".png"));
    snprintf(cmd, sizeof cmd, "%s/doc0003.jpg-p1.png", dump);
    pix = pixRead(cmd);
    TST_CHECK(pix && pixGetWidth(pix) == 850 && pixGetDepth(pix) == 32, "overlay: half-size color page");
    pixDestroy(&pix);
    snprintf(cmd, sizeof cmd, "%s/doc0003.jpg-p1-crops.png", dump);
    pix = pixRead(cmd);
    TST_CHECK(pix && pixGetHeight(pix) == 8 * (2 * SEG_CROP + 4), "crops: one row per field");
    pixDestroy(&pix);
}

int main(void)
{
    util_log_set_level(-1);
    setMsgSeverity(L_SEVERITY_NONE);
    test_cli();
    test_digits_on_pages();
    return tst_done();
}
