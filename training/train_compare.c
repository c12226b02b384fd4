/* train_compare.c - `smile-train compare-optimizers`: one architecture trained
 * with each optimizer on the same data, order and initialisation, their loss
 * curves in one plot; and the optimizers' paths on Beale's function. */
#include <cairo.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

int tr_surface_save(cairo_surface_t *surf, const char *path);

static const char compare_help[] =
    "Usage: smile-train compare-optimizers --data KIND:PATH --out PNG [OPTION...]\n"
    "\n"
    "Train the same architecture once with each optimizer, from the same initial\n"
    "weights and in the same data order, and draw their training-loss curves in\n"
    "one plot; also draw each optimizer's path on Beale's function from (1, 1.5)\n"
    "to its minimum at (3, 0.5). These are the lecture's two comparison figures.\n"
    "\n"
    "  --data KIND[,OPT]:PATH  training data (repeatable; its train split is used)\n"
    "  --out PNG               the loss-curve plot\n"
    "  --beale PNG             the Beale's-function plot (default: none)\n"
    "  --csv FILE              the loss curves as CSV (optimizer,epoch,loss)\n"
    "  --arch NAME|FILE        architecture (default lenet)\n"
    "  --optimizers LIST       comma-separated (default all eight:\n"
    "                          sgd,momentum,nag,adagrad,rmsprop,adadelta,adam,nadam)\n"
    "  --lr X                  one learning rate for all (default: each optimizer's\n"
    "                          PyTorch default; sgd, momentum and nag use 0.01)\n"
    "  --epochs N              (default 3)\n"
    "  --batch N               (default 64)\n"
    "  --limit N               at most N images per class (quick runs)\n"
    "  --seed N                (default 0)\n"
    "  --threads N             (default 1)\n"
    "  --beale-steps N         optimizer steps on Beale's function (default 3000)\n"
    "\n"
    "Prints one key=value line per optimizer (final loss, seconds).\n";

static double beale(double x, double y, double *gx, double *gy)
{
    double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
    if (gx) {
        *gx = 2 * t1 * (y - 1) + 2 * t2 * (y * y - 1) + 2 * t3 * (y * y * y - 1);
        *gy = 2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y * y;
    }
    return t1 * t1 + t2 * t2 + t3 * t3;
}

/* Learning rates for Beale's function: large enough to get somewhere in a
 * few thousand steps, small enough not to diverge from (1, 1.5). */
static float beale_lr(nn_opt_kind k)
{
    switch (k) {
    case NN_OPT_SGD: case NN_OPT_MOMENTUM: case NN_OPT_NAG: return 0.002f;
    case NN_OPT_ADAGRAD: return 0.5f;
    case NN_OPT_RMSPROP: return 0.005f;
    case NN_OPT_ADADELTA: return 1.0f;
    case NN_OPT_ADAM: case NN_OPT_NADAM: return 0.02f;
    case NN_OPT_COUNT: break;
    }
    return 0.01f;
}

