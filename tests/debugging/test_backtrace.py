"""Backtraces of real programs: C (clang, wasm32-wasi, -g) and Rust (Debian's
rustc, wasm32-wasi, -g) built by the test suite from tests/programs/.

Checks names (demangled Rust paths, C names), offsets, and source lines
against markers in the sources and against llvm-dwarfdump when present.
Skipped when the compilers are missing (a failure under CI).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import wasmprof
from helpers.env import native_env
from helpers.wasm import func_body_range, sections
from helpers.clang import clang_wasm

from helpers.wasi_stub import wasi_imports  # noqa: E402
from helpers.paths import TESTS

PROGRAMS = TESTS / "programs"
C_SRC = PROGRAMS / "trap_c.c"
RS_SRC = PROGRAMS / "trap_rs.rs"
INLINE_SRC = PROGRAMS / "inline_c.c"
OOB_ADDR = 0x7FFFFFF0


def _missing(message: str) -> None:
    pytest.skip(message)


def marker_line(path: Path, marker: str) -> int:
    """The 1-based line of the source that carries `marker` in a comment."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker} not in {path}")


def _rustc() -> Optional[str]:
    # Debian's rustc ships the wasm32-wasi std (libstd-rust-dev-wasm32); a
    # rustup toolchain earlier in PATH may not have that target.
    for cand in ("/usr/bin/rustc", shutil.which("rustc")):
        if cand and os.path.exists(cand):
            sysroot = subprocess.run([cand, "--print", "sysroot"], capture_output=True, text=True,
                                     env=native_env()).stdout.strip()
            if (Path(sysroot) / "lib" / "rustlib" / "wasm32-wasi").is_dir():
                return cand
    return None


@pytest.fixture(scope="session")
def c_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clang = shutil.which("clang")
    if not clang:
        _missing("clang not installed")
    out = tmp_path_factory.mktemp("c") / "trap_c.wasm"
    # No -O: the name section keeps every function and no frame is inlined.
    # No entry point: the exports are called directly.
    r = clang_wasm([C_SRC], out, cflags=["-g"], ldflags=["-nostartfiles", "-Wl,--no-entry"], clang=clang)
    if r.returncode != 0:
        _missing(f"clang cannot build for wasm32-wasi (wasi-libc, lld): {r.stderr[-500:]}")
    return out


@pytest.fixture(scope="session")
def inline_wasm(tmp_path_factory: pytest.TempPathFactory, c_wasm: Path) -> Path:
    out = tmp_path_factory.mktemp("inline") / "inline_c.wasm"
    r = clang_wasm([INLINE_SRC], out, cflags=["-O2", "-g"], ldflags=["-nostartfiles", "-Wl,--no-entry"])
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def rs_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rustc = _rustc()
    if not rustc:
        _missing("rustc with the wasm32-wasi target (libstd-rust-dev-wasm32) not installed")
    out = tmp_path_factory.mktemp("rs") / "trap_rs.wasm"
    r = subprocess.run([rustc, "--target", "wasm32-wasi", "-g", "--crate-type", "cdylib", "--crate-name", "mycrate",
                        "-o", str(out), str(RS_SRC)], capture_output=True, text=True, env=native_env())
    if r.returncode != 0:
        _missing(f"rustc cannot build for wasm32-wasi: {r.stderr[-500:]}")
    return out


HostCb = Any


def instantiate(path: Path, host_cb: Optional[HostCb] = None) -> Tuple[wasmprof.Module, wasmprof.Instance]:
    module = wasmprof.Module.from_file(str(path))
    ref: List[Optional[wasmprof.Memory]] = [None]
    imports: Dict[str, Dict[str, Any]] = wasi_imports(module, ref)
    if any(i.module == "env" for i in module.imports):
        imports["env"] = {"host_cb": wasmprof.Func(host_cb or (lambda x: x), ["i32"], ["i32"])}
    inst = wasmprof.Instance(module, imports)
    ref[0] = inst.exports.memory
    return module, inst


def trap_of(fn: Any, *args: int) -> wasmprof.Trap:
    with pytest.raises(wasmprof.Trap) as info:
        fn(*args)
    return info.value


def frame_named(frames: List[wasmprof.Frame], name: str) -> wasmprof.Frame:
    for f in frames:
        if f.name == name:
            return f
    raise AssertionError(f"no frame {name!r} in {[f.name for f in frames]}")


