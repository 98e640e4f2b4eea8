"""Reading WebAssembly coredumps, and where wasmprof writes them.

A coredump (tool-conventions ``Coredump.md``) is a wasm binary whose custom
sections describe the process (``core``), the modules (``coremodules``), the
instances (``coreinstances``) and one stack per thread (``corestack``, frames
innermost first, each with its locals and operand stack), with the memories
in a memory and data section and the globals in a global section.

wasmprof writes them on a trap (``Instance(..., coredump=PATH)`` or the
``WASMPROF_COREDUMP`` environment variable; ``csrc/observe/coredump.c`` says what
goes in), and reads its own and other engines' (wasmtime's omit locals and
operand stacks)::

    dump = wasmprof.coredump.load("core.wasm", module=wasmprof.Module.from_file("k.wasm"))
    print(dump.render())
    dump.frames[0].locals, dump.memory.read(0x100, 16), dump.globals
"""
from __future__ import annotations

import itertools
import math
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from .._core import Error, Module, write_coredump

__all__ = [
    "CoredumpError",
    "Coredump",
    "CoreInstance",
    "Frame",
    "GlobalValue",
    "Memory",
    "Thread",
    "Value",
    "load",
    "parse",
    "trap_path",
    "write_last_trap",
    "ENV_VAR",
]

ENV_VAR = "WASMPROF_COREDUMP"
PAGE_SIZE = 65536

_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


class CoredumpError(Error):
    """A file that is not a readable coredump (truncated, corrupt, not wasm)."""


# ---- where to write ----------------------------------------------------------------

_sequence = itertools.count()


def trap_path(setting: Union[None, bool, str, "os.PathLike[str]"]) -> Optional[str]:
    """The file a trap's coredump goes to, for an Instance's ``coredump`` setting.

    None defers to the ``WASMPROF_COREDUMP`` environment variable (unset or
    empty: no coredump); False means never.  A directory (an existing one, or
    a path ending in a separator, created if needed) receives a fresh
    ``wasmprof-PID-N.coredump``; anything else is the file itself.
    """
    if setting is False:
        return None
    if setting is None or setting is True:
        setting = os.environ.get(ENV_VAR) or None
        if setting is None:
            return None
    path = os.fspath(setting)
    if path.endswith(os.sep) or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        while True:
            candidate = os.path.join(path, f"wasmprof-{os.getpid()}-{next(_sequence)}.coredump")
            if not os.path.exists(candidate):
                return candidate
    return path


def write_last_trap(path: Union[str, "os.PathLike[str]"], executable_name: Optional[str] = None) -> str:
    """Write a coredump of this thread's last trap (call it right after catching
    the :class:`wasmprof.Trap`, before any other WebAssembly call); for the
    ``run``/``profile`` front ends.  path may be a directory.  Returns the file."""
    target = trap_path(path)
    assert target is not None
    write_coredump(target, executable_name)
    return target


# ---- the data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A local or operand: type None when the dump says "missing" (0x01).
    bits is the raw bit pattern (unsigned, 32 or 64 bits)."""

    type: Optional[str]
    bits: Optional[int] = None

    @property
    def value(self) -> Union[int, float, None]:
        """The value as Python sees it: signed int, float, or None when missing."""
        if self.type is None or self.bits is None:
            return None
        if self.type == "i32":
            return self.bits - (1 << 32) if self.bits >> 31 else self.bits
        if self.type == "i64":
            return self.bits - (1 << 64) if self.bits >> 63 else self.bits
        if self.type == "f32":
            return float(struct.unpack("<f", struct.pack("<I", self.bits))[0])
        return float(struct.unpack("<d", struct.pack("<Q", self.bits))[0])

    def __str__(self) -> str:
        if self.type is None:
            return "<missing>"
        v = self.value
        if isinstance(v, float):
            text = "nan" if math.isnan(v) else repr(v)
            return f"{self.type} {text}"
        return f"{self.type} {v}"


@dataclass(frozen=True)
class Frame:
    """One stack frame.  code_offset is relative to the function body's start
    (the first byte after the body size), as the engine wrote it."""

    instance: int
    func_index: int
    code_offset: int
    locals: Tuple[Value, ...]
    stack: Tuple[Value, ...]


@dataclass(frozen=True)
class Thread:
    name: str
    frames: Tuple[Frame, ...]


@dataclass(frozen=True)
class CoreInstance:
    """An instance: its module (index into Coredump.modules) and its memories
    and globals as indices into Coredump.memories and Coredump.globals."""

    module: int
    memories: Tuple[int, ...]
    globals: Tuple[int, ...]


@dataclass(frozen=True)
class GlobalValue:
    """A global's captured value (None for references and unreadable initialisers)."""

    type: str
    mutable: bool
    value: Union[int, float, None]


