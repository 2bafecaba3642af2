/* What the extractors' option tables (kaldi_opts.c, visual_opts.c, image_opts.c) share: how a
 * name is matched and how a boolean or a number is read from text. */
#ifndef MER_FEATURES_OPTIONS_IMPL_H
#define MER_FEATURES_OPTIONS_IMPL_H

/* 1 if name names the row: the same, or with '-' for any '_' ("num-mel-bins"). */
int mer_option_name_is(const char *row, const char *name);
/* "true" or "1", "false" or "0": 0 with *out set; -1 for anything else. */
int mer_option_bool(const char *v, int *out);
/* The whole text as a finite number: 0 with *out set; -1 otherwise. */
int mer_option_real(const char *v, double *out);

#endif
