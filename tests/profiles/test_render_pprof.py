"""pprof: the gzipped profile.proto is read by `go tool pprof` and its totals match the profile."""
from __future__ import annotations

import gzip
import re
import subprocess
from typing import Dict, List, Tuple

import pytest

import helpers.real_profiles as real_profiles
from helpers.profile_samples import kernel_like
from helpers.render_tools import pprof_top, require_tool
from wasmprof.profiles.render import pprof


def test_go_tool_pprof_reads_totals(tmp_path):
    p = kernel_like(timed=True)
    path = tmp_path / "k.pb.gz"
    p.save(path)
    out, total, flat = pprof_top(path, "ticks")
    assert total == p.total_ticks, out
    for f in p.functions():
        if f.total_ticks:
            assert flat[f.name] == (f.self_ticks, f.total_ticks), (f, out)
    _, calls_total, calls = pprof_top(path, "calls")
    assert calls_total == sum(f.calls for f in p.functions())
    assert calls["rand"][0] == 6
    _, time_total, _ = pprof_top(path, "time")
    assert time_total == p.root.total_time_ns


def test_output_is_deterministic_and_gzipped():
    p = kernel_like()
    a, b = pprof.render(p), pprof.render(p)
    assert a == b and a[:2] == b"\x1f\x8b"
    raw = gzip.decompress(a)
    assert b"ticks" in raw and b"rand" in raw


def test_varint_encoding():
    assert pprof._varint(0) == b"\x00"
    assert pprof._varint(300) == b"\xac\x02"
    assert pprof._varint(-1) == b"\xff" * 9 + b"\x01"


def test_go_tool_pprof_shows_source_lines_and_stacks(tmp_path):
    go = require_tool("go", "golang-go")
    p = kernel_like()
    path = tmp_path / "k.pb.gz"
    p.save(path)
    lines = subprocess.run([go, "tool", "pprof", "-top", "-lines", str(path)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"\b66\b.*\brand kernel\.c:10\b", lines), lines
    assert re.search(r"\bfill kernel\.c:20\b", lines)
    traces = subprocess.run([go, "tool", "pprof", "-traces", str(path)], capture_output=True, text=True,
                            check=True).stdout
    # -traces prints each sample's stack leaf first: rand, called from fill, called from run.
    assert re.search(r"\s66\s+rand\n\s+fill\n\s+run\n", traces), traces


# -- every sample of real profiles, as `go tool pprof -raw` reads them --------------------------

Location = Tuple[str, str, str, int]


def pprof_raw(path) -> Tuple[List[str], Dict[Tuple[str, ...], List[int]], Dict[int, Location]]:
    """`go tool pprof -raw`: (sample type names, {stack of function names, leaf first: values},
    {location id: (function name, system name, file, line)})."""
    go = require_tool("go", "golang-go")
    out = subprocess.run([go, "tool", "pprof", "-raw", str(path)], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    lines = out.splitlines()
    start, locs_at, maps_at = lines.index("Samples:"), lines.index("Locations"), lines.index("Mappings")
    types = [t.split("/")[0] for t in lines[start + 1].split()]
    locations: Dict[int, Location] = {}
    inlined: Dict[int, List[Location]] = {}
    last = 0
    for line in lines[locs_at + 1:maps_at]:
        # "     3: 0x0 M=1 rand kernel.wasm:0 s=0", the system name in parentheses after it when it
        # differs from the name; then "             work prog.c:14 s=10" for each function the
        # frames above were inlined into (per source line locations, with DWARF)
        m = re.fullmatch(r"\s*(\d+): 0x0 (?:M=\d+ )?(.+) (\S+):(\d+) s=\d+(?:\((.+)\))?", line)
        if m:
            last = int(m.group(1))
            locations[last] = (m.group(2), m.group(5) or m.group(2), m.group(3), int(m.group(4)))
            continue
        m = re.fullmatch(r"\s+(.+) (\S+):(\d+) s=\d+(?:\((.+)\))?", line)
        assert m and last, line
        inlined.setdefault(last, []).append(locations[last])
        locations[last] = (m.group(1), m.group(4) or m.group(1), m.group(2), int(m.group(3)))
    samples: Dict[Tuple[str, ...], List[int]] = {}
    for line in lines[start + 2:locs_at]:
        m = re.fullmatch(r"\s*([-\d ]+?):((?: \d+)+) ?", line)
        assert m, line
        # by the wasm functions on the stack (the outermost frame of each location): the samples
        # of one call path's source lines add up
        stack = tuple(locations[int(i)][0] for i in m.group(2).split())
        values = [int(v) for v in m.group(1).split()]
        samples[stack] = [a + b for a, b in zip(samples[stack], values)] if stack in samples else values
    return types, samples, locations


@pytest.mark.parametrize("name", ["kernel", "kernel_timed", "fib", "sort_strings"])
def test_go_tool_pprof_raw_reads_every_sample(name, tmp_path):
    """Every call path of a real profile is one sample, leaf first, carrying its calls, self ticks
    (and self time): read back by pprof itself, equal to the call tree, none more, none less."""
    p = getattr(real_profiles, name)()
    path = tmp_path / "p.pb.gz"
    p.save(path)
    types, samples, locations = pprof_raw(path)
    assert types == ["calls", "ticks"] + (["time"] if p.timed else [])
    want: Dict[Tuple[str, ...], List[int]] = {}
    for path, node in p.stacks():
        values = [node.calls, node.self_ticks] + ([node.self_time_ns] if p.timed else [])
        if any(values):
            want[tuple(n.name for n in reversed(path))] = values
    assert samples == want
    assert sorted({(name, system) for name, system, _, _ in locations.values()}) == sorted(
        {(n.name, n.raw_name or n.name) for n in p.nodes[1:]})
    if not p.has_lines:
        assert all(file == p.module_name and line == 0 for _, _, file, line in locations.values())
    assert sum(v[1] for v in samples.values()) == p.total_ticks
