/*
 * test_data.c - digit sets and their formats: good Kaggle CSVs (with and
 * without labels, CRLF, no final newline), write/read round trips, every
 * kind of broken CSV refused with the right code and a message naming the
 * file and line, IDX files good and broken (messages with the byte offset),
 * atomic writes that leave nothing behind, and the mnist-convert subcommand.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tst.h"
#include "train/trn_data.h"
#include "util/util.h"

/* ------------------------------------------------------------- helpers */

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            fprintf(stderr, "out of memory\n");
            abort();
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* The pixel value the generated rows hold. */
static int pix(int row, int i) { return (row * 37 + i * 11) % 256; }

static void add_header(sbuf *b, int with_label, const char *eol)
{
    if (with_label)
        sb_add(b, "label,");
    for (int i = 0; i < TRN_PIXELS; i++)
        sb_add(b, i ? ",pixel%d" : "pixel%d", i);
    sb_add(b, "%s", eol);
}

/* A data row; label < 0: no label column. */
static void add_row(sbuf *b, int row, int label, const char *eol)
{
    if (label >= 0)
        sb_add(b, "%d,", label);
    for (int i = 0; i < TRN_PIXELS; i++)
        sb_add(b, i ? ",%d" : "%d", pix(row, i));
    sb_add(b, "%s", eol);
}

/* A row whose column col (0-based, counting the label) is the text bad. */
static void add_bad_row(sbuf *b, int with_label, int col, const char *bad)
{
    int ncols = TRN_PIXELS + with_label;
    for (int c = 0; c < ncols; c++) {
        if (c)
            sb_add(b, ",");
        if (c == col)
            sb_add(b, "%s", bad);
        else
            sb_add(b, "%d", with_label && c == 0 ? 3 : pix(0, c - with_label));
    }
    sb_add(b, "\n");
}

/* A file of rows rows (header included), labelled when with_label. */
static void make_csv(sbuf *b, int with_label, int rows, const char *eol, int final_eol)
{
    add_header(b, with_label, eol);
    for (int r = 0; r < rows; r++)
        add_row(b, r, with_label ? r % 10 : -1, (r == rows - 1 && !final_eol) ? "" : eol);
}

static int check_content(const trn_data *d, int rows, int with_label)
{
    if (!d || d->n != rows || !d->pixels)
        return 0;
    if (with_label != (d->labels != NULL))
        return 0;
    for (int r = 0; r < rows; r++) {
        if (with_label && d->labels[r] != r % 10)
            return 0;
        for (int i = 0; i < TRN_PIXELS; i++)
            if (d->pixels[(size_t)r * TRN_PIXELS + i] != pix(r, i))
                return 0;
    }
    return 1;
}

static int same_set(const trn_data *a, const trn_data *b)
{
    if (!a || !b || a->n != b->n)
        return 0;
    if (memcmp(a->pixels, b->pixels, (size_t)a->n * TRN_PIXELS) != 0)
        return 0;
    if ((a->labels == NULL) != (b->labels == NULL))
        return 0;
    return !a->labels || memcmp(a->labels, b->labels, (size_t)a->n * sizeof(int32_t)) == 0;
}

