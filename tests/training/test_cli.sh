#!/bin/sh
# smile-train's command line: help texts, bad arguments (exit 2 with a
# message), a short fit producing a loadable model, eval --json keys, and
# bit-exact resumption (after an epoch, and after an interruption mid-epoch).
# --positive on FER2013, and resumption with batchnorm recalibration.
# Usage: test_cli.sh SMILE_TRAIN [args|fit|resume] [SHIPPED_MODEL (fit)]
set -u
ST=$1
WHAT=${2:-args}
SHIPPED=${3:-}
# cairo's text drawing leaves fontconfig's caches allocated at exit: not ours.
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
. "$(dirname "$0")/cli_helpers.sh"

if [ "$WHAT" = args ]; then
    expect 0 "Usage: smile-train COMMAND" "$ST" --help
    expect 0 "--resume" "$ST" fit --help
    expect 0 "balanced_accuracy" "$ST" eval --help
    expect 0 "Beale" "$ST" compare-optimizers --help
    expect 2 "Usage" "$ST"
    expect 2 "unknown command 'fly'" "$ST" fly
    expect 2 "no --data" "$ST" fit --out "$T/m.nnm"
    expect 2 "no --out" "$ST" fit --data smiles:/x
    expect 2 "unknown kind 'pictures'" "$ST" fit --data pictures:/x --out "$T/m.nnm"
    expect 2 "--epochs wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --epochs 0
    expect 2 "--epochs wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --epochs 3x
    expect 2 "unknown --optimizer 'adamw'" "$ST" fit --data smiles:/x --out "$T/m.nnm" --optimizer adamw
    expect 0 "--label-smoothing" "$ST" fit --help
    expect 2 "--ema wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --ema 1
    expect 2 "--label-smoothing wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --label-smoothing -0.1
    expect 2 "--schedule is none, step, plateau or cosine" "$ST" fit --data smiles:/x --out "$T/m.nnm" --schedule linear
    expect 2 "--mixup wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --mixup -1
    expect 2 "--erase wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --augment --erase 1.5
    expect 2 "give --augment too" "$ST" fit --data smiles:/x --out "$T/m.nnm" --erase 0.5
    expect 2 "--augment-strength wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --augment --augment-strength 0
    expect 2 "give --augment too" "$ST" fit --data smiles:/x --out "$T/m.nnm" --augment-strength 0.5
    expect 2 "--drop-hardest wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --drop-hardest 0.5
    expect 2 "--drop-warmup wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --drop-warmup -1
    expect 2 "--teacher-weight wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --teacher "$0" --teacher-weight 1.5
    expect 2 "--teacher $T/none.nnm: No such file" "$ST" fit --data smiles:/x --out "$T/m.nnm" --teacher "$T/none.nnm"
    expect 2 "do not combine" "$ST" fit --data smiles:/x --out "$T/m.nnm" --teacher "$0" --mixup 0.2
    expect 2 "--sam wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --sam -0.05
    expect 0 "--sam RHO" "$ST" fit --help
    expect 2 "--lr wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --lr -1
    expect 2 "--crop wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --crop 1,2
    expect 2 "unknown option '--frobnicate'" "$ST" fit --data smiles:/x --out "$T/m.nnm" --frobnicate
    expect 2 "needs a value" "$ST" fit --data smiles:/x --out "$T/m.nnm" --batch
    expect 2 "disagree on classes" "$ST" fit --data smiles:/x --data mnist:/y --out "$T/m.nnm"
    expect 2 "does not exist" "$ST" fit --data smiles:/x --out "$T/no/such/m.nnm"
    expect 2 "no --model" "$ST" eval --data smiles:/x
    expect 2 "--split is" "$ST" eval --model m --data smiles:/x --split dev
    expect 2 "unknown optimizer 'x'" "$ST" compare-optimizers --beale "$T/b.png" --optimizers adam,x
    # runtime failures are exit 1 with the path
    expect 1 "/nonexistent/smiles" "$ST" fit --data smiles:/nonexistent/smiles --out "$T/m.nnm"
    printf 'garbage' >"$T/bad.nnm"
    expect 1 "$T/bad.nnm" "$ST" eval --model "$T/bad.nnm" --data smiles:/x
    # Beale's function alone needs no data
    expect 0 "beale optimizer=adam" "$ST" compare-optimizers --beale "$T/b.png" --beale-steps 200
    [ -s "$T/b.png" ] || bad "no Beale plot"
    exit $fail
