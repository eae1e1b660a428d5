/*
 * model_blend.c - the tool that made the shipped model: the weights of two
 * models of the same network averaged, W x A + (1 - W) x B (every tensor,
 * batch-norm statistics included), written atomically with A's metadata
 * (so A's temperature) and a "blend" line saying what was mixed.  A's
 * test_accuracy is not the blend's: `docpipe eval --record --model OUT
 * data/test_labeled.csv` measures and stores the blend's own.
 * Averaging a fine-tuned model with the one it started from keeps much
 * of what the fine-tuning gained while giving back less of the original
 * task (README "The shipped model").
 *
 *   model_blend A.model B.model W OUT.model      W in [0, 1]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "util/util.h"

int main(int argc, char **argv)
{
    rec_model *a = NULL, *b = NULL;
    char ta[2048], tb[2048], note[4200];
    double w;
    int rc = 1;

    if (argc != 5 || util_parse_double(argv[3], 0.0, 1.0, &w) != UTIL_OK) {
        fprintf(stderr, "usage: model_blend A.model B.model W OUT.model   (W in [0, 1])\n");
        return 2;
    }
    if (rec_model_load(&a, argv[1], REC_MODEL_KIND_MODEL) ||
        rec_model_load(&b, argv[2], REC_MODEL_KIND_MODEL))
        goto cleanup;
    rec_arch_format(&a->arch, ta, sizeof ta);
    rec_arch_format(&b->arch, tb, sizeof tb);
    if (strcmp(ta, tb) != 0 || a->n_params != b->n_params) {
        fprintf(stderr, "model_blend: %s and %s are different networks\n", argv[1], argv[2]);
        goto cleanup;
    }
    for (size_t i = 0; i < a->n_params; i++)
        a->params[i] = (float)(w * a->params[i] + (1.0 - w) * b->params[i]);
    snprintf(note, sizeof note, "%.4f x %s + %.4f x %s", w, argv[1], 1.0 - w, argv[2]);
    for (char *p = note; *p; p++)
        if (*p < 32 || *p > 126)
            *p = '?';
    if (rec_model_meta_set(a, "blend", note) || rec_model_save(a, argv[4]))
        goto cleanup;
    printf("wrote %s: %s (its test_accuracy is still A's: run docpipe eval --record on it)\n",
           argv[4], note);
    rc = 0;
cleanup:
    rec_model_destroy(&a);
    rec_model_destroy(&b);
    return rc;
}
