"""wasmprof.Debugger: a scriptable debugger for guests.

A debugger drives calls of one instance through the stepping loop (the
interpreter loop instantiated without superinstructions, csrc/exec/loop_step.c),
which pauses before any instruction where asked and resumes from there::

    dbg = wasmprof.Debugger(instance)          # or instance.debug()
    stop = dbg.call("fib", 20)                 # paused before fib's first instruction
    dbg.breakpoint("fib", condition=lambda d: d.frame["n"] == 3)
    stop = dbg.cont()                          # Stop(reason="breakpoint", ...)
    dbg.frame.locals, dbg.ticks, dbg.memory[0:16]
    dbg.reverse_step()                         # exactly the state one instruction earlier

Every command returns a :class:`Stop` saying why it stopped.  Breakpoints
are patched instructions and watchpoints are checked only at stores, so a
run to a breakpoint never single-steps through Python.  ``ticks`` counts as
a profile does (the default cost table); ``icount``, the instructions run
since the call started (an instruction with code: ``block``, ``loop``,
``nop`` and ``end`` run with the next one), is the clock that going back
uses: host calls are recorded and snapshots taken, so any earlier point is
reached by restoring a snapshot and replaying, without calling the host
again (csrc/observe/debug_replay.c).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _core
from ._core import Exit, Func, Instance, Trap
from .backtraces import SourceLocation

__all__ = ["Debugger", "Stop", "DebugFrame", "Local", "Breakpoint", "Watchpoint", "Instruction", "TraceEntry"]

Condition = Callable[["Debugger"], bool]
TRACE_CHUNK = 4096

#: Stop reasons.  "entry": a call paused before its first instruction; "step": the
#: requested instructions or lines ran; "breakpoint"; "watchpoint" (after the write);
#: "tick": run_to reached its tick; "returned", "trapped", "exited", "error": the call
#: ended; "interrupted": stopped from outside (resumable); "start": going back reached
#: the start of the call.
REASONS = ("entry", "step", "breakpoint", "watchpoint", "tick", "returned", "trapped", "exited", "error",
           "interrupted", "start")


@dataclass
class Local:
    """A local of a frame: its index, name (from the name section), type and value."""

    index: int
    name: Optional[str]
    type: str
    value: Any

    @property
    def label(self) -> str:
        return self.name or f"${self.index}"


@dataclass
class DebugFrame:
    """One guest frame of the paused call, innermost first (``depth`` 0).

    ``module_offset`` is the instruction the frame is at (the next to run for
    the innermost frame, the call for the others); ``func_offset`` is relative
    to the function body's start, as in backtraces.
    """

    depth: int
    func_index: int
    name: str
    module_offset: Optional[int]
    func_offset: Optional[int]
    location: Optional[SourceLocation]
    locals: List[Local]
    operands: List[Tuple[str, Any]]

    def __getitem__(self, name: Union[str, int]) -> Any:
        """A local's value by name or index."""
        return self.local(name).value

    def local(self, name: Union[str, int]) -> Local:
        for loc in self.locals:
            if loc.index == name or loc.name == name or loc.label == name:
                return loc
        raise KeyError(f"{self.name} has no local {name!r}")

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        off = f"{self.module_offset:#x}" if self.module_offset is not None else "?"
        return f"#{self.depth} {off} in {self.name}{where}"


@dataclass
class Breakpoint:
    """A breakpoint.  ``hits`` counts the stops it caused; it stops only when
    enabled, after ``ignore`` hits have been skipped, and when ``condition``
    (called with the debugger, paused there) is true."""

    id: int
    kind: str  # "function", "offset", "line"
    func_index: int
    offset: int
    where: str
    condition: Optional[Condition] = None
    ignore: int = 0
    temporary: bool = False
    enabled: bool = True
    hits: int = 0

    def __str__(self) -> str:
        state = "" if self.enabled else " (disabled)"
        cond = " if <condition>" if self.condition else ""
        return f"breakpoint {self.id} at {self.where} ({self.offset:#x}){cond}, hit {self.hits} time(s){state}"


