/*
 * test_samples.c - the sample generator (samples/, `docpipe samples`):
 * a small mixed set at 200 dpi from a few hundred MNIST test digits is
 * checked file by file (formats, page counts, dpi, sizes), row by row
 * (truth.csv and pages.csv: header, RFC 4180 fields, one row per field per
 * page, texts valid for their field; sources.csv: one row per digit written,
 * naming a row of the digits file with that digit's label), against the pixels (the placement
 * in pages.csv puts the form's marks and frames on ink, and with blank
 * digits nothing is written inside the fields), for determinism (same
 * seed, same bytes; another seed, other bytes), and for refusals (a bad
 * digits row named by file and line, bad options through the CLI).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <allheaders.h>

#include "samples/smp_gen.h"
#include "samples/smp_pairs.h"
#include "segment/seg_form.h"
#include "tests/tst.h"
#include "train/trn_data.h"
#include "util/util.h"

#define MAX_ROWS 1024
#define MAX_COLS 12
#define SEED 6
#define PAGES 6

static char g_dir[600];
static char g_out[1 << 16];
static seg_form_set *g_forms;

static const char *tmp(const char *name)
{
    static char paths[8][800];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 800, "%s/%s", g_dir, name);
    return p;
}

static int has(const char *frag) { return strstr(g_out, frag) != NULL; }

/* ------------------------------------------------------------- CSV */

/* A table read by an independent RFC 4180 parser: LF or CRLF line ends,
 * quoted fields with "" for a quote.  ok is 0 on any syntax error. */
typedef struct table {
    int n;              /* rows, header included */
    int cols[MAX_ROWS];
    char *f[MAX_ROWS][MAX_COLS];
    int ok;
} table;

static void table_free(table *t)
{
    for (int r = 0; r < t->n; r++)
        for (int c = 0; c < t->cols[r]; c++)
            free(t->f[r][c]);
    memset(t, 0, sizeof *t);
}

static int table_read(table *t, const char *path)
{
    char *text = tst_read_text(path), *s = text;
    memset(t, 0, sizeof *t);
    if (!text)
        return 0;
    t->ok = 1;
    while (*s && t->n < MAX_ROWS) {
        int r = t->n++;
        for (;;) {
            char buf[512];
            size_t k = 0;
            if (*s == '"') {
                s++;
                for (;;) {
                    if (!*s) {
                        t->ok = 0;
                        break;
                    }
                    if (*s == '"' && s[1] == '"')
                        s++;
                    else if (*s == '"')
                        break;
                    if (k < sizeof buf - 1)
                        buf[k++] = *s;
                    s++;
                }
                if (*s == '"')
                    s++;
                if (*s != ',' && *s != '\n' && *s != '\r' && *s)
                    t->ok = 0;
            } else {
                while (*s && *s != ',' && *s != '\n' && *s != '\r') {
                    if (*s == '"')
                        t->ok = 0;
                    if (k < sizeof buf - 1)
                        buf[k++] = *s;
                    s++;
                }
            }
            buf[k] = '\0';
            if (t->cols[r] < MAX_COLS)
                t->f[r][t->cols[r]++] = strdup(buf);
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == '\r')
                s++;
            if (*s == '\n')
                s++;
            else if (*s)
                t->ok = 0;
            break;
        }
        if (!t->ok)
            break;
    }
    free(text);
    return t->ok;
}

/* ------------------------------------------------------------- texts */

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int valid_date(const char *s)
{
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!all_digits(s, 8))
        return 0;
    int m = (s[0] - '0') * 10 + s[1] - '0', d = (s[2] - '0') * 10 + s[3] - '0';
    int y = atoi(s + 4);
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1] || y < 1900 || y > 2100)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* Whether text is a valid truth text for field f (blank allowed when
 * may_blank).  Amounts: 0 or 1-5 digits without a leading zero, a point,
 * the field's cents; digit counts within the field's range. */