fi

need_smiles
COMMON="--data smiles:$SMILES --arch lenet --batch 16 --limit 48 --seed 3 --quiet"

if [ "$WHAT" = fit ]; then
    "$ST" fit $COMMON --epochs 2 --augment --schedule plateau --out "$T/m.nnm" --report "$T/rep" \
        || bad "short fit failed"
    [ -s "$T/m.nnm" ] || bad "no model written"
    [ -s "$T/m.nnm.ckpt" ] || bad "no checkpoint written"
    head -1 "$T/rep/curves.csv" | grep -q '^epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_s' \
        || bad "curves.csv header: $(head -1 "$T/rep/curves.csv")"
    [ "$(wc -l <"$T/rep/curves.csv")" -eq 3 ] || bad "curves.csv should have 2 epochs"
    [ -s "$T/rep/curves.png" ] || bad "no curves.png"
    grep -q '"best_val_accuracy"' "$T/rep/metrics.json" || bad "metrics.json lacks best_val_accuracy"
    # --schedule cosine: the rate of epoch e is lr * (1 + cos(pi * (e - 1) / E)) / 2
    "$ST" fit $COMMON --epochs 4 --lr 0.002 --schedule cosine --out "$T/c.nnm" --report "$T/crep" \
        || bad "fit --schedule cosine failed"
    lrs=$(awk -F, 'NR > 1 { printf "%s%.6g", (NR > 2 ? " " : ""), $7 }' "$T/crep/curves.csv")
    [ "$lrs" = "0.002 0.00170711 0.001 0.000292893" ] || bad "cosine rates per epoch: '$lrs'"
    "$ST" eval --model "$T/m.nnm" --data "smiles:$SMILES" --limit 40 --json >"$T/eval.json" 2>"$T/eval.err" \
        || bad "eval failed: $(cat "$T/eval.err")"
    for k in accuracy balanced_accuracy precision recall f1 auc n confusion; do
        grep -q "\"$k\":" "$T/eval.json" || bad "eval --json lacks $k"
    done
    grep -q '"n": 80,' "$T/eval.json" || bad "eval should see 40+40 test images: $(cat "$T/eval.json")"
    acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$T/eval.json" | head -1)
    [ -n "$acc" ] || bad "no accuracy number"
    # --predictions: a row an image, named by its file, agreeing with the
    # metrics (the shipped model, whose probabilities spread over both sides)
    [ -f "$SHIPPED" ] || bad "no shipped model given: '$SHIPPED'"
    "$ST" eval --model "$SHIPPED" --data "smiles:$SMILES" --limit 40 --json >"$T/eval1.json" 2>/dev/null
    "$ST" eval --model "$SHIPPED" --data "smiles:$SMILES" --limit 40 --json \
        --predictions "$T/pred.csv" >"$T/eval2.json" 2>/dev/null || bad "eval --predictions failed"
    cmp -s "$T/eval1.json" "$T/eval2.json" || bad "--predictions changed the metrics"
    acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$T/eval2.json" | head -1)
    awk -F, 'NR > 1 && $4 < 0.5 { lo++ } NR > 1 && $4 >= 0.5 { hi++ } END { exit !(lo > 5 && hi > 5) }' \
        "$T/pred.csv" || bad "the shipped model's probabilities do not spread over 0.5"
    [ "$(head -1 "$T/pred.csv")" = "image,label,predicted,probability" ] ||
        bad "predictions header: $(head -1 "$T/pred.csv")"
    [ "$(wc -l <"$T/pred.csv")" -eq 81 ] || bad "predictions should have 80 rows"
    awk -F, 'NR > 1 && !($1 ~ /SMILEs\/(positives|negatives)\/.*[05]\.jpg$/) { exit 1 }' "$T/pred.csv" ||
        bad "predictions name files outside the test split: $(sed -n 2p "$T/pred.csv")"
    csv_acc=$(awk -F, 'NR > 1 { n++; hit += ($2 == $3); if (($4 >= 0.5) != $3) bad = 1 }
        END { if (bad) print "threshold"; else printf "%.6f", hit / n }' "$T/pred.csv")
    [ "$csv_acc" = "$acc" ] || bad "accuracy from predictions.csv $csv_acc, eval says $acc"
    expect 1 "/nonexistent/dir/p.csv" "$ST" eval --model "$SHIPPED" --data "smiles:$SMILES" --limit 4 \
        --predictions /nonexistent/dir/p.csv
    "$ST" eval --model "$T/m.nnm" --data "smiles:$SMILES" --limit 20 >"$T/eval.txt" 2>&1 \
        || bad "plain eval failed"
    grep -q "ROC AUC" "$T/eval.txt" || bad "plain eval lacks ROC AUC"
    # --flip-average is saved in the model: eval then scores two views a face
    # and different numbers; --single-view measures the same weights without it
    "$ST" fit $COMMON --epochs 1 --flip-average --out "$T/f.nnm" || bad "fit --flip-average failed"
    ev() { "$ST" eval --data "smiles:$SMILES" --limit 40 --json "$@" 2>/dev/null; }
    ev --model "$T/f.nnm" >"$T/f2.json"
    ev --model "$T/f.nnm" --single-view >"$T/f1.json"
    grep -q '"views": 2,' "$T/f2.json" || bad "a --flip-average model is not scored over 2 views"
    grep -q '"views": 1,' "$T/f1.json" || bad "--single-view still scores 2 views"
    [ "$(grep '"loss"' "$T/f2.json")" != "$(grep '"loss"' "$T/f1.json")" ] ||
        bad "averaging over the mirror image changed no loss"
    # --positive: which class folders count as smiling (FER2013's test split:
    # happy alone by default, then neutral and sad)
    FER=${SMILE_DATASETS:-}/fer2013
    if [ -d "$FER" ]; then
        positives() { # the second row of the confusion matrix: smiling images
            "$ST" eval --model "$T/m.nnm" --data "folders:$FER" --json "$@" 2>/dev/null |
                tr -d ' \n' | sed -n 's/.*"confusion":\[\[[0-9]*,[0-9]*\],\[\([0-9]*\),\([0-9]*\)\]\].*/\1 \2/p' |
                awk '{print $1 + $2}'
        }
        count() { find "$FER/test/$1" -type f | wc -l; }
        want=$(count happy)
        got=$(positives)
        [ "$got" = "$want" ] || bad "FER2013 by default: $want smiling (happy), got '$got'"
        want=$(($(count neutral) + $(count sad)))
        got=$(positives --positive neutral,sad)
        [ "$got" = "$want" ] || bad "--positive neutral,sad: $want smiling, got '$got'"
        expect 2 "--positive" "$ST" eval --model "$T/m.nnm" --data "folders:$FER" --positive ""
    fi
    exit $fail
fi

# resume: 3 epochs straight == 1 epoch + resume to 3 == interrupted at batch 4 + resume
"$ST" fit $COMMON --epochs 3 --out "$T/a.nnm" || bad "fit a failed"
"$ST" fit $COMMON --epochs 1 --out "$T/b.nnm" || bad "fit b failed"
"$ST" fit $COMMON --epochs 3 --out "$T/b.nnm" --resume "$T/b.nnm.ckpt" || bad "resume b failed"
cmp "$T/a.nnm" "$T/b.nnm" || bad "1 epoch + resume differs from 3 epochs"
SMILE_TRAIN_INTERRUPT_AFTER=4 "$ST" fit $COMMON --epochs 3 --out "$T/c.nnm" 2>"$T/c.err"
rc=$?
[ $rc -eq 130 ] || bad "an interrupted fit should exit 130, not $rc"
grep -q "resume" "$T/c.err" || bad "the interruption message should say how to resume"
"$ST" fit $COMMON --epochs 3 --out "$T/c.nnm" --resume "$T/c.nnm.ckpt" || bad "resume c failed"
cmp "$T/a.nnm" "$T/c.nnm" || bad "interrupted + resume differs from 3 epochs"
# resume_matches WHAT STRAIGHT OUT N FIT-OPTION...: a fit interrupted after
# N batches and resumed writes the same OUT as the straight run's STRAIGHT
resume_matches() {
    what=$1 straight=$2 out=$3 n=$4
    shift 4
    SMILE_TRAIN_INTERRUPT_AFTER=$n "$ST" fit "$@" --out "$out" 2>/dev/null
    [ $? -eq 130 ] || bad "$what: the interrupted fit should exit 130"
    "$ST" fit "$@" --out "$out" --resume "$out.ckpt" || bad "$what: resume of $out failed"
    cmp "$straight" "$out" || bad "$what: interrupted + resume differs from a straight run"
}
# resume_refused PATTERN WHAT CKPT OUT FIT-OPTION...: a fit resumed from CKPT
# of other options exits 1 and says PATTERN (an extended regex)
resume_refused() {
    pattern=$1 what=$2 ckpt=$3 out=$4
    shift 4
    "$ST" fit "$@" --out "$out" --resume "$ckpt" 2>"$out.err"
    [ $? -eq 1 ] && grep -qE "$pattern" "$out.err" || bad "$what was not refused"
}
# the same with batchnorm, whose statistics are recalibrated after each epoch
printf 'input 28 28 1\nconv 4 3 pad=same\nbatchnorm\nrelu\nmaxpool 2\nflatten\ndense 1\nsigmoid\n' >"$T/bn.arch"
BN="--data smiles:$SMILES --arch $T/bn.arch --batch 16 --limit 48 --seed 3 --quiet --epochs 2"
"$ST" fit $BN --out "$T/e.nnm" || bad "fit e (batchnorm) failed"
resume_matches batchnorm "$T/e.nnm" "$T/f.nnm" 7 $BN
"$ST" fit $BN --bn-recalibrate 0 --out "$T/g.nnm" || bad "fit g (no recalibration) failed"
cmp -s "$T/e.nnm" "$T/g.nnm" && bad "--bn-recalibrate 0 made the same model as the default"
# weight averaging, label smoothing and mixup: resumed bit-exactly, the
# averaged weights are what is saved, a checkpoint without averaging is refused
AV="$BN --ema 0.9 --label-smoothing 0.1 --mixup 0.4"
"$ST" fit $AV --out "$T/h.nnm" || bad "fit h (--ema, --label-smoothing, --mixup) failed"
resume_matches --ema "$T/h.nnm" "$T/i.nnm" 5 $AV
cmp -s "$T/e.nnm" "$T/h.nnm" && bad "--ema --label-smoothing --mixup made the same model as plain training"
"$ST" fit $BN --ema 0.9 --label-smoothing 0.1 --out "$T/l.nnm" || bad "fit l (no mixup) failed"
cmp -s "$T/h.nnm" "$T/l.nnm" && bad "--mixup 0.4 made the same model as no mixup"
"$ST" fit $BN --label-smoothing 0.1 --out "$T/j.nnm" || bad "fit j (--label-smoothing) failed"
cmp -s "$T/l.nnm" "$T/j.nnm" && bad "--ema 0.9 saved the same model as no averaging"
resume_refused "other data or options|averaged" "an --ema resume from a plain checkpoint" "$T/e.nnm.ckpt" "$T/k.nnm" $AV
# a decay the run is too short to reach is said, with the decays that all act alike
BNV="--data smiles:$SMILES --arch $T/bn.arch --batch 16 --limit 48 --seed 3 --epochs 1"
"$ST" fit $BNV --ema 0.9 --out "$T/q.nnm" 2>"$T/q.err" || bad "fit q (--ema 0.9, one epoch) failed"
grep -qE "ema 0.9 would take over .* after 80 steps, and this run has [0-9]+: every decay above 0\.[0-9]+ gives the same" "$T/q.err" ||
    bad "a one-epoch --ema 0.9 run should say the warm-up sets its average: $(cat "$T/q.err")"
"$ST" fit $BNV --ema 0.2 --out "$T/q.nnm" 2>"$T/q.err" || bad "fit q (--ema 0.2) failed"
grep -q "take over" "$T/q.err" && bad "--ema 0.2 is reached at step 2 but fit said it is not"
# random erasing: changes the model, resumes bit-exactly, is part of the options
"$ST" fit $BN --augment --out "$T/m.nnm" || bad "fit m (--augment) failed"
"$ST" fit $BN --augment --erase 0.5 --out "$T/n.nnm" || bad "fit n (--erase 0.5) failed"
cmp -s "$T/m.nnm" "$T/n.nnm" && bad "--erase 0.5 made the same model as --augment alone"
resume_matches --erase "$T/n.nnm" "$T/o.nnm" 5 $BN --augment --erase 0.5
# loss truncation: after the warm-up it changes the weights, and resumes
# bit-exactly; a warm-up as long as the run gives the plain weights (the
# files differ only in the metadata naming the option, so compare predictions)
predict() { "$ST" eval --model "$1" --data "smiles:$SMILES" --limit 20 --predictions "$2" >/dev/null 2>&1; }
"$ST" fit $BN --drop-hardest 0.25 --drop-warmup 1 --out "$T/q.nnm" || bad "fit q (--drop-hardest) failed"
"$ST" fit $BN --drop-hardest 0.25 --drop-warmup 2 --out "$T/s.nnm" || bad "fit s (warm-up 2) failed"
predict "$T/e.nnm" "$T/e.csv" && predict "$T/q.nnm" "$T/q.csv" && predict "$T/s.nnm" "$T/s.csv" ||
    bad "eval --predictions of e, q, s failed"
cmp -s "$T/e.csv" "$T/q.csv" && bad "--drop-hardest 0.25 gave the same predictions as plain training"
cmp -s "$T/e.csv" "$T/s.csv" || bad "--drop-hardest with a warm-up as long as the run changed the weights"
resume_matches --drop-hardest "$T/q.nnm" "$T/r.nnm" 4 $BN --drop-hardest 0.25 --drop-warmup 1
resume_refused "other data or options" "a --drop-hardest resume from a plain checkpoint" "$T/e.nnm.ckpt" "$T/t.nnm" $BN --drop-hardest 0.25 --drop-warmup 1
# augmentation strength: 1 is the default bit for bit, 0.5 changes the model
# and resumes bit-exactly, and a checkpoint of the default strength is refused
"$ST" fit $BN --augment --augment-strength 1 --out "$T/m1.nnm" || bad "fit m1 (--augment-strength 1) failed"
cmp -s "$T/m.nnm" "$T/m1.nnm" || bad "--augment-strength 1 changed the model"
"$ST" fit $BN --augment --augment-strength 0.5 --out "$T/m2.nnm" || bad "fit m2 (--augment-strength 0.5) failed"
predict "$T/m.nnm" "$T/m.csv" && predict "$T/m2.nnm" "$T/m2.csv" || bad "eval --predictions of m, m2 failed"
cmp -s "$T/m.csv" "$T/m2.csv" && bad "--augment-strength 0.5 gave the same predictions as 1"
resume_matches --augment-strength "$T/m2.nnm" "$T/m3.nnm" 5 $BN --augment --augment-strength 0.5
resume_refused "other data or options" "an --augment-strength resume from a default checkpoint" "$T/m.nnm.ckpt" "$T/m4.nnm" $BN --augment --augment-strength 0.5
resume_refused "other data or options" "an --erase resume from a checkpoint without it" "$T/m.nnm.ckpt" "$T/p.nnm" $BN --augment --erase 0.5
# distillation: a teacher weight of 0 gives the plain predictions, a real one
# changes them and resumes bit-exactly; a teacher that sees another input, or
# a checkpoint without the teacher, is refused
"$ST" fit $BN --teacher "$T/e.nnm" --teacher-weight 0 --out "$T/u.nnm" || bad "fit u (--teacher-weight 0) failed"
"$ST" fit $BN --teacher "$T/e.nnm" --teacher-weight 0.8 --out "$T/v.nnm" || bad "fit v (--teacher) failed"
predict "$T/u.nnm" "$T/u.csv" && predict "$T/v.nnm" "$T/v.csv" || bad "eval --predictions of u, v failed"
cmp -s "$T/e.csv" "$T/u.csv" || bad "--teacher-weight 0 changed the predictions"
cmp -s "$T/e.csv" "$T/v.csv" && bad "--teacher-weight 0.8 gave the same predictions as plain training"
resume_matches --teacher "$T/v.nnm" "$T/w.nnm" 5 $BN --teacher "$T/e.nnm" --teacher-weight 0.8
# two teachers, the same one twice: their mean is that teacher
"$ST" fit $BN --teacher "$T/e.nnm" --teacher "$T/e.nnm" --teacher-weight 0.8 --out "$T/v2.nnm" || bad "fit v2 (two teachers) failed"
predict "$T/v2.nnm" "$T/v2.csv" && cmp -s "$T/v.csv" "$T/v2.csv" || bad "the mean of one teacher twice taught otherwise than the teacher"
"$ST" fit $BN --teacher "$T/e.nnm" --teacher "$T/h.nnm" --teacher-weight 0.8 --out "$T/v3.nnm" || bad "fit v3 (two teachers) failed"
predict "$T/v3.nnm" "$T/v3.csv" && ! cmp -s "$T/v.csv" "$T/v3.csv" || bad "a second, other teacher changed nothing"
resume_refused "other data or options" "a --teacher resume from a plain checkpoint" "$T/e.nnm.ckpt" "$T/x.nnm" $BN --teacher "$T/e.nnm" --teacher-weight 0.8
# sharpness-aware steps: a radius of 0 is plain training, 0.05 changes the
# predictions and resumes bit-exactly, a plain checkpoint is refused
"$ST" fit $BN --sam 0 --out "$T/sa0.nnm" || bad "fit sa0 (--sam 0) failed"
cmp -s "$T/e.nnm" "$T/sa0.nnm" || bad "--sam 0 changed the model"
"$ST" fit $BN --sam 0.05 --out "$T/sa.nnm" || bad "fit sa (--sam 0.05) failed"
predict "$T/sa.nnm" "$T/sa.csv" || bad "eval --predictions of sa failed"
cmp -s "$T/e.csv" "$T/sa.csv" && bad "--sam 0.05 gave the same predictions as plain training"
resume_matches --sam "$T/sa.nnm" "$T/sb.nnm" 5 $BN --sam 0.05
resume_refused "other data or options" "a --sam resume from a plain checkpoint" "$T/e.nnm.ckpt" "$T/sc.nnm" $BN --sam 0.05
# weight decay, L2 or decoupled (AdamW): each changes the model, the
# decoupled one resumes bit-exactly, and a checkpoint of the other is refused
"$ST" fit $BN --weight-decay 0.5 --out "$T/wl.nnm" || bad "fit wl (--weight-decay) failed"
"$ST" fit $BN --weight-decay 0.5 --decoupled-decay --out "$T/wd.nnm" || bad "fit wd (--decoupled-decay) failed"
predict "$T/wl.nnm" "$T/wl.csv" && predict "$T/wd.nnm" "$T/wd.csv" || bad "eval --predictions of wl, wd failed"
cmp -s "$T/e.csv" "$T/wl.csv" && bad "--weight-decay 0.5 gave the same predictions as plain training"
cmp -s "$T/wl.csv" "$T/wd.csv" && bad "--decoupled-decay gave the same predictions as L2 decay"
resume_matches --decoupled-decay "$T/wd.nnm" "$T/we.nnm" 5 $BN --weight-decay 0.5 --decoupled-decay
resume_refused "other data or options" "a --decoupled-decay resume from an L2 checkpoint" "$T/wl.nnm.ckpt" "$T/wf.nnm" $BN --weight-decay 0.5 --decoupled-decay
resume_refused "other data or options" "a --weight-decay resume from a plain checkpoint" "$T/e.nnm.ckpt" "$T/wg.nnm" $BN --weight-decay 0.5
expect 2 "give --weight-decay" "$ST" fit $BN --decoupled-decay --out "$T/wh.nnm"
printf 'input 20 20 1\nconv 2 3\nrelu\nflatten\ndense 1\nsigmoid\n' >"$T/small.arch"
"$ST" fit --data "smiles:$SMILES" --arch "$T/small.arch" --limit 16 --epochs 1 --quiet --out "$T/z.nnm" || bad "fit z failed"
"$ST" fit $BN --teacher "$T/z.nnm" --out "$T/y.nnm" 2>"$T/y.err"
[ $? -eq 1 ] && grep -q "cannot teach this net: its input is" "$T/y.err" || bad "a teacher of another input size was not refused: $(cat "$T/y.err")"
# a checkpoint of other options is refused
resume_refused "other data or options" "a mismatched resume" "$T/b.nnm.ckpt" "$T/d.nnm" $COMMON --epochs 3 --lr 0.01
exit $fail
