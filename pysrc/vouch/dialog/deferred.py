"""Modules that reach the page after the dialog is interactive.

The dialog starts from a memory snapshot that holds every module its first screens use.
The rest of the standard library and the packages only some screens need (zxcvbn for
passphrases, segno for the recovery kit's QR code) come in two zips that the page fetches
once the dialog is up (scripts/build_web.py, the boot module). Code that needs them awaits
`jsbridge.load_deferred()` first; until they are written, importing one of their modules
raises an ImportError that says so, rather than a zipimport failure on a missing file.
"""

from __future__ import annotations

import os
import sys
import zipimport
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

MODULE_SUFFIXES = (".py", ".pyc", "/__init__.py", "/__init__.pyc")


def present(path: str) -> bool:
    """Whether a deferred archive has been written (the stdlib starts as an empty file)."""
    try:
        return os.stat(path).st_size > 0
    except OSError:
        return False


def listed(archive: str, name: str) -> bool:
    """Whether zipimport's directory of `archive` (read before the file emptied) has `name`.

    Asks the directory rather than the finder: finding a module in a zip reads the file
    on CPython 3.11, which fails on the empty placeholder.
    """
    directory = getattr(zipimport, "_zip_directory_cache", {}).get(archive, {})
    stem = name.replace(".", "/")
    return any(stem + suffix in directory for suffix in MODULE_SUFFIXES)


class NotYetLoaded:
    """A meta path finder that refuses modules whose archive has not arrived yet."""

    def __init__(self, archives: Sequence[str]):
        self.archives = tuple(archives)

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        missing = [archive for archive in self.archives if not present(archive)]
        if not missing:
            uninstall()
            return None
        if any(listed(archive, name) for archive in missing):
            raise ImportError(
                f"{name} comes with the page's deferred files, which have not arrived: "
                "await jsbridge.load_deferred() before importing it",
                name=name,
            )
        return None


def install(archives: Sequence[str]) -> None:
    """Guard imports from `archives` until each of them is written."""
    uninstall()
    sys.meta_path.insert(0, NotYetLoaded(archives))


def uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, NotYetLoaded)]
