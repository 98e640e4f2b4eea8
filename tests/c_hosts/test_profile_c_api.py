"""The profile and tick-limit C API (wasmprof.h), from a C host built
against libwasmprof.a (meson.build); its figures must equal wasmprof.profile()'s."""
from __future__ import annotations

import subprocess

import pytest

from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.paths import EXAMPLES
from wasmprof.profiles.profiler import profile


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return c_program("profile_host")


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
