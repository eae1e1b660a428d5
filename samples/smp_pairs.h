/*
 * smp_pairs.h - training rows for the pair readers: two digits written
 * touching, cut as one glyph.  See smp_pairs.c and README "The pair
 * readers".
 */
#ifndef DOCPIPE_SMP_PAIRS_H
#define DOCPIPE_SMP_PAIRS_H

#include <stdint.h>

/*
 * smp_pairs_run - draws n pairs of digits from the labeled Kaggle CSV
 * `digits`, each written touching by a random writer at 200 or 300 dpi and
 * normalized as the segmenter normalizes one glyph, and writes
 * OUT_DIR/pairs-left.csv and OUT_DIR/pairs-right.csv (Kaggle format, the
 * same pixels row by row, labeled with the left and the right digit), each
 * atomically by trn_data_write_csv (the folder is created when missing; the
 * n crops are held in memory, 784 bytes each, until both are written).  The
 * same arguments give the same files.  UTIL_EINVAL for n < 1, the reader's
 * code for a bad digits file, UTIL_EFORMAT for a file lacking a digit,
 * UTIL_ENOMEM, UTIL_EIO when a file cannot be written; each logged once.
 */
int smp_pairs_run(const char *digits, const char *out_dir, long n, uint64_t seed);

#endif
