/* names.c — hierarchical parameter names.
 *
 * A parameter's name is the path of scopes and block calls that lead to
 * the op owning it, then the op's segment, then the parameter:
 *     level.2.encoder.conv0.weight
 * The evaluator keeps a stack of naming levels; each level has
 *   - a path: the dotted prefix its ops and calls get, and
 *   - a key: the namespace of its counters.
 * Counters (a map owned by the state) count per (key, op kind) to give
 * conv0, conv1, ... and per (key, block name) to give encoder, encoder_1.
 *
 * Scopes use their path as key, so entering `scope level[1]` twice keeps
 * counting (no two ops ever get the same name by accident). Every block
 * call gets a fresh key (its path plus how many times that path was
 * entered), so its ops count from conv0. That makes explicit names mean
 * sharing: two calls `encoder(a, name = "enc")`, `encoder(b, name = "enc")`
 * produce the same parameter names, and ir_add_param shares parameters of
 * the same name and type. Automatic names never repeat, so nothing is
 * shared unless a user asks for it.
 */
#include "sema_internal.h"

static const char *join(sema_state *st, const char *a, const char *b)
{
    return a[0] ? seg_arena_printf(st->arena, "%s.%s", a, b) : b;
}

const char *sema_names_join(sema_state *st, const char *base, const char *leaf)
{
    return join(st, base, leaf);
}

static void level_push(sema_state *st, const char *path, const char *key)
{
    if (st->n_levels == st->cap_levels) {
        st->cap_levels = st->cap_levels ? 2 * st->cap_levels : 16;
        st->levels = seg_xrealloc(st->levels, (size_t)st->cap_levels * sizeof *st->levels);
    }
    st->levels[st->n_levels++] = (sema_name_level){path, key};
}

static const sema_name_level *top(const sema_state *st)
{
    SEG_ASSERT(st->n_levels > 0);
    return &st->levels[st->n_levels - 1];
}

/* The next value of counter (key, what). */
static int64_t next_count(sema_state *st, const char *key, const char *what)
{
    const char *k = seg_arena_printf(st->arena, "%s\x1f%s", key, what);
    return (*sema_map_put(&st->counters, k, 0))++;
}

void sema_names_push_scope(sema_state *st, const char *segment)
{
    const sema_name_level *t = top(st);
    level_push(st, join(st, t->path, segment), join(st, t->key, segment));
}

void sema_names_push_call(sema_state *st, const char *block, const char *explicit_name)
{
    const sema_name_level *t = top(st);
    const char *seg = explicit_name;
    if (!seg) {
        int64_t n = next_count(st, t->key, seg_arena_printf(st->arena, "call:%s", block));
        seg = n ? seg_arena_printf(st->arena, "%s_%lld", block, (long long)n) : block;
    }
    const char *path = join(st, t->path, seg);
    int64_t entered = next_count(st, t->key, seg_arena_printf(st->arena, "enter:%s", seg));
    const char *key = seg_arena_printf(st->arena, "%s#%lld", join(st, t->key, seg),
                                       (long long)entered);
    level_push(st, path, key);
}

void sema_names_pop(sema_state *st)
{
    SEG_ASSERT(st->n_levels > 1);
    st->n_levels--;
}

const char *sema_names_op(sema_state *st, const char *kind, const char *explicit_name)
{
    const sema_name_level *t = top(st);
    if (explicit_name)
        return join(st, t->path, explicit_name);
    int64_t n = next_count(st, t->key, kind);
    return join(st, t->path, seg_arena_printf(st->arena, "%s%lld", kind, (long long)n));
}
