/* sha256.c — SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the
 * JIT cache's entry authentication (jit.c). Small and dependency-free on
 * purpose: segc links no crypto library, and this is the only place that
 * needs one.
 *
 * The hash is the textbook one: 64-byte blocks, a 64-round compression
 * over eight 32-bit words, the message length in bits appended
 * big-endian after a 0x80 byte and zero padding. HMAC hashes a key longer
 * than a block first, pads it to a block, and computes
 * H((K ^ opad) || H((K ^ ipad) || message)). The unit tests check both
 * against FIPS 180-2's and RFC 4231's known answers. Speed is not the
 * point: a cache entry is a few hundred kilobytes at most.
 */
#include "runtime/runtime.h"

#include <string.h>

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* The message schedule: 16 big-endian words of the block, 48 derived. */
static void sha_schedule(const unsigned char *p, uint32_t w[64])
{
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
}

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], v[8];
    sha_schedule(p, w);
    memcpy(v, h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + sha_k[i] + w[i];
        uint32_t s0 = ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + s0 + maj;
    }
    for (int i = 0; i < 8; i++)
        h[i] += v[i];
}

void rt_sha256_init(rt_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->fill = 0;
}

void rt_sha256_update(rt_sha256 *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->bytes += n;
    while (n > 0) {
        size_t take = sizeof s->buf - s->fill < n ? sizeof s->buf - s->fill : n;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
        if (s->fill == sizeof s->buf) {
            sha_block(s->h, s->buf);
            s->fill = 0;
        }
    }
}

void rt_sha256_final(rt_sha256 *s, unsigned char out[RT_SHA256_LEN])
{
    uint64_t bits = s->bytes * 8;
    unsigned char pad[72] = {0x80};
    size_t n = (s->fill < 56 ? 56 : 120) - s->fill; /* to 8 bytes short of a block */
    for (int i = 0; i < 8; i++)
        pad[n + i] = (unsigned char)(bits >> (56 - 8 * i));
    rt_sha256_update(s, pad, n + 8);
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 4; b++)
            out[4 * i + b] = (unsigned char)(s->h[i] >> (24 - 8 * b));
}

void rt_sha256_once(const void *data, size_t n, unsigned char out[RT_SHA256_LEN])
{
    rt_sha256 s;
    rt_sha256_init(&s);
    rt_sha256_update(&s, data, n);
    rt_sha256_final(&s, out);
}

/* ------------------------------------------------------------------ HMAC */

/* The key as one block: hashed first when longer than a block. */
static void hmac_block_key(const void *key, size_t klen, unsigned char k[64])
{
    memset(k, 0, 64);
    if (klen > 64)
        rt_sha256_once(key, klen, k);
    else
        memcpy(k, key, klen);
}

void rt_hmac_init(rt_hmac *m, const void *key, size_t klen)
{
    unsigned char k[64], pad[64];
    hmac_block_key(key, klen, k);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    rt_sha256_init(&m->inner);
    rt_sha256_update(&m->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    rt_sha256_init(&m->outer);
    rt_sha256_update(&m->outer, pad, 64);
}

void rt_hmac_update(rt_hmac *m, const void *data, size_t n)
{
    rt_sha256_update(&m->inner, data, n);
}

void rt_hmac_final(rt_hmac *m, unsigned char out[RT_SHA256_LEN])
{
    unsigned char inner[RT_SHA256_LEN];
    rt_sha256_final(&m->inner, inner);
    rt_sha256_update(&m->outer, inner, sizeof inner);
    rt_sha256_final(&m->outer, out);
}

int rt_digest_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char d = 0; /* no early exit: the time says nothing of where they differ */
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}
