/*
 * pipe_eval.c - `docpipe eval-ingest` (pipe.h): the database's fields
 * against a samples truth file (file,page,field,type,text).
 *
 * The fields are read through `docpipe export fields` (db_export_run into
 * a temporary CSV), so this file knows no SQL.  A truth row names its file
 * relative to the truth file's folder; the database stores each path as it
 * was given to ingest (relative to the folder ingest ran in, or absolute).
 * A stored path is matched by resolving it (realpath) and taking it
 * relative to the truth folder's real path; when that fails (eval-ingest
 * run from another folder than ingest was), by its longest trailing part
 * that is a truth file name.  When one (file, page, field) is stored more
 * than once (the same path ingested again after the file changed), the
 * last stored reading counts.
 */
#include "pipe.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "pipe_int.h"
#include "segment/seg_form.h"
#include "util/util.h"
#include "util/util_csv.h"

void pipe_eval_opts_default(pipe_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db = "docpipe.db";
    o->target_error = 0.01;
}

/* ------------------------------------------------------------ measures */

static int cmp_conf_desc(const void *a, const void *b)
{
    const pipe_scored *x = a, *y = b;
    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    return x->correct - y->correct; /* ties: wrong ones first (pessimistic) */
}

double pipe_read_rate(pipe_scored *v, size_t n, double max_error, double *pthreshold)
{
    size_t best = 0, wrong = 0;

    *pthreshold = 1.0;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_conf_desc);
    for (size_t i = 0; i < n; i++) {
        wrong += !v[i].correct;
        /* accept the first i+1 only when no later field has the same confidence */
        if (i + 1 < n && v[i + 1].confidence == v[i].confidence)
            continue;
        if ((double)wrong <= max_error * (double)(i + 1) + 1e-12) {
            best = i + 1;
            *pthreshold = v[i].confidence;
        }
    }
    return (double)best / (double)n;
}

int pipe_digit_errors(const char *a, const char *b)
{
    char x[PIPE_TEXT_MAX], y[PIPE_TEXT_MAX];
    int n = 0, m = 0, prev[PIPE_TEXT_MAX + 1], cur[PIPE_TEXT_MAX + 1];

    for (; *a && n < PIPE_TEXT_MAX; a++)
        if (*a >= '0' && *a <= '9')
            x[n++] = *a;
    for (; *b && m < PIPE_TEXT_MAX; b++)
        if (*b >= '0' && *b <= '9')
            y[m++] = *b;
    for (int j = 0; j <= m; j++)
        prev[j] = j;
    for (int i = 1; i <= n; i++) {
        cur[0] = i;
        for (int j = 1; j <= m; j++) {
            int d = prev[j - 1] + (x[i - 1] != y[j - 1]);
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            cur[j] = d;
        }
        memcpy(prev, cur, (size_t)(m + 1) * sizeof *cur);
    }
    return prev[m];
}

char *pipe_rel_path(const char *dir_real, const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir_real);

    if (!realpath(path, buf))
        return NULL;
    if (strcmp(dir_real, "/") == 0)
        return strdup(buf + 1);
    if (strncmp(buf, dir_real, n) != 0 || buf[n] != '/')
        return NULL;
    return strdup(buf + n + 1);
}

/* ------------------------------------------------------------ the truth */

typedef struct trow {
    char *file, *field, *type, *text;
    int page;
    /* the stored reading */
    int found;
    char *read;
    double conf;
    int review;
} trow;

typedef struct eval {
    trow *t;
    int n, cap;
    char **files;     /* distinct truth file names, sorted */
    int n_files;
} eval;

static int cmp_trow(const void *a, const void *b)
{
    const trow *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->page != y->page)
        return x->page < y->page ? -1 : 1;
    return strcmp(x->field, y->field);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void eval_free(eval *e)
{
    for (int i = 0; i < e->n; i++) {
        free(e->t[i].file);
        free(e->t[i].field);
        free(e->t[i].type);
        free(e->t[i].text);
        free(e->t[i].read);
    }
    free(e->t);
    free(e->files);
}

