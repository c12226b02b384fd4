#!/bin/sh
# Runs nn-bench and the PyTorch peers side by side, pinned to one core with one
# thread, and prints our/PyTorch ratios from CPU-time medians (process CPU
# time is not inflated when other jobs preempt us on a shared machine).
#
#   nn/bench/compare_torch.sh BUILD_DIR [ARCH...]      (default archs: seed lenet)
#
# Training throughput of PyTorch comes from peers/torch/train.py (2 epochs of
# the real data set, epoch_cpu_s_median over the training images); ours from
# nn-bench at the same batch size (seed 16, lenet 64) on random data.
set -eu
build=${1:?usage: compare_torch.sh BUILD_DIR [ARCH...]}
shift
[ $# -gt 0 ] || set -- seed lenet
root=$(cd "$(dirname "$0")/../.." && pwd)
peers=${SMILE_PEERS:-$root/../shared/peers}/torch
bench=$build/nn/bench/nn-bench
py=/usr/bin/python3
pin="nice -n 10 taskset -c 0 env OMP_NUM_THREADS=1"

key() { # file key
    sed -n "s/^$2=//p" "$1" | head -1
}
tkey() { # file pattern key: from a RESULT line of the peers
    grep "$2" "$1" | tr ' ' '\n' | sed -n "s/^$3=//p" | head -1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for arch in "$@"; do
    case $arch in seed) batch=16 data=happy ;; lenet) batch=64 data=smiles ;; *) echo "no peer for $arch"; continue ;; esac
    $pin "$bench" --arch "$arch" --batch "$batch" --iters 1000 --train-iters 60 >"$tmp/ours"
    (cd "$peers" && $pin $py infer_bench.py --arch "$arch" --iters 1000 --batch-iters 50) >"$tmp/tinf"
    (cd "$peers" && $pin $py train.py --arch "$arch" --data "$data" --epochs 2 --no-xeval) >"$tmp/ttrain"
    cat "$tmp/ours"
    grep RESULT "$tmp/tinf" "$tmp/ttrain" | sed 's/^[^:]*://'
    ours_fwd=$(key "$tmp/ours" forward_cpu_us_median)
    ours_train=$(key "$tmp/ours" train_cpu_images_per_s)
    torch_fwd=$(tkey "$tmp/tinf" "batch=1 " cpu_median_us)
    n_train=$(sed -n 's/.* train=\([0-9]*\) .*/\1/p' "$tmp/ttrain" | head -1)
    ep_cpu=$(tkey "$tmp/ttrain" "RESULT" epoch_cpu_s_median)
    awk -v a="$arch" -v of="$ours_fwd" -v tf="$torch_fwd" -v ot="$ours_train" \
        -v n="$n_train" -v e="$ep_cpu" 'BEGIN {
        tt = n / e
        printf "ratio arch=%s forward_us ours=%.1f torch=%.1f ours/torch=%.3f (goal <= 0.25)\n", a, of, tf, of / tf
        printf "ratio arch=%s train_images_per_s ours=%.1f torch=%.1f ours/torch=%.2f (goal >= 2)\n", a, ot, tt, ot / tt
    }'
done
