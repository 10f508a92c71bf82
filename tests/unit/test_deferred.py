"""The import guard for modules that reach the page after the dialog is up.

Reproduces the page's situation on CPython: a zip on sys.path whose directory zipimport
has already read (in the page, the snapshot holds it) while the file itself is still an
empty placeholder.
"""

from __future__ import annotations

import importlib
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vouch.dialog import deferred


@pytest.fixture
def late_zip(tmp_path: Path) -> Iterator[Path]:
    archive = tmp_path / "late.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("late_module_for_test.py", "ANSWER = 42\n")
    sys.path.append(str(archive))
    importlib.invalidate_caches()
    yield archive
    deferred.uninstall()
    sys.path.remove(str(archive))
    sys.path_importer_cache.pop(str(archive), None)
    sys.modules.pop("late_module_for_test", None)


def test_import_before_arrival_names_the_cause(late_zip: Path) -> None:
    content = late_zip.read_bytes()
    importlib.machinery.PathFinder.find_spec("late_module_for_test")  # zipimport reads the TOC
    late_zip.write_bytes(b"")  # the page's placeholder until the download is written
    deferred.install([str(late_zip)])

    with pytest.raises(ImportError, match="late_module_for_test comes with the page's deferred"):
        importlib.import_module("late_module_for_test")
    assert "late_module_for_test" not in sys.modules

    late_zip.write_bytes(content)
    assert importlib.import_module("late_module_for_test").ANSWER == 42
    assert not any(isinstance(f, deferred.NotYetLoaded) for f in sys.meta_path)


def test_other_imports_pass_while_waiting(late_zip: Path) -> None:
    late_zip.write_bytes(b"")
    deferred.install([str(late_zip)])
    assert importlib.import_module("json.decoder").JSONDecoder is not None
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("no_such_module_anywhere")


def test_install_twice_keeps_one_guard(late_zip: Path) -> None:
    late_zip.write_bytes(b"")
    deferred.install([str(late_zip)])
    deferred.install([str(late_zip)])
    assert sum(isinstance(f, deferred.NotYetLoaded) for f in sys.meta_path) == 1
