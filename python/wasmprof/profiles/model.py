"""The Profile object: an exact call tree with per-function and per-edge views.

The profiler (C core + ``wasmprof.profile()``) builds a :class:`Profile` from
a list of :class:`Node` (one per distinct call path) and optionally a list of
flamechart :class:`Event`.  Everything else here is derived from the tree, so
the only data that has to be right is the node list; the constructor checks
its invariants and raises :class:`ValueError` naming the offending node.

The data model is documented in docs/profile-model.md.  Output formats live
in :mod:`wasmprof.profiles.render`, one module per format; :meth:`Profile.save`
picks one from the file name.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

__all__ = ["Node", "Event", "FunctionStats", "Edge", "LineStats", "OffsetStats", "LineDelta", "Profile", "NodeDelta",
           "FunctionDelta", "ProfileDiff", "SourcePos", "ENTRY"]

JSON_FORMAT_NAME = "wasmprof-profile"
JSON_FORMAT_VERSION = 2  # 2: per-instruction counts (Node.offsets) and Profile.locations
_READABLE_VERSIONS = (1, 2)

#: The Node.offsets key of what no instruction of the node's module ran: a function's entry
#: price (a cost table's per_call) and code of another module run in a folded frame.
ENTRY = -1

#: One source position: (file, line, function), file None when unknown, function the source
#: function (from DWARF's .debug_info; the inlined one where the compiler inlined a call).
SourcePos = Tuple[Optional[str], int, Optional[str]]

# A function's identity across the tree: its index in the module's function
# index space, or its display name when the index is unknown (the root).
FuncKey = Union[int, str]


@dataclass
class Node:
    """One call-tree node: a distinct path of calls from the entry (see docs/profile-model.md)."""

    id: int
    parent: int
    func: Optional[int]
    name: str
    raw_name: Optional[str]
    host: bool
    calls: int
    self_ticks: int
    total_ticks: int
    self_time_ns: Optional[int]
    total_time_ns: Optional[int]
    children: List[int] = field(default_factory=list)
    #: where the function is declared (DWARF DW_AT_decl_file/decl_line), or None
    location: Optional[Tuple[str, int]] = None
    #: per-instruction counts: module offset -> (ticks, executions, calls made there), summing to
    #: self_ticks (key ENTRY: what ran at no instruction of this module); None when not recorded
    offsets: Optional[Dict[int, Tuple[int, int, int]]] = None

    @property
    def key(self) -> FuncKey:
        """The function identity used to group nodes into functions."""
        return self.func if self.func is not None else self.name


@dataclass
class Event:
    """A flamechart record in execution order: ``kind`` is "call" or "return"."""

    kind: str
    node: int
    ticks: int
    time_ns: Optional[int] = None


@dataclass(frozen=True)
class FunctionStats:
    """Per-function totals.  ``total_*`` counts a recursive function's time once."""

    func: Optional[int]
    name: str
    host: bool
    calls: int
    self_ticks: int
    total_ticks: int
    self_time_ns: Optional[int]
    total_time_ns: Optional[int]

    @property
    def key(self) -> FuncKey:
        return self.func if self.func is not None else self.name


@dataclass(frozen=True)
class Edge:
    """Caller -> callee: how often the caller called it and the callee's total ticks under those calls."""

    caller: Optional[int]
    caller_name: str
    callee: Optional[int]
    callee_name: str
    calls: int
    ticks: int
    time_ns: Optional[int]


@dataclass(frozen=True)
class LineStats:
    """Ticks per source line (Profile.lines): ``calls`` counts the calls made from the line.

    ``function`` is the source function the line's code belongs to: for code the compiler
    inlined, the inlined function (so one line may appear once per function it was inlined
    into with a different ``inlined_into``).  ``file`` is None (and ``line`` 0) for code without
    DWARF lines."""

    file: Optional[str]
    line: int
    function: Optional[str]
    ticks: int
    calls: int
    #: the wasm function (its display name) whose code ran the line
    inlined_into: Optional[str] = None


@dataclass(frozen=True)
class OffsetStats:
    """Ticks per instruction (Profile.offsets), with or without DWARF: ``offset`` is the module
    offset of the instruction (ENTRY: the entry price and foreign code, see Node.offsets)."""

    func: Optional[int]
    name: str
    offset: int
    ticks: int
    count: int
    calls: int


