/*
 * fuzz_model.c - libFuzzer harness for the model and checkpoint loader
 * (recognize/rec_model.c, rec_model_parse): the input is parsed as either
 * kind.  The fuzz build skips the file's CRC32 check
 * (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION), so mutations reach the
 * header, layer list, metadata and tensor table behind it.  A model it
 * accepts must hold finite parameters of the size its layer list says.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_util.h"
#include "recognize/rec_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    rec_model *m = NULL;
    char buf[64];

    fuzz_quiet();
    if (rec_model_parse(&m, data, len, "fuzz", 0) == UTIL_OK) {
        if (!m || !m->params || !m->meta)
            abort();
        for (size_t i = 0; i < m->n_params; i++)
            if (!isfinite(m->params[i]))
                abort();
        if (m->opt_state && m->n_trainable)
            (void)m->opt_state[m->n_trainable - 1];
        (void)rec_model_meta_get(m, "val_accuracy", buf, sizeof buf);
    } else if (m) {
        abort();
    }
    rec_model_destroy(&m);
    return 0;
}
