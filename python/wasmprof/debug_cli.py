"""``python -m wasmprof debug FILE.wasm [--invoke NAME] [-- ARGS]``: the interactive debugger.

Commands are modelled on gdb (and the Octez kernel debugger); ``help`` lists
them.  Expressions (``print``, ``set var``, ``break ... if``) are Python,
evaluated with the current frame's locals, the globals (by name) and
``mem`` (the memory, ``mem[a:b]``) in scope.  A WASI program's own stdout
and stderr are kept apart from the debugger's output: they are shown after
each command, each line marked ``[stdout]`` / ``[stderr]`` (or written to
the files given with --guest-stdout / --guest-stderr).  Line editing and
history come from readline (~/.wasmprof_debug_history).
"""
from __future__ import annotations

import argparse
import cmd
import os
import sys
from typing import Any, Callable, Dict, List, Optional

from ._core import Error, Func, Instance, LinkError, Module
from .debugger import Debugger, Stop

HISTORY = os.path.expanduser("~/.wasmprof_debug_history")


class CommandError(Exception):
    """A command the debugger cannot carry out: one line, no traceback."""


def configure(p: argparse.ArgumentParser) -> None:
    from .cli import _add_wasi_options

    p.add_argument("file", metavar="FILE.wasm", help="the module to debug")
    p.add_argument("--invoke", metavar="NAME", help="the exported function to call (default: _start if exported)")
    p.add_argument("--guest-stdout", metavar="PATH", help="write the WASI program's stdout here")
    p.add_argument("--guest-stderr", metavar="PATH", help="write the WASI program's stderr here")
    p.add_argument("--batch", "-x", metavar="FILE", help="run the commands in FILE, then quit")
    _add_wasi_options(p)
    p.add_argument("args", nargs="*", metavar="ARGS", help="arguments of the call, or of the WASI program")
    p.set_defaults(_extra_args=True)


class GuestOutput:
    """A WASI stream kept apart: collected, then shown marked (or written to a file)."""

    def __init__(self, tag: str, path: Optional[str]) -> None:
        self.tag = tag
        self.buffer = bytearray()
        self.shown = 0
        self.file = open(path, "ab") if path else None

    def flush(self, out: Any) -> None:
        new = bytes(self.buffer[self.shown:])
        self.shown = len(self.buffer)
        if not new:
            return
        if self.file:
            self.file.write(new)
            self.file.flush()
            return
        for line in new.decode("utf-8", "replace").splitlines():
            out.write(f"[{self.tag}] {line}\n")


class Session:
    """What `run` restarts: the instance, its debugger and the call."""

    def __init__(self, ns: argparse.Namespace, out: Any) -> None:
        from .cli import UsageError, _load, parse_value

        self.ns = ns
        self.out = out
        self.module: Module = _load(ns.file)
        self.stdout = GuestOutput("stdout", ns.guest_stdout)
        self.stderr = GuestOutput("stderr", ns.guest_stderr)
        self.wasi_factory: Callable[[], Any] = self._wasi if self.module_imports_wasi() else lambda: None
        self.name: Optional[str] = ns.invoke
        self.values: List[Any] = []
        exports = {e.name: e for e in self.module.exports if e.kind == "func"}
        if self.name is None:
            if "_start" not in exports:
                raise UsageError(f"no --invoke given and no _start export (functions: {', '.join(exports) or 'none'})")
            self.name = "_start"
        elif self.name not in exports:
            raise UsageError(f"no exported function {self.name!r} (exported functions: {', '.join(exports) or 'none'})")
        params = exports[self.name].type.params
        args = [] if (self.name == "_start" and self.module_imports_wasi()) else list(ns.args)
        if len(args) != len(params):
            raise UsageError(f"{self.name} takes {len(params)} argument{'s' if len(params) != 1 else ''}, got {len(args)}")
        self.values = [parse_value(a, t) for a, t in zip(args, params)]
        self.dbg: Optional[Debugger] = None

    def module_imports_wasi(self) -> bool:
        return any(i.module == "wasi_snapshot_preview1" for i in self.module.imports)

    def _wasi(self) -> Any:
        from .cli import _wasi_for
        from .wasi import Wasi

        base = _wasi_for(self.ns, self.module)
        self.stdout.buffer.clear()
        self.stderr.buffer.clear()
        self.stdout.shown = self.stderr.shown = 0
        return Wasi(args=base.args, env=base.env, preopens=base.preopens, stdout=self.stdout.buffer,
                    stderr=self.stderr.buffer)

    def start(self) -> Stop:
        """Instantiate afresh and start the call, paused at its first instruction."""
        old = self.dbg
        wasi = self.wasi_factory()
        try:
            instance = Instance(self.module, wasi=wasi) if wasi is not None else Instance(self.module)
        except LinkError as e:
            raise CommandError(f"{e} (debug supports modules without imports or with WASI preview1 imports)") from None
        self.dbg = Debugger(instance)
        if old is not None:
            for bp in old.breakpoints:
                self.dbg.breakpoint(function=bp.func_index, condition=bp.condition, temporary=bp.temporary) \
                    if bp.kind == "function" else self.dbg.breakpoint(offset=bp.offset, condition=bp.condition,
                                                                       temporary=bp.temporary)
            for wp in old.watchpoints:
                self.dbg.watch(wp.addr, wp.length) if wp.kind == "memory" else self.dbg.watch_global(wp.global_index or 0)
        return self.dbg.call(self.name, *self.values)


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise CommandError(f"{what} must be a number, not {text!r}") from None


