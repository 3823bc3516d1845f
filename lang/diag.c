/* diag.c — located diagnostics in GCC's form.
 *
 *   net.seg:3:12: error: unexpected 'output', expected an expression
 *       y = conv(output, 3)
 *                ^~~~~~
 *
 * The engine keeps a table of source texts (copied, owned, indexed by file
 * id from 1) so it can quote the offending line. Each message prints at
 * once: "path:line:col: kind: message", the source line, then a caret line
 * with '^' under the span's first byte and '~' under the rest of it when
 * the span ends on the same line. Columns count bytes; to keep the caret
 * under the right character the caret line copies the source's tabs and
 * skips UTF-8 continuation bytes. Control bytes in the quoted line print
 * as spaces, and a very long line (minified or binary input) is shown as a
 * window around the caret.
 *
 * A text may start at a line other than 1 (seg_diag_add_file_at): the REPL
 * registers each input under "<repl>" with the session line it began on,
 * so messages say "<repl>:LINE:COL"; seg_diag_truncate drops such inputs
 * again and seg_diag_reset starts a new count, so a long session neither
 * grows the table nor runs into the error cap.
 *
 * A span with file 0 has no source: "segc: error: message". After
 * DIAG_MAX_ERRORS errors the engine prints "too many errors, stopping" and
 * then nothing more (notes and warnings included) while it keeps counting;
 * the parser asks seg_diag_stopped() and gives up early. A note is hidden
 * when the diagnostic it belongs to was. A NULL stream makes a silent
 * engine that only counts (the REPL uses one to try a parse).
 */
#include "lang.h"
#include "parse_internal.h"

#include <string.h>

enum {
    DIAG_MAX_ERRORS = 20,  /* errors printed before "too many errors, stopping" */
    DIAG_LONG_LINE = 512,  /* longer source lines are shown as a window... */
    DIAG_WINDOW = 80,      /* ... of this many bytes either side of the caret */
};

typedef struct diag_file {
    char *path;    /* owned copy */
    char *text;    /* owned copy, NUL-terminated (may hold NULs inside) */
    size_t len;    /* bytes of text */
    size_t *lines; /* byte offset of each line's start; built on first use */
    int n_lines;   /* entries in lines (0 until built) */
    int first_line;/* the line number of the text's first line (1 for a file; the
                      REPL numbers its inputs by their line in the session) */
} diag_file;

/* A note held back until the notes of its diagnostic are out. */
typedef struct diag_later {
    seg_span at;
    char *msg;          /* owned */
} diag_later;

struct seg_diag {
    FILE *out;          /* where messages go; NULL = count only */
    diag_later *later;  /* deferred notes, printed by seg_diag_flush */
    int n_later, cap_later;
    diag_file *files;   /* file id i is files[i - 1] */
    int n_files;
    const char **names; /* names[0] = NULL, names[i] = files[i - 1].path */
    int n_errors;       /* every error, printed or not */
    int n_warnings;
    int stopped;        /* the error cap was passed: print nothing more */
    int hide_notes;     /* the last error or warning was not printed */
};

seg_diag *seg_diag_new(FILE *out)
{
    seg_diag *d = seg_xcalloc(1, sizeof *d);
    d->out = out;
    d->names = seg_xcalloc(1, sizeof *d->names);
    return d;
}

void seg_diag_free(seg_diag *d)
{
    if (!d)
        return;
    seg_diag_flush(d);
    seg_free(d->later);
    for (int i = 0; i < d->n_files; i++) {
        seg_free(d->files[i].path);
        seg_free(d->files[i].text);
        seg_free(d->files[i].lines);
    }
    seg_free(d->files);
    seg_free(d->names);
    seg_free(d);
}

int seg_diag_add_file(seg_diag *d, const char *path, const char *text, size_t len)
{
    return seg_diag_add_file_at(d, path, text, len, 1);
}

