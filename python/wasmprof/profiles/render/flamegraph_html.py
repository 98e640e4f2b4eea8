"""The interactive flamegraph in a self-contained HTML page (``*.html``), with a search box and top table.

The page inlines the SVG of :mod:`flamegraph_svg` (its script runs in the page) and adds a text
field wired to the graph's search, plus the top-functions table.  No network is needed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple
from xml.sax.saxutils import escape

from . import flamegraph_svg, summary_html

if TYPE_CHECKING:
    from ..model import Profile

NAME = "html"
EXTENSIONS = (".html", ".htm")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "interactive flamegraph in an HTML page (search box, top table)"
VIEWER = "any web browser"


def render(profile: "Profile", *, metric: str = "ticks", width: int = 1200, min_width: float = 0.1,
           top: int = 20, **_: object) -> str:
    svg = flamegraph_svg.render_element(profile, metric=metric, width=width, min_width=min_width)
    prefix = svg.split('id="', 1)[1].split('"', 1)[0]
    title = escape(f"wasmprof: {profile.module_name}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Verdana, sans-serif; margin: 16px; }}
#search {{ width: 320px; }}
table.wasmprof-top {{ border-collapse: collapse; margin-top: 12px; }}
table.wasmprof-top td, table.wasmprof-top th {{ padding: 2px 10px; text-align: right; }}
table.wasmprof-top td:first-child, table.wasmprof-top th:first-child {{ text-align: left; }}
</style>
</head>
<body>
<h2>{title}</h2>
<p>{summary_html.summary_line(profile)}</p>
<p><label>Search (regular expression): <input id="search" type="search" autocomplete="off"></label>
<button id="reset">Reset zoom</button></p>
{svg}
<h3>Top functions by self ticks</h3>
{summary_html.top_table(profile, top)}
<script>
(function () {{
  var api = window["wasmprof_flamegraph_{prefix}"];
  document.getElementById("search").addEventListener("input", function (e) {{ api.search(e.target.value); }});
  document.getElementById("reset").addEventListener("click", function () {{ api.reset(); }});
}})();
</script>
</body>
</html>
"""
