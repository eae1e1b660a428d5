/*
 * seg_form.c - the form template parser (docs/forms.md): tokenizing lines,
 * lengths with units, the directives, and the checks that make a template
 * safe to trust; plus loading a folder of templates.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_form.h"
#include "util/util.h"

#define LINE_MAX_BYTES 1000
#define FILE_MAX_BYTES (1u << 20)
#define MAX_TOKENS 24
#define MAX_ITEMS 1000

static const char *const TYPE_NAMES[SEG_FT_COUNT] = {"amount", "postcode", "date", "number"};

const char *seg_field_type_name(int type)
{
    return type >= 0 && type < SEG_FT_COUNT ? TYPE_NAMES[type] : "?";
}

int seg_field_type_parse(const char *s, int *ptype)
{
    *ptype = -1;
    for (int i = 0; i < SEG_FT_COUNT; i++)
        if (strcmp(s, TYPE_NAMES[i]) == 0) {
            *ptype = i;
            return UTIL_OK;
        }
    return UTIL_EINVAL;
}

int seg_pattern_class(char c, int *plo, int *phi)
{
    *plo = 0;
    *phi = 9;
    if (c >= '0' && c <= '9')
        *plo = *phi = c - '0';
    else if (c == 'N' || c == 'Z')
        *plo = c == 'N' ? 2 : 1;
    else if (c != 'X')
        return UTIL_EINVAL;
    return UTIL_OK;
}

/* The parser's state: where it is, for messages. */
typedef struct parser {
    const char *src;
    int line;
} parser;

#define FAIL(p, ...) (fail_at((p), __VA_ARGS__), UTIL_EFORMAT)

__attribute__((format(printf, 2, 3))) static void fail_at(const parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    util_log(UTIL_LOG_ERROR, "%s:%d: %s", p->src, p->line, msg);
}

/*
 * tokenize - splits line (modified in place) into tokens; quoted strings
 * lose their quotes and escapes.  *pquoted marks tokens that were quoted.
 */
static int tokenize(parser *p, char *line, char **tok, int *quoted, int *pn)
{
    int n = 0;
    char *s = line;

    *pn = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (*s == '\0' || *s == '#')
            break;
        if (n == MAX_TOKENS)
            return FAIL(p, "too many words on one line (at most %d)", MAX_TOKENS);
        if (*s == '"') {
            char *dst = ++s;
            tok[n] = dst;
            quoted[n] = 1;
            while (*s != '"') {
                if (*s == '\0')
                    return FAIL(p, "unterminated quoted string");
                if (*s == '\\') {
                    s++;
                    if (*s != '"' && *s != '\\')
                        return FAIL(p, "bad escape in quoted string (only \\\" and \\\\)");
                }
                if ((unsigned char)*s < 0x20)
                    return FAIL(p, "control character in quoted string");
                *dst++ = *s++;
            }
            s++;
            if (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '#')
                return FAIL(p, "text right after a quoted string");
            *dst = '\0';
        } else {
            tok[n] = s;
            quoted[n] = 0;
            while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '#' && *s != '"')
                s++;
            if (*s == '"')
                return FAIL(p, "quote in the middle of a word");
            if (*s == '#') {
                *s = '\0';
                n++;
                break;
            }
            if (*s)
                *s++ = '\0';
        }
        n++;
    }
    *pn = n;
    return UTIL_OK;
}