@dataclass
class Watchpoint:
    """A watchpoint on memory ``[addr, addr+length)`` or on a global."""

    id: int
    kind: str  # "memory", "global"
    where: str
    addr: int = 0
    length: int = 0
    global_index: Optional[int] = None
    global_type: Optional[str] = None
    enabled: bool = True
    hits: int = 0

    def decode(self, raw: bytes) -> Any:
        """The watched value from its bytes."""
        if self.kind == "global":
            return _from_bits(self.global_type or "i64", int.from_bytes(raw[:8], "little"))
        if self.length in (1, 2, 4, 8):
            return int.from_bytes(raw, "little")
        return bytes(raw)

    def __str__(self) -> str:
        state = "" if self.enabled else " (disabled)"
        return f"watchpoint {self.id} on {self.where}, hit {self.hits} time(s){state}"


@dataclass
class Stop:
    """Why a command stopped, and where."""

    reason: str
    ticks: int
    icount: int
    frame: Optional[DebugFrame] = None
    breakpoint: Optional[Breakpoint] = None
    watchpoint: Optional[Watchpoint] = None
    old: Any = None
    new: Any = None
    results: Optional[Tuple[Any, ...]] = None
    error: Optional[BaseException] = None
    exit_code: Optional[int] = None

    @property
    def result(self) -> Any:
        """The single result of a returned call (None without results)."""
        if not self.results:
            return None
        return self.results[0] if len(self.results) == 1 else self.results

    @property
    def ended(self) -> bool:
        return self.reason in ("returned", "trapped", "exited", "error")

    def _repr_html_(self) -> str:
        from .reprs import stop_html

        return stop_html(self)

    def __str__(self) -> str:
        where = f" {self.frame}" if self.frame else ""
        if self.reason == "breakpoint" and self.breakpoint:
            return f"breakpoint {self.breakpoint.id}:{where} (tick {self.ticks})"
        if self.reason == "watchpoint" and self.watchpoint:
            return (f"watchpoint {self.watchpoint.id} {self.watchpoint.where}: {self.old!r} -> {self.new!r}"
                    f"{where} (tick {self.ticks})")
        if self.reason == "returned":
            shown = ", ".join(repr(v) for v in self.results or ())
            return f"returned {shown or 'nothing'} after {self.ticks} ticks"
        if self.reason == "exited":
            return f"exited with status {self.exit_code} after {self.ticks} ticks"
        if self.reason in ("trapped", "error"):
            first = str(self.error).splitlines()[0] if self.error else "?"
            return f"{self.reason}: {first} (tick {self.ticks})"
        return f"{self.reason}:{where} (tick {self.ticks})"


@dataclass(frozen=True)
class Instruction:
    """One disassembled instruction."""

    offset: int
    text: str
    current: bool = False

    def __str__(self) -> str:
        return f"{'=>' if self.current else '  '} {self.offset:#8x}  {self.text}"


@dataclass(frozen=True)
class TraceEntry:
    """One executed instruction, before it ran: its tick and icount, where, and its opcode."""

    icount: int
    tick: int
    func_index: int
    function: str
    offset: int
    opcode: str

    def __str__(self) -> str:
        return f"{self.tick:>10} {self.offset:#8x} {self.function}: {self.opcode}"


def _from_bits(valtype: str, bits: int) -> Any:
    if valtype == "i32":
        bits &= 0xFFFFFFFF
        return bits - (1 << 32) if bits >> 31 else bits
    if valtype == "i64":
        bits &= (1 << 64) - 1
        return bits - (1 << 64) if bits >> 63 else bits
    if valtype == "f32":
        return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
    if valtype == "f64":
        return struct.unpack("<d", struct.pack("<Q", bits & ((1 << 64) - 1)))[0]
    return bits


