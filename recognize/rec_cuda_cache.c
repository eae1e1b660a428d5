/*
 * rec_cuda_cache.c - the convolution algorithm cache of the CUDA engine
 * (rec_cuda_cache.h): a small table searched linearly, least recently used
 * entry evicted.
 */
#include "rec_cuda_cache.h"

#include <string.h>

static int same_shape(const rec_conv_shape *a, const rec_conv_shape *b)
{
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c && a->k == b->k &&
           a->pad == b->pad && a->oc == b->oc && a->oh == b->oh && a->ow == b->ow;
}

rec_algo_entry *rec_algo_cache_slot(rec_algo_cache *c, const rec_conv_shape *s)
{
    rec_algo_entry *victim = NULL;

    c->clock++;
    for (int i = 0; i < REC_ALGO_CACHE_MAX; i++) {
        rec_algo_entry *e = &c->e[i];
        if (e->valid && same_shape(&e->key, s)) {
            e->used = c->clock;
            c->hits++;
            return e;
        }
        if (!victim || (!e->valid && victim->valid) ||
            (e->valid == victim->valid && e->used < victim->used))
            victim = e;
    }
    memset(victim, 0, sizeof *victim);
    victim->key = *s;
    victim->valid = 1;
    victim->used = c->clock;
    c->misses++;
    return victim;
}

void rec_algo_cache_clear(rec_algo_cache *c) { memset(c, 0, sizeof *c); }
