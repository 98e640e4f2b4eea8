"""engines.py: one adapter per engine the benchmark compares.

Every engine runs a Program at a size and returns (seconds, checksum).
What each one times:

- native:       the gcc -O2 executable, as a subprocess (process start
                included: about a millisecond).
- wasmprof:     in-process `wasmprof.run(path, wasi=Wasi(args, stdout=bytearray))`: decode,
                validate, instantiate and run.
- wasmprof+profile: the same through `wasmprof.profile(...)`.
- wasm3-cli:     wasm3's own command-line runner built at its best
                (../shared/bench/wasm3/build.sh: CMake Release, clang-14,
                -O3 -march=native, thin LTO) as a subprocess: process start,
                parse, lazy compilation and run.  The peer the speed targets
                are set against.
- pywasm3:      in-process through pywasm3: parse, load and run `_start`
                (WASI via bench/wasm3_wasi.py; wasm3 compiles lazily, so
                its translation is included).
- wasm-interp:  wabt's interpreter as a subprocess (process start, decode
                and validate included: a few milliseconds).  With WASI when
                the binary has it (`--wasi`), else the program's .nowasi.wasm
                build with the size patched in, run with --run-all-exports.
- wasmtime:     in-process; the module is compiled once beforehand (the JIT's
                compile time is not counted), then instantiate + `_start`.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

from coremark import CoreMark
from programs import SHARED_BENCH, Program
from wasm3_wasi import run_wasi_command

Result = Tuple[float, int]  # (seconds, checksum)


class Engine:
    """Base: `key` names the column, `role` says how to read it."""

    key = ""
    role = ""  # "subject", "peer", "ceiling" or "reference"

    def unavailable(self) -> Optional[str]:
        """None when the engine can run, else a short reason shown in its column."""
        return None

    def describe(self) -> str:
        """Version or build details for the report header."""
        return ""

    def cannot_run(self, program: Program) -> Optional[str]:
        """None when the engine can run this program, else "n/a (why)"."""
        return None

    def run(self, program: Program, size: int) -> Result:
        raise NotImplementedError


class Native(Engine):
    key, role = "native", "reference"

    def __init__(self, build_dir: Path) -> None:
        self._build_dir = build_dir
        self._exes: Dict[str, Path] = {}

    def unavailable(self) -> Optional[str]:
        return None if shutil.which("gcc") else "n/a (gcc not found)"

    def describe(self) -> str:
        first = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()
        return (first[0] if first else "gcc") + ", -O2 -ffp-contract=off"

    def run(self, program: Program, size: int) -> Result:
        exe = self._exes.get(program.name)
        if exe is None:
            exe = self._exes[program.name] = program.native(self._build_dir)
        start = time.perf_counter()
        proc = subprocess.run([str(exe), *program.args(size)], capture_output=True, check=True)
        seconds = time.perf_counter() - start
        return seconds, program.checksum(size, proc.stdout)


def _wasmprof():
    """The wasmprof package, or None when it cannot be imported."""
    try:
        return importlib.import_module("wasmprof")
    except ImportError:
        return None


def _run_wasmprof(entry: str, program: Program, size: int) -> Result:
    """Run the WASI command with wasmprof.<entry> (run or profile), stdout captured in a bytearray."""
    wasmprof = _wasmprof()
    stdout = bytearray()
    wasi = wasmprof.Wasi(args=[program.name, *program.args(size)], stdout=stdout)
    start = time.perf_counter()
    code = getattr(wasmprof, entry)(str(program.wasm), wasi=wasi)
    seconds = time.perf_counter() - start
    if entry == "run" and code != 0:  # profile() returns a Profile, not a status
        raise RuntimeError(f"exit code {code}")
    return seconds, program.checksum(size, bytes(stdout))


class Wasmprof(Engine):
    key, role = "wasmprof", "subject"

    def unavailable(self) -> Optional[str]:
        wasmprof = _wasmprof()
        if wasmprof is None:
            return "n/a (wasmprof not installed)"
        if not (hasattr(wasmprof, "run") and hasattr(wasmprof, "Wasi")):
            return "n/a (no WASI yet)"
        return None

    def describe(self) -> str:
        wasmprof = _wasmprof()
        return f"wasmprof {getattr(wasmprof, '__version__', '?')}" if wasmprof else ""

    def run(self, program: Program, size: int) -> Result:
        return _run_wasmprof("run", program, size)


class WasmprofProfiled(Wasmprof):
    key, role = "wasmprof+prof", "subject"

    def unavailable(self) -> Optional[str]:
        reason = super().unavailable()
        if reason:
            return reason
        # Until the profiler lands, wasmprof.profile is the Profile model's submodule, not a function.
        return None if callable(getattr(_wasmprof(), "profile", None)) else "n/a (no profiler yet)"

    def describe(self) -> str:
        return "wasmprof.profile(...) (profiler on)"

    def run(self, program: Program, size: int) -> Result:
        return _run_wasmprof("profile", program, size)


def cache_dir() -> Path:
    """Where the wasm3 CLI is built once per machine (its build uses -march=native)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wasmprof-bench"