class DebugMemory:
    """``dbg.memory``: memory 0 of the instance, readable and writable while paused.
    ``memory[a:b]`` is bytes, ``memory[a]`` an int; writes go to the guest."""

    def __init__(self, dbg: "Debugger") -> None:
        self._dbg = dbg

    def __len__(self) -> int:
        return self._dbg._s.mem_size()

    def _range(self, key: Union[int, slice]) -> Tuple[int, int]:
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise ValueError("memory slices have no step")
            start = 0 if key.start is None else key.start
            stop = len(self) if key.stop is None else key.stop
            return start, max(stop - start, 0)
        return key, 1

    def __getitem__(self, key: Union[int, slice]) -> Any:
        start, n = self._range(key)
        data = self._dbg._s.mem_read(start, n)
        return data if isinstance(key, slice) else data[0]

    def __setitem__(self, key: Union[int, slice], value: Any) -> None:
        start, n = self._range(key)
        data = bytes([value]) if isinstance(key, int) else bytes(value)
        if isinstance(key, slice) and key.stop is not None and len(data) != n:
            raise ValueError(f"{len(data)} bytes for a slice of {n}")
        self._dbg._s.mem_write(start, data)

    def read(self, addr: int, n: int) -> bytes:
        return self._dbg._s.mem_read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        self._dbg._s.mem_write(addr, bytes(data))


class DebugGlobals:
    """``dbg.globals``: the instance's globals by name (name section or export) or index."""

    def __init__(self, dbg: "Debugger") -> None:
        self._dbg = dbg

    def index(self, key: Union[str, int]) -> int:
        if isinstance(key, int):
            if not 0 <= key < len(self):
                raise KeyError(f"no global {key}")
            return key
        names = self._dbg._global_names()
        for i, name in enumerate(names):
            if name == key:
                return i
        raise KeyError(f"no global named {key!r}")

    def __len__(self) -> int:
        return len(self._dbg._s.globals())

    def __getitem__(self, key: Union[str, int]) -> Any:
        return self._dbg._s.globals()[self.index(key)][0][1]

    def __setitem__(self, key: Union[str, int], value: Any) -> None:
        self._dbg._s.set_global(self.index(key), value)

    def items(self) -> List[Tuple[str, str, Any]]:
        """(name, type, value) for every global, in index order."""
        names = self._dbg._global_names()
        return [(names[i], t, v) for i, ((t, v), _mut) in enumerate(self._dbg._s.globals())]


