"""Tick limits (max_ticks) and the periodic tick callback (progress, interrupts)."""
from __future__ import annotations

import pytest

import wasmprof
from helpers.paths import EXAMPLES
from helpers.profile_checks import check_invariants, write_wasm
from wasmprof import _core
from wasmprof.profiles.profiler import profile

INFINITE = """
(module
  (global $n (mut i32) (i32.const 0))
  (func (export "spin") (loop $l (global.set $n (i32.add (global.get $n) (i32.const 1))) (br $l)))
  (func (export "count") (result i32) (global.get $n))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""


def test_max_ticks_stops_an_infinite_loop_and_the_instance_stays_usable(tmp_path):
    inst = wasmprof.Instance(wasmprof.Module(write_wasm(tmp_path, INFINITE).read_bytes()))
    before = _core._ticks()
    with pytest.raises(wasmprof.LimitError, match="tick limit 1000 reached"):
        inst.exports.spin.call(max_ticks=1000)
    assert _core._ticks() - before <= 1000
    # the loop body is 6 instructions (global.get, i32.const, i32.add, global.set, br + the loop head block)
    assert inst.exports.count() > 100
    assert inst.exports.add(2, 3) == 5
    assert inst.exports.add.call(2, 3, max_ticks=4) == 5       # 4 instructions: enough
    with pytest.raises(wasmprof.LimitError, match="tick limit 3 reached"):
        inst.exports.add.call(2, 3, max_ticks=3)
    with pytest.raises(ValueError):
        inst.exports.add.call(2, 3, max_ticks=0)


def test_max_ticks_is_exact_at_the_boundary():
    total = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(10,)).total_ticks
    inst = wasmprof.Instance(wasmprof.Module.from_file(str(EXAMPLES / "fib.wasm")))
    assert inst.exports.fib.call(10, max_ticks=total) == 55
    with pytest.raises(wasmprof.LimitError):
        inst.exports.fib.call(10, max_ticks=total - 1)


def test_profile_with_max_ticks_returns_the_partial_profile():
    prof = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(20,), max_ticks=5000)
    assert isinstance(prof.trap, wasmprof.LimitError)
    assert "tick limit 5000 reached" in str(prof.trap)
    assert 4900 < prof.total_ticks <= 5000
    check_invariants(prof)


def test_progress_callback_sees_growing_ticks():
    seen = []
    prof = profile(EXAMPLES / "fib.wasm", invoke="loop_sum", args=(3_000_000,), progress=seen.append)
    assert prof.trap is None
    assert len(seen) >= 3 and seen == sorted(seen)
    assert seen[-1] <= prof.total_ticks


class Stop(Exception):
    pass


def test_progress_callback_can_stop_the_guest(tmp_path):
    path = write_wasm(tmp_path, INFINITE)
    calls = []

    def stop_after_two(ticks):
        calls.append(ticks)
        if len(calls) == 2:
            raise Stop()

    with pytest.raises(Stop):
        profile(path, invoke="spin", progress=stop_after_two)
    # nothing is left running: a new profile works and the plain loop is back
    assert profile(EXAMPLES / "fib.wasm", invoke="fib", args=(5,)).trap is None
    inst = wasmprof.Instance(wasmprof.Module.from_file(str(EXAMPLES / "fib.wasm")))
    assert inst.exports.fib(10) == 55


def test_keyboard_interrupt_reaches_a_profiled_guest(tmp_path):
    """A pending signal is checked at each tick callback: SIGINT interrupts."""
    import signal
    import threading

    path = write_wasm(tmp_path, INFINITE)
    timer = threading.Timer(0.2, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            profile(path, invoke="spin", progress=lambda ticks: None)
    finally:
        timer.cancel()
