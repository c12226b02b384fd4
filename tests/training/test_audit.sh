#!/bin/sh
# Finding mislabelled training images: 'smile-train audit' on hand-made
# predictions (confident learning's thresholds, suspects, merging, errors),
# and on SMILEsmileD fit's --val-fold folds, --val-predictions and --exclude.
# Usage: test_audit.sh SMILE_TRAIN [audit|folds]
set -u
ST=$1
WHAT=${2:-audit}
. "$(dirname "$0")/cli_helpers.sh"

if [ "$WHAT" = audit ]; then
    # Labelled 0: p1 0.1, 0.2, 0.9, 0.55; labelled 1: p1 0.9, 0.8, 0.05.
    # Thresholds: t0 = mean p0 of the 0s = (0.9 + 0.8 + 0.1 + 0.45) / 4 =
    # 0.5625, t1 = (0.9 + 0.8 + 0.05) / 3 = 0.583333. c.jpg (p1 0.9 >= t1)
    # looks 1; f.jpg (p0 0.95 >= t0) looks 0; g.jpg reaches neither threshold
    # (though p1 > 0.5); the rest are confidently their own label.
    cat >"$T/a.csv" <<'EOF'
image,label,predicted,probability
a.jpg,0,0,0.100000
b.jpg,0,0,0.200000
c.jpg,0,1,0.900000
g.jpg,0,1,0.550000
d.jpg,1,1,0.900000
"e, quoted.jpg",1,1,0.800000
f.jpg,1,0,0.050000
EOF
    "$ST" audit --out "$T/s.csv" "$T/a.csv" >"$T/report" 2>&1 || bad "audit failed: $(cat "$T/report")"
    printf 'image,label,suggested,label_probability\nf.jpg,1,0,0.050000\nc.jpg,0,1,0.100000\n' >"$T/want"
    cmp -s "$T/want" "$T/s.csv" || bad "suspects: $(cat "$T/s.csv")"
    grep -q "t0 0.5625 t1 0.5833" "$T/report" || bad "thresholds: $(cat "$T/report")"
    grep -q "1 images above no threshold" "$T/report" && grep -q "^   0: *2 *1 " "$T/report" &&
        grep -q "^   1: *1 *2 " "$T/report" || bad "confident joint: $(cat "$T/report")"
    grep -q "suspects     2 (28.57 %" "$T/report" || bad "suspect count: $(cat "$T/report")"
    # the same image in two files gets its mean: c.jpg at 0.9 and 0.1 is 0.5,
    # below t1, so only f.jpg stays suspect (t0 becomes (0.9+0.8+0.5+0.45)/4)
    printf 'image,label,predicted,probability\nc.jpg,0,0,0.100000\n' >"$T/b.csv"
    "$ST" audit --out "$T/s2.csv" "$T/a.csv" "$T/b.csv" >"$T/report2" 2>&1 || bad "audit of two files failed"
    printf 'image,label,suggested,label_probability\nf.jpg,1,0,0.050000\n' >"$T/want2"
    cmp -s "$T/want2" "$T/s2.csv" || bad "merged suspects: $(cat "$T/s2.csv")"
    grep -q "images       7 (from 2 files)" "$T/report2" || bad "merged count: $(cat "$T/report2")"
    grep -q "t0 0.6625" "$T/report2" || bad "merged threshold: $(cat "$T/report2")"
    # three classes (p0,p1,p2): x is labelled 2 but confidently 0
    cat >"$T/m.csv" <<'EOF'
