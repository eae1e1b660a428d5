/*
 * rec_cuda_hash.h - util_hash64 / util_key / util_uniform written once for
 * both sides of the CUDA engine: nvcc compiles them as __host__ __device__
 * functions for the dropout kernel, and a C compiler compiles the very same
 * text as static inline host functions, so tests/test_cuda.c checks them
 * bit for bit against util/util.c without a GPU.  Keep in step with util.c.
 */
#ifndef DOCPIPE_REC_CUDA_HASH_H
#define DOCPIPE_REC_CUDA_HASH_H

#include <stdint.h>

#ifdef __CUDACC__
#define REC_HD static __host__ __device__ __forceinline__
#else
#define REC_HD static inline
#endif

/* rec_hash64 - splitmix64's finalizer, as util_hash64. */
REC_HD uint64_t rec_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* rec_key - util_key. */
REC_HD uint64_t rec_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t k = rec_hash64(seed);
    k = rec_hash64(k ^ a);
    k = rec_hash64(k ^ (b * 0xd6e8feb86659fd93ULL));
    return rec_hash64(k ^ (c * 0xa0761d6478bd642fULL));
}

/* rec_uniform - util_uniform: 24 random bits scaled into [0, 1). */
REC_HD float rec_uniform(uint64_t key, uint64_t ctr)
{
    return (float)(rec_hash64(key ^ (ctr * 0xe7037ed1a0b428dbULL)) >> 40) * (1.0f / 16777216.0f);
}

#endif
