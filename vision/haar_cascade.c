/* haar_cascade.c - read OpenCV's cascade XML with GMarkup into flat arrays.
 *
 * The file is a FileStorage tree: cascade/{stageType, featureType, width,
 * height, featureParams/maxCatCount, stages/_/{stageThreshold,
 * weakClassifiers/_/{internalNodes, leafValues}}, features/_/{rects/_, tilted}}.
 * We track the element path and interpret leaves by name and parent. */
#include "haar_cascade.h"

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_pipeline.h"

#define MAX_DEPTH 16
#define OPENCV_THRESHOLD_EPS 1e-5f /* OpenCV lowers every stage threshold by this */

typedef struct {
    const char *origin;
    GMarkupParseContext *ctx;
    const char *stack[MAX_DEPTH];
    int depth;
    GString *text;
    GArray *stages, *trees, *nodes, *leaves, *features, *subsets;
    int lbp;
    int win_w, win_h, max_cat;
    int saw_cascade, saw_boost, saw_haar, old_format;
    char err[400];
} parse_state;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void fail(parse_state *st, GError **error, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    g_markup_parse_context_get_position(st->ctx, &line, &col);
    snprintf(st->err, sizeof st->err, "line %d: %s", line, msg);
    g_set_error_literal(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, st->err);
}

static const char *up(const parse_state *st, int k) /* k = 0: current element */
{
    int i = st->depth - 1 - k;
    return i >= 0 ? st->stack[i] : "";
}

static void on_start(GMarkupParseContext *ctx, const char *name, const char **an, const char **av,
                     gpointer user, GError **error)
{
    (void)ctx;
    (void)an;
    (void)av;
    parse_state *st = user;
    if (st->depth >= MAX_DEPTH) {
        fail(st, error, "elements nested deeper than %d", MAX_DEPTH);
        return;
    }
    st->stack[st->depth++] = g_intern_string(name);
    g_string_truncate(st->text, 0);
    if (st->depth == 2) {
        if (strcmp(name, "cascade") == 0)
            st->saw_cascade = 1;
        else
            st->old_format = 1;
    }
    if (strcmp(name, "_") == 0) {
        const char *parent = up(st, 1);
        if (strcmp(parent, "weakClassifiers") == 0) {
            if (st->stages->len == 0) {
                fail(st, error, "a weak classifier before any stageThreshold");
                return;
            }
            haar_tree t = {(int)st->nodes->len, (int)st->leaves->len, 0};
            g_array_append_val(st->trees, t);
            g_array_index(st->stages, haar_stage, st->stages->len - 1).ntrees++;
        } else if (strcmp(parent, "features") == 0) {
            haar_feature f;
            memset(&f, 0, sizeof f);
            g_array_append_val(st->features, f);
        }
    }
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user,
                    GError **error)
{
    (void)ctx;
    (void)error;
    parse_state *st = user;
    g_string_append_len(st->text, text, (gssize)len);
}

/* Parse up to max numbers from s; returns the count or -1 on junk. */
static int parse_numbers(const char *s, double *v, int max)
{
    int n = 0;
    for (;;) {
        while (g_ascii_isspace(*s))
            s++;
        if (!*s)
            return n;
        if (n == max)
            return -1;
        char *end;
        errno = 0;
        double d = g_ascii_strtod(s, &end);
        if (end == s || errno == ERANGE)
            return -1;
        v[n++] = d;
        s = end;
    }
}

