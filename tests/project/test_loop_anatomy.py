"""bench/loop_anatomy.py's per-handler table: where each handler starts in
the plain loop's machine code (_core._loop_handlers), and a callgrind
profile of a loop cut into those handlers."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.bench_kernels import SUM_LOOP
from helpers.paths import ROOT
from helpers.wasm import wat2wasm

sys.path.insert(0, str(ROOT / "bench"))

import loop_anatomy  # noqa: E402


def _plain_loop_range(so: Path):
    for line in subprocess.run(["nm", "-S", str(so)], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[3] == "wp_loop_plain":
            return int(fields[0], 16), int(fields[0], 16) + int(fields[1], 16)
    pytest.fail("wp_loop_plain not in the extension's symbols")


def test_every_handler_starts_inside_its_loop():
    from wasmprof import _core

    lo, hi = _plain_loop_range(Path(_core.__file__))
    starts = loop_anatomy.handler_starts("plain")
    names = {n for joined in starts.values() for n in joined.split("|")}
    assert {"local.get", "i32.add", "call", "return", "jump_back"} <= names
    assert all(lo <= a < hi for a in starts), [hex(a) for a in starts if not lo <= a < hi][:5]
    # a profile's block counting is the ticked loop's alone
    assert "tick_blocks" not in names
    assert "tick_blocks" in {n for joined in loop_anatomy.handler_starts("ticked").values() for n in joined.split("|")}
    with pytest.raises(ValueError, match="expected plain, ticked or step"):
        _core._loop_handlers("fast")


def test_a_profiled_loop_is_cut_into_its_handlers(tmp_path):
    from wasmprof import _core

    wasm = tmp_path / "sum.wasm"
    wasm.write_bytes(wat2wasm(SUM_LOOP))
    so = Path(_core.__file__)
    run = f"import wasmprof; wasmprof.Instance(wasmprof.Module.from_file({str(wasm)!r})).exports.run(1000)"
    per_addr = loop_anatomy.callgrind_instructions([sys.executable, "-c", run], "wp_loop_plain")["wp_loop_plain"]
    bias = min(per_addr) - _plain_loop_range(so)[0]
    starts = loop_anatomy.handler_starts("plain")
    code = loop_anatomy.function_code(loop_anatomy.disassembly(so), "wp_loop_plain")
    pieces = loop_anatomy.hottest_pieces(per_addr, bias, code, starts, 50)
    # The loop's pieces run once per iteration (its test once more) and hold nearly all the Ir.
    per_iteration = [(name, ir) for name, ir, runs in pieces if runs in (1000, 1001)]
    assert sum(ir for _n, ir in per_iteration) >= 0.95 * sum(per_addr.values()), pieces
    handler_names = set(starts.values())
    for name, _ir in per_iteration:
        assert name.removeprefix("after ") in handler_names, name
    assert "jump_back" in {name for name, _ir in per_iteration}  # the loop's br
