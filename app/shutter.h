/* shutter.h - the smile shutter: a shot when the main face's smoothed score
 * stays at or above a threshold for hold_s seconds. After a shot the score
 * must drop below the threshold (and cooldown_s pass) before the next one,
 * so one long smile gives one photo. */
#ifndef APP_SHUTTER_H
#define APP_SHUTTER_H

typedef struct {
    double threshold, hold_s, cooldown_s;
    double above_since; /* < 0: not above */
    double last_shot;
    int armed;
} app_shutter;

void app_shutter_init(app_shutter *sh, double threshold, double hold_s);
/* score < 0: no face. Returns 1 when a shot is due at time t_s; *progress
 * (may be NULL) gets 0..1 of the hold. */
int app_shutter_update(app_shutter *sh, double t_s, float score, double *progress);

#endif