def check_offsets(module: wasmprof.Module, frames: List[wasmprof.Frame]) -> None:
    for f in frames:
        if f.host:
            assert f.func_index is None and f.module_offset is None
            continue
        assert f.func_offset == f.module_offset - module.func_body_offset(f.func_index)
        assert 0 < f.func_offset
        assert f.raw_name == module.func_raw_name(f.func_index)
        assert f.name == module.func_name(f.func_index)


# ---- C ----


def test_c_out_of_bounds(c_wasm: Path) -> None:
    module, inst = instantiate(c_wasm)
    trap = trap_of(inst.exports.oob, OOB_ADDR)
    assert trap.kind == "memory_oob"
    top = trap.frames[0]
    assert (top.name, top.raw_name) == ("read_word", "read_word")
    assert top.file.endswith("trap_c.c") and top.line == marker_line(C_SRC, "TRAP-OOB")
    assert top.module_offset == trap.offset and top.func_index == trap.func_index
    assert trap.frames[1].name == "oob"
    check_offsets(module, trap.frames)
    text = str(trap)
    assert text.startswith("out of bounds memory access")
    assert "wasm backtrace:" in text
    assert re.search(rf"0: +{top.module_offset:#x} - read_word\n +at \S*trap_c.c:{top.line}:\d+", text), text


def test_c_divide_by_zero(c_wasm: Path) -> None:
    module, inst = instantiate(c_wasm)
    trap = trap_of(inst.exports.div0, 0)
    assert trap.kind == "div_zero"
    assert [f.name for f in trap.frames[:2]] == ["divide", "div0"]
    assert trap.frames[0].line == marker_line(C_SRC, "TRAP-DIV")
    check_offsets(module, trap.frames)


def test_c_abort(c_wasm: Path) -> None:
    module, inst = instantiate(c_wasm)
    trap = trap_of(inst.exports.do_abort)
    assert trap.kind == "unreachable"
    assert trap.frames[0].name == "abort"  # wasi-libc's abort is __builtin_trap
    assert trap.frames[0].file is not None
    caller = frame_named(trap.frames, "do_abort")
    assert caller.file.endswith("trap_c.c") and caller.line == marker_line(C_SRC, "TRAP-ABORT")
    check_offsets(module, trap.frames)


def test_c_lines_match_llvm_dwarfdump(c_wasm: Path) -> None:
    """Our line decoder and llvm-dwarfdump agree on every frame, which also
    checks the address convention (offsets from the Code section's contents)."""
    tool = shutil.which("llvm-dwarfdump-14") or shutil.which("llvm-dwarfdump")
    if not tool:
        _missing("llvm-dwarfdump not installed (Debian llvm-14)")
    module, inst = instantiate(c_wasm)
    binary = c_wasm.read_bytes()
    code_start = next(start for sid, start, _ in sections(binary) if sid == 10)
    frames = trap_of(inst.exports.oob, OOB_ADDR).frames + trap_of(inst.exports.div0, 0).frames
    checked = 0
    for f in frames:
        if f.line is None:
            continue
        out = subprocess.run([tool, f"--lookup={f.module_offset - code_start:#x}", str(c_wasm)],
                             capture_output=True, text=True, env=native_env()).stdout
        m = re.search(r"Line info: file '([^']*)', line (\d+), column (\d+)", out)
        assert m, out
        assert (Path(f.file).name, f.line, f.column or 0) == (Path(m.group(1)).name, int(m.group(2)),
                                                                int(m.group(3)))
        checked += 1
    assert checked >= 4


def test_host_exception_gets_guest_backtrace(c_wasm: Path) -> None:
    def host_cb(x: int) -> int:
        raise ValueError(f"host says no to {x}")

    module, inst = instantiate(c_wasm, host_cb)
    with pytest.raises(ValueError, match="host says no to 5") as info:
        inst.exports.call_host(5)
    exc = info.value
    # its own traceback still reaches the host function
    assert any(fs.name == "host_cb" for fs in traceback.extract_tb(exc.__traceback__))
    frames = exc.wasm_frames
    assert frames[0].host and frames[0].name.endswith("host_cb")
    assert [f.name for f in frames[1:3]] == ["callback_caller", "call_host"]
    assert frames[1].line == marker_line(C_SRC, "CALL-HOST")
    if sys.version_info >= (3, 11):
        notes = "\n".join(exc.__notes__)
        assert "callback_caller" in notes and f"trap_c.c:{frames[1].line}" in notes
        assert len(exc.__notes__) == 1


