"""GDB front end: the wasm-* commands, the frame filter that puts guest
frames in place of interpreter-loop C frames in `bt` (`set wasm-frames
on|off`), and pretty-printers for the core's structs.  register() installs
them once per GDB session (the extension may be auto-loaded from several
objfiles: the executable, _core*.so and its -gdb.py)."""
from __future__ import annotations

import re
from typing import Optional

import gdb  # type: ignore[import-not-found]
from gdb.FrameDecorator import FrameDecorator  # type: ignore[import-not-found]

from . import breaks, commands
from .model import LOOP_FUNCTIONS, CFrame, Exec, GuestFrame, Process, format_value
from .target import unreadable

MAX_C_FRAMES = 10_000


class GdbTarget:
    """Target (target.py) over GDB: memory of the selected inferior, ELF symbols."""

    def read(self, addr: int, size: int) -> Optional[bytes]:
        try:
            return bytes(gdb.selected_inferior().read_memory(addr, size))
        except (gdb.MemoryError, gdb.error, ValueError, OverflowError):
            return None

    def symbol_address(self, name: str) -> Optional[int]:
        try:
            return int(gdb.parse_and_eval(f"(unsigned long)&{name}"))
        except gdb.error:
            return None

    def symbol_at(self, addr: int) -> Optional[str]:
        try:
            text = gdb.execute(f"info symbol {addr:#x}", to_string=True)
        except gdb.error:
            return None
        m = re.match(r"(\S+)", text)
        return m.group(1) if m and not text.startswith("No symbol") else None

    def demangle(self, name: str) -> Optional[str]:
        lang = "rust" if name.startswith("_R") else "c++"
        try:
            out = gdb.execute(f"demangle -l {lang} -- {name}", to_string=True).strip()
        except gdb.error:
            return None
        return out if out and "Can't demangle" not in out else None


# ---- the snapshot of one stop, and the selected guest frame ----

_generation = [0]
_sessions: dict = {}


def _invalidate(*_args) -> None:
    _generation[0] += 1
    _sessions.clear()


def c_frames() -> tuple:
    """The selected thread's C frames (name, sp), innermost first, as far as
    GDB can unwind; and the innermost frame's sp."""
    out = []
    try:
        frame = gdb.newest_frame()
    except gdb.error:
        return [], None
    while frame is not None and len(out) < MAX_C_FRAMES:
        try:
            name = frame.name()
        except gdb.error:
            name = None
        try:
            sp = int(frame.read_register("sp"))
        except (gdb.error, ValueError):
            sp = None
        out.append(CFrame(name, sp))
        try:
            frame = frame.older()
        except gdb.error:
            break
    return out, out[0].sp if out else None


def session() -> commands.Session:
    try:
        thread = gdb.selected_thread()
        key = (_generation[0], thread.global_num if thread else 0)
    except gdb.error:
        key = (_generation[0], 0)
    if key not in _sessions:
        cframes, sp = c_frames()
        _sessions[key] = commands.Session(Process(GdbTarget()), cframes, sp)
    return _sessions[key]


class WasmCommand(gdb.Command):
    def __init__(self, name: str, doc: str) -> None:
        self.__doc__ = doc
        super().__init__(name, gdb.COMMAND_STACK if name != "wasm-mem" else gdb.COMMAND_DATA)
        self.command_name = name

    def invoke(self, arg: str, from_tty: bool) -> None:
        try:
            text = commands.run(session(), self.command_name, arg)
        except Exception as e:  # a bug of ours: say so in one line, never a traceback mid-session
            text = f"wasmprof: internal error in {self.command_name}: {type(e).__name__}: {e}"
        gdb.write(text + "\n")


# ---- wasm-break: a breakpoint on the stepping loop's hook (breaks.py) ----


def _live() -> bool:
    """A running (or stopped) process, not a core file and not nothing yet."""
    try:
        inferior = gdb.selected_inferior()
        connection = getattr(inferior, "connection", None)
        return bool(inferior.pid) and (connection is None or connection.type != "core")
    except gdb.error:
        return False


