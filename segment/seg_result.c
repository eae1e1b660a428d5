/*
 * seg_result.c - freeing the segmentation stage's result records
 * (segment.h).
 */
#include <stdlib.h>
#include <string.h>

#include "segment.h"

void seg_field_clear(seg_field *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_splits; i++)
        free(f->splits[i].glyphs);
    free(f->splits);
    memset(f, 0, sizeof *f);
}
