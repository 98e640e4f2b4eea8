"""Helpers for the WASI tests: build the test programs (tests/wasi_programs/)
with clang + wasi-libc or rustc, and run a program under wasmprof or under
wasmtime (the reference) with the same arguments, environment, preopened
directory and stdin, collecting exit status, stdout, stderr and the files
left in the directory."""
from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

import wasmprof
from .env import native_env
from .clang import clang_wasm

PROGRAMS = Path(__file__).resolve().parent.parent / "wasi_programs"
GUEST_DIR = "/sandbox"


def _missing(what: str) -> None:
    """Skip (a failure under CI, where .ci/run installs the toolchains)."""
    pytest.skip(what)


def _works(cmd: List[str], cwd: Path) -> bool:
    try:
        return subprocess.run(cmd, cwd=cwd, env=native_env(), capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Toolchains:
    """Finds clang (wasm32-wasi, wasi-libc) and a rustc with the wasm32-wasi std, once."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self._clang: Optional[str] = None
        self._rustc: Optional[str] = None
        self._probed: Dict[str, bool] = {}

    @classmethod
    def shared(cls, tmp_path_factory) -> "Toolchains":
        """One build cache for the whole session (each program is compiled once)."""
        cache = tmp_path_factory.getbasetemp() / "wasi_build"
        cache.mkdir(exist_ok=True)
        return cls(cache)

    def clang(self) -> str:
        if "clang" not in self._probed:
            probe = self.cache / "probe.c"
            probe.write_text("int main(void) { return 0; }\n")
            path = shutil.which("clang")
            ok = path is not None and _works(
                [path, "--target=wasm32-wasi", str(probe), "-o", str(self.cache / "probe_c.wasm")], self.cache
            )
            self._clang = path if ok else None
            self._probed["clang"] = True
        if not self._clang:
            _missing("clang for wasm32-wasi not found (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)")
        assert self._clang
        return self._clang

    def rustc(self) -> str:
        if "rustc" not in self._probed:
            probe = self.cache / "probe.rs"
            probe.write_text("fn main() {}\n")
            # Debian's rustc (libstd-rust-dev-wasm32) first: a rustup toolchain may lack the target.
            for path in ("/usr/bin/rustc", shutil.which("rustc")):
                if path and _works(
                    [path, "--target", "wasm32-wasi", str(probe), "-o", str(self.cache / "probe_rs.wasm")], self.cache
                ):
                    self._rustc = path
                    break
            self._probed["rustc"] = True
        if not self._rustc:
            _missing("rustc with the wasm32-wasi std not found (apt-get install rustc libstd-rust-dev-wasm32)")
        assert self._rustc
        return self._rustc

    def build(self, source: str) -> Path:
        """Compile tests/wasi_programs/<source> to a .wasm in the cache (once)."""
        src = PROGRAMS / source
        out = self.cache / (src.stem + ("_c" if src.suffix == ".c" else "_rs") + ".wasm")
        if out.exists():
            return out
        tmp = Path(str(out) + ".tmp")
        if src.suffix == ".c":
            proc = clang_wasm([src], tmp, cflags=["-O2", "-Wall", "-Werror"], clang=self.clang())
        else:
            cmd = [self.rustc(), "--target", "wasm32-wasi", "-O", "-C", "debuginfo=0", "--edition", "2021",
                   str(src), "-o", str(tmp)]
            proc = subprocess.run(cmd, cwd=self.cache, env=native_env(), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{' '.join(proc.args)} failed:\n{proc.stdout}\n{proc.stderr}"
        os.replace(str(out) + ".tmp", out)
        return out


@dataclass(frozen=True)
class Outcome:
    """What a run produced: exit status, stdout, stderr, files left in the directory."""

    code: int
    stdout: bytes
    stderr: bytes
    files: Dict[str, Optional[bytes]]
    outside: Dict[str, Optional[bytes]]


def snapshot(root: Path) -> Dict[str, Optional[bytes]]:
    """Every entry under root: relative path -> file bytes, None for a directory,
    b'->target' for a symlink."""
    result: Dict[str, Optional[bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                result[rel] = b"->" + os.fsencode(os.readlink(p))
            elif p.is_dir():
                result[rel] = None
            else:
                result[rel] = p.read_bytes()
    return result


@dataclass(frozen=True)
class Case:
    """One run of a program: arguments after argv[0], environment, stdin, and
    the files the preopened directory starts with (relative path -> bytes)."""

    program: str
    args: Tuple[str, ...] = ()
    env: Tuple[Tuple[str, str], ...] = ()
    stdin: bytes = b""
    files: Tuple[Tuple[str, bytes], ...] = ()
    links: Tuple[Tuple[str, str], ...] = ()  # relative path -> symlink target

    @property
    def id(self) -> str:
        return self.program + ("-" + "-".join(self.args) if self.args else "")


OUTSIDE = {"outside.txt": b"secret outside the sandbox\n", "outsidedir/outside.txt": b"also outside\n"}


def prepare_dir(base: Path, case: Case) -> Path:
    """base/box is the directory the guest sees; base also holds files outside it (OUTSIDE)."""
    root = base / "box"
    root.mkdir(parents=True)
    for rel, data in OUTSIDE.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
    for rel, data in case.files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    for rel, target in case.links:
        os.symlink(target, root / rel)
    return root


def outside_of(root: Path) -> Dict[str, Optional[bytes]]:
    """What lies next to the guest's directory (must stay exactly OUTSIDE)."""
    return {k: v for k, v in snapshot(root.parent).items() if k != "box" and not k.startswith("box/")}


def run_wasmprof(wasm: Path, case: Case, root: Path) -> Outcome:
    out, err = bytearray(), bytearray()
    wasi = wasmprof.Wasi(
        args=[wasm.name, *case.args],
        env=dict(case.env),
        preopens={GUEST_DIR: str(root)},
        stdin=case.stdin,
        stdout=out,
        stderr=err,
    )
    code = wasmprof.run(wasm, wasi=wasi)
    return Outcome(code, bytes(out), bytes(err), snapshot(root), outside_of(root))


def run_wasmtime(wasm: Path, case: Case, root: Path, io_dir: Path) -> Outcome:
    import wasmtime

    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    cfg = wasmtime.WasiConfig()
    cfg.argv = [wasm.name, *case.args]
    cfg.env = list(case.env)
    cfg.preopen_dir(str(root), GUEST_DIR)
    io_dir.mkdir(parents=True, exist_ok=True)
    stdin, stdout, stderr = io_dir / "stdin", io_dir / "stdout", io_dir / "stderr"
    stdin.write_bytes(case.stdin)
    cfg.stdin_file = str(stdin)
    cfg.stdout_file = str(stdout)
    cfg.stderr_file = str(stderr)
    store.set_wasi(cfg)
    module = wasmtime.Module.from_file(engine, str(wasm))
    instance = linker.instantiate(store, module)
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    return Outcome(code, stdout.read_bytes(), stderr.read_bytes(), snapshot(root), outside_of(root))


def run_both(tools: Toolchains, case: Case, tmp: Path) -> Tuple[Outcome, Outcome]:
    """Run case under wasmtime and under wasmprof, each in a fresh copy of its directory."""
    wasm = tools.build(case.program)
    ref = run_wasmtime(wasm, case, prepare_dir(tmp / "wasmtime", case), tmp / "wasmtime_io")
    got = run_wasmprof(wasm, case, prepare_dir(tmp / "wasmprof", case))
    return ref, got


def describe(o: Outcome) -> str:
    return f"exit {o.code}\n--- stdout\n{o.stdout!r}\n--- stderr\n{o.stderr!r}\n--- files\n{sorted(o.files)}"


def assert_same(ref: Outcome, got: Outcome) -> None:
    assert_same_run(ref, got)
    expected_outside = {**{k: v for k, v in OUTSIDE.items()}, "outsidedir": None}
    assert got.outside == expected_outside, "wasmprof touched files outside the sandbox"


def assert_same_run(ref: Outcome, got: Outcome) -> None:
    """Same exit status, stdout, stderr (a diff when not) and files."""
    assert got.code == ref.code, f"exit status differs\nwasmtime: {describe(ref)}\nwasmprof: {describe(got)}"
    for name in ("stdout", "stderr"):
        a, b = getattr(ref, name), getattr(got, name)
        diff = difflib.unified_diff(
            a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines(),
            "wasmtime " + name, "wasmprof " + name, lineterm="",
        )
        assert a == b, "\n".join(diff) or f"{name} differs: {a!r} != {b!r}"
    assert sorted(got.files) == sorted(ref.files), "not the same files"
    for name, data in ref.files.items():
        mine = got.files[name]
        diff = difflib.unified_diff((data or b"").decode("utf-8", "replace").splitlines(),
                                    (mine or b"").decode("utf-8", "replace").splitlines(),
                                    "wasmtime " + name, "wasmprof " + name, lineterm="")
        assert mine == data, "\n".join(diff) or f"{name} differs"


def all_programs() -> Sequence[str]:
    return sorted(p.name for p in PROGRAMS.iterdir() if p.suffix in (".c", ".rs"))
