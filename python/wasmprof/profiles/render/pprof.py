"""pprof's ``profile.proto``, gzipped (``*.pb.gz``), for ``go tool pprof`` and pprof-compatible viewers.

Sample types: ``calls/count``, ``ticks/count`` and, when timed, ``time/nanoseconds``; the
default sample type is ticks.  Each call path is one sample (location ids leaf first) carrying
the path's calls, self ticks and self time.  Each function is one Function (name, raw name as
system_name, file and start line when the node has a location) and one Location (the function's
line), so ``pprof -top`` works per function.

With per-instruction counts and DWARF lines, a path's ticks are split by source position: one
sample per (path, position) whose leaf Location carries a Line per source frame, innermost
first, the inlined functions before the function they were inlined into (instructions without
a line stay on the function's Location), so ``pprof -list FUNC`` shows exact ticks per source line and ``-top`` shows inlined
functions as pprof shows them for native code.  Calls and time stay on the function's Location.

The protobuf wire encoding is written by hand (varints and length-delimited fields only), so no
protobuf dependency is needed.  Field numbers are those of github.com/google/pprof's
proto/profile.proto.
"""
from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ..model import ENTRY
from ._common import function_labels, self_value, weighted_stacks

if TYPE_CHECKING:
    from ..model import FuncKey, Node, Profile

NAME = "pprof"
EXTENSIONS = (".pb.gz", ".pprof", ".pprof.gz")
PREFIXES: Tuple[str, ...] = ()
BINARY = True
DESCRIPTION = "pprof profile.proto, gzipped (sample types calls, ticks, time)"
VIEWER = "`go tool pprof -top FILE`, `pprof -http=: FILE`"


# -- protobuf wire encoding -------------------------------------------------------------------

def _varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64  # int64 negatives are ten-byte two's complement varints
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _int(field: int, v: int) -> bytes:
    """A varint field; zero is the default and is left out."""
    return _key(field, 0) + _varint(v) if v else b""


def _bytes(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def _packed(field: int, values: List[int]) -> bytes:
    return _bytes(field, b"".join(_varint(v) for v in values)) if values else b""


# -- profile.proto messages -------------------------------------------------------------------
# Profile: 1 sample_type, 2 sample, 4 location, 5 function, 6 string_table, 9 time_nanos,
#          10 duration_nanos, 11 period_type, 12 period, 13 comment, 14 default_sample_type
# ValueType: 1 type, 2 unit.  Sample: 1 location_id (packed), 2 value (packed).
# Location: 1 id, 3 address, 4 line.  Line: 1 function_id, 2 line.
# Function: 1 id, 2 name, 3 system_name, 4 filename, 5 start_line.


class _Strings:
    def __init__(self) -> None:
        self.table: List[str] = [""]  # string_table[0] must be ""
        self._index: Dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.table)
            self.table.append(s)
        return i


def encode(profile: "Profile") -> bytes:
    """The uncompressed profile.proto message."""
    strings = _Strings()
    metrics = [m for m in ("calls", "ticks", "time") if m in profile.metrics]
    units = {"calls": "count", "ticks": "count", "time": "nanoseconds"}
    out = bytearray()
    for m in metrics:
        out += _bytes(1, _int(1, strings(m)) + _int(2, strings(units[m])))

    labels = function_labels(profile)
    loc_of: Dict["FuncKey", int] = {}
    func_ids: Dict[Tuple[str, str], int] = {}  # (name, file) -> Function id
    functions = bytearray()
    locations = bytearray()

    def function_id(name: str, system_name: str, file_name: str, start: int) -> int:
        ident = func_ids.get((name, file_name))
        if ident is None:
            nonlocal functions
            ident = func_ids[(name, file_name)] = len(func_ids) + 1  # ids must be non-zero
            functions += _bytes(5, _int(1, ident) + _int(2, strings(name)) + _int(3, strings(system_name))
                                + _int(4, strings(file_name)) + _int(5, start))
        return ident

    for n in profile.nodes:
        if n.key in loc_of:
            continue
        ident = loc_of[n.key] = len(loc_of) + 1
        file_name, line = n.location if n.location is not None else (profile.module_name, 0)
        fid = function_id(labels[n.key], n.raw_name or n.name, file_name, line)
        locations += _bytes(4, _int(1, ident) + _bytes(4, _int(1, fid) + _int(2, line)))

    chain_loc: Dict[Tuple["FuncKey", Tuple[Any, ...]], int] = {}

    def instruction_location(n: "Node", off: int) -> int:
        """The Location of instruction ``off`` of n's function: its source frames, innermost first
        (one Location per distinct chain, so instructions of one line share it)."""
        chain = profile.locations.get(off)
        if off == ENTRY or not chain:
            return loc_of[n.key]
        ident = chain_loc.get((n.key, chain))
        if ident is not None:
            return ident
        ident = chain_loc[(n.key, chain)] = len(loc_of) + len(chain_loc) + 1
        lines = b""
        for depth, (file_name, line, function) in enumerate(chain):
            outermost = depth == len(chain) - 1
            name = labels[n.key] if outermost else (function or "?")  # the wasm function, as elsewhere
            start = n.location[1] if outermost and n.location is not None else 0
            fid = function_id(name, name if not outermost else (n.raw_name or n.name),
                              file_name or profile.module_name, start)
            lines += _bytes(4, _int(1, fid) + _int(2, line))
        nonlocal locations
        locations += _bytes(4, _int(1, ident) + lines)
        return ident

    # One sample per call path (per instruction of it, for ticks, with per-instruction counts);
    # the values of all metrics travel together, so a sample whose every value is zero is left out.
    ticks_at = metrics.index("ticks")
    for path, _ in weighted_stacks(profile, "ticks"):
        node = path[-1]
        callers = [loc_of[n.key] for n in reversed(path[:-1])]
        values = [0 if (m == "calls" and node.id == 0) else self_value(node, m) for m in metrics]
        per_leaf: Dict[int, List[int]] = {}
        if node.offsets is not None:
            for off, (ticks, _count, _calls) in sorted(node.offsets.items()):
                if ticks:
                    leaf = instruction_location(node, off)
                    if leaf != loc_of[node.key]:
                        per_leaf.setdefault(leaf, [0] * len(metrics))[ticks_at] += ticks
                        values[ticks_at] -= ticks
        if any(values):
            out += _bytes(2, _packed(1, [loc_of[node.key]] + callers) + _packed(2, values))
        for leaf, v in per_leaf.items():
            out += _bytes(2, _packed(1, [leaf] + callers) + _packed(2, v))

    out += locations
    out += functions
    ticks_type = _int(1, strings("ticks")) + _int(2, strings("count"))
    comment = strings(f"wasmprof profile of {profile.module_name}; cost model: {profile.cost_model}")
    default_type = strings("ticks")
    for s in strings.table:
        out += _bytes(6, s.encode("utf-8"))
    if profile.timed and profile.root.total_time_ns:
        out += _int(10, profile.root.total_time_ns)
    out += _bytes(11, ticks_type)
    out += _int(12, 1)
    out += _packed(13, [comment])
    out += _int(14, default_type)
    return bytes(out)


def render(profile: "Profile", **_: object) -> bytes:
    # mtime=0: the same profile gives byte-identical files.
    return gzip.compress(encode(profile), mtime=0)
