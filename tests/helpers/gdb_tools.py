"""gdb_tools: what the GDB and LLDB tests (tests/debugging/test_gdb*.py, test_lldb.py) share: a real GDB
with Python (required under CI), the guests built from tests/programs/,
core files and the ELF arithmetic to corrupt one."""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Optional, Sequence

import pytest

from helpers.clang import clang_wasm
from helpers.env import native_env
from helpers.paths import ROOT, TESTS
from helpers.wasm import imported_func_count, read_leb_u, sections

PROGRAMS = TESTS / "programs"
CHILD = Path(__file__).parent / "gdb_python_child.py"  # the Python process the tests debug
CPP_SRC = PROGRAMS / "gdb_guest.cpp"
RS_SRC = PROGRAMS / "gdb_guest.rs"
GDB_TIMEOUT = 300
# What no command may ever print: a Python error inside GDB, or ours.
PYTHON_ERRORS = ("Python Exception", "Traceback (most recent call last)", "Error occurred in Python",
                 "internal error")


def missing(what: str) -> None:
    """Skip, or fail under CI, where every tool must be installed (.ci/run)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (required under CI)")
    pytest.skip(what)


def gdb_path() -> str:
    gdb = shutil.which("gdb")
    if not gdb:
        missing("gdb not installed (scripts/debian-packages.sh lists it)")
    probe = subprocess.run([gdb, "--batch", "-nx", "-ex", "python print('python-' + 'ok')"], capture_output=True,
                           text=True, env=native_env(), timeout=60)
    if "python-ok" not in probe.stdout:
        missing(f"this gdb has no Python: {probe.stdout[-300:]}{probe.stderr[-300:]}")
    return gdb


def run_gdb(commands: Sequence[str], args: Sequence[str], *, auto_load: bool = True, inferior_env: Optional[dict] = None,
            timeout: float = GDB_TIMEOUT) -> str:
    """`gdb --batch -nx` with auto-loading allowed everywhere, running each
    command in turn (-ex) on args; returns stdout and stderr together."""
    cmd = [gdb_path(), "--batch", "-nx", "-iex", "set debuginfod enabled off", "-iex", "set pagination off",
           "-iex", "set width 0"]
    if auto_load:
        cmd += ["-iex", "set auto-load safe-path /"]
    else:
        cmd += ["-iex", "set auto-load python-scripts off"]
    for name, value in (inferior_env or {}).items():
        cmd += ["-iex", f"set environment {name}={value}"]
    for c in commands:
        cmd += ["-ex", c]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, env=native_env(), timeout=timeout)
    return r.stdout + r.stderr


def assert_no_python_error(out: str) -> None:
    for bad in PYTHON_ERRORS:
        assert bad not in out, f"{bad!r} in GDB's output:\n{out}"


def assert_in_order(text: str, items: Sequence[str]) -> None:
    """Each item occurs in text after the one before it."""
    at = 0
    for item in items:
        found = text.find(item, at)
        assert found >= 0, f"{item!r} not found after offset {at} in:\n{text}"
        at = found + len(item)


def marker_line(path: Path, marker: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker} not in {path}")


def section(out: str, start: str, end: str) -> str:
    """The text between two marker lines printed with `echo`."""
    m = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), out, re.S)
    assert m, f"no {start}..{end} in:\n{out}"
    return m.group(1)


def marked(*commands: str) -> list:
    """Each command between `echo ==NAME==` lines, so a test can cut the output apart."""
    out = []
    for c in commands:
        out += [f"echo =={c}==\\n", c]
    return out + ["echo ==end==\\n"]


def output_of(out: str, command: str) -> str:
    """What `command` printed, in a run made with marked()."""
    m = re.search(re.escape(f"=={command}==") + r"\n(.*?)(?=\n==[^\n]*==\n|\Z)", out + "\n", re.S)
    assert m, f"no output for {command!r} in:\n{out}"
    return m.group(1)


# ---- guests ----


def build_cpp_guest(out_dir: Path) -> Path:
    clang = shutil.which("clang")
    if not clang:
        missing("clang not installed")
    out = out_dir / "gdb_guest_cpp.wasm"
    r = clang_wasm([CPP_SRC], out, cflags=["-g"], ldflags=["-nostartfiles", "-Wl,--no-entry"], clang=clang)
    if r.returncode != 0:
        missing(f"clang cannot build for wasm32-wasi: {r.stderr[-500:]}")
    return out


def build_rust_guest(out_dir: Path) -> Path:
    rustc = None
    for cand in ("/usr/bin/rustc", shutil.which("rustc")):  # Debian's has the wasm32-wasi target
        if cand and os.path.exists(cand):
            sysroot = subprocess.run([cand, "--print", "sysroot"], capture_output=True, text=True,
                                     env=native_env()).stdout.strip()
            if (Path(sysroot) / "lib" / "rustlib" / "wasm32-wasi").is_dir():
                rustc = cand
                break
    if not rustc:
        missing("rustc with the wasm32-wasi target (libstd-rust-dev-wasm32) not installed")
    out = out_dir / "gdb_guest_rs.wasm"
    r = subprocess.run([rustc, "--target", "wasm32-wasi", "-g", "--crate-type", "cdylib", "--crate-name", "mycrate",
                        "-o", str(out), str(RS_SRC)], capture_output=True, text=True, env=native_env(), timeout=600)
    if r.returncode != 0:
        missing(f"rustc cannot build for wasm32-wasi: {r.stderr[-500:]}")
    return out


def call_target(wasm: bytes, offset: int) -> int:
    """The function index a `call` at module offset `offset` calls (an
    independent check of the offsets the commands print)."""
    assert wasm[offset] == 0x10, f"no call instruction at {offset:#x} (byte {wasm[offset]:#x})"
    value, shift, pos = 0, 0, offset + 1
    while True:
        b = wasm[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80:
            return value


# ---- core files ----


def gcore_after_abort(args: Sequence[str], core: Path, inferior_env: Optional[dict] = None) -> str:
    """Run args under GDB until the deliberate abort, and write a core file
    there with `generate-core-file` (what a kernel would write, without
    depending on the machine's core_pattern)."""
    out = run_gdb(["run", f"generate-core-file {core}"], ["--args", *args], auto_load=False,
                  inferior_env=inferior_env)
    assert core.is_file(), out
    return out


def sanitized(program: Path) -> bool:
    """Whether a process of this program runs under AddressSanitizer (the
    sanitizer build's C hosts, or Python with libasan preloaded)."""
    return "libasan" in os.environ.get("LD_PRELOAD", "") or b"__asan_init" in program.read_bytes()


def core_after_abort(args: Sequence[str], cwd: Path, env: Optional[dict] = None) -> tuple:
    """A core file of args, which abort in a host import: (core, what the
    program printed, "gcore" or "kernel").  GDB's generate-core-file by
    default; the kernel for a sanitized process, whose terabytes of
    reserved (PROT_NONE, not MADV_DONTDUMP) allocator space GDB would
    write out, while the kernel skips what was never touched."""
    if not sanitized(Path(args[0])):
        core = cwd / "gcore.core"
        out = gcore_after_abort(args, core, inferior_env=inferior_env_of(env))
        return core, out, "gcore"
    env = dict(env or native_env())
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "disable_coredump=0"]))
    core, out = kernel_core_after_abort(args, cwd, env)
    if core is None:
        missing("the kernel's core_pattern sends cores elsewhere, and GDB cannot dump a sanitized process")
    return core, out, "kernel"


