/*
 * seg_cmd.h - `docpipe segment`: the segmentation stage on its own, for a
 * person checking what it finds: per page the skew, the form, the fields
 * and their digit boxes, and with --dump overlay images to look at.
 */
#ifndef DOCPIPE_SEG_CMD_H
#define DOCPIPE_SEG_CMD_H

typedef struct seg_cmd_opts {
    const char *form;      /* NULL: best template or auto; "auto"; or a template name */
    const char *forms_dir; /* NULL: seg_forms_default_dir() */
    const char *dump;      /* folder for overlay PNGs, or NULL */
    int n_files;
    const char *const *files;
} seg_cmd_opts;

/*
 * seg_cmd_run - segments every page of every file and prints what it found
 * on standard output.  A file or page that cannot be read is reported and
 * skipped; the rest go on.  Returns UTIL_OK when every file was read, else
 * the first error (the forms folder or --dump folder failing stops at once).
 */
int seg_cmd_run(const seg_cmd_opts *o);

#endif