def test_backtrace_inside_host_call(c_wasm: Path) -> None:
    seen: Dict[str, List[wasmprof.Frame]] = {}

    def host_cb(x: int) -> int:
        seen["module"] = wasmprof.backtrace()
        seen["instance"] = inst.backtrace()
        return x + 1

    module, inst = instantiate(c_wasm, host_cb)
    assert inst.exports.call_host(3) == (3 + 1) * 2 + 1
    frames = seen["module"]
    assert frames == seen["instance"]
    assert frames[0].host
    assert [f.name for f in frames[1:3]] == ["callback_caller", "call_host"]
    assert frames[1].line == marker_line(C_SRC, "CALL-HOST")
    check_offsets(module, frames)
    assert wasmprof.backtrace() == []  # no guest running now


def test_caught_nested_trap_does_not_leak_into_later_backtrace(c_wasm: Path) -> None:
    """A host function catches a nested guest trap and returns; a later trap's
    backtrace must show only the live frames."""
    caught: List[wasmprof.Trap] = []

    def host_cb(x: int) -> int:
        try:
            inst.exports.div0(0)
        except wasmprof.Trap as e:
            caught.append(e)
        return x

    module, inst = instantiate(c_wasm, host_cb)
    inst.exports.call_host(1)
    nested = caught[0].frames
    assert nested[0].name == "divide"
    assert any(f.host for f in nested) and nested[-1].name.startswith("call_host")
    trap = trap_of(inst.exports.oob, OOB_ADDR)
    assert "divide" not in [f.name for f in trap.frames]
    assert trap.frames[0].name == "read_word"


def test_c_source_function_from_debug_info(c_wasm: Path) -> None:
    module, inst = instantiate(c_wasm)
    trap = trap_of(inst.exports.div0, 0)
    for f in trap.frames[:2]:
        loc = module.source_location(f.module_offset)
        assert loc == f.location and loc.function == f.name  # no inlining at -O0
        assert f.inlined == ()


def test_c_inlined_frame(inline_wasm: Path) -> None:
    module, inst = instantiate(inline_wasm)
    trap = trap_of(inst.exports.run, OOB_ADDR)
    top = trap.frames[0]
    assert top.name == "run"                       # the wasm function
    assert top.source_function == "helper"         # the source function, inlined into it
    assert top.line == marker_line(INLINE_SRC, "INLINE-LOAD")
    assert [(c.function, Path(c.file).name, c.line) for c in top.inlined] == [
        ("run", "inline_c.c", marker_line(INLINE_SRC, "INLINE-CALL"))]
    assert module.source_location(top.module_offset).function == "helper"
    text = str(trap)
    assert re.search(r"0: +0x[0-9a-f]+ - helper\n +at \S*inline_c.c:\d+:\d+\n +- run\n +at \S*inline_c.c:"
                     + str(top.inlined[0].line), text), text


# ---- Rust ----


def test_rust_panic_backtrace(rs_wasm: Path) -> None:
    module, inst = instantiate(rs_wasm)
    trap = trap_of(inst.exports.rs_panic, 7)
    assert trap.kind == "unreachable"
    f = frame_named(trap.frames, "mycrate::module::function")
    assert re.fullmatch(r"_ZN7mycrate6module8function17h[0-9a-f]{16}E", f.raw_name)
    assert f.file.endswith("trap_rs.rs") and f.line == marker_line(RS_SRC, "TRAP-PANIC")
    names = [fr.name for fr in trap.frames]
    assert names.index("core::panicking::panic_bounds_check") < names.index("mycrate::module::function")
    assert trap.frames[0].file is not None  # the innermost frame, in std's panic_abort
    for fr in trap.frames:  # std is optimised: inlined frames carry names and call sites
        assert all(c.function and c.line for c in fr.inlined)
    assert f.source_function == "mycrate::module::function" and f.inlined == ()
    check_offsets(module, trap.frames)
    assert "mycrate::module::function\n" in str(trap)


