/* png.c — PNG slices in and out, through libpng.
 *
 * Reading: libpng expands palettes to RGB and 1/2/4-bit gray to 8 bits and
 * drops alpha; the pixels are then converted to planar floats with their
 * stored values (0..255 or 0..65535), as gray (Rec. 709 luma of RGB) or as
 * three channels. libpng reports errors by longjmp: every piece of state
 * lives in a pngio_state struct owned by the caller of the function that
 * calls setjmp, so nothing the cleanup needs is an indeterminate local.
 * Our read callback turns a short read into "truncated", and every error
 * names the file. Decoded images over PNGIO_MAX_BYTES are refused rather
 * than trusting a corrupt header.
 *
 * Writing: interleaved 8- or 16-bit samples into a temporary file in the
 * target's folder (rt_atomic_file, atomic_file.c), then fflush, fsync and
 * rename, so a reader never sees a half-written PNG.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define PNGIO_MAX_BYTES ((size_t)1 << 31) /* largest decoded image accepted */

/* Everything a libpng session touches, so a longjmp loses nothing. */
typedef struct pngio_state {
    const char *path;
    FILE *f;
    png_structp png;
    png_infop info;
    uint8_t *pixels;   /* decoded rows, height * rowbytes */
    png_bytep *rows;   /* row pointers into pixels */
    char msg[256];     /* libpng's error message */
    int truncated;     /* the file ended before libpng was done */
} pngio_state;

static void pngio_on_error(png_structp png, png_const_charp msg)
{
    pngio_state *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void pngio_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings (odd chunks, gamma) do not stop a read */
    (void)msg;
}

static void pngio_on_read(png_structp png, png_bytep out, size_t n)
{
    pngio_state *s = png_get_io_ptr(png);
    if (fread(out, 1, n, s->f) != n) {
        s->truncated = !ferror(s->f);
        png_error(png, s->truncated ? "file ends early" : "read error");
    }
}

/* ------------------------------------------------------------ reading */

/* Transforms to 8/16-bit gray or RGB without alpha. */
static void pngio_read_setup(pngio_state *s)
{
    png_set_read_fn(s->png, s, pngio_on_read);
    png_set_sig_bytes(s->png, 8);
    png_read_info(s->png, s->info);
    int ct = png_get_color_type(s->png, s->info);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(s->png);
    if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(s->png, s->info) < 8)
        png_set_expand_gray_1_2_4_to_8(s->png);
    png_set_strip_alpha(s->png);
    png_read_update_info(s->png, s->info);
}

/* The libpng part; returns 0, or -1 with s->msg set (after a longjmp). */
static int pngio_read_pixels(pngio_state *s)
{
    if (setjmp(png_jmpbuf(s->png)))
        return -1;
    pngio_read_setup(s);
    size_t h = png_get_image_height(s->png, s->info), rb = png_get_rowbytes(s->png, s->info);
    if (h == 0 || rb == 0 || rb > PNGIO_MAX_BYTES / h) {
        snprintf(s->msg, sizeof s->msg, "image too large (%zu rows of %zu bytes)", h, rb);
        return -1;
    }
    s->pixels = seg_xcalloc(h, rb);
    s->rows = seg_xcalloc(h, sizeof *s->rows);
    for (size_t y = 0; y < h; y++)
        s->rows[y] = s->pixels + y * rb;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, NULL);
    return 0;
}

/* Sample k of pixel i in a row of 8- or 16-bit samples (16 is big-endian). */
static float pngio_sample(const uint8_t *row, size_t k, int depth)
{
    return depth == 16 ? (float)((row[2 * k] << 8) | row[2 * k + 1]) : (float)row[k];
}

/* Planar float channels from the decoded rows. */
static void pngio_convert(const pngio_state *s, rt_png *img, int stored)
{
    size_t plane = (size_t)img->width * (size_t)img->height;
    img->data = seg_xcalloc(plane * (size_t)img->channels, sizeof(float));
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const uint8_t *row = s->rows[y];
            size_t at = (size_t)y * (size_t)img->width + (size_t)x, k = (size_t)x * (size_t)stored;
            float v[3];
            for (int c = 0; c < 3; c++)
                v[c] = pngio_sample(row, k + (size_t)(stored == 3 ? c : 0), img->bit_depth);
            if (img->channels == 1)
                img->data[at] = stored == 3 ? 0.2126f * v[0] + 0.7152f * v[1] + 0.0722f * v[2] : v[0];
            else
                for (int c = 0; c < 3; c++)
                    img->data[(size_t)c * plane + at] = v[c];
        }
}

