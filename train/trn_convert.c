/*
 * trn_convert.c - the `docpipe mnist-convert` subcommand: MNIST IDX files to
 * a Kaggle Digit Recognizer CSV (what `make data` runs through
 * train/fetch-mnist.sh).  See trn_data.h for the contract.
 */
#include "trn_data.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

static void usage(FILE *fp)
{
    fputs("usage: docpipe mnist-convert --images IDX (--labels IDX | --no-labels) -o CSV\n"
          "\n"
          "Converts MNIST IDX files to a Kaggle Digit Recognizer CSV, written atomically.\n"
          "\n"
          "  --images IDX   images file (magic 0x00000803, n x 28 x 28 bytes)\n"
          "  --labels IDX   labels file (magic 0x00000801, n bytes 0..9)\n"
          "  --no-labels    write no label column (\"pixel0,...,pixel783\")\n"
          "  -o CSV         output file\n"
          "  -h, --help     show this help\n",
          fp);
}

int trn_mnist_convert_main(int argc, char **argv)
{
    const char *images = NULL, *labels = NULL, *out = NULL;
    int no_labels = 0, rc = UTIL_OK;
    trn_data *d = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--no-labels") == 0) {
            no_labels = 1;
            continue;
        } else if (strcmp(a, "--images") == 0) {
            slot = &images;
        } else if (strcmp(a, "--labels") == 0) {
            slot = &labels;
        } else if (strcmp(a, "-o") == 0) {
            slot = &out;
        } else {
            util_log(UTIL_LOG_ERROR, "mnist-convert: unknown option or argument \"%s\"", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc || argv[i + 1][0] == '\0') {
            util_log(UTIL_LOG_ERROR, "mnist-convert: %s needs a file name", a);
            usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!images || !out || (!labels && !no_labels)) {
        util_log(UTIL_LOG_ERROR, "mnist-convert: %s is required",
                 !images ? "--images" : !out ? "-o" : "--labels (or --no-labels)");
        usage(stderr);
        return 2;
    }

    rc = trn_data_load_idx(&d, images, labels);
    if (rc)
        goto cleanup;
    rc = trn_data_write_csv(d, out, !no_labels);
    if (rc)
        goto cleanup;
    util_log(UTIL_LOG_INFO, "wrote %d images%s to %s", d->n, no_labels ? "" : " with labels", out);
cleanup:
    trn_data_destroy(&d);
    return rc ? 1 : 0;
}
