/* test_sha256.c — SHA-256 against FIPS 180-2's examples and HMAC-SHA-256
 * against RFC 4231's test cases 1, 2, 3, 4, 6 and 7 (short key, text key,
 * 20- and 25-byte keys over 50 bytes, and keys longer than a block, which are
 * hashed first). Also one message fed in uneven pieces, so the block
 * buffering is checked on its own.
 */
#include "runtime/runtime.h"
#include "tests/unit/test.h"

#include <string.h>

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check_sha(const char *msg, size_t n, const char *want)
{
    unsigned char d[RT_SHA256_LEN];
    char got[2 * RT_SHA256_LEN + 1];
    rt_sha256_once(msg, n, d);
    hex(d, sizeof d, got);
    CHECK_STR(got, want);
}

static void check_hmac(const void *key, size_t kn, const void *msg, size_t mn, const char *want)
{
    unsigned char d[RT_SHA256_LEN];
    char got[2 * RT_SHA256_LEN + 1];
    rt_hmac m;
    rt_hmac_init(&m, key, kn);
    rt_hmac_update(&m, msg, mn);
    rt_hmac_final(&m, d);
    hex(d, sizeof d, got);
    CHECK_STR(got, want);
}

TEST(sha256_known_answers)
{
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56: two blocks */
    check_sha(two, strlen(two),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* the same, fed 1, 2, 3, ... bytes at a time */
    rt_sha256 s;
    rt_sha256_init(&s);
    for (size_t at = 0, k = 1; at < strlen(two); at += k, k++)
        rt_sha256_update(&s, two + at, at + k <= strlen(two) ? k : strlen(two) - at);
    unsigned char d[RT_SHA256_LEN];
    char got[2 * RT_SHA256_LEN + 1];
    rt_sha256_final(&s, d);
    hex(d, sizeof d, got);
    CHECK_STR(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(hmac_sha256_rfc4231)
{
    unsigned char k1[20], k4[25], kbig[131], d50[50], c50[50];
    memset(k1, 0x0b, sizeof k1);
    for (int i = 0; i < 25; i++)
        k4[i] = (unsigned char)(i + 1);
    memset(kbig, 0xaa, sizeof kbig);
    memset(d50, 0xcd, sizeof d50);
    memset(c50, 0xdd, sizeof c50);
    check_hmac(k1, sizeof k1, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char k3[20];
    memset(k3, 0xaa, sizeof k3);
    check_hmac(k3, sizeof k3, c50, sizeof c50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    check_hmac(k4, sizeof k4, d50, sizeof d50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(kbig, sizeof kbig, m6, strlen(m6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the "
                     "HMAC algorithm.";
    check_hmac(kbig, sizeof kbig, m7, strlen(m7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    unsigned char a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    CHECK_INT(rt_digest_equal(a, a, 4), 1);
    CHECK_INT(rt_digest_equal(a, b, 4), 0);
}