static int valid_text(const seg_form_field *f, const char *s, int may_blank)
{
    size_t n = strlen(s);
    if (n == 0)
        return may_blank;
    switch (f->type) {
    case SEG_FT_AMOUNT: {
        const char *dot = strchr(s, '.');
        if (!dot || !all_digits(dot + 1, (size_t)f->cents))
            return 0;
        size_t ni = (size_t)(dot - s);
        char ip[16];
        if (ni < 1 || ni > 5)
            return 0;
        memcpy(ip, s, ni);
        ip[ni] = '\0';
        if (!all_digits(ip, ni) || (ni > 1 && s[0] == '0'))
            return 0;
        int total = (int)ni + f->cents;
        return total >= f->min_digits && total <= f->max_digits;
    }
    case SEG_FT_POSTCODE:
        if (f->cells == 9)
            return n == 10 && s[5] == '-' && all_digits(s + 6, 4) &&
                   strspn(s, "0123456789") == 5;
        return all_digits(s, 5);
    case SEG_FT_DATE:
        return valid_date(s);
    default:
        if (!all_digits(s, n) || (int)n < f->min_digits || (int)n > f->max_digits)
            return 0;
        if (strcmp(f->name, "phone") == 0)
            return n == 10 && s[0] >= '2' && s[3] >= '2';
        return f->min_digits == f->max_digits || s[0] != '0';
    }
}

static void test_texts_checker(void)
{
    /* The checker itself must refuse what the generator must not write. */
    const seg_form *pst = seg_form_set_find(g_forms, "postal");
    const seg_form *chk = seg_form_set_find(g_forms, "us-check");
    const seg_form_field *amt = &chk->fields[0], *zip9 = NULL, *wt = NULL;
    for (int i = 0; i < pst->n_fields; i++) {
        if (strcmp(pst->fields[i].name, "zip_new") == 0)
            zip9 = &pst->fields[i];
        if (strcmp(pst->fields[i].name, "weight") == 0)
            wt = &pst->fields[i];
    }
    TST_CHECK(zip9 && wt, "postal has zip_new and weight");
    if (!zip9 || !wt)
        return;
    TST_CHECK(valid_text(amt, "1234.56", 0) && valid_text(amt, "0.07", 0) &&
                  valid_text(amt, "99999.99", 0),
              "checker: good amounts");
    TST_CHECK(!valid_text(amt, "1,234.56", 0) && !valid_text(amt, "01.00", 0) &&
                  !valid_text(amt, "123456.00", 0) && !valid_text(amt, "12.5", 0) &&
                  !valid_text(amt, "", 0),
              "checker: bad amounts");
    TST_CHECK(valid_text(zip9, "12345-6789", 1) && !valid_text(zip9, "123456789", 1) &&
                  !valid_text(zip9, "1234-56789", 1),
              "checker: ZIP+4");
    TST_CHECK(!valid_text(wt, "0123", 1) && !valid_text(wt, "12345", 1) &&
                  valid_text(wt, "9", 1),
              "checker: weight");
}

/* ------------------------------------------------------------- pixels */

typedef struct place {
    double skew, scale;
    int dx, dy, dpi;
} place;

/* A form point (inches) on the scanned page, by pages.csv's convention. */
static void map_point(const place *p, PIX *pix, double u, double v, double *px, double *py)
{
    double cx = pixGetWidth(pix) / 2.0, cy = pixGetHeight(pix) / 2.0;
    double a = p->skew * M_PI / 180, X = p->dx + u * p->dpi * p->scale - cx;
    double Y = p->dy + v * p->dpi * p->scale - cy;
    *px = cx + X * cos(a) - Y * sin(a);
    *py = cy + X * sin(a) + Y * cos(a);
}

/* The darkest value in the 5 x 5 pixels around (x, y). */
static int darkest(PIX *pix8, double x, double y)
{
    int best = 255;
    for (int j = -2; j <= 2; j++)
        for (int i = -2; i <= 2; i++) {
            l_uint32 v;
            if (pixGetPixel(pix8, (int)lround(x) + i, (int)lround(y) + j, &v) == 0 &&
                (int)v < best)
                best = (int)v;
        }
    return best;
}

/* Pixels darker than 170 (pen or pencil) inside the area of each field but amounts (whose
 * points, commas and underlines are not digits), inset by 0.07 in. */
