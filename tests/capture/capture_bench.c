/* capture_bench.c - capture soak/benchmark (not a test): reads N frames from
 * the fake camera (re-executing itself under LD_PRELOAD when needed), decodes
 * each to grey and prints key=value figures: frames/s, decode time, drops and
 * RSS at start and end.
 *   capture_bench [--frames N] [--fps R|max] [--source FILE|DIR] [--yuyv] [--scale D]
 *                 [--corrupt-every K] [--work-ms W]
 * --work-ms simulates a slow consumer (sleeps W ms a frame); age_ms is then how
 * old each frame is when read returns it, which drain-to-freshest keeps low. */
#include "capture_test_util.h"
#include "v4l2_camera.h"

#include <linux/videodev2.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void) { /* this process, so waits under load do not count */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

int main(int argc, char **argv) {
    long frames = 1000;
    const char *rate = "max", *source = NULL;
    int yuyv = 0, scale = 1, corrupt = 0, work_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc) frames = atol(argv[++i]);
        else if (!strcmp(argv[i], "--fps") && i + 1 < argc) rate = argv[++i];
        else if (!strcmp(argv[i], "--source") && i + 1 < argc) source = argv[++i];
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--corrupt-every") && i + 1 < argc) corrupt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--work-ms") && i + 1 < argc) work_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--yuyv")) yuyv = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    if (!fake_cam_loaded()) { /* run ourselves again with the fake camera preloaded */
        setenv("LD_PRELOAD", FAKE_V4L2_LIB, 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 0);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    fake_cam fc;
    if (fake_cam_setup(&fc) != 0) { perror("temp dir"); return 1; }
    char ctl[128];
    snprintf(ctl, sizeof(ctl), "rate=%s\ncorrupt_every=%d\n", rate, corrupt);
    fake_cam_control(&fc, ctl);
    if (source) setenv("FAKE_V4L2_SOURCE", source, 1);
    if (yuyv) setenv("FAKE_V4L2_FORMATS", "YUYV", 1);
    long rss0 = rss_kb();
    cap_status st;
    char err[512];
    cap_source *src = cap_camera_open(NULL, &st, err, sizeof(err));
    if (!src) { fprintf(stderr, "open: %s\n", err); fake_cam_cleanup(&fc); return 1; }
    cap_v4l2_mode m;
    cap_camera_mode(src, &m);
    cap_convert *cv = cap_convert_new();
    uint8_t *grey = malloc((size_t)m.width * m.height);
    double decode_s = 0, decode_cpu = 0, t0 = cap_now_s(), c0 = cpu_s();
    long got = 0, errors = 0;
    double age_sum = 0, age_max = 0;
    while (got < frames) {
        cap_frame f;
        st = cap_source_read(src, &f, 1000);
        if (st == CAP_OK) {
            double age = cap_now_s() - f.timestamp_s;
            age_sum += age;
            if (age > age_max) age_max = age;
            double d0 = cap_now_s(), dc0 = cpu_s();
            int w, h;
            if (cap_convert_grey(cv, &f, scale, grey, m.width, &w, &h) != CAP_OK) errors++;
            decode_s += cap_now_s() - d0;
            decode_cpu += cpu_s() - dc0;
            got++;
            if (work_ms > 0) {
                struct timespec ts = {work_ms / 1000, (long)(work_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
            }
        } else if (!cap_status_retryable(st)) {
            fprintf(stderr, "read: %s\n", cap_source_error(src));
            break;
        }
    }
    double secs = cap_now_s() - t0, cpu = cpu_s() - c0;
    cap_stats s;
    cap_source_stats(src, &s);
    printf("format=%.4s size=%dx%d frames=%ld seconds=%.3f fps=%.1f decode_ms=%.3f "
           "capture_ms=%.3f decode_cpu_ms=%.3f capture_cpu_ms=%.3f delivered=%llu skipped_stale=%llu dropped_corrupt=%llu timeouts=%llu "
           "decode_errors=%ld age_ms=%.1f age_max_ms=%.1f rss_start_kb=%ld rss_end_kb=%ld\n",
           (const char *)&m.fourcc, m.width, m.height, got, secs, got / secs,
           got ? 1e3 * decode_s / got : 0.0, got ? 1e3 * (secs - decode_s) / got : 0.0, got ? 1e3 * decode_cpu / got : 0.0,
           got ? 1e3 * (cpu - decode_cpu) / got : 0.0,
           (unsigned long long)s.delivered, (unsigned long long)s.skipped_stale,
           (unsigned long long)s.dropped_corrupt, (unsigned long long)s.timeouts, errors,
           got ? 1e3 * age_sum / got : 0.0, 1e3 * age_max, rss0,
           rss_kb());
    free(grey);
    cap_convert_free(cv);
    cap_source_free(src);
    fake_cam_cleanup(&fc);
    return 0;
}