class DebugShell(cmd.Cmd):
    """The command loop (cmd.Cmd gives readline editing and `help`)."""

    prompt = "(wdb) "
    intro = None

    def __init__(self, session: Session, stdin: Any = None, stdout: Any = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.session = session
        self.out = stdout or sys.stdout
        self.selected = 0  # frame selected by frame/up/down
        self.last = ""

    # ---- helpers ----

    @property
    def dbg(self) -> Debugger:
        assert self.session.dbg is not None
        return self.session.dbg

    def say(self, text: str) -> None:
        self.out.write(text + "\n")

    def show_stop(self, stop: Stop) -> None:
        self.selected = 0
        self.session.stdout.flush(self.out)
        self.session.stderr.flush(self.out)
        if stop.reason == "breakpoint" and stop.breakpoint:
            self.say(f"Breakpoint {stop.breakpoint.id}, {self.describe_frame(stop.frame)}")
        elif stop.reason == "watchpoint" and stop.watchpoint:
            self.say(f"Watchpoint {stop.watchpoint.id} {stop.watchpoint.where}\nOld value = {stop.old!r}\n"
                     f"New value = {stop.new!r}")
            self.say(self.describe_frame(stop.frame))
        elif stop.ended:
            self.say(f"[{stop}]")
            return
        elif stop.reason == "start":
            self.say("No more reverse-execution history.")
            self.say(self.describe_frame(stop.frame))
        else:
            self.say(self.describe_frame(stop.frame))
        self.show_here()

    def describe_frame(self, f: Any) -> str:
        if f is None:
            return "(no frame)"
        args = ", ".join(f"{loc.label}={loc.value!r}" for loc in f.locals[: self.nparams(f.func_index)])
        where = f" at {f.location}" if f.location else ""
        return f"{f.name} ({args}){where} [{f.module_offset:#x}]" if f.module_offset is not None else f.name

    def nparams(self, func: int) -> int:
        for e in self.dbg.instance.exports.values():
            if isinstance(e, Func) and e.index == func:
                return len(e.type.params)
        types = self.dbg._s.local_types(func)
        locals_named = [self.dbg.module.local_name(func, i) for i in range(len(types))]
        return min(len(types), sum(1 for n in locals_named if n)) if any(locals_named) else 0

    def source_line(self, file: str, line: int) -> Optional[str]:
        try:
            with open(file, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return None
        return lines[line - 1] if 0 < line <= len(lines) else None

    def show_here(self) -> None:
        f = self.dbg.frame
        if f is None:
            return
        text = self.source_line(f.location.file, f.location.line) if f.location else None
        if text is not None:
            self.say(f"{f.location.line}\t{text}")
        else:
            for ins in self.dbg.disassemble(n=1):
                self.say(str(ins))

    def namespace(self) -> Dict[str, Any]:
        ns: Dict[str, Any] = {"mem": self.dbg.memory}
        for name, _t, value in self.dbg.globals.items():
            ns[name] = value
        frames = self.dbg.frames
        if frames:
            for loc in frames[min(self.selected, len(frames) - 1)].locals:
                if loc.name:
                    ns[loc.name] = loc.value
                ns[f"_{loc.index}"] = loc.value
        return ns

    def evaluate(self, expr: str) -> Any:
        expr = expr.strip()
        if expr.startswith("$") and expr[1:].isdigit():
            expr = f"_{expr[1:]}"
        try:
            return eval(expr, {"__builtins__": {"hex": hex, "len": len, "int": int, "abs": abs}}, self.namespace())
        except Exception as e:  # noqa: BLE001 - any mistake in the expression is the user's
            raise CommandError(f"cannot evaluate {expr!r}: {type(e).__name__}: {e}") from None

    def need_call(self) -> None:
        if not self.dbg.paused:
            raise CommandError("the program is not being run (use `run`, or reverse-step into its history)")

    # ---- the loop ----

    def onecmd(self, line: str) -> bool:
        try:
            return super().onecmd(line)
        except CommandError as e:
            self.say(f"error: {e}")
        except (Error, ValueError, KeyError, IndexError, TypeError, RuntimeError) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            self.say(f"error: {msg}")
        except KeyboardInterrupt:
            self.say("\nInterrupted.")
            self.show_here()
        return False

    def emptyline(self) -> bool:
        return self.onecmd(self.last) if self.last else False

    def precmd(self, line: str) -> str:
        if line.strip():
            self.last = line
        return line

    def default(self, line: str) -> bool:
        name = line.split()[0]
        aliases = {"s": "step", "si": "stepi", "n": "next", "ni": "nexti", "c": "continue", "b": "break",
                   "p": "print", "rs": "reverse_step", "rc": "reverse_continue", "reverse-step": "reverse_step",
                   "reverse-continue": "reverse_continue", "reverse-stepi": "reverse_stepi", "q": "quit",
                   "i": "info", "l": "list", "where": "bt", "backtrace": "bt", "fin": "finish", "d": "delete",
                   "exit": "quit"}
        if name in aliases:
            return self.onecmd(aliases[name] + line[len(name):])
        if name.startswith("x/") or name == "x":
            return self.do_x(line[1:])
        raise CommandError(f"unknown command {name!r} (try `help`)")

    def do_EOF(self, arg: str) -> bool:
        self.say("")
        return True

    def do_quit(self, arg: str) -> bool:
        """quit: leave the debugger."""
        return True

    # ---- running ----

    def _count(self, arg: str) -> int:
        return _int(arg, "the count") if arg.strip() else 1

    def do_step(self, arg: str) -> None:
        """step [N]: the next source line, into calls (an instruction without DWARF lines)."""
        self.need_call()
        for _ in range(self._count(arg)):
            stop = self.dbg.step_line() if self.dbg.location() else self.dbg.step()
            if stop.reason != "step":
                break
        self.show_stop(stop)

    def do_stepi(self, arg: str) -> None:
        """stepi [N]: N instructions, into calls."""
        self.need_call()
        self.show_stop(self.dbg.step(self._count(arg)))

    def do_next(self, arg: str) -> None:
        """next [N]: the next source line, calls run to their return (an instruction without lines)."""
        self.need_call()
        for _ in range(self._count(arg)):
            stop = self.dbg.next_line() if self.dbg.location() else self.dbg.step_over()
            if stop.reason != "step":
                break
        self.show_stop(stop)

    def do_nexti(self, arg: str) -> None:
        """nexti [N]: N instructions, calls run to their return."""
        self.need_call()
        self.show_stop(self.dbg.step_over(self._count(arg)))

    def do_finish(self, arg: str) -> None:
        """finish: run until the selected function returns."""
        self.need_call()
        self.show_stop(self.dbg.step_out())

    def do_continue(self, arg: str) -> None:
        """continue: run until a breakpoint, a watchpoint or the end."""
        self.need_call()
        self.show_stop(self.dbg.cont())

    def do_run(self, arg: str) -> None:
        """run: restart the call from the beginning (breakpoints and watchpoints are kept)."""
        self.say(f"Starting {self.session.name}({', '.join(map(repr, self.session.values))})")
        self.show_stop(self.session.start())

    def do_reverse_step(self, arg: str) -> None:
        """reverse-step [N] (rs): back N source lines (instructions without DWARF lines)."""
        for _ in range(self._count(arg)):
            stop = self._reverse_line() if self.dbg.location() else self.dbg.reverse_step()
            if stop.reason != "step":
                break
        self.show_stop(stop)

    def _reverse_line(self) -> Stop:
        loc = self.dbg.location()
        start = (loc.file, loc.line) if loc else None
        depth = len(self.dbg.frames)
        while True:
            stop = self.dbg.reverse_step()
            if stop.reason != "step":
                return stop
            here = self.dbg.location()
            if here and ((here.file, here.line) != start or len(self.dbg.frames) != depth):
                return stop

    def do_reverse_stepi(self, arg: str) -> None:
        """reverse-stepi [N]: back N instructions."""
        self.show_stop(self.dbg.reverse_step(self._count(arg)))

    def do_reverse_continue(self, arg: str) -> None:
        """reverse-continue (rc): back to the previous breakpoint or watchpoint hit."""
        self.show_stop(self.dbg.reverse_cont())

    def do_ticks(self, arg: str) -> None:
        """ticks [N]: show the tick count, or go to tick N (forwards or backwards)."""
        if arg.strip():
            self.show_stop(self.dbg.run_to(tick=_int(arg.strip(), "the tick")))
            return
        self.say(f"{self.dbg.ticks} ticks, {self.dbg.icount} instructions")

    def do_profile(self, arg: str) -> None:
        """profile [N]: run to the end under the profiler; show the N (10) functions with most ticks."""
        self.need_call()
        prof = self.dbg.profile()
        total = max(prof.total_ticks, 1)
        self.session.stdout.flush(self.out)
        self.session.stderr.flush(self.out)
        self.say(f"{'self ticks':>12} {'self %':>7} {'calls':>8}  function")
        for f in prof.top(_int(arg.strip(), "N") if arg.strip() else 10):
            self.say(f"{f.self_ticks:>12,} {100.0 * f.self_ticks / total:>6.2f}% {f.calls:>8,}  {f.name}")
        self.say(f"{prof.total_ticks:>12,} ticks from here to the end")
        self.say(f"[{prof.stop}]")

    # ---- breakpoints ----

    def _break(self, arg: str, temporary: bool) -> None:
        spec, _, cond_text = arg.partition(" if ")
        spec = spec.strip()
        if not spec:
            raise CommandError("break needs a place: FUNCTION, FILE:LINE, *ADDRESS or +OFFSET")
        condition = None
        if cond_text.strip():
            expr = cond_text.strip()
            self.evaluate_check(expr)
            condition = lambda dbg, expr=expr: bool(self.evaluate(expr))  # noqa: E731
        if spec.startswith("*"):
            bp = self.dbg.breakpoint(offset=_int(spec[1:], "the address"), condition=condition, temporary=temporary)
        elif spec.lstrip("-").isdigit() and self.dbg.location():
            loc = self.dbg.location()
            bp = self.dbg.breakpoint(line=f"{loc.file}:{spec}", condition=condition, temporary=temporary)
        else:
            bp = self.dbg.breakpoint(spec, condition=condition, temporary=temporary)
        self.say(f"{'Temporary b' if temporary else 'B'}reakpoint {bp.id} at {bp.offset:#x}: {bp.where}")

    def evaluate_check(self, expr: str) -> None:
        try:
            compile(expr, "<condition>", "eval")
        except SyntaxError as e:
            raise CommandError(f"bad condition {expr!r}: {e.msg}") from None

    def do_break(self, arg: str) -> None:
        """break FUNCTION | FILE:LINE | LINE | *ADDRESS [if EXPR]: set a breakpoint."""
        self._break(arg, False)

    def do_tbreak(self, arg: str) -> None:
        """tbreak ...: a breakpoint deleted when it is hit."""
        self._break(arg, True)

    def do_watch(self, arg: str) -> None:
        """watch ADDRESS [LENGTH] | watch GLOBAL: stop after the value changes."""
        parts = arg.split()
        if not parts:
            raise CommandError("watch needs an address or a global")
        try:
            addr = int(parts[0].lstrip("*"), 0)
        except ValueError:
            wp = self.dbg.watch_global(parts[0])
        else:
            wp = self.dbg.watch(addr, _int(parts[1], "the length") if len(parts) > 1 else 4)
        self.say(f"Watchpoint {wp.id}: {wp.where}")

    def do_delete(self, arg: str) -> None:
        """delete [N...]: delete breakpoints/watchpoints (all without N)."""
        if not arg.strip():
            self.dbg.delete()
            return
        for n in arg.split():
            self.dbg.delete(_int(n, "the breakpoint number"))

    def do_disable(self, arg: str) -> None:
        """disable N...: disable breakpoints/watchpoints."""
        for n in arg.split():
            self.dbg.disable(_int(n, "the breakpoint number"))

    def do_enable(self, arg: str) -> None:
        """enable N...: enable breakpoints/watchpoints."""
        for n in arg.split():
            self.dbg.enable(_int(n, "the breakpoint number"))

    def do_info(self, arg: str) -> None:
        """info breakpoints | locals | frame | globals."""
        what = arg.strip()
        if what in ("b", "break", "breakpoints", "watchpoints"):
            items = [*self.dbg.breakpoints, *self.dbg.watchpoints]
            if not items:
                self.say("No breakpoints or watchpoints.")
            for it in sorted(items, key=lambda i: i.id):
                self.say(str(it))
        elif what in ("locals", "args"):
            self.do_locals("")
        elif what == "frame":
            self.do_frame(str(self.selected))
        elif what == "globals":
            self.do_globals("")
        else:
            raise CommandError("info breakpoints | locals | frame | globals")

    # ---- looking ----

    def _frames(self) -> List[Any]:
        frames = self.dbg.frames
        if not frames:
            raise CommandError("no frames (the call is not paused)")
        return frames

    def do_bt(self, arg: str) -> None:
        """bt: the backtrace."""
        for f in self._frames():
            mark = "*" if f.depth == self.selected else " "
            self.say(f"{mark}#{f.depth:<3} {self.describe_frame(f)}")

    def do_frame(self, arg: str) -> None:
        """frame N: select frame N (0 is the innermost)."""
        frames = self._frames()
        n = _int(arg.strip(), "the frame number") if arg.strip() else self.selected
        if not 0 <= n < len(frames):
            raise CommandError(f"no frame {n} (0 to {len(frames) - 1})")
        self.selected = n
        self.say(f"#{n}  {self.describe_frame(frames[n])}")

    def do_up(self, arg: str) -> None:
        """up [N]: select the caller's frame."""
        self.do_frame(str(min(self.selected + self._count(arg), len(self._frames()) - 1)))

    def do_down(self, arg: str) -> None:
        """down [N]: select the callee's frame."""
        self.do_frame(str(max(self.selected - self._count(arg), 0)))

    def do_locals(self, arg: str) -> None:
        """locals: the selected frame's locals and operand stack."""
        f = self._frames()[self.selected]
        for loc in f.locals:
            self.say(f"{loc.label} = {loc.value!r} ({loc.type})")
        if f.operands:
            self.say("operands: " + ", ".join(f"{v!r} ({t})" for t, v in f.operands))

    def do_print(self, arg: str) -> None:
        """print EXPR: a Python expression over locals, globals and mem."""
        if not arg.strip():
            raise CommandError("print needs an expression")
        self.say(repr(self.evaluate(arg)))

    def do_set(self, arg: str) -> None:
        """set var NAME = EXPR | set var *ADDRESS = EXPR (4 bytes): change a local, a global or memory."""
        text = arg.strip()
        if text.startswith("var "):
            text = text[4:]
        target, eq, expr = text.partition("=")
        target = target.strip()
        if not eq or not target:
            raise CommandError("set var NAME = EXPR")
        value = self.evaluate(expr)
        if target.startswith("*"):
            addr = _int(target[1:], "the address")
            self.dbg.memory.write(addr, int(value).to_bytes(4, "little", signed=int(value) < 0))
            return
        frames = self.dbg.frames
        if frames:
            f = frames[self.selected]
            try:
                f.local(target if not target.startswith("$") else int(target[1:]))
            except (KeyError, ValueError):
                pass
            else:
                self.dbg.set_local(target if not target.startswith("$") else int(target[1:]), value,
                                   frame=self.selected)
                return
        self.dbg.globals[target] = value

    def do_x(self, arg: str) -> None:
        """x/N ADDRESS: N words (4 bytes) of memory in hex (x/Nb: bytes)."""
        fmt, _, addr_text = arg.strip().partition(" ")
        fmt = fmt.lstrip("/")
        unit = 4
        if fmt.endswith("b"):
            unit, fmt = 1, fmt[:-1]
        elif fmt.endswith("w"):
            fmt = fmt[:-1]
        n = _int(fmt, "the count") if fmt else 1
        if not addr_text.strip():
            raise CommandError("x/N ADDRESS")
        addr = int(self.evaluate(addr_text))
        data = self.dbg.memory.read(addr, n * unit)
        for row in range(0, n, 4 if unit == 4 else 16):
            words = [int.from_bytes(data[(row + i) * unit:(row + i + 1) * unit], "little")
                     for i in range(min(4 if unit == 4 else 16, n - row))]
            self.say(f"{addr + row * unit:#010x}: " + " ".join(f"{w:#0{2 + 2 * unit}x}" for w in words))

    def do_globals(self, arg: str) -> None:
        """globals: every global's value."""
        for name, t, value in self.dbg.globals.items():
            self.say(f"{name} = {value!r} ({t})")

    def do_disas(self, arg: str) -> None:
        """disas [N | FUNCTION]: instructions around the current one (or a function)."""
        a = arg.strip()
        if a and not a.isdigit():
            lines = self.dbg.disassemble(function=a)
        else:
            lines = self.dbg.disassemble(n=int(a) if a else 12)
        for ins in lines:
            self.say(str(ins))

    def do_list(self, arg: str) -> None:
        """list: the source around the current line (DWARF lines and the file must exist)."""
        loc = self.dbg.location()
        if loc is None:
            raise CommandError("no source line here (the module has no DWARF lines for this code)")
        try:
            with open(loc.file, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError as e:
            raise CommandError(f"cannot read {loc.file}: {e.strerror}") from None
        lo = max(loc.line - 5, 1)
        for i in range(lo, min(lo + 10, len(lines) + 1)):
            self.say(f"{'=>' if i == loc.line else '  '}{i:>5}\t{lines[i - 1]}")


def run(ns: argparse.Namespace) -> int:
    session = Session(ns, sys.stdout)
    shell = DebugShell(session)
    stop = session.start()
    shell.say(f"Debugging {os.path.basename(ns.file)}: {session.name}({', '.join(map(repr, session.values))})")
    shell.show_stop(stop)
    if ns.batch:
        with open(ns.batch, encoding="utf-8") as fh:
            for line in fh:
                shell.say(f"{shell.prompt}{line.rstrip()}")
                if shell.onecmd(line.rstrip("\n")):
                    break
        return 0
    readline = None
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401 - line editing for cmd.Cmd

            readline.read_history_file(HISTORY)
        except (ImportError, OSError):
            pass
    try:
        shell.cmdloop()
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY)
            except OSError:
                pass
    return 0