static int load_truth(eval *e, const char *path)
{
    util_csv *c = NULL;
    char **f;
    int n, rc, line = 0;

    if ((rc = util_csv_open(&c, path, 256u << 20)))
        return rc;
    while (!(rc = util_csv_next(c, &f, &n)) && n > 0) {
        long page;
        trow *r;
        line++;
        if (line == 1) {
            if (n < 5 || strcmp(f[0], "file") || strcmp(f[1], "page") || strcmp(f[2], "field") ||
                strcmp(f[3], "type") || strcmp(f[4], "text")) {
                util_log(UTIL_LOG_ERROR, "%s:1: the header must be file,page,field,type,text",
                         path);
                rc = UTIL_EFORMAT;
                break;
            }
            continue;
        }
        if (n == 1 && !f[0][0])
            continue; /* a blank line */
        if (n < 5 || util_parse_long(f[1], 1, 1000000, &page)) {
            util_log(UTIL_LOG_ERROR, "%s:%d: expected file,page,field,type,text with a page "
                     "number", path, util_csv_line(c));
            rc = UTIL_EFORMAT;
            break;
        }
        if (e->n == e->cap) {
            int cap = e->cap ? 2 * e->cap : 1024;
            trow *nt = realloc(e->t, (size_t)cap * sizeof *nt);
            if (!nt) {
                rc = UTIL_ENOMEM;
                util_log(UTIL_LOG_ERROR, "out of memory reading %s", path);
                break;
            }
            e->t = nt;
            e->cap = cap;
        }
        r = &e->t[e->n];
        memset(r, 0, sizeof *r);
        r->page = (int)page;
        r->file = strdup(f[0]);
        r->field = strdup(f[2]);
        r->type = strdup(f[3]);
        r->text = strdup(f[4]);
        e->n++;
        if (!r->file || !r->field || !r->type || !r->text) {
            rc = UTIL_ENOMEM;
            util_log(UTIL_LOG_ERROR, "out of memory reading %s", path);
            break;
        }
    }
    util_csv_close(&c);
    if (rc)
        return rc;
    if (e->n == 0) {
        util_log(UTIL_LOG_ERROR, "%s: no truth rows", path);
        return UTIL_EFORMAT;
    }
    qsort(e->t, (size_t)e->n, sizeof *e->t, cmp_trow);
    if (!(e->files = malloc((size_t)e->n * sizeof *e->files)))
        return UTIL_ENOMEM;
    for (int i = 0; i < e->n; i++)
        if (i == 0 || strcmp(e->t[i].file, e->t[i - 1].file) != 0)
            e->files[e->n_files++] = e->t[i].file;
    qsort(e->files, (size_t)e->n_files, sizeof *e->files, cmp_str);
    return UTIL_OK;
}

static trow *find_row(eval *e, const char *file, int page, const char *field)
{
    trow key = {0};
    key.file = (char *)file;
    key.page = page;
    key.field = (char *)field;
    return bsearch(&key, e->t, (size_t)e->n, sizeof *e->t, cmp_trow);
}

/* The truth file name a stored path stands for, or NULL. */
static const char *match_file(eval *e, const char *dir_real, const char *path, char **pown)
{
    char *rel = pipe_rel_path(dir_real, path);
    const char *s = path;

    *pown = NULL;
    if (rel) {
        char *const *hit = bsearch(&rel, e->files, (size_t)e->n_files, sizeof *e->files, cmp_str);
        if (hit) {
            *pown = rel;
            return rel;
        }
        free(rel);
    }
    /* the longest trailing part of the path that is a truth file name */
    while (s) {
        while (*s == '/')
            s++;
        if (*s) {
            char *const *hit = bsearch(&s, e->files, (size_t)e->n_files, sizeof *e->files,
                                       cmp_str);
            if (hit)
                return *hit;
        }
        s = strchr(s, '/');
    }
    return NULL;
}

