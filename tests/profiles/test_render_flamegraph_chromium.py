"""The SVG and HTML flamegraphs of real profiles, opened in headless Chromium: their inline scripts
run without a JavaScript error, and the controls a user has (Search, click to zoom, Reset zoom,
hover) change the frames as the profile says they must.  Screenshots show the frames drawn, each
in its colour where it must be (pixels read with Pillow).

The frames of the file are matched to the profile's call-tree nodes: the renderer writes them in
preorder and leaves out those narrower than min_width pixels (the root always stays).
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from helpers.browser import Watch, chromium
from helpers.real_profiles import PROFILES
from wasmprof.profiles.model import Node, Profile
from wasmprof.profiles.render import flamegraph_svg

WIDTH = 1200
INNER = WIDTH - 2 * flamegraph_svg.PAD_X
MIN_WIDTH = 0.1  # the renderer's default
MAGENTA = (230, 0, 230)  # a search match
BACKGROUND = (248, 248, 240)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def drawn_nodes(p: Profile) -> List[Tuple[Node, int]]:
    """(node, depth) of every frame the file must have, in its order."""
    root = p.root.total_ticks
    return [(n, d) for n, d in p.walk() if n.id == 0 or n.total_ticks / root * INNER >= MIN_WIDTH]


def svg_height(path: Path) -> int:
    """The flamegraph's height in pixels: the page is opened that tall, so a screenshot shows it all."""
    m = re.search(r'<svg [^>]*height="(\d+)"', path.read_text())
    assert m
    return int(m.group(1))


def frames_state(page: Any) -> List[Dict[str, Any]]:
    return page.eval_on_selector_all("g.wpf", """gs => gs.map(g => {
        const r = g.querySelector("rect");
        return {name: g.dataset.name, depth: +g.dataset.depth, shown: g.style.display !== "none",
                parent: g.classList.contains("wpf-parent"), x: +r.getAttribute("x"), y: +r.getAttribute("y"),
                width: +r.getAttribute("width"), fill: r.getAttribute("fill"), own: g.dataset.fill,
                label: g.querySelector("text").textContent};
      })""")


def rgb(text: str) -> Tuple[int, int, int]:
    m = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def screenshot(page: Any, origin: Tuple[float, float]) -> Tuple[Any, Tuple[float, float]]:
    """(the page as a Pillow RGB image, where the SVG's (0, 0) is in it)."""
    from PIL import Image

    page.mouse.move(0, 0)  # no frame hovered (hover draws an outline)
    return Image.open(io.BytesIO(page.screenshot())).convert("RGB"), origin


def painted(frames: List[Dict[str, Any]], x: int, y: int) -> Any:
    """The colour the frames must give pixel (x, y) of the SVG: the shown frame there (a zoomed
    frame's callers at opacity 0.6 over the background), the background where none is, or None
    within a pixel of a frame's edge (anti-aliased)."""
    for f in frames:
        if not f["shown"] or not f["y"] <= y < f["y"] + flamegraph_svg.FRAME_H - 1:
            continue
        if f["x"] - 1 <= x <= f["x"] + f["width"] + 1:
            if not f["x"] + 1 <= x <= f["x"] + f["width"] - 1:
                return None
            colour = rgb(f["fill"])
            if f["parent"]:
                colour = tuple(round(0.6 * c + 0.4 * b) for c, b in zip(colour, BACKGROUND))
            return colour
    return BACKGROUND


def assert_drawn(shot: Tuple[Any, Tuple[float, float]], frames: List[Dict[str, Any]],
                 where: List[Dict[str, Any]], min_px: float = 12) -> int:
    """At the middle of the top band (above the label) of each frame of ``where`` at least min_px
    wide, the screenshot has the colour that ``frames`` paint there; returns how many frames of
    ``frames`` were seen that way."""
    img, (ox, oy) = shot
    seen = set()
    for f in where:
        if f["width"] < min_px:
            continue
        x, y = int(f["x"] + f["width"] / 2), int(f["y"] + 2)
        want = painted(frames, x, y)
        if want is None:
            continue
        got = img.getpixel((int(ox + x), int(oy + y)))
        assert all(abs(g - w) <= 3 for g, w in zip(got, want)), (f, got, want)
        seen.update(i for i, g in enumerate(frames) if g["shown"] and painted([g], x, y) == want != BACKGROUND)
    return len(seen)


