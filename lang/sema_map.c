/* sema_map.c — a string-keyed hash map with int64 values.
 *
 * Semantic analysis keeps many small name tables: the variables of a call
 * frame, the program's globals, the per-path op counters of parameter
 * naming, the set of diagnostics already printed. All are this map: open
 * addressing with linear probing over a power-of-two table, FNV-1a
 * hashes, grown at 50 % load. No deletion is needed anywhere.
 */
#include "sema_internal.h"

#include <string.h>

void sema_map_init(sema_map *m, int own_keys)
{
    memset(m, 0, sizeof *m);
    m->own_keys = own_keys;
}

void sema_map_free(sema_map *m)
{
    if (m->own_keys)
        for (size_t i = 0; i < m->cap; i++)
            seg_free((void *)m->keys[i]);
    seg_free(m->keys);
    seg_free(m->vals);
    memset(m, 0, sizeof *m);
}

uint32_t sema_hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static size_t map_hash(const char *s)
{
    return sema_hash_str(s);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t map_slot(const sema_map *m, const char *key)
{
    size_t mask = m->cap - 1, i = map_hash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

static void map_grow(sema_map *m)
{
    sema_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->keys = seg_xcalloc(m->cap, sizeof *m->keys);
    m->vals = seg_xcalloc(m->cap, sizeof *m->vals);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i])
            continue;
        size_t j = map_slot(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
    }
    seg_free(old.keys);
    seg_free(old.vals);
}

int64_t *sema_map_get(const sema_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = map_slot(m, key);
    return m->keys[i] ? &m->vals[i] : NULL;
}

int64_t *sema_map_put(sema_map *m, const char *key, int64_t init)
{
    if (2 * (m->len + 1) > m->cap)
        map_grow(m);
    size_t i = map_slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = m->own_keys ? seg_xstrdup(key) : key;
        m->vals[i] = init;
        m->len++;
    }
    return &m->vals[i];
}
