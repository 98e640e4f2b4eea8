#!/bin/bash
# usage: cg2.sh TAG [PYTHONPATH-root]  -> callgrind Ir: whole process and the plain loop (inclusive)
. /work/venvs/perf/bin/activate
tag=$1; root=${2:-/work/wt/perf}
for p in fib:24 sieve:40 nbody:10000 hashtable:10 dispatch:2000 sort_strings:2; do
  n=${p%%:*}; s=${p##*:}
  PYTHONPATH=$root/python valgrind --tool=callgrind --callgrind-out-file=/tmp/perf/cg.$tag.$n python /tmp/perf/one.py $n $s >/tmp/perf/out.$tag.$n 2>/tmp/perf/err.$tag.$n &
  if [ $((++i % 2)) = 0 ]; then wait; fi
done
wait
for p in fib sieve nbody hashtable dispatch sort_strings; do
  tot=$(callgrind_annotate /tmp/perf/cg.$tag.$p 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{print $1}')
  loop=$(callgrind_annotate --inclusive=yes /tmp/perf/cg.$tag.$p 2>/dev/null | grep -m1 "wp_loop_plain" | awk '{print $1}')
  echo "$p total=$tot loop_incl=$loop $(cat /tmp/perf/out.$tag.$p)"
done
