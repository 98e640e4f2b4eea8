"""The wasm-* commands as text, for any front end (gdb_front, lldb_front).

A front end makes a Session per stop of the inferior (the Process snapshot
and the selected thread's C frames) and calls run(name, argument).  Each
command prints what it can: anything unreadable shows as "(unable to read
...)", and no command raises for the inferior's state.  Adding a command
(wasm-break will come with the stepping loop's hook) is one function in
COMMANDS and a line in each front end's registration loop."""
from __future__ import annotations

import os
from typing import Callable, Optional

from .model import CFrame, GuestFrame, Process, format_value
from .target import unreadable

LIST_CONTEXT = 5  # wasm-list: lines shown on each side of the current one


class CommandError(Exception):
    """A usage mistake: one line for the user."""


def hexdump(data: bytes, base: int) -> str:
    """16 bytes per line with an ASCII column (as `wasmprof coredump mem`)."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{base + at:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def parse_int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise CommandError(f"{what} must be a number (decimal or 0x...), not {text!r}") from None


class Session:
    """The guest frames of one thread at one stop, and which one is selected."""

    def __init__(self, proc: Process, cframes: list, sp: Optional[int]) -> None:
        self.proc = proc
        self.cframes = cframes
        self.sp = sp
        self.selected = 0
        self._frames: Optional[list] = None
        self.note: Optional[str] = None

    @property
    def frames(self) -> list:
        if self._frames is None:
            self._frames, self.note = self.proc.thread_frames(self.cframes, self.sp) if self.proc.ok else ([], None)
        return self._frames

    def current(self) -> GuestFrame:
        frames = self.frames
        if not frames:
            raise CommandError(self.no_frames())
        self.selected = max(0, min(self.selected, len(frames) - 1))
        return frames[self.selected]

    def no_frames(self) -> str:
        if not self.proc.ok:
            return f"wasmprof: {self.proc.error}"
        return "No guest frames on this thread (no wasmprof call is running here)."

    # ---- one frame ----

    def describe(self, i: int, f: GuestFrame) -> str:
        """`#N  0xOFFSET in NAME (func[I]+0xCODE) at FILE:LINE:COL`."""
        if f.error:
            return f"#{i:<2} {unreadable(f.error)}"
        if f.is_host:
            sym = f.host_symbol()
            where = f" [C function {sym}]" if sym else ""
            index = f.func_index
            return f"#{i:<2} <host> {f.name()}" + (f" (func[{index}])" if index is not None else "") + where
        offset, code_offset = f.offset, f.code_offset
        at = f"{offset:#08x} in " if offset is not None else ""
        index = f.func_index
        func = f"func[{index}]" if index is not None else unreadable("the function index")
        if code_offset is not None:
            func += f"+{code_offset:#x}"
        text = f"#{i:<2} {at}{f.name()} ({func})"
        if f.running:
            text += " (running: the loop holds its current instruction in a register)"
        elif offset is None:
            text += " " + unreadable("the instruction offset")
        loc = f.location()
        if loc:
            text += f" at {loc}"
        return text

    def source_text(self, f: GuestFrame, indent: str = "") -> list:
        """The DWARF variables of the frame's function, by source name."""
        if f.error:
            return []
        out = []
        for var in f.source_variables() or []:
            value = var.value if var.value is not None else (
                unreadable(var.why) if var.why and not var.why.startswith(("a ", "no ", "DWARF", "wasm"))
                else f"<{var.why}>")
            kind = "param " if var.param else ""
            out.append(f"{indent}{var.name} ({kind}{var.type_name}) = {value}")
        return out

    def locals_text(self, f: GuestFrame, indent: str = "") -> list:
        if f.error:
            return [indent + unreadable(f.error)]
        out = []
        for local in f.locals():
            kind = "param " if local.param else ""
            value = local.value if local.value is not None else unreadable(f"slot {local.index}")
            out.append(f"{indent}{local.name} ({kind}{local.valtype or '?'}) = {value}")
        return out

    def stack_text(self, f: GuestFrame, indent: str = "") -> list:
        if f.is_host or f.error:
            return []
        stack = f.operand_stack()
        if stack is None:
            return [indent + "operand stack: " + ("(in registers while the frame runs)" if f.running
                                                  else unreadable("the operand stack"))]
        shown = ", ".join(f"{v:#x}" for v in stack) if stack else "empty"
        return [indent + f"operand stack (bottom first, raw slots): {shown}"]

    # ---- commands ----

    def bt(self, arg: str, full: bool = False) -> str:
        frames = self.frames
        if not frames:
            return self.no_frames()
        out = [f"({self.note})"] if self.note else []
        for i, f in enumerate(frames):
            out.append(self.describe(i, f))
            if full:
                source = self.source_text(f, "        ")
                if source:
                    out += ["      source variables (DWARF):"] + source + ["      wasm locals:"]
                out += self.locals_text(f, "        ")
                out += self.stack_text(f, "        ")
        return "\n".join(out)

    def frame(self, arg: str) -> str:
        if arg.strip():
            n = parse_int(arg.strip(), "the frame number")
            if not 0 <= n < len(self.frames):
                raise CommandError(f"No guest frame {n} (there are {len(self.frames)}).")
            self.selected = n
        f = self.current()
        text = self.describe(self.selected, f)
        line = self.source_line(f)
        return text + (f"\n{line}" if line else "")

    def up(self, arg: str) -> str:
        n = parse_int(arg.strip(), "the count") if arg.strip() else 1
        self.current()
        if self.selected + n >= len(self.frames):
            if self.selected == len(self.frames) - 1:
                raise CommandError("Initial guest frame selected; you cannot go up.")
            n = len(self.frames) - 1 - self.selected
        self.selected += n
        return self.frame("")

    def down(self, arg: str) -> str:
        n = parse_int(arg.strip(), "the count") if arg.strip() else 1
        self.current()
        if self.selected - n < 0:
            if self.selected == 0:
                raise CommandError("Bottom (innermost) guest frame selected; you cannot go down.")
            n = self.selected
        self.selected -= n
        return self.frame("")

    def locals(self, arg: str) -> str:
        f = self.current()
        source = self.source_text(f)
        lines = self.locals_text(f) + self.stack_text(f)
        if source:
            lines = ["source variables (DWARF):"] + ["  " + s for s in source] + ["wasm locals:"] + ["  " + s for s in lines]
        return "\n".join(lines) if lines else "No locals."

    def print_(self, arg: str) -> str:
        name = arg.strip()
        if not name:
            raise CommandError("usage: wasm-print NAME (a local or a global of the selected guest frame)")
        f = self.current()
        for var in f.source_variables() or []:
            if var.name == name:
                value = var.value if var.value is not None else f"<{var.why}>"
                return f"{var.name} = {value} ({var.type_name})"
        for local in f.locals():
            if name in (local.name, f"${local.name}"):
                value = local.value if local.value is not None else unreadable(f"local {local.index}")
                return f"{local.name} = {value} ({local.valtype or '?'} local {local.index})"
        inst = f.instance or f.caller_instance
        for i, gname, t, value in inst.globals() if inst else []:
            if name in (gname, f"${gname}", f"global{i}"):
                return f"{gname or f'global{i}'} = {value if value is not None else unreadable(f'global {i}')} ({t or '?'} global {i})"
        raise CommandError(f"No local or global named {name!r} in guest frame {self.selected}.")

    def globals(self, arg: str) -> str:
        f = self.current()
        inst = f.instance or f.caller_instance
        if inst is None:
            return unreadable("the frame's instance")
        rows = inst.globals()
        if not rows:
            return "No globals."
        return "\n".join(f"{name or f'global{i}'} ({t or '?'} global {i}) = {value if value is not None else unreadable(f'global {i}')}"
                         for i, name, t, value in rows)

    def mem(self, arg: str) -> str:
        parts = arg.split()
        if len(parts) not in (2, 3):
            raise CommandError("usage: wasm-mem ADDR LEN [MEMORY]  (a hexdump of the guest's linear memory)")
        addr, length = parse_int(parts[0], "ADDR"), parse_int(parts[1], "LEN")
        index = parse_int(parts[2], "MEMORY") if len(parts) == 3 else 0
        if addr < 0 or length < 0 or length > 1 << 20:
            raise CommandError("ADDR must be >= 0 and LEN between 0 and 1 MiB")
        f = self.current()
        inst = f.instance or f.caller_instance
        memory = inst.memory(index) if inst else None
        if memory is None:
            return f"The guest frame's instance has no memory {index}."
        data, size = memory.data, memory.size
        if data is None or size is None:
            return unreadable(f"memory {index}")
        if addr + length > size:
            return f"{addr:#x}+{length} is outside memory {index} ({size} bytes)"
        raw = self.proc.mem.read(data + addr, length)
        return hexdump(raw, addr) if raw is not None else unreadable(f"{length} bytes at {addr:#x} of memory {index}")

    def source_line(self, f: GuestFrame) -> Optional[str]:
        loc = f.location() if not f.error and not f.is_host else None
        if loc is None:
            return None
        text = read_source(loc.file)
        if text is None or not 0 < loc.line <= len(text):
            return None
        return f"{loc.line}\t{text[loc.line - 1]}"

    def list_(self, arg: str) -> str:
        f = self.current()
        loc = f.location() if not f.error and not f.is_host else None
        if loc is None:
            return "No source line for this guest frame (the module has no DWARF .debug_line for it)."
        lines = read_source(loc.file)
        if lines is None:
            return f"{loc}: source file not found"
        first, last = max(1, loc.line - LIST_CONTEXT), min(len(lines), loc.line + LIST_CONTEXT)
        return "\n".join(f"{'>' if n == loc.line else ' '}{n:<5}{lines[n - 1]}" for n in range(first, last + 1))

    def instances(self, arg: str) -> str:
        if not self.proc.ok:
            return f"wasmprof: {self.proc.error}"
        out = []
        for ex in self.proc.execs():
            depth = ex.get("depth")
            state = "running a call" if depth else "idle"
            count = ex.frame_count()
            out.append(f"context {ex.addr:#x}: {state} (entry depth {depth if depth is not None else '?'}), {count} frames")
        if not out:
            out.append("no live execution contexts")
        for inst in self.proc.instances():
            module = inst.module
            if module is None:
                out.append(f"instance {inst.addr:#x}: {unreadable('its module')}")
                continue
            nfuncs, size = module.get("nfuncs"), module.get("size")
            mem = inst.memory(0)
            mem_text = f", memory 0: {mem.size} bytes at {mem.data:#x}" if mem and mem.size is not None and mem.data else ""
            out.append(f"instance {inst.addr:#x}: module {module.label()} ({module.addr:#x}, {size} bytes, "
                       f"{nfuncs} functions){mem_text}")
        return "\n".join(out)


