"""LLDB front end: the same wasm-* commands as in GDB, over the same layers
(target.py's Target implemented with LLDB's SB API).  LLDB has no frame
filters, so `bt` stays native; wasm-bt shows the guest frames.  wasm-break
(breaks.py) is an LLDB breakpoint on the hook with a script callback.

    (lldb) command script import /path/to/wasmprof/gdb/wasmprof_lldb.py
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Optional

import lldb  # type: ignore[import-not-found]

from . import breaks, commands
from .model import CFrame, Process

MAX_C_FRAMES = 10_000


class LldbTarget:
    """Target (target.py) over the selected LLDB target and process."""

    def __init__(self, debugger) -> None:
        self.target = debugger.GetSelectedTarget()
        self.process = self.target.GetProcess()

    def read(self, addr: int, size: int) -> Optional[bytes]:
        err = lldb.SBError()
        data = self.process.ReadMemory(addr, size, err)
        if err.Success() and data is not None:
            return bytes(data)
        # A core file holds no read-only sections (the layout table, names):
        # read those from the binary that maps them.
        err = lldb.SBError()
        data = self.target.ReadMemory(self.target.ResolveLoadAddress(addr), size, err)
        return bytes(data) if err.Success() and data is not None and len(data) == size else None

    def symbol_address(self, name: str) -> Optional[int]:
        for ctx in self.target.FindSymbols(name):
            addr = ctx.GetSymbol().GetStartAddress().GetLoadAddress(self.target)
            if addr != lldb.LLDB_INVALID_ADDRESS:
                return addr
        return None

    def symbol_at(self, addr: int) -> Optional[str]:
        sym = self.target.ResolveLoadAddress(addr).GetSymbol()
        return sym.GetName() if sym.IsValid() else None

    def demangle(self, name: str) -> Optional[str]:
        """binutils' c++filt (libiberty, as the core's own demangler)."""
        tool = shutil.which("c++filt")
        if not tool:
            return None
        try:
            out = subprocess.run([tool, name], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out if out and out != name else None


_sessions: dict = {}


def session(debugger) -> commands.Session:
    t = LldbTarget(debugger)
    thread = t.process.GetSelectedThread()
    key = (t.process.GetProcessID(), t.process.GetStopID(), thread.GetThreadID() if thread.IsValid() else 0)
    if key not in _sessions:
        _sessions.clear()
        cframes = []
        for frame in thread if thread.IsValid() else []:
            if len(cframes) >= MAX_C_FRAMES:
                break
            name = frame.GetFunctionName() or (frame.GetSymbol().GetName() if frame.GetSymbol().IsValid() else None)
            cframes.append(CFrame(name, frame.GetSP()))
        _sessions[key] = commands.Session(Process(t), cframes, cframes[0].sp if cframes else None)
    return _sessions[key]


def _make(name: str):
    def command(debugger, arg, result, internal_dict) -> None:
        try:
            text = commands.run(session(debugger), name, arg)
        except Exception as e:  # a bug of ours: one line, never a traceback mid-session
            text = f"wasmprof: internal error in {name}: {type(e).__name__}: {e}"
        result.AppendMessage(text)

    command.__doc__ = commands.COMMANDS[name][1]
    return command


# One module-level function per command: LLDB's `command script add -f` names them.
for _name in commands.COMMANDS:
    globals()["cmd_" + _name.replace("-", "_")] = _make(_name)


# ---- wasm-break ----

_loader = ["wasmprof_lldb"]  # the module LLDB imported (its functions are the callbacks' names)
_specs: dict = {}            # LLDB breakpoint id -> EntrySpec
_armer: list = []


def _is_core(process) -> bool:
    return process.IsValid() and "core" in (process.GetPluginName() or "")


def _set_entry_hook(target, value: int) -> bool:
    process = target.GetProcess()
    at = LldbTarget(target.GetDebugger()).symbol_address(breaks.FLAG_SYMBOL)
    if not at or not process.IsValid() or not process.GetProcessID() or _is_core(process):
        return False
    err = lldb.SBError()
    process.WriteMemory(at, value.to_bytes(4, "little"), err)
    return err.Success()


def entry_hit(frame, bp_loc, internal_dict) -> bool:
    """The hook's breakpoint: stop (True) only in the function asked for."""
    bp = bp_loc.GetBreakpoint()
    spec = _specs.get(bp.GetID())
    try:
        regs = {"x86_64": ("rdi", "rsi"), "aarch64": ("x0", "x1"), "arm64": ("x0", "x1")}.get(
            frame.GetThread().GetProcess().GetTarget().GetTriple().split("-")[0])
        if spec is None or regs is None:
            return spec is not None
        ex = frame.FindRegister(regs[0]).GetValueAsUnsigned()
        index = frame.FindRegister(regs[1]).GetValueAsUnsigned() & 0xFFFFFFFF
        target = frame.GetThread().GetProcess().GetTarget()
        entered = breaks.entered_frame(Process(LldbTarget(target.GetDebugger())), ex, index)
        if entered is None:
            print(f"wasm-break {bp.GetID()}: (unable to read the frame entered (func[{index}]))")
            return True
        if not spec.matches(entered):
            return False
        inst = entered.instance
        print(f"wasm-break {bp.GetID()}: the guest entered {entered.name()} (func[{entered.func_index}])"
              + (f" in instance {inst.addr:#x}" if inst else ""))
        return True
    except Exception as e:  # a bug of ours: stop and say so
        print(f"wasmprof: internal error in wasm-break: {type(e).__name__}: {e}")
        return True


def arm_hit(frame, bp_loc, internal_dict) -> bool:
    """On wp_debug_new: a process started after wasm-break gets its flag set; never stops."""
    try:
        _set_entry_hook(frame.GetThread().GetProcess().GetTarget(), 1)
    except Exception:
        pass
    return False


def cmd_wasm_break(debugger, arg, result, internal_dict) -> None:
    """Stop when a guest run by a wasmprof debugger session enters a function: wasm-break FUNC [INSTANCE]."""
    try:
        text = _wasm_break(debugger, arg)
    except breaks.BreakSpecError as e:
        text = str(e)
    except Exception as e:  # a bug of ours: one line
        text = f"wasmprof: internal error in wasm-break: {type(e).__name__}: {e}"
    result.AppendMessage(text)


def _wasm_break(debugger, arg: str) -> str:
    spec = breaks.parse_spec(arg)
    target = debugger.GetSelectedTarget()
    if _is_core(target.GetProcess()):
        return "wasm-break needs a running process: a core file does not run."
    proc = Process(LldbTarget(debugger))
    known = breaks.known(proc, spec) if proc.ok else None
    bp = target.BreakpointCreateByName(breaks.HOOK_SYMBOL)
    _specs[bp.GetID()] = spec
    bp.SetScriptCallbackFunction(f"{_loader[0]}.entry_hit")
    if not _armer:
        armer = target.BreakpointCreateByName(breaks.SESSION_SYMBOL)
        armer.SetScriptCallbackFunction(f"{_loader[0]}.arm_hit")
        _armer.append(armer)
    armed = _set_entry_hook(target, 1)
    return breaks.set_message(bp.GetID(), spec, known, armed, proc)


def register(debugger, module_name: str) -> None:
    _loader[0] = module_name
    for name in commands.COMMANDS:
        debugger.HandleCommand(f"command script add -f {module_name}.cmd_{name.replace('-', '_')} {name}")
    debugger.HandleCommand(f"command script add -f {module_name}.cmd_wasm_break wasm-break")
