"""The README, walked as a reader would: every Python block runs, in order,
in one interpreter; every `python -m wasmprof ...` line of a shell block runs
on the bundled files and exits as documented (status 0, or the status a
comment on the line names: "exit status N").  A `print(...)` whose comment
holds a value ("# 75025", "# 0: ...") must print exactly that value (the
comment up to its first colon).  The run happens in a scratch directory that
sees the project's examples/ and bench/ and, beside it, the spec tests."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import List, Tuple

from helpers.env import python_env
from helpers.paths import ROOT, SPEC_DIR

README = ROOT / "README.md"
PRINT_WITH_VALUE = re.compile(r"^(\s*)print\((.*)\)\s+#\s*(.+?)\s*$")
CLI = re.compile(r"python -m wasmprof\b")


def blocks() -> List[Tuple[str, int, str]]:
    """(language, first line number, text) of each fenced block."""
    text = README.read_text()
    return [(m.group(1), text[:m.start()].count("\n") + 2, m.group(2))
            for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]


def shell_commands(text: str, first_line: int) -> List[Tuple[int, str, int]]:
    """(README line, command, expected exit status) of the wasmprof lines."""
    out = []
    for i, line in enumerate(text.splitlines()):
        if not CLI.search(line):
            continue
        command, _, comment = line.partition("  #")
        if command.startswith("bash "):  # the quick start's setup part is CI's own step
            command = command[CLI.search(command).start():]
        status = re.search(r"exit status (\d+)", comment)
        out.append((first_line + i, command.strip(), int(status.group(1)) if status else 0))
    return out


def python_lines(text: str, first_line: int) -> List[str]:
    """The block's lines, each print with a value comment made a check."""
    out = []
    for i, line in enumerate(text.splitlines()):
        m = PRINT_WITH_VALUE.match(line)
        value = m.group(3).split(":", 1)[0].strip() if m else ""
        if m and not value.startswith(("the ", "(")):
            out.append(f"{m.group(1)}_check_print(({m.group(2)},), {value!r}, {first_line + i})")
        else:
            out.append(line)
    return out


DRIVER_HEAD = '''
import subprocess, sys
def _check_print(args, expected, line):
    text = " ".join(str(a) for a in args)
    print(text)
    assert text == expected, f"README.md:{line}: printed {text!r}, the README says {expected!r}"
def _shell(command, status, line):
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == status, (
        f"README.md:{line}: {command!r} exited {proc.returncode}, the README says {status}\\n{proc.stderr[-2000:]}")
    assert "Traceback" not in proc.stderr, f"README.md:{line}: {proc.stderr[-2000:]}"
'''


def test_the_readme_runs(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name in ("examples", "bench"):
        (work / name).symlink_to(ROOT / name)
    (tmp_path / "shared").symlink_to(SPEC_DIR.parent)  # ../shared, as beside the project
    script = [DRIVER_HEAD]
    ran = {"python": 0, "sh": 0}
    for lang, line, text in blocks():
        if lang == "python":
            script.append(f"# README.md:{line}")
            script += python_lines(text, line)
            ran["python"] += 1
        elif lang == "sh":
            for at, command, status in shell_commands(text, line):
                script.append(f"_shell({command!r}, {status}, {at})")
                ran["sh"] += 1
    assert ran["python"] >= 9 and ran["sh"] >= 6, ran
    (tmp_path / "readme_walk.py").write_text("\n".join(script) + "\n")
    proc = subprocess.run([sys.executable, str(tmp_path / "readme_walk.py")], cwd=work, env=python_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    # what the walk left behind is what the README says it writes
    assert {"kernel.svg", "kernel.json", "core.wasm"} <= set(os.listdir(work))
    assert json.loads((work / "kernel.json").read_text())["$schema"].startswith("https://www.speedscope.app")
