/* make_corpus.c — writes the seed corpora of the libFuzzer targets
 * (tests/fuzz/corpus/TARGET/) with segc's own writers, so the seeds are
 * valid files of each format: small NIfTI volumes (.nii and .nii.gz,
 * u8, i32, f32), PNGs (gray, gray+alpha, RGB, RGBA, 8 and 16 bits), a
 * safetensors checkpoint with metadata, and a JIT cache entry for the key
 * text fuzz_jit_cache.c loads. Run by `make fuzz-corpus`; the output is
 * committed. Usage: make_corpus DIR
 */
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void die(const rt_error *err)
{
    fprintf(stderr, "make_corpus: %s\n", err->msg);
    exit(1);
}

static void nifti_seed(const char *dir, const char *name, int nx, int ny, int nz, rt_dtype dt)
{
    float data[64];
    for (int i = 0; i < nx * ny * nz; i++)
        data[i] = (float)(i % 5);
    rt_volume v = {.nx = nx, .ny = ny, .nz = nz, .nt = 1, .spacing = {1, 1, 2}, .data = data};
    char path[600];
    snprintf(path, sizeof path, "%s/nifti/%s", dir, name);
    rt_error err = {{0}};
    if (rt_nifti_write(path, &v, dt, &err))
        die(&err);
}

static void png_seed(const char *dir, int w, int h, int channels, int depth)
{
    uint16_t px[4 * 4 * 4];
    for (int i = 0; i < w * h * channels; i++)
        px[i] = (uint16_t)(i * 37);
    uint8_t px8[4 * 4 * 4];
    for (int i = 0; i < w * h * channels; i++)
        px8[i] = (uint8_t)px[i];
    char path[600];
    snprintf(path, sizeof path, "%s/png/c%d_d%d.png", dir, channels, depth);
    rt_error err = {{0}};
    if (rt_png_write(path, w, h, channels, depth, depth == 8 ? (void *)px8 : (void *)px, &err))
        die(&err);
}

static void ckpt_seed(const char *dir)
{
    float w[6] = {1, 2, 3, 4, 5, 6};
    int32_t k[2] = {7, 8};
    int64_t step = 3, dw[2] = {2, 3}, dk[1] = {2}, none[1] = {0};
    rt_ckpt *c = rt_ckpt_new();
    rt_ckpt_add(c, "conv.weight", RT_CKPT_F32, 2, dw, w);
    rt_ckpt_add(c, "labels", RT_CKPT_I32, 1, dk, k);
    rt_ckpt_add(c, "optim.conv.weight.step", RT_CKPT_I64, 0, none, &step);
    rt_ckpt_set_meta(c, "stage", "grow1");
    rt_ckpt_set_meta(c, "epoch", "2");
    char path[600];
    snprintf(path, sizeof path, "%s/safetensors/small.safetensors", dir);
    rt_error err = {{0}};
    if (rt_ckpt_write(c, path, &err))
        die(&err);
    rt_ckpt_free(c);
}

/* The entry goes to a scratch cache and is copied into the corpus. */
static void cache_seed(const char *dir)
{
    static const char text[] = "fuzz: a cache entry\n"; /* fuzz_jit_cache.c's */
    char cache[600], path[4200], out[700];
    snprintf(cache, sizeof cache, "%s/jit_cache/.scratch", dir);
    setenv("SEGC_CACHE_DIR", cache, 1);
    rt_error err = {{0}};
    const char obj[] = "\177ELF not really an object, only bytes to carry";
    if (rt_jit_cache_store(text, obj, sizeof obj, &err) ||
        rt_jit_cache_path(text, path, sizeof path, &err))
        die(&err);
    snprintf(out, sizeof out, "%s/jit_cache/entry", dir);
    if (rename(path, out) != 0) {
        perror("make_corpus: rename");
        exit(1);
    }
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    static const char *const sub[] = {"nifti", "png", "safetensors", "jit_cache"};
    for (int i = 0; i < 4; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        mkdir(dir, 0755);
        mkdir(p, 0755);
    }
    nifti_seed(dir, "u8.nii", 4, 4, 4, RT_U8);
    nifti_seed(dir, "f32.nii.gz", 4, 4, 2, RT_F32);
    nifti_seed(dir, "i32_2d.nii", 4, 3, 1, RT_I32);
    png_seed(dir, 4, 4, 1, 8);
    png_seed(dir, 3, 2, 2, 8);
    png_seed(dir, 4, 3, 3, 8);
    png_seed(dir, 2, 2, 4, 16);
    png_seed(dir, 4, 4, 1, 16);
    ckpt_seed(dir);
    cache_seed(dir);
    return 0;
}