/* parse_length - "0.35in", "12.7mm", "10pt" into inches (0..1000 in). */
static int parse_length(parser *p, const char *what, const char *s, double *pin)
{
    size_t len = strlen(s);
    char num[64];
    double v, scale;

    *pin = 0;
    if (len < 3 || len - 2 >= sizeof num)
        return FAIL(p, "%s: '%s' is not a length with a unit (in, mm, pt)", what, s);
    if (strcmp(s + len - 2, "in") == 0)
        scale = 1.0;
    else if (strcmp(s + len - 2, "mm") == 0)
        scale = 1.0 / 25.4;
    else if (strcmp(s + len - 2, "pt") == 0)
        scale = 1.0 / 72.0;
    else
        return FAIL(p, "%s: '%s' has no unit (in, mm or pt)", what, s);
    memcpy(num, s, len - 2);
    num[len - 2] = '\0';
    if (util_parse_double(num, 0.0, 1000.0 / scale, &v) != UTIL_OK)
        return FAIL(p, "%s: '%s' is not a length from 0 to 1000 in", what, s);
    *pin = v * scale;
    return UTIL_OK;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SEG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* The key=value arguments of one directive. */
typedef struct kv {
    const char *key[MAX_TOKENS], *val[MAX_TOKENS];
    int used[MAX_TOKENS];
    int n;
} kv;

static int kv_collect(parser *p, char **tok, const int *quoted, int from, int n, kv *a,
                      const char *const *allowed)
{
    a->n = 0;
    for (int i = from; i < n; i++) {
        char *eq = quoted[i] ? NULL : strchr(tok[i], '=');
        int ok = 0;
        if (!eq || eq == tok[i] || eq[1] == '\0')
            return FAIL(p, "expected key=value, got '%s'", tok[i]);
        *eq = '\0';
        for (int k = 0; allowed[k]; k++)
            ok |= strcmp(allowed[k], tok[i]) == 0;
        if (!ok)
            return FAIL(p, "unknown key '%s'", tok[i]);
        for (int j = 0; j < a->n; j++)
            if (strcmp(a->key[j], tok[i]) == 0)
                return FAIL(p, "key '%s' given twice", tok[i]);
        a->key[a->n] = tok[i];
        a->val[a->n] = eq + 1;
        a->used[a->n] = 0;
        a->n++;
    }
    return UTIL_OK;
}

static const char *kv_get(const kv *a, const char *key)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->key[i], key) == 0)
            return a->val[i];
    return NULL;
}

/* kv_length - a required (or optional, when pdef != NULL) length. */
static int kv_length(parser *p, const kv *a, const char *key, int required, double *pin)
{
    const char *v = kv_get(a, key);
    if (!v) {
        if (required)
            return FAIL(p, "missing %s=", key);
        return UTIL_OK;
    }
    return parse_length(p, key, v, pin);
}

static int kv_rect(parser *p, const kv *a, seg_rect *r)
{
    int rc;
    if ((rc = kv_length(p, a, "x", 1, &r->x)) || (rc = kv_length(p, a, "y", 1, &r->y)) ||
        (rc = kv_length(p, a, "w", 1, &r->w)) || (rc = kv_length(p, a, "h", 1, &r->h)))
        return rc;
    if (r->w <= 0 || r->h <= 0)
        return FAIL(p, "w and h must be greater than 0");
    return UTIL_OK;
}

static int kv_int(parser *p, const kv *a, const char *key, long lo, long hi, int *pv)
{
    const char *v = kv_get(a, key);
    long x;
    if (!v)
        return UTIL_OK;
    if (util_parse_long(v, lo, hi, &x) != UTIL_OK)
        return FAIL(p, "%s=%s: expected a whole number from %ld to %ld", key, v, lo, hi);
    *pv = (int)x;
    return UTIL_OK;
}

/* grow - room for one more item in a dynamic array. */
static int grow(parser *p, void **parr, int n, size_t size)
{
    void *q;
    if (n >= MAX_ITEMS)
        return FAIL(p, "too many items (at most %d of a kind)", MAX_ITEMS);
    if ((n & (n - 1)) != 0 && n != 0)
        return UTIL_OK;
    q = realloc(*parr, (size_t)(n ? 2 * n : 1) * size);
    if (!q) {
        util_log(UTIL_LOG_ERROR, "out of memory reading %s", p->src);
        return UTIL_ENOMEM;
    }
    *parr = q;
    return UTIL_OK;
}

static int inside(const seg_form *f, const seg_rect *r)
{
    const double eps = 1e-9;
    return r->x + r->w <= f->width + eps && r->y + r->h <= f->height + eps;
}

