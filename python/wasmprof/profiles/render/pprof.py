"""pprof's ``profile.proto``, gzipped (``*.pb.gz``), for ``go tool pprof`` and pprof-compatible viewers.

Sample types: ``calls/count``, ``ticks/count`` and, when timed, ``time/nanoseconds``; the
default sample type is ticks.  Each call path is one sample (location ids leaf first) carrying
the path's calls, self ticks and self time.  Each function is one Function (name, raw name as
system_name, file and start line when the node has a location) and one Location (the function's
line), so ``pprof -top`` / ``-list`` work per function.

The protobuf wire encoding is written by hand (varints and length-delimited fields only), so no
protobuf dependency is needed.  Field numbers are those of github.com/google/pprof's
proto/profile.proto.
"""
from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Dict, List, Tuple

from ._common import function_labels, self_value, weighted_stacks

if TYPE_CHECKING:
    from ..model import FuncKey, Profile

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
# Location: 1 id, 4 line.  Line: 1 function_id, 2 line.
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
    functions = bytearray()
    locations = bytearray()
    for n in profile.nodes:
        if n.key in loc_of:
            continue
        ident = loc_of[n.key] = len(loc_of) + 1  # ids must be non-zero
        file_name, line = n.location if n.location is not None else (profile.module_name, 0)
        fn = (_int(1, ident) + _int(2, strings(labels[n.key])) + _int(3, strings(n.raw_name or n.name))
              + _int(4, strings(file_name)) + _int(5, line))
        functions += _bytes(5, fn)
        locations += _bytes(4, _int(1, ident) + _bytes(4, _int(1, ident) + _int(2, line)))

    # One sample per call path; the values of all metrics travel together, so a path whose
    # every value is zero is left out.
    per_path: Dict[int, Tuple[List[int], List[int]]] = {}
    for path, _ in weighted_stacks(profile, "ticks"):
        node = path[-1]
        values = [0 if (m == "calls" and node.id == 0) else self_value(node, m) for m in metrics]
        if any(values):
            per_path[node.id] = ([loc_of[n.key] for n in reversed(path)], values)
    for locs, values in per_path.values():
        out += _bytes(2, _packed(1, locs) + _packed(2, values))

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