static int ink_in_fields(const seg_form *f, const place *p, PIX *pix8)
{
    int dark = 0;
    for (int k = 0; k < f->n_fields; k++) {
        const seg_rect *r = &f->fields[k].r;
        if (f->fields[k].type == SEG_FT_AMOUNT)
            continue;
        double step = 1.0 / p->dpi;
        for (double v = r->y + 0.07; v < r->y + r->h - 0.07; v += step)
            for (double u = r->x + 0.07; u < r->x + r->w - 0.07; u += step * 2) {
                double x, y;
                l_uint32 val;
                if (f->fields[k].frame == SEG_FRAME_COMB) {
                    double cw = r->w / (f->fields[k].cells + (f->fields[k].dash ? 0.5 : 0));
                    double rel = u - r->x;
                    if (f->fields[k].dash && rel > (f->fields[k].dash + 0.5) * cw)
                        rel -= 0.5 * cw; /* the cells after the dash's half-cell gap */
                    double off = fmod(rel, cw);
                    if (off < 0.05 || off > cw - 0.05)
                        continue; /* a separator or the dash */
                    if (f->fields[k].dash && u - r->x > f->fields[k].dash * cw - 0.05 &&
                        u - r->x < (f->fields[k].dash + 0.5) * cw + 0.05)
                        continue;
                }
                map_point(p, pix8, u, v, &x, &y);
                if (pixGetPixel(pix8, (int)lround(x), (int)lround(y), &val) == 0 && val < 170)
                    dark++;
            }
    }
    return dark;
}

static PIX *read_page(const char *path, int page)
{
    int fmt = IFF_UNKNOWN;
    FILE *fp = fopen(path, "rb");
    PIX *pix;
    if (!fp)
        return NULL;
    findFileFormatStream(fp, &fmt);
    fclose(fp);
    if (fmt == IFF_TIFF || fmt == IFF_TIFF_G4 || fmt == IFF_TIFF_LZW || fmt == IFF_TIFF_ZIP)
        pix = pixReadTiff(path, page - 1);
    else
        pix = page == 1 ? pixRead(path) : NULL;
    return pix;
}

static int tiff_pages(const char *path)
{
    int n = -1;
    FILE *fp = fopen(path, "rb");
    if (fp) {
        if (tiffGetCount(fp, &n))
            n = -1;
        fclose(fp);
    }
    return n;
}

/* ------------------------------------------------------------- the set */

/* sources.csv of the set in dir against its truth tr: for each truth row,
 * in order, one row per digit of its text (the point and the dash are no
 * digits) with pos 0, 1, ... and a row of the digits file whose label is
 * that digit. */
static void check_sources(const char *dir, const table *tr, const char *digits)
{
    static table sr; /* too large for the stack */
    trn_data *bank = NULL;
    char path[900];
    int srow = 1;

    snprintf(path, sizeof path, "%s/sources.csv", dir);
    TST_CHECK(table_read(&sr, path) && sr.ok, "%s: RFC 4180", path);
    char *head = tst_read_text(path);
    TST_CHECK(head && strncmp(head, "file,page,field,pos,row\n", 24) == 0, "sources.csv header");
    free(head);
    TST_CHECK(trn_data_load_csv(&bank, digits, TRN_LABELS_REQUIRED) == UTIL_OK, "%s loads",
              digits);
    for (int r = 1; bank && r < tr->n && tr->cols[r] == 5; r++) {
        int pos = 0;
        for (const char *c = tr->f[r][4]; *c; c++) {
            if (*c < '0' || *c > '9')
                continue;
            if (srow >= sr.n || sr.cols[srow] != 5) {
                TST_CHECK(0, "sources.csv: no row for digit %d of %s p%s %s", pos, tr->f[r][0],
                          tr->f[r][1], tr->f[r][2]);
                goto done;
            }
            char **s = sr.f[srow++];
            int row = atoi(s[4]);
            TST_CHECK(strcmp(s[0], tr->f[r][0]) == 0 && strcmp(s[1], tr->f[r][1]) == 0 &&
                          strcmp(s[2], tr->f[r][2]) == 0 && atoi(s[3]) == pos,
                      "sources.csv row %d: %s,%s,%s,%s for digit %d of %s p%s %s", srow - 1, s[0],
                      s[1], s[2], s[3], pos, tr->f[r][0], tr->f[r][1], tr->f[r][2]);
            TST_CHECK(row >= 0 && row < bank->n && bank->labels[row] == *c - '0',
                      "sources.csv row %d: digits row %d is a %d, the truth says %c", srow - 1,
                      row, row >= 0 && row < bank->n ? bank->labels[row] : -1, *c);
            pos++;
        }
    }
    TST_CHECK(srow == sr.n, "sources.csv: %d rows, %d digits written", sr.n - 1, srow - 1);
done:
    trn_data_destroy(&bank);
    table_free(&sr);
}

