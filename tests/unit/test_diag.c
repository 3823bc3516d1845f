/* test_diag.c — the diagnostics engine (lang/diag.c): GCC's message form
 * with the quoted source line and caret (exact text), tabs and UTF-8 in
 * the quoted line, spans without a file, the 20-error cap, the file table
 * and that nothing leaks.
 */
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* A diag engine printing into memory; diag_text() returns what it printed. */
typedef struct capture {
    seg_diag *d;
    FILE *out;
    char *buf;
    size_t len;
    char text[8192];
} capture;

static void capture_open(capture *c)
{
    memset(c, 0, sizeof *c);
    c->out = open_memstream(&c->buf, &c->len);
    c->d = seg_diag_new(c->out);
}

static const char *capture_text(capture *c)
{
    fflush(c->out);
    snprintf(c->text, sizeof c->text, "%s", c->buf ? c->buf : "");
    return c->text;
}

static void capture_close(capture *c)
{
    seg_diag_free(c->d);
    fclose(c->out);
    free(c->buf); /* open_memstream's buffer comes from libc, not the funnel */
}

static seg_span span(int file, int line, int col, int end_line, int end_col)
{
    return (seg_span){file, line, col, end_line, end_col};
}

static const char src[] = "net a() {\n    x = conv(output, 3)\n}\n";

TEST(diag_error_with_caret)
{
    capture c;
    capture_open(&c);
    int id = seg_diag_add_file(c.d, "net.seg", src, strlen(src));
    CHECK_INT(id, 1);
    seg_diag_error(c.d, span(id, 2, 14, 2, 19), "unexpected '%s', expected an expression",
                   "output");
    CHECK_STR(capture_text(&c),
              "net.seg:2:14: error: unexpected 'output', expected an expression\n"
              "    x = conv(output, 3)\n"
              "             ^~~~~~\n");
    CHECK_INT(seg_diag_error_count(c.d), 1);
    capture_close(&c);
}

TEST(diag_warning_and_note)
{
    capture c;
    capture_open(&c);
    int id = seg_diag_add_file(c.d, "net.seg", src, strlen(src));
    seg_diag_warning(c.d, span(id, 1, 5, 1, 5), "empty range");
    seg_diag_note(c.d, span(id, 3, 1, 3, 1), "declared here");
    CHECK_STR(capture_text(&c),
              "net.seg:1:5: warning: empty range\n"
              "net a() {\n"
              "    ^\n"
              "net.seg:3:1: note: declared here\n"
              "}\n"
              "^\n");
    CHECK_INT(seg_diag_error_count(c.d), 0); /* warnings are not errors */
    capture_close(&c);
}

TEST(diag_no_file)
{
    capture c;
    capture_open(&c);
    seg_diag_error(c.d, span(0, 0, 0, 0, 0), "cannot open '%s'", "x.seg");
    seg_diag_note(c.d, span(0, 0, 0, 0, 0), "search path: %s", "stdlib");
    seg_diag_error(c.d, span(7, 1, 1, 1, 1), "unknown file id"); /* robust, no crash */
    CHECK_STR(capture_text(&c),
              "segc: error: cannot open 'x.seg'\n"
              "segc: note: search path: stdlib\n"
              "segc: error: unknown file id\n");
    CHECK_INT(seg_diag_error_count(c.d), 2);
    capture_close(&c);
}

TEST(diag_tabs_keep_caret_aligned)
{
    capture c;
    capture_open(&c);
    const char *text = "\tx =\t\tfoo(1)\n";
    int id = seg_diag_add_file(c.d, "t.seg", text, strlen(text));
    seg_diag_error(c.d, span(id, 1, 7, 1, 9), "unknown name 'foo'");
    CHECK_STR(capture_text(&c),
              "t.seg:1:7: error: unknown name 'foo'\n"
              "\tx =\t\tfoo(1)\n"
              "\t   \t\t^~~\n");
    capture_close(&c);
}

TEST(diag_multiline_span_caret_only)
{
    capture c;
    capture_open(&c);
    int id = seg_diag_add_file(c.d, "net.seg", src, strlen(src));
    seg_diag_error(c.d, span(id, 1, 1, 3, 1), "net 'a' has no output");
    CHECK_STR(capture_text(&c),
              "net.seg:1:1: error: net 'a' has no output\n"
              "net a() {\n"
              "^\n");
    capture_close(&c);
}

TEST(diag_caret_past_end_and_last_line)
{
    capture c;
    capture_open(&c);
    const char *text = "x = 1 +\r\ny = 2"; /* CRLF line, no final newline */
    int id = seg_diag_add_file(c.d, "e.seg", text, strlen(text));
    seg_diag_error(c.d, span(id, 1, 8, 1, 8), "expected an expression");
    seg_diag_error(c.d, span(id, 2, 5, 2, 5), "here");
    seg_diag_error(c.d, span(id, 9, 1, 9, 1), "line beyond the file");
    CHECK_STR(capture_text(&c),
              "e.seg:1:8: error: expected an expression\n"
              "x = 1 +\n"
              "       ^\n"
              "e.seg:2:5: error: here\n"
              "y = 2\n"
              "    ^\n"
              "e.seg:9:1: error: line beyond the file\n");
    capture_close(&c);
}

