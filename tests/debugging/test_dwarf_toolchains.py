"""DWARF from real toolchains, checked frame by frame against
`llvm-dwarfdump --lookup` (Debian llvm-14): for sampled code addresses,
every frame of Module.source_frames (the innermost line, then each inlined
call's call site and caller) must match the chain of subprogram and
inlined-subroutine entries llvm-dwarfdump finds there.

Modules: C built by clang 14 with DWARF 4 and with DWARF 5 (-O2, inlined
calls, wasi-libc's own DWARF, a relative source path so that DWARF 4 names
files relative to DW_AT_comp_dir), Rust built by rustc with DWARF 4 (with
the standard library's DWARF: a 5.9 MB module), and Flite from npm (a real
program's clang 13 DWARF 4: 138 compile units, 821 inlined calls).  rustc
here cannot emit DWARF 5 (Debian's 1.63 has no -Z dwarf-version; the rustup
toolchain has no wasm32 standard library), so Rust is checked in version 4
only.

File names: llvm-dwarfdump --lookup prints a line's file as the line table
names it (without its directory), which ours must end with, and call files
joined with their include directory and DW_AT_comp_dir, which ours must
equal (relative DWARF 4 names joined with the compilation directory)."""
from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

import wasmprof
from helpers.env import native_env
from helpers.real_programs import FLITE, fetch
from helpers.wasm import sections
from helpers.wasi_support import Toolchains

C_SOURCE = """\
#include <stdio.h>
#include <stdlib.h>
static inline int square(int x) { return x * x; }
static inline int sum_squares(const int *v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += square(v[i]);
  return s;
}
__attribute__((noinline)) int checksum(const int *v, int n) { return sum_squares(v, n) ^ 0x5a; }
int main(int argc, char **argv) {
  int v[16];
  for (int i = 0; i < 16; i++) v[i] = atoi(argc > 1 ? argv[1] : "3") + i;
  printf("%d\\n", checksum(v, 16));
  return 0;
}
"""
RUST_SOURCE = """\
#[inline(always)]
fn square(x: u64) -> u64 { x * x }
#[inline(never)]
fn checksum(v: &[u64]) -> u64 { v.iter().map(|&x| square(x)).sum::<u64>() ^ 0x5a }
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let v: Vec<u64> = (0..16).map(|i| i + n).collect();
    println!("{}", checksum(&v));
}
"""


def dwarfdump() -> str:
    tool = shutil.which("llvm-dwarfdump-14") or shutil.which("llvm-dwarfdump")
    if not tool:
        pytest.skip("llvm-dwarfdump not installed (Debian llvm-14)")
    return tool


@dataclass(frozen=True)
class Frame:
    function: Optional[str]  # None: llvm-dwarfdump gives no plain name to compare
    file: Optional[str]      # joined with the compile unit's directory
    line: int
    column: int


def _join(comp_dir: str, name: Optional[str]) -> Optional[str]:
    return None if name is None else posixpath.normpath(posixpath.join(comp_dir, name))


def _quoted(value: str) -> Optional[str]:
    m = re.search(r'"([^"]*)"\)?\s*$', value)
    return m.group(1) if m else None


def llvm_frames(tool: str, wasm: Path, addr: int) -> List[Frame]:
    """The frames llvm-dwarfdump --lookup finds at a Code-relative address, innermost first."""
    # --show-parents: the whole chain of entries holding the address, not only the innermost.
    out = subprocess.run([tool, f"--lookup={addr:#x}", "--show-parents", str(wasm)], capture_output=True, text=True,
                         env=native_env(), timeout=120).stdout
    dies: List[Tuple[str, Dict[str, str]]] = []
    for line in out.splitlines():
        m = re.match(r"0x[0-9a-f]+:\s+(DW_TAG_\w+)", line)
        if m:
            dies.append((m.group(1), {}))
            continue
        m = re.match(r"\s+(DW_AT_\w+)\s+\((.*)\)\s*$", line)
        if m and dies:
            dies[-1][1][m.group(1)] = m.group(2)
    info = re.search(r"Line info: file '([^']*)', line (\d+), column (\d+)", out)
    if not info or not dies:
        return []
    comp_dir = _quoted(dies[0][1].get("DW_AT_comp_dir", '""')) or ""
    chain = [(tag, attrs) for tag, attrs in dies if tag in ("DW_TAG_subprogram", "DW_TAG_inlined_subroutine")]

    def name_of(attrs: Dict[str, str]) -> Optional[str]:
        """The entry's own linkage name, else its name, else its origin's name; None when that is
        a mangled (Rust) or decorated ({closure#0}, generic) name, which is not compared."""
        for key in ("DW_AT_linkage_name", "DW_AT_name", "DW_AT_abstract_origin", "DW_AT_specification"):
            if key in attrs:
                name = attrs[key].strip('"') if key in ("DW_AT_linkage_name", "DW_AT_name") else _quoted(attrs[key])
                return name if name and re.fullmatch(r"\w+", name) and not name.startswith("_Z") else None
        return None

    # The line's file as the line table names it (without its directory); call files come joined.
    frames = [Frame(name_of(chain[-1][1]) if chain else None, info.group(1), int(info.group(2)), int(info.group(3)))]
    for inner, outer in zip(reversed(chain), list(reversed(chain))[1:]):
        if inner[0] != "DW_TAG_inlined_subroutine":
            break
        attrs = inner[1]
        frames.append(Frame(name_of(outer[1]), _join(comp_dir, _quoted(attrs.get("DW_AT_call_file", ""))),
                            int(attrs.get("DW_AT_call_line", "0"), 0), int(attrs.get("DW_AT_call_column", "0"), 0)))
    return frames


