/*
 * trn_data.c - digit sets in memory and their formats: the strict Kaggle CSV
 * reader (whole file in memory, a hand-rolled parse loop), the MNIST IDX
 * reader and the atomic CSV writer.  See trn_data.h for the contracts.
 */
#include "trn_data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define CSV_MAX_LINE (64 * 1024)
#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

/* ------------------------------------------------------------- the set */

int trn_data_create(trn_data **pdst, int n, int with_labels)
{
    trn_data *d = NULL;

    *pdst = NULL;
    if (n < 0) {
        util_log(UTIL_LOG_ERROR, "a digit set cannot hold %d images", n);
        return UTIL_EINVAL;
    }
    d = calloc(1, sizeof *d);
    if (!d)
        goto nomem;
    d->n = n;
    d->pixels = calloc(n ? (size_t)n * TRN_PIXELS : 1, 1);
    if (!d->pixels)
        goto nomem;
    if (with_labels) {
        d->labels = calloc(n ? (size_t)n : 1, sizeof(int32_t));
        if (!d->labels)
            goto nomem;
    }
    *pdst = d;
    return UTIL_OK;
nomem:
    trn_data_destroy(&d);
    util_log(UTIL_LOG_ERROR, "out of memory for a set of %d images", n);
    return UTIL_ENOMEM;
}

void trn_data_destroy(trn_data **pd)
{
    trn_data *d;

    if (!pd || !*pd)
        return;
    d = *pd;
    free(d->pixels);
    free(d->labels);
    free(d);
    *pd = NULL;
}

/* ------------------------------------------------------------------- CSV */

/* Copies up to 24 bytes of [s, e) into out for a message, escaping bytes
 * that are not printable ASCII, and marking a cut with "...". */
