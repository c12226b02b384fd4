/* face_track.c - greedy IoU association and EMA smoothing (face_track.h). */
#include "face_track.h"

#include <math.h>
#include <string.h>

void face_tracker_init(face_tracker *tr, int max_missed, float box_alpha)
{
    memset(tr, 0, sizeof *tr);
    tr->next_id = 1;
    tr->max_missed = max_missed < 0 ? 0 : max_missed;
    tr->iou_min = 0.3f;
    tr->box_alpha = box_alpha > 0 && box_alpha <= 1 ? box_alpha : 1;
}

void face_tracker_reset(face_tracker *tr) { tr->n = 0; }

float face_box_iou(const face_box *a, const face_box *b)
{
    float ix = fminf(a->x + a->w, b->x + b->w) - fmaxf(a->x, b->x);
    float iy = fminf(a->y + a->h, b->y + b->h) - fmaxf(a->y, b->y);
    if (ix <= 0 || iy <= 0)
        return 0;
    float i = ix * iy, u = a->w * a->h + b->w * b->h - i;
    return u > 0 ? i / u : 0;
}

void face_tracker_update(face_tracker *tr, const face_box *dets, int n)
{
    if (n < 0 || !dets)
        n = 0;
    if (n > FACE_MAX_TRACKS)
        n = FACE_MAX_TRACKS;
    int det_track[FACE_MAX_TRACKS];
    for (int j = 0; j < n; j++)
        det_track[j] = -1;
    for (int i = 0; i < tr->n; i++)
        tr->t[i].det = -1;
    /* greedy: repeatedly take the best remaining (track, detection) pair */
    for (;;) {
        float best = tr->iou_min;
        int bi = -1, bj = -1;
        for (int i = 0; i < tr->n; i++) {
            if (tr->t[i].det >= 0)
                continue;
            for (int j = 0; j < n; j++) {
                if (det_track[j] >= 0)
                    continue;
                float v = face_box_iou(&tr->t[i].box, &dets[j]);
                if (v >= best) {
                    best = v;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0)
            break;
        tr->t[bi].det = bj;
        det_track[bj] = bi;
    }
    float a = tr->box_alpha;
    int m = 0;
    for (int i = 0; i < tr->n; i++) {
        face_track t = tr->t[i];
        if (t.det >= 0) {
            const face_box *d = &dets[t.det];
            /* smooth the centre and size, not the corners, so a growing box stays centred */
            float cx = t.box.x + t.box.w / 2, cy = t.box.y + t.box.h / 2;
            float dcx = d->x + d->w / 2, dcy = d->y + d->h / 2;
            cx += a * (dcx - cx);
            cy += a * (dcy - cy);
            t.box.w += a * (d->w - t.box.w);
            t.box.h += a * (d->h - t.box.h);
            t.box.x = cx - t.box.w / 2;
            t.box.y = cy - t.box.h / 2;
            t.missed = 0;
            t.hits++;
        } else if (++t.missed > tr->max_missed) {
            continue;
        }
        tr->t[m++] = t;
    }
    tr->n = m;
    for (int j = 0; j < n && tr->n < FACE_MAX_TRACKS; j++) {
        if (det_track[j] >= 0)
            continue;
        face_track *t = &tr->t[tr->n++];
        memset(t, 0, sizeof *t);
        t->id = tr->next_id++;
        t->box = dets[j];
        t->hits = 1;
        t->score = t->smoothed = -1;
        t->det = j;
    }
}

void face_track_score(face_track *t, float score, double t_s, float tau_s)
{
    if (t->score < 0 || t->smoothed < 0 || tau_s <= 0 || !isfinite(t_s)) {
        t->smoothed = score;
    } else {
        double dt = t_s - t->t_score;
        if (!(dt > 0) || dt > 10)
            dt = dt > 10 ? 10 : 1.0 / 30; /* clocks that stall or jump */
        float alpha = (float)(1 - exp(-dt / tau_s));
        t->smoothed += alpha * (score - t->smoothed);
    }
    t->score = score;
    t->t_score = t_s;
}
