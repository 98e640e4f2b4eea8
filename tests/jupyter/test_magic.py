"""The %wasmprof / %%wasmprof magics in a real IPython kernel (jupyter_client
+ ipykernel), as a notebook runs them: %load_ext wasmprof, a line and a
cell profiled, the HTML shown inline, options, mistakes as one line."""
from __future__ import annotations

import json
import queue
import time

import pytest

from helpers.env import python_env
from helpers.paths import EXAMPLES

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

SETUP = f"""
%load_ext wasmprof
import wasmprof
fib = wasmprof.Instance(wasmprof.Module.from_file({str(EXAMPLES / "fib.wasm")!r}))
kernel = wasmprof.Instance(wasmprof.Module.from_file({str(EXAMPLES / "kernel.wasm")!r}))
"""


class Kernel:
    def __init__(self) -> None:
        self.km, self.kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=python_env())

    def run(self, code: str, timeout: float = 60) -> dict:
        """Execute code; return {'status', 'html': [...], 'text': [...], 'stream': str, 'error'}."""
        msg_id = self.kc.execute(code, stop_on_error=False)
        out = {"html": [], "text": [], "stream": "", "error": None}
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no idle status within {timeout} s: {out}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in ("display_data", "execute_result"):
                out["html"].append(content["data"].get("text/html", ""))
                out["text"].append(content["data"].get("text/plain", ""))
            elif kind == "stream":
                out["stream"] += content["text"]
            elif kind == "error":
                out["error"] = (content["ename"], content["evalue"])
            elif kind == "status" and content["execution_state"] == "idle":
                return out

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    try:
        r = k.run(SETUP)
        assert r["error"] is None, r
        yield k
    finally:
        k.close()


def test_line_magic_profiles_the_statement_and_shows_it(kernel):
    r = kernel.run("%wasmprof fib.exports.fib(15)")
    assert r["error"] is None, r
    html = "".join(r["html"])
    import wasmprof

    expected = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=[15]).total_ticks
    assert f"{expected:,} ticks" in html and "<svg" in html and "wasmprof-top" in html
    # the profile is kept in the namespace, with the statement's call as the root's child
    r = kernel.run("print(_wasmprof.total_ticks, [n.name for n in _wasmprof.children(_wasmprof.root)])")
    assert r["stream"].split(None, 1) == [str(expected), "['fib']\n"]


def test_cell_magic_with_options(kernel, tmp_path):
    out = tmp_path / "cell.speedscope.json"
    cost = tmp_path / "gas.json"
    cost.write_text(json.dumps({"default": 3, "call": 10}))
    r = kernel.run(f"%%wasmprof --top 2 --cost {cost} --time -o {out}\n"
                   "kernel.exports.run(100)\n"
                   "total = sum(fib.exports.fib(i) for i in range(8))\n"
                   "print('cell ran', total)")
    assert r["error"] is None, r
    assert "cell ran 33" in r["stream"]
    html = "".join(r["html"])
    assert "Top 2 functions" in html and "cost table" in html
    assert json.loads(out.read_text())["$schema"].startswith("https://www.speedscope.app")
    r = kernel.run("print(sorted(n.name for n in _wasmprof.children(_wasmprof.root)), _wasmprof.timed)")
    # the first module entered names plainly, the other one as file!func
    assert r["stream"] == "['fib.wasm!fib', 'run'] True\n"


def test_the_cell_error_still_shows_the_profile(kernel):
    r = kernel.run("%%wasmprof\nfib.exports.fib(10)\nraise ValueError('after the guest')")
    assert r["error"] is not None and r["error"][0] == "ValueError"
    assert any("<svg" in h for h in r["html"])


def test_lines_option_opens_the_source_line_view(kernel):
    r = kernel.run("%wasmprof --lines 5 fib.exports.fib(10)")
    assert r["error"] is None, r
    html = "".join(r["html"])
    assert "Top 1 source lines by ticks" in html  # fib.wasm has no DWARF: one row for fib
    assert "no DWARF line table" in html and "fib (no source line)" in html
    assert 'class="wpn-v-lines" checked' in html


@pytest.mark.parametrize("line,message", [
    ("%wasmprof --top x fib.exports.fib(3)", "argument --top: invalid int value"),
    ("%wasmprof", "nothing to profile"),
    ("%wasmprof --format svg fib.exports.fib(3)", "--format needs -o FILE"),
    ("%wasmprof -o out.unknownext fib.exports.fib(3)", "cannot tell the profile format"),
])
def test_mistakes_are_one_line(kernel, line, message):
    r = kernel.run(line)
    assert r["error"] is None, r
    assert message in r["stream"] and len(r["stream"].strip().splitlines()) == 1
    assert not r["html"]
