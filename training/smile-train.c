/* smile-train.c - the training CLI: subcommand dispatch and the overall help. */
#include <string.h>

#include "train.h"

static const char main_help[] =
    "Usage: smile-train COMMAND [OPTION...]\n"
    "\n"
    "Train, evaluate and compare the smile-detector CNNs.\n"
    "\n"
    "Commands:\n"
    "  fit                 train a network on one or more data sets and save the model\n"
    "  eval                measure a saved model on a data set's test (or train) split\n"
    "  compare-optimizers  train one architecture with each optimizer and plot the loss\n"
    "                      curves, and the optimizers' paths on Beale's function\n"
    "  boxes               where the face detector's box falls on a data set's images\n"
    "  audit               list training images that are probably mislabelled, from\n"
    "                      out-of-fold predictions (fit --val-fold, --val-predictions)\n"
    "\n"
    "Run 'smile-train COMMAND --help' for a command's options; 'man smile-train'\n"
    "for the whole manual.\n"
    "\n"
    "Data sets are named KIND[,OPTION...]:PATH, where KIND is\n"
    "  smiles   SMILEsmileD (PATH/SMILEs/{positives/positives7,negatives/negatives7}/N.jpg)\n"
    "  happy    Happy House NumPy arrays (PATH/{x,y}_{train,test}.npy)\n"
    "  mnist    MNIST IDX files (PATH/{train,test}-{images-idx3,labels-idx1}-ubyte)\n"
    "  folders  one folder per class (PATH/CLASS/*.jpg|png or PATH/{train,test}/CLASS/...);\n"
    "           folders named happy, happiness, smile, positives or 1 count as smiling\n"
    "and OPTION is 'detect' (find the face in whole photos with the face detector),\n"
    "'box=X/Y/W/H' (where the face detector's box falls on these images, as fractions\n"
    "of the image side) or 'positive=NAME+NAME' (the smiling folders).\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 bad arguments, 130 interrupted (a checkpoint\n"
    "was written; continue with 'fit ... --resume CHECKPOINT').\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return TR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(main_help, stdout);
        return TR_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        puts("smile-train 0.1.0");
        return TR_EXIT_OK;
    }
    if (!strcmp(cmd, "fit"))
        return tr_cmd_fit(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return tr_cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return tr_cmd_audit(argc - 1, argv + 1);
    if (!strcmp(cmd, "boxes"))
        return tr_cmd_boxes(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare-optimizers"))
        return tr_cmd_compare(argc - 1, argv + 1);
    fprintf(stderr, "smile-train: unknown command '%s' (fit, eval, compare-optimizers)\n"
                    "Try 'smile-train --help'.\n", cmd);
    return TR_EXIT_USAGE;
}
