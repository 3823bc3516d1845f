/* batch.c — batch assembly: patches cut out of dataset cases into the
 * contiguous buffers a training step reads, image [B, C, size...] f32,
 * label [B, size...] i32 and, for distance-weighted losses, the distance
 * of each voxel to the label's foreground [B, size...] f32.
 *
 * Voxels of a patch that fall outside its case are padding: image 0, label
 * 0, and the distance of the nearest voxel inside the case (clamped
 * coordinates), so padding weighs like the case border next to it. The
 * distance map is computed on the whole case (rt_case_distance) before
 * cutting, so a patch edge does not pretend to be far from foreground.
 */
#include "runtime/runtime.h"

#include <string.h>

static int64_t bat_clamp(int64_t v, int64_t n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

/* Copy one patch (all channels, label, optional distance) into item i. */
static void bat_cut(rt_batch *b, int i, const rt_case *c, const rt_patch *p, const float *dist)
{
    int64_t m = b->size[0] * b->size[1] * b->size[2], n = rt_case_numel(c);
    float *img = b->image + (int64_t)i * b->channels * m;
    for (int64_t z = 0; z < b->size[0]; z++)
        for (int64_t y = 0; y < b->size[1]; y++)
            for (int64_t x = 0; x < b->size[2]; x++) {
                int64_t at = (z * b->size[1] + y) * b->size[2] + x;
                int64_t s[3] = {z + p->origin[0], y + p->origin[1], x + p->origin[2]};
                int in = 1;
                for (int a = 0; a < 3; a++)
                    in = in && s[a] >= 0 && s[a] < c->size[a];
                int64_t from = (s[0] * c->size[1] + s[1]) * c->size[2] + s[2];
                for (int ch = 0; ch < b->channels; ch++)
                    img[ch * m + at] = in ? c->image[ch * n + from] : 0;
                if (b->label)
                    b->label[i * m + at] = in ? c->label[from] : 0;
                if (dist)
                    b->dist[i * m + at] = dist[(bat_clamp(s[0], c->size[0]) * c->size[1] +
                                                bat_clamp(s[1], c->size[1])) * c->size[2] +
                                               bat_clamp(s[2], c->size[2])];
            }
}

static int bat_check(const rt_batch *b, const rt_case *c, rt_error *err)
{
    if (c->nsp != b->nsp || c->channels != b->channels) {
        rt_error_set(err, "%s: %dD case with %d channel(s), but the batch holds %dD images with %d",
                     c->source, c->nsp, c->channels, b->nsp, b->channels);
        return -1;
    }
    return 0;
}

int rt_batch_fill(rt_batch *b, const rt_dataset *ds, const rt_patch *p, rt_error *err)
{
    SEG_ASSERT(b->nsp == 3 || b->size[2] == 1);
    for (int i = 0; i < b->n; i++) {
        SEG_ASSERT(p[i].case_index >= 0 && p[i].case_index < ds->n);
        if (bat_check(b, &ds->cases[p[i].case_index], err))
            return -1;
    }
    for (int i = 0; i < b->n; i++) {
        const rt_case *c = &ds->cases[p[i].case_index];
        float *dist = NULL;
        if (b->dist) {
            dist = seg_xcalloc((size_t)rt_case_numel(c), sizeof *dist);
            rt_case_distance(c, dist);
        }
        bat_cut(b, i, c, &p[i], dist);
        seg_free(dist);
    }
    return 0;
}
