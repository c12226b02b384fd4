/* ds_load.c - the four dataset kinds, their fixed train/test splits, and the
 * cut of each image to the model's input. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "datasets.h"
#include "ds_internal.h"
#include "image_io.h"

static const char *const kind_names[DS_KIND_COUNT] = {"smiles", "happy", "mnist", "folders"};

const char *ds_kind_name(ds_kind k) { return (unsigned)k < DS_KIND_COUNT ? kind_names[k] : "?"; }

ds_status ds_kind_from_name(const char *name, ds_kind *k)
{
    for (int i = 0; i < DS_KIND_COUNT; i++)
        if (!strcmp(name, kind_names[i])) {
            *k = (ds_kind)i;
            return DS_OK;
        }
    return DS_ERR_ARG;
}

int ds_kind_classes(ds_kind k) { return k == DS_MNIST ? 10 : 2; }

/* ------------------------------------------------------------ sources */

static const char *const default_positives[] = {"happy", "happiness", "smile", "positives", "1"};

ds_status ds_source_set_positives(ds_source *src, const char *list, char *err, size_t errlen)
{
    src->n_positives = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",+");
        if (n == 0 || n >= sizeof src->positives[0] || src->n_positives == DS_MAX_POSITIVES) {
            ds_err(err, errlen, "positive folder list '%s': empty, too long or more than %d names",
                   list, DS_MAX_POSITIVES);
            return DS_ERR_ARG;
        }
        memcpy(src->positives[src->n_positives], p, n);
        src->positives[src->n_positives++][n] = 0;
        p += n;
        if (*p)
            p++;
    }
    if (!src->n_positives) {
        ds_err(err, errlen, "positive folder list is empty");
        return DS_ERR_ARG;
    }
    return DS_OK;
}

int ds_source_is_positive(const ds_source *src, const char *folder)
{
    if (src->n_positives) {
        for (int i = 0; i < src->n_positives; i++)
            if (!strcmp(folder, src->positives[i]))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof default_positives / sizeof *default_positives; i++)
        if (!strcasecmp(folder, default_positives[i]))
            return 1;
    return 0;
}

ds_status ds_source_parse(const char *text, ds_source *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *colon = strchr(text, ':');
    if (!colon || colon == text || !colon[1]) {
        ds_err(err, errlen, "data '%s': expected KIND[,option...]:PATH with KIND smiles, happy, mnist or folders",
               text);
        return DS_ERR_ARG;
    }
    char head[512];
    size_t hl = (size_t)(colon - text);
    if (hl >= sizeof head || strlen(colon + 1) >= sizeof out->path) {
        ds_err(err, errlen, "data '%.60s...': too long", text);
        return DS_ERR_ARG;
    }
    memcpy(head, text, hl);
    head[hl] = 0;
    strcpy(out->path, colon + 1);
    char *save = NULL;
    char *tok = strtok_r(head, ",", &save);
    if (ds_kind_from_name(tok, &out->kind)) {
        ds_err(err, errlen, "data '%s': unknown kind '%s' (smiles, happy, mnist or folders)", text, tok);
        return DS_ERR_ARG;
    }
    while ((tok = strtok_r(NULL, ",", &save))) {
        if (!strcmp(tok, "detect")) {
            out->detect = 1;
        } else if (!strncmp(tok, "box=", 4)) {
            float b[4];
            char extra;
            if (sscanf(tok + 4, "%f/%f/%f/%f%c", &b[0], &b[1], &b[2], &b[3], &extra) != 4 ||
                !(b[2] > 0 && b[3] > 0 && b[2] < 10 && b[3] < 10 && b[0] > -10 && b[1] > -10 &&
                  b[0] < 10 && b[1] < 10)) {
                ds_err(err, errlen, "data '%s': box must be X/Y/W/H, fractions of the image side, W and H > 0",
                       text);
                return DS_ERR_ARG;
            }
            memcpy(out->box, b, sizeof b);
            out->has_box = 1;
        } else if (!strncmp(tok, "limit=", 6)) {
            char *end;
            long v = strtol(tok + 6, &end, 10);
            if (end == tok + 6 || *end || v < 1 || v > (1l << 30)) {
                ds_err(err, errlen, "data '%s': limit wants a positive count", text);
                return DS_ERR_ARG;
            }
            out->limit = (int)v;
        } else if (!strncmp(tok, "positive=", 9)) {
            ds_status st = ds_source_set_positives(out, tok + 9, err, errlen);
            if (st)
                return st;
        } else {
            ds_err(err, errlen, "data '%s': unknown option '%s' (detect, box=X/Y/W/H, positive=NAME+NAME, limit=N)",
                   text, tok);
            return DS_ERR_ARG;
        }
    }
    if (out->detect && out->has_box) {
        ds_err(err, errlen, "data '%s': 'detect' and 'box=' exclude each other", text);
        return DS_ERR_ARG;
    }
    return DS_OK;
}

