"""Kernels whose executed instructions are easy to count by hand, for the
tests of the measuring tools under bench/."""

#: run(n): sums 0..n-1.  With n = 10: block and loop once, the loop's test
#: (local.get, local.get, i32.ge_u, br_if) 11 times, its body (local.get,
#: local.get, i32.add, local.set, local.get, i32.const, i32.add, local.set,
#: br) 10 times, then local.get and the function's end.
SUM_LOOP = """(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $s i32)
  (block $done (loop $top
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $s (i32.add (local.get $s) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top)))
  (local.get $s)))"""
