#!/bin/bash
# callgrind_profiled.sh TAG [ROOT]: callgrind instruction counts (Ir) of a
# profiled run (wasmprof.profile) of some bench programs at a small size:
# the whole process and wp_loop_ticked inclusive.  Compare two checkouts
# (before/after a change to the profiled loop) by their TAGs.  One run at a
# time (valgrind is slow; the machine is shared).
# ROOT: the checkout whose python/ is imported (default: whatever `python`
# imports).  Outputs stay in ${OUT:-/tmp}/cgp.TAG.NAME for callgrind_annotate.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tag=$1; out=${OUT:-/tmp}
py=$(${PYTHON:-python} -c 'import sys; print(sys.executable)')
for p in fib:22 sieve:20 nbody:5000 dispatch:1000; do
  n=${p%%:*}; s=${p##*:}
  ${2:+env PYTHONPATH=$2/python} valgrind --tool=callgrind --callgrind-out-file=$out/cgp.$tag.$n \
    "$py" "$here/run_one.py" $n $s profiled >$out/outp.$tag.$n 2>$out/errp.$tag.$n
  tot=$(callgrind_annotate $out/cgp.$tag.$n 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{print $1}')
  loop=$(callgrind_annotate --inclusive=yes $out/cgp.$tag.$n 2>/dev/null | grep -m1 "wp_loop_ticked" | awk '{print $1}')
  echo "$n total=$tot loop_incl=$loop $(cat $out/outp.$tag.$n)"
done
