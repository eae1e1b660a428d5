/*
 * rec_cpu.h - internals shared by the CPU engine's files (rec_cpu.c, the
 * operation table and the simple operations; rec_cpu_conv.c, convolutions by
 * im2col and by Winograd).  Not for use outside recognize/.
 */
#ifndef DOCPIPE_REC_CPU_H
#define DOCPIPE_REC_CPU_H

#include <stddef.h>
#include <string.h>

#include "rec_engine.h"

#define REC_CPU_MAX_THREADS 64

/* Eight floats in one vector (GCC/Clang vector extension), loaded and
 * stored without alignment. */
typedef float vf8 __attribute__((vector_size(32)));
#define VL 8

static inline vf8 vload(const float *p)
{
    vf8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vstore(float *p, vf8 v) { memcpy(p, &v, sizeof v); }

/* Winograd-transformed convolution weights kept between calls, with a copy
 * of the weights they came from: a call whose weights compare equal, byte
 * for byte, reuses the transform (inference calls the same layers over and
 * over; training changes the weights every step and only pays a compare). */
#define REC_CPU_KCACHE 8

typedef struct rec_cpu_kcache {
    const float *src; /* the weights as last passed */
    int k, c, oc;     /* their shape */
    float *w;         /* a copy of them (oc*k*k*c floats) */
    float *u;         /* their transform */
    size_t un;        /* floats in u */
    unsigned long long used; /* the engine's clock at the last use */
} rec_cpu_kcache;

/* The CPU engine instance. */
struct rec_engine {
    int threads;
    char desc[96];
    /* Per-thread scratch, grown by cpu_scratch() outside parallel regions. */
    float *scratch[REC_CPU_MAX_THREADS];
    size_t scratch_cap[REC_CPU_MAX_THREADS];
    /* Shared scratch for transformed weights and partial sums. */
    float *shared;
    size_t shared_cap;
    /* Weights rearranged for a convolution (flipped, or Winograd-transformed). */
    float *wbuf;
    size_t wbuf_cap;
    int conv_algo; /* forced convolution algorithm (tests), 0: by shape */
    rec_cpu_kcache kcache[REC_CPU_KCACHE];
    unsigned long long kclock;
};

/* cpu_scratch - makes every thread's scratch at least floats long. */
int cpu_scratch(rec_engine *e, size_t floats);
/* cpu_shared - makes the shared scratch at least floats long. */
int cpu_shared(rec_engine *e, size_t floats);
/* cpu_wbuf - makes the weight scratch at least floats long. */
int cpu_wbuf(rec_engine *e, size_t floats);

/* Convolution algorithms. */
enum { REC_CPU_CONV_AUTO = 0, REC_CPU_CONV_IM2COL = 1, REC_CPU_CONV_WINOGRAD = 2 };

/* rec_cpu_set_conv_algo - force an algorithm (tests compare them). */
void rec_cpu_set_conv_algo(rec_engine *e, int algo);

int cpu_conv_forward(rec_engine *e, float *y, const float *x, const float *w, const float *b,
                     int act, const rec_conv_shape *s);
int cpu_conv_backward_data(rec_engine *e, float *dx, const float *dy, const float *w,
                           const rec_conv_shape *s);
int cpu_conv_backward_filter(rec_engine *e, float *dw, float *db, const float *dy,
                             const float *x, const rec_conv_shape *s);

#endif
