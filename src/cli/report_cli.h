/*
 * tokvec report's two renderings of a struct tv_report (include/tokvec/report.h): the
 * one-page HTML (src/cli/report_html.c) and the JSON (src/cli/cmd_report.c). The
 * rendering lives in the CLI, not the library: the page shows inspect's summary lines,
 * which are CLI code (src/cli/inspect_summary.c), and presentation is the CLI's job as
 * printing verify's lines is; the library hands out the numbers for any other front end.
 */
#ifndef TOKVEC_REPORT_CLI_H
#define TOKVEC_REPORT_CLI_H

#include "cli.h"
#include "tokvec/report.h"

/* The HTML page shows at most this many tensors (the largest); JSON lists them all. */
#define REPORT_HTML_MAX_TENSORS 2000

/*
 * Appends the whole HTML page for the report r of model m, opened from path, to out:
 * inline CSS, SVG and one inline script (the sortable table), nothing fetched from
 * anywhere (a Content-Security-Policy forbids it). Check out->oom afterwards.
 */
void report_html(struct cli_buf *out, const tv_model *m, const char *path,
                 const struct tv_report *r);

#endif
