#!/bin/bash
# callgrind_loop.sh TAG [ROOT]: callgrind instruction counts (Ir) of a plain
# run of every bench program at a small size: the whole process and
# wp_loop_plain inclusive (the loop and the translation it triggers).
# ROOT: the checkout whose python/ is imported (default: this one).
# Outputs stay in ${OUT:-/tmp}/cg.TAG.NAME for callgrind_annotate --auto=yes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tag=$1; root=${2:-$(dirname "$here")}; out=${OUT:-/tmp}
# the real interpreter, not a wrapper script (pyenv shims, venv launchers)
py=$(${PYTHON:-python} -c 'import sys; print(sys.executable)')
i=0
for p in fib:24 sieve:40 nbody:10000 hashtable:10 dispatch:2000 sort_strings:2; do
  n=${p%%:*}; s=${p##*:}
  PYTHONPATH=$root/python valgrind --tool=callgrind --callgrind-out-file=$out/cg.$tag.$n \
    "$py" "$here/run_one.py" $n $s >$out/out.$tag.$n 2>$out/err.$tag.$n &
  if [ $((++i % 2)) = 0 ]; then wait; fi
done
wait
for n in fib sieve nbody hashtable dispatch sort_strings; do
  tot=$(callgrind_annotate $out/cg.$tag.$n 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{print $1}')
  loop=$(callgrind_annotate --inclusive=yes $out/cg.$tag.$n 2>/dev/null | grep -m1 "wp_loop_plain" | awk '{print $1}')
  echo "$n total=$tot loop_incl=$loop $(cat $out/out.$tag.$n)"
done