def same_file(ours: str, theirs: str) -> bool:
    """The same path, or one is the other with directories in front (a line's file as the table names
    it, a call file joined with DW_AT_comp_dir, ours joined or not)."""
    a, b = posixpath.normpath(ours), posixpath.normpath(theirs)
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def row_addresses(tool: str, wasm: Path) -> List[int]:
    """Addresses that start a line-table row of a live sequence (not end_sequence, not discarded)."""
    out = subprocess.run([tool, "--debug-line", str(wasm)], capture_output=True, text=True, env=native_env(),
                         timeout=300).stdout
    addrs = set()
    for m in re.finditer(r"^0x([0-9a-f]{16})\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\d+\s+(.*)$", out, re.M):
        addr, line, flags = int(m.group(1), 16), int(m.group(2)), m.group(3)
        if "end_sequence" not in flags and line != 0 and 0 < addr < 0xfffffff0:
            addrs.add(addr)
    return sorted(addrs)


def compare(wasm: Path, max_addresses: int) -> Tuple[int, int, int]:
    """Check every sampled address; returns (addresses, frames, inlined frames) compared."""
    tool = dwarfdump()
    module = wasmprof.Module(wasm.read_bytes())
    code_start = next(start for sid, start, _ in sections(wasm.read_bytes()) if sid == 10)
    addrs = row_addresses(tool, wasm)
    assert addrs, f"{wasm.name}: no line rows"
    step = max(1, len(addrs) // max_addresses)
    sample = addrs[::step][:max_addresses]
    with ThreadPoolExecutor(2) as pool:
        theirs_all = list(pool.map(lambda a: llvm_frames(tool, wasm, a), sample))
    nframes = ninlined = nnames = 0
    for addr, theirs in zip(sample, theirs_all):
        if not theirs:
            continue
        ours = [Frame(f.function, f.file, f.line or 0, f.column or 0) for f in module.source_frames(code_start + addr)]
        where = f"{wasm.name} at {addr:#x}: ours {ours}, llvm-dwarfdump {theirs}"
        assert len(ours) == len(theirs), where
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert (o.line, o.column) == (t.line, t.column), where
            assert o.file is not None and t.file is not None and same_file(o.file, t.file), where
            if i > 0:  # a call site: llvm-dwarfdump joins its file with the unit's DW_AT_comp_dir, as we do
                assert posixpath.normpath(o.file) == t.file, where
            if t.function is not None:
                assert o.function is not None and (o.function == t.function or o.function.endswith("::" + t.function)
                                                   or o.function.split("::")[-2:-1] == [t.function]), where
                nnames += 1
        nframes += len(ours)
        ninlined += len(ours) - 1
    assert nnames > 0
    return len(sample), nframes, ninlined


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Toolchains:
    return Toolchains.shared(tmp_path_factory)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dwarf_toolchains")
    (d / "src").mkdir()
    (d / "src" / "inl.c").write_text(C_SOURCE)
    (d / "r.rs").write_text(RUST_SOURCE)
    return d


@pytest.mark.parametrize("version", [4, 5])
def test_clang_dwarf(tools: Toolchains, build_dir: Path, version: int) -> None:
    out = build_dir / f"inl_dwarf{version}.wasm"
    # A relative source path: DWARF 4 then names the file "src/inl.c" under DW_AT_comp_dir.
    proc = subprocess.run([tools.clang(), "--target=wasm32-wasi", "-O2", "-g", f"-gdwarf-{version}", "-c", "src/inl.c",
                           "-o", f"inl{version}.o"], cwd=build_dir, capture_output=True, text=True, env=native_env())
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([tools.clang(), "--target=wasm32-wasi", f"inl{version}.o", "-o", out.name], cwd=build_dir,
                          capture_output=True, text=True, env=native_env())
    assert proc.returncode == 0, proc.stderr
    n, frames, inlined = compare(out, 120)
    assert n > 50 and inlined >= 2, (n, frames, inlined)


def test_rustc_dwarf4(tools: Toolchains, build_dir: Path) -> None:
    out = build_dir / "r_dwarf4.wasm"
    proc = subprocess.run([tools.rustc(), "--target", "wasm32-wasi", "-O", "-g", "r.rs", "-o", out.name],
                          cwd=build_dir, capture_output=True, text=True, env=native_env())
    assert proc.returncode == 0, proc.stderr
    n, frames, inlined = compare(out, 150)
    assert n > 100 and inlined > 20, (n, frames, inlined)


def test_flite_from_npm() -> None:
    """A large real module: Flite's own DWARF, built by its authors."""
    wasm = fetch(FLITE) / FLITE.wasm
    n, frames, inlined = compare(wasm, 150)
    assert n > 100 and inlined > 10, (n, frames, inlined)
