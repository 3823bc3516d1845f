/* fuzz_png.c — libFuzzer target for the PNG reader (runtime/data/png.c),
 * asked for the channels as stored, as gray and as RGB (the last input
 * byte picks which, so one corpus reaches all three conversions).
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const int wants[3] = {0, 1, 3};
    char path[512];
    fuzz_write("in.png", data, n, path, sizeof path);
    rt_png img;
    rt_error err = {{0}};
    if (rt_png_read(path, wants[n ? data[n - 1] % 3 : 0], &img, &err) == 0)
        rt_png_free(&img);
    unlink(path);
    return 0;
}
