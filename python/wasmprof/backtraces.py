"""Guest backtraces: frames with names and source lines, and their rendering.

The C extension builds :class:`Frame` objects from the execution context's
frame stack only when asked (a trap, a host function that raised, or
:func:`wasmprof.backtrace` called from inside a host function); the
interpreter loop itself never pays for them.

Offsets: ``module_offset`` is a byte offset in the module binary (the
instruction the frame is at: the faulting instruction for the innermost
frame of a trap, the call instruction for the frames below).
``func_offset`` is relative to the start of the function's body entry in
the Code section (the first byte after the body-size LEB128), the
convention of wasmtime and of the tool-conventions coredump format.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

__all__ = ["SourceLocation", "Frame", "render_frames"]


@dataclass(frozen=True)
class SourceLocation:
    """A source position from the module's DWARF line table.

    ``function`` is the source function from ``.debug_info`` when known (for
    an inlined call, the inlined function; demangled).
    """

    file: str
    line: int
    column: Optional[int] = None
    function: Optional[str] = None

    def __str__(self) -> str:
        col = f":{self.column}" if self.column else ""
        return f"{self.file}:{self.line}{col}"


@dataclass(frozen=True)
class Frame:
    """One frame of a guest backtrace (innermost first in a list).

    Host frames (a host function the guest called) have ``host=True``, no
    function index and no offsets; their ``name`` is the callable's name.

    ``source_function`` is the source function (from ``.debug_info``) the
    instruction belongs to: the inlined function when the compiler inlined a
    call there.  ``inlined`` then lists the functions it was inlined into,
    innermost first, each a SourceLocation of the call site with the
    caller's name as ``function``; it is empty otherwise.
    """

    func_index: Optional[int]
    name: Optional[str]
    raw_name: Optional[str]
    module_offset: Optional[int]
    func_offset: Optional[int]
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    host: bool = False
    module_name: Optional[str] = None
    source_function: Optional[str] = None
    inlined: Tuple[SourceLocation, ...] = ()

    @property
    def location(self) -> Optional[SourceLocation]:
        """The frame's source location, when the module has DWARF lines for it."""
        if self.file is None or self.line is None:
            return None
        return SourceLocation(self.file, self.line, self.column, self.source_function)

    def display_name(self) -> str:
        """The demangled name, or ``<wasm function N>`` / ``<host>`` when unnamed."""
        if self.name:
            return self.name
        if self.host:
            return "<host function>"
        return f"<wasm function {self.func_index}>"


def render_frames(frames: Sequence[Frame], title: str = "wasm backtrace:") -> str:
    """Render frames like wasmtime does::

        wasm backtrace:
            0:   0x1234 - mycrate::f
                            at /src/lib.rs:12:5
            1:   0x2000 - <host function> (host)

    Runs of the same frame (deep recursion) are shown REPEAT_SHOWN times,
    then summarised in one line, as Python's tracebacks do.
    """
    lines: List[str] = [title]
    i = 0
    while i < len(frames):
        f = frames[i]
        run = 1
        while i + run < len(frames) and _same_place(frames[i + run], f):
            run += 1
        for k in range(min(run, REPEAT_SHOWN)):
            _render_one(lines, i + k, f)
        if run > REPEAT_SHOWN:
            lines.append(f"  [previous frame repeated {run - REPEAT_SHOWN} more times]")
        i += run
    return "\n".join(lines)


#: How many copies of a repeated frame render_frames shows before summarising.
REPEAT_SHOWN = 3


def _same_place(a: Frame, b: Frame) -> bool:
    return (a.func_index, a.module_offset, a.host, a.name) == (b.func_index, b.module_offset, b.host, b.name)


def _render_one(lines: List[str], i: int, f: Frame) -> None:
    where = f"{f.module_offset:#8x}" if f.module_offset is not None else " " * 8
    prefix = f"{f.module_name}!" if f.module_name else ""
    suffix = " (host)" if f.host else ""
    # With inlining, the first name is the inlined source function, then
    # one "- caller" line per function it was inlined into.
    first = f.source_function if f.inlined and f.source_function else f.display_name()
    lines.append(f"  {i:>3}: {where} - {prefix}{first}{suffix}")
    loc = f.location
    if loc is not None:
        lines.append(f"{'':20}at {loc}")
    for caller in f.inlined:
        lines.append(f"{'':16}- {caller.function or f.display_name()}")
        lines.append(f"{'':20}at {caller}")


def _trap_str(self: BaseException) -> str:
    """str(Trap): the message, then the guest backtrace when one was taken,
    and how to keep names when no guest frame has one."""
    from .build_hints import NO_NAMES

    base = str(self.args[0]) if self.args else ""
    frames = getattr(self, "frames", None)
    if not frames:
        return base
    text = f"{base}\n{render_frames(frames)}"
    guest = [f for f in frames if not f.host]
    if guest and all(f.raw_name is None for f in guest):
        text += f"\n{NO_NAMES}"
    return text


def _attach_to_host_exception(exc: BaseException, frames: Sequence[Frame]) -> None:
    """Give a Python exception raised inside a host import (or the
    KeyboardInterrupt of an interrupted guest) the guest backtrace.

    Called by the extension once per exception, at the innermost guest entry
    it passed through (outer entries see ``wasm_frames`` and leave it).  The
    exception keeps its own traceback; the backtrace is an exception note
    (Python 3.11+) and the list is ``exc.wasm_frames``.
    """
    from ._core import Trap

    if isinstance(exc, Trap) and getattr(exc, "frames", None) is not None:
        return
    if getattr(exc, "wasm_frames", None) is not None:
        return
    try:
        exc.wasm_frames = list(frames)  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__
        pass
    if sys.version_info >= (3, 11):
        exc.add_note(render_frames(frames))


def _install() -> None:
    from ._core import Trap

    Trap.__str__ = _trap_str  # type: ignore[method-assign]


_install()
