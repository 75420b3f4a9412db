"""Build hook: bundle the built libycbg.so.0 into the package as ycbg/_lib/.

The library is taken from $YCBG_LIBRARY (a file, or a directory holding
libycbg.so.0) or else from <repo>/build/lib/libycbg.so.0 (built by `make`).
Without it the build fails: the package is useless without its library.

The build happens out of tree: setuptools' build/ and ycbg.egg-info/ go to
a temporary directory (removed at exit), so `pip install ./bindings/python`
leaves the source tree as it was.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.dist import Distribution
from setuptools.command.build_py import build_py

LIBRARY_NAME = "libycbg.so.0"
HERE = Path(__file__).resolve().parent


def find_library() -> Path:
    env = os.environ.get("YCBG_LIBRARY")
    if env:
        p = Path(env)
        candidate = p / LIBRARY_NAME if p.is_dir() else p
        where = f"YCBG_LIBRARY={env}"
    else:
        candidate = HERE.parent.parent / "build" / "lib" / LIBRARY_NAME
        where = "the project's build/lib (run `make` first)"
    if not candidate.is_file():
        raise SystemExit(
            f"\nycbg: cannot find {LIBRARY_NAME} at {candidate} ({where}).\n"
            "Build the library with `make` in the project root, or set "
            "YCBG_LIBRARY to the path of libycbg.so.0, then install again.\n")
    return candidate


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        source = find_library()
        target_dir = Path(self.build_lib) / "ycbg" / "_lib"
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / LIBRARY_NAME
        shutil.copyfile(source, target)  # follows a symlink to the real file
        os.chmod(target, 0o755)
        self.announce(f"bundled {source} as {target}", level=2)


cmdclass = {"build_py": BuildPyWithLibrary}

# The wheel carries a Linux shared library: tag it py3-none-<platform>, not "any".
try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    try:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore
    except ImportError:
        _bdist_wheel = None

if _bdist_wheel is not None:
    class BdistWheelPlatform(_bdist_wheel):  # type: ignore[misc,valid-type]
        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):  # type: ignore[no-untyped-def]
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = BdistWheelPlatform

_scratch = tempfile.mkdtemp(prefix="ycbg-python-build-")
atexit.register(shutil.rmtree, _scratch, True)

class BinaryDistribution(Distribution):
    """Holds a native library: installed as platlib, never as a pure package
    (auditwheel refuses shared libraries under .data/purelib)."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass=cmdclass, distclass=BinaryDistribution,
      options={"build": {"build_base": os.path.join(_scratch, "build")},
               "egg_info": {"egg_base": _scratch}})
