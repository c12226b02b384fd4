/* fuzz_csv_fields.c - libFuzzer target for smile-train's CSV fields.
 *
 * Predictions files, audit suspects and --exclude lists are CSV that users
 * edit by hand. Two properties:
 *  - any line splits without reading or writing outside it, into fields that
 *    lie inside it, or fails with -1 (an unclosed quote);
 *  - fields written with tr_csv_field and joined by commas split back into
 *    the same fields. The input's 0x1f bytes separate those fields; line
 *    breaks are left out, since the readers take a line at a time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FIELDS = 8 };

static void check_raw(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return;
    memcpy(line, data, size);
    line[size] = 0;
    char *field[MAX_FIELDS];
    int n = tr_csv_split(line, field, MAX_FIELDS);
    if (n == 0 || n < -1)
        __builtin_trap(); /* even an empty line is one empty field */
    for (int i = 0; i < n && i < MAX_FIELDS; i++)
        if (field[i] < line || field[i] > line + size || field[i] + strlen(field[i]) > line + size)
            __builtin_trap();
    free(line);
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    char *want[MAX_FIELDS];
    int nf = 0;
    char *copy = malloc(size + 1), *w = copy;
    if (!copy)
        return;
    want[nf++] = w;
    for (size_t i = 0; i < size; i++) {
        char c = (char)data[i];
        if (c == 0x1f && nf < MAX_FIELDS) {
            *w++ = 0;
            want[nf++] = w;
        } else if (c != 0 && c != '\n' && c != '\r') {
            *w++ = c;
        }
    }
    *w = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp) {
        free(copy);
        return;
    }
    for (int i = 0; i < nf; i++) {
        if (i)
            fputc(',', fp);
        tr_csv_field(fp, want[i]);
    }
    fclose(fp);
    char *field[MAX_FIELDS];
    int n = tr_csv_split(text, field, MAX_FIELDS);
    if (n != nf)
        __builtin_trap();
    for (int i = 0; i < n; i++)
        if (strcmp(field[i], want[i]) != 0)
            __builtin_trap();
    free(text);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_raw(data, size);
    check_round_trip(data, size);
    return 0;
}
