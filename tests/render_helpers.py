"""Helpers for the renderer tests: find a consumer tool, or skip (fail under CI, where .ci/run installs it)."""
from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found (Debian package {package}; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