static int parse_int_text(const char *s, int *out)
{
    double v;
    if (parse_numbers(s, &v, 1) != 1 || v != (double)(int)v)
        return 0;
    *out = (int)v;
    return 1;
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer user, GError **error)
{
    (void)ctx;
    parse_state *st = user;
    const char *text = st->text->str;
    const char *parent = up(st, 1);
    double v[64];

    if (st->saw_cascade && st->depth >= 3) {
        if (strcmp(name, "stageType") == 0) {
            g_strstrip(st->text->str);
            if (strcmp(st->text->str, "BOOST") != 0) {
                fail(st, error, "stageType '%s' is not BOOST", st->text->str);
                goto done;
            }
            st->saw_boost = 1;
        } else if (strcmp(name, "featureType") == 0) {
            g_strstrip(st->text->str);
            if (strcmp(st->text->str, "HAAR") == 0) {
                st->saw_haar = 1;
            } else if (strcmp(st->text->str, "LBP") == 0) {
                st->saw_haar = 1;
                st->lbp = 1;
            } else {
                fail(st, error, "featureType '%s': only HAAR and LBP cascades are supported",
                     st->text->str);
                goto done;
            }
        } else if ((strcmp(name, "width") == 0 || strcmp(name, "height") == 0) &&
                   strcmp(parent, "cascade") == 0) {
            int x;
            if (!parse_int_text(text, &x) || x < 4 || x > 256) {
                fail(st, error, "window %s '%s' is not an integer in 4..256", name, text);
                goto done;
            }
            *(name[0] == 'w' ? &st->win_w : &st->win_h) = x;
        } else if (strcmp(name, "maxCatCount") == 0) {
            if (!parse_int_text(text, &st->max_cat) ||
                (st->max_cat != 0 && !(st->lbp && st->max_cat == 256))) {
                fail(st, error, "maxCatCount '%s': want 0 (HAAR) or 256 (LBP, after featureType)",
                     text);
                goto done;
            }
        } else if (strcmp(name, "stageThreshold") == 0) {
            if (parse_numbers(text, v, 1) != 1) {
                fail(st, error, "stageThreshold '%s' is not a number", text);
                goto done;
            }
            haar_stage s = {0, (int)st->trees->len, (float)v[0] - OPENCV_THRESHOLD_EPS};
            g_array_append_val(st->stages, s);
        } else if (strcmp(name, "internalNodes") == 0) {
            if (st->trees->len == 0 || strcmp(up(st, 2), "weakClassifiers") != 0) {
                fail(st, error, "internalNodes outside a weak classifier");
                goto done;
            }
            int n = parse_numbers(text, v, 64);
            int step = st->max_cat ? 11 : 4; /* left right feature (subset[8] | threshold) */
            if (n <= 0 || n % step != 0) {
                fail(st, error, "internalNodes needs groups of %s",
                     st->max_cat ? "'left right feature subset[8]'" : "'left right feature threshold'");
                goto done;
            }
            haar_tree *t = &g_array_index(st->trees, haar_tree, st->trees->len - 1);
            if (t->nnodes != 0) {
                fail(st, error, "a weak classifier with two internalNodes");
                goto done;
            }
            for (int i = 0; i < n; i += step) {
                haar_node nd = {(int)v[i + 2], st->max_cat ? 0.f : (float)v[i + 3], (int)v[i],
                                (int)v[i + 1]};
                if (v[i] != (int)v[i] || v[i + 1] != (int)v[i + 1] || v[i + 2] != (int)v[i + 2]) {
                    fail(st, error, "internalNodes: node indices must be integers");
                    goto done;
                }
                g_array_append_val(st->nodes, nd);
                for (int k = 0; st->max_cat && k < 8; k++) {
                    double w = v[i + 3 + k];
                    if (w != (double)(int64_t)w || w < -2147483648.0 || w > 4294967295.0) {
                        fail(st, error, "internalNodes: category subsets must be 32-bit integers");
                        goto done;
                    }
                    int32_t word = (int32_t)(uint32_t)(int64_t)w;
                    g_array_append_val(st->subsets, word);
                }
            }
            t->nnodes = n / step;
        } else if (strcmp(name, "leafValues") == 0) {
            if (st->trees->len == 0) {
                fail(st, error, "leafValues outside a weak classifier");
                goto done;
            }
            int n = parse_numbers(text, v, 64);
            if (n <= 0) {
                fail(st, error, "leafValues '%.40s' are not numbers", text);
                goto done;
            }
            for (int i = 0; i < n; i++) {
                float f = (float)v[i];
                g_array_append_val(st->leaves, f);
            }
        } else if (strcmp(name, "_") == 0 && strcmp(parent, "rects") == 0) {
            if (st->features->len == 0) {
                fail(st, error, "a rectangle outside a feature");
                goto done;
            }
            haar_feature *f = &g_array_index(st->features, haar_feature, st->features->len - 1);
            if (parse_numbers(text, v, 5) != 5 || f->nrects >= 3) {
                fail(st, error, "feature %u: a rectangle needs 'x y w h weight' (at most 3)",
                     st->features->len - 1);
                goto done;
            }
            for (int i = 0; i < 4; i++)
                if (v[i] != (int)v[i]) {
                    fail(st, error, "feature %u: rectangle coordinates must be integers",
                         st->features->len - 1);
                    goto done;
                }
            haar_rect r = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (float)v[4]};
            f->r[f->nrects++] = r;
        } else if (strcmp(name, "tilted") == 0) {
            int t;
            if (!parse_int_text(text, &t) || t != 0) {
                fail(st, error, "tilted features are not supported");
                goto done;
            }
        } else if (strcmp(name, "rect") == 0 && strcmp(up(st, 2), "features") == 0) {
            if (!st->lbp || st->features->len == 0) {
                fail(st, error, "an LBP <rect> in a cascade whose featureType is not LBP");
                goto done;
            }
            haar_feature *f = &g_array_index(st->features, haar_feature, st->features->len - 1);
            if (parse_numbers(text, v, 4) != 4 || f->nrects != 0 || v[0] != (int)v[0] ||
                v[1] != (int)v[1] || v[2] != (int)v[2] || v[3] != (int)v[3]) {
                fail(st, error, "feature %u: an LBP rect needs integer 'x y w h'",
                     st->features->len - 1);
                goto done;
            }
            haar_rect r = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], 0.f};
            f->r[f->nrects++] = r;
        }
    }
