"""LLDB (Debian's lldb-14 with python3-lldb) runs the same wasm-* commands
(gdb/wasmprof_lldb.py over the shared layers of gdb/wasmprof_gdb/) on the
C host, live and from a core file, and on an attached Python process.
LLDB has no frame filters: its `bt` stays native."""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.c_programs import c_program
from helpers.env import native_env, python_env
from helpers.gdb_tools import (CHILD, CPP_SRC, GDB_DIR, assert_no_python_error, build_cpp_guest, check_cpp_backtrace,
                                core_after_abort, marker_line, missing)

LOADER = GDB_DIR / "wasmprof_lldb.py"


def lldb_env() -> dict:
    """LLDB's environment: Debian's lldb-14 looks for its Python module in a
    wrong directory (`lldb -P`), so PYTHONPATH names the right one; and its
    embedded Python finds its home through the first python3 on PATH, so
    the system's comes first (not a virtual environment's, which lacks the
    Debian modules lldb imports)."""
    lldb = shutil.which("lldb")
    if not lldb:
        missing("lldb not installed (scripts/debian-packages.sh lists it)")
    env = native_env()
    env.pop("PYTHONHOME", None)
    env["PATH"] = "/usr/bin:/bin:" + env.get("PATH", "")
    probe = subprocess.run([lldb, "-P"], capture_output=True, text=True, env=env, timeout=60).stdout.strip()
    candidates = [probe] + sorted(glob.glob("/usr/lib/llvm-*/lib/python3*/dist-packages"))
    for path in candidates:
        if os.path.isfile(os.path.join(path, "lldb", "embedded_interpreter.py")):
            env["PYTHONPATH"] = path
            return env
    missing("lldb's Python module is not installed (python3-lldb-14)")
    return env


def run_lldb(commands: list, args: list, timeout: float = 300) -> str:
    env = lldb_env()
    cmd = [shutil.which("lldb") or "lldb", "--batch", "--no-lldbinit", "-o", f"command script import {LOADER}"]
    for c in commands:
        cmd += ["-o", c]
    r = subprocess.run(cmd + args, capture_output=True, text=True, env=env, timeout=timeout)
    out = r.stdout + r.stderr
    assert "error: module importing failed" not in out, out
    return out


def lldb_output(out: str, command: str) -> str:
    """What one command printed (LLDB echoes each as `(lldb) COMMAND`)."""
    m = re.search(r"^\(lldb\) " + re.escape(command) + r"\n(.*?)(?=^\(lldb\) |\Z)", out, re.S | re.M)
    assert m, f"no output for {command!r} in:\n{out}"
    return m.group(1)


@pytest.fixture(scope="module")
def host() -> Path:
    return c_program("gdb_host").resolve()  # absolute: some tests run it from another directory


@pytest.fixture(scope="module")
def cpp_guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cpp_guest(tmp_path_factory.mktemp("lldb_cpp"))


def test_lldb_live_c_host(host: Path, cpp_guest: Path) -> None:
    out = run_lldb(["breakpoint set -n gdb_host_stop", "run", "wasm-bt", "wasm-bt-full", "wasm-mem 1040 19",
                    "wasm-frame 2", "wasm-print value", "wasm-instances"],
                   ["--", str(host), str(cpp_guest), "run", "stop", "4"])
    assert_no_python_error(out)
    check_cpp_backtrace(lldb_output(out, "wasm-bt"), cpp_guest)
    assert "length (param int) = 5" in lldb_output(out, "wasm-bt-full")
    assert "|WASMPROF-GDB-MEM|" in lldb_output(out, "wasm-mem 1040 19")
    assert f"{marker_line(CPP_SRC, 'CALL-PERIMETER')}\t  return shape.perimeter" in lldb_output(out, "wasm-frame 2")
    assert lldb_output(out, "wasm-print value").strip() == "value = 5 (int)"
    assert "running a call (entry depth 1), 5 frames" in lldb_output(out, "wasm-instances")


def test_lldb_core_of_c_host(host: Path, cpp_guest: Path, tmp_path: Path) -> None:
    core, _, _ = core_after_abort([str(host), str(cpp_guest), "run", "abort", "4"], tmp_path)
    out = run_lldb(["wasm-bt", "wasm-print n"], ["--core", str(core), str(host)])
    assert_no_python_error(out)
    check_cpp_backtrace(lldb_output(out, "wasm-bt"), cpp_guest)


def test_lldb_attach_to_python(cpp_guest: Path) -> None:
    child = subprocess.Popen([sys.executable, str(CHILD), str(cpp_guest), "sleep"], stdout=subprocess.PIPE, text=True,
                             env=python_env())
    try:
        assert child.stdout.readline().startswith("host_cb ptr=")
        out = run_lldb(["wasm-bt", "wasm-bt-full"], ["-p", str(child.pid)])
    finally:
        child.kill()
        child.wait(timeout=60)
    assert_no_python_error(out)
    check_cpp_backtrace(lldb_output(out, "wasm-bt").replace("[C function host_trampoline]", "[C function host_cb]"),
                        cpp_guest)
    assert "value (param int) = 5" in lldb_output(out, "wasm-bt-full")


def test_lldb_wasm_break(host: Path, cpp_guest: Path) -> None:
    """wasm-break in LLDB: a breakpoint on the stepping loop's hook whose
    callback stops only in the asked function (gdb_host's debug mode runs
    the call in a debugger session)."""
    out = run_lldb(["wasm-break geometry::Shape::perimeter", "run", "wasm-bt", "continue"],
                   ["--", str(host), str(cpp_guest), "run", "debug", "4"])
    assert_no_python_error(out)
    assert re.findall(r"wasm-break 1: the guest entered (.*) \(func\[(\d+)\]\)", out) == [
        ("geometry::Shape::perimeter(int) const", "1")], out
    assert "wp_debug_func_entered" in out
    assert lldb_output(out, "wasm-bt").startswith("#0  geometry::Shape::perimeter(int) const (func[1])")
    assert "result 2031" in out and "exited with status = 0" in out
