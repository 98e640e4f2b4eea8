"""Callgrind's profile format (``callgrind.out.*``), for KCachegrind, QCachegrind and callgrind_annotate.

Per function: its self ticks (event ``Ticks``; ``TimeNs`` too when timed) on the function's line,
then one call record per callee: ``cfn=`` the callee, ``calls=`` how often, and the callee's
inclusive cost under those calls (recursion counted once, from Profile.edges()).  Calls are
what callgrind itself records in ``calls=`` lines, so KCachegrind's call counts are exact.
The entry (the profile's root) appears as a function only when it ran code of its own.

``compress=True`` (default) uses callgrind's name compression: ``fn=(3) name`` the first time,
``fn=(3)`` after.  With per-instruction counts and DWARF lines (Profile.lines), a function's self
ticks are written per source line, ``fi=`` naming the file of lines inlined from another file, so
``callgrind_annotate --auto=yes`` and KCachegrind annotate the source with exact ticks.  Call
records and time sit on the function's declaration line (Node.location), else line 0.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ._common import function_labels

if TYPE_CHECKING:
    from ..model import FuncKey, Node, Profile

NAME = "callgrind"
EXTENSIONS = (".callgrind",)
PREFIXES = ("callgrind.out",)
BINARY = False
DESCRIPTION = "callgrind profile (Ticks per function, call edges with counts)"
VIEWER = "KCachegrind / QCachegrind, `callgrind_annotate FILE`"


class _Names:
    """Callgrind name compression: "(id) name" on first use, "(id)" afterwards."""

    def __init__(self, compress: bool) -> None:
        self.compress = compress
        self.ids: Dict[str, int] = {}

    def __call__(self, name: str) -> str:
        clean = name.replace("\n", " ")
        if not self.compress:
            return clean
        i = self.ids.get(clean)
        if i is not None:
            return f"({i})"
        i = self.ids[clean] = len(self.ids) + 1
        return f"({i}) {clean}"


def render(profile: "Profile", *, compress: bool = True, **_: object) -> str:
    timed = profile.timed
    labels = function_labels(profile)
    first: Dict["FuncKey", "Node"] = {}
    for n in profile.nodes:
        first.setdefault(n.key, n)
    functions = {f.key: f for f in profile.functions()}
    root = profile.root
    callers = _call_costs(profile, skip_root=root.key not in functions)
    files = _Names(compress)
    fns = _Names(compress)

    def file_of(key: "FuncKey") -> str:
        loc = first[key].location
        return loc[0] if loc is not None else profile.module_name

    def line_of(key: Optional["FuncKey"]) -> int:
        loc = first[key].location if key is not None else None
        return loc[1] if loc is not None else 0

    total_time = sum(f.self_time_ns or 0 for f in functions.values()) if timed else 0
    total_ticks = sum(f.self_ticks for f in functions.values())
    events = "Ticks TimeNs" if timed else "Ticks"
    summary = f"{total_ticks} {total_time}" if timed else f"{total_ticks}"
    out = [
        "# callgrind format",
        "version: 1",
        "creator: wasmprof",
        f"cmd: {profile.module_name}",
        "part: 1",
        f"desc: Cost model: {profile.cost_model}",
        "",
        "positions: line",
        f"events: {events}",
        f"summary: {summary}",
        "",
    ]
    per_line = _self_per_line(profile) if profile.has_offsets else {}
    for key, f in functions.items():
        home = file_of(key)
        out.append(f"fl={files(home)}")
        out.append(f"fn={fns(labels[key])}")
        rows = per_line.get(key)
        if rows is None:
            cost = f"{f.self_ticks} {f.self_time_ns or 0}" if timed else f"{f.self_ticks}"
            out.append(f"{line_of(key)} {cost}")
        else:
            here = home
            for (file, line), ticks in sorted(rows.items(), key=lambda kv: (kv[0][0] != home, kv[0])):
                if file != here:
                    out.append(f"fi={files(file)}" if file != home else f"fe={files(file)}")
                    here = file
                out.append(f"{line} {ticks} 0" if timed else f"{line} {ticks}")
            if here != home:
                out.append(f"fe={files(home)}")
            if timed:
                out.append(f"{line_of(key)} 0 {f.self_time_ns or 0}")
        for callee_key, (ncalls, ticks, time_ns) in callers.get(key, {}).items():
            if file_of(callee_key) != file_of(key):
                out.append(f"cfi={files(file_of(callee_key))}")
            out.append(f"cfn={fns(labels[callee_key])}")
            out.append(f"calls={ncalls} {line_of(callee_key)}")
            inclusive = f"{ticks} {time_ns}" if timed else f"{ticks}"
            out.append(f"{line_of(key)} {inclusive}")
        out.append("")
    out.append(f"totals: {summary}")
    return "\n".join(out) + "\n"



def _self_per_line(profile: "Profile") -> Dict["FuncKey", Dict[Tuple[str, int], int]]:
    """function -> (file, line) -> self ticks, from per-instruction counts (a file unknown to DWARF
    is the module's name, line 0)."""
    out: Dict["FuncKey", Dict[Tuple[str, int], int]] = {}
    for n in profile.nodes:
        if not n.offsets:
            continue
        rows = out.setdefault(n.key, {})
        for off, (ticks, _count, _calls) in n.offsets.items():
            if not ticks:
                continue
            file, line, _fn = profile.position(n, off)
            k = (file if file is not None else profile.module_name, line)
            rows[k] = rows.get(k, 0) + ticks
    return out


def _call_costs(profile: "Profile", skip_root: bool) -> Dict["FuncKey", Dict["FuncKey", List[int]]]:
    """caller -> callee -> [calls, inclusive ticks, inclusive time] as callgrind wants them.

    Callgrind viewers compute a function's inclusive cost as its self cost plus the cost of its
    outgoing calls.  For that to equal the function's total with recursion counted once, a call
    from f carries only the ticks below it that are not under a deeper activation of f: each
    node's cost starts at its total, and every node of function f subtracts its total from the
    call (on its path) that leaves the nearest enclosing node of f.  A direct recursive call
    thus costs 0 while keeping its call count."""
    nodes = profile.nodes
    cost = [n.total_ticks for n in nodes]
    tcost = [n.total_time_ns or 0 for n in nodes]
    path: List[int] = []
    last_at: Dict["FuncKey", List[int]] = {}
    stack: List[Tuple[int, bool]] = [(0, False)]
    while stack:
        i, leaving = stack.pop()
        k = nodes[i].key
        if leaving:
            path.pop()
            last_at[k].pop()
            continue
        seen = last_at.get(k)
        if seen:
            c = path[seen[-1] + 1] if seen[-1] + 1 < len(path) else i
            cost[c] -= nodes[i].total_ticks
            tcost[c] -= nodes[i].total_time_ns or 0
        path.append(i)
        last_at.setdefault(k, []).append(len(path) - 1)
        stack.append((i, True))
        for c in reversed(nodes[i].children):
            stack.append((c, False))
    out: Dict["FuncKey", Dict["FuncKey", List[int]]] = {}
    for n in nodes[1:]:
        caller = nodes[n.parent]
        if skip_root and caller.id == 0:
            continue
        entry = out.setdefault(caller.key, {}).setdefault(n.key, [0, 0, 0])
        entry[0] += n.calls
        entry[1] += cost[n.id]
        entry[2] += tcost[n.id]
    return out
