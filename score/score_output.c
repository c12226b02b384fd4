/* score_output.c - CSV / JSON Lines rows and .partial-then-rename files. */
#include "score_output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int so_open(so_file *f, const char *path, char *err, size_t errlen) {
    memset(f, 0, sizeof(*f));
    if (strcmp(path, "-") == 0) {
        f->fp = stdout;
        f->is_stdout = 1;
        return 0;
    }
    size_t n = strlen(path);
    f->path = malloc(n + 1);
    f->partial = malloc(n + 9);
    if (!f->path || !f->partial) {
        free(f->path);
        free(f->partial);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    memcpy(f->path, path, n + 1);
    snprintf(f->partial, n + 9, "%s.partial", path);
    f->fp = fopen(f->partial, "w");
    if (!f->fp) {
        snprintf(err, errlen, "%s: cannot create %s: %s", path, f->partial, strerror(errno));
        free(f->path);
        free(f->partial);
        f->path = f->partial = NULL;
        return -1;
    }
    return 0;
}

int so_finish(so_file *f, char *err, size_t errlen) {
    if (!f->fp) return 0;
    int rc = 0;
    if (f->is_stdout) {
        if (fflush(stdout) != 0) {
            snprintf(err, errlen, "stdout: %s", strerror(errno));
            rc = -1;
        }
        f->fp = NULL;
        return rc;
    }
    if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", f->partial, strerror(errno));
        rc = -1;
    }
    if (fclose(f->fp) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: write failed: %s", f->partial, strerror(errno));
        rc = -1;
    }
    f->fp = NULL;
    /* A failed write still leaves FILE.partial for the user to inspect. */
    if (rc == 0 && rename(f->partial, f->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", f->partial, f->path, strerror(errno));
        rc = -1;
    }
    free(f->path);
    free(f->partial);
    f->path = f->partial = NULL;
    return rc;
}

void so_csv_field(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

void so_json_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", fp);
        else if (*p == '\t') fputs("\\t", fp);
        else if (*p == '\r') fputs("\\r", fp);
        else if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fputc(*p, fp);
    }
    fputc('"', fp);
}

void so_csv_header(FILE *fp) { fputs(SO_CSV_HEADER "\n", fp); }

void so_csv_row(FILE *fp, const so_row *r) {
    so_csv_field(fp, r->source);
    if (r->face < 0) {
        fprintf(fp, ",%lld,%.4f,-1,,,,,,\n", (long long)r->frame, r->time_s);
        return;
    }
    fprintf(fp, ",%lld,%.4f,%d,%.0f,%.0f,%.0f,%.0f,%.4f,%.4f\n", (long long)r->frame, r->time_s,
            r->face, r->x, r->y, r->w, r->h, r->score, r->smoothed);
}

void so_json_row(FILE *fp, const so_row *r) {
    fputs("{\"source\":", fp);
    so_json_string(fp, r->source);
    if (r->face < 0) {
        fprintf(fp,
                ",\"frame\":%lld,\"time_s\":%.4f,\"face\":-1,\"x\":null,\"y\":null,\"w\":null,"
                "\"h\":null,\"score\":null,\"smoothed\":null}\n",
                (long long)r->frame, r->time_s);
        return;
    }
    fprintf(fp,
            ",\"frame\":%lld,\"time_s\":%.4f,\"face\":%d,\"x\":%.0f,\"y\":%.0f,\"w\":%.0f,"
            "\"h\":%.0f,\"score\":%.4f,\"smoothed\":%.4f}\n",
            (long long)r->frame, r->time_s, r->face, r->x, r->y, r->w, r->h, r->score, r->smoothed);
}
