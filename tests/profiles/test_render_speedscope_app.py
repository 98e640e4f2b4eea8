"""Real profiles, saved as speedscope JSON, folded stacks, Chrome trace and pprof, imported into the
real speedscope app (npm package, pinned) in headless Chromium, loaded as a user loads them: the
"Browse" button's file chooser, or a `#profileURL=` link to a local http server.

For each, speedscope must pick the right importer (its console says which), show no error, and its
Sandwich view (the per-function table) must list exactly the profile's functions with their self
and total ticks.  Speedscope's Export (what it parsed, as its own JSON) is read back too, exactly.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import helpers.real_profiles as real_profiles
from helpers.browser import SPEEDSCOPE_VERSION, Watch, chromium, serve, speedscope_app
from helpers.real_profiles import PROFILES, sandwich_rows, ticks_rows
from wasmprof.profiles.model import Profile

Rows = Dict[str, Tuple[int, int]]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Tuple[Path, str]]:
    """(directory, base URL): the app at /app/, profiles at the top."""
    app = speedscope_app()
    assert (app / "release.txt").read_text().splitlines()[0] == f"speedscope@{SPEEDSCOPE_VERSION}"
    root = tmp_path_factory.mktemp("site")
    (root / "app").symlink_to(app, target_is_directory=True)
    with serve(root) as base:
        yield root, base


class Speedscope:
    """One speedscope page with one imported file."""

    def __init__(self, browser: Any, site: Tuple[Path, str], path: Path, how: str, rows: int) -> None:
        root, base = site
        # Tall enough that the Sandwich table (virtualised, ~20 px a row) renders every row.
        self.page = browser.new_page(viewport={"width": 1400, "height": 400 + 24 * rows}, locale="en-US",
                                     accept_downloads=True)
        self.page.set_default_timeout(30_000)
        self.watch = Watch(self.page)
        if how == "url":
            (root / path.name).write_bytes(path.read_bytes())
            self.page.goto(f"{base}/app/index.html#profileURL=/{path.name}")
        else:
            self.page.goto(f"{base}/app/index.html")
            with self.page.expect_file_chooser() as chooser:
                self.page.get_by_text("Browse", exact=True).click()
            chooser.value.set_files(str(path))
        self.page.wait_for_function("document.body.innerText.includes('Sandwich') || "
                                    "document.body.innerText.includes('Something went wrong')")
        assert "Something went wrong" not in self.text(), self.watch.messages
        self.page.get_by_text("Sandwich").click()
        self.page.get_by_text("Symbol Name").wait_for()

    def text(self) -> str:
        return self.page.inner_text("body")

    def table(self) -> List[Tuple[str, str, str]]:
        """The Sandwich table's rows as shown: (total, self, symbol name) texts."""
        self.page.wait_for_function("document.querySelectorAll('tr td').length > 0")
        return [tuple(r) for r in self.page.evaluate(
            """() => {
                 // The rows after the header whose last column is "Symbol Name" (the profile
                 // switcher in the toolbar is a table too).
                 const th = Array.from(document.querySelectorAll("th"))
                   .find(th => th.textContent.trim() === "Symbol Name");
                 return Array.from(th.closest("table").parentElement.querySelectorAll("tr"))
                   .filter(tr => tr.cells.length === 3 && tr.cells[0].tagName === "TD")
                   .map(tr => Array.from(tr.cells).map(td => td.textContent.trim()));
               }""")]

    def next_profile(self) -> None:
        self.page.keyboard.press("n")

    def export(self) -> Dict[str, Any]:
        """Speedscope's own export of what it imported (the toolbar's Export button)."""
        with self.page.expect_download() as download:
            self.page.get_by_text("\u2934\ufe0fExport").click()  # the toolbar button
        return json.loads(Path(download.value.path()).read_text())

    def close(self) -> None:
        errors = self.watch.errors()
        # speedscope warns when a file does not add up (a frame closed that is not open...);
        # Chromium's software GL warns about its own speed.
        warnings = [t for k, t in self.watch.messages if k == "warning" and "GL Driver Message" not in t]
        self.page.close()
        assert not errors, errors
        assert not warnings, warnings


