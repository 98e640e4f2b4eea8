"""wasm-break FUNC [INSTANCE]: what a front end needs to stop the host when
a guest enters a function, whatever the debugger.

The mechanism (csrc/observe/debug.c, wasmprof.h): the stepping loop, the one a
wasmprof debugger session (wasmprof.Debugger, wp_debug_*) runs guests in,
calls the never-inlined `wp_debug_func_entered(ex, func_index)` on every
guest function entry while the word `wp_debug_entry_hook` is non-zero.  A
front end writes 1 there (a live process only: a core file does not run)
and puts a native breakpoint on the hook whose check, here, reads the
entered frame from ex and compares it with what was asked.  The plain and
ticked loops have no such call: a guest run by an ordinary
call (wp_call, an Instance's exports) never stops at a wasm-break."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .model import Exec, GuestFrame, Process

HOOK_SYMBOL = "wp_debug_func_entered"
FLAG_SYMBOL = "wp_debug_entry_hook"
SESSION_SYMBOL = "wp_debug_new"  # where a front end arms the flag in a process started later
ONLY_UNDER_DEBUGGER = ("wasm-break stops guests run by a wasmprof debugger session (wasmprof.Debugger, "
                       "`wasmprof debug`, wp_debug_*: the stepping loop); plain calls never stop there")


class BreakSpecError(Exception):
    """A usage mistake: one line for the user."""


@dataclass
class EntrySpec:
    """A function by name (as wasm-bt prints it, its mangled name, or its
    qualified name without return type and parameters) or by index, in any
    instance or one (its address, as wasm-instances prints it)."""

    func: str
    index: Optional[int] = None
    instance: Optional[int] = None

    def describe(self) -> str:
        what = f"func[{self.index}]" if self.index is not None else self.func
        return what + (f" in instance {self.instance:#x}" if self.instance is not None else "")

    def matches(self, frame: GuestFrame) -> bool:
        if self.instance is not None and (frame.instance is None or frame.instance.addr != self.instance):
            return False
        if self.index is not None:
            return frame.func_index == self.index
        return self.func in names_of(frame)


def parse_spec(arg: str) -> EntrySpec:
    parts = arg.split()
    if not 1 <= len(parts) <= 2:
        raise BreakSpecError("usage: wasm-break FUNC [INSTANCE]  (FUNC: a function's name or index; "
                             "INSTANCE: an instance address from wasm-instances)")
    func = parts[0]
    index = int(func) if func.isdigit() else None
    instance = None
    if len(parts) == 2:
        try:
            instance = int(parts[1], 0)
        except ValueError:
            raise BreakSpecError(f"INSTANCE must be an address (0x...), not {parts[1]!r}") from None
    return EntrySpec(func, index, instance)


def short_name(display: str) -> str:
    """`int twice<int>(int)` -> `twice<int>`; `ns::S::f(int) const` -> `ns::S::f`."""
    head, depth, cut = display, 0, None
    for i, ch in enumerate(display):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "(" and depth == 0:
            cut = i
            break
    if cut:
        head = display[:cut]
    depth, start = 0, 0
    for i, ch in enumerate(head):  # the return type ends at the last top-level space
        depth += ch == "<"
        depth -= ch == ">"
        if ch == " " and depth == 0:
            start = i + 1
    return head[start:]


def names_of(frame: GuestFrame) -> set:
    names = set()
    display = frame.name()
    if not display.startswith(("func[", "<")):
        names |= {display, short_name(display)}
    raw = frame.raw_name()
    if raw:
        names.add(raw)
    return names


def entered_frame(proc: Process, ex_addr: int, func_index: Optional[int]) -> Optional[GuestFrame]:
    """The frame the stepping loop just pushed: the top of ex's frame stack
    (None when unreadable, or when it is not the function the hook names)."""
    ex = Exec(proc, ex_addr)
    n = ex.frame_count()
    if not n:
        return None
    top = ex.frame(n - 1)
    if top.error or (func_index is not None and top.func_index != func_index):
        return None
    return top


def sessions(proc: Process) -> int:
    """Live contexts that belong to a debugger session (their guests run in
    the stepping loop)."""
    return sum(1 for ex in proc.execs() if ex.get("dbg"))


def known(proc: Process, spec: EntrySpec) -> Optional[bool]:
    """Whether some live instance has the function (None: nothing to look in)."""
    every = proc.instances()
    instances = [i for i in every if spec.instance is None or i.addr == spec.instance]
    if not instances:
        return False if every else None
    for inst in instances:
        module = inst.module
        count = module.get("nfuncs") if module else None
        if count is None:
            continue
        if spec.index is not None:
            if spec.index < count:
                return True
            continue
        last = short_name(spec.func).split("::")[-1].split("<")[0]
        for index in range(min(count, 1_000_000)):
            raw = module.names.func(index)
            if raw is None or last not in raw:  # (demangling every name would take long)
                continue
            display = module.display_name(index)
            if raw == spec.func or (display and spec.func in (display, short_name(display))):
                return True
    return False


def set_message(number: int, spec: EntrySpec, known: Optional[bool], armed: bool, proc: Process) -> str:
    """What `wasm-break` says when it sets breakpoint `number` (GDB and LLDB alike)."""
    lines = [f"wasm-break {number}: stops when the guest enters {spec.describe()}."]
    if known is False:
        lines.append(f"No live instance has {spec.describe()} yet (it stops if one does).")
    if armed and not sessions(proc):
        lines.append(f"No debugger session is running in this process now: {ONLY_UNDER_DEBUGGER}.")
    elif not armed:
        lines.append(f"Note: {ONLY_UNDER_DEBUGGER}.")
    return "\n".join(lines)