/* Checks one generated set in dir, drawn from the digits file digits;
 * returns the dark pixel count inside the fields over all pages (0 when
 * nothing was written). */
static long check_set(const char *dir, const char *digits, int pages, int dpi, int *pmulti,
                      int *pg4)
{
    table tr, pc;
    char path[900];
    long ink = 0;
    int multi = 0, g4 = 0;

    snprintf(path, sizeof path, "%s/truth.csv", dir);
    TST_CHECK(table_read(&tr, path), "%s: RFC 4180", path);
    snprintf(path, sizeof path, "%s/pages.csv", dir);
    TST_CHECK(table_read(&pc, path), "%s: RFC 4180", path);
    char *head = tst_read_text(path);
    TST_CHECK(head && strncmp(head, "file,page,form,dpi,skew_deg,dx_px,dy_px,scale\n", 46) == 0,
              "pages.csv header");
    free(head);
    snprintf(path, sizeof path, "%s/truth.csv", dir);
    head = tst_read_text(path);
    TST_CHECK(head && strncmp(head, "file,page,field,type,text\n", 26) == 0, "truth.csv header");
    free(head);
    TST_CHECK(pc.n == pages + 1, "pages.csv: %d rows for %d pages", pc.n - 1, pages);

    int trow = 1;
    for (int r = 1; r < pc.n; r++) {
        if (pc.cols[r] != 8) {
            TST_CHECK(0, "pages.csv row %d: %d columns", r, pc.cols[r]);
            continue;
        }
        const char *file = pc.f[r][0];
        int page = atoi(pc.f[r][1]);
        const seg_form *f = seg_form_set_find(g_forms, pc.f[r][2]);
        place pl = {atof(pc.f[r][4]), atof(pc.f[r][7]), atoi(pc.f[r][5]), atoi(pc.f[r][6]),
                    atoi(pc.f[r][3])};
        int is_check = f && strcmp(f->name, "us-check") == 0;
        TST_CHECK(f != NULL, "pages.csv row %d: form %s", r, pc.f[r][2]);
        TST_CHECK(pl.dpi == dpi && fabs(pl.skew) <= 5.0 && pl.scale >= 0.98 && pl.scale <= 1.02,
                  "pages.csv row %d: dpi %d skew %g scale %g", r, pl.dpi, pl.skew, pl.scale);
        if (!f)
            continue;
        /* Rows of truth.csv: this page's fields, in the template's order. */
        for (int k = 0; k < f->n_fields; k++, trow++) {
            if (trow >= tr.n || tr.cols[trow] != 5) {
                TST_CHECK(0, "truth.csv: missing row for %s page %d field %s", file, page,
                          f->fields[k].name);
                break;
            }
            char **row = tr.f[trow];
            TST_CHECK(strcmp(row[0], file) == 0 && atoi(row[1]) == page &&
                          strcmp(row[2], f->fields[k].name) == 0 &&
                          strcmp(row[3], seg_field_type_name(f->fields[k].type)) == 0,
                      "truth.csv row %d: %s,%s,%s,%s for %s page %d field %s", trow, row[0],
                      row[1], row[2], row[3], file, page, f->fields[k].name);
            TST_CHECK(valid_text(&f->fields[k], row[4], !is_check),
                      "truth.csv row %d: text \"%s\" for %s", trow, row[4], f->fields[k].name);
        }
        /* The page itself. */
        snprintf(path, sizeof path, "%s/%s", dir, file);
        PIX *pix = read_page(path, page);
        TST_CHECK(pix != NULL, "%s page %d loads", path, page);
        if (!pix)
            continue;
        int fmt = IFF_UNKNOWN;
        FILE *fp = fopen(path, "rb");
        if (fp) {
            findFileFormatStream(fp, &fmt);
            fclose(fp);
        }
        if (strstr(file, ".tif")) {
            int n = tiff_pages(path), listed = 0;
            for (int q = 1; q < pc.n; q++)
                listed += strcmp(pc.f[q][0], file) == 0;
            TST_CHECK(n == listed, "%s: %d TIFF pages, %d listed", file, n, listed);
            multi |= n > 1;
        }
        g4 |= fmt == IFF_TIFF_G4;
        TST_CHECK(pixGetDepth(pix) == (fmt == IFF_TIFF_G4 ? 1 : 8), "%s: depth %d", file,
                  pixGetDepth(pix));
        TST_CHECK(pixGetXRes(pix) == dpi && pixGetYRes(pix) == dpi, "%s: dpi %d", file,
                  pixGetXRes(pix));
        int ew = (int)lround((f->width + (is_check ? 0.7 : 0)) * dpi);
        int eh = (int)lround((f->height + (is_check ? 0.6 : 0)) * dpi);
        TST_CHECK(pixGetWidth(pix) == ew && pixGetHeight(pix) == eh, "%s: %dx%d, wanted %dx%d",
                  file, pixGetWidth(pix), pixGetHeight(pix), ew, eh);
        PIX *pix8 = pixConvertTo8(pix, 0);
        /* The placement puts every mark's center, and the corners of every
         * framed field, on ink; a point in the blank middle of a postal
         * form is paper. */
        for (int k = 0; k < f->n_features && pix8; k++) {
            const seg_rect *q = &f->features[k].r;
            double x, y;
            if (f->features[k].kind != SEG_FEAT_MARK)
                continue;
            map_point(&pl, pix8, q->x + q->w / 2, q->y + q->h / 2, &x, &y);
            TST_CHECK(darkest(pix8, x, y) < 110, "%s p%d: mark %d at (%.0f, %.0f) is ink (%d)",
                      file, page, k, x, y, darkest(pix8, x, y));
        }
        for (int k = 0; k < f->n_fields && pix8; k++) {
            const seg_rect *q = &f->fields[k].r;
            double x, y;
            if (f->fields[k].frame != SEG_FRAME_BOX && f->fields[k].frame != SEG_FRAME_COMB)
                continue;
            map_point(&pl, pix8, q->x, q->y, &x, &y);
            TST_CHECK(darkest(pix8, x, y) < 110, "%s p%d: %s top-left corner on ink (%d)", file,
                      page, f->fields[k].name, darkest(pix8, x, y));
            map_point(&pl, pix8, q->x + q->w, q->y + q->h, &x, &y);
            TST_CHECK(darkest(pix8, x, y) < 110, "%s p%d: %s bottom-right corner on ink (%d)",
                      file, page, f->fields[k].name, darkest(pix8, x, y));
        }
        if (pix8 && !is_check) {
            double x, y;
            map_point(&pl, pix8, 4.25, 7.5, &x, &y);
            TST_CHECK(darkest(pix8, x, y) > 150, "%s p%d: blank middle is paper", file, page);
        }
        if (pix8)
            ink += ink_in_fields(f, &pl, pix8);
        pixDestroy(&pix8);
        pixDestroy(&pix);
    }
    TST_CHECK(trow == tr.n, "truth.csv: %d rows, %d expected", tr.n - 1, trow - 1);
    check_sources(dir, &tr, digits);
    table_free(&tr);
    table_free(&pc);
    if (pmulti)
        *pmulti = multi;
    if (pg4)
        *pg4 = g4;
    return ink;
}

