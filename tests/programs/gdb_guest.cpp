// gdb_guest.cpp: the guest of the GDB tests (tests/test_gdb*.py): C++
// names to demangle, a host import to stop in, bytes in memory to dump.
// Built with clang --target=wasm32-wasi -g (no -O: every frame stays).
// Lines marked CALL-* are looked up by the tests.
extern "C" __attribute__((import_module("env"), import_name("host_cb"))) int host_cb(int ptr, int n);

static char message[32] = "WASMPROF-GDB-MEMORY";

namespace geometry {
struct Shape {
  int sides;
  __attribute__((noinline)) int perimeter(int length) const;
};

__attribute__((noinline)) int Shape::perimeter(int length) const {
  return host_cb((int)(unsigned long)message, sides * length); // CALL-HOST
}
}  // namespace geometry

template <typename T>
__attribute__((noinline)) T twice(T value) {
  geometry::Shape shape{3};
  return shape.perimeter(value) * 2; // CALL-PERIMETER
}

extern "C" __attribute__((export_name("run"))) int run(int n) {
  return twice<int>(n + 1) + 1; // CALL-TWICE
}

// spin: runs until the process is killed (a test attaches to it meanwhile).
extern "C" __attribute__((export_name("spin"))) int spin(int step) {
  volatile int counter = 0;
  for (;;) counter = counter + step; // SPIN
}
