"""valgrind memcheck on the C hosts of build/release (the example host and
tests/c/'s): no invalid read or write, no use of uninitialised memory, no
memory definitely or indirectly lost, each host doing what its own test has
it do.  `--error-exitcode` makes any such error the run's exit status.  The
sanitizer pass of .ci/run leaves this file out (its hosts are ASan builds,
which valgrind cannot run)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.paths import BUILD_DIR, EXAMPLES
from helpers.thread_modules import LINKED_WAT, THREADS_WAT
from helpers.wasm import wat2wasm

VALGRIND_ERROR = 99
NATIVE_WAT = """(module
  (import "env" "cos" (func $cos (param f64) (result f64)))
  (import "env" "scale" (func $scale (param i32) (result i32)))
  (memory 1)
  (func (export "cos") (param f64) (result f64) (call $cos (local.get 0)))
  (func (export "scale") (param i32) (result i32) (call $scale (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""
TRAP_WAT = """(module $calc (memory 1)
  (func $f (param $n i32) (result i32) (i32.div_u (local.get $n) (i32.const 0)))
  (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"""


def _wasm(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(wat2wasm(text))
    return str(path)


# (host, arguments given the temporary directory, the host's own exit status)
CASES = {
    "host fib": ("host", lambda d: [str(EXAMPLES / "fib.wasm"), "fib", "20"], 0),
    "host kernel": ("host", lambda d: [str(EXAMPLES / "kernel.wasm"), "run", "1000"], 0),
    "profile_host": ("profile_host", lambda d: [str(EXAMPLES / "kernel.wasm"), "run", "300", "1000"], 0),
    "coredump_host": ("coredump_host", lambda d: [_wasm(d, "t.wasm", TRAP_WAT), "run", str(d / "c.core"), "6"], 3),
    "native_interrupt": ("native_interrupt", lambda d: [_wasm(d, "n.wasm", NATIVE_WAT)], 0),
    "wasi_host": ("wasi_host", lambda d: [str(EXAMPLES / "greet.wasm"), str(EXAMPLES / "data"), "/data", "a"], 0),
    "threads_host": ("threads_host",
                     lambda d: [_wasm(d, "th.wasm", THREADS_WAT), _wasm(d, "l.wasm", LINKED_WAT)], 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_host_is_memcheck_clean(case: str, tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind not found (tests/run.sh installs it)")
    if "asan" in BUILD_DIR.name:
        pytest.skip("valgrind cannot run the ASan build's hosts")
    name, args, status = CASES[case]
    exe = c_program(name)
    # --fair-sched=yes: valgrind runs one thread at a time, and its default lock can leave
    # threads_host's main thread waiting behind 8 spinning guests for minutes.
    run = subprocess.run(
        ["valgrind", "--quiet", "--fair-sched=yes", f"--error-exitcode={VALGRIND_ERROR}", "--leak-check=full",
         "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
         str(exe), *args(tmp_path)],
        env=native_env(), capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert run.returncode != VALGRIND_ERROR, run.stderr
    assert run.returncode == status, run.stdout + run.stderr
    assert "ERROR SUMMARY" not in run.stderr or "ERROR SUMMARY: 0 errors" in run.stderr, run.stderr