static void show_text(char *out, size_t cap, const uint8_t *s, const uint8_t *e)
{
    size_t o = 0;
    int i = 0;

    for (; s < e && i < 24 && o + 5 < cap; s++, i++) {
        if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
            out[o++] = (char)*s;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *s);
    }
    if (s < e && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void column_name(char *out, size_t cap, int col, int has_label)
{
    if (has_label && col == 0)
        snprintf(out, cap, "label");
    else
        snprintf(out, cap, "pixel%d", col - has_label);
}

/* Checks the header line [s, e); sets *phas_label. */
static int csv_header(const char *path, const uint8_t *s, const uint8_t *e, int *phas_label)
{
    const uint8_t *p = s;
    char want[32], got[128];
    int has_label = 0, ncols, col = 0;

    *phas_label = 0;
    if (s < e && *s >= '0' && *s <= '9') {
        util_log(UTIL_LOG_ERROR,
                 "%s:1: missing header: the first line holds numbers, expected "
                 "\"label,pixel0,...,pixel783\" or \"pixel0,...,pixel783\"", path);
        return UTIL_EFORMAT;
    }
    if (e - s >= 5 && memcmp(s, "label", 5) == 0 && (e - s == 5 || s[5] == ','))
        has_label = 1;
    ncols = TRN_PIXELS + has_label;
    for (;;) {
        const uint8_t *f = p;
        while (p < e && *p != ',')
            p++;
        if (col < ncols) {
            column_name(want, sizeof want, col, has_label);
            if ((size_t)(p - f) != strlen(want) || memcmp(f, want, (size_t)(p - f)) != 0) {
                show_text(got, sizeof got, f, p);
                util_log(UTIL_LOG_ERROR,
                         "%s:1: wrong header: column %d is \"%s\", expected \"%s\" "
                         "(the header is \"label,pixel0,...,pixel783\" or \"pixel0,...,pixel783\")",
                         path, col + 1, got, want);
                return UTIL_EFORMAT;
            }
        }
        col++;
        if (p == e)
            break;
        p++;
    }
    if (col != ncols) {
        util_log(UTIL_LOG_ERROR, "%s:1: wrong header: %d columns, expected %d (\"%spixel0,...,pixel783\")",
                 path, col, ncols, has_label ? "label," : "");
        return UTIL_EFORMAT;
    }
    *phas_label = has_label;
    return UTIL_OK;
}

/* Explains why the data line [s, e) was refused (the slow path: the fast
 * loop only says that it failed). */
static void csv_row_error(const char *path, long line, const uint8_t *s, const uint8_t *e,
                          int has_label)
{
    int ncols = TRN_PIXELS + has_label, cols = 1, col = 0;
    const uint8_t *p = s;
    char name[32], text[128];

    for (const uint8_t *q = s; q < e; q++)
        cols += *q == ',';
    if (cols != ncols) {
        util_log(UTIL_LOG_ERROR, "%s:%ld: %d columns, expected %d (too %s)", path, line, cols,
                 ncols, cols < ncols ? "few" : "many");
        return;
    }
    for (;; col++) {
        const uint8_t *f = p, *q;
        unsigned v = 0, max = (has_label && col == 0) ? 9 : 255;
        int digits_only = 1;

        while (p < e && *p != ',')
            p++;
        for (q = f; q < p; q++) {
            if (*q < '0' || *q > '9')
                digits_only = 0;
            else if (v <= 255)
                v = v * 10 + (unsigned)(*q - '0');
        }
        column_name(name, sizeof name, col, has_label);
        show_text(text, sizeof text, f, p);
        if (f == p) {
            util_log(UTIL_LOG_ERROR, "%s:%ld: column %d (%s): empty field", path, line, col + 1,
                     name);
            return;
        }
        if (!digits_only) {
            util_log(UTIL_LOG_ERROR, "%s:%ld: column %d (%s): \"%s\" is not a plain decimal integer",
                     path, line, col + 1, name, text);
            return;
        }
        if (v > max) {
            util_log(UTIL_LOG_ERROR, "%s:%ld: column %d (%s): %s is out of range 0..%u", path,
                     line, col + 1, name, text, max);
            return;
        }
        if (p == e)
            break;
        p++;
    }
    util_log(UTIL_LOG_ERROR, "%s:%ld: malformed line", path, line);
}

/*
 * Parses one decimal field at p, which must stop at a non-digit (every line
 * ends at '\n', '\r' or the buffer's terminating NUL).  *pv gets the value,
 * saturated at 1000, or UINT_MAX when there are no digits.
 */
static inline const uint8_t *parse_field(const uint8_t *p, unsigned *pv)
{
    const uint8_t *f = p;
    unsigned v = 0, d;

    while ((d = (unsigned)*p - '0') < 10u) {
        v = v * 10u + d;
        if (v > 999u)
            v = 1000u;
        p++;
    }
    *pv = p == f ? UINT_MAX : v;
    return p;
}

/* Parses the data line [s, e); returns 0 when it is well formed. */
static int csv_row(const uint8_t *s, const uint8_t *e, int has_label, uint8_t *px,
                   int32_t *plabel)
{
    const uint8_t *p = s;
    unsigned v;

    if (has_label) {
        p = parse_field(p, &v);
        if (v > 9u || *p != ',')
            return -1;
        *plabel = (int32_t)v;
        p++;
    }
    for (int i = 0; i < TRN_PIXELS - 1; i++) {
        p = parse_field(p, &v);
        if (v > 255u || *p != ',')
            return -1;
        px[i] = (uint8_t)v;
        p++;
    }
    p = parse_field(p, &v);
    if (v > 255u || p != e)
        return -1;
    px[TRN_PIXELS - 1] = (uint8_t)v;
    return 0;
}

/* The line [*ps, *pe) starting at p: *pe excludes the line end (LF or
 * CRLF); returns the start of the next line. */
static const uint8_t *next_line(const uint8_t *p, const uint8_t *end, const uint8_t **pe)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *e = nl ? nl : end;

    if (e > p && e[-1] == '\r')
        e--;
    *pe = e;
    return nl ? nl + 1 : end;
}

