"""bench/run.py's bookkeeping, with fake engines (nothing is run or timed):
checksums are checked against native, engines are interleaved in a rotating
order, unavailable engines say why, and the ratios and geometric means are
computed over the right programs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import run as bench_run  # noqa: E402
from engines import Engine  # noqa: E402
from programs import Program  # noqa: E402


class Fake(Engine):
    def __init__(self, key: str, seconds: float, checksum: int, calls: List[str],
                 reason: Optional[str] = None) -> None:
        self.key, self.role = key, "peer"
        self._seconds, self._checksum, self._calls, self._reason = seconds, checksum, calls, reason

    def unavailable(self) -> Optional[str]:
        return self._reason

    def run(self, program: Program, size: int):
        self._calls.append(self.key)
        return self._seconds * size, self._checksum


def program(name: str) -> Program:
    p = Path("/nonexistent") / f"{name}.c"
    return Program(name, p, p.with_suffix(".wasm"), p.with_suffix(".nowasi.wasm"), default_size=2)


def test_checksums_interleaving_and_unavailable_engines():
    calls: List[str] = []
    engines = [Fake("wasm3", 2.0, 7, calls), Fake("wrong", 1.0, 8, calls), Fake("gone", 1.0, 7, calls, "n/a (why)"),
               Fake("native", 0.5, 7, calls)]
    cells = bench_run.measure([program("a")], engines, runs=3, quick=False)
    row = cells["a"]
    assert row["wasm3"].times == [4.0, 4.0, 4.0] and row["wasm3"].problem is None
    assert row["wrong"].problem.startswith("WRONG checksum 00000008 (native 00000007)")
    assert row["gone"].problem == "n/a (why)" and row["gone"].times == []
    assert row["native"].median() == 1.0
    assert calls.count("wrong") == 1, "an engine with a wrong checksum is not run again"
    assert "gone" not in calls


def test_engines_are_interleaved_in_a_rotating_order():
    calls: List[str] = []
    engines = [Fake("a", 1.0, 7, calls), Fake("b", 1.0, 7, calls), Fake("native", 1.0, 7, calls)]
    bench_run.measure([program("p")], engines, runs=3, quick=False)
    # Run 1: native first (the checksum reference); then the order of the
    # engine list, rotated by the run number.
    assert calls == ["native", "a", "b", "b", "native", "a", "native", "a", "b"]


def test_ratios_and_geometric_mean():
    calls: List[str] = []
    engines = [Fake("wasm3", 4.0, 1, calls), Fake("x", 1.0, 1, calls), Fake("native", 1.0, 1, calls)]
    programs = [program("a"), program("b")]
    cells = bench_run.measure(programs, engines, runs=1, quick=False)
    cells["b"]["x"].times = [32.0]  # a: x/wasm3 = 0.25, b: x/wasm3 = 4.0 -> geomean 1.0
    text = bench_run.report(programs, engines, cells, quick=False, runs=1)
    wasm3_table = text.split("Ratio to wasm3")[1].split("Ratio to native")[0]
    geomean_line = [ln for ln in wasm3_table.splitlines() if ln.startswith("geomean")][0]
    assert geomean_line.split()[1:] == ["1.00x", "1.00x", "0.25x"]
    native_table = text.split("Ratio to native")[1]
    b_line = [ln for ln in native_table.splitlines() if ln.startswith("b (2)")][0]
    assert b_line.split()[2:] == ["4.00x", "16.00x", "1.00x"]
