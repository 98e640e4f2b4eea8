"""coremark.py: EEMBC CoreMark as one more bench program, at a fixed iteration count.

The sources stay in ../shared/bench/coremark (unmodified, as CoreMark's rules
require; never copied into this repository): its build.sh compiles
coremark.wasm (clang-14, wasm32-wasi) and coremark-native (gcc) into the
run's temporary directory.  Every engine runs it as
`coremark 0x0 0x0 0x66 N`: the "2K performance run" seeds and N iterations,
the same work everywhere.

Validation: CoreMark checks its own list, matrix and state CRCs against the
known values for those seeds and prints `[0]ERROR! list crc ...` when one is
wrong; any ERROR line fails the run, except the one about running less than
10 s (a fixed N is shorter on purpose, so CoreMark's own "Correct operation
validated" and "CoreMark 1.0 : ..." lines only appear for runs over 10 s).
The checksum compared with the native build's packs the four CRCs
(list, matrix, state, final; the final one covers every iteration).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List

from programs import SHARED_BENCH, Program

NAME = "coremark"
ITERATIONS = 3000  # about 3 s under the wasm3 CLI on a 2-core Xeon VM
QUICK_ITERATIONS = 10
BUILD_SCRIPT = SHARED_BENCH / "coremark" / "build.sh"
PERFORMANCE_SEEDS = ["0x0", "0x0", "0x66"]  # CoreMark's "2K performance run" (seedcrc 0xe9f5)
PERFORMANCE_SEEDCRC = 0xE9F5
TOO_SHORT = "ERROR! Must execute for at least 10 secs for a valid result!"

_FIELD = re.compile(r"^(seedcrc|\[0\]crclist|\[0\]crcmatrix|\[0\]crcstate|\[0\]crcfinal|Iterations)\s*: (\S+)$", re.M)


class CoremarkUnavailable(Exception):
    """CoreMark cannot be built here; the message is the reason."""


@dataclass(frozen=True)
class CoreMark(Program):
    native_exe: Path = Path()

    def quick_size(self) -> int:
        return QUICK_ITERATIONS

    def args(self, size: int) -> List[str]:
        return [*PERFORMANCE_SEEDS, str(size)]

    def native(self, out_dir: Path) -> Path:
        return self.native_exe

    def checksum(self, size: int, stdout: bytes) -> int:
        return parse_output(size, stdout)


def parse_output(iterations: int, stdout: bytes) -> int:
    """The four CRCs as one number (list, matrix, state, final: 16 bits each);
    ValueError when CoreMark reports an error or its report is incomplete."""
    text = stdout.decode("utf-8", "replace")
    errors = [ln.strip() for ln in text.splitlines() if "ERROR" in ln and ln.strip() != TOO_SHORT]
    if errors:
        raise ValueError(f"CoreMark: {errors[0][:160]}")
    fields = dict(_FIELD.findall(text))
    if len(fields) != 6:
        raise ValueError(f"CoreMark: incomplete report: {text[-200:]!r}")
    if int(fields["Iterations"]) != iterations:
        raise ValueError(f"CoreMark ran {fields['Iterations']} iterations, not {iterations}")
    if int(fields["seedcrc"], 16) != PERFORMANCE_SEEDCRC:
        raise ValueError(f"CoreMark: seedcrc {fields['seedcrc']}, not the performance run's")
    crcs = [int(fields[f"[0]crc{part}"], 16) for part in ("list", "matrix", "state", "final")]
    return (crcs[0] << 48) | (crcs[1] << 32) | (crcs[2] << 16) | crcs[3]


def build(out_dir: Path) -> CoreMark:
    """Build coremark.wasm and coremark-native into out_dir with the shared build.sh."""
    if not BUILD_SCRIPT.is_file():
        raise CoremarkUnavailable(f"{BUILD_SCRIPT} not found")
    missing = [tool for tool in ("clang-14", "gcc") if shutil.which(tool) is None]
    if missing:
        raise CoremarkUnavailable(f"{', '.join(missing)} not found")
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(out_dir)], capture_output=True, text=True)
    wasm, native = out_dir / "coremark.wasm", out_dir / "coremark-native"
    if proc.returncode != 0 or not (wasm.is_file() and native.is_file()):
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise CoremarkUnavailable(f"build.sh failed: {last[:120]}")
    return CoreMark(NAME, BUILD_SCRIPT.parent, wasm, None, ITERATIONS, native_exe=native)