def assert_not_blank(img: Any) -> None:
    colours = img.getcolors(maxcolors=1 << 24)
    assert len(colours) > 20, "the screenshot has almost no colours"
    plain = sum(n for n, c in colours if c in (BACKGROUND, (255, 255, 255)))
    assert plain < 0.9 * img.width * img.height, "the screenshot is mostly background"


def subtree(p: Profile, node: Node) -> set:
    out, stack = set(), [node.id]
    while stack:
        i = stack.pop()
        out.add(i)
        stack.extend(p.nodes[i].children)
    return out


def zoom_target(p: Profile, drawn: List[Tuple[Node, int]]) -> int:
    """Index in drawn of a frame worth zooming into: the widest at depth >= 2 that has callees."""
    candidates = [(n.total_ticks, i) for i, (n, d) in enumerate(drawn) if d >= 2 and n.children]
    if not candidates:
        candidates = [(n.total_ticks, i) for i, (n, d) in enumerate(drawn) if d >= 1]
    return max(candidates)[1]


def search_term(p: Profile) -> Tuple[str, List[str], float]:
    """A regular expression for the two functions with the most self ticks, their names, and the
    share of the root that the union of their drawn frames covers (nested matches once)."""
    names = [f.name for f in p.top(2)]
    term = "^(" + "|".join(re.escape(n) for n in names) + ")$"
    drawn = {n.id for n, _ in drawn_nodes(p)}
    covered = 0
    for n, _ in p.walk():
        callers = [p.root] + p.path(n)[:-1] if n.id else []  # the root is drawn, named as the entry
        if n.id in drawn and n.name in names and not any(a.name in names for a in callers):
            covered += n.total_ticks
    return term, names, covered / p.root.total_ticks


def check_layout(p: Profile, drawn, state, zoom: int = -1) -> None:
    """The frames as reset() lays them out, or zoomed into drawn[zoom]."""
    assert [(s["name"], s["depth"]) for s in state] == [(p.root.name if n.id == 0 else n.name, d) for n, d in drawn]
    # x of each node as a fraction of the root: children side by side from their parent's x.
    frac: Dict[int, float] = {0: 0.0}
    for n, _ in p.walk():
        x = frac[n.id]
        for c in n.children:
            frac[c] = x
            x += p.nodes[c].total_ticks / p.root.total_ticks
    if zoom < 0:
        zx, zw, zdepth, inside, above = 0.0, 1.0, 0, set(range(len(p.nodes))), set()
    else:
        z, zdepth = drawn[zoom]
        zx, zw = frac[z.id], z.total_ticks / p.root.total_ticks
        inside, above = subtree(p, z), {a.id for a in p.path(z)[:-1]} | {0}
    for (n, d), s in zip(drawn, state):
        if n.id in above:
            assert s["shown"] and s["parent"] and s["width"] == pytest.approx(INNER), (n.name, d, s)
        elif n.id in inside:
            w = n.total_ticks / p.root.total_ticks
            assert s["shown"] and not s["parent"], (n.name, d, s)
            assert s["width"] == pytest.approx(w / zw * INNER, rel=1e-9, abs=1e-6), (n.name, d, s)
            assert s["x"] == pytest.approx(flamegraph_svg.PAD_X + (frac[n.id] - zx) / zw * INNER, abs=1e-6)
        else:
            assert not s["shown"], (n.name, d, s)


