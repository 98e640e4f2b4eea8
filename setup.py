"""Build script for wasmprof: the Python package and its C extension _core.

The extension is built from every C file of the core (csrc/*.c) plus the
CPython bindings (csrc/py/*.c).  Environment switches:

  WASMPROF_WERROR=1     compile with -Werror
  WASMPROF_SANITIZE=1   compile and link with AddressSanitizer and UBSan
                        (switch dispatch in the interpreter loops)
"""
import glob
import os
import sys

from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _rel_glob(pattern: str) -> list:
    """Sorted paths matching pattern, relative to this directory (setuptools wants relative paths)."""
    return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, pattern)))


def _extension() -> Extension:
    compile_args = ["-std=c11", "-Wall", "-Wextra", "-O2"]
    link_args = []
    if os.environ.get("WASMPROF_WERROR") == "1":
        compile_args.append("-Werror")
    if os.environ.get("WASMPROF_SANITIZE") == "1":
        sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
        # The loops dispatch through a switch here: GCC instruments a
        # computed-goto loop of ~1,600 labels per variant for over 25 minutes.
        # The handlers are the same code either way.
        compile_args += sanitize + ["-DWP_NO_COMPUTED_GOTO"]
        link_args += sanitize
    return Extension(
        "wasmprof._core",
        sources=_rel_glob("csrc/*.c") + _rel_glob("csrc/py/*.c"),
        include_dirs=["include", "csrc"],
        depends=_rel_glob("include/*.h") + _rel_glob("csrc/*.h") + _rel_glob("csrc/*.def")
        + _rel_glob("csrc/py/*.h"),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        # ffi: native imports (csrc/native.c); iberty: libiberty's demangler (names.c)
        libraries=[] if sys.platform == "win32" else ["ffi", "m", "iberty"],
    )


setup(
    name="wasmprof",
    version="0.1.0",
    description="A WebAssembly 2.0 interpreter with an exact profiler",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=find_packages(where="python"),
    package_data={"wasmprof": ["py.typed", "*.pyi"]},
    ext_modules=[_extension()],
    extras_require={
        "test": ["pytest", "wasmtime", "pandas", "matplotlib", "nbclient", "nbformat", "ipykernel",
                 "jsonschema"],
        # bench/run.py's peers: wasm3 (pywasm3 builds it from source) and wasmtime.
        "bench": ["pywasm3", "wasmtime"],
    },
    entry_points={"console_scripts": ["wasmprof = wasmprof.cli:main"]},
    zip_safe=False,
)
