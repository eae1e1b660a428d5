/*
 * rec_cuda.h - the CUDA engine (rec_cuda.cu): cuDNN convolutions, cuBLAS
 * dense layers and kernels of its own for the rest, behind the table of
 * operations in rec_engine.h.  Only in a CUDA build (DOCPIPE_CUDA); other
 * code reaches it through rec_engine_find("cuda") or rec_engine_open().
 *
 * Math mode.  Convolutions may use TF32 tensor cores (as PyTorch does by
 * default) unless the environment variable DOCPIPE_CUDA_TF32 is "0" when
 * the engine is created; dense layers never do (cuBLAS pedantic math).
 * tests/test_cuda.c creates its engine with TF32 off.
 *
 * Algorithms.  cuDNN's heuristics choose each convolution's algorithm
 * (deterministic ones for the backward passes), the same on every run;
 * DOCPIPE_CUDA_SEARCH=1 makes cuDNN time the candidates instead.
 */
#ifndef DOCPIPE_REC_CUDA_H
#define DOCPIPE_REC_CUDA_H

#include "rec_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const rec_engine_ops rec_engine_cuda_ops;

#ifdef __cplusplus
}
#endif

#endif
