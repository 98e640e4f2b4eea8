"""The SVG / HTML flamegraph: well-formed, every function present, widths proportional, inline only."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from profile_samples import flat, kernel_like
from wasmprof.render import flamegraph_html, flamegraph_svg

SVG = "{http://www.w3.org/2000/svg}"


def frames(svg_text):
    root = ET.fromstring(svg_text.split("?>", 1)[1] if svg_text.startswith("<?xml") else svg_text)
    return root, [g for g in root.iter(SVG + "g") if g.get("class") == "wpf"]


def test_svg_well_formed_with_every_function():
    p = kernel_like()
    root, gs = frames(flamegraph_svg.render(p, min_width=0))
    assert root.tag == SVG + "svg"
    assert {g.get("data-name") for g in gs} >= {f.name for f in p.functions()}
    assert len(gs) == len(p.nodes)
    assert root.find(SVG + "script") is not None


def test_svg_widths_proportional_to_ticks():
    p = flat({"small": 10, "big": 30, "mid": 20})
    root, gs = frames(flamegraph_svg.render(p, width=1000, min_width=0))
    rect = {g.get("data-name"): float(g.find(SVG + "rect").get("width")) for g in gs}
    assert rect["big"] == pytest.approx(3 * rect["small"], rel=1e-3)
    assert rect["mid"] == pytest.approx(2 * rect["small"], rel=1e-3)
    assert rect["big"] + rect["mid"] + rect["small"] == pytest.approx(rect["run"], rel=1e-3)
    # Children sit side by side inside the parent.
    xs = sorted((float(g.find(SVG + "rect").get("x")), g.get("data-name")) for g in gs if g.get("data-name") != "run")
    assert [n for _, n in xs] == ["small", "big", "mid"]


def test_svg_min_width_drops_tiny_frames_and_escapes_names():
    p = flat({"a<b>&\"c": 1000, "tiny": 1})
    _, gs = frames(flamegraph_svg.render(p, width=200, min_width=1.0))
    names = {g.get("data-name") for g in gs}
    assert 'a<b>&"c' in names and "tiny" not in names


def test_svg_needs_no_network():
    text = flamegraph_svg.render(kernel_like())
    assert not re.search(r"(src|href)\s*=\s*[\"']https?:", text)


def test_html_wraps_svg_with_search_box():
    p = kernel_like()
    html = flamegraph_html.render(p)
    assert html.startswith("<!DOCTYPE html>") and 'id="search"' in html and "<svg" in html
    assert "wasmprof_flamegraph_" in html and "<table" in html
    svg = html[html.index("<svg"): html.index("</svg>") + 6]
    _, gs = frames(svg)
    assert {g.get("data-name") for g in gs} >= {f.name for f in p.functions() if f.total_ticks}


def test_inline_scripts_parse_with_node(tmp_path):
    """The inline JavaScript is syntactically valid (checked with `node --check` when node is installed)."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the inline scripts' syntax is not checked")
    p = kernel_like()
    html = flamegraph_html.render(p)
    scripts = [flamegraph_svg.render(p).split("<![CDATA[", 1)[1].split("]]>", 1)[0],
               html.rsplit("<script>", 1)[1].split("</script>", 1)[0]]
    for i, js in enumerate(scripts):
        path = tmp_path / f"s{i}.js"
        path.write_text(js)
        subprocess.run([node, "--check", str(path)], check=True, capture_output=True)
