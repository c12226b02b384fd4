/* nn_rng.c - xoshiro256** seeded by splitmix64 (Blackman & Vigna). */
#include <math.h>

#include "nn.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nn_rng_next(nn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float nn_rng_uniform(nn_rng *rng)
{
    /* 24 high bits: exactly representable, never 1.0 */
    return (float)(nn_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

float nn_rng_normal(nn_rng *rng)
{
    /* Box-Muller; u1 in (0, 1] keeps log finite. */
    float u1 = 1.0f - nn_rng_uniform(rng);
    float u2 = nn_rng_uniform(rng);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

/* Gamma(k, 1): Marsaglia and Tsang (2000); k < 1 as Gamma(k + 1) * U^(1/k). */
static float rng_gamma(nn_rng *rng, float k)
{
    if (k < 1.0f) {
        float u = 1.0f - nn_rng_uniform(rng); /* (0, 1] */
        return rng_gamma(rng, k + 1.0f) * powf(u, 1.0f / k);
    }
    float d = k - 1.0f / 3.0f, c = 1.0f / sqrtf(9.0f * d);
    for (;;) {
        float x, v;
        do {
            x = nn_rng_normal(rng);
            v = 1.0f + c * x;
        } while (v <= 0.0f);
        v = v * v * v;
        float u = nn_rng_uniform(rng);
        if (u < 1.0f - 0.0331f * x * x * x * x || logf(u) < 0.5f * x * x + d * (1.0f - v + logf(v)))
            return d * v;
    }
}

float nn_rng_beta(nn_rng *rng, float a, float b)
{
    if (!(a > 0.0f && b > 0.0f))
        return 0.5f;
    float x = rng_gamma(rng, a), y = rng_gamma(rng, b);
    return x + y > 0.0f ? x / (x + y) : 0.5f; /* both underflowed: tiny a and b */
}

uint32_t nn_rng_below(nn_rng *rng, uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t m = (uint64_t)(uint32_t)(nn_rng_next(rng) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (low < thresh) {
            m = (uint64_t)(uint32_t)(nn_rng_next(rng) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void nn_rng_shuffle(nn_rng *rng, int *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = nn_rng_below(rng, (uint32_t)i);
        int t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