@dataclass
class Memory:
    """A captured memory: its size and the data segments that hold its non-zero
    bytes (everything else is zero)."""

    pages: int
    max_pages: Optional[int]
    segments: List[Tuple[int, bytes]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE

    def read(self, addr: int, n: int) -> bytes:
        """n bytes at addr; IndexError outside the memory."""
        if addr < 0 or n < 0 or addr + n > self.size:
            raise IndexError(f"bytes [{addr:#x}, {addr + n:#x}) are outside the memory (size {self.size:#x})")
        out = bytearray(n)
        for start, data in self.segments:
            lo, hi = max(start, addr), min(start + len(data), addr + n)
            if lo < hi:
                out[lo - addr : hi - addr] = data[lo - start : hi - start]
        return bytes(out)

    @property
    def bytes(self) -> bytes:
        """The whole memory (materialised: size bytes)."""
        return self.read(0, self.size)

    @property
    def nonzero_bytes(self) -> int:
        return sum(len(d) - d.count(0) for _, d in self.segments)


@dataclass
class Coredump:
    """A parsed coredump.  frames are the first thread's, innermost first."""

    executable: str
    modules: List[str]
    instances: List[CoreInstance]
    threads: List[Thread]
    memories: List[Memory]
    globals: List[GlobalValue]
    module: Any = None  # the Module given to load(), for render()

    @property
    def frames(self) -> Tuple[Frame, ...]:
        return self.threads[0].frames if self.threads else ()

    @property
    def memory(self) -> Optional[Memory]:
        """Memory 0 of the innermost frame's instance (else the dump's first memory)."""
        if self.frames and self.frames[0].instance < len(self.instances):
            mems = self.instances[self.frames[0].instance].memories
            if mems and mems[0] < len(self.memories):
                return self.memories[mems[0]]
        return self.memories[0] if self.memories else None

    def instance_globals(self, instance: int) -> List[Tuple[int, GlobalValue]]:
        """(the instance's global index, value) for each global of an instance."""
        if instance >= len(self.instances):
            return []
        return [(i, self.globals[g]) for i, g in enumerate(self.instances[instance].globals) if g < len(self.globals)]

    def _repr_html_(self) -> str:
        from ..reprs import coredump_html

        return coredump_html(self)

    def render(self, module: Any = None) -> str:
        """A readable report; names and source lines come from module (or the one given to load())."""
        from .render import render

        return render(self, module if module is not None else self.module)


# ---- reading -----------------------------------------------------------------------


class _Reader:
    """A cursor over one section; every error says what was being read and where."""

    def __init__(self, data: bytes, pos: int, end: int, what: str) -> None:
        self.data, self.pos, self.end, self.what = data, pos, end, what

    def fail(self, msg: str) -> CoredumpError:
        return CoredumpError(f"corrupt coredump: {msg} in {self.what} at offset {self.pos:#x}")

    def byte(self) -> int:
        if self.pos >= self.end:
            raise CoredumpError(f"truncated coredump: unexpected end of {self.what} at offset {self.pos:#x}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if n > self.end - self.pos:
            left = self.end - self.pos
            raise CoredumpError(
                f"truncated coredump: {n} bytes needed, {left} left in {self.what} at offset {self.pos:#x}"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uleb(self, bits: int = 32) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= bits + 7:
                raise self.fail("LEB128 integer too long")
        if result >> bits:
            raise self.fail("integer too large")
        return result

    def sleb(self, bits: int) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= bits + 7:
                raise self.fail("LEB128 integer too long")
        if b & 0x40:
            result -= 1 << shift
        if not -(1 << (bits - 1)) <= result < (1 << (bits - 1)):
            raise self.fail("integer too large")
        return result

    def count(self, min_item_size: int = 1) -> int:
        """A vector length, checked against the bytes left (so a corrupt count
        cannot make us loop or allocate for long)."""
        n = self.uleb()
        if n * min_item_size > self.end - self.pos:
            raise CoredumpError(
                f"truncated coredump: a vector of {n} items does not fit in the {self.end - self.pos} bytes "
                f"left in {self.what} at offset {self.pos:#x}"
            )
        return n

    def name(self) -> str:
        raw = self.take(self.uleb())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("name is not UTF-8") from None

    def zero(self, what: str) -> None:
        b = self.byte()
        if b != 0:
            self.pos -= 1
            raise self.fail(f"{what} must start with 0x00, not {b:#04x}")

    def done(self) -> None:
        if self.pos != self.end:
            raise self.fail(f"{self.end - self.pos} unexpected bytes at the end")


def _value(r: _Reader) -> Value:
    t = r.byte()
    if t == 0x01:
        return Value(None)
    if t == 0x7F:
        return Value("i32", r.sleb(32) & 0xFFFFFFFF)
    if t == 0x7E:
        return Value("i64", r.sleb(64) & 0xFFFFFFFFFFFFFFFF)
    if t == 0x7D:
        return Value("f32", int.from_bytes(r.take(4), "little"))
    if t == 0x7C:
        return Value("f64", int.from_bytes(r.take(8), "little"))
    r.pos -= 1
    raise r.fail(f"unknown value type {t:#04x}")


def _corestack(r: _Reader) -> Thread:
    r.zero("thread-info")
    name = r.name()
    frames = []
    for _ in range(r.count(4)):
        r.zero("frame")
        instance, func, offset = r.uleb(), r.uleb(), r.uleb()
        locals_ = tuple(_value(r) for _ in range(r.count()))
        stack = tuple(_value(r) for _ in range(r.count()))
        frames.append(Frame(instance, func, offset, locals_, stack))
    r.done()
    return Thread(name, tuple(frames))


def _const_expr(r: _Reader) -> Tuple[Optional[str], Union[int, float, None]]:
    """(type, value) of a constant expression's first instruction, through its end."""
    op = r.byte()
    t: Optional[str]
    v: Union[int, float, None]
    if op == 0x41:
        t, v = "i32", r.sleb(32)
    elif op == 0x42:
        t, v = "i64", r.sleb(64)
    elif op == 0x43:
        t, v = "f32", struct.unpack("<f", r.take(4))[0]
    elif op == 0x44:
        t, v = "f64", struct.unpack("<d", r.take(8))[0]
    elif op == 0xD0:
        t, v = _VALTYPES.get(r.byte()), None
    elif op == 0xD2:
        t, v = "funcref", None
        r.uleb()
    elif op == 0x23:
        t, v = None, None
        r.uleb()
    elif op == 0xFD and r.uleb() == 12:
        t, v = "v128", int.from_bytes(r.take(16), "little")
    else:
        r.pos -= 1
        raise r.fail(f"unsupported constant instruction {op:#04x}")
    end = r.byte()
    if end != 0x0B:
        r.pos -= 1
        raise r.fail("constant expression does not end after one instruction")
    return t, v


def _memories(r: _Reader) -> List[Memory]:
    out = []
    for _ in range(r.count(2)):
        flags = r.byte()
        if flags & ~0x07:
            r.pos -= 1
            raise r.fail(f"unknown memory limits flags {flags:#04x}")
        bits = 64 if flags & 0x04 else 32
        pages = r.uleb(bits)
        max_pages = r.uleb(bits) if flags & 0x01 else None
        out.append(Memory(pages, max_pages))
    r.done()
    return out


def _globals(r: _Reader) -> List[GlobalValue]:
    out = []
    for _ in range(r.count(3)):
        t = r.byte()
        if t not in _VALTYPES:
            r.pos -= 1
            raise r.fail(f"unknown global type {t:#04x}")
        mut = r.byte()
        if mut > 1:
            r.pos -= 1
            raise r.fail(f"bad global mutability {mut:#04x}")
        _, v = _const_expr(r)
        out.append(GlobalValue(_VALTYPES[t], bool(mut), v))
    r.done()
    return out


def _data(r: _Reader, memories: List[Memory]) -> None:
    for _ in range(r.count(3)):
        at = r.pos
        flags = r.uleb()
        if flags == 1:  # passive: not part of any memory
            r.take(r.uleb())
            continue
        if flags not in (0, 2):
            r.pos = at
            raise r.fail(f"unknown data segment flags {flags}")
        mem = r.uleb() if flags == 2 else 0
        t, offset = _const_expr(r)
        if t not in ("i32", "i64") or not isinstance(offset, int):
            r.pos = at
            raise r.fail("data segment offset is not an integer constant")
        offset &= 0xFFFFFFFF if t == "i32" else 0xFFFFFFFFFFFFFFFF
        data = r.take(r.uleb())
        if mem >= len(memories):
            r.pos = at
            raise r.fail(f"data segment for memory {mem}, but the dump has {len(memories)} memories")
        if offset + len(data) > memories[mem].size:
            r.pos = at
            end = offset + len(data)
            raise r.fail(f"data segment [{offset:#x}, {end:#x}) is outside memory {mem} (size {memories[mem].size:#x})")
        memories[mem].segments.append((offset, bytes(data)))
    r.done()


_SECTION_NAMES = {5: "memory section", 6: "global section", 11: "data section"}


def parse(data: bytes, module: Any = None) -> Coredump:
    """Parse coredump bytes (see :func:`load`)."""
    data = bytes(data)
    if len(data) < 8 or data[:4] != b"\0asm":
        raise CoredumpError("not a coredump: no WebAssembly header (\\0asm)")
    if data[4:8] != b"\x01\0\0\0":
        raise CoredumpError(f"not a coredump: unsupported WebAssembly version {data[4:8].hex()}")
    top = _Reader(data, 8, len(data), "the file")
    customs: Dict[str, List[_Reader]] = {}
    sections: Dict[int, _Reader] = {}
    while top.pos < top.end:
        sid = top.byte()
        size = top.uleb()
        start = top.pos
        top.take(size)
        if sid == 0:
            r = _Reader(data, start, start + size, "a custom section's name")
            name = r.name()
            r.what = f"the {name!r} section"
            customs.setdefault(name, []).append(r)
        elif sid in _SECTION_NAMES:
            if sid in sections:
                raise CoredumpError(f"corrupt coredump: more than one {_SECTION_NAMES[sid]} (offset {start:#x})")
            sections[sid] = _Reader(data, start, start + size, _SECTION_NAMES[sid])
    if "core" not in customs:
        raise CoredumpError("not a coredump: no 'core' custom section")
    for once in ("core", "coremodules", "coreinstances"):
        if len(customs.get(once, [])) > 1:
            raise CoredumpError(f"corrupt coredump: more than one {once!r} section")

    core = customs["core"][0]
    core.zero("process-info")
    executable = core.name()
    core.done()

    modules: List[str] = []
    for r in customs.get("coremodules", []):
        for _ in range(r.count(2)):
            r.zero("coremodule")
            modules.append(r.name())
        r.done()

    instances: List[CoreInstance] = []
    for r in customs.get("coreinstances", []):
        for _ in range(r.count(4)):
            r.zero("coreinstance")
            mod = r.uleb()
            mems = tuple(r.uleb() for _ in range(r.count()))
            globs = tuple(r.uleb() for _ in range(r.count()))
            instances.append(CoreInstance(mod, mems, globs))
        r.done()

    threads = [_corestack(r) for r in customs.get("corestack", [])]
    memories = _memories(sections[5]) if 5 in sections else []
    globals_ = _globals(sections[6]) if 6 in sections else []
    if 11 in sections:
        _data(sections[11], memories)

    for t in threads:
        for i, f in enumerate(t.frames):
            if instances and f.instance >= len(instances):
                raise CoredumpError(f"corrupt coredump: frame {i} of thread {t.name!r} names instance {f.instance}, "
                                    f"but there are {len(instances)}")
    for i, inst in enumerate(instances):
        if modules and inst.module >= len(modules):
            raise CoredumpError(
                f"corrupt coredump: instance {i} names module {inst.module}, but there are {len(modules)}"
            )
        bad_mem = [m for m in inst.memories if m >= len(memories)]
        bad_glob = [g for g in inst.globals if g >= len(globals_)]
        if bad_mem or bad_glob:
            raise CoredumpError(f"corrupt coredump: instance {i} names memories {list(inst.memories)} and globals "
                                f"{list(inst.globals)}, but the dump has {len(memories)} and {len(globals_)}")
    return Coredump(executable, modules, instances, threads, memories, globals_, module)


ModuleLike = Union[None, Module, bytes, str, "os.PathLike[str]"]


def load(path: Union[str, "os.PathLike[str]"], module: ModuleLike = None) -> Coredump:
    """Read a coredump file (wasmprof's or another engine's).

    module, when given (a :class:`wasmprof.Module`, its bytes or its path), is
    the module of the innermost frame; :meth:`Coredump.render` then shows
    function and local names and source lines.  Raises CoredumpError for a
    file that is not a readable coredump, OSError when it cannot be read.
    """
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, _as_module(module))


def _as_module(module: Any) -> Any:
    """A Module from a Module, bytes or a path; the bytes are kept alongside
    (for the body offsets, see render.Symbolizer)."""
    if module is None or isinstance(module, Module):
        return module
    if isinstance(module, (bytes, bytearray, memoryview)):
        data = bytes(module)
    else:
        with open(module, "rb") as f:
            data = f.read()
    return _ModuleWithBytes(Module(data), data)


@dataclass(frozen=True)
class _ModuleWithBytes:
    module: Module
    data: bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)