static void pngio_state_free(pngio_state *s, int writing)
{
    if (s->png && writing)
        png_destroy_write_struct(&s->png, &s->info);
    else if (s->png)
        png_destroy_read_struct(&s->png, &s->info, NULL);
    seg_free(s->rows);
    seg_free(s->pixels);
    if (s->f)
        fclose(s->f);
    memset(s, 0, sizeof *s);
}

/* Open and check the signature. */
static int pngio_open(pngio_state *s, rt_error *err)
{
    s->f = fopen(s->path, "rb");
    if (!s->f) {
        rt_error_set(err, "cannot open %s: %s", s->path, strerror(errno));
        return -1;
    }
    uint8_t sig[8];
    size_t got = fread(sig, 1, 8, s->f);
    if (got < 8 || png_sig_cmp(sig, 0, 8) != 0) {
        rt_error_set(err, "%s: not a PNG file%s", s->path, got < 8 ? " (too short)" : "");
        return -1;
    }
    s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, pngio_on_error, pngio_on_warning);
    s->info = s->png ? png_create_info_struct(s->png) : NULL;
    if (!s->info) {
        rt_error_set(err, "%s: cannot start libpng", s->path);
        return -1;
    }
    return 0;
}

int rt_png_read(const char *path, int want_channels, rt_png *img, rt_error *err)
{
    SEG_ASSERT(want_channels == 0 || want_channels == 1 || want_channels == 3);
    memset(img, 0, sizeof *img);
    pngio_state s = {.path = path};
    if (pngio_open(&s, err)) {
        pngio_state_free(&s, 0);
        return -1;
    }
    if (pngio_read_pixels(&s)) {
        rt_error_set(err, "%s: %s PNG: %s", path, s.truncated ? "truncated" : "corrupt", s.msg);
        pngio_state_free(&s, 0);
        return -1;
    }
    int stored = png_get_channels(s.png, s.info); /* 1 or 3 after the transforms */
    img->width = (int)png_get_image_width(s.png, s.info);
    img->height = (int)png_get_image_height(s.png, s.info);
    img->bit_depth = png_get_bit_depth(s.png, s.info);
    img->channels = want_channels ? want_channels : stored == 3 ? 3 : 1;
    pngio_convert(&s, img, stored == 3 ? 3 : 1);
    pngio_state_free(&s, 0);
    return 0;
}

void rt_png_free(rt_png *img)
{
    seg_free(img->data);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------ writing */

static int pngio_host_little_endian(void)
{
    uint16_t one = 1;
    return *(uint8_t *)&one == 1;
}

/* The libpng part of a write; -1 with s->msg set on error. */
static int pngio_write_rows(pngio_state *s, int w, int h, int channels, int depth, const void *pixels)
{
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (setjmp(png_jmpbuf(s->png)))
        return -1;
    png_init_io(s->png, s->f);
    png_set_IHDR(s->png, s->info, (png_uint_32)w, (png_uint_32)h, depth, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    if (depth == 16 && pngio_host_little_endian())
        png_set_swap(s->png);
    size_t rb = (size_t)w * (size_t)channels * (size_t)(depth / 8);
    for (int y = 0; y < h; y++)
        png_write_row(s->png, (png_const_bytep)pixels + (size_t)y * rb);
    png_write_end(s->png, s->info);
    return 0;
}

static int pngio_write_check(const char *path, int w, int h, int channels, int depth, rt_error *err)
{
    if (w <= 0 || h <= 0 || channels < 1 || channels > 4 || (depth != 8 && depth != 16)) {
        rt_error_set(err, "%s: cannot write PNG: bad shape %dx%d, %d channels, %d bits", path, w,
                     h, channels, depth);
        return -1;
    }
    return 0;
}

int rt_png_write(const char *path, int width, int height, int channels, int bit_depth,
                 const void *pixels, rt_error *err)
{
    rt_atomic_file a;
    if (pngio_write_check(path, width, height, channels, bit_depth, err) ||
        rt_atomic_file_open(&a, path, "PNG", err))
        return -1;
    pngio_state s = {.path = path, .f = a.f}; /* a's stream: closed by a, not by s */
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, pngio_on_error, pngio_on_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    int bad = !s.info || pngio_write_rows(&s, width, height, channels, bit_depth, pixels);
    if (bad)
        rt_error_set(err, "%s: cannot write PNG: %s", path, s.info ? s.msg : "cannot start libpng");
    s.f = NULL;
    pngio_state_free(&s, 1);
    if (bad) {
        rt_atomic_file_abort(&a);
        return -1;
    }
    return rt_atomic_file_commit(&a);
}