/* Entries of the test directory whose name starts with prefix. */
static int count_prefixed(const char *prefix)
{
    DIR *dir = opendir(tst_tmpdir());
    struct dirent *de;
    int n = 0;

    if (!dir)
        return -1;
    while ((de = readdir(dir)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(dir);
    return n;
}

/*
 * Loads content as a CSV named name and expects it refused with code want,
 * *pdst NULL, and a message holding "PATH:LINE:" and the text what.
 */
static void csv_refused(const char *name, const char *content, size_t len, int mode, int want,
                        long line, const char *what)
{
    static trn_data sentinel;
    trn_data *d = &sentinel;
    const char *path = tst_write_file(name, content, len);
    char where[600];
    int rc;

    if (!TST_CHECK(path != NULL, "%s: cannot write the test file", name))
        return;
    util_clear_error();
    rc = trn_data_load_csv(&d, path, mode);
    snprintf(where, sizeof where, "%s:%ld:", path, line);
    TST_CHECK(rc == want, "%s: rc %d, expected %d", name, rc, want);
    TST_CHECK(d == NULL, "%s: *pdst not NULL after a failure", name);
    TST_CHECK(strstr(util_last_error(), where) != NULL, "%s: message \"%s\" does not name \"%s\"",
              name, util_last_error(), where);
    TST_CHECK(strstr(util_last_error(), what) != NULL, "%s: message \"%s\" does not say \"%s\"",
              name, util_last_error(), what);
    if (d != &sentinel)
        trn_data_destroy(&d);
}

static void csv_refused_sb(const char *name, sbuf *b, int mode, long line, const char *what)
{
    csv_refused(name, b->s ? b->s : "", b->len, mode, UTIL_EFORMAT, line, what);
    sb_free(b);
}

/* ----------------------------------------------------------- good CSVs */

static void test_good_csv(void)
{
    sbuf b = {0};
    trn_data *d = NULL, *lf = NULL;
    const char *path;
    int rc;

    /* With labels: every mode. */
    make_csv(&b, 1, 12, "\n", 1);
    path = tst_write_file("good_labels.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && check_content(d, 12, 1), "labelled CSV, auto: rc %d", rc);
    trn_data_destroy(&d);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_REQUIRED);
    TST_CHECK(rc == UTIL_OK && check_content(d, 12, 1), "labelled CSV, required: rc %d", rc);
    trn_data_destroy(&lf);
    lf = d;
    d = NULL;
    rc = trn_data_load_csv(&d, path, TRN_LABELS_IGNORE);
    TST_CHECK(rc == UTIL_OK && check_content(d, 12, 0), "labelled CSV, ignore: rc %d", rc);
    trn_data_destroy(&d);
    trn_data_destroy(&d); /* NULL is fine */
    trn_data_destroy(NULL);
    sb_free(&b);

    /* CRLF: accepted and identical to LF. */
    make_csv(&b, 1, 12, "\r\n", 1);
    path = tst_write_file("good_crlf.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_REQUIRED);
    TST_CHECK(rc == UTIL_OK && same_set(d, lf), "CRLF CSV differs from LF: rc %d", rc);
    trn_data_destroy(&d);
    sb_free(&b);

    /* No final line end, LF and CRLF. */
    make_csv(&b, 1, 12, "\n", 0);
    TST_CHECK(b.s[b.len - 1] != '\n', "generator: final newline present");
    path = tst_write_file("good_noeol.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && same_set(d, lf), "CSV without final newline: rc %d", rc);
    trn_data_destroy(&d);
    sb_free(&b);
    make_csv(&b, 1, 12, "\r\n", 0);
    path = tst_write_file("good_noeol_crlf.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && same_set(d, lf), "CRLF CSV without final newline: rc %d", rc);
    trn_data_destroy(&d);
    sb_free(&b);

    /* Without labels. */
    make_csv(&b, 0, 7, "\n", 1);
    path = tst_write_file("good_nolabels.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && check_content(d, 7, 0), "unlabelled CSV, auto: rc %d", rc);
    trn_data_destroy(&d);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_IGNORE);
    TST_CHECK(rc == UTIL_OK && check_content(d, 7, 0), "unlabelled CSV, ignore: rc %d", rc);
    trn_data_destroy(&d);
    sb_free(&b);

    /* One row, extreme values, leading zeros are still decimal. */
    add_header(&b, 1, "\n");
    sb_add(&b, "9");
    for (int i = 0; i < TRN_PIXELS; i++)
        sb_add(&b, ",%s", i == 0 ? "255" : i == 1 ? "0" : i == 2 ? "007" : "1");
    sb_add(&b, "\n");
    path = tst_write_file("good_extremes.csv", b.s, b.len);
    rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && d && d->n == 1 && d->labels[0] == 9 && d->pixels[0] == 255 &&
                  d->pixels[1] == 0 && d->pixels[2] == 7 && d->pixels[783] == 1,
              "extreme values: rc %d", rc);
    trn_data_destroy(&d);
    sb_free(&b);
    trn_data_destroy(&lf);
}

/* ------------------------------------------------------------ round trip */

static void test_round_trip(void)
{
    trn_data *src = NULL, *back = NULL, *again = NULL;
    char p1[600], p2[600];
    util_rng rng;
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    int rc;

    util_rng_seed(&rng, util_key(7, 1, 2, 3));
    rc = trn_data_create(&src, 25, 1);
    if (!TST_CHECK(rc == UTIL_OK && src && src->labels, "create: rc %d", rc))
        return;
    for (size_t i = 0; i < (size_t)25 * TRN_PIXELS; i++)
        src->pixels[i] = (uint8_t)util_rng_below(&rng, 256);
    src->pixels[0] = 0;
    src->pixels[1] = 255;
    for (int r = 0; r < 25; r++)
        src->labels[r] = (int32_t)util_rng_below(&rng, 10);

    snprintf(p1, sizeof p1, "%s/rt_labels.csv", tst_tmpdir());
    snprintf(p2, sizeof p2, "%s/rt_labels2.csv", tst_tmpdir());
    rc = trn_data_write_csv(src, p1, 1);
    TST_CHECK(rc == UTIL_OK, "write with labels: rc %d", rc);
    rc = trn_data_load_csv(&back, p1, TRN_LABELS_REQUIRED);
    TST_CHECK(rc == UTIL_OK && same_set(src, back), "round trip with labels: rc %d", rc);
    /* write -> read -> write gives the same bytes */
    rc = trn_data_write_csv(back, p2, 1);
    TST_CHECK(rc == UTIL_OK, "rewrite: rc %d", rc);
    if (util_file_read(p1, 0, &b1, &l1) == UTIL_OK && util_file_read(p2, 0, &b2, &l2) == UTIL_OK)
        TST_CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0, "rewritten CSV differs");
    else
        TST_CHECK(0, "cannot read the written CSVs back");
    free(b1);
    free(b2);
    trn_data_destroy(&back);

    snprintf(p1, sizeof p1, "%s/rt_nolabels.csv", tst_tmpdir());
    rc = trn_data_write_csv(src, p1, 0);
    TST_CHECK(rc == UTIL_OK, "write without labels: rc %d", rc);
    rc = trn_data_load_csv(&back, p1, TRN_LABELS_AUTO);
    TST_CHECK(rc == UTIL_OK && back && back->labels == NULL && back->n == 25 &&
                  memcmp(back->pixels, src->pixels, (size_t)25 * TRN_PIXELS) == 0,
              "round trip without labels: rc %d", rc);
    trn_data_destroy(&back);
    TST_CHECK(count_prefixed("rt_nolabels.csv.tmp") == 0 && count_prefixed("rt_labels.csv.tmp") == 0,
              "temporary files left after successful writes");

    /* Writer refusals create nothing. */
    trn_data_destroy(&again);
    rc = trn_data_create(&again, 3, 0);
    TST_CHECK(rc == UTIL_OK, "create without labels: rc %d", rc);
    snprintf(p1, sizeof p1, "%s/w_nolabels.csv", tst_tmpdir());
    rc = trn_data_write_csv(again, p1, 1);
    TST_CHECK(rc == UTIL_EINVAL && !tst_file_exists(p1) && count_prefixed("w_nolabels") == 0,
              "writing labels the set lacks: rc %d", rc);
    trn_data_destroy(&again);
    src->labels[4] = 10;
    snprintf(p1, sizeof p1, "%s/w_badlabel.csv", tst_tmpdir());
    rc = trn_data_write_csv(src, p1, 1);
    TST_CHECK(rc == UTIL_EINVAL && count_prefixed("w_badlabel") == 0,
              "writing label 10: rc %d", rc);
    rc = trn_data_create(&again, 0, 1);
    TST_CHECK(rc == UTIL_OK && again && again->n == 0, "create an empty set: rc %d", rc);
    snprintf(p1, sizeof p1, "%s/w_empty.csv", tst_tmpdir());
    rc = trn_data_write_csv(again, p1, 1);
    TST_CHECK(rc == UTIL_EINVAL && count_prefixed("w_empty") == 0, "writing an empty set: rc %d",
              rc);
    trn_data_destroy(&again);
    again = src; /* sentinel */
    rc = trn_data_create(&again, -1, 0);
    TST_CHECK(rc == UTIL_EINVAL && again == NULL, "create(-1): rc %d", rc);
    src->labels[4] = 4;

    /* Write failures leave nothing behind. */
    snprintf(p1, sizeof p1, "%s/no-such-dir/out.csv", tst_tmpdir());
    util_clear_error();
    rc = trn_data_write_csv(src, p1, 1);
    TST_CHECK(rc == UTIL_EIO && !tst_file_exists(p1), "write into a missing folder: rc %d", rc);
    TST_CHECK(strstr(util_last_error(), p1) != NULL, "message \"%s\" does not name the file",
              util_last_error());
    /* The target is a directory: the temporary is written, the rename fails. */
    snprintf(p1, sizeof p1, "%s/isdir", tst_tmpdir());
    mkdir(p1, 0777);
    rc = trn_data_write_csv(src, p1, 1);
    TST_CHECK(rc == UTIL_EIO && count_prefixed("isdir") == 1,
              "write over a directory: rc %d, %d entries", rc, count_prefixed("isdir"));
    rmdir(p1);
    trn_data_destroy(&src);
}

/* ------------------------------------------------------------ broken CSVs */

static void test_broken_csv(void)
{
    sbuf b = {0};
    char *big;

    /* Header problems. */
    add_row(&b, 0, 1, "\n");
    add_row(&b, 1, 2, "\n");
    csv_refused_sb("nohdr.csv", &b, TRN_LABELS_AUTO, 1, "missing header");

    sb_add(&b, "label");
    for (int i = 0; i < TRN_PIXELS; i++)
        sb_add(&b, ",pixel%d", i == 500 ? 501 : i);
    sb_add(&b, "\n");
    add_row(&b, 0, 1, "\n");
    csv_refused_sb("wronghdr.csv", &b, TRN_LABELS_AUTO, 1, "\"pixel500\"");

    sb_add(&b, "label,pixel0,pixel1\n1,2,3\n");
    csv_refused_sb("shorthdr.csv", &b, TRN_LABELS_AUTO, 1, "wrong header");

    add_header(&b, 1, "");
    sb_add(&b, ",pixel784\n");
    add_row(&b, 0, 1, "\n");
    csv_refused_sb("longhdr.csv", &b, TRN_LABELS_AUTO, 1, "786 columns");

    sb_add(&b, "\xef\xbb\xbf");
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    csv_refused_sb("bomhdr.csv", &b, TRN_LABELS_AUTO, 1, "wrong header");

    /* Column counts. */
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    sb_add(&b, "1,2,3\n");
    csv_refused_sb("fewcols.csv", &b, TRN_LABELS_AUTO, 3, "3 columns, expected 785");

    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "");
    sb_add(&b, ",0\n");
    csv_refused_sb("manycols.csv", &b, TRN_LABELS_AUTO, 2, "786 columns, expected 785");

    add_header(&b, 0, "\n");
    add_row(&b, 0, 1, "\n"); /* a label column the header does not have */
    csv_refused_sb("extralabel.csv", &b, TRN_LABELS_AUTO, 2, "too many");

    add_header(&b, 1, "\n");
    add_row(&b, 0, -1, "\n");
    csv_refused_sb("nolabelcol.csv", &b, TRN_LABELS_AUTO, 2, "too few");

    /* Not plain decimal integers. */
    {
        static const char *const bad[] = {"12a", " 3", "-1", "+1", "3 ", "0x1", "1.0", "\"3\""};
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            char name[64];
            add_header(&b, 1, "\n");
            add_row(&b, 0, 1, "\n");
            add_row(&b, 1, 1, "\n");
            add_bad_row(&b, 1, 101, bad[k]);
            snprintf(name, sizeof name, "notnum%zu.csv", k);
            csv_refused_sb(name, &b, TRN_LABELS_AUTO, 4, "column 102 (pixel100)");
        }
    }
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 7, "12a");
    csv_refused_sb("notnum_msg.csv", &b, TRN_LABELS_AUTO, 2, "\"12a\" is not a plain decimal");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 7, "");
    csv_refused_sb("emptyfield.csv", &b, TRN_LABELS_AUTO, 2, "column 8 (pixel6): empty field");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 784, "");
    csv_refused_sb("emptylast.csv", &b, TRN_LABELS_AUTO, 2, "pixel783): empty field");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 0, "");
    csv_refused_sb("emptylabel.csv", &b, TRN_LABELS_AUTO, 2, "(label): empty field");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 0, "-1");
    csv_refused_sb("neglabel.csv", &b, TRN_LABELS_AUTO, 2, "(label): \"-1\"");

    /* Out of range. */
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    add_bad_row(&b, 1, 784, "256");
    csv_refused_sb("over255.csv", &b, TRN_LABELS_AUTO, 3, "(pixel783): 256 is out of range 0..255");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 400, "256");
    csv_refused_sb("over255_mid.csv", &b, TRN_LABELS_AUTO, 2, "(pixel399): 256 is out of range");
    add_header(&b, 0, "\n");
    add_bad_row(&b, 0, 0, "1000");
    csv_refused_sb("over999.csv", &b, TRN_LABELS_AUTO, 2, "(pixel0): 1000 is out of range");
    add_header(&b, 0, "\n");
    add_bad_row(&b, 0, 0, "99999999999999999999");
    csv_refused_sb("huge.csv", &b, TRN_LABELS_AUTO, 2, "out of range 0..255");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 0, "10");
    csv_refused_sb("label10.csv", &b, TRN_LABELS_AUTO, 2, "(label): 10 is out of range 0..9");
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 0, "10");
    csv_refused_sb("label10_ignore.csv", &b, TRN_LABELS_IGNORE, 2, "out of range 0..9");

    /* Empty, header only, blank lines. */
    csv_refused("empty.csv", "", 0, TRN_LABELS_AUTO, UTIL_EFORMAT, 1, "empty file");
    add_header(&b, 1, "\n");
    csv_refused_sb("hdronly.csv", &b, TRN_LABELS_AUTO, 2, "no data rows");
    add_header(&b, 1, "");
    csv_refused_sb("hdronly_noeol.csv", &b, TRN_LABELS_AUTO, 2, "no data rows");
    add_header(&b, 1, "\r\n");
    csv_refused_sb("hdronly_crlf.csv", &b, TRN_LABELS_AUTO, 2, "no data rows");
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    sb_add(&b, "\n");
    add_row(&b, 1, 1, "\n");
    csv_refused_sb("blank.csv", &b, TRN_LABELS_AUTO, 3, "blank line");
    add_header(&b, 1, "\r\n");
    add_row(&b, 0, 1, "\r\n");
    add_row(&b, 1, 1, "\r\n");
    sb_add(&b, "\r\n");
    csv_refused_sb("blank_crlf_end.csv", &b, TRN_LABELS_AUTO, 4, "blank line");
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    sb_add(&b, "\n");
    csv_refused_sb("blank_end.csv", &b, TRN_LABELS_AUTO, 3, "blank line");
    sb_add(&b, "\n");
    add_header(&b, 1, "\n");
    add_row(&b, 0, 1, "\n");
    csv_refused_sb("blank_first.csv", &b, TRN_LABELS_AUTO, 1, "wrong header");

    /* A stray CR inside a line. */
    add_header(&b, 1, "\n");
    add_bad_row(&b, 1, 300, "5\r");
    csv_refused_sb("straycr.csv", &b, TRN_LABELS_AUTO, 2, "column 301 (pixel299): \"5\\x0d\"");

    /* A line over 64 KiB: refused as such, wherever it is. */
    big = malloc(70001);
    if (TST_CHECK(big != NULL, "out of memory")) {
        memset(big, '1', 70000);
        big[70000] = '\0';
        add_header(&b, 1, "\n");
        add_row(&b, 0, 1, "\n");
        add_row(&b, 1, 1, "\n");
        sb_add(&b, "%s\n", big);
        csv_refused_sb("longline.csv", &b, TRN_LABELS_AUTO, 4, "64 KiB");
        sb_add(&b, "%s\n", big);
        csv_refused_sb("longline_hdr.csv", &b, TRN_LABELS_AUTO, 1, "64 KiB");
        free(big);
    }

    /* Labels required but absent. */
    make_csv(&b, 0, 3, "\n", 1);
    csv_refused_sb("needlabels.csv", &b, TRN_LABELS_REQUIRED, 1, "labels are required");

    /* A missing file is an I/O error naming the file. */
    {
        static trn_data sentinel;
        trn_data *d = &sentinel;
        char path[600];
        int rc;

        snprintf(path, sizeof path, "%s/does-not-exist.csv", tst_tmpdir());
        util_clear_error();
        rc = trn_data_load_csv(&d, path, TRN_LABELS_AUTO);
        TST_CHECK(rc == UTIL_EIO && d == NULL, "missing file: rc %d", rc);
        TST_CHECK(strstr(util_last_error(), path) != NULL, "missing file: message \"%s\"",
                  util_last_error());
        d = &sentinel;
        rc = trn_data_load_csv(&d, path, 42);
        TST_CHECK(rc == UTIL_EINVAL && d == NULL, "unknown label mode: rc %d", rc);
    }
}