int trn_data_load_csv(trn_data **pdst, const char *path, int labels)
{
    int rc = UTIL_OK, has_label = 0;
    uint8_t *buf = NULL;
    size_t len = 0, lines = 0;
    const uint8_t *p, *e, *end;
    trn_data *d = NULL;
    long line = 1;

    *pdst = NULL;
    if (labels != TRN_LABELS_AUTO && labels != TRN_LABELS_REQUIRED && labels != TRN_LABELS_IGNORE) {
        util_log(UTIL_LOG_ERROR, "%s: unknown label mode %d", path, labels);
        return UTIL_EINVAL;
    }
    rc = util_file_read(path, 0, &buf, &len);
    if (rc)
        return rc;
    if (len == 0) {
        util_log(UTIL_LOG_ERROR, "%s:1: empty file (expected a header line)", path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    end = buf + len;

    /* Lines: each '\n' ends one, and a last line may lack it. */
    for (p = buf; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    if (end[-1] != '\n')
        lines++;
    if (lines - 1 > (size_t)INT_MAX) {
        util_log(UTIL_LOG_ERROR, "%s: more than %d rows", path, INT_MAX);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }

    p = next_line(buf, end, &e);
    if (e - buf > CSV_MAX_LINE) {
        util_log(UTIL_LOG_ERROR, "%s:1: line longer than 64 KiB", path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    rc = csv_header(path, buf, e, &has_label);
    if (rc)
        goto cleanup;
    if (!has_label && labels == TRN_LABELS_REQUIRED) {
        util_log(UTIL_LOG_ERROR,
                 "%s:1: no label column (the header starts with pixel0), but labels are required",
                 path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    if (lines < 2) {
        util_log(UTIL_LOG_ERROR, "%s:2: no data rows after the header", path);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    rc = trn_data_create(&d, (int)(lines - 1), has_label && labels != TRN_LABELS_IGNORE);
    if (rc)
        goto cleanup;

    for (int row = 0; row < d->n; row++) {
        const uint8_t *s = p;
        int32_t label = 0;

        line++;
        p = next_line(s, end, &e);
        if (e == s) {
            util_log(UTIL_LOG_ERROR, "%s:%ld: blank line", path, line);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (e - s > CSV_MAX_LINE) {
            util_log(UTIL_LOG_ERROR, "%s:%ld: line longer than 64 KiB", path, line);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (csv_row(s, e, has_label, d->pixels + (size_t)row * TRN_PIXELS, &label) != 0) {
            csv_row_error(path, line, s, e, has_label);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (d->labels)
            d->labels[row] = label;
    }
    *pdst = d;
    d = NULL;
cleanup:
    trn_data_destroy(&d);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------- IDX */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads and checks the images file; *pbuf holds it, *pn its image count. */
static int idx_images(const char *path, uint8_t **pbuf, int *pn)
{
    int rc = UTIL_OK;
    uint8_t *buf = NULL;
    size_t len = 0, want;
    uint32_t magic, n;

    *pbuf = NULL;
    *pn = 0;
    rc = util_file_read(path, 0, &buf, &len);
    if (rc)
        return rc;
    if (len < 16) {
        util_log(UTIL_LOG_ERROR, "%s: truncated at byte offset %zu: the IDX header needs 16 bytes",
                 path, len);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    magic = be32(buf);
    if (magic != IDX_IMAGES_MAGIC) {
        util_log(UTIL_LOG_ERROR,
                 "%s: byte offset 0: bad magic 0x%08x, expected 0x%08x (IDX images: unsigned "
                 "bytes, 3 dimensions)", path, magic, IDX_IMAGES_MAGIC);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    n = be32(buf + 4);
    if (n == 0 || n > (uint32_t)INT_MAX) {
        util_log(UTIL_LOG_ERROR, "%s: byte offset 4: image count %u is out of range 1..%d", path,
                 n, INT_MAX);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    for (int k = 0; k < 2; k++) {
        uint32_t side = be32(buf + 8 + 4 * k);
        if (side != TRN_SIDE) {
            util_log(UTIL_LOG_ERROR, "%s: byte offset %d: image %s is %u, expected %d", path,
                     8 + 4 * k, k ? "width" : "height", side, TRN_SIDE);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
    }
    want = 16 + (size_t)n * TRN_PIXELS;
    if (len < want) {
        util_log(UTIL_LOG_ERROR, "%s: truncated at byte offset %zu: %u images need %zu bytes",
                 path, len, n, want);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    if (len > want) {
        util_log(UTIL_LOG_ERROR, "%s: byte offset %zu: %zu unexpected bytes after %u images",
                 path, want, len - want, n);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    *pbuf = buf;
    *pn = (int)n;
    buf = NULL;
cleanup:
    free(buf);
    return rc;
}

/* Reads and checks the labels file against n images into labels[n]. */
static int idx_labels(const char *path, const char *images_path, int n, int32_t *labels)
{
    int rc = UTIL_OK;
    uint8_t *buf = NULL;
    size_t len = 0, want = 8 + (size_t)n;
    uint32_t magic, count;

    rc = util_file_read(path, 0, &buf, &len);
    if (rc)
        return rc;
    if (len < 8) {
        util_log(UTIL_LOG_ERROR, "%s: truncated at byte offset %zu: the IDX header needs 8 bytes",
                 path, len);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    magic = be32(buf);
    if (magic != IDX_LABELS_MAGIC) {
        util_log(UTIL_LOG_ERROR,
                 "%s: byte offset 0: bad magic 0x%08x, expected 0x%08x (IDX labels: unsigned "
                 "bytes, 1 dimension)", path, magic, IDX_LABELS_MAGIC);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    count = be32(buf + 4);
    if (count != (uint32_t)n) {
        util_log(UTIL_LOG_ERROR, "%s: byte offset 4: %u labels, but %s holds %d images", path,
                 count, images_path, n);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    if (len < want) {
        util_log(UTIL_LOG_ERROR, "%s: truncated at byte offset %zu: %d labels need %zu bytes",
                 path, len, n, want);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    if (len > want) {
        util_log(UTIL_LOG_ERROR, "%s: byte offset %zu: %zu unexpected bytes after %d labels",
                 path, want, len - want, n);
        rc = UTIL_EFORMAT;
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        if (buf[8 + i] > 9) {
            util_log(UTIL_LOG_ERROR, "%s: byte offset %d: label %u is out of range 0..9", path,
                     8 + i, buf[8 + i]);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        labels[i] = buf[8 + i];
    }
cleanup:
    free(buf);
    return rc;
}

int trn_data_load_idx(trn_data **pdst, const char *images_path, const char *labels_path)
{
    int rc = UTIL_OK, n = 0;
    uint8_t *img = NULL;
    trn_data *d = NULL;

    *pdst = NULL;
    rc = idx_images(images_path, &img, &n);
    if (rc)
        goto cleanup;
    rc = trn_data_create(&d, n, labels_path != NULL);
    if (rc)
        goto cleanup;
    memcpy(d->pixels, img + 16, (size_t)n * TRN_PIXELS);
    free(img);
    img = NULL;
    if (labels_path) {
        rc = idx_labels(labels_path, images_path, n, d->labels);
        if (rc)
            goto cleanup;
    }
    *pdst = d;
    d = NULL;
cleanup:
    trn_data_destroy(&d);
    free(img);
    return rc;
}

/* ---------------------------------------------------------------- writer */

int trn_data_write_csv(const trn_data *src, const char *path, int with_labels)
{
    int rc = UTIL_OK;
    util_afile *af = NULL;
    char num[256][4], *line = NULL;
    uint8_t numlen[256];
    size_t cap = (size_t)TRN_PIXELS * 4 + 8;

    if (!src || src->n < 1 || !src->pixels) {
        util_log(UTIL_LOG_ERROR, "%s: nothing to write (an empty digit set)", path);
        return UTIL_EINVAL;
    }
    if (with_labels) {
        if (!src->labels) {
            util_log(UTIL_LOG_ERROR, "%s: the set has no labels to write", path);
            return UTIL_EINVAL;
        }
        for (int i = 0; i < src->n; i++)
            if (src->labels[i] < 0 || src->labels[i] > 9) {
                util_log(UTIL_LOG_ERROR, "%s: image %d has label %d, outside 0..9", path, i,
                         (int)src->labels[i]);
                return UTIL_EINVAL;
            }
    }
    for (int v = 0; v < 256; v++)
        numlen[v] = (uint8_t)snprintf(num[v], sizeof num[v], "%d", v);
    line = malloc(cap);
    if (!line) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", path);
        return UTIL_ENOMEM;
    }
    rc = util_afile_open(&af, path);
    if (rc)
        goto cleanup;

    if (with_labels)
        fputs("label,", af->fp);
    for (int i = 0; i < TRN_PIXELS; i++)
        fprintf(af->fp, i ? ",pixel%d" : "pixel%d", i);
    fputc('\n', af->fp);
    for (int r = 0; r < src->n; r++) {
        const uint8_t *px = src->pixels + (size_t)r * TRN_PIXELS;
        size_t o = 0;

        if (with_labels) {
            line[o++] = (char)('0' + src->labels[r]);
            line[o++] = ',';
        }
        for (int i = 0; i < TRN_PIXELS; i++) {
            memcpy(line + o, num[px[i]], 4);
            o += numlen[px[i]];
            line[o++] = ',';
        }
        line[o - 1] = '\n';
        if (fwrite(line, 1, o, af->fp) != o)
            break;
    }
    if (ferror(af->fp)) {
        util_log(UTIL_LOG_ERROR, "%s: write failed: %s", path, strerror(errno));
        rc = UTIL_EIO;
        goto cleanup;
    }
    rc = util_afile_commit(&af);
cleanup:
    util_afile_abort(&af);
    free(line);
    return rc;
}
