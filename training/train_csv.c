/* train_csv.c - CSV fields as smile-train writes and reads them (predictions,
 * audit suspects, --exclude lists). Apart from the rest of the CLI so the
 * fuzzer can take it alone. */
#include <stdio.h>
#include <string.h>

#include "train.h"

void tr_csv_field(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* Splits one CSV line in place into at most max fields (quotes honoured).
 * Returns the field count, or -1 for an unclosed quote. */
int tr_csv_split(char *line, char **field, int max)
{
    int n = 0;
    char *r = line;
    for (;;) {
        char *w = r, *start = r;
        if (*r == '"') {
            r++;
            for (;; r++) {
                if (!*r)
                    return -1;
                if (*r == '"' && r[1] != '"')
                    break;
                if (*r == '"')
                    r++;
                *w++ = *r;
            }
            r++; /* the closing quote */
            while (*r && *r != ',')
                r++;
            *w = 0;
        } else {
            while (*r && *r != ',')
                r++;
            w = r;
        }
        int more = *r == ',';
        *w = 0;
        if (n < max)
            field[n] = start;
        n++;
        if (!more)
            return n;
        r++;
    }
}
