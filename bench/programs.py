"""programs.py: the benchmark programs under bench/programs and their sizes.

Each bench/programs/NAME.c is one program (see bench_main.h): a WASI command
NAME.wasm taking the size as argv[1] and printing
`NAME n=SIZE checksum=XXXXXXXX`, and NAME.nowasi.wasm (no imports, export
`run`) for engines without WASI.  The default size (about 2-5 s under wasm3)
is the source's BENCH_DEFAULT_N; QUICK_SIZES are for smoke runs and tests.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
# ../shared/bench beside the checkout (CI has it at the same place): CoreMark and wasm3's sources.
SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"

# Small sizes: a few milliseconds under wasm3, under a second under wabt's
# wasm-interp.
QUICK_SIZES: Dict[str, int] = {
    "dispatch": 2000,
    "fib": 22,
    "hashtable": 20,
    "nbody": 10000,
    "sieve": 100,
    "sort_strings": 2,
}

NATIVE_CFLAGS = ["-O2", "-ffp-contract=off"]  # as build.sh: no FMA, bit-identical floats

_CHECKSUM = re.compile(r"^(\S+) n=(\d+) checksum=([0-9a-f]{8})$")


@dataclass(frozen=True)
class Program:
    name: str
    source: Path
    wasm: Path
    nowasi_wasm: Optional[Path]  # None: no build for engines without WASI
    default_size: int

    def quick_size(self) -> int:
        return QUICK_SIZES.get(self.name, self.default_size)

    def args(self, size: int) -> List[str]:
        """The command line after the program's name."""
        return [str(size)]

    def native(self, out_dir: Path) -> Path:
        """The native executable (built into out_dir)."""
        return build_native(self, out_dir)

    def checksum(self, size: int, stdout: bytes) -> int:
        """The checksum in the program's output; ValueError when the output is wrong."""
        return parse_checksum(self, size, stdout)


def discover(only: Optional[List[str]] = None, known_elsewhere: Tuple[str, ...] = ()) -> List[Program]:
    """Every program with a source and both committed .wasm files, by name.
    Names in known_elsewhere (CoreMark) may appear in `only` without a source here."""
    programs = []
    for source in sorted(PROGRAMS_DIR.glob("*.c")):
        name = source.stem
        if only and name not in only:
            continue
        match = re.search(r"^#define BENCH_DEFAULT_N (\d+)", source.read_text(), re.M)
        if not match:
            raise ValueError(f"{source}: no '#define BENCH_DEFAULT_N <size>'")
        programs.append(Program(name, source, source.with_suffix(".wasm"),
                                source.with_suffix(".nowasi.wasm"), int(match.group(1))))
    if only:
        missing = sorted(set(only) - {p.name for p in programs} - set(known_elsewhere))
        if missing:
            raise ValueError(f"unknown program(s): {', '.join(missing)}")
    return programs


def parse_checksum(program: Program, size: int, stdout: bytes) -> int:
    """The checksum from a program's output line; ValueError if it is not there."""
    text = stdout.decode("utf-8", "replace").strip()
    match = _CHECKSUM.match(text)
    if not match or match.group(1) != program.name or int(match.group(2)) != size:
        raise ValueError(f"unexpected output from {program.name} (size {size}): {text[:200]!r}")
    return int(match.group(3), 16)


def build_native(program: Program, out_dir: Path, cc: str = "gcc") -> Path:
    """Compile the program natively (gcc -O2) into out_dir; returns the executable."""
    exe = out_dir / program.name
    subprocess.run([cc, *NATIVE_CFLAGS, "-o", str(exe), str(program.source), "-lm"], check=True)
    return exe
