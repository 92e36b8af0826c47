#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the files real TensorFlow wrote in fixtures/.
# Binary targets read a leading mode byte (see each target), so seeds get one.
# The corpus is not committed: it is rebuilt from fixtures/ and grows locally.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seeds above this size only slow libFuzzer down (and raise its -max_len).
max_bytes=262144
corpus=fuzz/corpus

# seed TARGET MODE_BYTE FILE: copy FILE into TARGET's corpus behind MODE_BYTE
# ("" for none), named by where it came from.
seed() {
  local target=$1 mode=$2 file=$3
  [ "$(wc -c <"$file")" -le "$max_bytes" ] || return 0
  mkdir -p "$corpus/$target"
  local name
  name=$(printf '%s' "$file" | tr '/' '_')
  if [ -n "$mode" ]; then
    { printf "\\x$mode"; cat "$file"; } >"$corpus/$target/$mode-$name"
  else
    cp "$file" "$corpus/$target/$name"
  fi
}

count=0
while IFS= read -r -d '' file; do
  case "$file" in
    *.index) seed index_table 00 "$file"; seed index_table 01 "$file" ;;
    */saved_model.pb)
      # The mode byte picks the fixture whose variables sit beside it (see the target).
      case "$file" in
        */module/*) mode=00 ;; */simple_save/*) mode=01 ;; */keras_export/*) mode=02 ;;
        */control_flow/*) mode=03 ;; *) mode=04 ;;
      esac
      seed saved_model "$mode" "$file" ;;
    *.pb) seed graph_binary 00 "$file" ;;
    *.meta) seed graph_binary 01 "$file" ;;
    *.pbtxt) seed text_format 00 "$file" ;;
    */checkpoint) seed text_format 02 "$file"; seed state_file "" "$file" ;;
    *) continue ;;
  esac
  count=$((count + 1))
done < <(find fixtures -type f \( -name '*.index' -o -name '*.pb' -o -name '*.meta' -o -name '*.pbtxt' -o -name checkpoint \) -print0)

# The structured targets (bundle, emit_*) decode their input with `arbitrary`;
# fixture files mean nothing to them, so they start from an empty corpus.
for target in bundle emit_tfjs emit_tflite; do mkdir -p "$corpus/$target"; done
echo "seeded fuzz corpora from $count fixture files"
