/* augment.c — random data augmentation of an assembled batch, in place.
 *
 * Geometric transforms (a flip per spatial axis, a rotation by k * 90
 * degrees in a plane whose two sides are equal, so the shape is kept) move
 * every map of an item the same way: each image channel, the label and the
 * distance map. They only permute voxels, so they work on 4-byte elements
 * through char pointers whatever the map's type. Intensity transforms
 * (scale, shift, Gaussian noise) touch the image only, all channels alike.
 *
 * Each decision reads its own counter slot, keyed by (seed, step, item),
 * so a batch augments the same way on every run and changing one
 * probability does not reshuffle the other decisions.
 */
#include "runtime/runtime.h"

#include <string.h>

enum { STREAM_AUG = 0x41550000, STREAM_AUG_NOISE = 0x414e0000 };

/* Counter slots per item. */
enum {
    SLOT_FLIP = 0, /* + axis */
    SLOT_ROT = 3, SLOT_ROT_PLANE, SLOT_ROT_K,
    SLOT_SCALE, SLOT_SCALE_V, SLOT_SHIFT, SLOT_SHIFT_V, SLOT_NOISE, SLOT_NOISE_V,
    SLOT_COUNT = 16
};

void rt_augment_opts_init(rt_augment_opts *o, uint64_t seed)
{
    *o = (rt_augment_opts){
        .seed = seed, .p_flip = 0.5f, .p_rot90 = 0.25f,
        .p_scale = 0.15f, .scale_lo = 0.75f, .scale_hi = 1.25f,
        .p_shift = 0.15f, .shift = 0.1f,
        .p_noise = 0.1f, .noise_max = 0.1f,
    };
}

/* One item of a batch: its maps and the per-item draw key. */
typedef struct aug_item {
    const rt_augment_opts *o;
    uint64_t step, item;
    int nsp;
    int64_t n[3];
    char **maps;     /* 4-byte-element maps moved by geometric transforms */
    int n_maps;
    float *image;    /* channels * numel floats, for intensity transforms */
    int64_t image_n;
} aug_item;

static double aug_u(const aug_item *it, int slot)
{
    return rt_rand_uniform01(it->o->seed, STREAM_AUG, it->step, it->item * SLOT_COUNT + (uint64_t)slot);
}

/* Reverse axis a of a [outer, n, inner] map of 4-byte elements. */
static void aug_flip_map(char *m, const int64_t n[3], int a, char *tmp)
{
    int64_t len = n[a], inner = 4, outer = 1;
    for (int i = 0; i < a; i++)
        outer *= n[i];
    for (int i = a + 1; i < 3; i++)
        inner *= n[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < len / 2; q++) {
            char *x = m + (o * len + q) * inner, *y = m + (o * len + len - 1 - q) * inner;
            memcpy(tmp, x, (size_t)inner);
            memcpy(x, y, (size_t)inner);
            memcpy(y, tmp, (size_t)inner);
        }
}

/* A quarter turn in plane (a, b), n[a] == n[b]: out[p] = in[p with
 * p_a -> n - 1 - p_b, p_b -> p_a]. tmp holds a copy of the map. */
static void aug_rot90_map(char *m, const int64_t n[3], int a, int b, char *tmp)
{
    int64_t numel = n[0] * n[1] * n[2];
    memcpy(tmp, m, (size_t)numel * 4);
    for (int64_t i = 0; i < numel; i++) {
        int64_t p[3] = {i / (n[1] * n[2]), (i / n[2]) % n[1], i % n[2]}, s[3];
        memcpy(s, p, sizeof s);
        s[a] = n[a] - 1 - p[b];
        s[b] = p[a];
        memcpy(m + i * 4, tmp + ((s[0] * n[1] + s[1]) * n[2] + s[2]) * 4, 4);
    }
}

static void aug_geometry(aug_item *it, char *tmp)
{
    for (int a = 0; a < it->nsp; a++)
        if (aug_u(it, SLOT_FLIP + a) < it->o->p_flip)
            for (int k = 0; k < it->n_maps; k++)
                aug_flip_map(it->maps[k], it->n, a, tmp);
    int planes[3][2], np = 0;
    for (int a = 0; a < it->nsp; a++)
        for (int b = a + 1; b < it->nsp; b++)
            if (it->n[a] == it->n[b])
                planes[np][0] = a, planes[np][1] = b, np++;
    if (np == 0 || aug_u(it, SLOT_ROT) >= it->o->p_rot90)
        return;
    int pl = (int)(aug_u(it, SLOT_ROT_PLANE) * np), turns = 1 + (int)(aug_u(it, SLOT_ROT_K) * 3);
    pl = pl < np ? pl : np - 1;
    turns = turns < 3 ? turns : 3;
    for (int t = 0; t < turns; t++)
        for (int k = 0; k < it->n_maps; k++)
            aug_rot90_map(it->maps[k], it->n, planes[pl][0], planes[pl][1], tmp);
}

static void aug_intensity(const aug_item *it)
{
    const rt_augment_opts *o = it->o;
    float scale = 1, shift = 0, sigma = 0;
    if (aug_u(it, SLOT_SCALE) < o->p_scale)
        scale = o->scale_lo + (o->scale_hi - o->scale_lo) * (float)aug_u(it, SLOT_SCALE_V);
    if (aug_u(it, SLOT_SHIFT) < o->p_shift)
        shift = o->shift * (2 * (float)aug_u(it, SLOT_SHIFT_V) - 1);
    if (aug_u(it, SLOT_NOISE) < o->p_noise)
        sigma = o->noise_max * (float)aug_u(it, SLOT_NOISE_V);
    for (int64_t i = 0; i < it->image_n; i++) {
        float v = it->image[i] * scale + shift;
        if (sigma > 0)
            v += sigma * rt_rand_normal(o->seed, STREAM_AUG_NOISE, it->step,
                                        it->item * (uint64_t)it->image_n + (uint64_t)i);
        it->image[i] = v;
    }
}

void rt_augment_batch(const rt_augment_opts *o, uint64_t step, rt_batch *b)
{
    int64_t m = b->size[0] * b->size[1] * b->size[2];
    char *tmp = seg_xcalloc((size_t)m, 4);
    char **maps = seg_xcalloc((size_t)b->channels + 2, sizeof *maps);
    for (int i = 0; i < b->n; i++) {
        aug_item it = {.o = o, .step = step, .item = (uint64_t)(b->first + i), .nsp = b->nsp,
                       .n = {b->size[0], b->size[1], b->size[2]},
                       .image = b->image + (int64_t)i * b->channels * m,
                       .image_n = b->channels * m, .maps = maps};
        for (int ch = 0; ch < b->channels; ch++)
            it.maps[it.n_maps++] = (char *)(it.image + ch * m);
        if (b->label)
            it.maps[it.n_maps++] = (char *)(b->label + i * m);
        if (b->dist)
            it.maps[it.n_maps++] = (char *)(b->dist + i * m);
        aug_geometry(&it, tmp);
        aug_intensity(&it);
    }
    seg_free(maps);
    seg_free(tmp);
}
