#!/bin/sh
# Regenerates crates/core/src/emit/tflite/schema_generated.rs from tflite.fbs
# with planus (`cargo install planus-cli --version 1.3.0`; the generated code
# must match the `planus` runtime version in crates/core/Cargo.toml).
#
# flatc accepts `(deprecated)` on enum values, union members and tables; planus
# only on fields, so those three marks are dropped from a temporary copy. The
# vendored schema itself stays as TensorFlow wrote it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../src/emit/tflite/schema_generated.rs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -E \
  -e 's/^(  [A-Z_0-9]+ = [0-9]+) \(deprecated\),/\1,/' \
  -e 's/^(  [A-Za-z0-9]+Options) \(deprecated\),/\1,/' \
  -e 's/^(table [A-Za-z0-9]+) \(deprecated\) \{/\1 {/' \
  "$here/tflite.fbs" >"$work/tflite.fbs"
# Run beside the copy so the generated comments name `tflite.fbs`, not a temporary path.
(cd "$work" && planus rust -o generated.rs tflite.fbs)
mv "$work/generated.rs" "$out"
