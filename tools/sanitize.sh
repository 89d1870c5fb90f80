#!/usr/bin/env bash
# Build the C extension with AddressSanitizer + UBSan (build_ffi.py reads
# STREAM_W2V_SANITIZE=1) in a temporary copy of the tree -- never over the
# installed _w2v*.so -- and run the kernel and tokenizer tests (hypothesis included) against
# it. Python itself is not instrumented, so libasan must be preloaded; leak
# detection is off (CPython keeps memory to its exit by design). Any ASan
# report or UBSan diagnostic aborts the run with a non-zero status.
#
#   tools/sanitize.sh                      # the kernel, tokenizer and vocabulary tests
#   tools/sanitize.sh tests/test_model.py  # or any pytest arguments
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/stream-w2v-sanitize.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$root"
# The tracked files (plus uncommitted edits to them), not build products.
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work"
cd "$work"
echo "+ building the sanitized extension in $work"
STREAM_W2V_SANITIZE=1 "$python" build_ffi.py >build.log 2>&1 || { cat build.log; exit 1; }
so=$(ls stream_w2v/_w2v*.so)
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
[ -e "$asan" ] && [ -e "$ubsan" ] || { echo "libasan/libubsan not found (gcc -print-file-name)" >&2; exit 1; }
# The extension must be the sanitized one, loaded from this copy.
LD_PRELOAD="$asan:$ubsan" ASAN_OPTIONS=detect_leaks=0 PYTHONPATH="$work" "$python" - "$work" <<'PY'
import sys, stream_w2v._w2v as m
assert m.__file__.startswith(sys.argv[1]), m.__file__
print("+ using", m.__file__)
PY
[ "$#" -gt 0 ] || set -- tests/test_kernels.py tests/test_tokenize.py tests/test_vocab.py
echo "+ pytest -q $*"
LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
PYTHONPATH="$work" CI="${CI:-true}" \
    "$python" -m pytest -q -p no:cacheprovider "$@"
echo "sanitizers: clean ($so)"