TEST(diag_utf8_and_control_bytes)
{
    capture c;
    capture_open(&c);
    const char *text = "s = \"\xc3\xa9t\xc3\xa9\" + \x01x\n"; /* "été" + ^Ax */
    int id = seg_diag_add_file(c.d, "u.seg", text, strlen(text));
    /* bytes: s=1 ' '=2 '='=3 ' '=4 '"'=5 e-acute=6,7 t=8 e-acute=9,10 '"'=11
     * ' '=12 '+'=13 ' '=14 ^A=15 x=16 */
    seg_diag_error(c.d, span(id, 1, 16, 1, 16), "unknown name 'x'");
    CHECK_STR(capture_text(&c),
              "u.seg:1:16: error: unknown name 'x'\n"
              "s = \"\xc3\xa9t\xc3\xa9\" +  x\n"
              "             ^\n");
    capture_close(&c);
}

TEST(diag_long_line_window)
{
    capture c;
    capture_open(&c);
    size_t n = 5000;
    char *text = malloc(n + 1);
    memset(text, 'a', n);
    memcpy(text + 3000, "BAD", 3);
    text[n] = 0;
    int id = seg_diag_add_file(c.d, "l.seg", text, n);
    seg_diag_error(c.d, span(id, 1, 3001, 1, 3003), "bad");
    const char *out = capture_text(&c);
    CHECK(strncmp(out, "l.seg:1:3001: error: bad\n...", 28) == 0);
    CHECK(strlen(out) < 500); /* a window, not 5000 bytes */
    const char *src_line = strchr(out, '\n') + 1;
    const char *caret_line = strchr(src_line, '\n') + 1;
    CHECK(strncmp(src_line + (strchr(caret_line, '^') - caret_line), "BAD", 3) == 0);
    CHECK(strstr(caret_line, "^~~\n") != NULL);
    free(text);
    capture_close(&c);
}

TEST(diag_cap_at_twenty_errors)
{
    capture c;
    capture_open(&c);
    int id = seg_diag_add_file(c.d, "net.seg", src, strlen(src));
    for (int i = 0; i < 25; i++) {
        seg_diag_error(c.d, span(0, 0, 0, 0, 0), "error %d", i);
        seg_diag_note(c.d, span(id, 1, 1, 1, 3), "note %d", i);
    }
    seg_diag_warning(c.d, span(0, 0, 0, 0, 0), "late warning");
    const char *out = capture_text(&c);
    CHECK(strstr(out, "segc: error: error 19\n") != NULL);
    CHECK(strstr(out, "note 19") != NULL);
    CHECK(strstr(out, "error 20") == NULL);
    CHECK(strstr(out, "note 20") == NULL);
    CHECK(strstr(out, "late warning") == NULL);
    const char *stop = strstr(out, "too many errors, stopping\n");
    CHECK(stop != NULL);
    CHECK(stop && strstr(stop + 1, "too many errors") == NULL); /* said once */
    CHECK_INT(seg_diag_error_count(c.d), 25); /* still counted */
    capture_close(&c);
}

TEST(diag_file_table)
{
    long live = seg_alloc_live();
    seg_diag *d = seg_diag_new(NULL); /* silent: counts only */
    char text[] = "x = 1\n";
    int a = seg_diag_add_file(d, "a.seg", text, strlen(text));
    text[0] = 'y'; /* the engine keeps its own copy */
    int b = seg_diag_add_file(d, "dir/b.seg", "", 0);
    CHECK_INT(a, 1);
    CHECK_INT(b, 2);
    CHECK_STR(seg_diag_file_path(d, a), "a.seg");
    CHECK_STR(seg_diag_file_path(d, b), "dir/b.seg");
    CHECK(seg_diag_file_path(d, 0) == NULL);
    CHECK(seg_diag_file_path(d, 3) == NULL);
    int n = 0;
    const char *const *names = seg_diag_file_names(d, &n);
    CHECK_INT(n, 3);
    CHECK(names[0] == NULL);
    CHECK_STR(names[1], "a.seg");
    CHECK_STR(names[2], "dir/b.seg");
    seg_diag_error(d, span(a, 1, 1, 1, 1), "counted, not printed");
    CHECK_INT(seg_diag_error_count(d), 1);
    seg_diag_free(d);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(diag_copies_source_text)
{
    capture c;
    capture_open(&c);
    char text[] = "x = 1\n";
    int id = seg_diag_add_file(c.d, "a.seg", text, strlen(text));
    text[0] = 'y';
    seg_diag_error(c.d, span(id, 1, 1, 1, 1), "m");
    CHECK_STR(capture_text(&c), "a.seg:1:1: error: m\nx = 1\n^\n");
    capture_close(&c);
}