class Wasm3Cli(Engine):
    key, role = "wasm3-cli", "peer"
    build_script = SHARED_BENCH / "wasm3" / "build.sh"

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._exe: Optional[Path] = None
        self._reason: Optional[str] = None

    def unavailable(self) -> Optional[str]:
        if self._exe is None and self._reason is None:
            self._reason = self._build()
        return self._reason

    def _build(self) -> Optional[str]:
        """Build the CLI once per machine into the cache (keyed by the script and
        the sources it builds); None on success, else the reason."""
        if not self.build_script.is_file():
            return f"n/a ({self.build_script} not found)"
        if shutil.which("clang-14") is None:
            return "n/a (clang-14 not found)"
        digest = hashlib.sha256()
        for path in sorted(self.build_script.parent.iterdir()):
            digest.update(path.name.encode() + path.read_bytes())
        exe = self._cache_dir / f"wasm3-{digest.hexdigest()[:12]}" / "wasm3"
        if not exe.is_file():
            print(f"building the wasm3 CLI into {exe.parent} ...", file=sys.stderr, flush=True)
            exe.parent.mkdir(parents=True, exist_ok=True)
            # Built beside it, then renamed: a run started meanwhile never sees half a file.
            with tempfile.TemporaryDirectory(dir=exe.parent) as tmp:
                proc = subprocess.run(["bash", str(self.build_script), tmp], capture_output=True, text=True)
                if proc.returncode != 0 or not (Path(tmp) / "wasm3").is_file():
                    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    return f"n/a (build.sh failed: {last[:80]})"
                os.replace(Path(tmp) / "wasm3", exe)
        self._exe = exe
        return None

    def describe(self) -> str:
        version = subprocess.run([str(self._exe), "--version"], capture_output=True, text=True).stdout
        first = version.strip().splitlines()[0] if version.strip() else "wasm3"
        return f"{first}, {self._exe} (CMake Release, clang-14 -O3 -march=native, thin LTO; simple WASI)"

    def run(self, program: Program, size: int) -> Result:
        start = time.perf_counter()
        proc = subprocess.run([str(self._exe), str(program.wasm), *program.args(size)], capture_output=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"exit code {proc.returncode}: {proc.stderr.decode(errors='replace')[:200]}")
        return seconds, program.checksum(size, proc.stdout)


class Wasm3(Engine):
    key, role = "pywasm3", "peer"

    def cannot_run(self, program: Program) -> Optional[str]:
        # Tried with clock_time_get added to wasm3_wasi.py: wasm3 0.5.0 then
        # returns from CoreMark's _start right after its first output line
        # (the wasm3 CLI, v0.9.0, runs it correctly).
        if isinstance(program, CoreMark):
            return "n/a (wasm3 0.5.0 ends it early)"
        return None

    def unavailable(self) -> Optional[str]:
        try:
            importlib.import_module("wasm3")
        except ImportError:
            return "n/a (pip install pywasm3)"
        return None

    def describe(self) -> str:
        import wasm3

        return (f"wasm3 {wasm3.M3_VERSION} via pywasm3 {importlib.metadata.version('pywasm3')} "
                "(WASI calls in Python: bench/wasm3_wasi.py)")

    def run(self, program: Program, size: int) -> Result:
        wasm = program.wasm.read_bytes()
        start = time.perf_counter()
        code, stdout, stderr = run_wasi_command(wasm, [program.name, *program.args(size)])
        seconds = time.perf_counter() - start
        if code != 0:
            raise RuntimeError(f"exit code {code}: {stderr[:200]!r}")
        return seconds, program.checksum(size, stdout)


SIZE_MARKER = b"wpbench-size"  # bench_main.h: the size follows as a little-endian u32