@pytest.mark.parametrize("name", ["kernel", "fib", "sort_strings"])
def test_svg_flamegraph_in_chromium(name, browser, tmp_path):
    p = PROFILES[name]()
    path = tmp_path / "profile.svg"
    p.save(path)
    drawn = drawn_nodes(p)
    page = browser.new_page(viewport={"width": WIDTH, "height": svg_height(path)})
    watch = Watch(page)
    page.goto(path.as_uri())
    initial = frames_state(page)
    check_layout(p, drawn, initial)
    shot = screenshot(page, (0, 0))
    assert_not_blank(shot[0])
    assert assert_drawn(shot, initial, initial) >= min(3, len(drawn))

    # Hover: the details line describes the frame.
    z = zoom_target(p, drawn)
    node = drawn[z][0]
    frame = page.locator("g.wpf").nth(z)
    frame.hover()
    details = page.text_content(f"#{page.get_attribute('svg', 'id')}-details")
    total = p.root.total_ticks
    assert details == (f"{node.name}  \u2014  calls {node.calls}, total {node.total_ticks} ticks "
                       f"({100 * node.total_ticks / total:.2f}%), self {node.self_ticks} ticks "
                       f"({100 * node.self_ticks / total:.2f}%)")

    # Search: the button asks for a regular expression (window.prompt).
    term, names, share = search_term(p)
    page.once("dialog", lambda d: d.accept(term))
    page.get_by_text("Search", exact=True).click()
    matched_id = f"#{page.get_attribute('svg', 'id')}-matched"
    assert page.text_content(matched_id) == f"Matched: {100 * share:.2f}%"
    searched = frames_state(page)
    for s in searched:
        want = MAGENTA if s["name"] in names else rgb(s["own"])
        assert rgb(s["fill"]) == want, s
    assert assert_drawn(screenshot(page, (0, 0)), searched, searched) >= 1
    page.once("dialog", lambda d: d.accept(""))
    page.get_by_text("Search", exact=True).click()
    assert page.text_content(matched_id).strip() == ""
    assert frames_state(page) == initial

    # Click to zoom, then Reset zoom.
    frame.locator("rect").click()
    zoomed = frames_state(page)
    check_layout(p, drawn, zoomed, z)
    # Each frame is drawn where it now is, and where hidden frames were there is what is drawn now
    # (mostly background).
    assert assert_drawn(screenshot(page, (0, 0)), zoomed, zoomed + initial) >= 2
    page.get_by_text("Reset zoom").click()
    assert frames_state(page) == initial
    assert not watch.errors(), watch.errors()
    page.close()


@pytest.mark.parametrize("name", ["kernel", "sort_strings"])
def test_html_flamegraph_in_chromium(name, browser, tmp_path):
    """The HTML page: its search box and Reset button drive the inlined SVG's script."""
    p = PROFILES[name]()
    path = tmp_path / "profile.html"
    p.save(path)
    drawn = drawn_nodes(p)
    page = browser.new_page(viewport={"width": WIDTH + 100, "height": svg_height(path) + 400})
    watch = Watch(page)
    page.goto(path.as_uri())
    initial = frames_state(page)
    check_layout(p, drawn, initial)
    box = page.locator("svg").first.bounding_box()
    shot = screenshot(page, (box["x"], box["y"]))
    assert_not_blank(shot[0])
    assert assert_drawn(shot, initial, initial) >= min(3, len(drawn))

    term, _, share = search_term(p)
    page.fill("#search", term)  # each keystroke searches (the input event)
    assert page.text_content("svg [id$='-matched']") == f"Matched: {100 * share:.2f}%"
    assert any(rgb(s["fill"]) == MAGENTA for s in frames_state(page))
    page.fill("#search", "")
    assert frames_state(page) == initial

    z = zoom_target(p, drawn)
    page.locator("g.wpf").nth(z).locator("rect").click()
    zoomed = frames_state(page)
    check_layout(p, drawn, zoomed, z)
    assert assert_drawn(screenshot(page, (box["x"], box["y"])), zoomed, zoomed + initial) >= 2
    page.click("#reset")
    assert frames_state(page) == initial

    # The top table lists p.top(20).
    rows = page.eval_on_selector_all("table.wasmprof-top tr", "trs => trs.slice(1).map(tr => tr.cells[0].textContent)")
    assert [r.split(" (host)")[0] for r in rows] == [f.name for f in p.top(20)]
    assert not watch.errors(), watch.errors()
    page.close()