/* Byte-for-byte comparison of every file of a with b; 1 when identical. */
static int same_set(const char *a, const char *b)
{
    table pc;
    char pa[900], pb[900];
    int same = 1;
    const char *fixed[3] = {"truth.csv", "pages.csv", "sources.csv"};

    snprintf(pa, sizeof pa, "%s/pages.csv", a);
    if (!table_read(&pc, pa))
        return 0;
    for (int r = 0; r < pc.n + 3 && same; r++) {
        const char *name = r < 3 ? fixed[r] : r - 3 >= 1 ? pc.f[r - 3][0] : NULL;
        if (!name)
            continue;
        snprintf(pa, sizeof pa, "%s/%s", a, name);
        snprintf(pb, sizeof pb, "%s/%s", b, name);
        uint8_t *da = NULL, *db = NULL;
        size_t la = 0, lb = 0;
        if (util_file_read(pa, 0, &da, &la) || util_file_read(pb, 0, &db, &lb) || la != lb ||
            memcmp(da, db, la) != 0)
            same = 0;
        free(da);
        free(db);
    }
    table_free(&pc);
    return same;
}

/* The first n digits of data/test_labeled.csv (header included). */
static int head_csv(const char *dst, int n)
{
    FILE *in = fopen("data/test_labeled.csv", "r"), *out = fopen(dst, "w");
    char line[1 << 14];
    int k = 0;
    if (in && out)
        while (k <= n && fgets(line, sizeof line, in)) {
            fputs(line, out);
            k++;
        }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return k == n + 1;
}

