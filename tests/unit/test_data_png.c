/* test_data_png.c — PNG round trips (8/16-bit gray, RGB, RGBA, palette),
 * channel conversion, errors on truncated, corrupt and non-PNG files
 * (naming the file, never crashing), and that a write leaves no temp file.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <dirent.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", test_tmpdir(), name);
}

static int png_ok(int rc, const rt_error *e)
{
    if (rc)
        test_fail_at(__FILE__, __LINE__, "unexpected error: %s", e->msg);
    return rc == 0;
}

TEST(data_png_gray8_roundtrip)
{
    long live = seg_alloc_live();
    char path[512];
    tmp_path(path, sizeof path, "gray8.png");
    uint8_t px[7 * 13];
    for (int i = 0; i < 7 * 13; i++)
        px[i] = (uint8_t)(i * 37 % 256);
    rt_error e = {{0}};
    rt_png img;
    if (!png_ok(rt_png_write(path, 13, 7, 1, 8, px, &e), &e) ||
        !png_ok(rt_png_read(path, 0, &img, &e), &e))
        return;
    CHECK_INT(img.width, 13);
    CHECK_INT(img.height, 7);
    CHECK_INT(img.channels, 1);
    CHECK_INT(img.bit_depth, 8);
    for (int i = 0; i < 7 * 13; i++)
        CHECK(img.data[i] == px[i]);
    rt_png_free(&img);
    if (png_ok(rt_png_read(path, 3, &img, &e), &e)) { /* gray replicated */
        CHECK_INT(img.channels, 3);
        CHECK(img.data[2 * 91 + 5] == px[5] && img.data[91 + 5] == px[5]);
        rt_png_free(&img);
    }
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_png_gray16_roundtrip)
{
    char path[512];
    tmp_path(path, sizeof path, "gray16.png");
    uint16_t px[5 * 9];
    for (int i = 0; i < 5 * 9; i++)
        px[i] = (uint16_t)(i * 1499 + (i == 44 ? 65535 - 44 * 1499 : 0));
    rt_error e = {{0}};
    rt_png img;
    if (!png_ok(rt_png_write(path, 9, 5, 1, 16, px, &e), &e) ||
        !png_ok(rt_png_read(path, 1, &img, &e), &e))
        return;
    CHECK_INT(img.bit_depth, 16);
    for (int i = 0; i < 5 * 9; i++)
        CHECK_INT((int)img.data[i], px[i]);
    CHECK_INT((int)img.data[44], 65535);
    rt_png_free(&img);
}

TEST(data_png_rgb_rgba)
{
    char path[512];
    tmp_path(path, sizeof path, "rgba.png");
    uint8_t px[2 * 3 * 4]; /* 3 wide, 2 high, RGBA */
    for (int i = 0; i < 6; i++) {
        px[4 * i] = (uint8_t)(10 * i), px[4 * i + 1] = (uint8_t)(100 + i);
        px[4 * i + 2] = 200, px[4 * i + 3] = (uint8_t)(i * 40); /* alpha is dropped */
    }
    rt_error e = {{0}};
    rt_png img;
    if (!png_ok(rt_png_write(path, 3, 2, 4, 8, px, &e), &e) ||
        !png_ok(rt_png_read(path, 0, &img, &e), &e))
        return;
    CHECK_INT(img.channels, 3);
    for (int i = 0; i < 6; i++) {
        CHECK(img.data[i] == px[4 * i]);          /* planar: R plane */
        CHECK(img.data[6 + i] == px[4 * i + 1]);  /* G plane */
        CHECK(img.data[12 + i] == 200);           /* B plane */
    }
    rt_png_free(&img);
    if (png_ok(rt_png_read(path, 1, &img, &e), &e)) {
        CHECK_INT(img.channels, 1);
        CHECK_NEAR(img.data[1], 0.2126 * 10 + 0.7152 * 101 + 0.0722 * 200, 1e-4);
        rt_png_free(&img);
    }
}

/* A 2x2 palette PNG written with libpng directly (rt_png_write has no palettes). */
static int write_palette_png(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        fclose(f);
        return -1;
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, 2, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[3] = {{0, 0, 0}, {255, 0, 0}, {10, 20, 30}};
    png_set_PLTE(p, info, pal, 3);
    png_write_info(p, info);
    png_byte r0[2] = {0, 1}, r1[2] = {2, 1};
    png_write_row(p, r0);
    png_write_row(p, r1);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    return fclose(f);
}

