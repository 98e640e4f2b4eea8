"""wasmprof profile-many end to end: inputs from a file and from a folder, the merged profile and the
per-input table against the runs profiled one by one, mistakes as one line before anything runs, and
Ctrl-C as a real SIGINT that leaves what finished."""
from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import wasmprof
from helpers.env import python_env
from helpers.many_runs import KERNEL, TRAPPING, one_by_one
from helpers.paths import EXAMPLES, ROOT
from helpers.wasm import wat2wasm
from wasmprof.profiles.wire import canonical


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasmprof", "profile-many", *args], capture_output=True, text=True,
                          cwd=cwd, env=python_env(), timeout=300)


def table(path: Path) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_inputs_from_a_file(tmp_path):
    ns = [5, 300, 2000, TRAPPING, 40]
    (tmp_path / "inputs.txt").write_text("# n for run(n)\n" + "\n".join(map(str, ns[:3])) + "\n\n" +
                                         "\n".join(map(str, ns[3:])) + "\n")
    proc = cli(KERNEL, "--inputs", "inputs.txt", "--invoke", "run", "--workers", "2", "-o", "merged.wpprof.json",
               "--per-input", "table.csv", "--top-inputs", "2", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # an input trapped
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["wasmprof: wrote merged.wpprof.json", "wasmprof: wrote table.csv",
                                        f"wasmprof: 5 inputs: 4 ok, 1 trap; "
                                        f"{one_by_one(KERNEL, ns, invoke='run').total_ticks:,} ticks"]
    merged = wasmprof.Profile.load(tmp_path / "merged.wpprof.json")
    assert merged == canonical(one_by_one(KERNEL, ns, invoke="run"))
    rows = table(tmp_path / "table.csv")
    alone = [wasmprof.profile(KERNEL, invoke="run", args=(n,)) for n in ns]
    assert [(r["index"], r["label"], r["status"], int(r["ticks"])) for r in rows] == \
        [(str(i), str(n), "trap" if n == TRAPPING else "ok", p.total_ticks) for i, (n, p) in enumerate(zip(ns, alone))]
    assert "out of bounds memory access" in rows[3]["error"]
    top = proc.stdout.splitlines()[-2:]  # --top-inputs 2: the two with the most ticks
    assert [line.split()[-1] for line in top] == [str(TRAPPING), "2000"]  # the trap came late in its run


def test_inputs_from_a_folder_as_stdin_of_a_wasi_command(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    texts = {"a.txt": b"first\n", "b.txt": b"a much longer line of input\n", "c.txt": b""}
    for name, data in texts.items():
        (folder / name).write_bytes(data)
    greet = str(EXAMPLES / "greet.wasm")
    proc = cli(greet, "--inputs", "in", "--per-input", "t.csv", "-o", "m.folded", "--env", "NAME=x", "--", "arg",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    alone = [wasmprof.profile(greet, wasi=wasmprof.Wasi(args=["greet.wasm", "arg"], env={"NAME": "x"}, stdin=data,
                                                        stdout=bytearray())) for data in texts.values()]
    rows = table(tmp_path / "t.csv")
    assert [(r["label"], r["status"], r["exit_code"], int(r["ticks"])) for r in rows] == \
        [(name, "ok", "0", p.total_ticks) for name, p in zip(texts, alone)]
    total = alone[0].merge(alone[1]).merge(alone[2])
    assert (tmp_path / "m.folded").read_text() == canonical(total).render("folded")


def test_a_file_per_input_as_a_path_argument(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x").write_bytes(b"1")
    proc = cli(str(EXAMPLES / "greet.wasm"), "--inputs", "in", "--per-input", "t.csv", "--", "{}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    alone = wasmprof.profile(str(EXAMPLES / "greet.wasm"), wasi=wasmprof.Wasi(
        args=["greet.wasm", "/input/x"], preopens={"/input": str(folder)}, stdin=b"", stdout=bytearray()))
    assert int(table(tmp_path / "t.csv")[0]["ticks"]) == alone.total_ticks


@pytest.mark.parametrize("args,message", [
    (["--inputs", "nope.txt", "--invoke", "run"], "wasmprof: error: --inputs nope.txt: no such file or directory"),
    (["--inputs", "bad.txt", "--invoke", "run"], "wasmprof: error: input '1 2' in bad.txt: run takes 1 argument, "
                                                 "got 2"),
    (["--inputs", "words.txt", "--invoke", "run"], "wasmprof: error: input 'ten' in words.txt: cannot parse 'ten' "
                                                   "as i32"),
    (["--inputs", "empty.txt", "--invoke", "run"], "wasmprof: error: --inputs empty.txt: no inputs"),
    (["--inputs", "ok.txt"], "wasmprof: error: the module exports no _start: choose the function to call with "
                             "--invoke NAME"),
    (["--inputs", "ok.txt", "--invoke", "run", "--workers", "0"], "wasmprof: error: --workers must be at least 1"),
    (["--inputs", "ok.txt", "--invoke", "run", "--per-input", "no/such/t.csv"], "wasmprof: error: cannot write "
                                                                                 "no/such/t.csv: no directory"),
    (["--inputs", "ok.txt", "--invoke", "run", "--per-input", "t.json"], "the table is CSV, name it *.csv"),
    (["--inputs", "ok.txt", "--invoke", "run", "-o", "m.xyz"], "cannot tell the profile format"),
    (["--inputs", "ok.txt", "--invoke", "run", "--workers", "2", "--ray"], "not allowed with argument --workers"),
    (["--inputs", "ok.txt", "--invoke", "run", "--dask", "tcp://127.0.0.1:9"], "wasmprof: error: cannot connect to "
                                                                              "the Dask scheduler at tcp://127.0.0.1:9"),
])
def test_mistakes_are_one_line_before_anything_runs(tmp_path, args, message):
    (tmp_path / "bad.txt").write_text("1\n1 2\n")
    (tmp_path / "words.txt").write_text("ten\n")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    (tmp_path / "ok.txt").write_text("1\n")
    proc = cli(KERNEL, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]
    assert not list(tmp_path.glob("*.csv"))


SPIN = """
(module (func (export "spin") (param $n i32) (local $i i32)
  (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))))
"""


def test_ctrl_c_returns_what_finished(tmp_path):
    """A real SIGINT to the CLI once the progress bar shows two inputs done: exit 130, the table and the
    merged profile cover exactly the inputs that finished, the rest are cancelled."""
    (tmp_path / "spin.wasm").write_bytes(wat2wasm(SPIN))
    n_inputs = 30
    (tmp_path / "in.txt").write_text("30000000\n" * n_inputs)
    proc = subprocess.Popen([sys.executable, "-m", "wasmprof", "profile-many", "spin.wasm", "--inputs", "in.txt",
                             "--invoke", "spin", "--workers", "2", "--chunksize", "1", "--progress",
                             "-o", "m.wpprof.json", "--per-input", "t.csv"], cwd=tmp_path, env=python_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = bytearray()
    done = threading.Event()

    def read() -> None:
        while True:
            b = proc.stderr.read(1)
            if not b:
                break
            seen.extend(b)
            if not done.is_set() and any(int(m) >= 2 for m in re.findall(rb"(\d+)/%d" % n_inputs, seen)):
                done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert done.wait(240), seen.decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    finally:
        proc.kill()
    reader.join(10)
    err = seen.decode(errors="replace")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "wasmprof: interrupted (the profile and the table cover the inputs that finished)" in err
    rows = table(tmp_path / "t.csv")
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) >= 2 and len(rows) == n_inputs
    assert {r["status"] for r in rows} == {"ok", "cancelled"}
    merged = wasmprof.Profile.load(tmp_path / "m.wpprof.json")
    alone = wasmprof.profile(tmp_path / "spin.wasm", invoke="spin", args=(30000000,))
    assert merged.root.calls == len(ok)
    assert merged.total_ticks == len(ok) * alone.total_ticks == sum(int(r["ticks"]) for r in ok)
