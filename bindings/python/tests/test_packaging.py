"""The package bundles the library at build time and loads it in the documented order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ycbg
from conftest import PKG_ROOT


def _env(**overrides: str) -> dict:
    env = dict(os.environ)
    env.pop("YCBG_LIBRARY", None)
    env.pop("PYTHONPATH", None)
    env.update(overrides)
    return env


def _source_copy(tmp_path: Path) -> Path:
    """The package's build inputs, copied so the build writes nothing into the tree."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copyfile(PKG_ROOT / name, src / name)
    shutil.copytree(PKG_ROOT / "ycbg", src / "ycbg",
                    ignore=shutil.ignore_patterns("__pycache__", "_lib"))
    return src


def test_build_py_bundles_the_library(tmp_path: Path) -> None:
    lib = ycbg.library_path
    build_lib = tmp_path / "lib"
    out = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build_lib)],
        cwd=_source_copy(tmp_path), env=_env(YCBG_LIBRARY=lib), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    bundled = build_lib / "ycbg" / "_lib" / "libycbg.so.0"
    assert bundled.is_file() and bundled.read_bytes() == Path(lib).read_bytes()
    assert (build_lib / "ycbg" / "py.typed").is_file()
    # The built tree loads its bundled copy when YCBG_LIBRARY is not set.
    code = "import ycbg; print(ycbg.library_path); print(ycbg.library_version())"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                         env=_env(PYTHONPATH=str(build_lib)), capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.splitlines()[0]) == bundled
    assert run.stdout.splitlines()[1] == ycbg.library_version()


def test_build_fails_clearly_without_the_library(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=_source_copy(tmp_path), env=_env(YCBG_LIBRARY=str(tmp_path / "missing.so")),
        capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "libycbg.so.0" in out.stderr and "YCBG_LIBRARY" in out.stderr


def test_ycbg_library_env_wins_and_is_not_second_guessed(tmp_path: Path) -> None:
    code = "import ycbg"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                         env=_env(PYTHONPATH=str(PKG_ROOT),
                                  YCBG_LIBRARY=str(tmp_path / "nope.so")),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "nope.so" in run.stderr and "YCBG_LIBRARY" in run.stderr
    # a directory holding libycbg.so.0 is accepted too
    libdir = tmp_path / "libdir"
    libdir.mkdir()
    shutil.copyfile(ycbg.library_path, libdir / "libycbg.so.0")
    run = subprocess.run([sys.executable, "-c", "import ycbg; print(ycbg.library_path)"],
                         cwd=tmp_path, env=_env(PYTHONPATH=str(PKG_ROOT), YCBG_LIBRARY=str(libdir)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == libdir / "libycbg.so.0"


def _tree(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_pip_builds_out_of_tree_from_a_copy(tmp_path: Path) -> None:
    # `pip install <copy of bindings/python>` with YCBG_LIBRARY: the build
    # writes neither build/ nor *.egg-info into the source it was given.
    src = _source_copy(tmp_path)
    shutil.copytree(PKG_ROOT / "tests", src / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    before = _tree(src)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "-w", str(tmp_path / "dist"), str(src)],
        cwd=tmp_path, env=_env(YCBG_LIBRARY=ycbg.library_path), capture_output=True, text=True,
        timeout=600)
    assert out.returncode == 0, out.stderr
    assert _tree(src) == before, f"the build wrote into the source tree: {sorted(_tree(src) - before)}"
    wheels = list((tmp_path / "dist").glob("ycbg-*.whl"))
    assert len(wheels) == 1, wheels
    import zipfile
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
    assert "ycbg/_lib/libycbg.so.0" in names and "ycbg/_version.py" in names
    assert wheels[0].name.startswith(f"ycbg-{ycbg.__version__}-py3-none-linux_")
