/*
 * rec_cpu_winograd.h - Winograd convolution for the CPU engine (forward and
 * weight gradient; the data gradient is a forward pass, see rec_cpu_conv.c).
 * Not for use outside recognize/.
 */
#ifndef DOCPIPE_REC_CPU_WINOGRAD_H
#define DOCPIPE_REC_CPU_WINOGRAD_H

#include "rec_cpu.h"

/* rec_cpu_winograd_supports - whether the shape has a Winograd plan. */
int rec_cpu_winograd_supports(const rec_conv_shape *s);

int rec_cpu_winograd_forward(rec_engine *e, float *y, const float *x, const float *w,
                             const float *b, int act, const rec_conv_shape *s);
int rec_cpu_winograd_backward_filter(rec_engine *e, float *dw, float *db, const float *dy,
                                     const float *x, const rec_conv_shape *s);

/*
 * rec_cpu_winograd_matrices - the transforms of F(m, r) (output tile m,
 * kernel r, alpha = m + r - 1 points) for tests: bt[alpha*alpha],
 * g[alpha*r], at[m*alpha]; returns alpha, or 0 when no plan exists.
 */
int rec_cpu_winograd_matrices(int m, int r, float *bt, float *g, float *at);

#endif