@pytest.fixture
def open_app(browser, site):
    pages: List[Speedscope] = []

    def opener(path: Path, how: str, rows: int) -> Speedscope:
        pages.append(Speedscope(browser, site, path, how, rows))
        return pages[-1]

    yield opener
    for p in pages:
        p.close()


def raw_rows(table: List[Tuple[str, str, str]]) -> Rows:
    """Rows of a profile in speedscope's unit "none": exact integers ("1,234 (56%)")."""
    out: Rows = {}
    for total, self_, name in table:
        assert name not in out, f"{name} listed twice"
        out[name] = (_int(self_), _int(total))
    return out


def _int(cell: str) -> int:
    m = re.fullmatch(r"([\d,]+) \((?:[<>]?[\d.]+)%\)", cell)
    assert m, cell
    return int(m.group(1).replace(",", ""))


_UNITS_US = {"ns": 1e-3, "\u00b5s": 1.0, "ms": 1e3, "s": 1e6}


def _microseconds(cell: str) -> Tuple[float, float]:
    """A time as speedscope shows it ("128.01ms (12%)"): (value in µs, the display's rounding)."""
    m = re.fullmatch(r"([\d.]+)(ns|\u00b5s|ms|s) \((?:[<>]?[\d.]+)%\)", cell)
    assert m, cell
    return float(m.group(1)) * _UNITS_US[m.group(2)], 0.005 * _UNITS_US[m.group(2)]


def exported_rows(doc: Dict[str, Any], index: int) -> Rows:
    """{frame name: (self, total)} of one profile of speedscope's export (always "evented": frames
    open and close at values): self while the frame is on top, total while it is on the stack
    (once, however often it is on it)."""
    names = [f["name"] for f in doc["shared"]["frames"]]
    prof = doc["profiles"][index]
    assert prof["type"] == "evented"
    rows: Dict[str, List[int]] = {}
    stack: List[int] = []
    last = prof["startValue"]
    for e in prof["events"]:
        if stack and e["at"] > last:
            rows.setdefault(names[stack[-1]], [0, 0])[0] += e["at"] - last
            for f in set(stack):
                rows.setdefault(names[f], [0, 0])[1] += e["at"] - last
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        else:
            assert stack and stack[-1] == e["frame"], ("unbalanced close", e)
            stack.pop()
    assert not stack
    return {name: (s, t) for name, (s, t) in rows.items() if t}


