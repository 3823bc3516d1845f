/* ckptedit.c — makes the damaged checkpoints tests/cli/resume.sh feeds to
 * `segc train --resume`: `ckptedit FILE EDIT...` rewrites FILE in place
 * through the runtime's own reader and writer (so the result is a valid
 * safetensors file, wrong only in what the edit says). Edits:
 *   meta KEY VALUE   set a metadata key
 *   unmeta KEY       remove a metadata key
 *   drop NAME        remove a tensor
 *   i32 NAME         the tensor's bytes relabelled as int32 (same shape)
 * Exit 0, or 1 with a message.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

/* What to do with one tensor: keep, drop, or relabel as I32. */
static int edit_of(int argc, char **argv, const char *name, int *i32)
{
    *i32 = 0;
    for (int i = 2; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "drop") && !strcmp(argv[i + 1], name))
            return -1;
        if (!strcmp(argv[i], "i32") && !strcmp(argv[i + 1], name))
            *i32 = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ckptedit FILE (meta KEY VALUE | unmeta KEY | drop NAME | i32 NAME)...\n");
        return 1;
    }
    rt_error err = {{0}};
    rt_ckpt *in = rt_ckpt_read(argv[1], &err);
    if (!in) {
        fprintf(stderr, "ckptedit: %s\n", err.msg);
        return 1;
    }
    rt_ckpt *out = rt_ckpt_new();
    for (int i = 0; i < rt_ckpt_meta_count(in); i++) {
        const char *k = rt_ckpt_meta_key(in, i);
        int gone = 0;
        for (int j = 2; j + 1 < argc; j++)
            gone |= !strcmp(argv[j], "unmeta") && !strcmp(argv[j + 1], k);
        if (!gone)
            rt_ckpt_set_meta(out, k, rt_ckpt_meta(in, k));
    }
    for (int i = 0; i < rt_ckpt_count(in); i++) {
        const rt_ckpt_entry *e = rt_ckpt_at(in, i);
        int i32;
        if (edit_of(argc, argv, e->name, &i32))
            continue;
        rt_ckpt_dtype dt = i32 && e->dtype == RT_CKPT_F32 ? RT_CKPT_I32 : e->dtype;
        rt_ckpt_add(out, e->name, dt, e->rank, e->dim, e->data);
    }
    for (int i = 2; i + 2 < argc; i++)
        if (!strcmp(argv[i], "meta"))
            rt_ckpt_set_meta(out, argv[i + 1], argv[i + 2]);
    int rc = rt_ckpt_write(out, argv[1], &err);
    if (rc)
        fprintf(stderr, "ckptedit: %s\n", err.msg);
    rt_ckpt_free(out);
    rt_ckpt_free(in);
    return rc ? 1 : 0;
}
