/* nn_test.h - tiny assertion helpers shared by the nn tests. */
#ifndef NN_TEST_H
#define NN_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include "../test_check.h"

/* fatal: later checks make no sense without this */
static int nn_test_done(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
