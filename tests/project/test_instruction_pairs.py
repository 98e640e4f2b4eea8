"""bench/instruction_pairs.py: the executed instruction sequences it counts
are exact, and none spans a branch target or follows an unconditional branch."""
from __future__ import annotations

import sys

import wasmprof
from helpers.bench_kernels import SUM_LOOP
from helpers.paths import ROOT
from helpers.wasm import wat2wasm

sys.path.insert(0, str(ROOT / "bench"))

from instruction_pairs import sequences  # noqa: E402


def test_sequences_count_what_ran():
    seqs = sequences(wasmprof.Module(wat2wasm(SUM_LOOP)), "run", (10,))
    # the loop's test runs 11 times, its body 10
    assert seqs[("local.get", "local.get")] == 11 + 10  # i n, then s i
    assert seqs[("i32.ge_u", "br_if")] == 11
    assert seqs[("br_if", "local.get")] == 10
    assert seqs[("i32.add", "local.set")] == 20
    assert seqs[("local.get", "i32.const", "i32.add")] == 10
    assert seqs[("local.get", "local.get", "i32.ge_u")] == 11
    assert seqs[("local.set", "br")] == 10
    # nothing through structure (the loop's header is a branch target) or after br
    assert not [s for s in seqs if {"block", "loop", "end"} & set(s)]
    assert not [s for s in seqs if "br" in s[:-1]]