static int parse_field(parser *p, seg_form *f, char **tok, int *quoted, int n)
{
    static const char *const keys[] = {"x", "y", "w", "h", "frame", "cells", "dash",
                                       "digits", "cents", "pattern", NULL};
    seg_form_field *ff;
    const char *v;
    kv a;
    int rc;

    if (n < 3 || quoted[1] || quoted[2])
        return FAIL(p, "field needs a name and a type: field NAME TYPE x= y= w= h= ...");
    if (!valid_name(tok[1]))
        return FAIL(p, "bad field name '%s' (1-31 of a-z 0-9 - _)", tok[1]);
    for (int i = 0; i < f->n_fields; i++)
        if (strcmp(f->fields[i].name, tok[1]) == 0)
            return FAIL(p, "field '%s' is defined twice", tok[1]);
    if ((rc = grow(p, (void **)&f->fields, f->n_fields, sizeof *f->fields)))
        return rc;
    ff = &f->fields[f->n_fields];
    memset(ff, 0, sizeof *ff);
    snprintf(ff->name, sizeof ff->name, "%s", tok[1]);
    if (seg_field_type_parse(tok[2], &ff->type) != UTIL_OK)
        return FAIL(p, "unknown field type '%s' (amount, postcode, date, number)", tok[2]);
    if ((rc = kv_collect(p, tok, quoted, 3, n, &a, keys)) || (rc = kv_rect(p, &a, &ff->r)))
        return rc;
    ff->frame = SEG_FRAME_BOX;
    if ((v = kv_get(&a, "frame"))) {
        static const char *const frames[] = {"none", "box", "comb", "line"};
        ff->frame = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(v, frames[i]) == 0)
                ff->frame = i;
        if (ff->frame < 0)
            return FAIL(p, "frame=%s: expected box, comb, line or none", v);
    }
    if ((rc = kv_int(p, &a, "cells", 2, 40, &ff->cells)) ||
        (rc = kv_int(p, &a, "dash", 1, 39, &ff->dash)))
        return rc;
    if (ff->frame == SEG_FRAME_COMB && ff->cells == 0)
        return FAIL(p, "a comb needs cells=N");
    if (ff->frame != SEG_FRAME_COMB && (kv_get(&a, "cells") || kv_get(&a, "dash")))
        return FAIL(p, "cells= and dash= belong to frame=comb");
    if (ff->dash && ff->dash >= ff->cells)
        return FAIL(p, "dash=%d must be less than cells=%d", ff->dash, ff->cells);
    ff->min_digits = ff->frame == SEG_FRAME_COMB ? ff->cells : 1;
    ff->max_digits = ff->frame == SEG_FRAME_COMB ? ff->cells : 12;
    if ((v = kv_get(&a, "digits"))) {
        char buf[32];
        const char *dash = strchr(v, '-');
        long lo, hi;
        if (strlen(v) >= sizeof buf)
            return FAIL(p, "digits=%s: expected N or MIN-MAX", v);
        snprintf(buf, sizeof buf, "%s", v);
        if (dash)
            buf[dash - v] = '\0';
        if (util_parse_long(buf, 1, 40, &lo) != UTIL_OK ||
            util_parse_long(dash ? dash + 1 : buf, 1, 40, &hi) != UTIL_OK || hi < lo)
            return FAIL(p, "digits=%s: expected N or MIN-MAX from 1 to 40", v);
        ff->min_digits = (int)lo;
        ff->max_digits = (int)hi;
    }
    if (ff->frame == SEG_FRAME_COMB && ff->max_digits > ff->cells)
        return FAIL(p, "digits=%s: more digits than cells", kv_get(&a, "digits"));
    if (ff->type == SEG_FT_AMOUNT)
        ff->cents = 2;
    if (kv_get(&a, "cents")) {
        if (ff->type != SEG_FT_AMOUNT)
            return FAIL(p, "cents= belongs to amount fields");
        if ((rc = kv_int(p, &a, "cents", 0, 3, &ff->cents)))
            return rc;
    }
    if (ff->type == SEG_FT_AMOUNT && ff->cents >= ff->max_digits + 1)
        return FAIL(p, "cents=%d leaves no room in digits=%d-%d", ff->cents, ff->min_digits,
                    ff->max_digits);
    if ((v = kv_get(&a, "pattern"))) {
        size_t len = strlen(v), ok = 0;
        int lo, hi;
        if (ff->type != SEG_FT_NUMBER && ff->type != SEG_FT_POSTCODE)
            return FAIL(p, "pattern= belongs to number and postcode fields");
        while (ok < len && seg_pattern_class(v[ok], &lo, &hi) == UTIL_OK)
            ok++;
        if (len == 0 || len > SEG_PATTERN_MAX || ok != len)
            return FAIL(p, "pattern=%s: expected 1 to %d of X N Z 0-9", v, SEG_PATTERN_MAX);
        if ((int)len < ff->min_digits || (int)len > ff->max_digits)
            return FAIL(p, "pattern=%s: %d digits, the field holds %d-%d", v, (int)len,
                        ff->min_digits, ff->max_digits);
        memcpy(ff->pattern, v, len + 1);
    }
    if (!inside(f, &ff->r))
        return FAIL(p, "field '%s' lies outside the form", ff->name);
    f->n_fields++;
    return UTIL_OK;
}

