"""The C programs of the meson build that tests run (the example host and
the C hosts of tests/c/)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .env import native_env
from .paths import BUILD_DIR, ROOT


def c_program(name: str) -> Path:
    """A C program of the meson build (meson.build: `host`, or a C host of
    tests/c/ such as `profile_host`; all at the build directory's top), built first with `make all` (a no-op
    when `pip install -e .` already built that directory).  Skips when make
    or meson is missing (a failure under CI: the skip policy of tests/conftest.py)."""
    import shutil
    import subprocess

    missing = [tool for tool in ("make", "meson") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found")
    make = subprocess.run(["make", "all", f"BUILD={BUILD_DIR}"], cwd=ROOT, env=native_env(), capture_output=True,
                          text=True, timeout=900)
    assert make.returncode == 0, make.stdout + make.stderr
    exe = BUILD_DIR / name
    assert exe.is_file(), f"{exe} was not built"
    return exe