static int beale_plot(const char *path, const nn_opt_kind *kinds, int nk, int steps)
{
    const int W = 900, H = 700;
    const double x0 = -1.0, x1 = 4.5, y0 = -1.5, y1 = 2.5;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    unsigned char *px = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    cairo_surface_flush(surf);
    /* log-scaled heat map with banded contours */
    for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++) {
            double x = x0 + (x1 - x0) * (i + 0.5) / W, y = y1 - (y1 - y0) * (j + 0.5) / H;
            double v = log10(1 + beale(x, y, NULL, NULL));
            double t = fmin(v / 5.0, 1.0);
            double band = fmod(v * 4, 1.0) < 0.08 ? 0.85 : 1.0;
            uint32_t r = (uint32_t)(255 * band * (0.95 - 0.55 * t));
            uint32_t g = (uint32_t)(255 * band * (0.97 - 0.45 * t));
            uint32_t b = (uint32_t)(255 * band * (1.00 - 0.20 * t));
            uint32_t *p = (uint32_t *)(px + (size_t)j * (size_t)stride) + i;
            *p = r << 16 | g << 8 | b;
        }
    cairo_surface_mark_dirty(surf);
    cairo_t *cr = cairo_create(surf);
    static const double pal[][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                    {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                    {0.89, 0.47, 0.76}, {0.30, 0.30, 0.30}};
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 13);
    int rc = 0;
    for (int k = 0; k < nk; k++) {
        nn_opt_config cfg;
        nn_opt_defaults(kinds[k], &cfg);
        cfg.lr = beale_lr(kinds[k]);
        nn_optim *opt = NULL;
        nn_error e = {{0}};
        if (nn_optim_new(&cfg, 2, &opt, &e)) {
            tr_error("%s", e.msg);
            rc = -1;
            break;
        }
        float p[2] = {1.0f, 1.5f}, g[2];
        cairo_set_source_rgb(cr, pal[k % 8][0], pal[k % 8][1], pal[k % 8][2]);
        cairo_set_line_width(cr, 2.2);
        cairo_move_to(cr, (p[0] - x0) / (x1 - x0) * W, (y1 - p[1]) / (y1 - y0) * H);
        for (int s = 0; s < steps; s++) {
            double gx, gy;
            beale(p[0], p[1], &gx, &gy);
            g[0] = (float)gx;
            g[1] = (float)gy;
            nn_optim_step(opt, p, g);
            if (!isfinite(p[0]) || !isfinite(p[1]) || fabsf(p[0]) > 1e3f || fabsf(p[1]) > 1e3f)
                break;
            cairo_line_to(cr, (p[0] - x0) / (x1 - x0) * W, (y1 - p[1]) / (y1 - y0) * H);
        }
        cairo_stroke(cr);
        double f = beale(p[0], p[1], NULL, NULL);
        printf("beale optimizer=%s lr=%g steps=%d x=%.4f y=%.4f f=%.3g dist=%.4f\n", nn_opt_name(kinds[k]),
               (double)cfg.lr, steps, (double)p[0], (double)p[1], f, hypot(p[0] - 3.0, p[1] - 0.5));
        cairo_rectangle(cr, W - 190, 20 + 20 * k, 24, 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        char lab[64];
        snprintf(lab, sizeof lab, "%s (lr %g)", nn_opt_name(kinds[k]), (double)cfg.lr);
        cairo_move_to(cr, W - 160, 26 + 20 * k);
        cairo_show_text(cr, lab);
        nn_optim_free(opt);
    }
    /* start and minimum */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_arc(cr, (1.0 - x0) / (x1 - x0) * W, (y1 - 1.5) / (y1 - y0) * H, 5, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
    double mx = (3.0 - x0) / (x1 - x0) * W, my = (y1 - 0.5) / (y1 - y0) * H;
    cairo_set_line_width(cr, 3);
    cairo_move_to(cr, mx - 8, my - 8);
    cairo_line_to(cr, mx + 8, my + 8);
    cairo_move_to(cr, mx + 8, my - 8);
    cairo_line_to(cr, mx - 8, my + 8);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, 20, 28);
    cairo_show_text(cr, "Beale's function: optimizer paths from (1, 1.5); minimum x at (3, 0.5)");
    char ax[128];
    snprintf(ax, sizeof ax, "x in [%g, %g], y in [%g, %g]", x0, x1, y0, y1);
    cairo_set_font_size(cr, 12);
    cairo_move_to(cr, 20, H - 14);
    cairo_show_text(cr, ax);
    cairo_destroy(cr);
    if (!rc)
        rc = tr_surface_save(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}

int tr_cmd_compare(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, 0, 'd'},   {"out", required_argument, 0, 'O'},
        {"beale", required_argument, 0, 'B'},  {"csv", required_argument, 0, 'c'},
        {"arch", required_argument, 0, 'a'},   {"optimizers", required_argument, 0, 'o'},
        {"lr", required_argument, 0, 'l'},     {"epochs", required_argument, 0, 'e'},
        {"batch", required_argument, 0, 'b'},  {"limit", required_argument, 0, 'L'},
        {"seed", required_argument, 0, 'r'},   {"threads", required_argument, 0, 't'},
        {"beale-steps", required_argument, 0, 'S'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "compare-optimizers", *out = NULL, *beale_out = NULL, *csv = NULL, *arch = "lenet";
    tr_data data;
    memset(&data, 0, sizeof data);
    nn_opt_kind kinds[NN_OPT_COUNT];
    int nk = NN_OPT_COUNT;
    for (int k = 0; k < nk; k++)
        kinds[k] = (nn_opt_kind)k;
    float lr = 0;
    int epochs = 3, batch = 64, seed = 0, threads = 1, steps = 3000, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(compare_help, stdout); return TR_EXIT_OK;
        case 'd': if (tr_data_add(&data, optarg, cmd)) return TR_EXIT_USAGE; break;
        case 'O': out = optarg; break;
        case 'B': beale_out = optarg; break;
        case 'c': csv = optarg; break;
        case 'a': arch = optarg; break;
        case 'o': {
            nk = 0;
            char buf[512];
            snprintf(buf, sizeof buf, "%s", optarg);
            char *save = NULL;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (nk == NN_OPT_COUNT || nn_opt_from_name(t, &kinds[nk]))
                    return tr_usage_error(cmd, "unknown optimizer '%s' in --optimizers", t);
                nk++;
            }
            if (!nk)
                return tr_usage_error(cmd, "--optimizers is empty");
            break;
        }
        case 'l':
            if (tr_parse_float(optarg, &lr) || lr <= 0)
                return tr_usage_error(cmd, "--lr wants a positive number, not '%s'", optarg);
            break;
        case 'e':
            if (tr_parse_int(optarg, 1, 1000, &epochs))
                return tr_usage_error(cmd, "--epochs wants 1 to 1000, not '%s'", optarg);
            break;
        case 'b':
            if (tr_parse_int(optarg, 1, 4096, &batch))
                return tr_usage_error(cmd, "--batch wants 1 to 4096, not '%s'", optarg);
            break;
        case 'L':
            if (tr_parse_int(optarg, 1, 1 << 30, &data.limit))
                return tr_usage_error(cmd, "--limit wants a positive count, not '%s'", optarg);
            break;
        case 'r':
            if (tr_parse_int(optarg, 0, 2147483647, &seed))
                return tr_usage_error(cmd, "--seed wants a number >= 0, not '%s'", optarg);
            break;
        case 't':
            if (tr_parse_int(optarg, 1, 256, &threads))
                return tr_usage_error(cmd, "--threads wants 1 to 256, not '%s'", optarg);
            break;
        case 'S':
            if (tr_parse_int(optarg, 1, 1000000, &steps))
                return tr_usage_error(cmd, "--beale-steps wants 1 to 1000000, not '%s'", optarg);
            break;
        case ':': return tr_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default: return tr_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tr_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out && !beale_out)
        return tr_usage_error(cmd, "give --out PNG (loss curves) and/or --beale PNG");
    if (out && !data.n)
        return tr_usage_error(cmd, "--out needs --data to train on");
    int n_classes = data.n ? tr_data_classes(&data) : 2;
    if (!n_classes)
        return tr_usage_error(cmd, "the --data sets disagree on classes");

    if (beale_out && beale_plot(beale_out, kinds, nk, steps))
        return TR_EXIT_FAIL;
    if (!out)
        return TR_EXIT_OK;

    nn_net *net = NULL;
    nn_error e = {{0}};
    int n_out = n_classes == 2 ? 1 : n_classes;
    if (nn_net_builtin(arch, n_out, &net, &e)) {
        tr_error("--arch %s: %s", arch, e.msg);
        return TR_EXIT_FAIL;
    }
    ds_set s;
    if (tr_data_load(&data, nn_net_input(net), DS_LOAD_TRAIN, &s)) {
        nn_net_free(net);
        return TR_EXIT_FAIL;
    }
    nn_net_free(net);
    int rc = TR_EXIT_FAIL;
    size_t px = (size_t)s.width * (size_t)s.height;
    int n = s.n, n_batches = (n + batch - 1) / batch;
    /* ~25 points an epoch: the mean loss of each stretch of batches */
    int chunk = n_batches / 25 > 0 ? n_batches / 25 : 1;
    int pts_per_epoch = (n_batches + chunk - 1) / chunk;
    int npts = pts_per_epoch * epochs;
    double *xs = malloc((size_t)npts * sizeof *xs), *ys = malloc((size_t)nk * (size_t)npts * sizeof *ys);
    int *idx = malloc((size_t)n * sizeof *idx), *labels = malloc((size_t)batch * sizeof *labels);
    float *x = malloc((size_t)batch * px * sizeof *x);
    tr_series *ser = calloc((size_t)nk, sizeof *ser);
    char *csvbuf = NULL;
    size_t csvlen = 0, csvcap = 0;
    if (!xs || !ys || !idx || !labels || !x || !ser) {
        tr_error("out of memory");
        goto done;
    }
    float cw[16];
    long counts[16] = {0}, cmax = 0;
    for (int i = 0; i < n; i++)
        counts[s.labels[i]]++;
    for (int k = 0; k < n_classes; k++)
        cmax = counts[k] > cmax ? counts[k] : cmax;
    for (int k = 0; k < n_classes; k++)
        cw[k] = counts[k] ? (float)cmax / (float)counts[k] : 1.0f;
    for (int k = 0; k < nk; k++) {
        if (nn_net_builtin(arch, n_out, &net, &e)) {
            tr_error("%s", e.msg);
            goto done;
        }
        nn_net_init_params(net, (uint64_t)seed);
        nn_opt_config ocfg;
        nn_opt_defaults(kinds[k], &ocfg);
        if (lr > 0)
            ocfg.lr = lr;
        else if (kinds[k] == NN_OPT_SGD || kinds[k] == NN_OPT_MOMENTUM || kinds[k] == NN_OPT_NAG)
            ocfg.lr = 0.01f;
        nn_trainer_config tcfg = {.max_batch = batch, .threads = threads, .class_weights = cw,
                                  .seed = (uint64_t)seed};
        nn_trainer *tr = NULL;
        if (nn_trainer_new(net, &tcfg, &ocfg, &tr, &e)) {
            tr_error("%s", e.msg);
            nn_net_free(net);
            goto done;
        }
        const nn_input_spec *spec = nn_net_input(net);
        nn_rng rng;
        nn_rng_seed(&rng, (uint64_t)seed * 2 + 1);
        double t0 = tr_now();
        int pt = 0;
        double last = 0;
        for (int ep = 0; ep < epochs; ep++) {
            for (int i = 0; i < n; i++)
                idx[i] = i;
            nn_rng_shuffle(&rng, idx, (size_t)n);
            double acc_loss = 0;
            int acc_n = 0;
            for (int b = 0; b < n_batches; b++) {
                int off = b * batch, nb = n - off < batch ? n - off : batch;
                for (int i = 0; i < nb; i++) {
                    nn_normalize_u8(spec, s.pixels + (size_t)idx[off + i] * px, x + (size_t)i * px);
                    labels[i] = s.labels[idx[off + i]];
                }
                float l = nn_trainer_step(tr, x, labels, nb, NULL);
                acc_loss += isfinite(l) ? l : 1e3;
                acc_n++;
                if (acc_n == chunk || b + 1 == n_batches) {
                    xs[pt] = ep + (double)(b + 1) / n_batches;
                    ys[(size_t)k * (size_t)npts + (size_t)pt] = acc_loss / acc_n;
                    last = acc_loss / acc_n;
                    pt++;
                    acc_loss = 0;
                    acc_n = 0;
                }
            }
        }
        double dt = tr_now() - t0;
        printf("optimizer=%s lr=%g epochs=%d final_loss=%.5f train_s=%.2f\n", nn_opt_name(kinds[k]),
               (double)ocfg.lr, epochs, last, dt);
        fflush(stdout);
        ser[k] = (tr_series){nn_opt_name(kinds[k]), xs, ys + (size_t)k * (size_t)npts, pt, 0};
        nn_trainer_free(tr);
        nn_net_free(net);
        net = NULL;
        if (csv) {
            for (int i = 0; i < pt; i++) {
                if (csvlen + 128 > csvcap) {
                    csvcap = csvcap ? csvcap * 2 : 65536;
                    char *nb = realloc(csvbuf, csvcap);
                    if (!nb)
                        goto done;
                    csvbuf = nb;
                    if (!csvlen)
                        csvlen = (size_t)snprintf(csvbuf, csvcap, "optimizer,epoch,loss\n");
                }
                csvlen += (size_t)snprintf(csvbuf + csvlen, csvcap - csvlen, "%s,%.4f,%.6f\n",
                                           nn_opt_name(kinds[k]), xs[i], ys[(size_t)k * (size_t)npts + (size_t)i]);
            }
        }
    }
    char title[600];
    snprintf(title, sizeof title, "training loss of %s, batch %d, by optimizer", arch, batch);
    if (tr_plot_png(out, 1000, 650, title, "epoch", "training loss (log scale)", ser, nk, 1))
        goto done;
    if (csv && csvbuf && nn_write_file_atomic(csv, csvbuf, csvlen, &e)) {
        tr_error("%s", e.msg);
        goto done;
    }
    rc = TR_EXIT_OK;
done:
    free(xs);
    free(ys);
    free(idx);
    free(labels);
    free(x);
    free(ser);
    free(csvbuf);
    ds_set_free(&s);
    return rc;
}
