# Sourced by smile-train's test scripts: a scratch folder $T, removed at exit;
# bad MESSAGE records a failure in $fail; expect CODE NEEDLE CMD... runs CMD
# and checks its exit code and that NEEDLE is in its stdout+stderr.
T=$(mktemp -d /tmp/smile-train-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

expect() {
    code=$1 needle=$2
    shift 2
    "$@" >"$T/out" 2>&1
    got=$?
    [ "$got" -eq "$code" ] || bad "'$*' exited $got, expected $code: $(head -c 400 "$T/out")"
    grep -q -- "$needle" "$T/out" || bad "'$*' did not say '$needle': $(head -c 400 "$T/out")"
}

# need_smiles: sets SMILES to SMILEsmileD under $SMILE_DATASETS, or skips the
# test (exit 77) when it is not there; fixes the date stored in models.
need_smiles() {
    SMILES=${SMILE_DATASETS:-}/SMILEsmileD
    if [ ! -d "$SMILES" ]; then
        echo "SKIP: $SMILES not found"
        exit 77
    fi
    export SOURCE_DATE_EPOCH=1700000000
}