class Debugger:
    """A debugger on one :class:`~wasmprof.Instance` (see the module docstring).

    ``snapshot_every`` (instructions between snapshots at first, default 2**20),
    ``max_snapshots`` (64) and ``snapshot_budget`` (bytes, 1 GiB) tune going back;
    ``record=False`` does not record host calls (then nothing goes back past one).
    """

    def __init__(self, instance: Instance, *, snapshot_every: Optional[int] = None,
                 max_snapshots: Optional[int] = None, snapshot_budget: Optional[int] = None,
                 record: bool = True) -> None:
        if not isinstance(instance, Instance):
            raise TypeError(f"Debugger needs an Instance, not {type(instance).__name__}")
        self.instance = instance
        self.module = instance.module
        self._s = _core.DebugSession(instance, snapshot_every or 0, max_snapshots or 0, snapshot_budget or 0,
                                     record)
        self._breakpoints: Dict[int, Breakpoint] = {}
        self._watchpoints: Dict[int, Watchpoint] = {}
        self._func_names: Dict[int, str] = {}
        self._gnames: Optional[List[str]] = None
        self._opcodes: Dict[int, Optional[str]] = {}
        self.memory = DebugMemory(self)
        self.globals = DebugGlobals(self)
        self.last_stop: Optional[Stop] = None
        self._callee: Optional[Func] = None
        self._args: Tuple[Any, ...] = ()

    # ---- names -------------------------------------------------------------------

    def function_name(self, index: int) -> str:
        """A function's display name: demangled name-section name, export name, import, or func[N]."""
        name = self._func_names.get(index)
        if name is None:
            name = self.module.func_name(index)
            if name is None:
                imports = [f"{i.module}.{i.name}" for i in self.module.imports if i.kind == "func"]
                if index < len(imports):
                    name = imports[index]
            if name is None:
                for ename, obj in self.instance.exports.items():
                    if isinstance(obj, Func) and obj.index == index and obj.instance is self.instance:
                        name = ename
                        break
            name = name or f"func[{index}]"
            self._func_names[index] = name
        return name

    def function_index(self, name: Union[str, int, Func]) -> int:
        """The index of a function given by name (name section, demangled or raw, or export) or index."""
        if isinstance(name, Func):
            if name.index is None or name.instance is not self.instance:
                raise ValueError("that function does not belong to the debugged instance")
            return name.index
        if isinstance(name, int):
            return name
        export = self.instance.exports.get(name)
        if isinstance(export, Func) and export.index is not None and export.instance is self.instance:
            return export.index
        n = len(self.module.imports) + 100000  # an upper bound; stop at the first index without a name
        imported = sum(1 for i in self.module.imports if i.kind == "func")
        for index in range(imported, n):
            try:
                if self.module.func_body_offset(index) is None:
                    break
            except Exception:  # noqa: BLE001 - past the last function
                break
            if name in (self.module.func_name(index), self.module.func_raw_name(index)):
                return index
        raise KeyError(f"no function named {name!r}")

    def _global_names(self) -> List[str]:
        if self._gnames is None:
            names = [self.module.global_name(i) or "" for i in range(len(self._s.globals()))]
            for ename, obj in self.instance.exports.items():
                g = self._export_global_index(obj)
                if g is not None and not names[g]:
                    names[g] = ename
            self._gnames = [n or f"global[{i}]" for i, n in enumerate(names)]
        return self._gnames

    def _export_global_index(self, obj: Any) -> Optional[int]:
        for e in self.module.exports:
            if e.kind == "global" and self.instance.exports.get(e.name) is obj:
                return getattr(e, "index", None)
        return None

    # ---- state ---------------------------------------------------------------------

    @property
    def ticks(self) -> int:
        """Ticks run since the call started, exactly as a profile counts them."""
        return self._s.clock()[1]

    @property
    def icount(self) -> int:
        """Instructions run since the call started."""
        return self._s.clock()[0]

    @property
    def paused(self) -> bool:
        """A call is under way (paused)."""
        return self._s.clock()[2]

    @property
    def frames(self) -> List[DebugFrame]:
        """The guest frames, innermost first (those left by a trap after one)."""
        out = []
        for depth, (func, offset, locals_, operands) in enumerate(self._s.frames()):
            if locals_ is None:
                continue  # a host function's frame (after a failure inside it)
            body = self.module.func_body_offset(func)
            names = [self.module.local_name(func, i) for i in range(len(locals_))]
            out.append(DebugFrame(
                depth=depth, func_index=func, name=self.function_name(func), module_offset=offset,
                func_offset=None if offset is None or body is None else offset - body,
                location=self.module.source_location(offset) if offset is not None else None,
                locals=[Local(i, names[i], t, v) for i, (t, v) in enumerate(locals_)],
                operands=list(operands)))
        return out

    @property
    def frame(self) -> Optional[DebugFrame]:
        """The innermost frame."""
        frames = self.frames
        return frames[0] if frames else None

    def set_local(self, name: Union[str, int], value: Any, frame: int = 0) -> None:
        """Set a local of a frame (by name or index); what was recorded after now is dropped."""
        f = self.frames[frame]
        self._s.set_local(frame, f.local(name).index, value)

    def location(self) -> Optional[SourceLocation]:
        """The source location of the next instruction, when the module has DWARF lines."""
        _n, _func, offset = self._s.position()
        return self.module.source_location(offset) if offset is not None else None

    # ---- running --------------------------------------------------------------------

    def call(self, func: Union[str, Func], *args: Any) -> Stop:
        """Start a call of an exported (or named) function, paused before its first instruction."""
        f = func if isinstance(func, Func) else self.instance.exports.get(func) if isinstance(func, str) else None
        if f is None:
            index = self.function_index(func)
            raise ValueError(f"function {self.function_name(index)} is not exported: call exported functions")
        if not isinstance(f, Func):
            raise TypeError(f"export {func!r} is not a function")
        self._callee, self._args = f, args
        self._s.call(f, list(args))
        return self._stop("entry")

    def step(self, n: int = 1) -> Stop:
        """Run n instructions, into calls."""
        return self._run(steps=max(n, 1))

    def step_over(self, n: int = 1) -> Stop:
        """Run n instructions; a call runs to its return."""
        stop = self.last_stop
        for _ in range(max(n, 1)):
            depth = self._depth()
            stop = self._run(steps=1)
            if stop.reason == "step" and self._depth() > depth:
                stop = self._run(until_frames=depth, as_reason="step")
            if stop.reason != "step":
                break
        assert stop is not None
        return stop

    def step_out(self) -> Stop:
        """Run until the current function returns (to its caller, or the call ends)."""
        return self._run(until_frames=self._depth() - 1, as_reason="step")

    def step_line(self) -> Stop:
        """Run to the next source line (DWARF), into calls with line information."""
        return self._line_step(into=True)

    def next_line(self) -> Stop:
        """Run to the next source line of this function (or a caller); calls run to their return."""
        return self._line_step(into=False)

    def cont(self) -> Stop:
        """Run until a breakpoint, a watchpoint or the end of the call."""
        return self._run()

    def run_to(self, tick: Optional[int] = None, *, icount: Optional[int] = None) -> Stop:
        """Go to the first instruction at which ``tick`` ticks have run (or to instruction
        ``icount``), forwards or backwards; breakpoints do not stop it."""
        if (tick is None) == (icount is None):
            raise ValueError("run_to needs tick= or icount=")
        if icount is not None:
            if icount >= self.icount and self.paused:
                return self._stop("tick") if icount == self.icount else self._run(steps=icount - self.icount,
                                                                                  stops=False, as_reason="tick")
            return self._goto(icount, "tick")
        assert tick is not None
        now = self.ticks
        if self.paused and tick >= now:
            return self._stop("tick") if tick == now else self._run(until_tick=tick, stops=False)
        history = self._s.snapshots()
        if not history:
            raise ValueError(f"no history reaches back to tick {tick}")
        snaps = [s for s in history if s[1] <= tick] or history[:1]  # before the first instruction: the first
        self._s.restore(snaps[-1][0])
        if self.ticks >= tick:
            return self._stop("tick")
        return self._run(until_tick=tick, stops=False)

    def reverse_step(self, n: int = 1) -> Stop:
        """Go back n instructions (exactly the state a forward run had there)."""
        return self._goto(max(self.icount - max(n, 1), 0), "step")

    def reverse_cont(self) -> Stop:
        """Go back to the previous breakpoint or watchpoint hit (or to the start of the call)."""
        now = self.icount
        snaps = [s[0] for s in self._s.snapshots() if s[0] < now]
        ends = snaps[1:] + [now]
        for start, end in reversed(list(zip(snaps, ends))):
            self._s.restore(start)
            found: List[Tuple[int, str, Any]] = []
            while self.icount < end:
                reason = self._s.resume(steps=end - self.icount)
                if reason in ("breakpoint", "function", "watchpoint") and self.icount < end:
                    hit = self._hit(reason, counting=False)
                    if hit is not None:
                        found.append((self.icount, reason, hit))
                    continue
                break
            if found:
                icount, reason, hit = found[-1]
                self._goto(icount, None)
                return self._stop("watchpoint" if reason == "watchpoint" else "breakpoint", hit=hit)
        if snaps:
            return self._goto(0, "start")
        raise ValueError("no history to go back in")

    def interrupt(self) -> None:
        """Stop a running command from another thread (it returns Stop('interrupted'))."""
        _core.interrupt()

    # ---- breakpoints and watchpoints ---------------------------------------------------

    @property
    def breakpoints(self) -> List[Breakpoint]:
        return list(self._breakpoints.values())

    @property
    def watchpoints(self) -> List[Watchpoint]:
        return list(self._watchpoints.values())

    def breakpoint(self, where: Union[str, int, Func, None] = None, *, function: Union[str, int, Func, None] = None,
                   offset: Optional[int] = None, line: Optional[str] = None, condition: Optional[Condition] = None,
                   ignore: int = 0, temporary: bool = False) -> Breakpoint:
        """Set a breakpoint.  ``where`` is a function (name, index or Func: stops on
        entry), ``"file:line"`` or a module offset (int).  ``function=F, offset=N``:
        N bytes into F's body (function-relative, as in backtraces); ``offset=N``
        alone: a module offset."""
        if where is not None:
            if isinstance(where, int) and not isinstance(where, bool):
                offset = where
            elif isinstance(where, str) and ":" in where and where.rsplit(":", 1)[1].isdigit():
                line = where
            else:
                function = where
        if line is not None:
            func, module_offset = self._resolve_line(line)
            bid, actual = self._s.break_at(func, module_offset)
            bp = Breakpoint(bid, "line", func, actual, line)
        elif offset is not None:
            if function is not None:
                func = self.function_index(function)
                body = self.module.func_body_offset(func)
                module_offset = body + offset
            else:
                module_offset = offset
                func = self._func_at(module_offset)
            bid, actual = self._s.break_at(func, module_offset)
            bp = Breakpoint(bid, "offset", func, actual, f"{self.function_name(func)}+{actual - self.module.func_body_offset(func):#x}")
        elif function is not None:
            func = self.function_index(function)
            bid = self._s.break_func(func)
            bp = Breakpoint(bid, "function", func, self.module.func_body_offset(func), self.function_name(func))
        else:
            raise ValueError("breakpoint needs a function, an offset or a file:line")
        bp.condition, bp.ignore, bp.temporary = condition, ignore, temporary
        self._breakpoints[bp.id] = bp
        return bp

    def watch(self, addr: int, length: int = 4) -> Watchpoint:
        """Stop after an instruction or host call changes memory [addr, addr+length)."""
        wid = self._s.watch_memory(addr, length)
        wp = Watchpoint(wid, "memory", f"memory[{addr:#x}:{addr + length:#x}]", addr=addr, length=length)
        self._watchpoints[wid] = wp
        return wp

    def watch_global(self, name: Union[str, int]) -> Watchpoint:
        """Stop after a global (by name or index) changes."""
        index = self.globals.index(name)
        wid = self._s.watch_global(index)
        gtype = self._s.globals()[index][0][0]
        wp = Watchpoint(wid, "global", self._global_names()[index], global_index=index, global_type=gtype)
        self._watchpoints[wid] = wp
        return wp

    def _item(self, item: Union[int, Breakpoint, Watchpoint]) -> Union[Breakpoint, Watchpoint]:
        key = item if isinstance(item, int) else item.id
        found = self._breakpoints.get(key) or self._watchpoints.get(key)
        if found is None:
            raise KeyError(f"no breakpoint or watchpoint {key}")
        return found

    def enable(self, item: Union[int, Breakpoint, Watchpoint], enabled: bool = True) -> None:
        it = self._item(item)
        self._s.enable(it.id, enabled)
        it.enabled = enabled

    def disable(self, item: Union[int, Breakpoint, Watchpoint]) -> None:
        self.enable(item, False)

    def delete(self, item: Union[int, Breakpoint, Watchpoint, None] = None) -> None:
        """Delete one breakpoint or watchpoint, or all of them."""
        items = [self._item(item)] if item is not None else [*self._breakpoints.values(), *self._watchpoints.values()]
        for it in items:
            self._s.delete(it.id)
            self._breakpoints.pop(it.id, None)
            self._watchpoints.pop(it.id, None)

    # ---- code ------------------------------------------------------------------------------

    def disassemble(self, around: Optional[int] = None, n: int = 10, *,
                    function: Union[str, int, Func, None] = None) -> List[Instruction]:
        """n instructions around a module offset (default: the next instruction), or a whole
        function, with names for calls, locals and globals."""
        _depth, cur_func, cur = self._s.position()
        if function is not None:
            func = self.function_index(function)
            around = None
        else:
            if around is None:
                around = cur
            if around is None:
                raise ValueError("nothing to disassemble: no call is paused (give around= or function=)")
            func = self._func_at(around)
        code = self._s.disassemble(func)
        out = [Instruction(off, self._format(func, name, imms), off == cur) for off, name, imms in code]
        if around is None:
            return out
        at = max((i for i, ins in enumerate(out) if ins.offset <= around), default=0)
        lo = max(at - n // 2, 0)
        return out[lo:lo + n]

    def _format(self, func: int, name: str, imms: Sequence[Any]) -> str:
        if name in ("call", "return_call") and imms:
            return f"{name} {imms[0]} <{self.function_name(imms[0])}>"
        if name.startswith("local.") and imms:
            local = self.module.local_name(func, imms[0])
            return f"{name} {imms[0]}" + (f" <{local}>" if local else "")
        if name.startswith("global.") and imms:
            return f"{name} {imms[0]} <{self._global_names()[imms[0]]}>"
        if imms and ("load" in name or "store" in name) and len(imms) == 2:
            return f"{name} offset={imms[1]} align={1 << imms[0]}"
        return " ".join([name, *(str(i) for i in imms)])

    def trace(self, max_instructions: Optional[int] = None, path: Optional[str] = None) -> Iterator[TraceEntry]:
        """Run on, yielding each executed instruction (before it runs) until the call
        ends, a breakpoint stops it, or max_instructions; with ``path``, also write
        them to that file (one line each)."""
        out = open(path, "w", encoding="utf-8") if path else None
        left = max_instructions
        try:
            while self.paused and (left is None or left > 0):
                cap = TRACE_CHUNK if left is None else min(TRACE_CHUNK, left)
                reason = self._s.resume(trace=cap, steps=cap)
                for icount, tick, func, offset in self._s.trace():
                    entry = TraceEntry(icount, tick, func, self.function_name(func), offset, self._opcode(offset))
                    if out:
                        out.write(f"{entry}\n")
                    yield entry
                if left is not None:
                    left -= min(cap, len(self._s.trace()))
                if reason not in ("trace", "step"):
                    self.last_stop = self._settle(reason)
                    break
        finally:
            if out:
                out.close()

    def profile(self) -> Any:
        """Run from here to the end of the call under the profiler (breakpoints do not stop
        it) and return the :class:`~wasmprof.profile.Profile` of that part of the run."""
        from .profiles.profiler import _Names, _build_profile

        self._s.profile_start()
        try:
            stop = self._run(stops=False)
        finally:
            raw = self._s.profile_stop()
        names = _Names(self.module)
        names.add_exports(self.instance)
        prof = _build_profile(raw, names, root_name="<here>", module_name="<module>",
                              cost_model="1 tick per instruction", timed=False, flamechart=False)
        prof.stop = stop  # type: ignore[attr-defined]
        return prof

    # ---- internals ---------------------------------------------------------------------------

    def _opcode(self, offset: int) -> str:
        if offset not in self._opcodes:
            self._opcodes[offset] = self._s.opcode_at(offset)
        return self._opcodes[offset] or "?"

    def _depth(self) -> int:
        return self._s.position()[0]

    def _func_at(self, module_offset: int) -> int:
        best = None
        for e in self._function_bodies():
            if e[1] <= module_offset:
                best = e[0]
        if best is None:
            raise ValueError(f"offset {module_offset:#x} is in no function body")
        return best

    def _function_bodies(self) -> List[Tuple[int, int]]:
        bodies = getattr(self, "_bodies", None)
        if bodies is None:
            bodies = []
            imported = sum(1 for i in self.module.imports if i.kind == "func")
            index = imported
            while True:
                try:
                    start = self.module.func_body_offset(index)
                except Exception:  # noqa: BLE001 - past the last function
                    break
                if start is None:
                    break
                bodies.append((index, start))
                index += 1
            self._bodies = bodies
        return bodies

    def _resolve_line(self, spec: str) -> Tuple[int, int]:
        """The function and module offset of the first instruction of a source line."""
        file, _, line_text = spec.rpartition(":")
        want = int(line_text)
        best: Optional[Tuple[int, int, int]] = None  # (line, offset, func)
        for func, _start in self._function_bodies():
            for offset, _name, _imms in self._s.disassemble(func):
                loc = self.module.source_location(offset)
                if loc is None or not (loc.file == file or loc.file.endswith("/" + file)):
                    continue
                if loc.line >= want and (best is None or (loc.line, offset) < best[:2]):
                    best = (loc.line, offset, func)
        if best is None:
            raise ValueError(f"no code at or after {spec}")
        return best[2], best[1]

    def _stop(self, reason: str, *, hit: Any = None) -> Stop:
        icount, ticks, _in_call, _finished = self._s.clock()
        frames = self.frames
        stop = Stop(reason, ticks, icount, frames[0] if frames else None)
        if isinstance(hit, Breakpoint):
            stop.breakpoint = hit
        elif isinstance(hit, tuple):
            stop.watchpoint, stop.old, stop.new = hit
        self.last_stop = stop
        return stop

    def _hit(self, reason: str, counting: bool = True) -> Any:
        """A breakpoint or watchpoint the session paused at, if it stops (condition,
        ignore count), else None."""
        hid, old, new = self._s.stop_info()
        if reason == "watchpoint":
            wp = self._watchpoints.get(hid)
            if wp is None:
                return None
            if counting:
                wp.hits += 1
            return (wp, wp.decode(old), wp.decode(new))
        bp = self._breakpoints.get(hid)
        if bp is None:
            return None
        if bp.condition is not None and not bp.condition(self):
            return None
        if counting:
            bp.hits += 1
            if bp.hits <= bp.ignore:
                return None
        return bp

    def _settle(self, reason: str) -> Stop:
        """The Stop for a session stop reason that needs no decision."""
        if reason == "returned":
            results = self._s.results() or ()
            stop = self._stop("returned")
            stop.results = tuple(v for _t, v in results)
            return stop
        if reason == "error":
            error = self._s.error()
            kind = "exited" if isinstance(error, Exit) else "trapped" if isinstance(error, Trap) else "error"
            stop = self._stop(kind)
            stop.error = error
            stop.exit_code = error.code if isinstance(error, Exit) else None
            return stop
        if reason == "frame":
            reason = "step"
        return self._stop(reason)

    def _run(self, *, steps: int = 0, until_tick: int = 0, until_frames: int = 0, stops: bool = True,
             as_reason: Optional[str] = None) -> Stop:
        if not self.paused:
            if self.last_stop is not None and self.last_stop.ended:
                return self.last_stop
            raise RuntimeError("no call is paused: start one with dbg.call(name, *args)")
        target = self.icount + steps if steps else 0
        while True:
            left = target - self.icount if target else 0
            reason = self._s.resume(steps=left, until_tick=until_tick, until_frames=until_frames, stops=stops)
            if reason in ("breakpoint", "function", "watchpoint"):
                hit = self._hit(reason)
                if hit is None:
                    continue
                stop = self._stop("watchpoint" if reason == "watchpoint" else "breakpoint", hit=hit)
                if isinstance(hit, Breakpoint) and hit.temporary:
                    self.delete(hit)
                return stop
            if as_reason and reason == "frame":
                reason = as_reason
            if as_reason and reason == "step" and not steps:
                reason = as_reason
            return self._settle(reason)

    def _goto(self, icount: int, reason: Optional[str]) -> Stop:
        """Restore the snapshot at or before icount and replay to it exactly."""
        restored = self._s.restore(icount)
        if icount > restored:
            r = self._s.resume(steps=icount - restored, stops=False)
            if r != "step":
                return self._settle(r)
        return self._stop(reason or "step")

    def _line_step(self, into: bool) -> Stop:
        def where() -> Tuple[int, Optional[Tuple[str, int]]]:
            depth, _func, offset = self._s.position()
            loc = self.module.source_location(offset) if offset is not None else None
            return depth, ((loc.file, loc.line) if loc is not None and loc.line else None)

        depth, start = where()
        while True:
            stop = self.step() if into else self.step_over()
            if stop.reason != "step":
                return stop
            d, here = where()
            if here is None:
                if d > depth:  # a function without line information: out of it again
                    stop = self.step_out()
                    if stop.reason != "step":
                        return stop
                continue
            if here != start or d != depth:
                return stop
