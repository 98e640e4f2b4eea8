"""Helpers for the renderer tests: find a consumer tool (or skip: a failure
under CI, where .ci/run installs it), and read outputs back with them."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

SVG = "{http://www.w3.org/2000/svg}"


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found (Debian package {package}; .ci/run installs it)")
    return path


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


def annotate(path, *extra):
    tool = require_tool("callgrind_annotate", "valgrind")
    return subprocess.run([tool, *extra, str(path)], capture_output=True, text=True, check=True).stdout


def parse_rows(out):
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(?:[\d,]+\s+\([\s\d.]+%\)\s+)?\S*?:(.+)$", line)
        if m:
            rows[m.group(2).strip()] = int(m.group(1).replace(",", ""))
    return rows


def frames(svg_text):
    root = ET.fromstring(svg_text.split("?>", 1)[1] if svg_text.startswith("<?xml") else svg_text)
    return root, [g for g in root.iter(SVG + "g") if g.get("class") == "wpf"]
