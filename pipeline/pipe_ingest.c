/*
 * pipe_ingest.c - `docpipe ingest` (pipe.h): the threaded run.
 *
 *   main thread                          worker threads (--threads)
 *   walk the paths, open the database,   take the next file; SHA-256; skip
 *   load model + forms, start workers    it when already stored; read and
 *                                        segment every page; list the
 *                    <-- segmented docs  field glyphs' crops (duplicates
 *   feed their crops into one batch        between splits once)
 *   (--batch) across pages and
 *   documents; classify each full batch;
 *   a document whose crops all have probabilities is assembled
 *   (pipe_assemble.c) and written in one transaction (db_doc_put).
 *
 * Documents are written in the order their segmentation finished (which
 * is input order unless a long document is overtaken by shorter ones), one
 * transaction each.  Workers stop taking files while more than a few
 * batches of crops wait for the classifier, so memory stays bounded.
 * Every database write happens on the main thread; workers only read (the
 * SHA-256 look-up) on connections of their own.
 */
#include "pipe.h"

#include <allheaders.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "pipe_int.h"
#include "recognize/rec_classify.h"
#include "recognize/rec_engine.h"
#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "segment/seg_form.h"
#include "segment/seg_image.h"
#include "segment/segment.h"
#include "util/util.h"

#define MAX_THREADS 64

static volatile sig_atomic_t g_interrupt;

void pipe_interrupt(void) { g_interrupt = 1; }

void pipe_ingest_opts_default(pipe_ingest_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db = "docpipe.db";
    o->batch = PIPE_BATCH_DEFAULT;
    o->review_below = PIPE_REVIEW_BELOW_DEFAULT;
    o->progress = -1;
}

/* ------------------------------------------------------------ records */

/* DOC_ABANDONED: interrupted half way; not written, so never half stored. */
enum { DOC_READ = 0, DOC_FAILED = 1, DOC_SKIPPED = 2, DOC_ABANDONED = 3 };

typedef struct ppage {
    int width, height, dpi;
    seg_page *seg;       /* NULL when the page could not be read */
    char *error;
} ppage;

/* The networks that read every crop: the model, and the helpers a run may
 * have (the checker, README "Confidence"; the judge, "The judge"; the pair
 * readers, "The pair readers"). */
enum { NET_MODEL, NET_CHECK, NET_JUDGE, NET_PAIR_LEFT, NET_PAIR_RIGHT, NET_COUNT };

typedef struct pdoc {
    int idx;                     /* the walk entry */
    int kind;                    /* DOC_* */
    char *error;                 /* DOC_FAILED: why */
    char sha[DB_SHA256_HEX];
    int has_sha;
    int64_t bytes;
    int n_pages;
    ppage *pages;
    int n_crops;                 /* distinct crops to classify */
    uint8_t *crops;              /* n_crops x 784 */
    float *probs[NET_COUNT];     /* each network's, n_crops x 10, filled by the main
                                  * thread (NULL: a network the run does not have) */
    int *gmap;                   /* every glyph, field by field, split by split: its crop */
    int fed, done;               /* crops put into batches / classified */
    double seconds;
    struct pdoc *next;
} pdoc;

static void pdoc_destroy(pdoc **pd)
{
    pdoc *d = *pd;

    if (!d)
        return;
    for (int i = 0; i < d->n_pages; i++) {
        seg_page_destroy(&d->pages[i].seg);
        free(d->pages[i].error);
    }
    free(d->pages);
    free(d->error);
    free(d->crops);
    for (int k = 0; k < NET_COUNT; k++)
        free(d->probs[k]);
    free(d->gmap);
    free(d);
    *pd = NULL;
}