int seg_diag_add_file_at(seg_diag *d, const char *path, const char *text, size_t len,
                         int first_line)
{
    d->files = seg_xrealloc(d->files, (size_t)(d->n_files + 1) * sizeof *d->files);
    diag_file *f = &d->files[d->n_files++];
    memset(f, 0, sizeof *f);
    f->path = seg_xstrdup(path ? path : "<input>");
    f->text = seg_xrealloc(NULL, len + 1);
    if (len)
        memcpy(f->text, text, len);
    f->text[len] = 0;
    f->len = len;
    f->first_line = first_line > 0 ? first_line : 1;
    d->names = seg_xrealloc(d->names, (size_t)(d->n_files + 1) * sizeof *d->names);
    for (int i = 0; i < d->n_files; i++)
        d->names[i + 1] = d->files[i].path;
    return d->n_files;
}

const char *seg_diag_file_path(const seg_diag *d, int file_id)
{
    if (file_id < 1 || file_id > d->n_files)
        return NULL;
    return d->files[file_id - 1].path;
}

const char *const *seg_diag_file_names(const seg_diag *d, int *n)
{
    if (n)
        *n = d->n_files + 1;
    return d->names;
}

int seg_diag_file_first_line(const seg_diag *d, int file_id)
{
    return file_id >= 1 && file_id <= d->n_files ? d->files[file_id - 1].first_line : 1;
}

int seg_diag_file_count(const seg_diag *d) { return d->n_files; }

void seg_diag_truncate(seg_diag *d, int n_files)
{
    SEG_ASSERT(n_files >= 0 && n_files <= d->n_files);
    for (int i = n_files; i < d->n_files; i++) {
        seg_free(d->files[i].path);
        seg_free(d->files[i].text);
        seg_free(d->files[i].lines);
    }
    d->n_files = n_files; /* names[] keeps its room; seg_diag_file_names stops at n */
}

FILE *seg_diag_set_stream(seg_diag *d, FILE *out)
{
    FILE *old = d->out;
    d->out = out;
    return old;
}

void seg_diag_reset(seg_diag *d)
{
    d->n_errors = d->n_warnings = 0;
    d->stopped = d->hide_notes = 0;
}

int seg_diag_error_count(const seg_diag *d) { return d->n_errors; }

int seg_diag_stopped(const seg_diag *d) { return d->stopped; }

/* ---------------------------------------------------------- quoting */

static void diag_index_lines(diag_file *f)
{
    int n = 1;
    for (size_t i = 0; i < f->len; i++)
        n += f->text[i] == '\n';
    f->lines = seg_xrealloc(NULL, (size_t)n * sizeof *f->lines);
    f->lines[0] = 0;
    int k = 1;
    for (size_t i = 0; i < f->len; i++)
        if (f->text[i] == '\n')
            f->lines[k++] = i + 1;
    f->n_lines = n;
}

static int diag_is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/* The quoted line's bytes [from, to) of line, control bytes as spaces. */
static void diag_put_source(FILE *out, const char *line, size_t from, size_t to, size_t n)
{
    if (from > 0)
        fputs("...", out);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)line[i];
        fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : ' ', out);
    }
    if (to < n)
        fputs("...", out);
    fputc('\n', out);
}

/* '^' under byte offset c0 of line, '~' up to byte offset c1 (inclusive). */
static void diag_put_caret(FILE *out, const char *line, size_t from, size_t to, size_t c0,
                           size_t c1)
{
    if (from > 0)
        fputs("   ", out);
    size_t i = from;
    for (; i < c0 && i < to; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\t')
            fputc('\t', out);
        else if (!diag_is_continuation(c))
            fputc(' ', out);
    }
    for (; i < c0; i++) /* caret past the end of the line */
        fputc(' ', out);
    fputc('^', out);
    for (i = c0 + 1; i <= c1 && i < to; i++)
        if (!diag_is_continuation((unsigned char)line[i]))
            fputc('~', out);
    fputc('\n', out);
}