image,label,predicted,p0,p1,p2
u,0,0,0.8,0.1,0.1
v,1,1,0.1,0.8,0.1
w,2,2,0.1,0.1,0.8
x,2,0,0.9,0.05,0.05
EOF
    "$ST" audit --out "$T/s3.csv" "$T/m.csv" >"$T/report3" 2>&1 || bad "3-class audit failed"
    printf 'image,label,suggested,label_probability\nx,2,0,0.050000\n' >"$T/want3"
    cmp -s "$T/want3" "$T/s3.csv" || bad "3-class suspects: $(cat "$T/s3.csv")"
    # bad input: exit 1 with the file and line; nothing written
    printf 'name,label\na.jpg,0\n' >"$T/h.csv"
    expect 1 "$T/h.csv:1: not a predictions file" "$ST" audit --out "$T/no.csv" "$T/h.csv"
    printf 'image,label,predicted,probability\na.jpg,0,0,1.5\n' >"$T/p.csv"
    expect 1 "$T/p.csv:2: the probability '1.5'" "$ST" audit "$T/p.csv"
    printf 'image,label,predicted,probability\na.jpg,3,0,0.5\n' >"$T/l.csv"
    expect 1 "$T/l.csv:2: the label" "$ST" audit "$T/l.csv"
    printf 'image,label,predicted,probability\na.jpg,0,0\n' >"$T/r.csv"
    expect 1 "$T/r.csv:2: a row of the wrong length" "$ST" audit "$T/r.csv"
    printf 'image,label,predicted,probability\n"a.jpg,0,0,0.5\n' >"$T/q.csv"
    expect 1 "$T/q.csv:2: a quoted name is not closed" "$ST" audit "$T/q.csv"
    printf 'image,label,predicted,probability\nc.jpg,1,1,0.5\n' >"$T/c.csv"
    expect 1 "c.jpg is labelled 0 in one file and 1" "$ST" audit "$T/a.csv" "$T/c.csv"
    expect 1 "predicts 3 classes, the files before it 2" "$ST" audit "$T/a.csv" "$T/m.csv"
    : >"$T/empty.csv"
    expect 1 "empty" "$ST" audit "$T/empty.csv"
    expect 1 "$T/none.csv: No such file" "$ST" audit "$T/none.csv"
    [ -e "$T/no.csv" ] && bad "a failed audit wrote its --out file"
    expect 1 "/nonexistent/dir/s.csv" "$ST" audit --out /nonexistent/dir/s.csv "$T/a.csv"
    expect 2 "no PREDICTIONS.csv" "$ST" audit
    expect 2 "unknown option '--top'" "$ST" audit --top 3 "$T/a.csv"
    expect 0 "confident" "$ST" audit --help
    expect 0 "audit" "$ST" --help
    # fit's new options, checked before any data is read
    expect 2 "--val-fold wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --val-fold 4/4
    expect 2 "--val-fold wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --val-fold 0/1
    expect 2 "--val-fold wants" "$ST" fit --data smiles:/x --out "$T/m.nnm" --val-fold 1/4x
    expect 2 "give one" "$ST" fit --data smiles:/x --out "$T/m.nnm" --val-fold 0/4 --val-fraction 0.2
    expect 2 "needs validation images" "$ST" fit --data smiles:/x --out "$T/m.nnm" --val-fraction 0 \
        --val-predictions "$T/v.csv"
    expect 0 "--exclude FILE" "$ST" fit --help
    exit $fail
fi

need_smiles
printf 'input 20 20 1\nconv 4 3 pad=same\nbatchnorm\nrelu\nmaxpool 2\nflatten\ndense 1\nsigmoid\n' >"$T/s.arch"
FIT="--data smiles:$SMILES --arch $T/s.arch --batch 16 --limit 48 --epochs 2 --quiet"
names() { awk -F, 'FNR > 1 { print $1 }' "$@" | sort; }

# three folds of one seed: each training image is predicted exactly once
for i in 0 1 2; do
    "$ST" fit $FIT --seed 3 --val-fold $i/3 --val-predictions "$T/v$i.csv" --out "$T/f$i.nnm" ||
        bad "fit of fold $i failed"
done
names "$T/v0.csv" "$T/v1.csv" "$T/v2.csv" >"$T/all"
[ "$(wc -l <"$T/all")" -eq 96 ] || bad "3 folds predict $(wc -l <"$T/all") images, not the 96 training images"
[ "$(uniq -d "$T/all" | wc -l)" -eq 0 ] || bad "an image is in two folds: $(uniq -d "$T/all" | head -3)"
for i in 0 1 2; do
    n=$(($(wc -l <"$T/v$i.csv") - 1))
    [ "$n" -gt 15 ] && [ "$n" -lt 50 ] || bad "fold $i holds $n of 96 images"
done
awk -F, 'FNR > 1 && $1 ~ /[05]\.jpg$/ { exit 1 }' "$T/v0.csv" "$T/v1.csv" "$T/v2.csv" ||
    bad "a test image is in a fold"
# another seed cuts other folds
"$ST" fit $FIT --seed 4 --val-fold 0/3 --val-predictions "$T/w0.csv" --out "$T/w0.nnm" || bad "fit of seed 4 failed"
[ "$(names "$T/v0.csv")" != "$(names "$T/w0.csv")" ] || bad "seeds 3 and 4 cut the same fold 0"
# the validation predictions are the saved model's, as eval gives them
"$ST" eval --model "$T/f0.nnm" --data "smiles:$SMILES" --limit 48 --split train --predictions "$T/e0.csv" \
    >/dev/null 2>&1 || bad "eval of fold 0's model failed"
sort "$T/e0.csv" >"$T/e0.sorted"
awk -F, 'NR > 1' "$T/v0.csv" | sort | comm -23 - "$T/e0.sorted" >"$T/differ"
[ -s "$T/differ" ] && bad "--val-predictions differ from eval: $(head -2 "$T/differ")"

# --exclude: two training images named by their last components (and one
# test image, which is not training data) take part in neither side
one=$(awk -F, 'NR == 2 { print $1 }' "$T/v1.csv")
two=$(awk -F, 'NR == 2 { print $1 }' "$T/v2.csv")
{
    echo "image,label"
    echo "${one#"$SMILES"/}"
    echo "\"${two##*/}\""
    echo "# a comment"
    echo "SMILEs/negatives/negatives7/10.jpg"
} >"$T/ex.csv"
for i in 0 1 2; do
    "$ST" fit $FIT --seed 3 --val-fold $i/3 --exclude "$T/ex.csv" --val-predictions "$T/x$i.csv" \
        --out "$T/x$i.nnm" 2>/dev/null || bad "fit of fold $i with --exclude failed"
