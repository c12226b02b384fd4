/* ds_internal.h - helpers shared by the dataset sources (not installed). */
#ifndef DS_INTERNAL_H
#define DS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "datasets.h"

void ds_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ds_status ds_read_whole(const char *path, uint8_t **buf, size_t *size, char *err, size_t errlen);

#endif