static int parse_feature(parser *p, seg_form *f, char **tok, int *quoted, int n, int kind)
{
    static const char *const mark_keys[] = {"x", "y", "w", "h", NULL};
    seg_form_feature *ft;
    kv a;
    int rc;

    if ((rc = grow(p, (void **)&f->features, f->n_features, sizeof *f->features)))
        return rc;
    ft = &f->features[f->n_features];
    memset(ft, 0, sizeof *ft);
    ft->kind = kind;
    if ((rc = kv_collect(p, tok, quoted, 1, n, &a, mark_keys)))
        return rc;
    if (kind == SEG_FEAT_MARK) {
        if ((rc = kv_rect(p, &a, &ft->r)))
            return rc;
    } else {
        int hw = kv_get(&a, "w") != NULL, hh = kv_get(&a, "h") != NULL;
        if (hw == hh)
            return FAIL(p, "a line takes w= (horizontal) or h= (vertical), not both or neither");
        if ((rc = kv_length(p, &a, "x", 1, &ft->r.x)) || (rc = kv_length(p, &a, "y", 1, &ft->r.y)) ||
            (rc = kv_length(p, &a, hw ? "w" : "h", 1, hw ? &ft->r.w : &ft->r.h)))
            return rc;
        if ((hw ? ft->r.w : ft->r.h) <= 0)
            return FAIL(p, "a line must be longer than 0");
        /* The thickness is filled in at the end, when line-width is known. */
        if (hw)
            ft->r.h = -1;
        else
            ft->r.w = -1;
    }
    f->n_features++;
    return UTIL_OK;
}

static int parse_text(parser *p, seg_form *f, char **tok, int *quoted, int n)
{
    static const char *const keys[] = {"x", "y", "pt", NULL};
    seg_form_text *t;
    char *text = NULL;
    int k = -1, rc;
    kv a;

    for (int i = 1; i < n; i++)
        if (quoted[i]) {
            if (k >= 0)
                return FAIL(p, "text takes one quoted string");
            k = i;
        }
    if (k < 0)
        return FAIL(p, "text needs a quoted string");
    text = tok[k];
    for (int i = k; i + 1 < n; i++) {
        tok[i] = tok[i + 1];
        quoted[i] = quoted[i + 1];
    }
    n--;
    if ((rc = grow(p, (void **)&f->texts, f->n_texts, sizeof *f->texts)))
        return rc;
    t = &f->texts[f->n_texts];
    memset(t, 0, sizeof *t);
    if ((rc = kv_collect(p, tok, quoted, 1, n, &a, keys)) ||
        (rc = kv_length(p, &a, "x", 1, &t->x)) || (rc = kv_length(p, &a, "y", 1, &t->y)))
        return rc;
    if (!kv_get(&a, "pt"))
        return FAIL(p, "missing pt=");
    if ((rc = kv_int(p, &a, "pt", 4, 20, &t->pt)))
        return rc;
    if (t->pt % 2)
        return FAIL(p, "pt=%d: font sizes are even (4..20)", t->pt);
    if (t->x > f->width || t->y > f->height)
        return FAIL(p, "text starts outside the form");
    if (!(t->text = strdup(text))) {
        util_log(UTIL_LOG_ERROR, "out of memory reading %s", p->src);
        return UTIL_ENOMEM;
    }
    f->n_texts++;
    return UTIL_OK;
}

void seg_form_destroy(seg_form **pform)
{
    seg_form *f;
    if (!pform || !(f = *pform))
        return;
    for (int i = 0; i < f->n_texts; i++)
        free(f->texts[i].text);
    free(f->texts);
    free(f->features);
    free(f->fields);
    free(f->title);
    free(f);
    *pform = NULL;
}

