"""Helpers for the renderer tests: find a consumer tool, or skip (a failure under CI, where .ci/run installs it)."""
from __future__ import annotations

import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found (Debian package {package}; .ci/run installs it)")
    return path
