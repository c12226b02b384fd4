/* optim_test_util.h - tiny assertion helpers shared by the optimizer tests. */
#ifndef OPTIM_TEST_UTIL_H
#define OPTIM_TEST_UTIL_H

#include <stdio.h>

static int test_failures;

#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            test_failures++;                                                 \
        }                                                                    \
    } while (0)

static int test_result(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d failure(s)\n", name, test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
