/*
 * rec_model.h - model and checkpoint files: a network's description, its
 * parameters (and, for a checkpoint, the optimizer state and the trainer's
 * own state) in one self-checking little-endian file.  The layout is
 * documented in docs/model-format.md; in short:
 *
 *   header (48 bytes): magic "DPMODEL\0", version, kind, lengths, counts
 *   the layer list in its text form (rec_net.h)
 *   metadata: "key=value\n" lines of printable text
 *   the tensor directory: name, type, byte offset, element count
 *   the tensor data (float32 little-endian)
 *   CRC32 (zlib's) of every byte before it
 *
 * Files are written to a temporary file and renamed.  The loader checks the
 * whole file before it trusts any of it: magic, version, every length
 * against the file size, the CRC, that the layer list parses and that the
 * tensor directory is exactly the size table of that network (every tensor
 * once, the right counts, no overlap, inside the data), that every float is
 * finite (and every running variance and optimizer mean square not
 * negative), and that the metadata is printable key=value text.
 */
#ifndef DOCPIPE_REC_MODEL_H
#define DOCPIPE_REC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "rec_net.h"

#define REC_MODEL_MAGIC "DPMODEL"  /* 8 bytes with its NUL */
#define REC_MODEL_VERSION 1u
#define REC_MODEL_MAX_BYTES (512u << 20) /* files above this are refused */
#define REC_MODEL_MAX_META 65536u

enum { REC_MODEL_KIND_MODEL = 1, REC_MODEL_KIND_CHECKPOINT = 2 };

typedef struct rec_model {
    int kind;            /* REC_MODEL_KIND_* */
    rec_arch arch;
    size_t n_params;     /* floats in params, size-table layout (rec_arch_params) */
    size_t n_trainable;  /* the trainable prefix, = floats in opt_state */
    float *params;
    float *opt_state;    /* checkpoint: RMSProp mean squares; model: NULL */
    float *avg_params;   /* checkpoint, optional: running average of the weights over the
                          * epochs averaged so far (n_params, malloc'd, freed by destroy);
                          * written as tensor "avg.params" when not NULL */
    char *meta;          /* "key=value\n" lines, NUL-terminated, never NULL */
} rec_model;

/*
 * rec_model_create - a model of the given kind for arch, parameters zero,
 * metadata empty.  arch must be valid.
 */
int rec_model_create(rec_model **pm, const rec_arch *arch, int kind);
void rec_model_destroy(rec_model **pm);

/*
 * rec_model_save - writes m to path atomically (temporary file, then
 * rename): readers see the old file or the new one, never a part.
 * Parameters that are not finite (a diverged run) are refused with
 * UTIL_EINVAL before anything is written, since no loader would take them.
 */
int rec_model_save(const rec_model *m, const char *path);

/*
 * rec_model_load - reads and checks the file at path (see the top of this
 * file).  kind is REC_MODEL_KIND_MODEL or _CHECKPOINT to require one, 0 for
 * either.  Every refusal is logged with the path and, where one applies,
 * the byte offset; UTIL_EIO when the file cannot be read, UTIL_EUNSUP for
 * another version, UTIL_EFORMAT for anything else wrong.
 */
int rec_model_load(rec_model **pm, const char *path, int kind);

/* rec_model_parse - the same checks on a file already in memory; name is
 * used in messages. */
int rec_model_parse(rec_model **pm, const uint8_t *buf, size_t len, const char *name, int kind);

/*
 * Metadata.  Keys are 1..63 characters of [A-Za-z0-9_.-]; values are
 * printable text without line ends (up to 4095 bytes).  meta_get copies the
 * value into buf and returns UTIL_OK, or UTIL_EINVAL when the key is absent
 * (logging nothing).  meta_set replaces or appends.
 */
int rec_model_meta_get(const rec_model *m, const char *key, char *buf, size_t cap);
int rec_model_meta_set(rec_model *m, const char *key, const char *value);
/* rec_model_meta_double - the value parsed as a number in [lo, hi]; absent
 * or malformed: *pval = dflt and UTIL_EINVAL. */
int rec_model_meta_double(const rec_model *m, const char *key, double lo, double hi,
                          double dflt, double *pval);



/*
 * rec_model_default_path - where the shipped model is: $DOCPIPE_MODEL when
 * set, else the first of <binary's folder>/models/default.model,
 * <binary's folder>/../share/docpipe/models/default.model and
 * ./models/default.model that exists (the first candidate when none does,
 * so the error names a real place).
 */
void rec_model_default_path(char *buf, size_t cap);

/*
 * rec_model_checker_path - where the shipped checker model is (a second
 * network, trained apart, whose opinion of each digit ingest weighs into
 * the field confidence: README "Confidence"): $DOCPIPE_CHECKER when set,
 * else the first of the same three places as rec_model_default_path with
 * checker.model for default.model.  Returns 1 when the file found exists
 * (or the variable is set), 0 when none does (buf then names the first
 * candidate).
 */
int rec_model_checker_path(char *buf, size_t cap);

/*
 * rec_model_judge_path - where the shipped judge model is (a small network
 * that tells a whole digit from two or more touching digits read as one
 * glyph and from a piece of a digit; ingest weighs its word into the
 * choice among a field's splits: README "The judge"): $DOCPIPE_JUDGE when
 * set, else the first of the same three places as rec_model_default_path
 * with judge.model for default.model.  Returns 1 when the file found
 * exists (or the variable is set), 0 when none does.
 */
int rec_model_judge_path(char *buf, size_t cap);

/*
 * rec_model_pair_left_path, rec_model_pair_right_path - where the shipped
 * pair readers are (two networks reading the left and the right digit of
 * a glyph holding two touching digits: README "The pair readers"):
 * $DOCPIPE_PAIR_LEFT / $DOCPIPE_PAIR_RIGHT when set, else as
 * rec_model_judge_path with pair-left.model / pair-right.model.  Return 1
 * when the file found exists (or the variable is set), 0 when none does.
 */
int rec_model_pair_left_path(char *buf, size_t cap);
int rec_model_pair_right_path(char *buf, size_t cap);
#endif
