"""A user's mistakes on the command line: each is one clear line on stderr,
no traceback, a non-zero status, and (for profile) found before the guest
runs.  Ctrl-C is sent as a real SIGINT to a running guest."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.env import python_env, sigint_default
from helpers.paths import EXAMPLES, ROOT
from helpers.wasm import wat2wasm

FIB = str(EXAMPLES / "fib.wasm")
KERNEL = str(EXAMPLES / "kernel.wasm")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasmprof", *args], capture_output=True, text=True, cwd=cwd,
                           env=python_env(), timeout=120)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The single line the CLI wrote on stderr (no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("args,status,message", [
    # an i32 argument out of range, a bad number
    (["run", FIB, "--invoke", "fib", "99999999999"], 2,
     "wasmprof: error: 99999999999 is out of range for i32 (-2147483648 to 4294967295)"),
    (["run", FIB, "--invoke", "loop_sum", "0x1" + "0" * 16], 2, "is out of range for i64"),
    (["run", FIB, "--invoke", "fib", "ten"], 2, "wasmprof: error: cannot parse 'ten' as i32"),
    (["profile", FIB, "--invoke", "fib", "-5000000000"], 2, "is out of range for i32"),
    # the wrong export or the wrong number of arguments
    (["run", FIB, "--invoke", "nope"], 2, "no exported function 'nope' (exported functions: fib(i32) -> (i32)"),
    (["profile", FIB, "--invoke", "fib"], 2, "wasmprof: error: fib takes 1 argument (i32) -> (i32), got 0"),
    # no _start and no --invoke: say what there is to call
    (["run", FIB], 2, "the module exports no _start: choose the function to call with --invoke NAME (exported "
                      "functions: fib(i32) -> (i32), fib_iter(i32) -> (i32), loop_sum(i64) -> (i64))"),
    (["profile", KERNEL], 2, "choose the function to call with --invoke NAME (exported functions: run(i32)"),
    # output options, checked before anything runs
    (["profile", FIB, "--invoke", "fib", "-o", "/no/such/folder/out.svg", "5"], 2,
     "wasmprof: error: cannot write /no/such/folder/out.svg: no directory /no/such/folder"),
    (["profile", FIB, "--invoke", "fib", "-o", "out.xyz", "5"], 2, "cannot tell the profile format"),
    (["profile", FIB, "--invoke", "fib", "--format", "nope", "-o", "out.svg", "5"], 2,
     "unknown profile format 'nope'"),
    (["profile", FIB, "--invoke", "fib", "--format", "svg", "5"], 2, "wasmprof: error: --format needs -o PATH"),
    (["profile", FIB, "--invoke", "fib", "--cost", "/no/such/cost.json", "5"], 2, "/no/such/cost.json"),
    # files that are not there, or not modules
    (["run", "/no/such/module.wasm"], 1, "wasmprof: error: cannot read /no/such/module.wasm"),
    (["profile", str(ROOT / "README.md")], 1, "wasmprof: DecodeError: "),
])
def test_each_mistake_is_one_line(tmp_path, args, status, message):
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == status, proc.stderr
    assert message in one_line(proc)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_option_errors_come_before_the_guest_runs(tmp_path):
    """A bad -o is reported at once, not after a long run (the guest would
    run for minutes)."""
    started = time.monotonic()
    proc = cli("profile", FIB, "--invoke", "fib", "-o", str(tmp_path / "missing" / "p.svg"), "45")
    assert proc.returncode == 2 and "no directory" in one_line(proc)
    assert time.monotonic() - started < 30  # fib(45) takes minutes


def test_a_module_exporting_nothing_is_only_instantiated(tmp_path):
    path = tmp_path / "start.wasm"
    path.write_bytes(wat2wasm("(module (func $s) (start $s))"))
    proc = cli("run", str(path))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


# A WASI program that says it started, then loops until interrupted.
SPIN = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "running\\n")
  (func $spin (loop $l (br $l)))
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $spin)))
"""