/* ------------------------------------------------------------------- IDX */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An images file of n images (n_hdr in the header) and extra trailing
 * bytes (negative: cut); the caller frees *pbuf. */
static size_t make_idx_images(uint8_t **pbuf, uint32_t magic, uint32_t n_hdr, int n, int extra)
{
    size_t len = 16 + (size_t)n * TRN_PIXELS + (size_t)(extra > 0 ? extra : 0);
    uint8_t *b = calloc(len, 1);

    put_be32(b, magic);
    put_be32(b + 4, n_hdr);
    put_be32(b + 8, TRN_SIDE);
    put_be32(b + 12, TRN_SIDE);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < TRN_PIXELS; i++)
            b[16 + (size_t)r * TRN_PIXELS + i] = (uint8_t)pix(r, i);
    *pbuf = b;
    return extra < 0 ? len - (size_t)(-extra) : len;
}

static size_t make_idx_labels(uint8_t **pbuf, uint32_t magic, uint32_t n_hdr, int n)
{
    uint8_t *b = calloc(8 + (size_t)n, 1);

    put_be32(b, magic);
    put_be32(b + 4, n_hdr);
    for (int r = 0; r < n; r++)
        b[8 + r] = (uint8_t)(r % 10);
    *pbuf = b;
    return 8 + (size_t)n;
}

