#!/bin/sh
# 'detect' data (whole photos) is cut where smile-score and the app find the
# face: every box in smile-train's face cache is one of smile-score's boxes
# for the same photos. A cache from another detector version is ignored, said,
# and rewritten; a current one is reused.
# Usage: test_detect.sh SMILE_TRAIN SMILE_SCORE MODEL
set -u
ST=$1
SS=$2
MODEL=$3
LFW=${SMILE_DATASETS:-}/lfw-expressions
if [ ! -d "$LFW" ]; then
    echo "SKIP: $LFW not found"
    exit 77
fi
T=$(mktemp -d /tmp/smile-detect-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for c in happiness neutral; do
    mkdir -p "$T/photos/$c"
    ls "$LFW/$c" | head -n 5 | while read -r f; do ln -s "$LFW/$c/$f" "$T/photos/$c/$f"; done
done
ev() { "$ST" eval --model "$MODEL" --data "folders,detect:$T/photos" --split all --face-cache "$T/cache" --json; }

# a cache of an older kind: ignored with a note, then rewritten
printf '0123456789abcdef 1.0 2.0 3.0 4.0\n' >"$T/cache"
ev >"$T/e1.json" 2>"$T/e1.err" || bad "eval failed: $(cat "$T/e1.err")"
grep -q "another detector version" "$T/e1.err" || bad "an old cache was not reported: $(cat "$T/e1.err")"
head -n 1 "$T/cache" | grep -q '^# smile-train face boxes v3' || bad "cache header: $(head -n 1 "$T/cache")"
grep -q '^0123456789abcdef' "$T/cache" && bad "the old cache's entries were kept"
[ "$(grep -vc '^#' "$T/cache")" -eq 10 ] || bad "want 10 boxes in the cache: $(cat "$T/cache")"

# the same boxes as smile-score's full scan
"$SS" --model "$MODEL" --threads 1 --csv "$T/s.csv" "$T/photos" 2>/dev/null || bad "smile-score failed"
awk -F, 'NR > 1 && $5 != "" {print $5, $6, $7, $8}' "$T/s.csv" | sort -u >"$T/score-boxes"
awk '!/^#/ && $4 > 0 {printf "%d %d %d %d\n", $2, $3, $4, $5}' "$T/cache" | sort -u >"$T/train-boxes"
[ -s "$T/train-boxes" ] || bad "no face found in 10 LFW photos"
missing=$(comm -23 "$T/train-boxes" "$T/score-boxes")
[ -z "$missing" ] || bad "training cut faces where smile-score finds none: $missing (smile-score: $(tr '\n' ';' <"$T/score-boxes"))"

# a current cache is reused: the same result, and no note
ev >"$T/e2.json" 2>"$T/e2.err" || bad "second eval failed"
grep -q "another detector version" "$T/e2.err" && bad "a current cache was called old"
cmp -s "$T/e1.json" "$T/e2.json" || bad "the cached boxes gave another result"
[ $fail -eq 0 ] && echo "ok: $(wc -l <"$T/train-boxes") training boxes, all among smile-score's"
exit $fail