def _save(p: Profile, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{p.module_name.rsplit('.', 1)[0]}.{name}"
    p.save(path)
    return path


NAMES = list(PROFILES)


@pytest.mark.parametrize("name", NAMES + ["kernel_timed"])
def test_speedscope_json_in_speedscope(name, open_app, tmp_path):
    """Every profile of the file, as the toolbar names them: ticks and calls (Sandwich view, exact),
    time (its names shown, its nanoseconds exact in the export), the flamechart's evented profile."""
    p = getattr(real_profiles, name)()
    path = _save(p, tmp_path, "speedscope.json")
    ticks = ticks_rows(p)
    app = open_app(path, "browse", len(p.functions()))
    assert "Importing as speedscope json file" in app.watch.logs(), app.watch.messages
    assert f"speedscope v{SPEEDSCOPE_VERSION}" in app.watch.logs()
    kinds = ["ticks", "calls"] + (["time"] if p.timed else []) + (["flamechart, ticks"] if p.events else [])
    assert f"{p.module_name} (ticks) (1/{len(kinds)})" in app.text()
    assert raw_rows(app.table()) == ticks
    app.next_profile()
    app.page.get_by_text(f"{p.module_name} (calls) (2/{len(kinds)})").wait_for()
    calls = sandwich_rows(p, lambda n: n.calls)
    assert {k: v[0] for k, v in calls.items()} == {f.name: f.calls for f in p.functions() if f.calls}
    assert raw_rows(app.table()) == calls
    if p.timed:
        app.next_profile()
        app.page.get_by_text(f"{p.module_name} (time) (3/{len(kinds)})").wait_for()
        times = sandwich_rows(p, lambda n: n.self_time_ns or 0)
        assert {name for _, _, name in app.table()} == set(times)
    if p.events:
        app.next_profile()
        app.page.get_by_text(f"{p.module_name} (flamechart, ticks) ({len(kinds)}/{len(kinds)})").wait_for()
        # The time-ordered record adds up, per function, to the call tree's figures.
        assert raw_rows(app.table()) == ticks
    doc = app.export()
    assert [prof["name"] for prof in doc["profiles"]] == [f"{p.module_name} ({kind})" for kind in kinds]
    assert exported_rows(doc, 0) == ticks
    assert exported_rows(doc, 1) == calls
    if p.timed:
        assert exported_rows(doc, 2) == times


@pytest.mark.parametrize("name", ["kernel", "fib", "sort_strings"])  # flamechart events change no folded line
def test_folded_in_speedscope(name, open_app, tmp_path):
    p = PROFILES[name]()
    path = _save(p, tmp_path, "folded")
    app = open_app(path, "url", len(p.functions()))
    assert "Importing as collapsed stack format" in app.watch.logs(), app.watch.messages
    assert raw_rows(app.table()) == ticks_rows(p)
    assert exported_rows(app.export(), 0) == ticks_rows(p)


@pytest.mark.parametrize("name", ["kernel", "sort_strings"])
def test_pprof_in_speedscope(name, open_app, tmp_path):
    """speedscope reads pprof's profile.proto too, and shows its default sample type (ticks)."""
    p = PROFILES[name]()
    path = _save(p, tmp_path, "pb.gz")
    app = open_app(path, "browse", len(p.functions()))
    assert "Importing as protobuf encoded pprof file" in app.watch.logs(), app.watch.messages
    assert raw_rows(app.table()) == ticks_rows(p)


@pytest.mark.parametrize("name", NAMES)
def test_chrome_trace_in_speedscope(name, open_app, tmp_path):
    """Speedscope names a trace event's frame by its name and its args: our events carry the call-tree
    node (id, calls on the path), so each node is a frame of its own, with the node's self and total
    ticks (1 tick = 1 µs).  The table shows times rounded; the export is exact."""
    p = PROFILES[name]()
    path = _save(p, tmp_path, "trace.json")
    app = open_app(path, "url", len(p.nodes))
    assert "Importing as Trace Event Format profile" in app.watch.logs(), app.watch.messages
    want = {}
    for node in p.nodes[1:]:  # those that took no ticks (host functions) are instant events, not frames
        if node.total_ticks:
            label = f"{node.name} {json.dumps({'node': node.id, 'calls_on_path': node.calls}, separators=(',', ':'))}"
            want[label] = (node.self_ticks, node.total_ticks)
    shown = {}
    for total, self_, label in app.table():
        (t, t_err), (s, s_err) = _microseconds(total), _microseconds(self_)
        want_self, want_total = want[label]
        assert abs(s - want_self) <= s_err + 1e-9 and abs(t - want_total) <= t_err + 1e-9, (label, self_, total)
        shown[label] = True
    assert set(shown) == set(want)
    assert exported_rows(app.export(), 0) == want
    # Per function (the part of each frame name before its args), the figures are the profile's.
    per_function: Dict[str, List[int]] = {}
    for label, (s, _t) in want.items():
        per_function.setdefault(label.split(" {", 1)[0], [0, 0])[0] += s
    assert {k: v[0] for k, v in per_function.items()} == {k: v[0] for k, v in ticks_rows(p).items()}


def test_real_profiles_are_not_trivial():
    """What the tests above cover: recursion, host functions, many functions."""
    assert max(d for _, d in real_profiles.fib().walk()) >= 15
    assert len(real_profiles.sort_strings().functions()) > 30
    assert len(real_profiles.kernel().nodes) > 50