/* Reads the stored fields (through export) into the truth rows. */
static int load_stored(eval *e, const char *db_path, const char *truth, long *pstored,
                       long *pmatched)
{
    char tmpl[] = "/tmp/docpipe-eval-XXXXXX", dir_real[PATH_MAX], tdir[PATH_MAX];
    db_export_opts xo;
    util_csv *c = NULL;
    char **f;
    int n, rc, fd, first = 1;
    char *slash;

    *pstored = *pmatched = 0;
    snprintf(tdir, sizeof tdir, "%s", truth);
    slash = strrchr(tdir, '/');
    if (slash)
        *(slash == tdir ? slash + 1 : slash) = '\0';
    else
        snprintf(tdir, sizeof tdir, ".");
    if (!realpath(tdir, dir_real)) {
        util_log(UTIL_LOG_ERROR, "%s: cannot resolve the truth file's folder: %s", truth,
                 strerror(errno));
        return UTIL_EIO;
    }
    if ((fd = mkstemp(tmpl)) < 0) {
        util_log(UTIL_LOG_ERROR, "cannot create a temporary file in /tmp: %s", strerror(errno));
        return UTIL_EIO;
    }
    close(fd);
    db_export_opts_default(&xo);
    xo.db = db_path;
    xo.what = "fields";
    xo.format = "csv";
    xo.out = tmpl;
    if ((rc = db_export_run(&xo)) || (rc = util_csv_open(&c, tmpl, 0)))
        goto cleanup;
    /* columns: file,page,form,field,type,text,confidence,status,... */
    while (!(rc = util_csv_next(c, &f, &n)) && n > 0) {
        long page;
        double conf;
        const char *file;
        char *own = NULL;
        trow *r;
        if (first) {
            first = 0;
            if (n < 8 || strcmp(f[0], "file") || strcmp(f[5], "text") ||
                strcmp(f[6], "confidence") || strcmp(f[7], "status")) {
                util_log(UTIL_LOG_ERROR, "export of %s: unexpected columns", db_path);
                rc = UTIL_EFORMAT;
                break;
            }
            continue;
        }
        if (n < 8 || util_parse_long(f[1], 1, 1000000, &page) ||
            util_parse_double(f[6], 0, 1, &conf))
            continue;
        (*pstored)++;
        if (!(file = match_file(e, dir_real, f[0], &own)))
            continue;
        r = find_row(e, file, (int)page, f[3]);
        free(own);
        if (!r)
            continue;
        if (!r->found)
            (*pmatched)++;
        free(r->read);
        r->read = strdup(f[5]);
        r->found = r->read != NULL;
        r->conf = conf;
        r->review = strcmp(f[7], "review") == 0;
    }
cleanup:
    util_csv_close(&c);
    unlink(tmpl);
    return rc;
}

/* ------------------------------------------------------------- report */

#define N_BINS 8
static const double BIN_LO[N_BINS] = {0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995};

typedef struct tally {
    long n, exact;
    double read_rate, threshold;
} tally;

static void tally_of(eval *e, const char *type, const char *field, double max_err, tally *t)
{
    pipe_scored *v = malloc((size_t)e->n * sizeof *v);
    size_t m = 0;

    memset(t, 0, sizeof *t);
    t->threshold = 1;
    for (int i = 0; i < e->n; i++) {
        const trow *r = &e->t[i];
        if ((type && strcmp(r->type, type)) || (field && strcmp(r->field, field)))
            continue;
        t->n++;
        int ok = r->found && strcmp(r->read, r->text) == 0;
        t->exact += ok;
        if (v) {
            v[m].confidence = r->found ? r->conf : 0;
            v[m].correct = ok;
            m++;
        }
    }
    if (v)
        t->read_rate = pipe_read_rate(v, m, max_err, &t->threshold);
    free(v);
}

static double pct(long a, long b) { return b ? 100.0 * (double)a / (double)b : 0; }

