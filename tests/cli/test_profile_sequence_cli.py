"""wasmprof profile with --invoke repeated and --setup: a reactor's calls
profiled in sequence on one instance."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.env import python_env
from helpers.paths import ROOT
from helpers.wasm import wat2wasm

REACTOR = """
(module
  (memory 1)
  (global $size (mut i32) (i32.const 0))
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 100)))
  (func $put (param $i i32) (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $i)))
  (func (export "init") (param $n i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (call $put (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (global.set $size (local.get $n)))
  (func (export "eval") (param $x i32) (result i32)
    (if (i32.eqz (global.get $ready)) (then unreachable))  ;; _initialize must have run
    (i32.mul (global.get $size) (local.get $x))))
"""


@pytest.fixture()
def reactor(tmp_path):
    path = tmp_path / "reactor.wasm"
    path.write_bytes(wat2wasm(REACTOR))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasmprof", "profile", *args], capture_output=True, text=True,
                          cwd=ROOT, env=python_env(), timeout=120)


def folded(path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        stack, value = line.rsplit(" ", 1)
        out[stack] = int(value)
    return out


def test_each_invoke_is_its_own_subtree(reactor, tmp_path):
    out = tmp_path / "seq.folded"
    r = run_cli(str(reactor), "--invoke", "init 10", "--invoke", "eval", "-o", str(out), "--", "3")
    assert r.returncode == 0, r.stderr
    stacks = folded(out)
    assert set(stacks) == {"init", "init;put", "eval"}
    assert stacks["init;put"] == 10 * 6  # put: 5 instructions and its end, 10 calls
    # global.get, i32.eqz, if (false: lands after its end, uncounted), global.get, local.get, i32.mul, end
    assert stacks["eval"] == 7
    import wasmprof

    inst = wasmprof.Instance(wasmprof.Module.from_file(str(reactor)))
    inst.exports._initialize()
    inst.exports.init(10)
    with inst.profile() as s:
        assert inst.exports.eval(3) == 30
    assert s.profile.total_ticks == stacks["eval"]


def test_setup_calls_are_left_out(reactor, tmp_path):
    out = tmp_path / "seq.folded"
    r = run_cli(str(reactor), "--setup", "init 10", "--invoke", "eval", "-o", str(out), "--top", "5", "--", "3")
    assert r.returncode == 0, r.stderr
    assert set(folded(out)) == {"eval"}
    assert "eval" in r.stdout and "init" not in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--setup", "nope", "--invoke", "eval", "1"], "no exported function 'nope'"),
    (["--setup", "init x", "--invoke", "eval", "1"], "cannot parse 'x' as i32"),
    (["--invoke", "init", "--invoke", "eval", "1"], "init takes 1 argument"),
    (["--invoke", "init 1", "--invoke", "eval", "--max-ticks", "5", "--", "1"], "--max-ticks"),
    (["--setup", "init '1"], "No closing quotation"),
])
def test_mistakes_are_one_line_usage_errors(reactor, args, message):
    r = run_cli(str(reactor), *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_trap_in_the_sequence_still_writes_the_profile(reactor, tmp_path):
    out = tmp_path / "seq.folded"
    # init writes past its one page of memory
    r = run_cli(str(reactor), "--invoke", "init 20000", "--invoke", "eval 1", "-o", str(out))
    assert r.returncode == 1
    assert "trap" in r.stderr and "out of bounds" in r.stderr
    assert "init;put" in folded(out)
