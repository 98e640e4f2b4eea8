"""Callgrind's profile format (``callgrind.out.*``), for KCachegrind, QCachegrind and callgrind_annotate.

Per function: its self ticks (event ``Ticks``; ``TimeNs`` too when timed) on the function's line,
then one call record per callee: ``cfn=`` the callee, ``calls=`` how often, and the callee's
inclusive cost under those calls (recursion counted once, from Profile.edges()).  Calls are
what callgrind itself records in ``calls=`` lines, so KCachegrind's call counts are exact.
The entry (the profile's root) appears as a function only when it ran code of its own.

``compress=True`` (default) uses callgrind's name compression: ``fn=(3) name`` the first time,
``fn=(3)`` after.  Line numbers are the function's source line when known (Node.location), else 0.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

from ._common import function_labels

if TYPE_CHECKING:
    from ..profile import Edge, FuncKey, Node, Profile

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
    callers: Dict["FuncKey", List["Edge"]] = {}
    for e in profile.edges():
        caller_key: "FuncKey" = e.caller if e.caller is not None else e.caller_name
        if caller_key == root.key and root.key not in functions:
            continue  # the entry is not a function unless it ran code itself
        callers.setdefault(caller_key, []).append(e)

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
    for key, f in functions.items():
        out.append(f"fl={files(file_of(key))}")
        out.append(f"fn={fns(labels[key])}")
        cost = f"{f.self_ticks} {f.self_time_ns or 0}" if timed else f"{f.self_ticks}"
        out.append(f"{line_of(key)} {cost}")
        for e in callers.get(key, []):
            callee_key: "FuncKey" = e.callee if e.callee is not None else e.callee_name
            if file_of(callee_key) != file_of(key):
                out.append(f"cfi={files(file_of(callee_key))}")
            out.append(f"cfn={fns(labels[callee_key])}")
            out.append(f"calls={e.calls} {line_of(callee_key)}")
            inclusive = f"{e.ticks} {e.time_ns or 0}" if timed else f"{e.ticks}"
            out.append(f"{line_of(key)} {inclusive}")
        out.append("")
    out.append(f"totals: {summary}")
    return "\n".join(out) + "\n"

