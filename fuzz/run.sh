#!/usr/bin/env bash
# fuzz/run.sh: run every fuzz target for a fixed time each; exit non-zero on
# any finding (a crash, a sanitizer report, a timeout, a leak, an
# out-of-memory), whose input is left in build/fuzz/findings/<target>/.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s, all)
#   FUZZ_ENGINE=afl bash fuzz/run.sh 600 decode run          (AFL++: the C targets)
#
# Needs fuzz/build.sh's binaries (build/fuzz/) and the seeds
# (python fuzz/make_seeds.py, into build/fuzz/seeds/); the Python targets
# need atheris (pip install -e '.[fuzz]').  What a target finds new goes to
# build/fuzz/corpus/<target>/, which later runs start from.  Each target's
# last status line (executions, coverage) is printed; its whole log is in
# build/fuzz/logs/<target>.log.  FUZZ_ARGS adds libFuzzer options.  The
# inputs of past findings (fuzz/regressions/<target>/) run every time.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
shift || true
C_TARGETS=(decode run debuginfo wasi_path)
PY_TARGETS=(coredump profile_json)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${C_TARGETS[@]}" "${PY_TARGETS[@]}")
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
OUT=build/fuzz
# allocator_may_return_null: a guest asking for a huge table gets NULL, as
# from plain malloc, and the core's handling of that is what is tested.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()

# FUZZ_ENGINE=afl: the C targets under afl-fuzz instead (FUZZ_ENGINE=afl
# bash fuzz/build.sh first), from the seeds' and corpus' small inputs (AFL++
# wants them under 1 MB), into build/fuzz-afl/out/<target>/; a saved crash
# or hang is a finding.
if [ "${FUZZ_ENGINE:-libfuzzer}" = afl ]; then
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
  export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1
  for t in "${TARGETS[@]}"; do
    [ -x build/fuzz-afl/fuzz_$t ] || { echo "fuzz/run.sh: no AFL++ target $t" >&2; failed+=("$t"); continue; }
    in=build/fuzz-afl/in/$t out=build/fuzz-afl/out/$t
    rm -rf "$in" "$out" && mkdir -p "$in" "$(dirname "$out")" "$OUT/logs"
    find "$OUT/seeds/$t" "$OUT/corpus/$t" -type f -size -64k 2>/dev/null | head -200 | xargs -r cp -t "$in"
    [ -n "$(ls -A "$in")" ] || printf 'seed' > "$in/seed"
    afl-fuzz -V "$SECONDS_EACH" -m none -t 10000 -i "$in" -o "$out" -- "build/fuzz-afl/fuzz_$t" \
      > "$OUT/logs/afl-$t.log" 2>&1
    status=$?
    stats=$out/default/fuzzer_stats
    get() { awk -v k="$1" '$1 == k {print $3}' "$stats" 2>/dev/null; }
    printf '%-13s exit %d  %s executions  crashes %s  hangs %s  coverage %s\n' "$t" "$status" \
      "$(get execs_done)" "$(get saved_crashes)" "$(get saved_hangs)" "$(get bitmap_cvg)"
    if [ $status != 0 ] || [ "$(get saved_crashes)" != 0 ] || [ "$(get saved_hangs)" != 0 ]; then failed+=("$t"); fi
  done
  [ ${#failed[@]} -eq 0 ] || { echo "fuzz/run.sh: AFL++ findings in: ${failed[*]} (build/fuzz-afl/out/)" >&2; exit 1; }
  echo "fuzz/run.sh: no findings (AFL++)"
  exit 0
fi

for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/corpus/$t" "$OUT/findings/$t" "$OUT/logs"
  log="$OUT/logs/$t.log"
  # -timeout: one input running this long (wall time: generous, for a loaded
  # machine; the run target takes under a second of CPU) is a hang.
  opts=(-max_total_time="$SECONDS_EACH" -timeout=60 -rss_limit_mb=2560 -malloc_limit_mb=2560
        -artifact_prefix="$OUT/findings/$t/" -print_final_stats=1 ${FUZZ_ARGS:-})
  if [ -x "$OUT/fuzz_$t" ]; then
    cmd=("$OUT/fuzz_$t")
  elif [ -f "fuzz/fuzz_$t.py" ]; then
    # The extension is not instrumented: leak checks would report CPython's own.
    cmd=(env ASAN_OPTIONS=detect_leaks=0 "$PYTHON" "fuzz/fuzz_$t.py")
  else
    echo "fuzz/run.sh: no target $t (built by fuzz/build.sh?)" >&2
    failed+=("$t")
    continue
  fi
  # fuzz/regressions/<target>/: the inputs of past findings, run first every time.
  regressions=()
  [ -d "fuzz/regressions/$t" ] && regressions=("fuzz/regressions/$t")
  "${cmd[@]}" "${opts[@]}" "$OUT/corpus/$t" "$OUT/seeds/$t" "${regressions[@]}" >"$log" 2>&1
  status=$?
  summary=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  printf '%-13s exit %d  %s executions  last: %s\n' "$t" "$status" "${execs:-?}" "$summary"
  # (slow-unit-* files are not findings: libFuzzer keeps its slowest input there)
  if [ $status != 0 ] || [ -n "$(ls -A "$OUT/findings/$t" | grep -v '^slow-unit-')" ]; then
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|runtime error|Traceback|Error:' "$log" | head -20 >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: findings in: ${failed[*]} (inputs in $OUT/findings/, logs in $OUT/logs/)" >&2
  exit 1
fi
echo "fuzz/run.sh: no findings"
