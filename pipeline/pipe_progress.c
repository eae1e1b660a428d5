/*
 * pipe_progress.c - ingest's progress display (pipe_int.h): on a terminal
 * one line redrawn in place (a bar, pages done of the total, pages/s, the
 * time left); otherwise a plain line every few seconds, so logs stay short.
 */
#include "pipe_int.h"

#include "util/util.h"

void pipe_progress_init(pipe_progress *p, FILE *fp, int bar, long total_pages)
{
    p->fp = fp;
    p->bar = bar;
    p->total_pages = total_pages;
    p->t0 = util_now();
    p->last = bar ? 0 : p->t0;
    p->drawn = 0;
}

void pipe_progress_update(pipe_progress *p, long pages, long docs, long total_docs, int force)
{
    double now = util_now(), el = now - p->t0, rate, eta;
    long total = p->total_pages > pages ? p->total_pages : pages;
    char bar[31];
    int fill;

    if (!p->fp || (!force && now - p->last < (p->bar ? 0.1 : 5.0)))
        return;
    p->last = now;
    rate = el > 0 ? pages / el : 0;
    eta = rate > 0 ? (total - pages) / rate : 0;
    if (p->bar) {
        fill = total > 0 ? (int)(30.0 * pages / total) : 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(p->fp, "\r[%s] %ld/%ld pages  %ld/%ld files  %.1f pages/s  ETA %d:%02d\033[K", bar,
                pages, total, docs, total_docs, rate, (int)eta / 60, (int)eta % 60);
        p->drawn = 1;
    } else {
        fprintf(p->fp, "%ld/%ld pages, %ld/%ld files, %.1f pages/s, %.0f s left\n", pages, total,
                docs, total_docs, rate, eta);
    }
    fflush(p->fp);
}

void pipe_progress_clear(pipe_progress *p)
{
    if (p->fp && p->bar && p->drawn) {
        fprintf(p->fp, "\r\033[K");
        fflush(p->fp);
        p->drawn = 0;
    }
}