def read_source(path: str) -> Optional[list]:
    try:
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return None


# name -> (method, one-line help).  The front ends register each as a command.
COMMANDS: dict = {
    "wasm-bt": (lambda s, a: s.bt(a), "Print the guest (WebAssembly) backtrace of this thread, innermost first."),
    "wasm-bt-full": (lambda s, a: s.bt(a, full=True), "Print the guest backtrace with every frame's locals and operand stack."),
    "wasm-frame": (Session.frame, "Select and print guest frame N (the selected one without N)."),
    "wasm-up": (Session.up, "Select the guest frame that called this one (N frames up)."),
    "wasm-down": (Session.down, "Select the guest frame this one called (N frames down)."),
    "wasm-locals": (Session.locals, "Print the locals of the selected guest frame by name."),
    "wasm-print": (Session.print_, "Print a local or global of the selected guest frame: wasm-print NAME."),
    "wasm-globals": (Session.globals, "Print the globals of the selected guest frame's instance."),
    "wasm-mem": (Session.mem, "Hexdump guest memory: wasm-mem ADDR LEN [MEMORY]."),
    "wasm-list": (Session.list_, "List the source around the selected guest frame's line (DWARF)."),
    "wasm-instances": (Session.instances, "List every live execution context and instance."),
}


def run(session: Session, name: str, arg: str) -> str:
    """Run one command; usage mistakes come back as their one-line message."""
    fn: Callable = COMMANDS[name][0]
    try:
        return fn(session, arg)
    except CommandError as e:
        return str(e)


__all__ = ["COMMANDS", "CFrame", "CommandError", "Session", "format_value", "hexdump", "run"]
