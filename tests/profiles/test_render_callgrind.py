"""callgrind: callgrind_annotate reads the file; per-function self ticks and totals match."""
from __future__ import annotations

import re

import pytest

from helpers.profile_samples import kernel_like
from helpers.render_tools import annotate, parse_rows
from wasmprof.profiles.render import callgrind


@pytest.mark.parametrize("compress", [True, False])
def test_callgrind_annotate_reads_self_ticks(tmp_path, compress):
    p = kernel_like(timed=True)
    path = tmp_path / "callgrind.out.42"
    path.write_text(callgrind.render(p, compress=compress))
    out = annotate(path)
    total = re.search(r"^\s*([\d,]+) \(100.0%\).*PROGRAM TOTALS", out, re.M)
    assert total and int(total.group(1).replace(",", "")) == p.total_ticks, out
    rows = parse_rows(out)
    for f in p.functions():
        if f.self_ticks:
            assert rows[f.name] == f.self_ticks, (f.name, out)


def test_inclusive_view_uses_call_edges(tmp_path):
    p = kernel_like()
    path = tmp_path / "callgrind.out.1"
    p.save(path)
    rows = parse_rows(annotate(path, "--inclusive=yes"))
    for f in p.functions():
        if f.total_ticks:
            assert rows[f.name] == f.total_ticks, f


def test_calls_lines_carry_counts():
    p = kernel_like(n=5)
    text = callgrind.render(p, compress=False)
    block = text.split("\nfn=fill\n", 1)[1].split("\n\n", 1)[0]
    assert "cfn=rand\ncalls=5 " in block
