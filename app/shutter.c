/* shutter.c - see shutter.h. */
#include "shutter.h"

void app_shutter_init(app_shutter *sh, double threshold, double hold_s)
{
    sh->threshold = threshold;
    sh->hold_s = hold_s;
    sh->cooldown_s = 2.0;
    sh->above_since = -1;
    sh->last_shot = -1e9;
    sh->armed = 1;
}

int app_shutter_update(app_shutter *sh, double t_s, float score, double *progress)
{
    double p = 0;
    int shoot = 0;
    if (score < sh->threshold) { /* also no face (negative) */
        sh->above_since = -1;
        sh->armed = 1;
    } else if (sh->armed && t_s - sh->last_shot >= sh->cooldown_s) {
        if (sh->above_since < 0)
            sh->above_since = t_s;
        p = sh->hold_s > 0 ? (t_s - sh->above_since) / sh->hold_s : 1;
        if (p >= 1) {
            shoot = 1;
            p = 1;
            sh->armed = 0;
            sh->last_shot = t_s;
            sh->above_since = -1;
        }
    }
    if (progress)
        *progress = p;
    return shoot;
}
