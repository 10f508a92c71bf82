"""A private copy of web/ for the benchmarks, with the floor page the dialog is compared to.

The floor is what any Pyodide page on this server pays at least: a page that imports
``pyodide.mjs`` from the same self-hosted files the dialog uses and runs ``loadPyodide()``,
nothing else (no PyScript, no packages). It is written into the copy, not shipped in web/,
and served by the real server like every other file (so it gets the same headers,
compression and caching); the page needs no inline script, so the site's CSP applies as is.
The copy is hard links where the file system allows it, so it costs no disk and no time.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
FLOOR_PATH = "/__bench__/floor.html"

FLOOR_HTML = """<!doctype html>
<html lang="en" data-ready="false">
<head>
  <meta charset="utf-8">
  <title>vouch bench: the loadPyodide() floor</title>
  <link rel="icon" href="data:,">
  <script type="module" src="/__bench__/floor.mjs"></script>
</head>
<body><p>loadPyodide() and nothing else.</p></body>
</html>
"""

FLOOR_MODULE = """import {{ loadPyodide }} from "{index_url}pyodide.mjs";

try {{
  await loadPyodide({{ indexURL: "{index_url}" }});
  document.documentElement.dataset.ready = "true";
}} catch (error) {{
  document.documentElement.dataset.ready = "error";
  throw error;
}}
"""


def pyodide_index_url(web: Path = WEB) -> str:
    """Where the build put the Pyodide runtime, as a URL path ending in a slash.

    scripts/build_web.py records it in web/v/build.json; older builds used /pyodide/.
    """
    manifest = web / "v" / "build.json"
    if manifest.is_file():
        index_url = json.loads(manifest.read_text())["pyodide_index_url"]
        assert isinstance(index_url, str)
        return index_url
    return "/pyodide/"


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def make_web_root(directory: Path, web: Path = WEB) -> Path:
    """Copy ``web`` into ``directory``/web and add the floor page; returns the copy."""
    if not (web / "dialog.html").is_file():
        raise RuntimeError(f"{web} has no dialog.html")
    copy = directory / "web"
    shutil.copytree(web, copy, copy_function=_link_or_copy)
    bench = copy / "__bench__"
    bench.mkdir()
    (bench / "floor.html").write_text(FLOOR_HTML)
    (bench / "floor.mjs").write_text(FLOOR_MODULE.format(index_url=pyodide_index_url(web)))
    return copy
