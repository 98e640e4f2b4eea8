"""GDB's wasm-break: the host stops when a guest run by a wasmprof debugger
session (the stepping loop) enters a function, on the hook
wp_debug_func_entered.  A real gdb runs a C host (tests/c/gdb_host.c in
its "debug" mode) and a Python process (wasmprof.Debugger); the stop must
land in the asked function, innermost in wasm-bt.  Plain calls never stop
there, which the command says."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from helpers.c_programs import c_program
from helpers.gdb_tools import (CHILD, GDB_DIR, assert_in_order, assert_no_python_error, build_cpp_guest, frames,
                                inferior_env_of, marked, output_of, run_gdb)

FLAG = "print *(unsigned int *)&wp_debug_entry_hook"
ENTERED = re.compile(r"wasm-break (\d+): the guest entered (.*) \(func\[(\d+)\]\) in instance (0x[0-9a-f]+)")


@pytest.fixture(scope="module")
def host() -> Path:
    return c_program("gdb_host").resolve()


@pytest.fixture(scope="module")
def cpp_guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cpp_guest(tmp_path_factory.mktemp("gdb_break"))


def debugged(host: Path, guest: Path) -> list:
    return ["--args", str(host), str(guest), "run", "debug", "4"]


def test_break_by_name_in_c_host(host: Path, cpp_guest: Path) -> None:
    out = run_gdb(["wasm-break geometry::Shape::perimeter", "run", *marked("wasm-bt", "bt"), "continue"],
                  debugged(host, cpp_guest))
    assert_no_python_error(out)
    assert "wasm-break 1: stops when the guest enters geometry::Shape::perimeter." in out
    hits = ENTERED.findall(out)
    assert [(h[1], h[2]) for h in hits] == [("geometry::Shape::perimeter(int) const", "1")], out  # once, there
    assert re.search(r"Breakpoint 1, 0x[0-9a-f]+ in wp_debug_func_entered", out)
    bt = output_of(out, "wasm-bt")
    assert [f[2] for f in frames(bt)][:3] == ["geometry::Shape::perimeter(int) const", "int twice<int>(int)", "run"]
    assert bt.startswith("#0  geometry::Shape::perimeter(int) const (func[1])"), bt
    assert_in_order(output_of(out, "bt"), ["wp_debug_func_entered", "[wasm #0] geometry::Shape::perimeter(int) const",
                                           "[wasm #1] int twice<int>(int)", "wp_debug_resume", "main"])
    assert "result 2031" in out and "exited normally" in out  # the session ran on to the end


def test_break_by_index_in_one_instance_then_delete(host: Path, cpp_guest: Path) -> None:
    """An index in the instance asked for (one at another address never
    stops); deleting the last wasm-break lets the loop stop calling the hook."""
    instance = ("python import wasmprof_gdb.gdb_front as g; "
                "gdb.execute('wasm-break 3 %#x' % g.session().proc.instances()[0].addr)")
    out = run_gdb(["break wp_debug_call", "run", "wasm-break 2 0x10", instance, FLAG, "continue",
                   *marked("wasm-bt"), "delete", FLAG, "continue"], debugged(host, cpp_guest))
    assert_no_python_error(out)
    assert "wasm-break 2: stops when the guest enters func[2] in instance 0x10." in out
    assert "No live instance has func[2] in instance 0x10 yet" in out
    assert "No debugger session is running" not in out  # wp_debug_new has run: one is
    hits = ENTERED.findall(out)
    assert [(h[0], h[1], h[2]) for h in hits] == [("3", "int twice<int>(int)", "3")], out
    assert frames(output_of(out, "wasm-bt"))[0][2:4] == ("int twice<int>(int)", 3)
    assert re.findall(r"^\$\d+ = (\d+)$", out, re.M) == ["1", "0"]  # armed, then disarmed by `delete`
    assert "result 2031" in out and "exited normally" in out


def test_plain_call_and_mistakes_say_so(host: Path, cpp_guest: Path) -> None:
    out = run_gdb(["break gdb_host_stop", "run", *marked("wasm-break run", "wasm-break", "wasm-break run 0xzz"),
                   "continue"], ["--args", str(host), str(cpp_guest), "run", "stop", "4"])
    assert_no_python_error(out)
    said = output_of(out, "wasm-break run")
    assert "No debugger session is running in this process now: wasm-break stops guests run by a wasmprof " \
           "debugger session (wasmprof.Debugger" in said, said
    assert output_of(out, "wasm-break").startswith("usage: wasm-break FUNC [INSTANCE]")
    assert "INSTANCE must be an address (0x...), not '0xzz'" in output_of(out, "wasm-break run 0xzz")
    assert "the guest entered" not in out and "result 2031" in out and "exited normally" in out


def test_break_in_python_debugger_set_before_run(cpp_guest: Path) -> None:
    """Set before the process starts (the core is not loaded yet: the
    breakpoint is pending, the hook is armed when the session is made)."""
    out = run_gdb([f"source {GDB_DIR / 'wasmprof-gdb.py'}", "wasm-break twice<int>", "run", *marked("wasm-bt", "bt 6"),
                   "continue"], ["--args", sys.executable, str(CHILD), str(cpp_guest), "return", "debugger"],
                  auto_load=False, inferior_env=inferior_env_of(None))
    assert_no_python_error(out)
    hits = ENTERED.findall(out)
    assert [(h[1], h[2]) for h in hits] == [("int twice<int>(int)", "3")], out
    got = frames(output_of(out, "wasm-bt"))
    assert [f[2] for f in got] == ["int twice<int>(int)", "run", "run.command_export"]
    assert_in_order(output_of(out, "bt 6"), ["wp_debug_func_entered", "[wasm #0] int twice<int>(int)", "[wasm #1] run",
                                             "wp_debug_resume"])
    assert "stop returned 2031" in out


def test_executable_not_running_yet(host: Path) -> None:
    """gdb on the executable, before `run`: set, with the note of where it stops."""
    out = run_gdb(marked("wasm-break run"), [str(host)])
    assert_no_python_error(out)
    said = output_of(out, "wasm-break run")
    assert "wasm-break 1: stops when the guest enters run." in said and "Note: wasm-break stops guests run by" in said