TEST(data_png_palette)
{
    char path[512];
    tmp_path(path, sizeof path, "palette.png");
    CHECK_INT(write_palette_png(path), 0);
    rt_error e = {{0}};
    rt_png img;
    if (!png_ok(rt_png_read(path, 0, &img, &e), &e))
        return;
    CHECK_INT(img.channels, 3);
    CHECK(img.data[1] == 255 && img.data[4 + 1] == 0);      /* (0,1): red */
    CHECK(img.data[2] == 10 && img.data[4 + 2] == 20 && img.data[8 + 2] == 30);
    rt_png_free(&img);
}

static long file_bytes(const char *path, uint8_t *buf, long cap)
{
    FILE *f = fopen(path, "rb");
    long n = f ? (long)fread(buf, 1, (size_t)cap, f) : -1;
    if (f)
        fclose(f);
    return n;
}

static void put_bytes(const char *path, const uint8_t *buf, long n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, (size_t)n, f);
        fclose(f);
    }
}

TEST(data_png_truncated_and_corrupt)
{
    long live = seg_alloc_live();
    char good[512], bad[512];
    tmp_path(good, sizeof good, "whole.png");
    tmp_path(bad, sizeof bad, "cut.png");
    uint8_t px[64 * 64], buf[1 << 16];
    for (int i = 0; i < 64 * 64; i++)
        px[i] = (uint8_t)((i * 7919) >> 3); /* poorly compressible */
    rt_error e = {{0}};
    rt_png img;
    if (!png_ok(rt_png_write(good, 64, 64, 1, 8, px, &e), &e))
        return;
    long n = file_bytes(good, buf, sizeof buf);
    CHECK(n > 200);
    long cuts[3] = {n / 2, 40, n - 8}; /* mid-IDAT, mid-header, missing IEND */
    for (int k = 0; k < 3; k++) {
        put_bytes(bad, buf, cuts[k]);
        CHECK_INT(rt_png_read(bad, 0, &img, &e), -1);
        CHECK(strstr(e.msg, bad) != NULL);
        CHECK(strstr(e.msg, "truncated PNG") != NULL);
    }
    buf[n / 2] ^= 0x55, buf[n / 2 + 1] ^= 0xff; /* corrupt IDAT bytes: a CRC or zlib error */
    put_bytes(bad, buf, n);
    CHECK_INT(rt_png_read(bad, 0, &img, &e), -1);
    CHECK(strstr(e.msg, "corrupt PNG") != NULL && strstr(e.msg, bad) != NULL);
    put_bytes(bad, (const uint8_t *)"hello, world", 12);
    CHECK_INT(rt_png_read(bad, 0, &img, &e), -1);
    CHECK(strstr(e.msg, "not a PNG file") != NULL);
    tmp_path(bad, sizeof bad, "missing.png");
    CHECK_INT(rt_png_read(bad, 0, &img, &e), -1);
    CHECK(strstr(e.msg, "cannot open") && strstr(e.msg, "missing.png"));
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_png_write_atomic)
{
    char dir[512], path[600];
    tmp_path(dir, sizeof dir, "pngdir");
    mkdir(dir, 0755); /* may exist from an earlier run */
    snprintf(path, sizeof path, "%s/a.png", dir);
    uint8_t px[4] = {1, 2, 3, 4};
    rt_error e = {{0}};
    CHECK_INT(rt_png_write(path, 2, 2, 1, 8, px, &e), 0);
    CHECK_INT(rt_png_write(path, 2, 2, 1, 8, px, &e), 0); /* over an existing file */
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *ent; d && (ent = readdir(d));)
        if (ent->d_name[0] != '.') {
            files++;
            CHECK(strstr(ent->d_name, ".tmp") == NULL);
        }
    if (d)
        closedir(d);
    CHECK_INT(files, 1);
    snprintf(path, sizeof path, "%s/no/such/dir/b.png", dir);
    CHECK_INT(rt_png_write(path, 2, 2, 1, 8, px, &e), -1);
    CHECK(strstr(e.msg, "cannot write") && strstr(e.msg, "b.png"));
    CHECK_INT(rt_png_write(path, 2, 2, 5, 8, px, &e), -1);
    CHECK(strstr(e.msg, "5 channels"));
}
