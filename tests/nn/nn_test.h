/* nn_test.h - tiny assertion helpers shared by the nn tests. */
#ifndef NN_TEST_H
#define NN_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int nn_test_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            nn_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* fatal: later checks make no sense without this */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int nn_test_done(const char *name)
{
    if (nn_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, nn_test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
