/* lang.h — the public face of segc's front end (the top layer below main).
 *
 * diag:  collects and prints located diagnostics in GCC's form
 *        ("file:line:col: error: message", the source line, a caret);
 * parse: flex + bison, pure and reentrant, one file to one ast_file;
 * sema:  loads a program (a file and its imports), checks it, and
 *        elaborates a net into a compiler graph (ir_graph).
 *
 * Library code here never prints to stdout and never exits; errors go to
 * the diag engine and the caller picks the exit code (65 for a bad program).
 */
#ifndef SEGC_LANG_H
#define SEGC_LANG_H

#include "../compiler/compiler.h"
#include "ast.h"

/* ----------------------------------------------------------- diagnostics */

typedef struct seg_diag seg_diag;

/* Diagnostics print to out as they arrive (stderr in the CLI). After
 * max_errors errors, further ones are counted but not printed. */
seg_diag *seg_diag_new(FILE *out);
void seg_diag_free(seg_diag *d);
/* Register a source text; returns its file id (>= 1). The text is copied. */
int seg_diag_add_file(seg_diag *d, const char *path, const char *text, size_t len);
const char *seg_diag_file_path(const seg_diag *d, int file_id);
/* The file-name table indexed by file id (entry 0 is NULL), for ir_graph. */
const char *const *seg_diag_file_names(const seg_diag *d, int *n);
void seg_diag_error(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void seg_diag_warning(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void seg_diag_note(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
int seg_diag_error_count(const seg_diag *d);

/* ----------------------------------------------------------------- parse */

/* Parse one file (already registered with the diag engine as file_id).
 * Always returns an ast_file (possibly with fewer decls after errors);
 * syntax errors are reported to d. Free with ast_file_free. */
ast_file *seg_parse(seg_diag *d, int file_id, const char *path, const char *text, size_t len);
void ast_file_free(ast_file *f);

/* ------------------------------------------------------------------ sema */

/* A compile-time setting from the command line: --set levels=3. The value
 * is parsed as an int, float, bool or string literal. */
typedef struct seg_setting {
    const char *key;
    const char *value;
} seg_setting;

typedef struct seg_program seg_program;

/* Read, parse and check path and everything it imports (stdlib search
 * path built in, plus SEG_PATH, plus the importing file's folder).
 * Checks every net with its default parameters and every schedule.
 * Returns NULL when there were errors (already reported to d). */
seg_program *seg_load(const char *path, seg_diag *d);
void seg_program_free(seg_program *p);

/* Names of the program's nets / schedules in declaration order. */
int seg_program_nets(const seg_program *p, const char ***names);
int seg_program_schedules(const seg_program *p, const char ***names);

/* Elaborate net_name (NULL = the last net of the main file) with the given
 * settings (net parameters and symbolic dimensions such as B) into a new
 * graph. training selects batch norm / dropout behaviour. Returns NULL on
 * error (reported to d). */
ir_graph *seg_elaborate_net(seg_program *p, const char *net_name,
                            const seg_setting *settings, int n_settings,
                            int training, seg_diag *d);

/* The built-in stdlib folder (set at build time) and the import path. */
const char *seg_stdlib_dir(void);

#endif
