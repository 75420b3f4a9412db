"""Loading of libycbg and the ctypes prototypes of its C ABI (include/ycbg.h).

Nothing in here knows about HTTP or JSON beyond moving strings across the
boundary: every ``char *`` the library returns is declared ``c_void_p`` so
ctypes does not convert (and leak) it; :func:`take_string` copies it into
Python and releases it with ``yc_free`` exactly once.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

__all__ = ["lib", "library_path", "take_string", "LIBRARY_NAME"]

LIBRARY_NAME = "libycbg.so.0"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates() -> List[Path]:
    """Where the library is looked for, in order (see README)."""
    env = os.environ.get("YCBG_LIBRARY")
    if env:
        p = Path(env)
        # An explicit choice never falls back to something else.
        return [p / LIBRARY_NAME if p.is_dir() else p]
    found = [_PACKAGE_DIR / "_lib" / LIBRARY_NAME]
    # In-tree: <repo>/bindings/python/ycbg/_native.py -> <repo>/build/lib
    parents = _PACKAGE_DIR.parents
    if len(parents) >= 3:
        found.append(parents[2] / "build" / "lib" / LIBRARY_NAME)
    return found


def _load() -> Tuple[ctypes.CDLL, str]:
    tried = _candidates()
    errors = []
    for path in tried:
        if not path.exists():
            errors.append(f"{path}: not found")
            continue
        try:
            return ctypes.CDLL(str(path)), str(path)
        except OSError as exc:  # wrong architecture, missing dependency, ...
            errors.append(f"{path}: {exc}")
    hint = (
        "set YCBG_LIBRARY to the path of libycbg.so.0, or build the project "
        "(make) and reinstall the package (pip install ./bindings/python)"
    )
    raise ImportError("ycbg: cannot load the libycbg C library ("
                      + "; ".join(errors) + "); " + hint)


lib, library_path = _load()


def compatible(want: str, have: str) -> bool:
    """Whether library version ``have`` serves a package made for ``want``:
    the same major version and at least its minor (a minor release only adds)."""
    try:
        w = [int(p) for p in want.split(".")[:2]]
        h = [int(p) for p in have.split(".")[:2]]
    except ValueError:
        return False
    return len(w) == 2 and len(h) == 2 and h[0] == w[0] and h[1] >= w[1]


def _check_version() -> None:
    from ._version import __version__
    lib.yc_version.restype = ctypes.c_char_p
    lib.yc_version.argtypes = []
    found = (lib.yc_version() or b"").decode("ascii", errors="replace")
    if not compatible(__version__, found):
        major, minor = __version__.split(".")[:2]
        raise ImportError(f"ycbg {__version__} needs libycbg {major}.{minor} or a later "
                          f"{major}.x, but {library_path} is version {found!r}; "
                          "set YCBG_LIBRARY to a matching libycbg.so.0")


_check_version()

_c_void_p_p = ctypes.POINTER(ctypes.c_void_p)


def _proto(name: str, restype: Any, argtypes: List[Any]) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes


# Library
_proto("yc_version", ctypes.c_char_p, [])              # static, borrowed
_proto("yc_status_name", ctypes.c_char_p, [ctypes.c_int])  # static, borrowed
_proto("yc_free", None, [ctypes.c_void_p])
# Client
_proto("yc_client_new", ctypes.c_void_p, [ctypes.c_char_p, _c_void_p_p])
_proto("yc_client_free", None, [ctypes.c_void_p])
# Tasks
_proto("yc_create_background", ctypes.c_void_p,
       [ctypes.c_void_p, ctypes.c_char_p, _c_void_p_p])
_proto("yc_attach", ctypes.c_void_p,
       [ctypes.c_void_p, ctypes.c_char_p, _c_void_p_p])
_proto("yc_task_id", ctypes.c_char_p, [ctypes.c_void_p])  # borrowed
_proto("yc_poll", ctypes.c_int, [ctypes.c_void_p])
_proto("yc_wait", ctypes.c_int, [ctypes.c_void_p, ctypes.c_long])
_proto("yc_cancel", ctypes.c_int, [ctypes.c_void_p])
_proto("yc_result", ctypes.c_void_p, [ctypes.c_void_p])       # owned
_proto("yc_output_text", ctypes.c_void_p, [ctypes.c_void_p])  # owned
_proto("yc_output_text_len", ctypes.c_void_p,                   # owned, whole text
       [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)])
_proto("yc_task_free", None, [ctypes.c_void_p])
# The same with the error of this very call (0.2)
_proto("yc_poll_ex", ctypes.c_int, [ctypes.c_void_p, _c_void_p_p])
_proto("yc_wait_ex", ctypes.c_int, [ctypes.c_void_p, ctypes.c_long, _c_void_p_p])
_proto("yc_cancel_ex", ctypes.c_int, [ctypes.c_void_p, _c_void_p_p])


class Event(ctypes.Structure):
    """``yc_event``: one finished task as yc_next_events() hands it out."""

    _fields_ = [
        ("task", ctypes.c_void_p),        # borrowed
        ("tag", ctypes.c_uint64),
        ("status", ctypes.c_int),
        ("error_json", ctypes.c_void_p),  # owned: take_string() it
    ]


# Many tasks (0.2)
_proto("yc_submit", ctypes.c_void_p,
       [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, _c_void_p_p])
_proto("yc_watch", ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint64])
_proto("yc_next_events", ctypes.c_int,
       [ctypes.c_void_p, ctypes.POINTER(Event), ctypes.c_int, ctypes.c_long])
_proto("yc_client_fd", ctypes.c_int, [ctypes.c_void_p])


def take_string(ptr: Optional[int]) -> Optional[bytes]:
    """Copy an owned ``char *`` into bytes and release it with yc_free (once)."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr)
    finally:
        lib.yc_free(ptr)


def take_string_len(ptr: Optional[int], length: int) -> Optional[bytes]:
    """Like :func:`take_string` for a string of ``length`` bytes that may hold NULs."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr, length)
    finally:
        lib.yc_free(ptr)


def new_error_slot() -> ctypes.c_void_p:
    """A ``char *`` out-parameter for ``error_json``."""
    return ctypes.c_void_p(None)