done:
    g_string_truncate(st->text, 0);
    if (st->depth > 0)
        st->depth--;
}

/* Everything the evaluator trusts, checked once here. */
static int validate(parse_state *st, haar_cascade *c, char *msg, size_t len)
{
    if (st->old_format || !st->saw_cascade) {
        snprintf(msg, len, "not a new-format OpenCV cascade (no <cascade> element)");
        return 0;
    }
    if (!st->saw_boost || !st->saw_haar) {
        snprintf(msg, len, "missing stageType BOOST or featureType HAAR/LBP");
        return 0;
    }
    if (st->lbp && (st->max_cat != 256 || c->nsubsets != 8 * c->nnodes)) {
        snprintf(msg, len, "LBP cascade needs maxCatCount 256 and 8 subset words per node");
        return 0;
    }
    if (!c->win_w || !c->win_h) {
        snprintf(msg, len, "missing window width/height");
        return 0;
    }
    if (c->nstages <= 0 || c->nfeatures <= 0) {
        snprintf(msg, len, "no stages or no features");
        return 0;
    }
    for (int i = 0; i < c->nstages; i++)
        if (c->stages[i].ntrees <= 0) {
            snprintf(msg, len, "stage %d has no weak classifiers", i);
            return 0;
        }
    c->stumps_only = 1;
    int leaf_next = 0;
    for (int t = 0; t < c->ntrees; t++) {
        haar_tree *tr = &c->trees[t];
        int nl = (t + 1 < c->ntrees ? c->trees[t + 1].first_leaf : c->nleaves) - tr->first_leaf;
        if (tr->nnodes <= 0 || nl != tr->nnodes + 1 || tr->first_leaf != leaf_next) {
            snprintf(msg, len, "weak classifier %d: %d nodes need %d leaves, found %d", t,
                     tr->nnodes, tr->nnodes + 1, nl);
            return 0;
        }
        leaf_next += nl;
        if (tr->nnodes != 1)
            c->stumps_only = 0;
        for (int k = 0; k < tr->nnodes; k++) {
            haar_node *n = &c->nodes[tr->first_node + k];
            if (n->feature < 0 || n->feature >= c->nfeatures) {
                snprintf(msg, len, "weak classifier %d: feature %d out of 0..%d", t, n->feature,
                         c->nfeatures - 1);
                return 0;
            }
            int ch[2] = {n->left, n->right};
            for (int j = 0; j < 2; j++) {
                /* children point forward (no cycles) or to a leaf of this tree */
                if ((ch[j] > 0 && (ch[j] <= k || ch[j] >= tr->nnodes)) ||
                    (ch[j] <= 0 && -ch[j] > tr->nnodes)) {
                    snprintf(msg, len, "weak classifier %d: bad child index %d", t, ch[j]);
                    return 0;
                }
            }
        }
    }
    for (int i = 0; i < c->nfeatures; i++) {
        haar_feature *f = &c->features[i];
        if (f->nrects < 1) {
            snprintf(msg, len, "feature %d has no rectangles", i);
            return 0;
        }
        int span = c->lbp ? 3 : 1; /* an LBP feature is a 3x3 grid of blocks */
        for (int k = 0; k < f->nrects; k++) {
            haar_rect *r = &f->r[k];
            if (r->x < 0 || r->y < 0 || r->w <= 0 || r->h <= 0 || r->x + span * r->w > c->win_w ||
                r->y + span * r->h > c->win_h) {
                snprintf(msg, len, "feature %d: rectangle %d %d %d %d outside the %dx%d window",
                         i, r->x, r->y, r->w, r->h, c->win_w, c->win_h);
                return 0;
            }
        }
    }
    return 1;
}

