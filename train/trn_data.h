/*
 * trn_data.h - digit sets in memory and the formats they come in: the Kaggle
 * Digit Recognizer CSV (label,pixel0..pixel783 or pixel0..pixel783 alone)
 * and the original MNIST IDX files, which `make data` converts to CSV.
 *
 * Readers are strict: every malformed input is refused with one error,
 * logged through util_log(), that names the file and the line (CSV) or the
 * byte offset (IDX).  Writers go through util_afile, so a failed write
 * leaves no half-written file behind.
 */
#ifndef DOCPIPE_TRN_DATA_H
#define DOCPIPE_TRN_DATA_H

#include <stddef.h>
#include <stdint.h>

#define TRN_SIDE 28
#define TRN_PIXELS (TRN_SIDE * TRN_SIDE)

/* A set of n gray 28 x 28 digits. */
typedef struct trn_data {
    int n;            /* images */
    uint8_t *pixels;  /* n x 784, row-major, 0 (background) .. 255 (ink) */
    int32_t *labels;  /* n labels in 0..9, or NULL when the set has none */
} trn_data;

/* What a CSV reader expects of the label column. */
enum {
    TRN_LABELS_AUTO = 0,     /* by the header: "label,pixel0,..." or "pixel0,..." */
    TRN_LABELS_REQUIRED = 1, /* the file must have labels (training, eval) */
    TRN_LABELS_IGNORE = 2    /* read either form, drop labels (predict) */
};

/*
 * trn_data_load_csv - reads a Kaggle Digit Recognizer CSV into *pdst.
 *
 * The first line is the header: "label,pixel0,...,pixel783" or
 * "pixel0,...,pixel783"; every other line holds that many comma-separated
 * integers (label 0..9, pixels 0..255).  LF or CRLF line ends are both
 * accepted (RFC 4180 uses CRLF); a last line without a line end is fine;
 * blank lines are not.  Refused, with "PATH:LINE: what" logged: a missing or
 * wrong header, a wrong column count, anything not a plain decimal integer,
 * a value out of range, an empty file or one with a header alone, a line
 * longer than 64 KiB.  A missing file is UTIL_EIO, malformed content
 * UTIL_EFORMAT, a missing label column where labels are required
 * UTIL_EFORMAT.  On failure *pdst is NULL.
 */
int trn_data_load_csv(trn_data **pdst, const char *path, int labels);

/*
 * trn_data_load_idx - reads MNIST IDX files: images (magic 0x00000803, n,
 * 28, 28, then n*784 bytes) and, when labels_path is not NULL, labels (magic
 * 0x00000801, n, then n bytes each 0..9).  Both big-endian as in the
 * original files; counts must agree and the sizes must be exact.  Errors
 * name the file and byte offset.
 */
int trn_data_load_idx(trn_data **pdst, const char *images_path, const char *labels_path);

/*
 * trn_data_write_csv - writes src as a Kaggle CSV, with the label column
 * when with_labels (src must then have labels), atomically.  An empty set
 * (n < 1, which the reader would refuse) or a label outside 0..9 is
 * UTIL_EINVAL, refused before any file is created.
 */
int trn_data_write_csv(const trn_data *src, const char *path, int with_labels);

/* trn_data_create - an empty set of n images (zeroed), with labels when
 * with_labels. */
int trn_data_create(trn_data **pdst, int n, int with_labels);

/* trn_data_destroy - frees the set; NULL and *pd == NULL are fine. */
void trn_data_destroy(trn_data **pd);

/*
 * trn_mnist_convert_main - the `docpipe mnist-convert` subcommand (argv[0]
 * is the subcommand's name):
 *   mnist-convert --images IDX (--labels IDX | --no-labels) -o CSV
 * reads MNIST IDX images (and labels) with trn_data_load_idx() and writes
 * them with trn_data_write_csv(), with the label column unless --no-labels
 * (labels given with --no-labels are still checked, then dropped).
 * --help prints the usage on stdout.  Returns 0 on success, 1 when reading
 * or writing failed (already logged), 2 on a bad command line (the usage
 * goes to stderr).  Never exits.
 */
int trn_mnist_convert_main(int argc, char **argv);

#endif
