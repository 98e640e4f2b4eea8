"""GDB on a Python process running wasmprof: attached (`gdb -p PID`), run
under GDB (`gdb --args python ...`) and from a core file, with the
extension auto-loaded from _core*.so's .debug_gdb_scripts section and the
_core*.so-gdb.py file beside it.  The guest (tests/programs/gdb_guest.cpp)
calls a Python host function that waits there (tests/helpers/gdb_python_child.py)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.env import python_env
from helpers.gdb_tools import (CHILD, CPP_SRC, assert_in_order, assert_no_python_error, build_cpp_guest,
                                check_cpp_backtrace, core_after_abort, dumped_bytes, inferior_env_of, marked, marker_line,
                                output_of, reserved_bytes, rss_bytes, run_gdb)

MiB = 1 << 20


@pytest.fixture(scope="module")
def cpp_guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cpp_guest(tmp_path_factory.mktemp("gdb_py_cpp"))


def check_python_bt(bt: str) -> None:
    """The mixed backtrace: Python's interpreter, the host trampoline, the
    guest frames in place of the loop, wp_call and the Python call into it."""
    assert_in_order(bt, ["host_trampoline", "[wasm #1] geometry::Shape::perimeter(int) const",
                         "[wasm #2] int twice<int>(int)", "[wasm #3] run", "wp_call", "_PyEval_EvalFrameDefault"])
    assert "wp_loop_plain" not in bt
    assert re.search(r"\(this=\d+, length=5\) at \S*gdb_guest.cpp:" + str(marker_line(CPP_SRC, "CALL-HOST")), bt)


def test_attach_to_python_process(cpp_guest: Path) -> None:
    child = subprocess.Popen([sys.executable, str(CHILD), str(cpp_guest), "sleep"], stdout=subprocess.PIPE, text=True,
                             env=python_env())
    try:
        line = child.stdout.readline()
        m = re.match(r"host_cb ptr=(\d+) n=15 pid=(\d+)", line)
        assert m, line
        ptr = int(m.group(1))
        out = run_gdb(marked("wasm-bt", "wasm-bt-full", "bt", f"wasm-mem {ptr} 19", "wasm-frame 2", "wasm-print value",
                             "wasm-instances", "info auto-load python-scripts"), ["-p", str(child.pid)])
    finally:
        child.kill()
        child.wait(timeout=60)
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt").replace("[C function host_trampoline]", "[C function host_cb]"),
                        cpp_guest)
    assert "length (param int) = 5" in output_of(out, "wasm-bt-full")
    check_python_bt(output_of(out, "bt"))
    assert "|WASMPROF-GDB-MEM|" in output_of(out, f"wasm-mem {ptr} 19")
    assert output_of(out, "wasm-print value").strip() == "value = 5 (int)"
    assert re.search(r"context 0x[0-9a-f]+: running a call", output_of(out, "wasm-instances"))
    scripts = output_of(out, "info auto-load python-scripts")
    assert re.search(r"Yes\s+\S+/_core\.\S+\.so-gdb\.py", scripts) and "wasmprof-gdb" in scripts


def test_python_run_under_gdb(cpp_guest: Path) -> None:
    out = run_gdb(["run", *marked("wasm-bt", "bt")], ["--args", sys.executable, str(CHILD), str(cpp_guest), "signal"],
                  inferior_env=inferior_env_of(None))
    assert "SIGUSR1" in out, out
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt").replace("[C function host_trampoline]", "[C function host_cb]"),
                        cpp_guest)
    check_python_bt(output_of(out, "bt"))


def test_python_debugger_under_gdb(cpp_guest: Path) -> None:
    """The guest runs in wasmprof's own debugger (the stepping loop,
    entered by debug.c rather than wp_call): GDB still finds its frames."""
    out = run_gdb(["run", *marked("wasm-bt", "bt")],
                  ["--args", sys.executable, str(CHILD), str(cpp_guest), "signal", "debugger"],
                  inferior_env=inferior_env_of(None))
    assert "SIGUSR1" in out, out
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt").replace("[C function host_trampoline]", "[C function host_cb]"),
                        cpp_guest)
    bt = output_of(out, "bt")
    assert_in_order(bt, ["host_trampoline", "[wasm #1] geometry::Shape::perimeter(int) const", "[wasm #3] run",
                         "wp_debug_resume"])
    assert "wp_loop_step" not in bt


def test_core_of_python_process(cpp_guest: Path, tmp_path: Path) -> None:
    core, made, kind = core_after_abort([sys.executable, str(CHILD), str(cpp_guest), "abort"], tmp_path, python_env())
    rss = rss_bytes(made)
    out = run_gdb(marked("wasm-bt", "wasm-bt-full", "bt", "wasm-mem 1040 19"), [sys.executable, str(core)])
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt").replace("[C function host_trampoline]", "[C function host_cb]"),
                        cpp_guest)
    assert "value (param int) = 5" in output_of(out, "wasm-bt-full")
    check_python_bt(output_of(out, "bt"))
    assert "|WASMPROF-GDB-MEM|" in output_of(out, "wasm-mem 1040 19")
    # The guest's 4 GiB reservation stays out of the core (it was 4.1 GB before MADV_DONTDUMP).
    if kind == "gcore":
        assert reserved_bytes(core) < 1 << 32
    assert dumped_bytes(core) < rss + 64 * MiB, (dumped_bytes(core), rss)