def inferior_env_of(env: Optional[dict]) -> dict:
    """The variables a child needs that GDB itself must not get (the
    sanitizer pass preloads libasan into Python, never into gdb)."""
    env = env if env is not None else os.environ
    return {k: env[k] for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS") if env.get(k)}


def kernel_core_after_abort(args: Sequence[str], cwd: Path, env: Optional[dict] = None) -> tuple:
    """Let the kernel write a core (RLIMIT_CORE raised) when core_pattern
    names a plain file: (the core or None when this machine sends cores
    elsewhere, what the program printed)."""
    import resource

    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern or "%" in pattern:
        return None, ""

    def unlimited() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    r = subprocess.run(list(args), cwd=cwd, env=env or native_env(), preexec_fn=unlimited, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0
    cores = [p for p in cwd.iterdir() if p.name == pattern or p.name.startswith(pattern + ".")]
    return (cores[0] if cores else None), r.stdout


def load_segments(core: Path) -> list:
    """(vaddr, file offset, file size, memory size) of each PT_LOAD of an ELF64 core."""
    data = core.read_bytes()[:1 << 20]
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not an ELF64 file"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            out.append((p_vaddr, p_offset, p_filesz, p_memsz))
    return out


def file_offset(core: Path, addr: int) -> int:
    for vaddr, offset, filesz, _ in load_segments(core):
        if vaddr <= addr < vaddr + filesz:
            return offset + addr - vaddr
    raise AssertionError(f"{addr:#x} is not in the core's file")


def dumped_bytes(core: Path) -> int:
    """The bytes of memory a core holds (its PT_LOAD file sizes)."""
    return sum(filesz for _, _, filesz, _ in load_segments(core))


def reserved_bytes(core: Path) -> int:
    return sum(memsz for _, _, _, memsz in load_segments(core))


def rss_bytes(out: str) -> int:
    m = re.search(r"VmRSS:\s+(\d+) kB", out)
    assert m, f"no VmRSS line in:\n{out}"
    return int(m.group(1)) * 1024


def poke(core: Path, addr: int, value: bytes) -> None:
    """Overwrite the bytes at a virtual address in a core file."""
    with open(core, "r+b") as f:
        f.seek(file_offset(core, addr))
        f.write(value)


GDB_DIR = ROOT / "gdb"


# ---- what the commands print ----

FRAME_RE = re.compile(r"^#(\d+)\s+(?:0x([0-9a-f]+) in )?(.*?) \(func\[(\d+)\](?:\+0x[0-9a-f]+)?\)(?: at (\S+):(\d+):\d+)?",
                      re.M)


def function_count(guest: Path) -> int:
    """Imported plus defined functions, from the module's own sections."""
    data = guest.read_bytes()
    _, start, _ = next(s for s in sections(data) if s[0] == 10)
    return imported_func_count(data) + read_leb_u(data, start)[0]


def frames(text: str) -> list:
    """(number, module offset or None, name, func index, file, line) per wasm-bt line."""
    return [(int(n), int(off, 16) if off else None, name, int(idx), file, int(line) if line else None)
            for n, off, name, idx, file, line in FRAME_RE.findall(text) if not name.startswith("<host>")]


def check_cpp_backtrace(text: str, guest: Path) -> None:
    """The C++ guest stopped in host_cb: the frames, demangled, with lines,
    and offsets that are the calls each frame made."""
    lines = text.splitlines()
    assert re.match(r"#0\s+<host> host_cb \(func\[0\]\) \[C function host_cb\]", lines[0]), text
    got = frames(text)
    names = [f[2] for f in got]
    assert names[:3] == ["geometry::Shape::perimeter(int) const", "int twice<int>(int)", "run"], text
    for (_, _, _, _, file, line), marker in zip(got, ("CALL-HOST", "CALL-PERIMETER", "CALL-TWICE")):
        assert file.endswith("programs/gdb_guest.cpp") and line == marker_line(CPP_SRC, marker), text
    wasm = guest.read_bytes()
    callees = [0] + [f[3] for f in got]
    for (_, offset, _, _, _, _), callee in zip(got[:3], callees):
        assert call_target(wasm, offset) == callee