static void write_blank_digits(const char *path, int bad_line)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fputs("label", fp);
    for (int i = 0; i < 784; i++)
        fprintf(fp, ",pixel%d", i);
    fputc('\n', fp);
    for (int d = 0; d < 10; d++) {
        fprintf(fp, "%d", d);
        for (int i = 0; i < 784; i++)
            fputs(d + 2 == bad_line && i == 300 ? ",300" : ",0", fp);
        fputc('\n', fp);
    }
    fclose(fp);
}

static void test_generate(const char *small)
{
    smp_opts o;
    int multi = 0, g4 = 0, rc;

    smp_opts_default(&o);
    o.out = tmp("a");
    o.pages = PAGES;
    o.seed = SEED;
    o.dpi = 200;
    o.digits = small;
    o.forms = "forms";
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_OK, "samples a: rc %d (%s)", rc, util_last_error());
    long ink = check_set(o.out, small, PAGES, 200, &multi, &g4);
    TST_CHECK(ink > 2000, "handwriting inside the fields: %ld dark samples", ink);
    TST_CHECK(multi, "the set has a multi-page TIFF");
    TST_CHECK(tst_count_in_dir(o.out, ".png") + tst_count_in_dir(o.out, ".jpg") >= 1,
              "the set has PNG or JPEG files");
    TST_CHECK(tst_count_in_dir(o.out, ".tmp") == 0, "no temporary files left");

    o.out = tmp("b");
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_OK && same_set(tmp("a"), tmp("b")), "same seed: identical bytes");
    o.out = tmp("c");
    o.seed = SEED + 1;
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_OK && !same_set(tmp("a"), tmp("c")), "another seed: other bytes");

    /* Digits only from the given file: blank digits write nothing. */
    write_blank_digits(tmp("blank.csv"), 0);
    o.out = tmp("blank");
    o.digits = tmp("blank.csv");
    o.kind = SMP_KIND_POSTAL;
    o.pages = 2;
    o.seed = SEED;
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_OK, "samples blank: rc %d (%s)", rc, util_last_error());
    if (rc == UTIL_OK) {
        long blank_ink = check_set(o.out, tmp("blank.csv"), 2, 200, NULL, NULL);
        TST_CHECK(blank_ink < 20, "blank digits leave the fields empty: %ld dark samples",
                  blank_ink);
    }
    (void)g4;
}

