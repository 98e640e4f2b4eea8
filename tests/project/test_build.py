"""The build (meson.build): what a wheel installs, and the editable install
rebuilding what changed when wasmprof is imported."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.env import python_env
from helpers.paths import ROOT

import wasmprof


def _editable_build_dir() -> Path:
    """The build directory of the editable install under test."""
    core = Path(wasmprof._core.__file__).resolve()
    if ROOT / "build" not in core.parents:
        message = f"wasmprof is not installed editable from this checkout ({core})"
        pytest.skip(message)
    return core.parent


def test_installs_every_file_of_the_package():
    build = _editable_build_dir()
    installed = json.loads(subprocess.run(["meson", "introspect", "--installed", str(build)], check=True,
                                          capture_output=True, text=True).stdout)
    names = {Path(dest).name for dest in installed.values()}
    site_dirs = {Path(dest).parent for src, dest in installed.items() if src.endswith("python/wasmprof")}
    assert len(site_dirs) == 1, installed
    # python/wasmprof is installed as a whole: every tracked file of it is in
    # the wheel (templates, py.typed, the stubs), and the extension beside it.
    tracked = subprocess.run(["git", "ls-files", "python/wasmprof"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert "python/wasmprof/py.typed" in tracked and "python/wasmprof/_core.pyi" in tracked
    assert all((ROOT / path).is_file() for path in tracked)
    (extension,) = [dest for src, dest in installed.items()
                    if Path(src).name.startswith("_core.") and not src.endswith("-gdb.py")]
    assert Path(extension).parent.name == "wasmprof" and Path(extension).parent.parent in site_dirs
    # GDB auto-loads <objfile>-gdb.py: the extension's GDB script lies beside it.
    assert extension + "-gdb.py" in installed.values()
    # C hosts and the static library are for make and the tests, not the wheel.
    assert not names & {"host", "profile_host", "libwasmprof.a"}


def test_editable_install_rebuilds_on_import(tmp_path):
    _editable_build_dir()
    source = ROOT / "csrc" / "runtime" / "trap.c"
    os.utime(source)  # as an edit would leave it
    env = dict(python_env(), MESONPY_EDITABLE_VERBOSE="1")
    proc = subprocess.run([sys.executable, "-c", "import wasmprof; print(wasmprof.Instance)"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "csrc_runtime_trap.c.o" in output, output  # ninja recompiled it
    assert "Linking target _core" in output
    assert "wasmprof.Instance" in proc.stdout