def test_rust_out_of_bounds(rs_wasm: Path) -> None:
    module, inst = instantiate(rs_wasm)
    trap = trap_of(inst.exports.rs_oob, OOB_ADDR)
    assert trap.kind == "memory_oob"
    assert trap.frames[0].name == "core::ptr::read_volatile"
    assert trap.frames[0].file.endswith("ptr/mod.rs")
    f = frame_named(trap.frames, "mycrate::module::load")
    assert f.file.endswith("trap_rs.rs") and f.line == marker_line(RS_SRC, "TRAP-OOB")
    check_offsets(module, trap.frames)


# ---- without compilers: text modules (wat2wasm writes a name section) ----


def test_wat_names_and_offsets(wat: Any) -> None:
    binary = wat("""(module
      (func $inner (param $divisor i32) (result i32) (i32.div_u (i32.const 1) (local.get $divisor)))
      (func $outer (export "outer") (param i32) (result i32) (call $inner (local.get 0))))""")
    module = wasmprof.Module(binary)
    assert module.local_name(0, 0) == "divisor"
    trap = trap_of(wasmprof.Instance(module).exports.outer, 0)
    assert [(f.func_index, f.name) for f in trap.frames] == [(0, "inner"), (1, "outer")]
    assert trap.frames[0].module_offset == trap.offset
    assert trap.frames[0].file is None and trap.frames[0].location is None
    check_offsets(module, trap.frames)
    assert str(trap).splitlines()[1:] == [
        "wasm backtrace:",
        f"    0: {trap.frames[0].module_offset:#8x} - inner",
        f"    1: {trap.frames[1].module_offset:#8x} - outer",
    ]


def test_deep_recursion_is_summarised(wat: Any) -> None:
    binary = wat("""(module (func $rec (call $rec)) (func $start (export "start") (call $rec)))""")
    trap = trap_of(wasmprof.Instance(wasmprof.Module(binary)).exports.start)
    assert trap.kind == "stack_exhausted"
    names = [f.name for f in trap.frames]
    assert names[-1] == "start" and set(names[:-1]) == {"rec"} and len(names) > 1000
    text = str(trap)
    assert f"[previous frame repeated {len(names) - 1 - 3} more times]" in text
    assert len(text.splitlines()) == 1 + 1 + 3 + 1 + 1


def test_cli_prints_the_backtrace(wat: Any, tmp_path: Path) -> None:
    from helpers.env import python_env
    from helpers.paths import PYTHON, ROOT

    path = tmp_path / "t.wasm"
    path.write_bytes(wat("""(module
      (func $leaf (unreachable))
      (func $go (export "go") (call $leaf)))"""))
    r = subprocess.run([PYTHON, "-m", "wasmprof", "run", str(path), "--invoke", "go"], cwd=ROOT, env=python_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert re.search(r"wasm backtrace:\n +0: +0x[0-9a-f]+ - leaf\n +1: +0x[0-9a-f]+ - go", r.stderr), r.stderr


# ---- the oracle: wasmtime's own trap frames ----


def wasmtime_trap_frames(path: Path, export: str, *args: int) -> List[Tuple[int, str, int, int]]:
    """Run export under wasmtime (WASI linked, env.host_cb the identity) and
    return its trap's frames as (func_index, raw name, module offset,
    function offset), innermost first."""
    import wasmtime

    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(path))
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    if any(i.module == "env" for i in module.imports):
        i32 = wasmtime.ValType.i32()
        linker.define_func("env", "host_cb", wasmtime.FuncType([i32], [i32]), lambda x: x)
    instance = linker.instantiate(store, module)
    with pytest.raises(wasmtime.Trap) as info:
        instance.exports(store)[export](store, *args)
    return [(f.func_index, f.func_name, f.module_offset, f.func_offset) for f in info.value.frames]