def _set_entry_hook(value: int) -> bool:
    """Write wp_debug_entry_hook in the live process (False: no such symbol or no process)."""
    addr = GdbTarget().symbol_address(breaks.FLAG_SYMBOL)
    if not addr or not _live():
        return False
    try:
        gdb.selected_inferior().write_memory(addr, value.to_bytes(4, "little"))
        return True
    except (gdb.error, gdb.MemoryError):
        return False


def _hook_args(frame) -> tuple:
    """(ex, func_index) at the hook: its DWARF variables, or the argument registers."""
    try:
        return int(frame.read_var("ex")), int(frame.read_var("func_index"))
    except (gdb.error, ValueError, RuntimeError):
        pass
    regs = {"i386:x86-64": ("rdi", "rsi"), "aarch64": ("x0", "x1")}.get(frame.architecture().name())
    if regs is None:
        return None, None
    return int(frame.read_register(regs[0])) & (1 << 64) - 1, int(frame.read_register(regs[1])) & 0xFFFFFFFF


class WasmBreakpoint(gdb.Breakpoint):
    """Stops when the stepping loop enters the function of `spec`."""

    def __init__(self, spec: "breaks.EntrySpec") -> None:
        super().__init__(breaks.HOOK_SYMBOL, internal=False)
        self.spec = spec

    def stop(self) -> bool:
        try:
            ex, index = _hook_args(gdb.newest_frame())
            if ex is None:
                gdb.write(f"wasm-break {self.number}: cannot read the hook's arguments on this architecture\n")
                return True
            entered = breaks.entered_frame(Process(GdbTarget()), ex, index)
            if entered is None:
                gdb.write(f"wasm-break {self.number}: {unreadable(f'the frame entered (func[{index}])')}\n")
                return True
            if not self.spec.matches(entered):
                return False
            inst = entered.instance
            gdb.write(f"wasm-break {self.number}: the guest entered {entered.name()} (func[{entered.func_index}])"
                      + (f" in instance {inst.addr:#x}" if inst else "") + "\n")
            return True
        except Exception as e:  # a bug of ours: stop and say so, never a traceback mid-run
            gdb.write(f"wasmprof: internal error in wasm-break {self.number}: {type(e).__name__}: {e}\n")
            return True


class EntryHookArmer(gdb.Breakpoint):
    """On wp_debug_new (a debugger session being made): sets the flag, in a
    process that started after wasm-break (its flag starts at 0).  Never stops."""

    def __init__(self) -> None:
        super().__init__(breaks.SESSION_SYMBOL, internal=True)
        self.silent = True

    def stop(self) -> bool:
        try:
            _set_entry_hook(1)
        except Exception:
            pass
        return False


_armer: list = []


def _ensure_armer(*_args) -> None:
    """The armer, once wp_debug_new is known (a Python process loads the
    core with its extension module, after `run`)."""
    if _armer or not _wasm_breaks() or not GdbTarget().symbol_address(breaks.SESSION_SYMBOL):
        return
    _armer.append(EntryHookArmer())


def _wasm_breaks() -> list:
    return [b for b in gdb.breakpoints() if isinstance(b, WasmBreakpoint) and b.is_valid()]


def _on_breakpoint_deleted(bp) -> None:
    """The last wasm-break gone: the stepping loop stops calling the hook."""
    if not isinstance(bp, WasmBreakpoint) or any(b is not bp for b in _wasm_breaks()):
        return
    _set_entry_hook(0)
    for armer in _armer:
        if armer.is_valid():
            armer.delete()
    _armer.clear()


