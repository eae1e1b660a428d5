/*
 * fuzz_csv.c - libFuzzer harness for the training data readers
 * (train/trn_data.c): the input is written to a file and read as a Kaggle
 * CSV with each label mode (auto, required, ignored); an input that starts with
 * the IDX image magic (00 00 08 03) is read as MNIST IDX images instead.
 * Whatever the bytes, a reader must return a code, and a set it accepts
 * must hold labels 0..9 and pixels it could have read.
 */
#include <stdint.h>

#include "fuzz/fuzz_util.h"
#include "train/trn_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_tmp_path(".csv");
    trn_data *d = NULL;

    fuzz_quiet();
    fuzz_write(path, data, len);
    if (len >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 8 && data[3] == 3) {
        if (trn_data_load_idx(&d, path, NULL) == UTIL_OK && (!d || d->n < 0))
            abort();
        trn_data_destroy(&d);
        return 0;
    }
    for (int labels = TRN_LABELS_AUTO; labels <= TRN_LABELS_IGNORE; labels++) {
        if (trn_data_load_csv(&d, path, labels) == UTIL_OK) {
            if (!d || d->n < 1)
                abort();
            if (d->labels)
                for (int i = 0; i < d->n; i++)
                    if (d->labels[i] < 0 || d->labels[i] > 9)
                        abort();
            if (labels == TRN_LABELS_IGNORE && d->labels)
                abort();
            /* every pixel is there (ASan checks the last one's reach) */
            if (d->pixels[(size_t)d->n * TRN_PIXELS - 1] > 255)
                abort();
        } else if (d) {
            abort(); /* on failure *pdst is NULL */
        }
        trn_data_destroy(&d);
    }
    return 0;
}
