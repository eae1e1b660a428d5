/*
 * util_csv.c - RFC 4180 CSV reading and field writing (util_csv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "util_csv.h"

struct util_csv {
    char *text;     /* the whole text, NUL terminated */
    size_t len, pos;
    int line, rec_line;
    char *name;
    char **fields;  /* pointers into buf */
    int cap;
    char *buf;      /* the unquoted fields of the current record */
    size_t buf_cap;
};

void util_csv_close(util_csv **pc)
{
    util_csv *c;
    if (!pc || !(c = *pc))
        return;
    free(c->text);
    free(c->name);
    free(c->fields);
    free(c->buf);
    free(c);
    *pc = NULL;
}

static int csv_init(util_csv **pc, char *text, size_t len, const char *name)
{
    util_csv *c = calloc(1, sizeof *c);
    *pc = NULL;
    if (!c || !(c->name = strdup(name))) {
        free(c);
        free(text);
        util_log(UTIL_LOG_ERROR, "out of memory reading %s", name);
        return UTIL_ENOMEM;
    }
    c->text = text;
    c->len = len;
    c->line = 1;
    *pc = c;
    return UTIL_OK;
}

int util_csv_open(util_csv **pc, const char *path, size_t max_bytes)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *pc = NULL;
    if ((rc = util_file_read(path, max_bytes, &buf, &len)))
        return rc;
    return csv_init(pc, (char *)buf, len, path);
}

int util_csv_open_mem(util_csv **pc, const char *text, size_t len, const char *name)
{
    char *copy = malloc(len + 1);
    *pc = NULL;
    if (!copy) {
        util_log(UTIL_LOG_ERROR, "out of memory reading %s", name);
        return UTIL_ENOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    return csv_init(pc, copy, len, name);
}

int util_csv_line(const util_csv *c) { return c->rec_line; }

int util_csv_next(util_csv *c, char ***pfields, int *pn)
{
    size_t out = 0, starts_cap = 0;
    int n = 0;

    *pfields = NULL;
    *pn = 0;
    if (c->pos >= c->len)
        return UTIL_OK;
    c->rec_line = c->line;
    /* The unquoted record is never longer than the raw one (+1 NUL per field). */
    starts_cap = (c->len - c->pos) + 2;
    if (c->buf_cap < 2 * starts_cap) {
        char *b = realloc(c->buf, 2 * starts_cap);
        if (!b)
            goto nomem;
        c->buf = b;
        c->buf_cap = 2 * starts_cap;
    }
    for (;;) {
        size_t start = out;
        char ch;
        if (c->pos < c->len && c->text[c->pos] == '"') {
            c->pos++;
            for (;;) {
                if (c->pos >= c->len) {
                    util_log(UTIL_LOG_ERROR, "%s:%d: a quoted field is never closed", c->name,
                             c->rec_line);
                    return UTIL_EFORMAT;
                }
                ch = c->text[c->pos++];
                if (ch == '"') {
                    if (c->pos < c->len && c->text[c->pos] == '"') {
                        c->pos++;
                        c->buf[out++] = '"';
                        continue;
                    }
                    break;
                }
                if (ch == '\0')
                    goto nul;
                if (ch == '\n')
                    c->line++;
                c->buf[out++] = ch;
            }
            if (c->pos < c->len && c->text[c->pos] != ',' && c->text[c->pos] != '\n' &&
                !(c->text[c->pos] == '\r' && c->pos + 1 < c->len && c->text[c->pos + 1] == '\n')) {
                util_log(UTIL_LOG_ERROR, "%s:%d: text after a closing quote", c->name, c->line);
                return UTIL_EFORMAT;
            }
        } else {
            while (c->pos < c->len) {
                ch = c->text[c->pos];
                if (ch == ',' || ch == '\n' ||
                    (ch == '\r' && c->pos + 1 < c->len && c->text[c->pos + 1] == '\n'))
                    break;
                if (ch == '\0')
                    goto nul;
                if (ch == '"') {
                    util_log(UTIL_LOG_ERROR, "%s:%d: a quote inside an unquoted field", c->name,
                             c->line);
                    return UTIL_EFORMAT;
                }
                c->buf[out++] = ch;
                c->pos++;
            }
        }
        c->buf[out++] = '\0';
        if (n == c->cap) {
            char **f = realloc(c->fields, (size_t)(c->cap ? 2 * c->cap : 16) * sizeof *f);
            if (!f)
                goto nomem;
            c->fields = f;
            c->cap = c->cap ? 2 * c->cap : 16;
        }
        c->fields[n++] = (char *)(uintptr_t)start; /* offsets now, pointers below */
        if (c->pos < c->len && c->text[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->pos < c->len && c->text[c->pos] == '\r')
            c->pos++;
        if (c->pos < c->len && c->text[c->pos] == '\n') {
            c->pos++;
            c->line++;
        }
        break;
    }
    for (int i = 0; i < n; i++)
        c->fields[i] = c->buf + (uintptr_t)c->fields[i];
    *pfields = c->fields;
    *pn = n;
    return UTIL_OK;
nul:
    util_log(UTIL_LOG_ERROR, "%s:%d: NUL byte: not a text file", c->name, c->line);
    return UTIL_EFORMAT;
nomem:
    util_log(UTIL_LOG_ERROR, "out of memory reading %s", c->name);
    return UTIL_ENOMEM;
}

void util_csv_put(FILE *fp, const char *s)
{
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', fp);
        fputc(s[i], fp);
    }
    fputc('"', fp);
}