done
names "$T/x0.csv" "$T/x1.csv" "$T/x2.csv" >"$T/kept"
printf '%s\n%s\n' "$one" "$two" | sort >"$T/gone"
[ "$(sort "$T/kept" "$T/gone")" = "$(cat "$T/all")" ] || bad "--exclude did not leave out exactly the 2 listed images"
"$ST" fit --data "smiles:$SMILES" --arch "$T/s.arch" --batch 16 --limit 48 --epochs 1 --seed 3 --val-fold 0/3 \
    --exclude "$T/ex.csv" --out "$T/x.nnm" >"$T/xlog" 2>&1
grep -q "leaving out 2 training images listed in $T/ex.csv (1 listed names are not training images here)" \
    "$T/xlog" || bad "the exclusion is not reported: $(head -3 "$T/xlog")"
cmp -s "$T/f1.nnm" "$T/x1.nnm" && bad "--exclude made the same model"
# an exclusion list is part of a run: resumed bit-exactly, refused by a run without it
SMILE_TRAIN_INTERRUPT_AFTER=5 "$ST" fit $FIT --seed 3 --val-fold 1/3 --exclude "$T/ex.csv" --out "$T/y.nnm" 2>/dev/null
[ $? -eq 130 ] || bad "the interrupted fit should exit 130"
"$ST" fit $FIT --seed 3 --val-fold 1/3 --exclude "$T/ex.csv" --out "$T/y.nnm" --resume "$T/y.nnm.ckpt" ||
    bad "resume with --exclude failed"
cmp "$T/x1.nnm" "$T/y.nnm" || bad "interrupted + resume with --exclude differs from a straight run"
"$ST" fit $FIT --seed 3 --val-fold 1/3 --out "$T/z.nnm" --resume "$T/y.nnm.ckpt" 2>"$T/z.err"
[ $? -eq 1 ] && grep -q "other data or options" "$T/z.err" || bad "a resume without the --exclude list was not refused"
# another list of as many images from the same folds leaves the same counts
three=$(awk -F, 'NR == 3 { print $1 }' "$T/v1.csv")
four=$(awk -F, 'NR == 3 { print $1 }' "$T/v2.csv")
printf '%s\n%s\n' "$three" "$four" >"$T/ex2.csv"
"$ST" fit $FIT --seed 3 --val-fold 1/3 --exclude "$T/ex2.csv" --out "$T/z.nnm" --resume "$T/y.nnm.ckpt" 2>"$T/z.err"
[ $? -eq 1 ] && grep -q "other data or options" "$T/z.err" || bad "a resume with another --exclude list was not refused"
"$ST" fit $FIT --seed 3 --val-fold 2/3 --out "$T/z.nnm" --resume "$T/f1.nnm.ckpt" 2>"$T/z.err"
[ $? -eq 1 ] || bad "a resume of another fold was not refused"
# lists that name nothing here, or cannot be read, are errors
printf 'nothere.jpg\nSMILEs/negatives/negatives7/10.jpg\n' >"$T/none.csv"
expect 1 "none of its 2 names is a training image" "$ST" fit $FIT --exclude "$T/none.csv" --out "$T/n.nnm"
printf 'image\n"open.jpg\n' >"$T/open.csv"
expect 1 "$T/open.csv:2: a quoted name is not closed" "$ST" fit $FIT --exclude "$T/open.csv" --out "$T/n.nnm"
expect 1 "--exclude $T/missing.csv" "$ST" fit $FIT --exclude "$T/missing.csv" --out "$T/n.nnm"
[ -e "$T/n.nnm" ] && bad "a refused fit wrote a model"

# the whole loop: audit the folds, leave out its suspects
"$ST" audit --out "$T/sus.csv" "$T/v0.csv" "$T/v1.csv" "$T/v2.csv" >"$T/audit" 2>&1 || bad "audit of the folds failed"
grep -q "images       96 (from 3 files)" "$T/audit" || bad "audit saw: $(head -2 "$T/audit")"
n_sus=$(($(wc -l <"$T/sus.csv") - 1))
grep -q "suspects     $n_sus " "$T/audit" || bad "audit reports another count than its $n_sus rows"
if [ "$n_sus" -gt 0 ]; then
    names "$T/sus.csv" | comm -13 "$T/all" - | grep -q . && bad "a suspect is not a training image"
    "$ST" fit --data "smiles:$SMILES" --arch "$T/s.arch" --batch 16 --limit 48 --epochs 1 --seed 3 \
        --exclude "$T/sus.csv" --out "$T/c.nnm" >"$T/clog" 2>&1 || bad "fit --exclude with audit's list failed"
    grep -q "leaving out $n_sus training images" "$T/clog" || bad "audit's list: $(head -3 "$T/clog")"
fi
exit $fail
