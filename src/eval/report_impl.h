/* report_impl.h: what report.c, report_boot.c and report_format.c share (not installed). */
#ifndef MER_REPORT_IMPL_H
#define MER_REPORT_IMPL_H

#include "mer/report.h"

/* The metric keys of metrics.json, by enum mer_report_metric. */
extern const char *const mer_report_metric_keys[MER_REPORT_N_METRICS];

/* Fills row->cmp [n_sets] against the baseline row (report_boot.c). */
int mer_report_compare(struct mer_report *r, size_t row);

/* The metrics.json object of a run's set ("cv" or a test split); NULL if it has none. */
const struct cJSON *mer_report_set_json(const struct mer_report_run *run, const char *set);

struct mer_predictions;
/* The labeled rows of p in byte order of their names, into idx (the caller's [p->n]); their
 * count. The one order of samples for label checks and the bootstrap (report_boot.c). */
size_t mer_report_sorted_labeled(const struct mer_predictions *p, size_t *idx);

#endif