/* The last error message of this thread without a leading "PATH: ". */
static char *reason(const char *path, const char *fallback)
{
    const char *m = util_last_error();
    size_t n = strlen(path);

    if (!m[0])
        m = fallback;
    else if (strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
        m += n + 2;
    return strdup(m);
}

/* ------------------------------------------------------ shared state */

typedef struct ingest {
    const pipe_ingest_opts *o;
    pipe_walk *walk;
    seg_form_set *forms;
    seg_opts so;
    int n_threads;
    int with[NET_COUNT];         /* the networks the run has (with[NET_MODEL] is 1) */
    /* shared between threads, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_main;
    int next, active, stop;
    long inflight, cap;
    pdoc *q_head, *q_tail;
} ingest;

/* Lists every glyph's crop, once per distinct (box, crop) within a field,
 * with room for the probabilities of each network k with with[k]. */
static int list_crops(pdoc *d, const int *with)
{
    int n_glyphs = 0, j = 0;

    for (int p = 0; p < d->n_pages; p++)
        if (d->pages[p].seg)
            for (int f = 0; f < d->pages[p].seg->n_fields; f++)
                n_glyphs += pipe_field_glyphs(&d->pages[p].seg->fields[f]);
    if (n_glyphs == 0)
        return UTIL_OK;
    d->gmap = malloc((size_t)n_glyphs * sizeof *d->gmap);
    d->crops = malloc((size_t)n_glyphs * SEG_CROP_PIXELS);
    if (!d->gmap || !d->crops)
        return UTIL_ENOMEM;
    for (int k = 0; k < NET_COUNT; k++)
        if (with[k] && !(d->probs[k] = malloc((size_t)n_glyphs * 10 * sizeof *d->probs[k])))
            return UTIL_ENOMEM;
    for (int p = 0; p < d->n_pages; p++) {
        const seg_page *pg = d->pages[p].seg;
        if (!pg)
            continue;
        for (int f = 0; f < pg->n_fields; f++) {
            const seg_field *fl = &pg->fields[f];
            int first = j;
            for (int k = 0; k < fl->n_splits; k++)
                for (int i = 0; i < fl->splits[k].n; i++, j++) {
                    const seg_glyph *gl = &fl->splits[k].glyphs[i];
                    int same = -1;
                    /* the same box and crop earlier in this field: classified once */
                    for (int t = first; t < j && same < 0; t++) {
                        const uint8_t *c = d->crops + (size_t)d->gmap[t] * SEG_CROP_PIXELS;
                        if (memcmp(c, gl->crop, SEG_CROP_PIXELS) == 0)
                            same = d->gmap[t];
                    }
                    if (same < 0) {
                        same = d->n_crops++;
                        memcpy(d->crops + (size_t)same * SEG_CROP_PIXELS, gl->crop,
                               SEG_CROP_PIXELS);
                    }
                    d->gmap[j] = same;
                }
        }
    }
    return UTIL_OK;
}

/* Reads and segments one file (a worker's job); never fails: problems go
 * into the record. */
static pdoc *process(ingest *g, int idx, db *rd)
{
    const pipe_entry *e = &g->walk->e[idx];
    pdoc *d = calloc(1, sizeof *d);
    seg_doc *sd = NULL;
    double t0 = util_now();
    int64_t found = 0;
    int n_ok = 0, stopped = 0;

    if (!d)
        return NULL;
    d->idx = idx;
    d->bytes = e->bytes;
    util_clear_error();
    if (e->error) {
        d->kind = DOC_FAILED;
        d->error = strdup(e->error);
        goto done;
    }
    if (db_sha256_file(e->path, d->sha, &d->bytes)) {
        d->kind = DOC_FAILED;
        d->error = reason(e->path, "cannot be read");
        goto done;
    }
    d->has_sha = 1;
    if (rd && !g->o->force && db_doc_find(rd, d->sha, &found) == UTIL_OK && found) {
        d->kind = DOC_SKIPPED;
        goto done;
    }
    if (seg_doc_open(&sd, e->path)) {
        d->kind = DOC_FAILED;
        d->error = reason(e->path, "not a readable image");
        goto done;
    }
    d->n_pages = seg_doc_page_count(sd);
    if (!(d->pages = calloc((size_t)d->n_pages, sizeof *d->pages))) {
        d->kind = DOC_FAILED;
        d->error = strdup("out of memory");
        goto done;
    }
    for (int p = 0; p < d->n_pages; p++) {
        ppage *pp = &d->pages[p];
        PIX *pix = NULL;
        int dpi = 0, assumed = 0, rc;
        util_clear_error();
        rc = seg_doc_read_page(sd, p, &pix, &dpi, &assumed);
        if (!rc)
            rc = seg_page_run(pix, dpi, &g->so, &pp->seg);
        if (rc) {
            pp->error = reason(e->path, "cannot be read");
            if (seg_doc_page_size(sd, p, &pp->width, &pp->height))
                pp->width = pp->height = 0;
        } else {
            pp->seg->dpi_assumed = assumed;
            pp->width = pp->seg->width;
            pp->height = pp->seg->height;
            pp->dpi = assumed ? 0 : dpi;
            n_ok++;
        }
        pixDestroy(&pix);
        if (g_interrupt && p + 1 < d->n_pages) {
            stopped = 1; /* Ctrl-C half way through a long document */
            break;
        }
    }
    if (stopped) {
        d->kind = DOC_ABANDONED;
        d->n_crops = 0;
        goto done;
    }
    if (n_ok == 0) {
        d->kind = DOC_FAILED;
        d->error = d->n_pages > 0 && d->pages[0].error ? strdup(d->pages[0].error)
                                                       : strdup("no page could be read");
        goto done;
    }
    if (list_crops(d, g->with)) {
        d->kind = DOC_FAILED;
        d->error = strdup("out of memory listing its digits");
    }
done:
    if (d->kind == DOC_FAILED) {
        /* A failed document keeps no pages or crops. */
        for (int i = 0; i < d->n_pages; i++) {
            seg_page_destroy(&d->pages[i].seg);
            free(d->pages[i].error);
        }
        free(d->pages);
        d->pages = NULL;
        d->n_pages = 0;
        d->n_crops = 0;
    }
    seg_doc_destroy(&sd);
    d->seconds = util_now() - t0;
    return d;
}

static void *worker(void *arg)
{
    ingest *g = arg;
    db *rd = NULL;

    if (!g->o->force && db_open(g->o->db, 0, &rd))
        rd = NULL; /* the look-up is only a shortcut: db_doc_put checks again */
    for (;;) {
        pdoc *d;
        int idx;
        pthread_mutex_lock(&g->mu);
        while (!g->stop && !g_interrupt && g->inflight >= g->cap)
            pthread_cond_wait(&g->cv_work, &g->mu);
        if (g->stop || g_interrupt || g->next >= g->walk->n) {
            pthread_mutex_unlock(&g->mu);
            break;
        }
        idx = g->next++;
        g->active++;
        pthread_mutex_unlock(&g->mu);

        d = process(g, idx, rd);

        pthread_mutex_lock(&g->mu);
        g->active--;
        if (d) {
            if (g->q_tail)
                g->q_tail->next = d;
            else
                g->q_head = d;
            g->q_tail = d;
            g->inflight += d->n_crops;
        } else {
            g->stop = 1; /* out of memory */
        }
        pthread_cond_signal(&g->cv_main);
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_lock(&g->mu);
    pthread_cond_signal(&g->cv_main);
    pthread_mutex_unlock(&g->mu);
    db_close(&rd);
    return NULL;
}

/* --------------------------------------------------------- main side */

typedef struct writer {
    ingest *g;
    db *db;
    int64_t run_id;
    rec_classifier *cls[NET_COUNT]; /* NULL: a network the run does not have */
    int batch;
    uint8_t *bpix;
    float *bprob[NET_COUNT];        /* a batch's probabilities, per network */
    pdoc **bdoc;
    int *bcrop;
    pdoc *fifo_head, *fifo_tail;   /* documents waiting for probabilities or writing */
    long pending;                  /* crops not yet fed */
    pipe_ingest_stats st;
    long pages_done, docs_done;
    pipe_progress prog;
    int show;
} writer;

/* The rules the template gives a field. */
static void rules_of(const ingest *g, const seg_page *pg, const seg_field *f, pipe_rules *r)
{
    pipe_rules_of(g->forms ? seg_form_set_find(g->forms, pg->form) : NULL, f->name, r);
}

static void say_failed(writer *w, const char *path, const char *why)
{
    if (w->show)
        pipe_progress_clear(&w->prog);
    fprintf(stderr, "docpipe: failed: %s: %s\n", path, why);
}

/* Assembles document d and stores it (or its failure). */
static int write_doc(writer *w, pdoc *d)
{
    const pipe_entry *e = &w->g->walk->e[d->idx];
    db_page *pages = NULL;
    db_field *fields = NULL;
    db_digit *digits = NULL;
    pipe_read *reads = NULL;
    const float **gp[NET_COUNT] = {NULL}; /* per network: each glyph's probabilities */
    size_t n_fields = 0, n_digits = 0, n_glyphs = 0;
    int rc = UTIL_OK, outcome = 0;
    int64_t id = 0;
    long n_review = 0;

    if (d->kind == DOC_ABANDONED)
        return UTIL_OK;
    if (d->kind == DOC_SKIPPED) {
        w->st.skipped++;
        w->pages_done += e->pages;
        return UTIL_OK;
    }
    if (d->kind == DOC_FAILED) {
        rc = db_doc_fail(w->db, w->run_id, e->path, d->has_sha ? d->sha : NULL, d->bytes,
                         d->error ? d->error : "unknown error", NULL);
        if (!rc) {
            w->st.failed++;
            say_failed(w, e->path, d->error ? d->error : "unknown error");
        }
        w->pages_done += e->pages;
        return rc;
    }
    for (int p = 0; p < d->n_pages; p++)
        if (d->pages[p].seg)
            for (int f = 0; f < d->pages[p].seg->n_fields; f++) {
                const seg_field *fl = &d->pages[p].seg->fields[f];
                n_fields++;
                n_digits += (size_t)pipe_field_digits_max(fl);
                n_glyphs += (size_t)pipe_field_glyphs(fl);
            }
    pages = calloc((size_t)d->n_pages, sizeof *pages);
    fields = calloc(n_fields ? n_fields : 1, sizeof *fields);
    reads = calloc(n_fields ? n_fields : 1, sizeof *reads);
    digits = calloc(n_digits ? n_digits : 1, sizeof *digits);
    for (int k = 0; k < NET_COUNT; k++) /* the model's even for a page without glyphs */
        if ((k == NET_MODEL || d->probs[k]) &&
            !(gp[k] = calloc(n_glyphs ? n_glyphs : 1, sizeof *gp[k])))
            rc = UTIL_ENOMEM;
    if (!pages || !fields || !reads || !digits || rc) {
        util_log(UTIL_LOG_ERROR, "out of memory storing %s", e->path);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    {
        size_t fi = 0, di = 0, gj = 0;
        for (int p = 0; p < d->n_pages; p++) {
            const ppage *pp = &d->pages[p];
            db_page *dp = &pages[p];
            dp->page_no = p + 1;
            dp->width = pp->width;
            dp->height = pp->height;
            dp->dpi = pp->dpi;
            dp->error = pp->error;
            if (!pp->seg)
                continue;
            dp->skew_deg = pp->seg->skew_deg;
            dp->form = pp->seg->form[0] ? pp->seg->form : NULL;
            dp->fields = &fields[fi];
            for (int f = 0; f < pp->seg->n_fields; f++, fi++) {
                const seg_field *fl = &pp->seg->fields[f];
                int ng = pipe_field_glyphs(fl);
                pipe_rules rules;
                db_field *df = &fields[fi];
                for (int j = 0; j < ng; j++) {
                    size_t c = (size_t)d->gmap[gj + (size_t)j] * 10;
                    for (int k = 0; k < NET_COUNT; k++)
                        if (gp[k])
                            gp[k][gj + (size_t)j] = d->probs[k] + c;
                }
                rules_of(w->g, pp->seg, fl, &rules);
                pipe_assemble_field_judged(
                    fl, gp[NET_MODEL] + gj, gp[NET_CHECK] ? gp[NET_CHECK] + gj : NULL,
                    gp[NET_JUDGE] ? gp[NET_JUDGE] + gj : NULL,
                    gp[NET_PAIR_LEFT] ? gp[NET_PAIR_LEFT] + gj : NULL,
                    gp[NET_PAIR_RIGHT] ? gp[NET_PAIR_RIGHT] + gj : NULL, &rules,
                    w->g->o->review_below, &reads[fi], &digits[di]);
                df->form = pp->seg->form[0] ? pp->seg->form : "auto";
                df->name = fl->name;
                df->type = seg_field_type_name(fl->type);
                df->x = fl->x, df->y = fl->y, df->w = fl->w, df->h = fl->h;
                df->text = reads[fi].text;
                df->has_value = reads[fi].has_value;
                df->cents = reads[fi].cents;
                df->value_text = reads[fi].has_value_text ? reads[fi].value_text : NULL;
                df->confidence = reads[fi].confidence;
                df->status = reads[fi].status;
                df->doubt = fl->doubt < 0 ? 0 : fl->doubt > 1 ? 1 : fl->doubt;
                df->note = reads[fi].why[0] ? reads[fi].why : fl->note[0] ? fl->note : NULL;
                df->n_digits = reads[fi].n;
                df->digits = &digits[di];
                n_review += df->status == DB_FIELD_REVIEW;
                dp->n_fields++;
                di += (size_t)pipe_field_digits_max(fl);
                gj += (size_t)ng;
            }
        }
    }
    {
        db_doc doc = {0};
        doc.path = e->path;
        memcpy(doc.sha256, d->sha, sizeof doc.sha256);
        doc.bytes = d->bytes;
        doc.page_count = d->n_pages;
        doc.seconds = d->seconds;
        doc.n_pages = d->n_pages;
        doc.pages = pages;
        rc = db_doc_put(w->db, w->run_id, &doc, w->g->o->force, &outcome, &id);
    }
    if (rc == UTIL_EINVAL) {
        /* The schema refused a record: a bug here, but the run goes on. */
        char *why = reason(e->path, "the database refused it");
        rc = db_doc_fail(w->db, w->run_id, e->path, d->sha, d->bytes, why, NULL);
        if (!rc) {
            w->st.failed++;
            say_failed(w, e->path, why);
        }
        free(why);
    } else if (!rc) {
        if (outcome == DB_PUT_SKIPPED) {
            w->st.skipped++;
        } else {
            w->st.documents++;
            w->st.replaced += outcome == DB_PUT_REPLACED;
            w->st.pages += d->n_pages;
            w->st.fields += (long)n_fields;
            w->st.review += n_review;
        }
    }
    w->pages_done += e->pages > d->n_pages ? e->pages : d->n_pages;
cleanup:
    free(pages);
    free(fields);
    free(reads);
    free(digits);
    for (int k = 0; k < NET_COUNT; k++)
        free(gp[k]);
    return rc;
}

/* Writes the documents at the head of the queue whose crops are all classified. */
static int write_ready(writer *w)
{
    int rc = UTIL_OK;

    while (w->fifo_head && w->fifo_head->done == w->fifo_head->n_crops) {
        pdoc *d = w->fifo_head;
        w->fifo_head = d->next;
        if (!w->fifo_head)
            w->fifo_tail = NULL;
        rc = write_doc(w, d);
        w->docs_done++;
        pdoc_destroy(&d);
        if (rc)
            return rc;
        if (w->show)
            pipe_progress_update(&w->prog, w->pages_done, w->docs_done, w->g->walk->n, 0);
    }
    return rc;
}

/* Classifies up to one batch of the crops waiting, in queue order. */
static int run_batch(writer *w)
{
    int m = 0, rc;
    double t0 = util_now(), dt;

    for (pdoc *d = w->fifo_head; d && m < w->batch; d = d->next)
        while (d->fed < d->n_crops && m < w->batch) {
            memcpy(w->bpix + (size_t)m * SEG_CROP_PIXELS,
                   d->crops + (size_t)d->fed * SEG_CROP_PIXELS, SEG_CROP_PIXELS);
            w->bdoc[m] = d;
            w->bcrop[m] = d->fed++;
            m++;
        }
    if (m == 0)
        return UTIL_OK;
    for (int k = 0; k < NET_COUNT; k++)
        if (w->cls[k] && (rc = rec_classifier_run(w->cls[k], w->bprob[k], w->bpix, m)))
            return rc;
    dt = util_now() - t0;
    w->st.classify_seconds += dt;
    w->st.crops += m;
    for (int i = 0; i < m; i++) {
        pdoc *d = w->bdoc[i];
        for (int k = 0; k < NET_COUNT; k++)
            if (d->probs[k])
                memcpy(d->probs[k] + (size_t)w->bcrop[i] * 10, w->bprob[k] + (size_t)i * 10,
                       10 * sizeof(float));
        d->done++;
        d->seconds += dt / m;
    }
    w->pending -= m;
    pthread_mutex_lock(&w->g->mu);
    w->g->inflight -= m;
    pthread_cond_broadcast(&w->g->cv_work);
    pthread_mutex_unlock(&w->g->mu);
    return write_ready(w);
}

/* The main thread's loop: take segmented documents, classify, write. */
static int main_loop(writer *w)
{
    ingest *g = w->g;
    int rc = UTIL_OK;

    for (;;) {
        pdoc *got;
        int finished;
        double t0 = util_now();
        pthread_mutex_lock(&g->mu);
        while (!g->q_head && !(g->active == 0 && (g->next >= g->walk->n || g->stop ||
                                                  g_interrupt)))
            pthread_cond_wait(&g->cv_main, &g->mu);
        w->st.wait_seconds += util_now() - t0;
        got = g->q_head;
        g->q_head = g->q_tail = NULL;
        finished = g->active == 0 && (g->next >= g->walk->n || g->stop || g_interrupt);
        pthread_mutex_unlock(&g->mu);

        while (got) {
            pdoc *d = got;
            got = d->next;
            d->next = NULL;
            if (w->fifo_tail)
                w->fifo_tail->next = d;
            else
                w->fifo_head = d;
            w->fifo_tail = d;
            w->pending += d->n_crops;
        }
        if ((rc = write_ready(w)))
            break;
        while (w->pending >= w->batch || (finished && w->pending > 0))
            if ((rc = run_batch(w)))
                break;
        if (rc)
            break;
        if (finished) {
            pthread_mutex_lock(&g->mu);
            finished = !g->q_head;
            pthread_mutex_unlock(&g->mu);
            if (finished && !w->fifo_head)
                break;
        }
    }
    if (rc) {
        pthread_mutex_lock(&g->mu);
        g->stop = 1;
        pthread_cond_broadcast(&g->cv_work);
        pthread_mutex_unlock(&g->mu);
    }
    return rc;
}

/* ----------------------------------------------------------- the run */

/* A model file as the run uses and records it (the model, the checker). */
typedef struct model_file {
    char path[4200], arch[4096], sha[DB_SHA256_HEX];
    double acc, temp;    /* its metadata: test accuracy (-1 unknown), temperature (0 unknown) */
    rec_model *m;
} model_file;

/* A helper network's file (the checker, the judge) into mf->path: the one
 * named by the option, none for "none", else the shipped one when it is
 * there (shipped() finds it).  Returns 1 when there is one to load. */
static int helper_path(const char *opt, int (*shipped)(char *, size_t), model_file *mf)
{
    if (opt && strcmp(opt, "none") == 0)
        return 0;
    if (opt)
        return snprintf(mf->path, sizeof mf->path, "%s", opt) > 0;
    return shipped(mf->path, sizeof mf->path);
}

/* The pair readers' files (README "The pair readers") into pl->path and
 * pr->path: none for "none", the two files of "LEFT,RIGHT", else the
 * shipped pair-left.model and pair-right.model when both are there.
 * *pwith is 1 when there are two to load; UTIL_EINVAL (logged) for an
 * option that is neither "none" nor two names. */
static int pair_paths(const char *opt, model_file *pl, model_file *pr, int *pwith)
{
    const char *comma = opt ? strchr(opt, ',') : NULL;

    *pwith = 0;
    if (opt && strcmp(opt, "none") == 0)
        return UTIL_OK;
    if (opt) {
        if (!comma || comma == opt || !comma[1] || strchr(comma + 1, ',') ||
            (size_t)(comma - opt) >= sizeof pl->path) {
            util_log(UTIL_LOG_ERROR, "--pairs \"%s\": expected LEFT,RIGHT (two model files) "
                     "or none", opt);
            return UTIL_EINVAL;
        }
        snprintf(pl->path, sizeof pl->path, "%.*s", (int)(comma - opt), opt);
        snprintf(pr->path, sizeof pr->path, "%s", comma + 1);
        *pwith = 1;
        return UTIL_OK;
    }
    *pwith = rec_model_pair_left_path(pl->path, sizeof pl->path) &&
             rec_model_pair_right_path(pr->path, sizeof pr->path);
    return UTIL_OK;
}

/* Loads mf->path into mf (its network, SHA-256, architecture, metadata). */
static int model_file_load(model_file *mf)
{
    int rc;

    if ((rc = rec_model_load(&mf->m, mf->path, REC_MODEL_KIND_MODEL)) ||
        (rc = db_sha256_file(mf->path, mf->sha, NULL)))
        return rc;
    rec_arch_format(&mf->m->arch, mf->arch, sizeof mf->arch);
    rec_model_meta_double(mf->m, "test_accuracy", 0, 1, -1, &mf->acc);
    rec_model_meta_double(mf->m, "temperature", 0.01, 100, 0, &mf->temp);
    return UTIL_OK;
}

/* What the runs and models tables record of a loaded model file. */
static db_model_ref model_file_ref(const model_file *mf)
{
    db_model_ref r = {mf->sha, mf->arch, mf->path, mf->acc, mf->temp};
    return r;
}

/* The engine is chosen here and only here (--device, rec_engine_open). */
static int make_classifier(const pipe_ingest_opts *o, const rec_model *m,
                           const rec_engine_ops **pops, rec_engine **peng, rec_classifier **pcls)
{
    rec_engine_opts eo = {o->threads, 0};
    int rc;

    *pcls = NULL;
    if ((rc = rec_engine_open(o->engine, &eo, pops, peng)))
        return rc;
    return rec_classifier_create(pcls, m, *pops, *peng, o->batch);
}

static int load_forms(ingest *g)
{
    const pipe_ingest_opts *o = g->o;
    char dir[4096];
    int rc;

    if (o->form && strcmp(o->form, "auto") == 0) {
        g->so.find = SEG_FIND_AUTO;
        return UTIL_OK;
    }
    if (o->forms_dir)
        snprintf(dir, sizeof dir, "%s", o->forms_dir);
    else
        seg_forms_default_dir(dir, sizeof dir);
    if ((rc = seg_form_set_load(&g->forms, dir)))
        return rc;
    g->so.forms = g->forms;
    g->so.find = SEG_FIND_ANY;
    if (o->form) {
        if (!(g->so.form = seg_form_set_find(g->forms, o->form))) {
            util_log(UTIL_LOG_ERROR, "no form template named '%s' in %s", o->form, dir);
            return UTIL_EINVAL;
        }
        g->so.find = SEG_FIND_ONE;
    }
    return UTIL_OK;
}

int pipe_ingest_run(const pipe_ingest_opts *o, pipe_ingest_stats *pstats)
{
    ingest g = {0};
    writer w = {0};
    model_file mf[NET_COUNT]; /* each network's file, as g.with says */
    const rec_engine_ops *ops = NULL;
    rec_engine *eng = NULL;
    pthread_t th[MAX_THREADS];
    int n_started = 0, loop_failed = 0, rc, log_level = util_log_get_level(), sev = -1, run_open = 0;
    double t0 = util_now();

    if (pstats)
        memset(pstats, 0, sizeof *pstats);
    memset(mf, 0, sizeof mf);
    g_interrupt = 0;
    g.o = o;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv_work, NULL);
    pthread_cond_init(&g.cv_main, NULL);
    w.g = &g;
    w.batch = o->batch > 0 ? o->batch : PIPE_BATCH_DEFAULT;
    g.n_threads = o->threads > 0 ? o->threads : util_cpu_count();
    if (g.n_threads > MAX_THREADS)
        g.n_threads = MAX_THREADS;
    g.cap = 4L * w.batch;

    /* Everything that can refuse the run comes first. */
    if ((rc = pipe_shard_resolve(o->shard, o->shard_count, &w.st.shard)))
        goto cleanup;
    if (o->model)
        snprintf(mf[NET_MODEL].path, sizeof mf[NET_MODEL].path, "%s", o->model);
    else
        rec_model_default_path(mf[NET_MODEL].path, sizeof mf[NET_MODEL].path);
    g.with[NET_MODEL] = 1;
    g.with[NET_CHECK] = helper_path(o->checker, rec_model_checker_path, &mf[NET_CHECK]);
    g.with[NET_JUDGE] = helper_path(o->judge, rec_model_judge_path, &mf[NET_JUDGE]);
    if ((rc = pair_paths(o->pairs, &mf[NET_PAIR_LEFT], &mf[NET_PAIR_RIGHT],
                         &g.with[NET_PAIR_LEFT])))
        goto cleanup;
    g.with[NET_PAIR_RIGHT] = g.with[NET_PAIR_LEFT];
    for (int k = 0; k < NET_COUNT; k++)
        if (g.with[k] && (rc = model_file_load(&mf[k])))
            goto cleanup;
    if ((rc = load_forms(&g)) || (rc = db_open(o->db, DB_OPEN_CREATE, &w.db)))
        goto cleanup;
    {
        pipe_ingest_opts oo = *o;
        oo.batch = w.batch;
        if ((rc = make_classifier(&oo, mf[NET_MODEL].m, &ops, &eng, &w.cls[NET_MODEL])))
            goto cleanup;
        for (int k = NET_MODEL + 1; k < NET_COUNT; k++)
            if (mf[k].m && (rc = rec_classifier_create(&w.cls[k], mf[k].m, ops, eng, w.batch)))
                goto cleanup;
    }
    if ((rc = pipe_walk_paths(o->paths, o->n_paths, &g.walk)))
        goto cleanup;
    pipe_shard_filter(g.walk, &w.st.shard, &w.st.other_shards);
    w.bpix = malloc((size_t)w.batch * SEG_CROP_PIXELS);
    w.bdoc = malloc((size_t)w.batch * sizeof *w.bdoc);
    w.bcrop = malloc((size_t)w.batch * sizeof *w.bcrop);
    for (int k = 0; k < NET_COUNT; k++)
        if (w.cls[k] && !(w.bprob[k] = malloc((size_t)w.batch * 10 * sizeof *w.bprob[k])))
            rc = UTIL_ENOMEM;
    if (!w.bpix || !w.bdoc || !w.bcrop || rc) {
        util_log(UTIL_LOG_ERROR, "out of memory for a batch of %d digits", w.batch);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    {
        db_run run = {0};
        run.args = o->command ? o->command : "docpipe ingest";
        run.model = model_file_ref(&mf[NET_MODEL]);
        if (mf[NET_CHECK].m)
            run.checker = model_file_ref(&mf[NET_CHECK]);
        if (mf[NET_JUDGE].m)
            run.judge = model_file_ref(&mf[NET_JUDGE]);
        if (mf[NET_PAIR_LEFT].m && mf[NET_PAIR_RIGHT].m) {
            run.pair_left = model_file_ref(&mf[NET_PAIR_LEFT]);
            run.pair_right = model_file_ref(&mf[NET_PAIR_RIGHT]);
        }
        if ((rc = db_run_begin(w.db, &run, &w.run_id)))
            goto cleanup;
        run_open = 1;
    }
    w.show = !o->quiet;
    pipe_progress_init(&w.prog, w.show ? stderr : NULL,
                       o->progress < 0 ? util_isatty(stderr) : o->progress, g.walk->pages);

    /* Leptonica's message threshold is one process-wide setting: silence it
     * once, before any thread starts, so no thread's save/restore can turn
     * it back on under another.  Per-file messages go into the records (and
     * the failure lines below) instead of the log while the workers run. */
    sev = setMsgSeverity(L_SEVERITY_NONE);
    util_log_set_level(-1);
    for (int i = 0; i < g.n_threads && i < g.walk->n; i++) {
        if (pthread_create(&th[i], NULL, worker, &g) != 0)
            break;
        n_started++;
    }
    if (n_started == 0 && g.walk->n > 0) {
        util_log_set_level(log_level);
        util_log(UTIL_LOG_ERROR, "cannot start a segmentation thread");
        rc = UTIL_ENOMEM;
    } else if ((rc = main_loop(&w))) {
        loop_failed = 1;
    }
    for (int i = 0; i < n_started; i++)
        pthread_join(th[i], NULL);
    /* Documents segmented but not written (after an error): freed. */
    while (g.q_head) {
        pdoc *d = g.q_head;
        g.q_head = d->next;
        pdoc_destroy(&d);
    }
    while (w.fifo_head) {
        pdoc *d = w.fifo_head;
        w.fifo_head = d->next;
        pdoc_destroy(&d);
    }
    util_log_set_level(log_level);
    setMsgSeverity(sev);
    if (w.show)
        pipe_progress_clear(&w.prog);
    if (loop_failed) {
        /* Logged while the log was quiet: say it now. */
        if (util_last_error()[0])
            util_log(UTIL_LOG_ERROR, "%s", util_last_error());
    } else if (!rc && g_interrupt) {
        rc = UTIL_EINTR;
    }

cleanup:
    w.st.files = g.walk ? g.walk->n : 0;
    w.st.not_images = g.walk ? g.walk->not_images : 0;
    w.st.seconds = util_now() - t0;
    w.st.run_id = w.run_id;
    if (run_open) {
        db_run_counts c = {0};
        c.status = rc == UTIL_EINTR ? DB_RUN_INTERRUPTED : rc ? DB_RUN_FAILED : DB_RUN_DONE;
        c.documents = w.st.documents;
        c.replaced = w.st.replaced;
        c.skipped = w.st.skipped;
        c.failed = w.st.failed;
        c.pages = w.st.pages;
        c.fields = w.st.fields;
        c.review = w.st.review;
        int rc2 = db_run_end(w.db, w.run_id, &c);
        if (!rc)
            rc = rc2;
    }
    if (run_open && !o->quiet && w.st.shard.count > 1)
        printf("shard %d/%d: %ld of %ld files; the rest belong to other shards\n",
               w.st.shard.index + 1, w.st.shard.count, w.st.files,
               w.st.files + w.st.other_shards);
    if (run_open && !o->quiet) {
        printf("%ld document%s stored (%ld replaced), %ld already in, %ld failed, %ld other "
               "file%s left alone\n",
               w.st.documents, w.st.documents == 1 ? "" : "s", w.st.replaced, w.st.skipped,
               w.st.failed, w.st.not_images, w.st.not_images == 1 ? "" : "s");
        printf("%ld pages, %ld fields, %ld need review; %.1f s, %.1f pages/s, into %s\n",
               w.st.pages, w.st.fields, w.st.review, w.st.seconds,
               w.st.seconds > 0 ? w.st.pages / w.st.seconds : 0.0, o->db);
        const rec_classifier *chk = w.cls[NET_CHECK], *jud = w.cls[NET_JUDGE];
        const char *helpers = chk && jud ? " with the checker and the judge"
                              : chk      ? " with the checker"
                              : jud      ? " with the judge"
                                         : "";
        printf("classifier: %ld digits on %s%s%s, %.2f s classifying, %.2f s waiting for "
               "segmentation\n",
               w.st.crops, ops && eng ? ops->name : "-", helpers,
               w.cls[NET_PAIR_LEFT] ? (helpers[0] ? ", and the pair readers" : " with the pair readers")
                                    : "",
               w.st.classify_seconds,
               w.st.wait_seconds);
        fflush(stdout);
    }
    if (pstats)
        *pstats = w.st;
    free(w.bpix);
    free(w.bdoc);
    free(w.bcrop);
    for (int k = 0; k < NET_COUNT; k++) {
        free(w.bprob[k]);
        rec_classifier_destroy(&w.cls[k]);
    }
    if (eng)
        ops->destroy(&eng);
    for (int k = 0; k < NET_COUNT; k++)
        rec_model_destroy(&mf[k].m);
    db_close(&w.db);
    pipe_walk_destroy(&g.walk);
    seg_form_set_destroy(&g.forms);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv_work);
    pthread_cond_destroy(&g.cv_main);
    return rc;
}
