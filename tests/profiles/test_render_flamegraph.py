"""The SVG / HTML flamegraph: well-formed, every function present, widths proportional, inline only."""
from __future__ import annotations

import re

import pytest

from helpers.render_tools import SVG, frames
from helpers.profile_samples import flat, kernel_like
from wasmprof.profiles.render import flamegraph_html, flamegraph_svg


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


_HARNESS = r"""
// A minimal DOM: just what the flamegraph script touches.
function El(attrs, kids) {
  this.attrs = Object.assign({}, attrs); this.kids = kids || []; this.style = {};
  this.textContent = ""; this.handlers = {};
  var cls = new Set((attrs["class"] || "").split(" ").filter(Boolean));
  this.classList = { add: function (c) { cls.add(c); }, remove: function (c) { cls.delete(c); },
                     contains: function (c) { return cls.has(c); } };
}
El.prototype.getAttribute = function (k) { return this.attrs[k] === undefined ? null : String(this.attrs[k]); };
El.prototype.setAttribute = function (k, v) { this.attrs[k] = v; };
El.prototype.querySelector = function (tag) { return this.kids.filter(function (k) { return k.tag === tag; })[0]; };
El.prototype.addEventListener = function (ev, fn) { this.handlers[ev] = fn; };
var FRAMES = %(frames)s;
var gs = FRAMES.map(function (f) {
  var r = new El({x: 0, width: 0, fill: f["data-fill"]}); r.tag = "rect";
  var t = new El({x: 0}); t.tag = "text";
  return new El(f, [r, t]);
});
var ids = {};
var root = new El({});
root.querySelectorAll = function () { return gs; };
var document = { getElementById: function (id) {
  if (id === "%(prefix)s") { return root; }
  return ids[id] || (ids[id] = new El({}));
} };
var window = { prompt: function () { return null; } };
%(script)s
var api = window["wasmprof_flamegraph_%(prefix)s"];
function state() {
  var out = {};
  gs.forEach(function (g) { out[g.getAttribute("data-name") + "@" + g.getAttribute("data-depth")] =
    { hidden: g.style.display === "none", width: parseFloat(g.kids[0].attrs.width),
      fill: g.kids[0].attrs.fill, label: g.kids[1].textContent }; });
  return out;
}
var result = { initial: state() };
result.matched = api.search("^(rand|fill)$");
result.searched = state();
api.search("");
var fill = gs.filter(function (g) { return g.getAttribute("data-name") === "fill"; })[0];
fill.handlers.click();
result.zoomed = state();
api.reset();
result.reset = state();
console.log(JSON.stringify(result));
"""


def test_flamegraph_script_zooms_and_searches(tmp_path):
    """Runs the inline script under node against a minimal DOM: search share, zoom widths, reset."""
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the flamegraph script's behaviour is not exercised")
    p = kernel_like()
    svg = flamegraph_svg.render(p, width=1000, min_width=0)
    _, gs = frames(svg)
    prefix = svg.split('id="', 1)[1].split('"', 1)[0]
    script = svg.split("<![CDATA[", 1)[1].split("]]>", 1)[0]
    frame_attrs = [{k: v for k, v in g.attrib.items()} for g in gs]
    js = _HARNESS % {"frames": json.dumps(frame_attrs), "prefix": prefix, "script": script}
    path = tmp_path / "harness.js"
    path.write_text(js)
    out = json.loads(subprocess.run([node, str(path)], capture_output=True, text=True, check=True).stdout)
    inner = 1000 - 2 * flamegraph_svg.PAD_X
    fill = next(n for n in p.nodes if n.name == "fill")
    rand = next(n for n in p.nodes if n.name == "rand")
    # rand is inside fill: the union of matches is fill's share only.
    assert out["matched"] == pytest.approx(fill.total_ticks / p.total_ticks)
    assert out["searched"]["rand@3"]["fill"] == "rgb(230,0,230)"
    assert out["searched"]["fib@2"]["fill"] != "rgb(230,0,230)"
    z = out["zoomed"]
    assert z["fill@2"]["width"] == pytest.approx(inner)
    assert z["rand@3"]["width"] == pytest.approx(inner * rand.total_ticks / fill.total_ticks)
    assert z["fib@2"]["hidden"] and not z["run@1"]["hidden"]  # callers stay, as parents
    assert out["reset"]["rand@3"]["width"] == pytest.approx(inner * rand.total_ticks / p.total_ticks)
    assert out["reset"] == out["initial"]
