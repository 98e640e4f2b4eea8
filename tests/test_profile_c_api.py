"""The profile and tick-limit C API (wasmprof.h), from a C host built
against build/libwasmprof.a; its figures must equal wasmprof.profile()'s."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import EXAMPLES, ROOT, native_env
from wasmprof.profiler import profile


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    missing = [tool for tool in ("make", "cc") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{' and '.join(missing)} not found (required under CI)")
        pytest.skip(f"{' and '.join(missing)} not found")
    proc = subprocess.run(["make", "lib"], cwd=ROOT, env=native_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    exe = tmp_path_factory.mktemp("c") / "profile_host"
    proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Iinclude", "tests/c/profile_host.c",
                           "build/libwasmprof.a", "-lm", "-o", str(exe)], cwd=ROOT, env=native_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return exe


def test_c_profile_equals_python_profile(host):
    out = subprocess.run([str(host), str(EXAMPLES / "kernel.wasm"), "run", "300", "1000"], capture_output=True,
                         text=True, env=native_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    nodes = [tuple(int(x) for x in ln.split()[1:]) for ln in lines if ln.startswith("node ")]
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(300,))
    expected = [(n.parent, -1 if n.func is None else n.func, n.calls, n.self_ticks) for n in prof.nodes]
    expected[0] = (-1, -1, 0, 0)  # the C root is never "called"; Python counts the one run
    assert nodes == expected
    assert f"total {prof.total_ticks}" in lines
    assert f"events {2 * sum(n.calls for n in prof.nodes[1:])}" in lines
    assert "limit WP_ERR_LIMIT tick limit 1000 reached" in lines