/* Writes the two files and expects the pair refused naming "offset N". */
static void idx_refused(const char *name, const uint8_t *img, size_t ilen, const uint8_t *lab,
                        size_t llen, int bad_is_labels, const char *offset)
{
    static trn_data sentinel;
    trn_data *d = &sentinel;
    char ipath[600], lpath[600], want[64];
    const char *p;
    int rc;

    snprintf(want, sizeof want, "%s-images.idx", name);
    p = tst_write_file(want, img, ilen);
    snprintf(ipath, sizeof ipath, "%s", p ? p : "");
    snprintf(want, sizeof want, "%s-labels.idx", name);
    p = tst_write_file(want, lab, llen);
    snprintf(lpath, sizeof lpath, "%s", p ? p : "");
    util_clear_error();
    rc = trn_data_load_idx(&d, ipath, lab ? lpath : NULL);
    TST_CHECK(rc == UTIL_EFORMAT, "%s: rc %d", name, rc);
    TST_CHECK(d == NULL, "%s: *pdst not NULL after a failure", name);
    TST_CHECK(strstr(util_last_error(), bad_is_labels ? lpath : ipath) != NULL,
              "%s: message \"%s\" does not name the file", name, util_last_error());
    TST_CHECK(strstr(util_last_error(), offset) != NULL, "%s: message \"%s\" does not say \"%s\"",
              name, util_last_error(), offset);
    if (d != &sentinel)
        trn_data_destroy(&d);
}

