"""Sphinx configuration: `pip install -e '.[docs]' && make -C docs html`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from bioie_kedro import __version__ as release  # noqa: E402

project = "bioie-kedro"
author = "bioie-kedro developers"
version = ".".join(release.split(".")[:2])
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "sphinx_rtd_theme"
autodoc_typehints = "description"
