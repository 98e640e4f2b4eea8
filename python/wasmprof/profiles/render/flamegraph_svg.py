"""A self-contained interactive flamegraph in SVG (``*.svg``); no network needed to view it.

Each call-tree node is a rectangle whose width is proportional to its total value (ticks by
default), stacked on its caller (the entry at the bottom; ``inverted=True`` for an icicle).
Inline JavaScript and CSS only: click a frame to zoom into it (click the bottom frame or
"Reset zoom" to come back), "Search" highlights frames whose name matches a regular expression
and shows the matched share, hovering shows name, calls, self and total with percentages.

Frames narrower than ``min_width`` pixels are left out (their parent's width still includes
them), as flamegraph.pl does; ``min_width=0`` keeps every frame.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, List, Tuple
from xml.sax.saxutils import escape, quoteattr

from ._common import check_metric, function_labels, total_value

if TYPE_CHECKING:
    from ..model import Node, Profile

NAME = "svg"
EXTENSIONS = (".svg",)
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "interactive flamegraph, self-contained SVG (zoom, search, hover)"
VIEWER = "any web browser"

FRAME_H = 17
PAD_X = 10
TOP = 46
BOTTOM = 30
FONT_W = 7.0  # average glyph width at font-size 12, for label truncation

_SCRIPT = r"""
(function () {
  var P = "%(prefix)s";
  var root = document.getElementById(P);
  var W = %(inner_w)s, X0 = %(pad_x)s, TOTAL = %(total)s, UNIT = "%(unit)s";
  var frames = Array.prototype.slice.call(root.querySelectorAll("g.wpf"));
  var details = document.getElementById(P + "-details");
  var matchedText = document.getElementById(P + "-matched");
  var zoomed = null;
  function num(g, k) { return parseFloat(g.getAttribute("data-" + k)); }
  function pct(v) { return TOTAL ? (100 * v / TOTAL).toFixed(2) + "%%" : "0%%"; }
  function describe(g) {
    return g.getAttribute("data-name") + "  \u2014  calls " + g.getAttribute("data-calls") +
      ", total " + g.getAttribute("data-total") + " " + UNIT + " (" + pct(num(g, "total")) + ")" +
      ", self " + g.getAttribute("data-self") + " " + UNIT + " (" + pct(num(g, "self")) + ")";
  }
  function fit(g, w) {
    var t = g.querySelector("text"), name = g.getAttribute("data-name");
    var n = Math.floor((w - 6) / %(font_w)s);
    t.textContent = n < 3 ? "" : (name.length <= n ? name : name.substring(0, n - 2) + "..");
  }
  function layout(fx, fw, fd) {
    frames.forEach(function (g) {
      var x = num(g, "x"), w = num(g, "w"), d = num(g, "depth");
      var r = g.querySelector("rect"), t = g.querySelector("text");
      var inside = x >= fx - 1e-12 && x + w <= fx + fw + 1e-12;
      var below = d < fd && x <= fx + 1e-12 && x + w >= fx + fw - 1e-12;
      if (below) {
        r.setAttribute("x", X0); r.setAttribute("width", W); t.setAttribute("x", X0 + 3);
        g.style.display = ""; g.classList.add("wpf-parent"); fit(g, W);
      } else if (inside && d >= fd) {
        var nx = X0 + (x - fx) / fw * W, nw = w / fw * W;
        r.setAttribute("x", nx); r.setAttribute("width", nw); t.setAttribute("x", nx + 3);
        g.style.display = ""; g.classList.remove("wpf-parent"); fit(g, nw);
      } else {
        g.style.display = "none";
      }
    });
  }
  function zoom(g) {
    zoomed = g;
    layout(num(g, "x"), num(g, "w"), num(g, "depth"));
    document.getElementById(P + "-unzoom").style.opacity = "1";
  }
  function reset() {
    zoomed = null; layout(0, 1, 0);
    document.getElementById(P + "-unzoom").style.opacity = "0.3";
  }
  function search(term) {
    var re = null, spans = [];
    if (term) { try { re = new RegExp(term); } catch (e) { re = null; } }
    frames.forEach(function (g) {
      var r = g.querySelector("rect");
      if (re && re.test(g.getAttribute("data-name"))) {
        r.setAttribute("fill", "rgb(230,0,230)");
        spans.push([num(g, "x"), num(g, "x") + num(g, "w")]);
      } else {
        r.setAttribute("fill", g.getAttribute("data-fill"));
      }
    });
    // Matched share: the union of matched frames' spans, so nested matches count once.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, end = -1;
    spans.forEach(function (s) {
      if (s[0] >= end) { covered += s[1] - s[0]; end = s[1]; }
      else if (s[1] > end) { covered += s[1] - end; end = s[1]; }
    });
    matchedText.textContent = re ? "Matched: " + (100 * covered).toFixed(2) + "%%" : "";
    return covered;
  }
  frames.forEach(function (g) {
    g.addEventListener("mouseover", function () { details.textContent = describe(g); });
    g.addEventListener("mouseout", function () { details.textContent = " "; });
    g.addEventListener("click", function () {
      if (num(g, "depth") === 0 || g === zoomed) { reset(); } else { zoom(g); }
    });
  });
  document.getElementById(P + "-unzoom").addEventListener("click", reset);
  document.getElementById(P + "-search").addEventListener("click", function () {
    var term = window.prompt("Search for (regular expression):", "");
    if (term !== null) { search(term); }
  });
  window["wasmprof_flamegraph_" + P] = { search: search, reset: reset, zoom: zoom };
  reset();
})();
"""

_STYLE = """
#%(p)s text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }
#%(p)s .wpf { cursor: pointer; }
#%(p)s .wpf:hover rect { stroke: black; stroke-width: 0.5; }
#%(p)s .wpf-parent rect { opacity: 0.6; }
#%(p)s .wpf-title { font-size: 17px; text-anchor: middle; }
#%(p)s .wpf-button { cursor: pointer; fill: rgb(0,0,160); }
"""


def _color(name: str, host: bool) -> str:
    """Deterministic warm colours for guest functions, cool ones for host functions."""
    h = hashlib.sha1(name.encode("utf-8")).digest()
    a, b = h[0] / 255.0, h[1] / 255.0
    if host:
        return "rgb(%d,%d,%d)" % (80 + int(50 * a), 150 + int(60 * b), 220)
    return "rgb(%d,%d,%d)" % (205 + int(50 * a), 80 + int(150 * b), int(55 * a))


def _layout(profile: "Profile", metric: str) -> List[Tuple["Node", float, float, int]]:
    """(node, x, w, depth) with x and w as fractions of the root's total, preorder."""
    total = total_value(profile.root, metric) or 1
    out: List[Tuple["Node", float, float, int]] = []
    stack: List[Tuple[int, float, int]] = [(0, 0.0, 0)]
    while stack:
        nid, x, depth = stack.pop()
        n = profile.nodes[nid]
        w = total_value(n, metric) / total
        out.append((n, x, w, depth))
        kids = []
        cx = x
        for c in n.children:
            kids.append((c, cx, depth + 1))
            cx += total_value(profile.nodes[c], metric) / total
        stack.extend(reversed(kids))
    return out


