;; kernel.wat: a small program with a few functions calling each other over
;; linear memory.  run(n) fills memory with n pseudo-random i32 values,
;; sorts them with a recursive quicksort, checks the order and returns an
;; FNV-1a hash of the sorted bytes.  Good material for call trees and
;; backtraces: run -> fill -> rand, run -> quicksort -> partition -> swap,
;; run -> is_sorted, run -> fnv1a.
;;
;; The array lives at address 0, element i at 4*i.  Memory is 4 pages
;; (256 KiB), so n <= 65536; a larger n traps with an out-of-bounds memory
;; access in fill.
(module
  (memory (export "memory") 4)

  ;; The xorshift32 state; run() resets it so results are reproducible.
  (global $state (mut i32) (i32.const 1))

  ;; rand: one xorshift32 step (x ^= x << 13; x ^= x >> 17; x ^= x << 5).
  (func $rand (result i32)
    (local $x i32)
    (local.set $x (global.get $state))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
    (global.set $state (local.get $x))
    (local.get $x))

  ;; fill: store n values from rand() at addresses 0, 4, ..., 4*(n-1).
  (func $fill (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.shl (local.get $i) (i32.const 2)) (call $rand))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; swap: exchange the i32 values at addresses a and b.
  (func $swap (param $a i32) (param $b i32)
    (local $t i32)
    (local.set $t (i32.load (local.get $a)))
    (i32.store (local.get $a) (i32.load (local.get $b)))
    (i32.store (local.get $b) (local.get $t)))

  ;; partition: Lomuto partition of elements lo..hi (indices, inclusive)
  ;; around the pivot a[hi], comparing as signed i32; returns the pivot's
  ;; final index.
  (func $partition (param $lo i32) (param $hi i32) (result i32)
    (local $pivot i32) (local $i i32) (local $j i32)
    (local.set $pivot (i32.load (i32.shl (local.get $hi) (i32.const 2))))
    (local.set $i (local.get $lo))
    (local.set $j (local.get $lo))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $hi)))
        (if (i32.lt_s (i32.load (i32.shl (local.get $j) (i32.const 2))) (local.get $pivot))
          (then
            (call $swap (i32.shl (local.get $i) (i32.const 2))
                        (i32.shl (local.get $j) (i32.const 2)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (call $swap (i32.shl (local.get $i) (i32.const 2))
                (i32.shl (local.get $hi) (i32.const 2)))
    (local.get $i))

  ;; quicksort: sort elements lo..hi (indices, inclusive) in place.
  (func $quicksort (param $lo i32) (param $hi i32)
    (local $p i32)
    (if (i32.lt_s (local.get $lo) (local.get $hi))
      (then
        (local.set $p (call $partition (local.get $lo) (local.get $hi)))
        (call $quicksort (local.get $lo) (i32.sub (local.get $p) (i32.const 1)))
        (call $quicksort (i32.add (local.get $p) (i32.const 1)) (local.get $hi)))))

  ;; is_sorted: 1 if the first n elements are in non-decreasing signed order.
  (func $is_sorted (param $n i32) (result i32)
    (local $i i32)
    (local.set $i (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.gt_s (i32.load (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 2)))
                      (i32.load (i32.shl (local.get $i) (i32.const 2))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; fnv1a: the 32-bit FNV-1a hash of len bytes at addr.
  (func $fnv1a (param $addr i32) (param $len i32) (result i32)
    (local $h i32) (local $end i32)
    (local.set $h (i32.const 0x811c9dc5))
    (local.set $end (i32.add (local.get $addr) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $addr) (local.get $end)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $addr)))
                               (i32.const 0x01000193)))
        (local.set $addr (i32.add (local.get $addr) (i32.const 1)))
        (br $next)))
    (local.get $h))

  ;; run: fill, sort, check (trap "unreachable" if unsorted), hash.
  (func $run (param $n i32) (result i32)
    (global.set $state (i32.const 12345))
    (call $fill (local.get $n))
    (call $quicksort (i32.const 0) (i32.sub (local.get $n) (i32.const 1)))
    (if (i32.eqz (call $is_sorted (local.get $n)))
      (then (unreachable)))
    (call $fnv1a (i32.const 0) (i32.shl (local.get $n) (i32.const 2))))

  (export "run" (func $run))
  (export "fill" (func $fill))
  (export "sort" (func $quicksort))
  (export "is_sorted" (func $is_sorted))
  (export "checksum" (func $fnv1a))
)
