/* score_output.h - smile-score's outputs: the CSV and JSON Lines rows, and
 * output files that are written as they go to FILE.partial and renamed to
 * FILE when the run ends (normally or on SIGINT/SIGTERM), so FILE is never
 * half-written yet an interrupted run keeps what it scored. */
#ifndef SCORE_OUTPUT_H
#define SCORE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#define SO_CSV_HEADER "source,frame,time_s,face,x,y,w,h,score,smoothed"

typedef struct {
    FILE *fp;
    int is_stdout;
    char *path, *partial;
} so_file;

/* path "-" is stdout. Returns 0, or -1 with err set. */
int so_open(so_file *f, const char *path, char *err, size_t errlen);
/* Flushes; for a file, fsyncs and renames FILE.partial to FILE. Returns 0 or -1. */
int so_finish(so_file *f, char *err, size_t errlen);

/* One row. face < 0 means "no face in this frame": box and scores empty. */
typedef struct {
    const char *source;
    int64_t frame;
    double time_s;
    int face;
    float x, y, w, h;
    float score, smoothed;
} so_row;

void so_csv_header(FILE *fp);
void so_csv_row(FILE *fp, const so_row *r);
void so_json_row(FILE *fp, const so_row *r);

/* Field escaping, exposed for tests. */
void so_csv_field(FILE *fp, const char *s);
void so_json_string(FILE *fp, const char *s);

#endif /* SCORE_OUTPUT_H */