void haar_cascade_free(haar_cascade *c)
{
    if (!c)
        return;
    g_free(c->path);
    g_free(c->stages);
    g_free(c->trees);
    g_free(c->nodes);
    g_free(c->leaves);
    g_free(c->features);
    g_free(c->subsets);
    g_free(c);
}

haar_status haar_cascade_parse(const char *xml, size_t len, const char *origin, haar_cascade **out,
                               char *err, size_t errlen)
{
    if (!out || (!xml && len)) {
        set_err(err, errlen, "haar_cascade_parse: NULL argument");
        return HAAR_ERR_ARG;
    }
    *out = NULL;
    if (!origin)
        origin = "(memory)";
    parse_state st;
    memset(&st, 0, sizeof st);
    st.origin = origin;
    st.text = g_string_new(NULL);
    st.stages = g_array_new(FALSE, FALSE, sizeof(haar_stage));
    st.trees = g_array_new(FALSE, FALSE, sizeof(haar_tree));
    st.nodes = g_array_new(FALSE, FALSE, sizeof(haar_node));
    st.leaves = g_array_new(FALSE, FALSE, sizeof(float));
    st.features = g_array_new(FALSE, FALSE, sizeof(haar_feature));
    st.subsets = g_array_new(FALSE, FALSE, sizeof(int32_t));
    GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
    st.ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
    GError *gerr = NULL;
    gboolean ok = g_markup_parse_context_parse(st.ctx, xml ? xml : "", (gssize)len, &gerr) &&
                  g_markup_parse_context_end_parse(st.ctx, &gerr);
    haar_status status = HAAR_OK;
    haar_cascade *c = g_new0(haar_cascade, 1);
    if (!ok) {
        set_err(err, errlen,
                "%s: malformed cascade XML: %s (reinstall Debian's opencv-data package)", origin,
                st.err[0] ? st.err : (gerr ? gerr->message : "parse error"));
        status = HAAR_ERR_FORMAT;
    }
    c->path = g_strdup(origin);
    c->win_w = st.win_w;
    c->win_h = st.win_h;
    c->nstages = (int)st.stages->len;
    c->ntrees = (int)st.trees->len;
    c->nnodes = (int)st.nodes->len;
    c->nleaves = (int)st.leaves->len;
    c->nfeatures = (int)st.features->len;
    c->stages = (haar_stage *)(void *)g_array_free(st.stages, FALSE);
    c->trees = (haar_tree *)(void *)g_array_free(st.trees, FALSE);
    c->nodes = (haar_node *)(void *)g_array_free(st.nodes, FALSE);
    c->leaves = (float *)(void *)g_array_free(st.leaves, FALSE);
    c->features = (haar_feature *)(void *)g_array_free(st.features, FALSE);
    c->nsubsets = (int)st.subsets->len;
    c->subsets = (int32_t *)(void *)g_array_free(st.subsets, FALSE);
    c->lbp = st.lbp;
    char msg[300];
    if (status == HAAR_OK && !validate(&st, c, msg, sizeof msg)) {
        set_err(err, errlen, "%s: unusable cascade: %s (expected a Haar or LBP cascade from "
                "Debian's opencv-data package)", origin, msg);
        status = HAAR_ERR_FORMAT;
    }
    if (gerr)
        g_error_free(gerr);
    g_markup_parse_context_free(st.ctx);
    g_string_free(st.text, TRUE);
    if (status != HAAR_OK) {
        haar_cascade_free(c);
        return status;
    }
    *out = c;
    return HAAR_OK;
}

haar_status haar_cascade_load(const char *path, haar_cascade **out, char *err, size_t errlen)
{
    if (!out) {
        set_err(err, errlen, "haar_cascade_load: NULL argument");
        return HAAR_ERR_ARG;
    }
    *out = NULL;
    if (!path)
        path = FACE_DEFAULT_CASCADE;
    gchar *data = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        set_err(err, errlen,
                "%s: cannot read the face cascade: %s (install Debian's opencv-data package: "
                "apt-get install opencv-data)",
                path, gerr ? gerr->message : "unknown error");
        if (gerr)
            g_error_free(gerr);
        return HAAR_ERR_IO;
    }
    haar_status st = haar_cascade_parse(data, len, path, out, err, errlen);
    g_free(data);
    return st;
}
