"""The package version: the C library's, YCBG_VERSION_* in include/ycbg.h.

tests/test_config_keys.py fails when the two differ; scripts/set-version.sh
changes every copy at once."""

__version__ = "0.2.0"
