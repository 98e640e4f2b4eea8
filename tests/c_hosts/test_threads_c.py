"""The thread contract of wasmprof.h ("Threads") from C pthreads:
tests/c/threads_host.c runs one module from 8 threads at once (every loop
variant, other prices, profiles: lazy translation and the code cache), one
instance handed from thread to thread under a lock, interrupts and poll
requests from another thread, name lookups at once, and linked instances
made and freed on every thread; each result is compared with a serial run.
It runs from the build directory (build/asan in the sanitizer pass) and
from build/tsan, a ThreadSanitizer build of the core and this host only
(`make tsan`), where any data race fails it."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.paths import ROOT
from helpers.thread_modules import LINKED_WAT, THREADS_WAT
from helpers.wasm import wat2wasm


def _modules(tmp_path: Path) -> list[str]:
    paths = []
    for name, text in (("threads.wasm", THREADS_WAT), ("linked.wasm", LINKED_WAT)):
        path = tmp_path / name
        path.write_bytes(wat2wasm(text))
        paths.append(str(path))
    return paths


def _check(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "all ok", run.stdout
    for check in ("shared module", "shared instance", "interrupts", "names", "linked instances"):
        assert any(line.startswith(f"ok {check}") for line in lines), run.stdout


def test_threads_host(tmp_path: Path) -> None:
    run = subprocess.run([str(c_program("threads_host")), *_modules(tmp_path)], env=native_env(),
                         capture_output=True, text=True, timeout=300)
    _check(run)


def test_threads_host_under_thread_sanitizer(tmp_path: Path) -> None:
    make = subprocess.run(["make", "tsan"], cwd=ROOT, env=native_env(), capture_output=True, text=True, timeout=1800)
    assert make.returncode == 0, make.stdout + make.stderr
    env = native_env()
    # Any report fails the run (exit status 66), with the second stack of each race.
    env["TSAN_OPTIONS"] = "halt_on_error=1:exitcode=66:second_deadlock_stack=1:" + os.environ.get("TSAN_OPTIONS", "")
    run = subprocess.run([str(ROOT / "build" / "tsan" / "threads_host"), *_modules(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert "ThreadSanitizer" not in run.stderr, run.stderr
    _check(run)