static void test_refusals(const char *small)
{
    smp_opts o;
    int rc;

    /* A bad row: the file and its line are named, no truth is written. */
    write_blank_digits(tmp("bad.csv"), 5);
    smp_opts_default(&o);
    o.out = tmp("bad");
    o.pages = 1;
    o.digits = tmp("bad.csv");
    o.forms = "forms";
    util_clear_error();
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), "bad.csv:5"),
              "bad digits row: rc %d \"%s\"", rc, util_last_error());
    TST_CHECK(!tst_file_exists(tmp("bad/truth.csv")) && !tst_file_exists(tmp("bad/sources.csv")),
              "no truth or sources after a refusal");

    /* A digits file lacking a label. */
    FILE *fp = fopen(tmp("nine.csv"), "w");
    if (fp) {
        fputs("label", fp);
        for (int i = 0; i < 784; i++)
            fprintf(fp, ",pixel%d", i);
        fputs("\n", fp);
        for (int d = 0; d < 9; d++) {
            fprintf(fp, "%d", d);
            for (int i = 0; i < 784; i++)
                fputs(",0", fp);
            fputs("\n", fp);
        }
        fclose(fp);
    }
    o.digits = tmp("nine.csv");
    rc = smp_run(&o);
    TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), "no digit 9"),
              "missing label: rc %d \"%s\"", rc, util_last_error());

    /* Through the CLI. */
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --seed 1 --dpi 200 --digits %s", tmp("cli"), small);
    TST_CHECK(rc == 0 && tst_file_exists(tmp("cli/truth.csv")), "cli run: rc %d %.300s", rc,
              g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 0", tmp("x"));
    TST_CHECK(rc == 2 && has("--pages") && has("usage: docpipe samples"), "--pages 0: rc %d %.200s",
              rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 2 --kind x", tmp("x"));
    TST_CHECK(rc == 2 && has("--kind") && has("\"x\""), "--kind x: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 2 --dpi 150", tmp("x"));
    TST_CHECK(rc == 2 && has("--dpi"), "--dpi 150: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --pages 2");
    TST_CHECK(rc == 2 && has("--out"), "no --out: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 2 --bogus", tmp("x"));
    TST_CHECK(rc == 2 && has("--bogus"), "unknown option: rc %d", rc);
    TST_CHECK(!tst_file_exists(tmp("x")), "usage errors write nothing");
    tst_write_file("plain", "x", 1);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --dpi 200 --digits %s", tmp("plain/sub"), small);
    TST_CHECK(rc == 1 && has("plain/sub") && has("cannot create"),
              "unwritable --out: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --dpi 200 --digits %s", tmp("plain"), small);
    TST_CHECK(rc == 1 && has("not a folder"), "--out a file: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --dpi 200 --digits %s", tmp("cli2"), tmp("bad.csv"));
    TST_CHECK(rc == 1 && has("bad.csv:5"), "cli bad digits: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --digits %s", tmp("cli3"), tmp("missing.csv"));
    TST_CHECK(rc == 1 && has("missing.csv"), "cli missing digits: rc %d %.200s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --out %s --pages 1 --kind check --digits %s --forms %s", tmp("cli4"), small,
            tmp("blank"));
    TST_CHECK(rc == 1 && has(tmp("blank")), "forms folder without templates: rc %d %.200s", rc,
              g_out);
}

/* Whether the files a and b hold the same bytes (both readable). */
static int same_text(const char *a, const char *b)
{
    char *x = tst_read_text(a), *y = tst_read_text(b);
    int same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* `docpipe samples --pairs` (smp_pairs_run): the two files, row by row the
 * same inked crop labeled with its left and its right digit, the same
 * files again for the same seed, and the refusals. */
static void test_pairs(const char *small)
{
    trn_data *l = NULL, *r = NULL;
    int rc = smp_pairs_run(small, tmp("pairs"), 60, 3);

    TST_CHECK(rc == UTIL_OK, "60 pairs: rc %d %s", rc, util_last_error());
    TST_CHECK(trn_data_load_csv(&l, tmp("pairs/pairs-left.csv"), TRN_LABELS_REQUIRED) == UTIL_OK &&
                  trn_data_load_csv(&r, tmp("pairs/pairs-right.csv"), TRN_LABELS_REQUIRED) ==
                      UTIL_OK,
              "both files load as labeled Kaggle CSVs: %s", util_last_error());
    if (l && r) {
        int same = 1, inked = 1, seen_l = 0, seen_r = 0;
        TST_CHECK(l->n == 60 && r->n == 60, "60 rows each: %d %d", l->n, r->n);
        for (int i = 0; i < l->n && i < r->n; i++) {
            long ink = 0;
            same &= memcmp(l->pixels + (size_t)i * 784, r->pixels + (size_t)i * 784, 784) == 0;
            for (int k = 0; k < 784; k++)
                ink += l->pixels[(size_t)i * 784 + k];
            inked &= ink > 20 * 255;
            seen_l |= 1 << l->labels[i];
            seen_r |= 1 << r->labels[i];
        }
        TST_CHECK(same, "the same crop in both files, row by row");
        TST_CHECK(inked, "every crop holds ink");
        TST_CHECK(__builtin_popcount((unsigned)seen_l) >= 7 && __builtin_popcount((unsigned)seen_r) >= 7,
                  "left and right labels drawn from all digits (%x %x)", seen_l, seen_r);
    }
    trn_data_destroy(&l);
    trn_data_destroy(&r);
    TST_CHECK(smp_pairs_run(small, tmp("pairs2"), 60, 3) == UTIL_OK &&
                  same_text(tmp("pairs/pairs-left.csv"), tmp("pairs2/pairs-left.csv")) &&
                  same_text(tmp("pairs/pairs-right.csv"), tmp("pairs2/pairs-right.csv")),
              "the same seed: the same files");
    TST_CHECK(smp_pairs_run(small, tmp("pairs3"), 60, 4) == UTIL_OK &&
                  !same_text(tmp("pairs/pairs-left.csv"), tmp("pairs3/pairs-left.csv")),
              "another seed: other pairs");

    /* Refusals: nothing written. */
    util_clear_error();
    TST_CHECK(smp_pairs_run(small, tmp("pz"), 0, 1) == UTIL_EINVAL && !tst_file_exists(tmp("pz")),
              "no pairs asked: refused");
    write_blank_digits(tmp("pblank.csv"), 0);
    rc = smp_pairs_run(tmp("pblank.csv"), tmp("pb"), 5, 1);
    TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), "pblank.csv") &&
                  strstr(util_last_error(), "tries") && !tst_file_exists(tmp("pb/pairs-left.csv")) &&
                  !tst_file_exists(tmp("pb/pairs-right.csv")),
              "blank digits never touch: refused, no file: rc %d \"%s\"", rc, util_last_error());
    write_blank_digits(tmp("pbad.csv"), 5);
    rc = smp_pairs_run(tmp("pbad.csv"), tmp("pd"), 5, 1);
    TST_CHECK(rc != UTIL_OK && strstr(util_last_error(), "pbad.csv:5") &&
                  !tst_file_exists(tmp("pd/pairs-left.csv")),
              "a bad digits row named: rc %d \"%s\"", rc, util_last_error());
    rc = smp_pairs_run(tmp("nine.csv"), tmp("pn"), 5, 1);
    TST_CHECK(rc == UTIL_EFORMAT && strstr(util_last_error(), "no digit 9") &&
                  !tst_file_exists(tmp("pn/pairs-left.csv")),
              "a digits file lacking a 9: rc %d \"%s\"", rc, util_last_error());

    /* Through the CLI. */
    rc = tst_run_bin(g_out, sizeof g_out, "samples --pairs 5 --seed 2 --out %s --digits %s", tmp("pcli"), small);
    TST_CHECK(rc == 0 && tst_file_exists(tmp("pcli/pairs-left.csv")) &&
                  tst_file_exists(tmp("pcli/pairs-right.csv")) && !tst_file_exists(tmp("pcli/truth.csv")),
              "cli --pairs: the two files, no pages: rc %d %.300s", rc, g_out);
    rc = tst_run_bin(g_out, sizeof g_out, "samples --pairs 0 --out %s", tmp("px"));
    TST_CHECK(rc == 2 && has("--pairs") && !tst_file_exists(tmp("px")), "--pairs 0: rc %d %.200s", rc,
              g_out);
}

int main(void)
{
    char small[800];

    util_log_set_level(-1);
    snprintf(g_dir, sizeof g_dir, "%s", tst_tmpdir());
    setMsgSeverity(L_SEVERITY_NONE);
    if (seg_form_set_load(&g_forms, "forms") != UTIL_OK) {
        TST_CHECK(0, "forms/ loads: %s", util_last_error());
        return tst_done();
    }
    snprintf(small, sizeof small, "%s", tmp("small.csv"));
    if (!head_csv(small, 300)) {
        tst_skip("data/test_labeled.csv missing (make data)");
        seg_form_set_destroy(&g_forms);
        return tst_done();
    }
    test_texts_checker();
    test_generate(small);
    test_refusals(small);
    test_pairs(small);
    seg_form_set_destroy(&g_forms);
    return tst_done();
}