void ds_default_box(const ds_source *src, float box[4])
{
    if (src->has_box) {
        memcpy(box, src->box, 4 * sizeof *box);
        return;
    }
    /* The whole image: tight crops are taken as they are unless a box says
     * where the detector would put the face (see datasets/README.md). */
    box[0] = box[1] = 0;
    box[2] = box[3] = 1;
}

/* ------------------------------------------------------------ sets */

void ds_set_init(ds_set *s) { memset(s, 0, sizeof *s); }

void ds_set_free(ds_set *s)
{
    if (!s)
        return;
    free(s->pixels);
    free(s->labels);
    free(s->split);
    free(s->group);
    if (s->names)
        for (int i = 0; i < s->n; i++)
            free(s->names[i]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

int ds_count(const ds_set *s, int split, int label)
{
    int c = 0;
    for (int i = 0; i < s->n; i++)
        if ((split < 0 || s->split[i] == split) && (label < 0 || s->labels[i] == label))
            c++;
    return c;
}

static ds_status set_reserve(ds_set *s, int more)
{
    if (s->n + more <= s->cap)
        return DS_OK;
    int cap = s->cap ? s->cap : 256;
    while (cap < s->n + more)
        cap *= 2;
    size_t px = (size_t)s->width * (size_t)s->height;
    uint8_t *p = realloc(s->pixels, (size_t)cap * px);
    if (!p)
        return DS_ERR_NOMEM;
    s->pixels = p;
    int *l = realloc(s->labels, (size_t)cap * sizeof *l);
    if (!l)
        return DS_ERR_NOMEM;
    s->labels = l;
    uint8_t *sp = realloc(s->split, (size_t)cap);
    if (!sp)
        return DS_ERR_NOMEM;
    s->split = sp;
    uint32_t *g = realloc(s->group, (size_t)cap * sizeof *g);
    if (!g)
        return DS_ERR_NOMEM;
    s->group = g;
    if (s->names) {
        char **nm = realloc(s->names, (size_t)cap * sizeof *nm);
        if (!nm)
            return DS_ERR_NOMEM;
        s->names = nm;
    }
    s->cap = cap;
    return DS_OK;
}

/* Starts the names array the first time a load asks for names; images
 * loaded before without them get NULL. */
static ds_status names_start(ds_set *s)
{
    if (s->names)
        return DS_OK;
    s->names = calloc((size_t)(s->cap ? s->cap : 1), sizeof *s->names);
    return s->names ? DS_OK : DS_ERR_NOMEM;
}

uint32_t ds_person_hash(const char *person)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)person; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

int ds_person_is_test(uint32_t hash) { return hash % 5 == 0; }

void ds_person_from_file(const char *file, char *person, size_t len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strcspn(base, ".");
    /* Strip a trailing "_NNNN" (LFW's image number). */
    size_t u = n;
    while (u > 0 && isdigit((unsigned char)base[u - 1]))
        u--;
    if (u > 1 && u < n && base[u - 1] == '_')
        n = u - 1;
    if (n >= len)
        n = len - 1;
    memcpy(person, base, n);
    person[n] = 0;
}

/* Loading state shared by the kinds. */
typedef struct {
    const ds_source *src;
    const ds_load_options *opt;
    ds_set *s;
    float box[4];
    int kept[2][16]; /* per split and label, for max_per_split */
    char *err;
    size_t errlen;
} loader;

static int wanted(loader *L, int split, int label)
{
    if (!(L->opt->splits & (split == DS_TEST ? DS_LOAD_TEST : DS_LOAD_TRAIN)))
        return 0;
    int lim = L->src->limit;
    if (L->opt->max_per_split > 0 && (lim == 0 || L->opt->max_per_split < lim))
        lim = L->opt->max_per_split;
    if (lim > 0 && label >= 0 && label < 16 && L->kept[split][label] >= lim)
        return 0;
    return 1;
}

/* Cuts one grey image into the set. box is in pixels. */
static ds_status add_grey(loader *L, const uint8_t *grey, int w, int h, int stride,
                          const float box[4], int label, int split, uint32_t group,
                          const char *origin)
{
    ds_set *s = L->s;
    if ((L->opt->keep_names && names_start(s)) || set_reserve(s, 1)) {
        ds_err(L->err, L->errlen, "%s: out of memory", origin);
        return DS_ERR_NOMEM;
    }
    float r[4];
    nn_crop_rect(&L->opt->spec->crop, box[0], box[1], box[2], box[3], r);
    uint8_t *dst = s->pixels + (size_t)s->n * (size_t)s->width * (size_t)s->height;
    nn_status st = nn_crop_grey_u8(L->opt->spec, grey, w, h, stride, r[0], r[1], r[2], r[3], dst);
    if (st != NN_OK) {
        ds_err(L->err, L->errlen, "%s: cannot cut the face crop (%s)", origin, nn_status_str(st));
        return DS_ERR_ARG;
    }
    if (s->names) {
        s->names[s->n] = L->opt->keep_names ? strdup(origin) : NULL;
        if (L->opt->keep_names && !s->names[s->n]) {
            ds_err(L->err, L->errlen, "%s: out of memory", origin);
            return DS_ERR_NOMEM;
        }
    }
    s->labels[s->n] = label;
    s->split[s->n] = (uint8_t)split;
    s->group[s->n] = group;
    s->n++;
    if (label >= 0 && label < 16)
        L->kept[split][label]++;
    return DS_OK;
}

static void frac_box(const float f[4], int w, int h, float box[4])
{
    box[0] = f[0] * (float)w;
    box[1] = f[1] * (float)h;
    box[2] = f[2] * (float)w;
    box[3] = f[3] * (float)h;
}

/* Decodes an image file and adds it; a corrupt file is skipped and counted,
 * or fatal when strict. */
static ds_status add_file(loader *L, const char *path, int label, int split, uint32_t group)
{
    if (!wanted(L, split, label))
        return DS_OK;
    img_image im;
    char ierr[600];
    img_status is = img_load(path, 1, &im, ierr, sizeof ierr);
    if (is == IMG_ERR_NOMEM) {
        ds_err(L->err, L->errlen, "%s: out of memory", path);
        return DS_ERR_NOMEM;
    }
    if (is != IMG_OK) {
        if (L->opt->strict) {
            ds_err(L->err, L->errlen, "%s (corrupt image; --strict makes this fatal)", ierr);
            return DS_ERR_IMAGE;
        }
        if (L->opt->log)
            fprintf(L->opt->log, "warning: skipping corrupt image: %s\n", ierr);
        L->s->n_skipped++;
        return DS_OK;
    }
    float box[4];
    if (L->src->detect) {
        if (!L->opt->detect) {
            img_image_free(&im);
            ds_err(L->err, L->errlen, "%s: 'detect' needs a face detector", L->src->path);
            return DS_ERR_FACE;
        }
        if (!L->opt->detect(L->opt->detect_ctx, im.pixels, im.width, im.height, im.stride, box)) {
            L->s->n_noface++;
            img_image_free(&im);
            return DS_OK;
        }
    } else {
        frac_box(L->box, im.width, im.height, box);
    }
    ds_status st = add_grey(L, im.pixels, im.width, im.height, im.stride, box, label, split, group, path);
    img_image_free(&im);
    return st;
}

/* Sorted names in a folder (files or subfolders), so every run sees one order. */
typedef struct {
    char **v;
    int n;
    int n_other;          /* files imageio does not read (not JPEG, PNG, HEIF), left out */
    char first_other[256];
} names;

static void names_free(names *n)
{
    for (int i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

/* a/b into out; paths longer than out are refused rather than cut. */
static int join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* What imageio reads: JPEG, PNG, and with libheif the HEIC/HEIF and AVIF
 * that phones save. */
static int has_image_ext(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png",
#ifdef SMILE_HAVE_HEIF
                                      ".heic", ".heif", ".avif",
#endif
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

/* Counts a folder's files that list_dir left out, in the set. */
static void note_other(loader *L, const char *dir, const names *n)
{
    if (!n->n_other)
        return;
    if (!L->s->other_example[0])
        snprintf(L->s->other_example, sizeof L->s->other_example, "%.250s/%.250s", dir, n->first_other);
    L->s->n_other += n->n_other;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* want_dirs: subfolders (not starting with '.'), else image files. */
static ds_status list_dir(const char *dir, int want_dirs, names *out, char *err, size_t errlen)
{
    out->v = NULL;
    out->n = 0;
    out->n_other = 0;
    out->first_other[0] = 0;
    DIR *d = opendir(dir);
    if (!d) {
        ds_err(err, errlen, "%s: cannot open folder: %s", dir, strerror(errno));
        return DS_ERR_IO;
    }
    int cap = 0;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (join(path, sizeof path, dir, e->d_name))
            continue;
        int dirp = is_dir(path);
        if (!want_dirs && !dirp && !has_image_ext(e->d_name)) {
            /* told, not read: a BMP or WebP left out unseen would look like a
             * smaller data set */
            if (out->n_other++ == 0 || strcmp(e->d_name, out->first_other) < 0)
                snprintf(out->first_other, sizeof out->first_other, "%s", e->d_name);
            continue;
        }
        if (want_dirs ? !dirp : dirp)
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(out->v, (size_t)cap * sizeof *nv);
            if (!nv) {
                closedir(d);
                names_free(out);
                ds_err(err, errlen, "%s: out of memory", dir);
                return DS_ERR_NOMEM;
            }
            out->v = nv;
        }
        if (!(out->v[out->n] = strdup(e->d_name))) {
            closedir(d);
            names_free(out);
            ds_err(err, errlen, "%s: out of memory", dir);
            return DS_ERR_NOMEM;
        }
        out->n++;
    }
    closedir(d);
    if (out->n)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return DS_OK;
}

/* ------------------------------------------------------------ smiles */

static ds_status load_smiles(loader *L)
{
    static const char *const sub[2] = {"negatives/negatives7", "positives/positives7"};
    char dir[8192], path[8192];
    /* Accept PATH = the SMILEsmileD folder or its SMILEs/ folder. */
    snprintf(dir, sizeof dir, "%s/SMILEs", L->src->path);
    const char *root = is_dir(dir) ? dir : L->src->path;
    char rootbuf[8192];
    snprintf(rootbuf, sizeof rootbuf, "%s", root);
    for (int label = 1; label >= 0; label--) {
        if (join(dir, sizeof dir, rootbuf, sub[label])) {
            ds_err(L->err, L->errlen, "%s: path too long", rootbuf);
            return DS_ERR_ARG;
        }
        names n;
        ds_status st = list_dir(dir, 0, &n, L->err, L->errlen);
        if (st) {
            if (st == DS_ERR_IO)
                ds_err(L->err, L->errlen, "%s: not a SMILEsmileD folder (no %s/ in it)", L->src->path,
                       sub[label]);
            return st;
        }
        note_other(L, dir, &n);
        if (n.n == 0) {
            ds_err(L->err, L->errlen, "%s: no images", dir);
            names_free(&n);
            return DS_ERR_FORMAT;
        }
        for (int i = 0; i < n.n && st == DS_OK; i++) {
            char *end;
            errno = 0;
            long num = strtol(n.v[i], &end, 10);
            if (errno || end == n.v[i] || *end != '.' || num < 0) {
                ds_err(L->err, L->errlen,
                       "%s/%s: SMILEsmileD file names must be numbers (the split rule needs them)", dir,
                       n.v[i]);
                st = DS_ERR_FORMAT;
                break;
            }
            if (join(path, sizeof path, dir, n.v[i])) {
                ds_err(L->err, L->errlen, "%s: path too long", dir);
                st = DS_ERR_ARG;
                break;
            }
            st = add_file(L, path, label, num % 5 == 0 ? DS_TEST : DS_TRAIN, 0);
        }
        names_free(&n);
        if (st)
            return st;
    }
    return DS_OK;
}

/* ------------------------------------------------------------ happy */

static ds_status load_happy_split(loader *L, const char *which, int split)
{
    char xp[8192], yp[8192];
    snprintf(xp, sizeof xp, "%s/x_%s.npy", L->src->path, which);
    snprintf(yp, sizeof yp, "%s/y_%s.npy", L->src->path, which);
    ds_npy x, y;
    ds_status st = ds_npy_read(xp, &x, L->err, L->errlen);
    if (st)
        return st;
    st = ds_npy_read(yp, &y, L->err, L->errlen);
    if (st) {
        ds_npy_free(&x);
        return st;
    }
    st = DS_ERR_FORMAT;
    int n = x.ndim ? (int)x.shape[0] : 0;
    if (x.dtype != DS_DT_U8 || !(x.ndim == 3 || (x.ndim == 4 && (x.shape[3] == 1 || x.shape[3] == 3)))) {
        ds_err(L->err, L->errlen, "%s: expected uint8 images of shape (N, H, W) or (N, H, W, 1|3)", xp);
        goto done;
    }
    if (y.count != (size_t)n || y.dtype == DS_DT_F32 || y.dtype == DS_DT_F64) {
        ds_err(L->err, L->errlen, "%s: expected %d integer labels (shape (N,) or (N, 1)), got %zu", yp, n,
               y.count);
        goto done;
    }
    int h = (int)x.shape[1], w = (int)x.shape[2], c = x.ndim == 4 ? (int)x.shape[3] : 1;
    if (w < 1 || h < 1 || w > 4096 || h > 4096) {
        ds_err(L->err, L->errlen, "%s: image size %dx%d out of range", xp, w, h);
        goto done;
    }
    uint8_t *grey = malloc((size_t)w * (size_t)h);
    if (!grey) {
        st = DS_ERR_NOMEM;
        ds_err(L->err, L->errlen, "%s: out of memory", xp);
        goto done;
    }
    float box[4];
    frac_box(L->box, w, h, box);
    st = DS_OK;
    for (int i = 0; i < n && st == DS_OK; i++) {
        double lv = ds_npy_get(&y, (size_t)i);
        if (lv != 0 && lv != 1) {
            ds_err(L->err, L->errlen, "%s: label %d is %g (0 or 1 expected)", yp, i, lv);
            st = DS_ERR_FORMAT;
            break;
        }
        int label = (int)lv;
        if (!wanted(L, split, label))
            continue;
        const uint8_t *im = (const uint8_t *)x.data + (size_t)i * (size_t)w * (size_t)h * (size_t)c;
        for (int p = 0; p < w * h; p++) {
            if (c == 1) {
                grey[p] = im[p];
            } else { /* ITU-R BT.601 luma, as JPEG's grey */
                const uint8_t *q = im + 3 * p;
                grey[p] = (uint8_t)((299 * q[0] + 587 * q[1] + 114 * q[2] + 500) / 1000);
            }
        }
        char origin[8300];
        snprintf(origin, sizeof origin, "%s[%d]", xp, i);
        st = add_grey(L, grey, w, h, w, box, label, split, 0, origin);
    }
    free(grey);
done:
    ds_npy_free(&x);
    ds_npy_free(&y);
    return st;
}

static ds_status load_happy(loader *L)
{
    ds_status st = DS_OK;
    if (L->opt->splits & DS_LOAD_TRAIN)
        st = load_happy_split(L, "train", DS_TRAIN);
    if (!st && (L->opt->splits & DS_LOAD_TEST))
        st = load_happy_split(L, "test", DS_TEST);
    return st;
}

/* ------------------------------------------------------------ mnist */

static ds_status load_mnist_split(loader *L, const char *which, int split)
{
    char ip[8192], lp[8192];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte", L->src->path, which);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte", L->src->path, which);
    ds_idx im, lb;
    ds_status st = ds_idx_read(ip, &im, L->err, L->errlen);
    if (st)
        return st;
    st = ds_idx_read(lp, &lb, L->err, L->errlen);
    if (st) {
        ds_idx_free(&im);
        return st;
    }
    st = DS_ERR_FORMAT;
    if (im.ndim != 3 || im.dims[1] == 0 || im.dims[2] == 0 || im.dims[1] > 4096 || im.dims[2] > 4096) {
        ds_err(L->err, L->errlen, "%s: expected 3 dimensions (N, rows, cols)", ip);
        goto done;
    }
    if (lb.ndim != 1 || lb.dims[0] != im.dims[0]) {
        ds_err(L->err, L->errlen, "%s: expected one label per image (%u), got %u", lp, im.dims[0],
               lb.ndim == 1 ? lb.dims[0] : 0);
        goto done;
    }
    int h = (int)im.dims[1], w = (int)im.dims[2];
    float box[4];
    frac_box(L->box, w, h, box);
    st = DS_OK;
    for (uint32_t i = 0; i < im.dims[0] && st == DS_OK; i++) {
        int label = lb.data[i];
        if (label > 9) {
            ds_err(L->err, L->errlen, "%s: label %u is %d (0-9 expected)", lp, i, label);
            st = DS_ERR_FORMAT;
            break;
        }
        if (!wanted(L, split, label))
            continue;
        char origin[8300];
        snprintf(origin, sizeof origin, "%s[%u]", ip, i);
        st = add_grey(L, im.data + (size_t)i * (size_t)w * (size_t)h, w, h, w, box, label, split, 0, origin);
    }
done:
    ds_idx_free(&im);
    ds_idx_free(&lb);
    return st;
}

static ds_status load_mnist(loader *L)
{
    ds_status st = DS_OK;
    if (L->opt->splits & DS_LOAD_TRAIN)
        st = load_mnist_split(L, "train", DS_TRAIN);
    if (!st && (L->opt->splits & DS_LOAD_TEST))
        st = load_mnist_split(L, "test", DS_TEST);
    return st;
}

/* ------------------------------------------------------------ folders */

/* dir/CLASS/IMAGE; split -1: by person (hash of the name in the file). */
static ds_status load_class_folders(loader *L, const char *dir, int split)
{
    names classes;
    ds_status st = list_dir(dir, 1, &classes, L->err, L->errlen);
    if (st)
        return st;
    if (classes.n == 0) {
        ds_err(L->err, L->errlen, "%s: no class folders in it (expected %s/<class>/*.jpg)", dir, dir);
        names_free(&classes);
        return DS_ERR_FORMAT;
    }
    char cdir[8192], path[8192], person[256];
    int n_images = 0, other_before = L->s->n_other;
    for (int c = 0; c < classes.n && !st; c++) {
        int label = ds_source_is_positive(L->src, classes.v[c]);
        if (join(cdir, sizeof cdir, dir, classes.v[c])) {
            ds_err(L->err, L->errlen, "%s: path too long", dir);
            st = DS_ERR_ARG;
            break;
        }
        names files;
        st = list_dir(cdir, 0, &files, L->err, L->errlen);
        if (st)
            break;
        note_other(L, cdir, &files);
        n_images += files.n;
        for (int i = 0; i < files.n && !st; i++) {
            if (join(path, sizeof path, cdir, files.v[i])) {
                ds_err(L->err, L->errlen, "%s: path too long", cdir);
                st = DS_ERR_ARG;
                break;
            }
            uint32_t g = 0;
            int sp = split;
            if (split < 0) {
                ds_person_from_file(files.v[i], person, sizeof person);
                g = ds_person_hash(person);
                sp = ds_person_is_test(g) ? DS_TEST : DS_TRAIN;
            }
            st = add_file(L, path, label, sp, g);
        }
        names_free(&files);
    }
    names_free(&classes);
    if (!st && n_images == 0) {
        if (L->s->n_other > other_before)
            ds_err(L->err, L->errlen,
                   "%s: no JPEG, PNG or HEIF images in its class folders (%d other files, e.g. %s: "
                   "convert them to PNG)", dir, L->s->n_other - other_before, L->s->other_example);
        else
            ds_err(L->err, L->errlen, "%s: no JPEG, PNG or HEIF images in its class folders", dir);
        st = DS_ERR_FORMAT;
    }
    return st;
}

static ds_status load_folders(loader *L)
{
    char tr[8192], te[8192];
    snprintf(tr, sizeof tr, "%s/train", L->src->path);
    snprintf(te, sizeof te, "%s/test", L->src->path);
    if (is_dir(tr) && is_dir(te)) {
        ds_status st = DS_OK;
        if (L->opt->splits & DS_LOAD_TRAIN)
            st = load_class_folders(L, tr, DS_TRAIN);
        if (!st && (L->opt->splits & DS_LOAD_TEST))
            st = load_class_folders(L, te, DS_TEST);
        return st;
    }
    return load_class_folders(L, L->src->path, -1);
}

ds_status ds_load(const ds_source *src, const ds_load_options *opt, ds_set *s, char *err, size_t errlen)
{
    if (!src || !opt || !opt->spec || !s || opt->spec->width < 1 || opt->spec->height < 1 ||
        (unsigned)src->kind >= DS_KIND_COUNT) {
        ds_err(err, errlen, "ds_load: bad arguments");
        return DS_ERR_ARG;
    }
    if (!is_dir(src->path)) {
        ds_err(err, errlen, "%s: no such folder (%s data)", src->path, ds_kind_name(src->kind));
        return DS_ERR_IO;
    }
    int nc = ds_kind_classes(src->kind);
    if (s->n_classes && s->n_classes != nc) {
        ds_err(err, errlen, "%s: %s data has %d classes but the data loaded before has %d", src->path,
               ds_kind_name(src->kind), nc, s->n_classes);
        return DS_ERR_ARG;
    }
    if (s->n && (s->width != opt->spec->width || s->height != opt->spec->height)) {
        ds_err(err, errlen, "ds_load: input size differs from the data loaded before");
        return DS_ERR_ARG;
    }
    s->n_classes = nc;
    s->width = opt->spec->width;
    s->height = opt->spec->height;
    s->other_example[0] = 0; /* the first left-out file of this source */
    loader L = {.src = src, .opt = opt, .s = s, .err = err, .errlen = errlen};
    ds_default_box(src, L.box);
    switch (src->kind) {
    case DS_SMILES: return load_smiles(&L);
    case DS_HAPPY: return load_happy(&L);
    case DS_MNIST: return load_mnist(&L);
    case DS_FOLDERS: return load_folders(&L);
    case DS_KIND_COUNT: break;
    }
    return DS_ERR_ARG;
}
