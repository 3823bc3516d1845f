/* store.c — named tensors that outlive a training stage.
 *
 * Parameters are inherited between stages by name: a stage starts from
 * whatever the store holds under its parameters' names (when the types
 * match) and puts its results back. The store also remembers which stage
 * last trained each parameter, for `freeze trained(STAGE)` bookkeeping and
 * checkpoint metadata. A linear table: a few hundred entries at most.
 */
#include "runtime.h"

#include <string.h>

typedef struct store_entry {
    char *name;
    char *trained_by; /* NULL = never trained (initial values) */
    rt_tensor *t;
} store_entry;

struct rt_store {
    store_entry *e;
    int n, cap;
};

rt_store *rt_store_new(void) { return seg_xcalloc(1, sizeof(rt_store)); }

void rt_store_free(rt_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        seg_free(s->e[i].name);
        seg_free(s->e[i].trained_by);
        rt_tensor_free(s->e[i].t);
    }
    seg_free(s->e);
    seg_free(s);
}

int rt_store_count(const rt_store *s) { return s->n; }
const char *rt_store_name(const rt_store *s, int i) { return s->e[i].name; }

static store_entry *store_find(const rt_store *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].name, name) == 0)
            return &s->e[i];
    return NULL;
}

rt_tensor *rt_store_get(const rt_store *s, const char *name)
{
    store_entry *e = store_find(s, name);
    return e ? e->t : NULL;
}

const char *rt_store_trained_by(const rt_store *s, const char *name)
{
    store_entry *e = store_find(s, name);
    return e ? e->trained_by : NULL;
}

void rt_store_put(rt_store *s, const char *name, const rt_tensor *t, const char *trained_by)
{
    store_entry *e = store_find(s, name);
    if (!e) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->e = seg_xrealloc(s->e, (size_t)s->cap * sizeof *s->e);
        }
        e = &s->e[s->n++];
        memset(e, 0, sizeof *e);
        e->name = seg_xstrdup(name);
    }
    if (!e->t || !rt_type_equal(&e->t->type, &t->type)) {
        rt_tensor_free(e->t);
        e->t = rt_tensor_new(&t->type);
    }
    memcpy(e->t->data, t->data, (size_t)rt_type_numel(&t->type) * rt_dtype_size(t->type.dtype));
    if (trained_by) {
        seg_free(e->trained_by);
        e->trained_by = seg_xstrdup(trained_by);
    }
}

void rt_store_from_interp(rt_store *s, rt_interp *it, const rt_program *p)
{
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
            rt_store_put(s, v->name, rt_interp_value_at(it, i), NULL);
    }
}

int rt_store_to_interp(const rt_store *s, rt_interp *it, const rt_program *p)
{
    int loaded = 0;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER)
            continue;
        rt_tensor *have = rt_store_get(s, v->name);
        rt_tensor *dst = rt_interp_value_at(it, i);
        if (!have || !rt_type_equal(&have->type, &dst->type))
            continue;
        memcpy(dst->data, have->data,
               (size_t)rt_type_numel(&have->type) * rt_dtype_size(have->type.dtype));
        loaded++;
    }
    return loaded;
}