int pipe_eval_run(const pipe_eval_opts *o)
{
    eval e = {0};
    long stored = 0, matched = 0, found = 0, tdig = 0, derr = 0;
    long n_ok = 0, ok_exact = 0, n_rev = 0, rev_exact = 0;
    long bn[N_BINS] = {0}, bex[N_BINS] = {0};
    double bconf[N_BINS] = {0};
    tally all, types[SEG_FT_COUNT];
    char names[64][SEG_NAME_MAX];
    tally by_name[64];
    int n_names = 0, rc;

    if ((rc = load_truth(&e, o->truth)) ||
        (rc = load_stored(&e, o->db, o->truth, &stored, &matched)))
        goto cleanup;
    if (matched == 0) {
        util_log(UTIL_LOG_ERROR, "%s: none of its %d fields is in %s (%ld fields stored): "
                 "were these files ingested into it?", o->truth, e.n, o->db, stored);
        rc = UTIL_EINVAL;
        goto cleanup;
    }
    for (int i = 0; i < e.n; i++) {
        const trow *r = &e.t[i];
        int ok = r->found && strcmp(r->read, r->text) == 0, b = 0;
        double conf = r->found ? r->conf : 0;
        int nd = pipe_digit_errors(r->text, ""), err;
        found += r->found;
        tdig += nd;
        err = pipe_digit_errors(r->found ? r->read : "", r->text);
        derr += err < nd ? err : nd;
        if (r->found && !r->review) {
            n_ok++;
            ok_exact += ok;
        } else {
            n_rev++;
            rev_exact += ok;
        }
        while (b + 1 < N_BINS && conf >= BIN_LO[b + 1])
            b++;
        bn[b]++;
        bex[b] += ok;
        bconf[b] += conf;
        int k = 0;
        while (k < n_names && strcmp(names[k], r->field))
            k++;
        if (k == n_names && n_names < 64)
            snprintf(names[n_names++], SEG_NAME_MAX, "%s", r->field);
    }
    tally_of(&e, NULL, NULL, o->target_error, &all);
    for (int t = 0; t < SEG_FT_COUNT; t++)
        tally_of(&e, seg_field_type_name(t), NULL, o->target_error, &types[t]);
    for (int k = 0; k < n_names; k++)
        tally_of(&e, NULL, names[k], o->target_error, &by_name[k]);

    if (o->json) {
        printf("{\"fields\":%d,\"found\":%ld,\"exact\":%.6f,\"digit_accuracy\":%.6f,"
               "\"read_rate\":%.6f,\"read_rate_threshold\":%.6f,\"max_error\":%.6g,",
               e.n, found, (double)all.exact / e.n, tdig ? 1.0 - (double)derr / tdig : 0,
               all.read_rate, all.threshold, o->target_error);
        printf("\"ok\":{\"fields\":%ld,\"exact\":%.6f},\"review\":{\"fields\":%ld,\"exact\":%.6f},",
               n_ok, n_ok ? (double)ok_exact / n_ok : 0, n_rev, n_rev ? (double)rev_exact / n_rev : 0);
        printf("\"types\":{");
        for (int t = 0, c = 0; t < SEG_FT_COUNT; t++)
            if (types[t].n)
                printf("%s\"%s\":{\"fields\":%ld,\"exact\":%.6f,\"read_rate\":%.6f}", c++ ? "," : "",
                       seg_field_type_name(t), types[t].n, (double)types[t].exact / types[t].n,
                       types[t].read_rate);
        printf("},\"names\":{");
        for (int k = 0; k < n_names; k++)
            printf("%s\"%s\":{\"fields\":%ld,\"exact\":%.6f}", k ? "," : "", names[k],
                   by_name[k].n, (double)by_name[k].exact / by_name[k].n);
        printf("},\"reliability\":[");
        for (int b = 0, c = 0; b < N_BINS; b++)
            if (bn[b])
                printf("%s{\"from\":%.3f,\"fields\":%ld,\"mean_confidence\":%.6f,\"exact\":%.6f}",
                       c++ ? "," : "", BIN_LO[b], bn[b], bconf[b] / bn[b],
                       (double)bex[b] / bn[b]);
        printf("]}\n");
    } else {
        printf("%s against %s\n", o->db, o->truth);
        printf("fields in the truth      %d (%ld found in the database, %ld missing)\n", e.n,
               found, e.n - found);
        printf("field exact match        %.2f %% (%ld/%d)\n", pct(all.exact, e.n), all.exact, e.n);
        printf("digit accuracy           %.2f %% (1 - edit distance / %ld truth digits)\n",
               tdig ? 100.0 * (1.0 - (double)derr / tdig) : 0, tdig);
        printf("read rate at <= %.3g %% field error: %.2f %% (confidence >= %.4f accepted)\n",
               100 * o->target_error, 100 * all.read_rate, all.threshold);
        printf("status ok                %ld fields, %.2f %% exact\n", n_ok, pct(ok_exact, n_ok));
        printf("status review or missing %ld fields, %.2f %% exact\n", n_rev,
               pct(rev_exact, n_rev));
        printf("\n%-10s %7s %9s %11s\n", "type", "fields", "exact %", "read rate %");
        for (int t = 0; t < SEG_FT_COUNT; t++)
            if (types[t].n)
                printf("%-10s %7ld %9.2f %11.2f\n", seg_field_type_name(t), types[t].n,
                       pct(types[t].exact, types[t].n), 100 * types[t].read_rate);
        printf("\n%-10s %7s %9s %11s\n", "field", "fields", "exact %", "read rate %");
        for (int k = 0; k < n_names; k++)
            printf("%-10s %7ld %9.2f %11.2f\n", names[k], by_name[k].n,
                   pct(by_name[k].exact, by_name[k].n), 100 * by_name[k].read_rate);
        printf("\nreliability (confidence bins against actual exact match)\n");
        printf("%-13s %7s %10s %9s\n", "confidence", "fields", "mean conf", "exact %");
        for (int b = 0; b < N_BINS; b++) {
            char lab[32];
            snprintf(lab, sizeof lab, "%.3f-%.3f", BIN_LO[b], b + 1 < N_BINS ? BIN_LO[b + 1] : 1.0);
            if (bn[b])
                printf("%-13s %7ld %10.4f %9.2f\n", lab, bn[b], bconf[b] / bn[b],
                       pct(bex[b], bn[b]));
            else
                printf("%-13s %7d %10s %9s\n", lab, 0, "-", "-");
        }
    }
    fflush(stdout);
cleanup:
    eval_free(&e);
    return rc;
}
