/* score_events.c - hysteresis event detector (see score_events.h). */
#include "score_events.h"

void sev_init(sev_detector *d, float on, float off) {
    d->on = on;
    d->off = off < 0 ? 0 : off > on ? on : off;
    d->active = 0;
    d->last_t = 0;
}

int sev_push(sev_detector *d, double t_s, float v, sev_event *done) {
    int ended = 0;
    if (d->active) {
        if (v < d->off) {
            d->cur.end_s = t_s;
            *done = d->cur;
            d->active = 0;
            ended = 1;
        } else if (v > d->cur.peak) {
            d->cur.peak = v;
            d->cur.peak_s = t_s;
        }
    } else if (v >= d->on) {
        d->active = 1;
        d->cur.start_s = t_s;
        d->cur.end_s = t_s;
        d->cur.peak = v;
        d->cur.peak_s = t_s;
    }
    d->last_t = t_s;
    return ended;
}

int sev_finish(sev_detector *d, double end_s, sev_event *done) {
    if (!d->active) return 0;
    d->cur.end_s = end_s;
    *done = d->cur;
    d->active = 0;
    return 1;
}