@dataclass(frozen=True)
class LineDelta:
    """One source line in a diff (ProfileDiff.lines)."""

    file: Optional[str]
    line: int
    function: Optional[str]
    ticks_before: int
    ticks_after: int

    @property
    def ticks_delta(self) -> int:
        return self.ticks_after - self.ticks_before


def _add_offsets(into: Dict[int, Tuple[int, int, int]], other: Dict[int, Tuple[int, int, int]]) -> None:
    for k, (t, c, k2) in other.items():
        a = into.get(k)
        into[k] = (t, c, k2) if a is None else (a[0] + t, a[1] + c, a[2] + k2)


def _func_matches(node: Node, func: Union[None, int, str]) -> bool:
    if func is None:
        return True
    if isinstance(func, int) and not isinstance(func, bool):
        return node.func == func
    return func in (node.name, node.raw_name)


def _add_opt(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return None if a is None or b is None else a + b


class Profile:
    """An exact profile of one run: call tree, per-function table, edges, flamechart events."""

    def __init__(
        self,
        nodes: List[Node],
        *,
        module_name: str,
        cost_model: str = "1 tick per instruction",
        metrics: Tuple[str, ...] = ("calls", "ticks"),
        events: Optional[List[Event]] = None,
        events_truncated: bool = False,
        events_sample_every: Optional[int] = None,
        locations: Optional[Dict[int, Tuple[SourcePos, ...]]] = None,
    ) -> None:
        self.nodes: List[Node] = list(nodes)
        #: module offset -> its source frames, innermost first: the instruction's own line and
        #: function, then for inlined code each call site in the function it was inlined into
        self.locations: Dict[int, Tuple[SourcePos, ...]] = dict(locations or {})
        self.module_name = module_name
        self.cost_model = cost_model
        self.metrics: Tuple[str, ...] = tuple(metrics)
        self.events: Optional[List[Event]] = list(events) if events is not None else None
        self.events_truncated = bool(events_truncated)
        self.events_sample_every = events_sample_every
        #: what the module lacked for names or lines (wasmprof.build_hints), or None
        self.hint: Optional[str] = None
        self._validate()

    # -- invariants ---------------------------------------------------------------------------

    def _validate(self) -> None:
        nodes = self.nodes
        if not nodes:
            raise ValueError("Profile: the node list is empty (node 0 must be the root)")
        unknown = set(self.metrics) - {"calls", "ticks", "time"}
        if unknown or "ticks" not in self.metrics or "calls" not in self.metrics:
            raise ValueError(f"Profile: metrics must be calls, ticks and optionally time; got {self.metrics!r}")
        timed = "time" in self.metrics
        for i, n in enumerate(nodes):
            where = f"Profile: node {i} ({n.name!r})"
            if n.id != i:
                raise ValueError(f"{where} has id {n.id}; ids must be dense 0..{len(nodes) - 1} in list order")
            if i == 0:
                if n.parent != -1:
                    raise ValueError(f"{where} is the root and must have parent -1, not {n.parent}")
            elif not 0 <= n.parent < i:
                raise ValueError(f"{where} has parent {n.parent}; a parent's id must be smaller than its child's")
            if n.calls < 0 or n.self_ticks < 0 or n.total_ticks < 0:
                raise ValueError(f"{where} has a negative counter (calls={n.calls}, self={n.self_ticks}, "
                                 f"total={n.total_ticks})")
            if timed and (n.self_time_ns is None or n.total_time_ns is None):
                raise ValueError(f"{where} has no time although the profile's metrics include 'time'")
            for c in n.children:
                if not 0 < c < len(nodes) or nodes[c].parent != i:
                    raise ValueError(f"{where} lists child {c}, whose parent is not {i}")
            if n.location is not None:
                n.location = (str(n.location[0]), int(n.location[1]))
            if n.offsets is not None:
                in_lines = sum(v[0] for v in n.offsets.values())
                if in_lines != n.self_ticks:
                    raise ValueError(f"{where} has per-instruction ticks summing to {in_lines}, not its self_ticks "
                                     f"{n.self_ticks}")
        seen_children = [0] * len(nodes)
        for n in nodes:
            for c in n.children:
                seen_children[c] += 1
        for i, n in enumerate(nodes):
            if i and seen_children[i] != 1:
                raise ValueError(f"Profile: node {i} ({n.name!r}) appears {seen_children[i]} times in its parent's "
                                 f"children (must be once)")
        for i, n in enumerate(nodes):
            child_total = sum(nodes[c].total_ticks for c in n.children)
            if n.total_ticks != n.self_ticks + child_total:
                raise ValueError(f"Profile: node {i} ({n.name!r}) has total_ticks {n.total_ticks} != self_ticks "
                                 f"{n.self_ticks} + children's total {child_total}")
        if self.events is not None:
            last = 0
            for k, e in enumerate(self.events):
                if e.kind not in ("call", "return"):
                    raise ValueError(f"Profile: event {k} has kind {e.kind!r} (must be 'call' or 'return')")
                if not 0 <= e.node < len(nodes):
                    raise ValueError(f"Profile: event {k} refers to node {e.node}, which does not exist")
                if e.ticks < last:
                    raise ValueError(f"Profile: event {k} goes back in ticks ({e.ticks} < {last})")
                last = e.ticks

    # -- the tree -----------------------------------------------------------------------------

    @property
    def root(self) -> Node:
        return self.nodes[0]

    @property
    def total_ticks(self) -> int:
        return self.nodes[0].total_ticks

    @property
    def timed(self) -> bool:
        return "time" in self.metrics

    def node(self, i: int) -> Node:
        return self.nodes[i]

    def children(self, node: Node) -> List[Node]:
        return [self.nodes[c] for c in node.children]

    def walk(self) -> Iterator[Tuple[Node, int]]:
        """Preorder (node, depth), the root at depth 0, children in order of first call."""
        stack: List[Tuple[int, int]] = [(0, 0)]
        while stack:
            i, depth = stack.pop()
            node = self.nodes[i]
            yield node, depth
            for c in reversed(node.children):
                stack.append((c, depth + 1))

    def path(self, node: Node) -> List[Node]:
        """The nodes from the root's child down to ``node`` (empty for the root)."""
        out: List[Node] = []
        while node.parent != -1:
            out.append(node)
            node = self.nodes[node.parent]
        out.reverse()
        return out

    def stacks(self) -> Iterator[Tuple[List[Node], Node]]:
        """(path from the root's child down to node, node) for every non-root node, in preorder.

        Each path is a fresh list; only the current path is kept while walking, so memory stays
        proportional to the depth even for deep recursion."""
        path: List[Node] = []
        for node, depth in self.walk():
            if node.id == 0:
                continue
            del path[depth - 1:]
            path.append(node)
            yield list(path), node

    # -- derived tables -----------------------------------------------------------------------

    def _outermost(self, same: Callable[[Node], Any]) -> List[bool]:
        """For each node: True when no ancestor has the same ``same(node)`` key (so totals count once)."""
        out = [True] * len(self.nodes)
        active: Dict[Any, int] = {}
        # Iterative DFS with enter/leave so `active` holds the keys on the current path.
        stack: List[Tuple[int, bool]] = [(0, False)]
        while stack:
            i, leaving = stack.pop()
            k = same(self.nodes[i])
            if leaving:
                active[k] -= 1
                continue
            out[i] = active.get(k, 0) == 0
            active[k] = active.get(k, 0) + 1
            stack.append((i, True))
            for c in reversed(self.nodes[i].children):
                stack.append((c, False))
        return out

    def functions(self) -> List[FunctionStats]:
        """Per-function totals over the whole tree (the root excluded unless it ran code itself).

        calls and self are summed over every node of the function; total is summed only over
        its outermost nodes, so a recursive function's ticks are not counted twice."""
        outer = self._outermost(lambda n: n.key)
        acc: Dict[FuncKey, Dict[str, Any]] = {}
        timed = self.timed
        for n in self.nodes:
            if n.id == 0 and n.self_ticks == 0 and not (timed and n.self_time_ns):
                continue
            a = acc.get(n.key)
            if a is None:
                a = acc[n.key] = dict(func=n.func, name=n.name, host=n.host, calls=0, self_ticks=0, total_ticks=0,
                                      self_time_ns=0 if timed else None, total_time_ns=0 if timed else None)
            a["calls"] += n.calls
            a["self_ticks"] += n.self_ticks
            if timed:
                a["self_time_ns"] += n.self_time_ns or 0
            if outer[n.id]:
                a["total_ticks"] += n.total_ticks
                if timed:
                    a["total_time_ns"] += n.total_time_ns or 0
        return [FunctionStats(**a) for a in acc.values()]

    def edges(self) -> List[Edge]:
        """Caller -> callee edges (the root as caller with func None): calls, and callee ticks under them."""
        parent_key = lambda n: (self.nodes[n.parent].key if n.parent >= 0 else None, n.key)  # noqa: E731
        outer = self._outermost(parent_key)
        acc: Dict[Tuple[Any, Any], Dict[str, Any]] = {}
        timed = self.timed
        for n in self.nodes[1:]:
            p = self.nodes[n.parent]
            k = (p.key, n.key)
            a = acc.get(k)
            if a is None:
                a = acc[k] = dict(caller=p.func, caller_name=p.name, callee=n.func, callee_name=n.name, calls=0,
                                  ticks=0, time_ns=0 if timed else None)
            a["calls"] += n.calls
            if outer[n.id]:
                a["ticks"] += n.total_ticks
                if timed:
                    a["time_ns"] += n.total_time_ns or 0
        return [Edge(**a) for a in acc.values()]

    def top(self, n: int = 10, by: str = "self_ticks") -> List[FunctionStats]:
        """The n functions with the largest ``by`` (a FunctionStats field), ties broken by name."""
        if by not in FunctionStats.__dataclass_fields__ or by in ("func", "name", "host"):
            raise ValueError(f"top(): cannot sort by {by!r}; use calls, self_ticks, total_ticks, "
                             f"self_time_ns or total_time_ns")
        rows = self.functions()
        return sorted(rows, key=lambda f: (-(getattr(f, by) or 0), f.name))[:n]

    def top_table(self, n: int = 10, by: str = "self_ticks") -> str:
        """top(n, by) as a plain-text table (for terminals and the CLI's --top)."""
        total = self.total_ticks or 1
        timed = self.timed
        head = ["function", "calls", "self ticks", "self %", "total ticks", "total %"]
        if timed:
            head += ["self ms", "total ms"]
        rows = [head]
        for f in self.top(n, by=by):
            row = [f.name + (" (host)" if f.host else ""), f"{f.calls:,}", f"{f.self_ticks:,}",
                   f"{100.0 * f.self_ticks / total:.2f}", f"{f.total_ticks:,}", f"{100.0 * f.total_ticks / total:.2f}"]
            if timed:
                row += [f"{(f.self_time_ns or 0) / 1e6:.3f}", f"{(f.total_time_ns or 0) / 1e6:.3f}"]
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + "\n"

    # -- source lines and instructions ----------------------------------------------------------

    @property
    def has_offsets(self) -> bool:
        """Whether per-instruction counts were recorded (every profile of the ticked loop has them)."""
        return any(n.offsets is not None for n in self.nodes)

    @property
    def has_lines(self) -> bool:
        """Whether instructions that ran have source lines (the module had DWARF line tables)."""
        return any(loc and loc[0][0] is not None for loc in self.locations.values())

    def _select(self, func: Union[None, int, str], node: Union[None, int, Node]) -> List[Node]:
        if not self.has_offsets:
            raise ValueError("this profile has no per-instruction counts (a debugger's profile, or one "
                             "recorded before they existed)")
        if node is not None:
            return [self.nodes[node if isinstance(node, int) else node.id]]
        return [n for n in self.nodes if n.offsets and _func_matches(n, func)]

    def position(self, node: Node, offset: int) -> SourcePos:
        """The source position of an instruction of ``node`` (its innermost frame): the function's
        declaration for ENTRY, (None, 0, node name) where DWARF says nothing."""
        if offset == ENTRY:
            if node.location is not None:
                return (node.location[0], node.location[1], node.name)
            return (None, 0, node.name)
        chain = self.locations.get(offset)
        if chain:
            file, line, function = chain[0]
            return (file, line, function if function is not None else node.name)
        return (None, 0, node.name)

    def lines(self, func: Union[None, int, str] = None, node: Union[None, int, Node] = None) -> List[LineStats]:
        """Exact ticks per source line, most ticks first.

        Over the whole profile, or the code of one function (``func``: its index or name; code
        inlined into it included, so the rows sum to its self ticks) or of one call-tree ``node``.
        Rows are per (file, line, source function, wasm function): code the compiler inlined is
        attributed to the inlined function's line, as DWARF's inlined subroutines say.  Without
        DWARF each function's ticks come as one row with file None (see :meth:`offsets`)."""
        acc: Dict[Tuple[Optional[str], int, Optional[str], str], List[int]] = {}
        for n in self._select(func, node):
            for off, (ticks, _count, calls) in (n.offsets or {}).items():
                file, line, function = self.position(n, off)
                a = acc.setdefault((file, line, function, n.name), [0, 0])
                a[0] += ticks
                a[1] += calls
        rows = [LineStats(file=f, line=ln, function=fn, ticks=t, calls=c, inlined_into=w)
                for (f, ln, fn, w), (t, c) in acc.items()]
        rows.sort(key=lambda r: (-r.ticks, r.file or "", r.line, r.function or ""))
        return rows

    def line_table(self, func: Union[None, int, str] = None, node: Union[None, int, Node] = None) -> Dict[
            Tuple[Optional[str], int], Tuple[int, int]]:
        """(file, line) -> (ticks, calls), summed over functions: the view of an annotated source file."""
        out: Dict[Tuple[Optional[str], int], Tuple[int, int]] = {}
        for r in self.lines(func, node):
            t, c = out.get((r.file, r.line), (0, 0))
            out[(r.file, r.line)] = (t + r.ticks, c + r.calls)
        return out

    def offsets(self, func: Union[None, int, str] = None, node: Union[None, int, Node] = None) -> List[OffsetStats]:
        """Exact ticks per instruction (module offset), per function, in offset order: available
        with or without DWARF."""
        acc: Dict[Tuple[FuncKey, int], List[Any]] = {}
        for n in self._select(func, node):
            for off, (ticks, count, calls) in (n.offsets or {}).items():
                a = acc.setdefault((n.key, off), [n.func, n.name, 0, 0, 0])
                a[2] += ticks
                a[3] += count
                a[4] += calls
        rows = [OffsetStats(func=f, name=nm, offset=off, ticks=t, count=c, calls=k)
                for (_key, off), (f, nm, t, c, k) in acc.items()]
        rows.sort(key=lambda r: (r.name, r.offset))
        return rows

    def source_functions(self) -> Dict[str, int]:
        """Self ticks per source function, inlined functions on their own (DWARF's view)."""
        out: Dict[str, int] = {}
        for r in self.lines():
            name = r.function or r.inlined_into or "?"
            out[name] = out.get(name, 0) + r.ticks
        return out

    def to_dataframe(self) -> Any:
        """The per-function table as a pandas DataFrame (one row per function, sorted by self ticks)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pandas is optional
            raise ImportError("Profile.to_dataframe() needs pandas: pip install pandas") from exc
        rows = [asdict(f) for f in self.top(n=len(self.nodes), by="self_ticks")]
        columns = list(FunctionStats.__dataclass_fields__)
        df = pd.DataFrame(rows, columns=columns)
        total = self.total_ticks or 1
        df["self_pct"] = 100.0 * df["self_ticks"] / total
        df["total_pct"] = 100.0 * df["total_ticks"] / total
        if not self.timed:
            df = df.drop(columns=["self_time_ns", "total_time_ns"])
        return df

    # -- combining ----------------------------------------------------------------------------

    def merge(self, other: "Profile") -> "Profile":
        """Sum two profiles of the same module, matching nodes by call path.

        Time is kept only when both are timed; flamechart events are dropped (two runs have no common
        timeline)."""
        if not isinstance(other, Profile):
            raise TypeError(f"merge() needs a Profile, not {type(other).__name__}")
        if other.module_name != self.module_name:
            raise ValueError(f"merge(): profiles of different modules ({self.module_name!r} and "
                             f"{other.module_name!r})")
        if other.cost_model != self.cost_model:
            raise ValueError(f"merge(): different cost models ({self.cost_model!r} and {other.cost_model!r})")
        timed = self.timed and other.timed
        # per-instruction counts are kept when both sides have them
        with_offsets = self.has_offsets and other.has_offsets
        merged: List[Node] = []
        # (merged parent id, function key) -> merged id: paths match step by step, in O(nodes).
        child_of: Dict[Tuple[int, FuncKey], int] = {}

        def add(p: Profile) -> None:
            mapped: Dict[int, int] = {}
            for n, _ in p.walk():
                if n.id == 0:
                    j: Optional[int] = 0 if merged else None
                    parent = -1
                else:
                    parent = mapped[n.parent]
                    j = child_of.get((parent, n.key))
                if j is None:
                    j = len(merged)
                    merged.append(Node(id=j, parent=parent, func=n.func, name=n.name, raw_name=n.raw_name,
                                       host=n.host, calls=0, self_ticks=0, total_ticks=0,
                                       self_time_ns=0 if timed else None, total_time_ns=0 if timed else None,
                                       children=[], location=n.location,
                                       offsets={} if with_offsets else None))
                    if parent >= 0:
                        child_of[(parent, n.key)] = j
                        merged[parent].children.append(j)
                mapped[n.id] = j
                m = merged[j]
                m.calls += n.calls
                m.self_ticks += n.self_ticks
                m.total_ticks += n.total_ticks
                if m.offsets is not None and n.offsets is not None:
                    _add_offsets(m.offsets, n.offsets)
                if timed:
                    m.self_time_ns = _add_opt(m.self_time_ns, n.self_time_ns)
                    m.total_time_ns = _add_opt(m.total_time_ns, n.total_time_ns)

        add(self)
        add(other)
        # Nodes were appended in preorder of the first profile, then new paths of the second: a
        # child is always appended after its parent, so ids already satisfy child > parent.
        metrics = tuple(m for m in self.metrics if m != "time") + (("time",) if timed else ())
        if with_offsets:
            for m in merged:  # a path only one side had offsets for: the other side's nodes had none
                if m.offsets is not None and sum(v[0] for v in m.offsets.values()) != m.self_ticks:
                    m.offsets = None
        return Profile(merged, module_name=self.module_name, cost_model=self.cost_model, metrics=metrics,
                       locations={**other.locations, **self.locations} if with_offsets else None)

    def __add__(self, other: "Profile") -> "Profile":
        return self.merge(other)

    def diff(self, other: "Profile") -> "ProfileDiff":
        """Per-node and per-function deltas from self (before) to other (after)."""
        if not isinstance(other, Profile):
            raise TypeError(f"diff() needs a Profile, not {type(other).__name__}")
        return ProfileDiff(self, other)

    # -- output -------------------------------------------------------------------------------

    def render(self, format: str, **opts: Any) -> Union[str, bytes]:
        """The profile in a named format (see wasmprof.profiles.render.FORMATS), as text or bytes."""
        from . import render as _render

        return _render.get(format).render(self, **opts)

    def save(self, path: Union[str, "os.PathLike[str]"], format: Optional[str] = None, **opts: Any) -> str:
        """Write the profile to ``path``; the format comes from the file name unless given.

        The file is written to a temporary file beside it and renamed into place, so readers
        never see a partial file.  Returns the format name used."""
        from . import render as _render

        fmt = _render.get(format) if format is not None else _render.for_path(os.fspath(path))
        data = fmt.render(self, **opts)
        write_atomic(os.fspath(path), data)
        return fmt.NAME

    def to_dict(self) -> Dict[str, Any]:
        return {
            "format": JSON_FORMAT_NAME,
            "version": JSON_FORMAT_VERSION,
            "module_name": self.module_name,
            "cost_model": self.cost_model,
            "metrics": list(self.metrics),
            "nodes": [_node_dict(n) for n in self.nodes],
            "locations": [[off, [list(p) for p in chain]] for off, chain in sorted(self.locations.items())],
            "events": None if self.events is None else [[e.kind, e.node, e.ticks, e.time_ns] for e in self.events],
            "events_truncated": self.events_truncated,
            "events_sample_every": self.events_sample_every,
        }

    def to_json(self, indent: Optional[int] = None) -> str:
        """The native lossless format (files named ``*.wpprof.json``)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Profile":
        if not isinstance(data, dict) or data.get("format") != JSON_FORMAT_NAME:
            raise ValueError(f"not a wasmprof profile (expected \"format\": \"{JSON_FORMAT_NAME}\")")
        if data.get("version") not in _READABLE_VERSIONS:
            raise ValueError(f"unsupported wasmprof profile version {data.get('version')!r} "
                             f"(this reader knows {', '.join(map(str, _READABLE_VERSIONS))})")
        try:
            nodes = []
            for d in data["nodes"]:
                d = dict(d)
                loc = d.get("location")
                d["location"] = (loc[0], loc[1]) if loc is not None else None
                offs = d.get("offsets")
                d["offsets"] = None if offs is None else {int(o): (int(t), int(c), int(k)) for o, t, c, k in offs}
                nodes.append(Node(**d))
            locations = {int(off): tuple((f, int(ln), fn) for f, ln, fn in chain)
                         for off, chain in data.get("locations") or []}
            events = data.get("events")
            ev = None if events is None else [Event(kind=k, node=n, ticks=t, time_ns=tn) for k, n, t, tn in events]
            return cls(nodes, module_name=data["module_name"], cost_model=data["cost_model"],
                       metrics=tuple(data["metrics"]), events=ev,
                       events_truncated=bool(data.get("events_truncated", False)),
                       events_sample_every=data.get("events_sample_every"), locations=locations)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed wasmprof profile: {exc}") from exc

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Profile":
        return cls.from_dict(json.loads(text))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Profile":
        with open(path, "rb") as f:
            return cls.from_json(f.read())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        text = (f"<Profile {self.module_name!r}: {self.total_ticks} ticks, {len(self.nodes)} nodes, "
                f"{len(self.functions())} functions>")
        return f"{text}\n{self.hint}" if self.hint else text

    def html(self, top: int = 10, lines: Optional[int] = None) -> str:
        """The interactive HTML fragment notebooks show (render/notebook_html.py):
        flamegraph and top ``top`` functions, switches between ticks, calls and
        time and between the call tree and the ``lines`` hottest source lines."""
        from .render import notebook_html

        return notebook_html.render(self, top=top, lines=lines)

    def _repr_html_(self) -> str:
        return self.html()


class NodeDelta:
    """One call path in a diff: its counters before and after (0 when absent on one side)."""

    __slots__ = ("_diff", "index", "parent", "func", "name", "host", "before", "after")

    def __init__(self, diff: "ProfileDiff", index: int, parent: int, node: Node, before: Optional[Node],
                 after: Optional[Node]) -> None:
        self._diff = diff
        self.index = index    # position in ProfileDiff.nodes
        self.parent = parent  # the caller's position in ProfileDiff.nodes (-1 for the root)
        self.func = node.func
        self.name = node.name
        self.host = node.host
        self.before = before
        self.after = after

    @property
    def path(self) -> Tuple[str, ...]:
        """The names from the root's child down to this node (computed on use: O(depth))."""
        names: List[str] = []
        d = self
        while d.parent != -1:
            names.append(d.name)
            d = self._diff.nodes[d.parent]
        return tuple(reversed(names))

    def _get(self, side: Optional[Node], attr: str) -> int:
        return 0 if side is None else getattr(side, attr) or 0

    @property
    def calls_delta(self) -> int:
        return self._get(self.after, "calls") - self._get(self.before, "calls")

    @property
    def self_ticks_delta(self) -> int:
        return self._get(self.after, "self_ticks") - self._get(self.before, "self_ticks")

    @property
    def total_ticks_delta(self) -> int:
        return self._get(self.after, "total_ticks") - self._get(self.before, "total_ticks")

    def __repr__(self) -> str:
        return (f"<NodeDelta {';'.join(self.path) or '<root>'}: calls {self.calls_delta:+d}, "
                f"self {self.self_ticks_delta:+d}, total {self.total_ticks_delta:+d}>")


@dataclass(frozen=True)
class FunctionDelta:
    """One function in a diff: before/after totals (a missing side counts as zero)."""

    func: Optional[int]
    name: str
    host: bool
    calls_before: int
    calls_after: int
    self_ticks_before: int
    self_ticks_after: int
    total_ticks_before: int
    total_ticks_after: int

    @property
    def calls_delta(self) -> int:
        return self.calls_after - self.calls_before

    @property
    def self_ticks_delta(self) -> int:
        return self.self_ticks_after - self.self_ticks_before

    @property
    def total_ticks_delta(self) -> int:
        return self.total_ticks_after - self.total_ticks_before


class ProfileDiff:
    """The difference between two profiles (before -> after), per call path and per function."""

    def __init__(self, before: Profile, after: Profile) -> None:
        self.before = before
        self.after = after
        self.nodes: List[NodeDelta] = []
        child_of: Dict[Tuple[int, FuncKey], int] = {}
        for side, p in enumerate((before, after)):
            mapped: Dict[int, int] = {}
            for n, _ in p.walk():
                parent = mapped[n.parent] if n.id else -1
                j = (0 if self.nodes else None) if n.id == 0 else child_of.get((parent, n.key))
                if j is None:
                    j = len(self.nodes)
                    self.nodes.append(NodeDelta(self, j, parent, n, None, None))
                    if parent >= 0:
                        child_of[(parent, n.key)] = j
                mapped[n.id] = j
                if side == 0:
                    self.nodes[j].before = n
                else:
                    self.nodes[j].after = n

    @property
    def total_ticks_delta(self) -> int:
        return self.after.total_ticks - self.before.total_ticks

    def functions(self) -> List[FunctionDelta]:
        fb = {f.key: f for f in self.before.functions()}
        fa = {f.key: f for f in self.after.functions()}
        out = []
        for k in list(fb) + [k for k in fa if k not in fb]:
            b, a = fb.get(k), fa.get(k)
            ref = a or b
            assert ref is not None
            out.append(FunctionDelta(
                func=ref.func, name=ref.name, host=ref.host,
                calls_before=b.calls if b else 0, calls_after=a.calls if a else 0,
                self_ticks_before=b.self_ticks if b else 0, self_ticks_after=a.self_ticks if a else 0,
                total_ticks_before=b.total_ticks if b else 0, total_ticks_after=a.total_ticks if a else 0))
        return out

    def top(self, n: int = 10, by: str = "self_ticks") -> List[FunctionDelta]:
        """The n functions whose ``by`` (calls, self_ticks or total_ticks) changed most, by magnitude."""
        if by not in ("calls", "self_ticks", "total_ticks"):
            raise ValueError(f"ProfileDiff.top(): cannot sort by {by!r}; use calls, self_ticks or total_ticks")
        return sorted(self.functions(), key=lambda f: (-abs(getattr(f, by + "_delta")), f.name))[:n]

    def lines(self, func: Union[None, int, str] = None) -> List[LineDelta]:
        """Per source line (and source function): ticks before and after, largest change first."""
        acc: Dict[Tuple[Optional[str], int, Optional[str]], List[int]] = {}
        for side, p in enumerate((self.before, self.after)):
            for r in p.lines(func):
                acc.setdefault((r.file, r.line, r.function), [0, 0])[side] += r.ticks
        rows = [LineDelta(file=f, line=ln, function=fn, ticks_before=b, ticks_after=a)
                for (f, ln, fn), (b, a) in acc.items()]
        rows.sort(key=lambda r: (-abs(r.ticks_delta), r.file or "", r.line))
        return rows

    def to_folded(self) -> str:
        """Two-column folded stacks (``stack before after``) for flamegraph.pl's differential graphs."""
        lines = []
        folded: List[str] = [""] * len(self.nodes)
        for d in self.nodes:  # a caller always comes before its callees
            if d.parent == -1:
                continue
            label = d.name.replace(";", ":")
            folded[d.index] = label if d.parent == 0 else f"{folded[d.parent]};{label}"
            b, a = d._get(d.before, "self_ticks"), d._get(d.after, "self_ticks")
            if a or b:
                lines.append(f"{folded[d.index]} {b} {a}")
        return "\n".join(lines) + ("\n" if lines else "")

    def to_dataframe(self) -> Any:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("ProfileDiff.to_dataframe() needs pandas: pip install pandas") from exc
        rows = []
        for f in self.top(n=len(self.before.nodes) + len(self.after.nodes)):
            row = asdict(f)
            row.update(calls_delta=f.calls_delta, self_ticks_delta=f.self_ticks_delta,
                       total_ticks_delta=f.total_ticks_delta)
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"<ProfileDiff {self.before.total_ticks} -> {self.after.total_ticks} ticks "
                f"({self.total_ticks_delta:+d})>")

    def _repr_html_(self) -> str:
        from .render import summary_html

        return summary_html.render_diff(self)


def _node_dict(n: Node) -> Dict[str, Any]:
    d = asdict(n)
    if n.offsets is not None:  # JSON keys are strings: rows [offset, ticks, count, calls] instead
        d["offsets"] = [[off, *v] for off, v in sorted(n.offsets.items())]
    return d


def write_atomic(path: str, data: Union[str, bytes]) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file 0600; a profile is an ordinary output file, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

