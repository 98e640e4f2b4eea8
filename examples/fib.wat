;; fib.wat: small integer kernels for the quick start, the C host example and
;; the first speed comparison (bench/interp_vs_wabt.py).
;;
;; Exports are declared on their own lines at the end of the module, so that
;; tools (the benchmark) can derive driver modules from this source.
(module
  ;; fib: naive doubly recursive Fibonacci, fib(0) = 0, fib(1) = 1.
  ;; fib(25) = 75025, fib(30) = 832040.  Exercises calls and returns.
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; fib_iter: the same sequence computed with a loop (wraps modulo 2^32
  ;; past fib(47)).
  (func $fib_iter (param $n i32) (result i32)
    (local $a i32) (local $b i32) (local $t i32)
    (local.set $b (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $t (i32.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $a))

  ;; loop_sum: the sum over i in [0, n) of (i * i) mod 1000003, in i64.
  ;; A tight loop of arithmetic with no calls: measures plain dispatch.
  (func $loop_sum (param $n i64) (result i64)
    (local $i i64) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.rem_u (i64.mul (local.get $i) (local.get $i)) (i64.const 1000003))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $sum))

  (export "fib" (func $fib))
  (export "fib_iter" (func $fib_iter))
  (export "loop_sum" (func $loop_sum))
)