def patch_size(nowasi_wasm: bytes, size: int) -> bytes:
    """The .nowasi.wasm module with its data-segment size cell set to size."""
    at = nowasi_wasm.find(SIZE_MARKER)
    if at < 0 or nowasi_wasm.find(SIZE_MARKER, at + 1) >= 0:
        raise ValueError("the size marker must occur exactly once in the module")
    end = at + len(SIZE_MARKER)
    return nowasi_wasm[:end] + struct.pack("<I", size) + nowasi_wasm[end + 4:]


class WasmInterp(Engine):
    key, role = "wasm-interp", "peer"

    def __init__(self, work_dir: Path) -> None:
        self._exe = shutil.which("wasm-interp")
        self._work_dir = work_dir
        self._wasi: Optional[bool] = None

    def unavailable(self) -> Optional[str]:
        return None if self._exe else "n/a (wabt's wasm-interp not found)"

    def has_wasi(self, probe: Program) -> bool:
        """Whether this wasm-interp was built with WASI (Debian's 1.0.32 is not)."""
        if self._wasi is None:
            proc = subprocess.run([self._exe, "--wasi", str(probe.wasm), *probe.args(probe.quick_size())],
                                  capture_output=True)
            self._wasi = b"not compiled in" not in proc.stderr + proc.stdout and proc.returncode == 0
        return self._wasi

    def describe(self) -> str:
        version = subprocess.run([self._exe, "--version"], capture_output=True, text=True).stdout.strip()
        mode = {True: "with WASI", False: "built without WASI: runs NAME.nowasi.wasm's export `run`",
                None: ""}[self._wasi]
        return f"wabt wasm-interp {version} {mode}".strip()

    def cannot_run(self, program: Program) -> Optional[str]:
        if program.nowasi_wasm is None and not self.has_wasi(program):
            return "n/a (no WASI in this build)"
        return None

    def run(self, program: Program, size: int) -> Result:
        if self.has_wasi(program):
            start = time.perf_counter()
            proc = subprocess.run([self._exe, "--wasi", str(program.wasm), *program.args(size)],
                                  capture_output=True)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.decode(errors="replace")[:200])
            return seconds, program.checksum(size, proc.stdout)
        module = self._work_dir / f"{program.name}.{size}.nowasi.wasm"
        if not module.exists():
            tmp = module.with_suffix(".tmp")
            tmp.write_bytes(patch_size(program.nowasi_wasm.read_bytes(), size))
            os.replace(tmp, module)
        start = time.perf_counter()
        proc = subprocess.run([self._exe, "--run-all-exports", str(module)], capture_output=True)
        seconds = time.perf_counter() - start
        match = re.search(rb"^run\(\) => i32:(-?\d+)$", proc.stdout, re.M)
        if proc.returncode != 0 or not match:
            raise RuntimeError((proc.stderr or proc.stdout).decode(errors="replace")[:200])
        return seconds, int(match.group(1)) & 0xFFFFFFFF


class Wasmtime(Engine):
    key, role = "wasmtime", "ceiling"

    def __init__(self) -> None:
        self._engine = None
        self._modules: Dict[str, object] = {}

    def unavailable(self) -> Optional[str]:
        try:
            importlib.import_module("wasmtime")
        except ImportError:
            return "n/a (pip install wasmtime)"
        return None

    def describe(self) -> str:
        return f"wasmtime {importlib.metadata.version('wasmtime')} (JIT, Cranelift; compile time excluded)"

    def run(self, program: Program, size: int) -> Result:
        import wasmtime

        if self._engine is None:
            self._engine = wasmtime.Engine()
        module = self._modules.get(program.name)
        if module is None:
            module = self._modules[program.name] = wasmtime.Module.from_file(self._engine, str(program.wasm))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "stdout"
            linker = wasmtime.Linker(self._engine)
            linker.define_wasi()
            store = wasmtime.Store(self._engine)
            config = wasmtime.WasiConfig()
            config.argv = [program.name, *program.args(size)]
            config.stdout_file = str(out)
            store.set_wasi(config)
            start = time.perf_counter()
            instance = linker.instantiate(store, module)
            code = 0
            try:
                instance.exports(store)["_start"](store)
            except wasmtime.ExitTrap as exit_trap:
                code = exit_trap.code
            seconds = time.perf_counter() - start
            if code != 0:
                raise RuntimeError(f"exit code {code}")
            stdout = out.read_bytes()
        return seconds, program.checksum(size, stdout)
