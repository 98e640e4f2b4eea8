"""wasmprof.Debugger on a C program built with clang -g (tests/programs/debug_c.c):
file:line breakpoints, line stepping, and the replay of WASI calls (the clock
read again gives the same time, the output is not printed twice)."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import wasmprof
from helpers.clang import clang_wasm
from helpers.paths import TESTS

pytestmark = pytest.mark.timeout(300)
SRC = TESTS / "programs" / "debug_c.c"


def line_of(marker: str) -> int:
    for i, line in enumerate(SRC.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def c_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clang = shutil.which("clang")
    out = tmp_path_factory.mktemp("debug_c") / "debug_c.wasm"
    r = clang_wasm([SRC], out, cflags=["-g"], clang=clang) if clang else None
    if r is None or r.returncode != 0:
        message = "clang for wasm32-wasi is needed" + (f": {r.stderr[-400:]}" if r else "")
        if os.environ.get("CI"):
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    return out


def start(path: Path) -> tuple[wasmprof.Debugger, bytearray]:
    out = bytearray()
    inst = wasmprof.Instance(wasmprof.Module.from_file(str(path)), wasi=wasmprof.Wasi(args=["debug_c"], stdout=out))
    dbg = inst.debug()
    assert dbg.call("_start").reason == "entry"
    return dbg, out


def test_file_line_breakpoint_and_line_steps(c_wasm: Path) -> None:
    dbg, _out = start(c_wasm)
    call_line, count_line, square_line = line_of("LINE-CALL"), line_of("LINE-COUNT"), line_of("LINE-SQUARE")
    bp = dbg.breakpoint(f"debug_c.c:{call_line}")
    stop = dbg.cont()
    assert stop.reason == "breakpoint" and stop.breakpoint is bp
    assert stop.frame.location.line == call_line and stop.frame.location.file.endswith("debug_c.c")
    # step_line goes into square, next_line stays in main
    stop = dbg.step_line()  # into square, at its opening line (the prologue), then its body
    assert stop.frame.name == "square" and stop.frame.location.line == square_line - 1
    assert dbg.next_line().frame.location.line == square_line
    assert [f.name for f in dbg.frames][:2] == ["square", "__original_main"]
    dbg.step_out()
    stop = dbg.next_line()
    assert stop.frame.location.line in (call_line, count_line)
    while dbg.location().line != count_line:
        dbg.next_line()
    assert dbg.frame.name == "__original_main"
    lines = set()
    for _ in range(8):  # next_line never enters square
        stop = dbg.next_line()
        assert stop.frame.name == "__original_main"
        lines.add(stop.frame.location.line)
    assert count_line in lines and square_line not in lines


def test_wasi_clock_and_output_are_replayed(c_wasm: Path) -> None:
    dbg, out = start(c_wasm)
    stop = dbg.cont()
    assert stop.reason == "returned"
    first = bytes(out)
    assert first.startswith(b"time ") and first.endswith(b"total 30\n")
    memory_at_end = hashlib.sha256(dbg.memory[0:len(dbg.memory)]).hexdigest()
    ticks = stop.ticks
    # back to the start and forward again: the host is not called, the output
    # stays as it was, and the guest computes exactly the same (same time read)
    assert dbg.run_to(tick=1).reason == "tick"
    stop = dbg.cont()
    assert stop.reason == "returned" and stop.ticks == ticks
    assert bytes(out) == first
    assert hashlib.sha256(dbg.memory[0:len(dbg.memory)]).hexdigest() == memory_at_end
    # a profile of the same program counts the same ticks
    prof = wasmprof.profile(str(c_wasm), wasi=wasmprof.Wasi(args=["debug_c"], stdout=bytearray()))
    assert abs(prof.total_ticks - ticks) < 500  # another time printed: nearly the same work


def c_state(dbg: wasmprof.Debugger) -> tuple:
    frames = tuple((f.func_index, f.module_offset, tuple(l.value for l in f.locals), tuple(f.operands))
                   for f in dbg.frames)
    return dbg.icount, dbg.ticks, frames, hashlib.sha256(dbg.memory[0:len(dbg.memory)]).hexdigest()


def test_reverse_steps_land_on_the_forward_states_of_a_c_program(c_wasm: Path) -> None:
    """From the loop (after the clock was read and printed), single steps
    through square and back, then reverse_step by reverse_step: each state
    (ticks, frames with locals and operands, memory hash) is the one the
    forward run reached; forward again, the output is not written twice."""
    dbg, out = start(c_wasm)
    dbg.breakpoint(f"debug_c.c:{line_of('LINE-CALL')}")
    dbg.cont()
    dbg.cont()  # the second iteration: snapshots and host calls lie behind
    printed = bytes(out)
    forward = [c_state(dbg)]
    for _ in range(60):
        assert dbg.step().reason == "step"
        forward.append(c_state(dbg))
    assert {f[0] for s in forward for f in s[2][:1]} >= {dbg.function_index("square")}  # it went into square
    for expected in reversed(forward[:-1]):
        assert dbg.reverse_step().reason == "step"
        assert c_state(dbg) == expected
    dbg.delete()
    assert dbg.cont().reason == "returned" and bytes(out).startswith(printed) and bytes(out).count(b"time ") == 1
