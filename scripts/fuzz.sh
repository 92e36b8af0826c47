#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one process at a
# time, and prints each target's execution count. Exits non-zero if any
# target crashed; the crashing input is left in fuzz/artifacts/<target>/.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#   npm run fuzz -- 120        every target, 120 s each
#   npm run fuzz -- 60 bundle  only the named targets
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
case "$seconds" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2; exit 2 ;; esac

[ -d fuzz/corpus ] || bash scripts/fuzz-corpus.sh
# Built once, then the binaries run directly: `cargo fuzz run` would rebuild
# whenever a core source changed in the meantime.
cargo +nightly fuzz build -O || exit 1
bin_dir="fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

failed=()
summary=()
mkdir -p fuzz/artifacts
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/artifacts/$target.log"
  echo "== $target: ${seconds}s"
  # -timeout makes a slow input a failure too; -rss_limit_mb one that hoards memory.
  mkdir -p "fuzz/artifacts/$target"
  "$bin_dir/$target" -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 "fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  if [ $status -ne 0 ]; then
    failed+=("$target")
    summary+=("$target: CRASH after ${runs:-?} runs (see $log)")
    grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -8
  else
    summary+=("$target: ${runs:-?} runs, no crash")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
