/* fuzz_safetensors.c — libFuzzer target for the checkpoint reader
 * (runtime/ckpt.c, safetensors). A file that is read is then used the way
 * segc uses one: every entry looked up by name, loaded into a tensor of
 * its own type when it has one, the metadata read.
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* An entry's type as a runtime type, when there is one. */
static int entry_type(const rt_ckpt_entry *e, rt_type *t)
{
    if (e->dtype != RT_CKPT_F32 && e->dtype != RT_CKPT_I32)
        return -1;
    t->dtype = e->dtype == RT_CKPT_F32 ? RT_F32 : RT_I32;
    t->rank = e->rank;
    memcpy(t->dim, e->dim, sizeof t->dim);
    return rt_type_size(t, NULL, NULL);
}

static void use(const rt_ckpt *c)
{
    for (int i = 0; i < rt_ckpt_meta_count(c); i++)
        (void)rt_ckpt_meta(c, rt_ckpt_meta_key(c, i));
    for (int i = 0; i < rt_ckpt_count(c); i++) {
        const rt_ckpt_entry *e = rt_ckpt_at(c, i);
        if (rt_ckpt_find(c, e->name) != e)
            abort(); /* names are unique after a successful read */
        rt_type t;
        if (entry_type(e, &t) == 0) {
            rt_tensor *x = rt_tensor_new(&t);
            rt_error err = {{0}};
            if (rt_ckpt_load(c, e->name, x, &err))
                abort(); /* its own type always loads */
            rt_tensor_free(x);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[512];
    fuzz_write("in.safetensors", data, n, path, sizeof path);
    rt_error err = {{0}};
    rt_ckpt *c = rt_ckpt_read(path, &err);
    if (c) {
        use(c);
        rt_ckpt_free(c);
    }
    unlink(path);
    return 0;
}
