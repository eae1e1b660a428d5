/*
 * trn_bench.h - the speed benchmark behind `docpipe bench`: training and
 * inference throughput of one architecture on the CPU engine, measured the
 * way the PyTorch reference (bench/torch_mnist.py in the shared folder, its
 * throughput mode) measures them, and printed as the same one-line JSON so
 * bench/bench.sh can put the two side by side.
 */
#ifndef DOCPIPE_TRN_BENCH_H
#define DOCPIPE_TRN_BENCH_H

typedef struct trn_bench_opts {
    const char *data;  /* Kaggle CSV with labels */
    const char *arch;  /* preset name or text form */
    int batch;         /* training images per step */
    int infer_batch;   /* inference images per forward pass */
    int threads;       /* 0: every core */
    const char *device; /* "auto" (NULL), "cpu" or "cuda": rec_engine_open() */
    int batches;       /* timed training steps; 0: 300 for lenet5, 40 otherwise */
} trn_bench_opts;

/* trn_bench_opts_default - the reference script's defaults: arch lenet5,
 * batch 86, infer_batch 1000, every core, batches by arch. */
void trn_bench_opts_default(trn_bench_opts *o);

/*
 * trn_bench_run - measures, as the reference does:
 *   training   images/s over `batches` steps after 5 untimed ones; a step
 *              is images_load (bytes to floats, no augmentation) of the
 *              contiguous slice starting at (i * batch) % (n - batch), then
 *              forward (train=1), loss, backward and an RMSProp step (lr
 *              1e-3, rho 0.9, eps 1e-8); n = min(rows, max(10000,
 *              (batches + 5) * batch)) first rows of the CSV.
 *   inference  images/s of one pass of a rec_classifier holding the trained
 *              weights over the first (n / infer_batch) * infer_batch
 *              images in batches of infer_batch (conversion to floats and
 *              softmax included), after one untimed batch.
 * Prints one JSON line on stdout with the reference's keys: engine
 * ("docpipe cpu" or "docpipe cuda"), device (the engine's description), arch, batch, infer_batch,
 * mode ("throughput"), train_img_s, infer_img_s.  Reading the CSV is not
 * timed.  Returns UTIL_OK or the error of what failed (logged); a CSV with
 * fewer rows than batch + 1 or infer_batch is UTIL_EINVAL.
 */
int trn_bench_run(const trn_bench_opts *o);

#endif
