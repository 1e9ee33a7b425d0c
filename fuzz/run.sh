#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for SECONDS (default 30) from its checked-in
# seed corpus (fuzz/corpus/<target>/seed-*), several targets side by side (one core each).
# Prints the executions per target; exits non-zero when a target crashes, naming the input
# that did it (fuzz/artifacts/<target>/...). Needs cargo-fuzz (`cargo install --locked
# cargo-fuzz`) and a nightly compiler: the nightly toolchain when rustup has one, otherwise
# the default toolchain with RUSTC_BOOTSTRAP=1.
#
#   fuzz/run.sh 60                 # every target, 60 s each
#   fuzz/run.sh 300 api_json       # one target
#
# Environment: FUZZ_JOBS (targets at once, default: the number of cores), FUZZ_TARGET_DIR
# (default fuzz/target), FUZZ_CODEGEN_UNITS (default 16: a much faster build for somewhat
# fewer executions per second; 1 is cargo-fuzz's own default), FUZZ_SANITIZER (default
# address; `none` runs faster: our crates forbid unsafe code, their dependencies do not).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
shift || true
jobs_max="${FUZZ_JOBS:-$(nproc)}"
target_dir="${FUZZ_TARGET_DIR:-$PWD/target}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install --locked cargo-fuzz" >&2
  exit 2
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  echo "toolchain: $(rustc +nightly --version)"
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  echo "toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

build_start=$(date +%s)
"${fuzz[@]}" build --codegen-units "${FUZZ_CODEGEN_UNITS:-16}" \
  --sanitizer "${FUZZ_SANITIZER:-address}" --target-dir "$target_dir"
echo "build took $(( $(date +%s) - build_start )) s"
host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$target_dir/$host/release"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run_one() {
  local target=$1
  mkdir -p "corpus/$target" "artifacts/$target"
  local rc=0
  # The first corpus directory also receives what the fuzzer finds (ignored by git).
  "$bin_dir/$target" "corpus/$target" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$logs/$target.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$target.rc"
}

run_start=$(date +%s)
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
    wait -n || true
  done
  echo "fuzzing $target for $seconds s"
  run_one "$target" &
done
wait
echo "fuzzing took $(( $(date +%s) - run_start )) s"

failed=0
echo
printf '%-16s %12s %10s %8s  %s\n' target executions exec/s corpus result
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  rc=$(cat "$logs/$target.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')}
  corpus=$(find "corpus/$target" -type f | wc -l)
  result=ok
  [ "$rc" -ne 0 ] && result="CRASH (exit $rc)"
  printf '%-16s %12s %10s %8s  %s\n' "$target" "${execs:-?}" \
    "$(( ${execs:-0} / (seconds > 0 ? seconds : 1) ))" "$corpus" "$result"
  if [ "$rc" -ne 0 ]; then
    failed=1
    {
      echo "---- $target crashed"
      grep -E -A4 'panicked at' "$log" | head -n 20 || true
      tail -n 12 "$log"
      grep -E 'Test unit written to|artifact_prefix' "$log" | sed 's/^/     /' || true
      echo "---- reproduce: cargo fuzz run $target <artifact>"
    } >&2
  fi
done
exit "$failed"
