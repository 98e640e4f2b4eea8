"""Every notebook in notebooks/ runs (nbclient, a real kernel) from a
working directory of its own, and its HTML outputs work in a browser: each
is opened in headless Chromium with no JavaScript error, and a screenshot
of each flamegraph is not blank (its pixels are checked).

tests/profiles/test_notebook.py also runs explore_profile.ipynb on
synthetic profiles."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, List

import pytest

from helpers.browser import Watch, chromium
from helpers.env import python_env
from helpers.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# What each notebook must show: text that its outputs contain.
EXPECTED: Dict[str, List[str]] = {
    "explore_profile.ipynb": ["[('fill', 1, ", "quicksort", "<svg"],
    "cost_tables.ipynb": ["cost table: 9 instruction prices, default 1, 20 per call", "share_gas"],
    "c_source_lines.ipynb": ["the hottest line: 24 while (j >= 0 && v[j] > x) {", "function='bin_of'",
                             "Top 12 source lines by ticks", "histogram.c (insertion_sort):24", "iframe srcdoc"],
    "trap_coredump.ipynb": ["integer divide by zero", "return value * nbins / 1000 % nbins;",
                            "local 3 = i32 0", "WebAssembly coredump of", "count [func 11]"],
}


def execute(path: Path, cwd: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(str(path), as_version=4)
    import os

    saved = dict(os.environ)
    os.environ.update(python_env())  # the kernel inherits this process's environment
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def outputs(nb, mime: str) -> List[str]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if mime in o.get("data", {})]


def all_text(nb) -> str:
    parts: List[str] = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", ""))
            parts.extend(v for k, v in o.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def nonblank(png: bytes) -> int:
    """How many distinct colours the screenshot has."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(set(image.getdata()))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_its_html_works_in_chromium(path, tmp_path, browser):
    assert path.name in EXPECTED, f"{path.name}: say in EXPECTED what its outputs must show"
    nb = execute(path, tmp_path)  # not the notebooks/ directory: any working directory works
    text = all_text(nb)
    for needle in EXPECTED[path.name]:
        assert needle in text, f"{path.name}: no {needle!r} in the outputs"
    htmls = outputs(nb, "text/html")
    assert htmls, f"{path.name} shows no rich output"
    flamegraphs = 0
    for i, html in enumerate(htmls):
        page_file = tmp_path / f"output-{i}.html"
        page_file.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{html}</body></html>')
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        try:
            watch = Watch(page)
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert watch.errors() == [], f"{path.name} output {i}: {watch.errors()}"
            if "wasmprof-profile" in html:
                page.locator("label", has_text="call tree").first.click()  # a view may open on the lines
            svg = page.locator(".wasmprof-profile svg:visible").first
            if "wasmprof-profile" in html and svg.count():
                flamegraphs += 1
                box = svg.bounding_box()
                assert box and box["width"] > 400 and box["height"] > 60
                assert nonblank(svg.screenshot()) > 20, f"{path.name} output {i}: the flamegraph is blank"
                # the calls switch shows the other flamegraph (CSS only)
                page.locator("label", has_text="calls").first.click()
                shown = page.locator(".wasmprof-profile svg:visible").first
                assert "calls in each subtree" in shown.inner_html()
                assert nonblank(shown.screenshot()) > 20
        finally:
            page.close()
    if path.name != "trap_coredump.ipynb":  # the others show profiles
        assert flamegraphs, f"{path.name}: no profile with a flamegraph among its outputs"