def interrupted(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI on SPIN, send SIGINT once the guest said it runs."""
    path = tmp_path / "spin.wasm"
    path.write_bytes(wat2wasm(SPIN))
    proc = subprocess.Popen([sys.executable, "-m", "wasmprof", *args[:1], str(path), *args[1:]], cwd=tmp_path,
                            env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    try:
        assert proc.stdout.readline() == "running\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_during_run(tmp_path):
    proc = interrupted(tmp_path, "run")
    assert proc.returncode == 130
    assert one_line(proc) == "wasmprof: interrupted"


def test_ctrl_c_during_profile_writes_the_partial_profile(tmp_path):
    from wasmprof import Profile

    proc = interrupted(tmp_path, "profile", "-o", "spin.wpprof.json")
    assert proc.returncode == 130
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["wasmprof: wrote spin.wpprof.json",
                                        "wasmprof: interrupted (the profile covers the run up to the interruption)"]
    prof = Profile.load(tmp_path / "spin.wpprof.json")
    spin = [f for f in prof.functions() if f.name == "spin"]
    assert spin and spin[0].self_ticks > 1000  # it ran until the signal
    assert [f.name for f in prof.functions() if f.host] == ["wasi_snapshot_preview1.fd_write"]


def test_profile_library_keeps_the_partial_profile_on_keyboard_interrupt():
    """wasmprof.profile() re-raises Ctrl-C with the profile so far attached."""
    import wasmprof

    module = wasmprof.Module(wat2wasm("""(module (import "env" "stop" (func $stop))
      (func $work (param i32) (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
      (func (export "go") (call $work (i32.const 1000)) (call $stop)))"""))

    def stop() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        wasmprof.profile(module, invoke="go", imports={"env": {"stop": wasmprof.Func(stop, [], [])}})
    prof = info.value.profile
    work = [f for f in prof.functions() if f.name == "work"]
    assert work and work[0].calls == 1 and work[0].self_ticks > 3000


def test_coredump_written_for_the_cli_is_announced_and_named(tmp_path):
    """WASMPROF_COREDUMP makes the CLI write a coredump on a trap: it says
    where, and the dump names the unnamed module by its file."""
    path = tmp_path / "boom.wasm"
    path.write_bytes(wat2wasm('(module (func (export "boom") unreachable))'))
    env = dict(python_env(), WASMPROF_COREDUMP=str(tmp_path / "boom.core"))
    proc = subprocess.run([sys.executable, "-m", "wasmprof", "run", str(path), "--invoke", "boom"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1
    core = tmp_path / "boom.core"
    assert f"wasmprof: wasm coredump written to {core}" in proc.stderr
    from wasmprof import coredump

    assert coredump.load(core).modules == ["boom.wasm"]
    shown = cli("coredump", "show", str(core))
    assert shown.returncode == 0 and "modules: 0: boom.wasm" in shown.stdout


def test_hint_when_names_are_missing(tmp_path):
    """A module without a name section (clang -O2 at link time runs wasm-opt,
    which strips it): the trap and the profile say once how to keep names."""
    import wasmprof
    from wasmprof.build_hints import NO_NAMES

    binary = wat2wasm('(module (func $inner unreachable) (func (export "go") (call $inner)))')
    stripped = strip_custom_sections(binary)
    with pytest.raises(wasmprof.Trap) as info:
        wasmprof.Instance(wasmprof.Module(stripped)).exports.go()
    assert str(info.value).count(NO_NAMES) == 1
    with pytest.raises(wasmprof.Trap) as named:
        wasmprof.Instance(wasmprof.Module(binary)).exports.go()
    assert NO_NAMES not in str(named.value)
    prof = wasmprof.profile(wasmprof.Module(stripped), invoke="go")
    assert prof.hint == NO_NAMES and repr(prof).endswith(NO_NAMES) and NO_NAMES in prof._repr_html_()
    path = tmp_path / "s.wasm"
    path.write_bytes(stripped)
    proc = cli("profile", str(path), "--invoke", "go")
    assert proc.stderr.count("no name section") == 1


def strip_custom_sections(binary: bytes) -> bytes:
    """The module without its custom sections (the name section among them)."""
    from helpers.wasm import sections

    out = bytearray(binary[:8])
    for sid, start, end in sections(binary):
        if sid != 0:
            header = start - 1  # back over the size (LEB128) to the id byte
            while binary[header - 1] & 0x80:
                header -= 1
            out += binary[header - 1:end]
    return bytes(out)


def test_run_writes_a_coredump_when_asked(tmp_path):
    """wasmprof.run() takes coredump= as Instance does."""
    import wasmprof

    path = tmp_path / "t.wasm"
    path.write_bytes(wat2wasm('(module (func (export "_start") unreachable))'))
    with pytest.raises(wasmprof.Trap) as info:
        wasmprof.run(str(path), coredump=tmp_path / "t.core")
    assert info.value.coredump == str(tmp_path / "t.core")
    assert os.path.getsize(tmp_path / "t.core") > 0
