"""Headless Chromium for the consumer tests of the profile formats.

- chromium(): a Playwright Browser on Debian's /usr/bin/chromium (the Python package
  `playwright` drives it; it never downloads a browser of its own), started with the flags a
  root user on a closed network needs, in a fresh profile directory.
- Watch: collects a page's console messages and uncaught exceptions, so a test can assert that
  a page ran without a JavaScript error.
- speedscope_app(): the built speedscope web app (`dist/release` of the npm package, pinned to
  SPEEDSCOPE_VERSION), fetched once with `npm pack` into a cache directory.
- serve(directory): a static HTTP server on 127.0.0.1 (speedscope loads `#profileURL=` only
  over http).

Missing tools skip the tests with the reason (a failure under CI: tests/conftest.py).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

from .render_tools import require_tool

SPEEDSCOPE_VERSION = "1.25.0"

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_playwright() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("the Python package playwright is not installed (pyproject.toml's test extra)")
    return sync_api


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright Browser on Debian's Chromium, closed (with its driver) on exit."""
    executable = require_tool("chromium", "chromium")
    sync_api = _require_playwright()
    # The sanitizer pass (.ci/run) preloads libasan into this process; neither Playwright's
    # driver (node) nor Chromium is built for it, so they start without it.
    preload = os.environ.pop("LD_PRELOAD", None)
    try:
        manager = sync_api.sync_playwright().start()
    finally:
        if preload is not None:
            os.environ["LD_PRELOAD"] = preload
    try:
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        # Playwright gives Chromium a new empty --user-data-dir of its own for each launch.
        browser = manager.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, env=env, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.stop()


class Watch:
    """Records a page's console messages and uncaught exceptions (pageerror)."""

    def __init__(self, page: Any) -> None:
        self.messages: List[Tuple[str, str]] = []
        page.on("console", lambda m: self.messages.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))

    def errors(self) -> List[Tuple[str, str]]:
        return [(kind, text) for kind, text in self.messages if kind in ("error", "pageerror")]

    def logs(self) -> List[str]:
        return [text for kind, text in self.messages if kind == "log"]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wasmprof-tests"


def speedscope_app() -> Path:
    """speedscope's built web app (the directory holding index.html), fetched from the npm registry
    with `npm pack` the first time and kept in ~/.cache/wasmprof-tests (XDG_CACHE_HOME)."""
    target = _cache_dir() / f"speedscope-{SPEEDSCOPE_VERSION}"
    app = target / "package" / "dist" / "release"
    if (app / "index.html").is_file():
        return app
    npm = require_tool("npm", "npm")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        # npm pack fetches the package's tarball only (none of its command-line tool's dependencies).
        pack = subprocess.run([npm, "pack", "--silent", f"speedscope@{SPEEDSCOPE_VERSION}", "--pack-destination", tmp],
                              capture_output=True, text=True, timeout=300, cwd=tmp)
        if pack.returncode != 0:
            pytest.fail(f"npm pack speedscope@{SPEEDSCOPE_VERSION} failed:\n{pack.stdout}\n{pack.stderr}")
        tarball = Path(tmp) / pack.stdout.strip().splitlines()[-1]
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tar:
            # The "data" filter (Python >= 3.11.4) refuses links and paths that leave the directory.
            tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        if not (unpacked / "package" / "dist" / "release" / "index.html").is_file():
            pytest.fail(f"speedscope@{SPEEDSCOPE_VERSION} from npm has no dist/release/index.html")
        try:
            os.rename(unpacked, target)
        except OSError:  # another run put it there first
            if not (app / "index.html").is_file():
                raise
    return app


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over http on 127.0.0.1; yields the base URL (no trailing slash)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