static void test_idx(void)
{
    uint8_t *img = NULL, *lab = NULL;
    size_t ilen, llen;
    trn_data *d = NULL;
    const char *ip, *lp;
    char ipath[600], lpath[600];
    int rc;

    /* Good files, with and without labels. */
    ilen = make_idx_images(&img, 0x803, 13, 13, 0);
    llen = make_idx_labels(&lab, 0x801, 13, 13);
    ip = tst_write_file("good-images.idx", img, ilen);
    snprintf(ipath, sizeof ipath, "%s", ip);
    lp = tst_write_file("good-labels.idx", lab, llen);
    snprintf(lpath, sizeof lpath, "%s", lp);
    rc = trn_data_load_idx(&d, ipath, lpath);
    TST_CHECK(rc == UTIL_OK && check_content(d, 13, 1), "good IDX pair: rc %d", rc);
    trn_data_destroy(&d);
    rc = trn_data_load_idx(&d, ipath, NULL);
    TST_CHECK(rc == UTIL_OK && check_content(d, 13, 0), "good IDX images alone: rc %d", rc);
    trn_data_destroy(&d);

    /* Broken images. */
    img[3] = 0x01;
    idx_refused("badmagic", img, ilen, lab, llen, 0, "offset 0: bad magic 0x00000801");
    img[3] = 0x03;
    idx_refused("truncated", img, ilen - 5, lab, llen, 0, "truncated at byte offset 10203");
    idx_refused("shorthdr", img, 10, lab, llen, 0, "truncated at byte offset 10");
    idx_refused("nolabelsfile", img, 0, NULL, 0, 0, "truncated at byte offset 0");
    put_be32(img + 12, 27);
    idx_refused("width", img, ilen, lab, llen, 0, "offset 12: image width is 27");
    put_be32(img + 12, TRN_SIDE);
    put_be32(img + 4, 12);
    idx_refused("trailing", img, ilen, lab, llen, 0, "offset 9424: 784 unexpected bytes");
    put_be32(img + 4, 0);
    idx_refused("zero", img, ilen, lab, llen, 0, "offset 4: image count 0");
    put_be32(img + 4, 13);

    /* Broken labels. */
    lab[3] = 0x03;
    idx_refused("lbadmagic", img, ilen, lab, llen, 1, "offset 0: bad magic 0x00000803");
    lab[3] = 0x01;
    put_be32(lab + 4, 12);
    idx_refused("lcount", img, ilen, lab, llen, 1, "offset 4: 12 labels");
    put_be32(lab + 4, 13);
    idx_refused("ltruncated", img, ilen, lab, llen - 1, 1, "truncated at byte offset 20");
    idx_refused("lshorthdr", img, ilen, lab, 6, 1, "truncated at byte offset 6");
    lab[8 + 11] = 10;
    idx_refused("label10", img, ilen, lab, llen, 1, "offset 19: label 10 is out of range");
    lab[8 + 11] = 1;

    /* Missing files. */
    d = (trn_data *)&rc;
    rc = trn_data_load_idx(&d, ipath, "/nonexistent/labels.idx");
    TST_CHECK(rc == UTIL_EIO && d == NULL, "missing labels file: rc %d", rc);
    free(img);
    free(lab);
}

