;; imports.wat: a module that needs its host.  env.log is any host function
;; (a Python callable, say); m.cos and m.pow are C's, from libm (through
;; libffi: wasmprof.native).
(module
  (import "env" "log" (func $log (param i32 f64)))
  (import "m" "cos" (func $cos (param f64) (result f64)))
  (import "m" "pow" (func $pow (param f64 f64) (result f64)))

  ;; log(i, cos(i / 4)) for i in 0 .. n-1
  (func $cosines (export "cosines") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (call $log (local.get $i)
                   (call $cos (f64.div (f64.convert_i32_s (local.get $i)) (f64.const 4))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; pow(x, y)
  (func $power (export "power") (param $x f64) (param $y f64) (result f64)
    (call $pow (local.get $x) (local.get $y))))
