/* pngcheck.c — what tests/cli/report.sh needs to know about a screenshot:
 * `pngcheck FILE` prints "WIDTH HEIGHT COLOURS NONWHITE_PERCENT", where
 * COLOURS counts the distinct 8-bit RGB colours and NONWHITE_PERCENT is
 * the share of pixels that are not near white (any channel below 240).
 * A blank page is one colour and 0 %; a rendered report has hundreds of
 * colours (text antialiasing, charts, pictures). Reads through the
 * runtime's libpng reader (rt_png_read), so 16-bit and alpha PNGs work.
 * Exit 0, or 1 with a message when the file is not a readable PNG.
 */
#include "runtime/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int channel8(float v, int bit_depth)
{
    float x = bit_depth == 16 ? v / 257.f : v;
    return (int)lrintf(fminf(fmaxf(x, 0), 255));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pngcheck FILE.png\n");
        return 1;
    }
    rt_png img;
    rt_error err = {{0}};
    if (rt_png_read(argv[1], 3, &img, &err)) {
        fprintf(stderr, "pngcheck: %s\n", err.msg);
        return 1;
    }
    int64_t plane = (int64_t)img.width * img.height, nonwhite = 0, colours = 0;
    unsigned char *seen = calloc((size_t)1 << 21, 1); /* one bit per 24-bit colour */
    for (int64_t i = 0; seen && i < plane; i++) {
        int r = channel8(img.data[i], img.bit_depth), g = channel8(img.data[plane + i], img.bit_depth),
            b = channel8(img.data[2 * plane + i], img.bit_depth);
        unsigned key = (unsigned)r << 16 | (unsigned)g << 8 | (unsigned)b;
        if (!(seen[key >> 3] & (1u << (key & 7))))
            seen[key >> 3] |= (unsigned char)(1u << (key & 7)), colours++;
        nonwhite += r < 240 || g < 240 || b < 240;
    }
    printf("%d %d %lld %.1f\n", img.width, img.height, (long long)colours,
           plane ? 100.0 * (double)nonwhite / (double)plane : 0.0);
    free(seen);
    rt_png_free(&img);
    return 0;
}