/* --------------------------------------------------------- mnist-convert */

/* Runs the subcommand with its stdout and stderr (usage text) silenced. */
static int convert(int argc, const char *const *argv)
{
    int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY), rc;

    fflush(stdout);
    fflush(stderr);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
    }
    rc = trn_mnist_convert_main(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    if (out >= 0)
        dup2(out, 1);
    if (err >= 0)
        dup2(err, 2);
    if (null >= 0)
        close(null);
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    return rc;
}

static void test_convert(void)
{
    uint8_t *img = NULL, *lab = NULL;
    size_t ilen, llen;
    char ipath[600], lpath[600], out[600], out2[600];
    trn_data *d = NULL;
    int rc;

    ilen = make_idx_images(&img, 0x803, 4, 4, 0);
    llen = make_idx_labels(&lab, 0x801, 4, 4);
    snprintf(ipath, sizeof ipath, "%s", tst_write_file("cv-images.idx", img, ilen));
    snprintf(lpath, sizeof lpath, "%s", tst_write_file("cv-labels.idx", lab, llen));
    snprintf(out, sizeof out, "%s/cv.csv", tst_tmpdir());
    snprintf(out2, sizeof out2, "%s/cv-nolabels.csv", tst_tmpdir());

    {
        const char *a[] = {"mnist-convert", "--images", ipath, "--labels", lpath, "-o", out};
        rc = convert(7, a);
        TST_CHECK(rc == 0, "convert with labels: rc %d", rc);
        rc = trn_data_load_csv(&d, out, TRN_LABELS_REQUIRED);
        TST_CHECK(rc == UTIL_OK && check_content(d, 4, 1), "converted CSV: rc %d", rc);
        trn_data_destroy(&d);
    }
    {
        const char *a[] = {"mnist-convert", "-o", out2, "--no-labels", "--images", ipath};
        rc = convert(6, a);
        TST_CHECK(rc == 0, "convert without labels: rc %d", rc);
        rc = trn_data_load_csv(&d, out2, TRN_LABELS_AUTO);
        TST_CHECK(rc == UTIL_OK && check_content(d, 4, 0), "converted CSV without labels: rc %d",
                  rc);
        trn_data_destroy(&d);
    }
    {
        const char *a[] = {"mnist-convert", "--help"};
        TST_CHECK(convert(2, a) == 0, "--help does not succeed");
    }
    {
        const char *a[] = {"mnist-convert", "--images", ipath, "--bogus", "-o", out};
        TST_CHECK(convert(6, a) == 2, "unknown flag is not a usage error");
    }
    {
        const char *a[] = {"mnist-convert", "--images", ipath, "--labels", lpath};
        TST_CHECK(convert(5, a) == 2, "missing -o is not a usage error");
    }
    {
        const char *a[] = {"mnist-convert", "--images", ipath, "-o", out};
        TST_CHECK(convert(5, a) == 2, "neither --labels nor --no-labels is not a usage error");
    }
    {
        const char *a[] = {"mnist-convert", "--images", ipath, "--labels", lpath, "-o"};
        TST_CHECK(convert(6, a) == 2, "-o without a value is not a usage error");
    }
    {
        const char *a[] = {"mnist-convert", "extra", "--images", ipath, "--no-labels", "-o", out};
        TST_CHECK(convert(7, a) == 2, "a stray argument is not a usage error");
    }
    {
        char bad_out[700];
        const char *a[] = {"mnist-convert", "--images", lpath, "--labels", lpath, "-o", bad_out};
        snprintf(bad_out, sizeof bad_out, "%s/cv-bad.csv", tst_tmpdir());
        TST_CHECK(convert(7, a) == 1 && !tst_file_exists(bad_out), "labels as images: not an error");
    }
    free(img);
    free(lab);
}

int main(void)
{
    util_log_set_level(-1);
    test_good_csv();
    test_round_trip();
    test_broken_csv();
    test_idx();
    test_convert();
    return tst_done();
}
