#include "capture_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdtemp_in(char *out, size_t len, const char *tag) {
    const char *tmp = getenv("TMPDIR");
    snprintf(out, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    return mkdtemp(out) ? 0 : -1;
}

int fake_cam_setup(fake_cam *fc) {
    memset(fc, 0, sizeof(*fc));
    if (mkdtemp_in(fc->dir, sizeof(fc->dir), "fakecam-dev") < 0) return -1;
    if (mkdtemp_in(fc->ctldir, sizeof(fc->ctldir), "fakecam-ctl") < 0) return -1;
    snprintf(fc->device, sizeof(fc->device), "%s/video0", fc->dir);
    snprintf(fc->control, sizeof(fc->control), "%s/control", fc->ctldir);
    if (fake_cam_control(fc, "present=1\n") < 0) return -1;
    setenv("FAKE_V4L2_CONTROL", fc->control, 1);
    setenv("FAKE_V4L2_DEVICE", fc->device, 1);
    setenv("SMILE_V4L2_DIR", fc->dir, 1);
    return 0;
}

int fake_cam_control(const fake_cam *fc, const char *text) {
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.tmp", fc->control);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok && rename(tmp, fc->control) == 0 ? 0 : -1;
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

void fake_cam_cleanup(fake_cam *fc) {
    unsetenv("FAKE_V4L2_DEVICE");
    if (fc->dir[0]) rm_tree(fc->dir);
    if (fc->ctldir[0]) rm_tree(fc->ctldir);
    fc->dir[0] = fc->ctldir[0] = 0; /* safe to call twice */
}

int fake_cam_loaded(void) {
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "fakev4l2") != NULL;
}
