/*
 * rec_cuda_cache.h - the CUDA engine's cache of convolution algorithms,
 * keyed by the whole convolution shape (batch size included): cuDNN is
 * asked once per shape and direction, and the answer (algorithm and the
 * workspace it needs) is kept.  Plain C with no CUDA in it, so it is built
 * and tested on machines without a GPU.
 */
#ifndef DOCPIPE_REC_CUDA_CACHE_H
#define DOCPIPE_REC_CUDA_CACHE_H

#include <stddef.h>

#include "rec_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REC_ALGO_CACHE_MAX 64

/* The three directions of a convolution. */
enum { REC_CONV_FWD = 0, REC_CONV_BWD_DATA = 1, REC_CONV_BWD_FILTER = 2 };

/* One shape's choices; found[d] says whether direction d was chosen yet. */
typedef struct rec_algo_entry {
    rec_conv_shape key;
    int found[3];
    int algo[3];          /* the cuDNN algorithm enum value per direction */
    int math[3];          /* the cuDNN math type it runs with */
    size_t workspace[3];  /* bytes of workspace it needs */
    /* The filter gradient may instead run on NCHW copies of x and dy
     * (cuDNN has FFT and Winograd algorithms only there): wgrad_path is
     * 0 (not decided yet), 1 (NHWC, as above) or 2 (NCHW, below). */
    int wgrad_path;
    int nchw_found, nchw_algo, nchw_math;
    size_t nchw_workspace;
    unsigned long long used; /* the cache's clock at the last lookup */
    int valid;
} rec_algo_entry;

typedef struct rec_algo_cache {
    rec_algo_entry e[REC_ALGO_CACHE_MAX];
    unsigned long long clock;
    long hits, misses; /* lookups that found the shape / that made a new entry */
} rec_algo_cache;

/*
 * rec_algo_cache_slot - the entry for shape s: the existing one (a hit), or
 * a fresh one with nothing found (a miss), taking an empty slot or else the
 * least recently used entry.  Never NULL.  Shapes are equal when every field
 * of rec_conv_shape is.
 */
rec_algo_entry *rec_algo_cache_slot(rec_algo_cache *c, const rec_conv_shape *s);

/* rec_algo_cache_clear - forgets every entry and zeroes the counters. */
void rec_algo_cache_clear(rec_algo_cache *c);

#ifdef __cplusplus
}
#endif

#endif