class WasmBreakCommand(gdb.Command):
    """Stop when the guest enters a function: wasm-break FUNC [INSTANCE].
FUNC is a name as wasm-bt prints it (or without return type and parameters,
or mangled) or a function index; INSTANCE an address from wasm-instances.
It stops guests run by a wasmprof debugger session (wasmprof.Debugger,
`wasmprof debug`, wp_debug_*: the stepping loop), whose hook
wp_debug_func_entered it breaks on; plain calls never stop there.
Delete it with `delete N`."""

    def __init__(self) -> None:
        super().__init__("wasm-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg: str, from_tty: bool) -> None:
        try:
            text = self._break(arg)
        except breaks.BreakSpecError as e:
            text = str(e)
        except Exception as e:  # a bug of ours: one line
            text = f"wasmprof: internal error in wasm-break: {type(e).__name__}: {e}"
        gdb.write(text + "\n")

    def _break(self, arg: str) -> str:
        spec = breaks.parse_spec(arg)
        connection = getattr(gdb.selected_inferior(), "connection", None)
        if connection is not None and connection.type == "core":
            return "wasm-break needs a running process: a core file does not run."
        proc = Process(GdbTarget())
        known = breaks.known(proc, spec) if proc.ok else None
        bp = WasmBreakpoint(spec)
        _ensure_armer()
        armed = _set_entry_hook(1)
        return breaks.set_message(bp.number, spec, known, armed, proc)


# ---- `bt`: guest frames in place of the loop frames ----


class WasmFramesParameter(gdb.Parameter):
    """Whether `bt` shows guest (WebAssembly) frames in place of the interpreter loop's C frames."""

    set_doc = "Set whether backtraces show WebAssembly guest frames in place of interpreter-loop frames."
    show_doc = "Show whether backtraces show WebAssembly guest frames."

    def __init__(self) -> None:
        super().__init__("wasm-frames", gdb.COMMAND_STACK, gdb.PARAM_BOOLEAN)
        self.value = True

    def get_show_string(self, value: str) -> str:
        return f"Showing WebAssembly guest frames in backtraces is {value}."


class _Arg:
    def __init__(self, name: str, value) -> None:
        self._name, self._value = name, value

    def symbol(self) -> str:
        return self._name

    def value(self):
        return self._value


def _gdb_value(valtype: Optional[str], text: Optional[str]):
    if text is None:
        return gdb.Value(unreadable("it"))
    try:
        if valtype in ("i32", "i64"):
            return gdb.Value(int(text))
        if valtype in ("f32", "f64"):
            return gdb.Value(float(text))
    except ValueError:
        pass
    return gdb.Value(text)


def _source_value(var):
    if var.value is None:
        return gdb.Value(f"<{var.why}>")
    try:
        return gdb.Value(int(var.value, 0))
    except ValueError:
        pass
    try:
        return gdb.Value(float(var.value))
    except ValueError:
        return gdb.Value(var.value)


class GuestFrameDecorator(FrameDecorator):
    """A guest frame shown in `bt` where the loop's C frame was (the first of
    a loop's frames keeps the C frame as its inferior frame)."""

    def __init__(self, base, guest: GuestFrame, number: Optional[int]) -> None:
        super().__init__(base)
        self.guest = guest
        self.number = number  # its number in wasm-bt

    def function(self):
        g = self.guest
        tag = f"[wasm #{self.number}]" if self.number is not None else "[wasm]"
        if g.error:
            return f"{tag} {unreadable(g.error)}"
        index, off = g.func_index, g.code_offset
        where = f"func[{index}]" if index is not None else "func[?]"
        if off is not None:
            where += f"+{off:#x}"
        return f"{tag} {g.name()} <{where}>"

    def address(self):
        return None

    def filename(self):
        loc = None if self.guest.error else self.guest.location()
        return loc.file if loc else None

    def line(self):
        loc = None if self.guest.error else self.guest.location()
        return loc.line if loc else None

    def _source(self, params: bool):
        variables = self.guest.source_variables()
        if variables is None:
            return None
        return [_Arg(v.name, _source_value(v)) for v in variables if v.param == params]

    def frame_args(self):
        if self.guest.error:
            return None
        source = self._source(True)
        if source is not None:
            return source
        return [_Arg(l.name, _gdb_value(l.valtype, l.value)) for l in self.guest.locals() if l.param]

    def frame_locals(self):
        if self.guest.error:
            return None
        source = self._source(False)
        if source is not None:
            return source
        return [_Arg(l.name, _gdb_value(l.valtype, l.value)) for l in self.guest.locals() if not l.param]


class WasmFrameFilter:
    def __init__(self, param: WasmFramesParameter) -> None:
        self.name = "wasmprof"
        self.priority = 100
        self._param = param
        gdb.frame_filters[self.name] = self

    @property
    def enabled(self) -> bool:
        return bool(self._param.value)

    @enabled.setter
    def enabled(self, value: bool) -> None:  # `enable frame-filter` sets it
        self._param.value = bool(value)

    def filter(self, frame_iter):
        try:
            cframes, _ = c_frames()
            s = session()
            segments = s.proc.loop_segments(cframes) if s.proc.ok else {}
            numbers = {(f.ctx.addr, f.index): n for n, f in enumerate(s.frames)}
        except Exception:
            segments, numbers = {}, {}
        return self._replace(frame_iter, segments, numbers) if segments else frame_iter

    @staticmethod
    def _replace(frame_iter, segments: dict, numbers: dict):
        for dec in frame_iter:
            try:
                frame = dec.inferior_frame()
                guest = segments.get(frame.level()) if frame.name() in LOOP_FUNCTIONS else None
            except Exception:
                guest = None
            if not guest:
                yield dec
                continue
            for g in guest:
                yield GuestFrameDecorator(dec, g, numbers.get((g.ctx.addr, g.index)))


# ---- pretty-printers ----


def _proc() -> Process:
    return session().proc


class SlotPrinter:
    """wp_slot: a value's bits, read as each type it may hold."""

    def __init__(self, val) -> None:
        self.val = val

    def to_string(self) -> str:
        bits = int(self.val) & (1 << 64) - 1
        return f"{bits:#x} (i32 {format_value('i32', bits)}, i64 {format_value('i64', bits)}, " \
               f"f32 {format_value('f32', bits)}, f64 {format_value('f64', bits)})"


def _find_frame(proc: Process, addr: int) -> GuestFrame:
    """The frame at addr, as its context knows it (for host frames' names)."""
    size = proc.layout.size("wp_frame")
    for ex in proc.execs():
        base = ex.get("frames")
        if base and size and base <= addr < base + size * ex.frame_count() and (addr - base) % size == 0:
            return ex.frame((addr - base) // size)
    return _lone_frame(proc, addr)


def _lone_frame(proc: Process, addr: int) -> GuestFrame:
    ex = Exec(proc, 0)
    lay = proc.layout
    f = GuestFrame(ex, 0, addr, lay.get(addr, "wp_frame.func"), lay.get(addr, "wp_frame.pc"),
                   lay.get(addr, "wp_frame.fp"), lay.get(addr, "wp_frame.sp"))
    if f.func is None:
        f.error = f"the frame at {addr:#x}"
    return f


class StructPrinter:
    """wp_frame, wp_exec, wp_instance, wp_module (structs or pointers to
    them; the core's own structs are opaque to hosts): read through the
    layout table, as the commands read them."""

    def __init__(self, kind: str, addr: int) -> None:
        self.kind, self.addr = kind, addr

    def to_string(self) -> str:
        try:
            return self._text()
        except Exception as e:
            return f"({self.kind} at {self.addr:#x}: internal error {type(e).__name__}: {e})"

    def _text(self) -> str:
        proc = _proc()
        if not proc.ok:
            return f"({self.kind} at {self.addr:#x}; {proc.error})"
        if not self.addr:
            return f"({self.kind} *) NULL"
        s = commands.Session(proc, [], None)
        if self.kind == "wp_frame":
            f = _find_frame(proc, self.addr)
            return "wp_frame " + s.describe(f.index, f).split(" ", 1)[1].lstrip()
        if self.kind == "wp_exec":
            ex = Exec(proc, self.addr)
            depth, n = ex.get("depth"), ex.frame_count()
            if depth is None:
                return f"wp_exec at {self.addr:#x} {unreadable('the context')}"
            top = ex.frame(n - 1) if n else None
            inner = f", innermost {top.name()}" if top and not top.error else ""
            return f"wp_exec at {self.addr:#x}: {n} frames, entry depth {depth}{inner}"
        if self.kind == "wp_instance":
            from .model import Instance
            module = Instance(proc, self.addr).module
            if module is None:
                return f"wp_instance at {self.addr:#x} {unreadable('its module')}"
            return f"wp_instance at {self.addr:#x} of module {module.label()} ({module.get('nfuncs')} functions)"
        if self.kind == "wp_module":
            module = proc.module(self.addr)
            n, size = module.get("nfuncs"), module.get("size")
            if n is None:
                return f"wp_module at {self.addr:#x} {unreadable('the module')}"
            return f"wp_module {module.label()} at {self.addr:#x}: {size} bytes, {n} functions"
        return f"{self.kind} at {self.addr:#x}"


ERROR_KINDS = ["ok", "decode", "validate", "link", "trap", "limit", "host", "nomem", "arg", "exit", "interrupt"]


class ErrorPrinter:
    """wp_error (a public struct: its fields come from the host's DWARF)."""

    def __init__(self, val) -> None:
        self.val = val

    def to_string(self) -> str:
        try:
            kind = int(self.val["kind"])
            name = ERROR_KINDS[kind] if 0 <= kind < len(ERROR_KINDS) else f"kind {kind}"
            if kind == 0:
                return "wp_error ok"
            msg = self.val["message"].string(length=256).split("\0")[0]
            func, offset = int(self.val["func"]), int(self.val["offset"])
            where = []
            if func != 0xFFFFFFFF:
                where.append(f"func {func}")
            if offset != 0xFFFFFFFF:
                where.append(f"offset {offset:#x}")
            return f"wp_error {name}: {msg}" + (f" ({', '.join(where)})" if where else "")
        except (gdb.error, gdb.MemoryError, ValueError) as e:
            return f"wp_error {unreadable(str(e))}"


OPAQUE = ("wp_exec", "wp_instance", "wp_module", "wp_frame")


def lookup_printer(val):
    try:
        t = val.type
        if t.name == "wp_slot" or (t.code == gdb.TYPE_CODE_TYPEDEF and str(t) == "wp_slot"):
            return SlotPrinter(val)
        s = t.strip_typedefs()
        if s.code == gdb.TYPE_CODE_PTR:
            target = s.target().strip_typedefs()
            tag = target.tag or target.name
            if tag in OPAQUE and target.code == gdb.TYPE_CODE_STRUCT:
                return StructPrinter(tag, int(val))
            return None
        if s.code == gdb.TYPE_CODE_STRUCT:
            tag = s.tag
            if tag == "wp_error":
                return ErrorPrinter(val)
            if tag in OPAQUE and val.address is not None:
                return StructPrinter(tag, int(val.address))
    except gdb.error:
        return None
    return None


_registered = [False]


def register() -> None:
    """Install everything, once per GDB session."""
    if _registered[0]:
        return
    _registered[0] = True
    for name, (_, doc) in commands.COMMANDS.items():
        WasmCommand(name, doc)
    WasmBreakCommand()
    WasmFrameFilter(WasmFramesParameter())
    gdb.pretty_printers.append(lookup_printer)
    for event in (gdb.events.stop, gdb.events.cont, gdb.events.new_objfile, gdb.events.exited,
                  gdb.events.inferior_call, gdb.events.memory_changed, gdb.events.register_changed):
        event.connect(_invalidate)
    gdb.events.breakpoint_deleted.connect(_on_breakpoint_deleted)
    gdb.events.new_objfile.connect(_ensure_armer)
    if hasattr(gdb.events, "new_thread"):
        gdb.events.new_thread.connect(_invalidate)
