"""Sphinx configuration: the wasmprof documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs build/docs``
(``pip install -e '.[docs]'`` first); tests/project/test_docs.py does the same with
warnings as errors.  Guides are Markdown (myst-parser), the API reference is
autodoc over the installed package (the C extension's docstrings come from
csrc/py/*.c), the CLI reference is sphinx-argparse over wasmprof.cli's parser.
"""
from __future__ import annotations

import os
import sys

# The package must be importable (pip install -e . builds the extension);
# docs/_ext holds this project's small Sphinx extension.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

import wasmprof  # noqa: E402

project = "wasmprof"
author = "the wasmprof authors"
copyright = "the wasmprof authors"
release = wasmprof.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinxarg.ext",
    "wasmprof_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown: heading anchors so guides can link to sections ([text](file.md#anchor)).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# The docstrings are plain reST.  Signatures: the C extension's first
# docstring lines ("Module(data)") give its signatures; Python code's come
# from the annotations, shown in the description rather than the signature.
autodoc_member_order = "groupwise"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_default_options = {"show-inheritance": True, "undoc-members": True}
autodoc_class_signature = "mixed"
add_module_names = False
python_use_unqualified_type_names = True

html_theme = "furo"
html_title = f"wasmprof {release}"
html_static_path: list[str] = []