@pytest.mark.parametrize("program,export,args", [
    ("c", "oob", (OOB_ADDR,)), ("c", "div0", (0,)), ("c", "do_abort", ()),
    ("rs", "rs_oob", (OOB_ADDR,)), ("rs", "rs_panic", (7,)),
])
def test_trap_frames_equal_wasmtimes(program: str, export: str, args: Tuple[int, ...], c_wasm: Path,
                                     rs_wasm: Path) -> None:
    """Every frame of a trap (function index, name, module and function
    offsets) is the one wasmtime reports for the same trap."""
    path = c_wasm if program == "c" else rs_wasm
    _, inst = instantiate(path)
    ours = [(f.func_index, f.raw_name, f.module_offset, f.func_offset)
            for f in trap_of(getattr(inst.exports, export), *args).frames]
    theirs = wasmtime_trap_frames(path, export, *args)
    assert len(theirs) >= 2
    assert ours == theirs


DEEP_SRC = PROGRAMS / "inline_deep.c"


@pytest.fixture(scope="session")
def inline_deep_wasm(tmp_path_factory: pytest.TempPathFactory, c_wasm: Path) -> Path:
    out = tmp_path_factory.mktemp("inline_deep") / "inline_deep.wasm"
    r = clang_wasm([DEEP_SRC], out, cflags=["-O2", "-g"], ldflags=["-nostartfiles", "-Wl,--no-entry"])
    assert r.returncode == 0, r.stderr
    return out


def symbolizer_frames(tool: str, wasm: Path, addresses: List[int]) -> List[List[Tuple[str, str, int, int]]]:
    """llvm-symbolizer --inlining for code-section addresses: per address, its
    frames innermost first as (function, file name, line, column)."""
    out = subprocess.run([tool, f"--obj={wasm}", "--inlining", "--functions=linkage"],
                         input="".join(f"{a:#x}\n" for a in addresses), capture_output=True, text=True,
                         env=native_env(), check=True).stdout
    result = []
    for block in out.strip("\n").split("\n\n"):
        lines = block.splitlines()
        frames = []
        for function, where in zip(lines[0::2], lines[1::2]):
            file, line, column = where.rsplit(":", 2)
            frames.append((function, Path(file).name, int(line), int(column)))
        result.append(frames)
    assert len(result) == len(addresses)
    return result


def test_inlined_frames_equal_llvm_symbolizers(inline_deep_wasm: Path) -> None:
    """At every byte of run() (two levels of inlining, both inlined copies
    described by DW_AT_ranges), our chain of source frames is the one
    llvm-symbolizer --inlining gives."""
    tool = shutil.which("llvm-symbolizer-14") or shutil.which("llvm-symbolizer")
    if not tool:
        _missing("llvm-symbolizer not installed (Debian llvm-14)")
    dump = subprocess.run([shutil.which("llvm-dwarfdump-14") or "llvm-dwarfdump", "--debug-info",
                           str(inline_deep_wasm)], capture_output=True, text=True, env=native_env()).stdout
    assert re.search(r'DW_TAG_inlined_subroutine\s+DW_AT_abstract_origin\s+\(0x[0-9a-f]+ "middle"\)\s+'
                     r'DW_AT_ranges', dump)
    assert re.search(r'DW_TAG_inlined_subroutine\s+DW_AT_abstract_origin\s+\(0x[0-9a-f]+ "leaf"\)\s+'
                     r'DW_AT_ranges', dump)
    module = wasmprof.Module.from_file(str(inline_deep_wasm))
    binary = inline_deep_wasm.read_bytes()
    code_start = next(start for sid, start, _ in sections(binary) if sid == 10)
    (run_index,) = [i for i in range(64) if module.func_raw_name(i) == "run"]
    start, end = func_body_range(binary, run_index)
    offsets = list(range(start, end))
    theirs = symbolizer_frames(tool, inline_deep_wasm, [o - code_start for o in offsets])
    def known(frames: List[Tuple[str, str, int, int]]) -> List[Tuple[str, Optional[str], int, int]]:
        # Line 0 is DWARF's "no source line" (code the compiler made up): we
        # give no location there, where llvm-symbolizer prints FILE:0:COLUMN.
        return [(fn, None, 0, 0) if line == 0 else (fn, file, line, column) for fn, file, line, column in frames]

    depths = set()
    for offset, expected in zip(offsets, theirs):
        ours = [(f.function, Path(f.file).name if f.file else None, f.line, f.column or 0)
                for f in module.source_frames(offset)]
        assert known(ours) == known(expected), f"at {offset:#x}"
        depths.add(len(ours))
    assert {1, 2, 3} <= depths  # run alone, middle in run, leaf in middle in run