int seg_form_parse(seg_form **pform, const char *text, size_t len, const char *source)
{
    parser p = {source ? source : "form", 0};
    seg_form *f = NULL;
    char line[LINE_MAX_BYTES + 2];
    char *tok[MAX_TOKENS];
    int quoted[MAX_TOKENS];
    int rc = UTIL_OK, seen_version = 0, seen_size = 0, seen_lw = 0;
    size_t pos = 0;

    *pform = NULL;
    if (len > FILE_MAX_BYTES) {
        p.line = 0;
        util_log(UTIL_LOG_ERROR, "%s: larger than %u bytes", p.src, FILE_MAX_BYTES);
        return UTIL_EFORMAT;
    }
    if (!(f = calloc(1, sizeof *f))) {
        util_log(UTIL_LOG_ERROR, "out of memory reading %s", p.src);
        return UTIL_ENOMEM;
    }
    f->line_width = 0.01;
    while (pos < len) {
        size_t end = pos;
        int n;
        while (end < len && text[end] != '\n')
            end++;
        p.line++;
        if (end - pos > LINE_MAX_BYTES) {
            rc = FAIL(&p, "line longer than %d bytes", LINE_MAX_BYTES);
            goto cleanup;
        }
        if (memchr(text + pos, '\0', end - pos)) {
            rc = FAIL(&p, "NUL byte: not a text file");
            goto cleanup;
        }
        memcpy(line, text + pos, end - pos);
        line[end - pos] = '\0';
        pos = end + 1;
        if ((rc = tokenize(&p, line, tok, quoted, &n)))
            goto cleanup;
        if (n == 0)
            continue;
        if (quoted[0]) {
            rc = FAIL(&p, "a line must start with a directive");
            goto cleanup;
        }
        if (!seen_version) {
            long v;
            if (strcmp(tok[0], "docpipe-form") != 0 || n != 2) {
                rc = FAIL(&p, "not a form template: the first line must be 'docpipe-form 1'");
                goto cleanup;
            }
            if (util_parse_long(tok[1], 1, 1000000, &v) != UTIL_OK || v != 1) {
                util_log(UTIL_LOG_ERROR, "%s:%d: form format version %s is not supported (only 1)",
                         p.src, p.line, tok[1]);
                rc = UTIL_EUNSUP;
                goto cleanup;
            }
            seen_version = 1;
        } else if (strcmp(tok[0], "name") == 0) {
            if (f->name[0]) {
                rc = FAIL(&p, "name given twice");
                goto cleanup;
            }
            if (n != 2 || !valid_name(tok[1])) {
                rc = FAIL(&p, "name takes one word of 1-31 characters a-z 0-9 - _");
                goto cleanup;
            }
            snprintf(f->name, sizeof f->name, "%s", tok[1]);
        } else if (strcmp(tok[0], "title") == 0) {
            if (f->title) {
                rc = FAIL(&p, "title given twice");
                goto cleanup;
            }
            if (n != 2 || !quoted[1]) {
                rc = FAIL(&p, "title takes one quoted string");
                goto cleanup;
            }
            if (!(f->title = strdup(tok[1]))) {
                util_log(UTIL_LOG_ERROR, "out of memory reading %s", p.src);
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
        } else if (strcmp(tok[0], "size") == 0) {
            if (seen_size) {
                rc = FAIL(&p, "size given twice");
                goto cleanup;
            }
            if (n != 3) {
                rc = FAIL(&p, "size takes a width and a height");
                goto cleanup;
            }
            if ((rc = parse_length(&p, "size", tok[1], &f->width)) ||
                (rc = parse_length(&p, "size", tok[2], &f->height)))
                goto cleanup;
            if (f->width < 1.0 || f->height < 1.0 || f->width > 100 || f->height > 100) {
                rc = FAIL(&p, "size must be from 1 to 100 in on each side");
                goto cleanup;
            }
            seen_size = 1;
        } else if (strcmp(tok[0], "line-width") == 0) {
            if (seen_lw) {
                rc = FAIL(&p, "line-width given twice");
                goto cleanup;
            }
            if (n != 2) {
                rc = FAIL(&p, "line-width takes one length");
                goto cleanup;
            }
            if ((rc = parse_length(&p, "line-width", tok[1], &f->line_width)))
                goto cleanup;
            if (f->line_width < 0.001 || f->line_width > 0.1) {
                rc = FAIL(&p, "line-width must be from 0.001 to 0.1 in");
                goto cleanup;
            }
            seen_lw = 1;
        } else if (!seen_size && (strcmp(tok[0], "mark") == 0 || strcmp(tok[0], "line") == 0 ||
                                  strcmp(tok[0], "text") == 0 || strcmp(tok[0], "field") == 0)) {
            rc = FAIL(&p, "size must come before %s", tok[0]);
            goto cleanup;
        } else if (strcmp(tok[0], "mark") == 0) {
            if ((rc = parse_feature(&p, f, tok, quoted, n, SEG_FEAT_MARK)))
                goto cleanup;
        } else if (strcmp(tok[0], "line") == 0) {
            if ((rc = parse_feature(&p, f, tok, quoted, n, SEG_FEAT_LINE)))
                goto cleanup;
        } else if (strcmp(tok[0], "text") == 0) {
            if ((rc = parse_text(&p, f, tok, quoted, n)))
                goto cleanup;
        } else if (strcmp(tok[0], "field") == 0) {
            if ((rc = parse_field(&p, f, tok, quoted, n)))
                goto cleanup;
        } else {
            rc = FAIL(&p, "unknown directive '%s'", tok[0]);
            goto cleanup;
        }
    }
    p.line++;
    if (!seen_version) {
        rc = FAIL(&p, "empty: not a form template");
        goto cleanup;
    }
    if (!f->name[0] || !seen_size) {
        rc = FAIL(&p, "missing %s", !f->name[0] ? "name" : "size");
        goto cleanup;
    }
    if (f->n_fields == 0) {
        rc = FAIL(&p, "no field: a form needs at least one");
        goto cleanup;
    }
    for (int i = 0; i < f->n_features; i++) {
        seg_rect *r = &f->features[i].r;
        if (r->w < 0)
            r->w = f->line_width;
        if (r->h < 0)
            r->h = f->line_width;
        if (!inside(f, r)) {
            p.line = 0;
            rc = FAIL(&p, "feature %d (a %s) lies outside the form", i + 1,
                      f->features[i].kind == SEG_FEAT_MARK ? "mark" : "line");
            goto cleanup;
        }
    }
cleanup:
    if (rc)
        seg_form_destroy(&f);
    *pform = f;
    return rc;
}

int seg_form_load(seg_form **pform, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *pform = NULL;
    if ((rc = util_file_read(path, FILE_MAX_BYTES, &buf, &len)))
        return rc;
    rc = seg_form_parse(pform, (const char *)buf, len, path);
    free(buf);
    return rc;
}

void seg_form_set_destroy(seg_form_set **pset)
{
    seg_form_set *s;
    if (!pset || !(s = *pset))
        return;
    for (int i = 0; i < s->n; i++)
        seg_form_destroy(&s->forms[i]);
    free(s->forms);
    free(s);
    *pset = NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int seg_form_set_load(seg_form_set **pset, const char *dir)
{
    seg_form_set *s = NULL;
    char **names = NULL;
    int n = 0, cap = 0, rc = UTIL_OK;
    struct dirent *e;
    DIR *d;

    *pset = NULL;
    if (!(d = opendir(dir))) {
        util_log(UTIL_LOG_ERROR, "cannot open the forms folder %s", dir);
        return UTIL_EIO;
    }
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".form") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **q = realloc(names, (size_t)(cap ? 2 * cap : 8) * sizeof *names);
            if (!q) {
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
            names = q;
            cap = cap ? 2 * cap : 8;
        }
        if (!(names[n] = malloc(strlen(dir) + len + 2))) {
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    if (n == 0) {
        util_log(UTIL_LOG_ERROR, "no form template (*.form) in %s", dir);
        rc = UTIL_EIO;
        goto cleanup;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    if (!(s = calloc(1, sizeof *s)) || !(s->forms = calloc((size_t)n, sizeof *s->forms))) {
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        if ((rc = seg_form_load(&s->forms[i], names[i])))
            goto cleanup;
        s->n++;
        for (int j = 0; j < i; j++)
            if (strcmp(s->forms[j]->name, s->forms[i]->name) == 0) {
                util_log(UTIL_LOG_ERROR, "%s: form name '%s' is also used by another template in %s",
                         names[i], s->forms[i]->name, dir);
                rc = UTIL_EFORMAT;
                goto cleanup;
            }
    }
cleanup:
    if (rc == UTIL_ENOMEM)
        util_log(UTIL_LOG_ERROR, "out of memory loading the forms in %s", dir);
    closedir(d);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc)
        seg_form_set_destroy(&s);
    *pset = s;
    return rc;
}

const seg_form *seg_form_set_find(const seg_form_set *set, const char *name)
{
    for (int i = 0; set && i < set->n; i++)
        if (strcmp(set->forms[i]->name, name) == 0)
            return set->forms[i];
    return NULL;
}

void seg_forms_default_dir(char *buf, size_t cap)
{
    const char *env = getenv("DOCPIPE_FORMS");
    char exe[4096], cand[2][4200];
    DIR *d;

    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    util_exe_dir(exe, sizeof exe);
    snprintf(cand[0], sizeof cand[0], "%s/forms", exe);
    snprintf(cand[1], sizeof cand[1], "%s/../share/docpipe/forms", exe);
    for (int i = 0; i < 2; i++)
        if ((d = opendir(cand[i]))) {
            closedir(d);
            snprintf(buf, cap, "%s", cand[i]);
            return;
        }
    snprintf(buf, cap, "forms");
}
