/*
 * db_export.c - `docpipe export`: the amounts or postcodes view, or every
 * field, as CSV (RFC 4180) or as a JSON array of objects, to standard
 * output or atomically to a file.  CSV fields go through util_csv_put.
 */
#include "db/db_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "util/util_csv.h"

typedef struct what {
    const char *name;
    const char *sql;
} what;

static const what WHATS[] = {
    {"amounts", "SELECT file, page, field, amount, cents, confidence, status FROM amounts "
                "ORDER BY file, page, field_id"},
    {"postcodes", "SELECT file, page, field, postcode, confidence, status FROM postcodes "
                  "ORDER BY file, page, field_id"},
    {"fields", "SELECT d.path AS file, p.page_no AS page, f.form AS form, f.name AS field, "
               "f.type AS type, f.text AS text, f.confidence AS confidence, f.status AS status, "
               "f.value AS value, f.doubt AS doubt "
               "FROM fields f JOIN pages p ON p.id = f.page_id "
               "JOIN documents d ON d.id = p.document_id "
               "ORDER BY d.path, p.page_no, f.id"},
};

void db_export_opts_default(db_export_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db = "docpipe.db";
    o->what = "amounts";
    o->format = "csv";
}

/* A REAL as the shortest text that reads back the same (15 or 17 digits). */
static void put_real(FILE *fp, double x)
{
    char buf[40];

    snprintf(buf, sizeof buf, "%.15g", x);
    if (strtod(buf, NULL) != x)
        snprintf(buf, sizeof buf, "%.17g", x);
    fputs(buf, fp);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one. */
static int utf8_len(const unsigned char *s, int n)
{
    int len, min;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < (unsigned)min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_text(FILE *fp, const unsigned char *s, int n)
{
    fputc('"', fp);
    for (int i = 0; i < n;) {
        unsigned char c = s[i];
        int len;

        if (c == '"' || c == '\\') {
            fputc('\\', fp);
            fputc(c, fp);
            i++;
        } else if (c < 0x20) {
            static const char *const ESC[] = {[8] = "\\b", [9] = "\\t", [10] = "\\n",
                                              [12] = "\\f", [13] = "\\r"};
            if (c < 14 && ESC[c])
                fputs(ESC[c], fp);
            else
                fprintf(fp, "\\u%04x", c);
            i++;
        } else if ((len = utf8_len(s + i, n - i)) > 0) {
            fwrite(s + i, 1, (size_t)len, fp);
            i += len;
        } else {
            fputs("\\ufffd", fp);
            i++;
        }
    }
    fputc('"', fp);
}

/* One column value of the current row. */
static void put_value(FILE *fp, sqlite3_stmt *st, int col, int json)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        if (json)
            fputs("null", fp);
        break;
    case SQLITE_INTEGER:
        fprintf(fp, "%lld", (long long)sqlite3_column_int64(st, col));
        break;
    case SQLITE_FLOAT: {
        double x = sqlite3_column_double(st, col);
        if (isfinite(x))
            put_real(fp, x);
        else if (json)
            fputs("null", fp);
        break;
    }
    default: {
        const unsigned char *s = sqlite3_column_text(st, col);
        int n = sqlite3_column_bytes(st, col);
        if (json)
            json_text(fp, s ? s : (const unsigned char *)"", s ? n : 0);
        else
            util_csv_put(fp, s ? (const char *)s : "");
    }
    }
}

/* Writes every row of st to fp. */
static int write_rows(db *d, sqlite3_stmt *st, FILE *fp, int json)
{
    int ncol = sqlite3_column_count(st), src, rows = 0;

    if (json) {
        fputc('[', fp);
    } else {
        for (int c = 0; c < ncol; c++) {
            if (c)
                fputc(',', fp);
            util_csv_put(fp, sqlite3_column_name(st, c));
        }
        fputs("\r\n", fp);
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (json) {
            fputs(rows ? ",\n{" : "\n{", fp);
            for (int c = 0; c < ncol; c++) {
                const char *name = sqlite3_column_name(st, c);
                if (c)
                    fputc(',', fp);
                json_text(fp, (const unsigned char *)name, (int)strlen(name));
                fputc(':', fp);
                put_value(fp, st, c, 1);
            }
            fputc('}', fp);
        } else {
            for (int c = 0; c < ncol; c++) {
                if (c)
                    fputc(',', fp);
                put_value(fp, st, c, 0);
            }
            fputs("\r\n", fp);
        }
        rows++;
    }
    if (src != SQLITE_DONE)
        return db_fail(d, src, "reading the rows to export");
    if (json)
        fputs(rows ? "\n]\n" : "]\n", fp);
    return UTIL_OK;
}

int db_export_run(const db_export_opts *o)
{
    const what *w = NULL;
    db *d = NULL;
    sqlite3_stmt *st = NULL;
    util_afile *af = NULL;
    FILE *fp = stdout;
    int rc, json;

    for (size_t i = 0; i < sizeof WHATS / sizeof WHATS[0]; i++)
        if (o->what && strcmp(o->what, WHATS[i].name) == 0)
            w = &WHATS[i];
    if (!w) {
        util_log(UTIL_LOG_ERROR, "export: \"%s\" is not amounts, postcodes or fields",
                 o->what ? o->what : "");
        return UTIL_EINVAL;
    }
    if (!o->format || (strcmp(o->format, "csv") != 0 && strcmp(o->format, "json") != 0)) {
        util_log(UTIL_LOG_ERROR, "export: format \"%s\" is not csv or json",
                 o->format ? o->format : "");
        return UTIL_EINVAL;
    }
    json = strcmp(o->format, "json") == 0;
    rc = db_open(o->db, 0, &d);
    if (rc == UTIL_OK)
        rc = db_prepare(d, w->sql, &st);
    if (rc != UTIL_OK)
        goto cleanup;
    if (o->out && strcmp(o->out, "-") != 0) {
        rc = util_afile_open(&af, o->out);
        if (rc != UTIL_OK)
            goto cleanup;
        fp = af->fp;
    }
    rc = write_rows(d, st, fp, json);
    if (rc != UTIL_OK)
        goto cleanup;
    if (af) {
        rc = util_afile_commit(&af);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        util_log(UTIL_LOG_ERROR, "export: cannot write to standard output");
        rc = UTIL_EIO;
    }
cleanup:
    util_afile_abort(&af);
    sqlite3_finalize(st);
    db_close(&d);
    return rc;
}
