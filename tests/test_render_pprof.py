"""pprof: the gzipped profile.proto is read by `go tool pprof` and its totals match the profile."""
from __future__ import annotations

import gzip
import re
import subprocess

from profile_samples import kernel_like
from render_helpers import require_tool
from wasmprof.profiles.render import pprof


def pprof_top(path, sample_index):
    go = require_tool("go", "golang-go")
    out = subprocess.run([go, "tool", "pprof", f"-sample_index={sample_index}", "-top", "-nodecount=1000",
                          "-nodefraction=0", str(path)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Total samples = (\d+)", out) or re.search(r"of (\d+) total", out)
    total = int(m.group(1)) if m else None
    flat = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+\S+%\s+\S+%\s+(\d+)\s+\S+%\s+(.+)$", line)
        if m:
            flat[m.group(3).strip()] = (int(m.group(1)), int(m.group(2)))
    return out, total, flat


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
