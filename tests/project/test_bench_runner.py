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
from coremark import CoreMark  # noqa: E402
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
    engines = [Fake("wasm3-cli", 2.0, 7, calls), Fake("wrong", 1.0, 8, calls),
               Fake("gone", 1.0, 7, calls, "n/a (why)"), Fake("native", 0.5, 7, calls)]
    cells = bench_run.measure([program("a")], engines, runs=3, quick=False)
    row = cells["a"]
    assert row["wasm3-cli"].times == [4.0, 4.0, 4.0] and row["wasm3-cli"].problem is None
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
    engines = [Fake("wasm3-cli", 4.0, 1, calls), Fake("x", 1.0, 1, calls), Fake("native", 1.0, 1, calls)]
    programs = [program("a"), program("b")]
    cells = bench_run.measure(programs, engines, runs=1, quick=False)
    cells["b"]["x"].times = [32.0]  # a: x/wasm3 = 0.25, b: x/wasm3 = 4.0 -> geomean 1.0
    text = bench_run.report(programs, engines, cells, quick=False, runs=1)
    wasm3_table = text.split("Ratio to wasm3-cli")[1].split("Ratio to native")[0]
    geomean_line = [ln for ln in wasm3_table.splitlines() if ln.startswith("geomean")][0]
    assert geomean_line.split()[1:] == ["1.00x", "1.00x", "0.25x"]
    native_table = text.split("Ratio to native")[1]
    b_line = [ln for ln in native_table.splitlines() if ln.startswith("b (2)")][0]
    assert b_line.split()[2:] == ["4.00x", "16.00x", "1.00x"]


class PerProgram(Fake):
    """An engine that cannot run CoreMark (as pywasm3)."""

    def cannot_run(self, program: Program) -> Optional[str]:
        return "n/a (not this one)" if isinstance(program, CoreMark) else None


def test_coremark_is_scored_on_its_own_and_left_out_of_the_geometric_mean():
    calls: List[str] = []
    engines = [Fake("wasm3-cli", 4.0, 1, calls), Fake("x", 1.0, 1, calls), PerProgram("py", 8.0, 1, calls),
               Fake("native", 1.0, 1, calls)]
    path = Path("/nonexistent/coremark")
    cm = CoreMark("coremark", path, path / "coremark.wasm", None, default_size=100, native_exe=path / "native")
    programs = [program("a"), cm]
    cells = bench_run.measure(programs, engines, runs=1, quick=False)
    assert cells["coremark"]["py"].problem == "n/a (not this one)" and "py" in calls  # ran "a" only
    assert calls.count("py") == 1
    text = bench_run.report(programs, engines, cells, quick=False, runs=1)
    wasm3_table = text.split("Ratio to wasm3-cli")[1].split("Ratio to native")[0]
    # CoreMark is not in the mean, so pywasm3's gap there does not shrink it to 1/1 or 0/1.
    geomean_line = [ln for ln in wasm3_table.splitlines() if ln.startswith("geomean")][0]
    assert geomean_line.split()[1:] == ["1.00x", "0.25x", "2.00x", "0.25x"]
    score_table = text.split("CoreMark score")[1]
    assert "100 iterations" in score_table.splitlines()[0]
    rows = {ln.split()[0]: ln.split()[1:] for ln in score_table.splitlines()[3:]}
    # Scores: 100 iterations / (seconds x size 100) -> 1/seconds.
    assert rows["wasm3-cli"] == ["0.2", "1.00x", "0.25x"]
    assert rows["x"] == ["1.0", "4.00x", "1.00x"]
    assert rows["native"] == ["1.0", "4.00x", "1.00x"]
    assert rows["py"] == ["n/a", "(not", "this", "one)"]