def render(profile: "Profile", *, metric: str = "ticks", width: int = 1200, min_width: float = 0.1,
           title: str = "", inverted: bool = False, element_id: str = "", **_: object) -> str:
    return render_element(profile, metric=metric, width=width, min_width=min_width, title=title,
                          inverted=inverted, element_id=element_id, standalone=True)


def render_element(profile: "Profile", *, metric: str = "ticks", width: int = 1200, min_width: float = 0.1,
                   title: str = "", inverted: bool = False, element_id: str = "", standalone: bool = False) -> str:
    """The <svg> element; ``standalone`` adds the XML declaration (for a .svg file)."""
    if metric == "calls":
        raise ValueError("a flamegraph's widths are ticks or time; calls are shown on hover")
    check_metric(profile, metric)
    labels = function_labels(profile)
    unit = "ticks" if metric == "ticks" else "ns"
    frames = [f for f in _layout(profile, metric) if f[2] * (width - 2 * PAD_X) >= min_width or f[0].id == 0]
    max_depth = max(d for _, _, _, d in frames)
    height = TOP + (max_depth + 1) * FRAME_H + BOTTOM
    inner_w = width - 2 * PAD_X
    prefix = element_id or "wpfg-" + hashlib.sha1(
        f"{profile.module_name}|{profile.total_ticks}|{len(profile.nodes)}|{metric}".encode()).hexdigest()[:10]
    title = title or f"{profile.module_name}: {profile.total_ticks} ticks ({profile.cost_model})"
    total = total_value(profile.root, metric)
    parts: List[str] = []
    if standalone:
        parts.append('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')
    parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" id="{prefix}" width="{width}" '
                 f'height="{height}" viewBox="0 0 {width} {height}">\n')
    parts.append(f"<style>{_STYLE % {'p': prefix}}</style>\n")
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="rgb(248,248,240)"/>\n')
    parts.append(f'<text class="wpf-title" x="{width / 2}" y="22">{escape(title)}</text>\n')
    parts.append(f'<text id="{prefix}-unzoom" class="wpf-button" x="{PAD_X}" y="40" '
                 f'style="opacity:0.3">Reset zoom</text>\n')
    parts.append(f'<text id="{prefix}-search" class="wpf-button" x="{width - PAD_X - 60}" y="40">Search</text>\n')
    parts.append(f'<text id="{prefix}-matched" x="{width - PAD_X - 220}" y="40"> </text>\n')
    parts.append(f'<text id="{prefix}-details" x="{PAD_X}" y="{height - 10}"> </text>\n')
    for n, x, w, depth in frames:
        y = TOP + depth * FRAME_H if inverted else TOP + (max_depth - depth) * FRAME_H
        name = labels[n.key] if n.id != 0 else n.name
        fill = "rgb(200,200,200)" if n.id == 0 else _color(name, n.host)
        rx, rw = PAD_X + x * inner_w, w * inner_w
        sv, tv = (n.self_ticks, n.total_ticks) if metric == "ticks" else (n.self_time_ns or 0, n.total_time_ns or 0)
        pct = 100.0 * tv / total if total else 0.0
        chars = int((rw - 6) // FONT_W)
        label = name if len(name) <= chars else (name[: chars - 2] + ".." if chars >= 3 else "")
        tip = f"{name} (calls {n.calls}, total {tv} {unit}, {pct:.2f}%, self {sv} {unit})"
        parts.append(
            f'<g class="wpf" data-name={quoteattr(name)} data-calls="{n.calls}" data-self="{sv}" '
            f'data-total="{tv}" data-x="{x!r}" data-w="{w!r}" data-depth="{depth}" data-fill="{fill}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{rx:.3f}" y="{y}" width="{rw:.3f}" height="{FRAME_H - 1}" fill="{fill}" rx="2" ry="2"/>'
            f'<text x="{rx + 3:.3f}" y="{y + FRAME_H - 5}">{escape(label)}</text></g>\n')
    script = _SCRIPT % {"prefix": prefix, "inner_w": inner_w, "pad_x": PAD_X, "total": total, "unit": unit,
                        "font_w": FONT_W}
    parts.append(f'<script type="text/ecmascript"><![CDATA[{script}]]></script>\n')
    parts.append("</svg>\n")
    return "".join(parts)