static void diag_show_line(diag_file *f, seg_span at, FILE *out)
{
    if (!f->lines)
        diag_index_lines(f);
    int k = at.line - f->first_line + 1; /* the line's number within the text */
    if (k < 1 || k > f->n_lines)
        return;
    const char *line = f->text + f->lines[k - 1];
    size_t n = (k < f->n_lines ? f->lines[k] - 1 : f->len) - f->lines[k - 1];
    if (n > 0 && line[n - 1] == '\r')
        n--;
    size_t c0 = at.col > 1 ? (size_t)at.col - 1 : 0;
    size_t c1 = at.end_line == at.line && at.end_col > at.col ? (size_t)at.end_col - 1 : c0;
    size_t from = 0, to = n;
    if (n > DIAG_LONG_LINE) {
        from = c0 > DIAG_WINDOW ? c0 - DIAG_WINDOW : 0;
        to = c0 + DIAG_WINDOW < n ? c0 + DIAG_WINDOW : n;
        if (from > n)
            from = n;
    }
    diag_put_source(out, line, from, to, n);
    diag_put_caret(out, line, from, to, c0, c1);
}

static void diag_print(seg_diag *d, const char *kind, seg_span at, const char *fmt, va_list ap)
{
    FILE *out = d->out;
    diag_file *f = at.file >= 1 && at.file <= d->n_files ? &d->files[at.file - 1] : NULL;
    if (!f)
        fprintf(out, "segc: %s: ", kind);
    else if (at.line < 1)
        fprintf(out, "%s: %s: ", f->path, kind);
    else
        fprintf(out, "%s:%d:%d: %s: ", f->path, at.line, at.col > 0 ? at.col : 1, kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    if (f && at.line >= 1)
        diag_show_line(f, at, out);
}

/* ----------------------------------------------------------- entries */

void seg_diag_error(seg_diag *d, seg_span at, const char *fmt, ...)
{
    seg_diag_flush(d);
    d->n_errors++;
    if (d->n_errors > DIAG_MAX_ERRORS) {
        if (!d->stopped && d->out)
            fputs("too many errors, stopping\n", d->out);
        d->stopped = 1;
        return;
    }
    d->hide_notes = 0;
    if (!d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    diag_print(d, "error", at, fmt, ap);
    va_end(ap);
}

void seg_diag_warning(seg_diag *d, seg_span at, const char *fmt, ...)
{
    seg_diag_flush(d);
    d->n_warnings++;
    d->hide_notes = d->stopped;
    if (d->stopped || !d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    diag_print(d, "warning", at, fmt, ap);
    va_end(ap);
}

void seg_diag_note(seg_diag *d, seg_span at, const char *fmt, ...)
{
    if (d->stopped || d->hide_notes || !d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    diag_print(d, "note", at, fmt, ap);
    va_end(ap);
}

/* Deferred notes: the context of a diagnostic ("in call to 'f' from
 * here") comes after the notes about the diagnostic itself ("did you
 * mean"), which its reporter adds right after it; so the context waits
 * for the next error or warning, or for seg_diag_flush. */
void seg_diag_note_later(seg_diag *d, seg_span at, const char *fmt, ...)
{
    if (d->stopped || d->hide_notes || !d->out)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d->n_later == d->cap_later) {
        d->cap_later = d->cap_later ? 2 * d->cap_later : 8;
        d->later = seg_xrealloc(d->later, (size_t)d->cap_later * sizeof *d->later);
    }
    d->later[d->n_later++] = (diag_later){at, seg_xstrdup(msg)};
}

void seg_diag_flush(seg_diag *d)
{
    int n = d->n_later;
    d->n_later = 0; /* first: seg_diag_note must not come back here */
    for (int i = 0; i < n; i++) {
        seg_diag_note(d, d->later[i].at, "%s", d->later[i].msg);
        seg_free(d->later[i].msg);
    }
}
