import CYCShim

/// The library version.  Written once, as the YCBG_VERSION_MAJOR / _MINOR /
/// _PATCH macros of include/ycbg.h; the C shim turns them into this string
/// and the Makefile reads the same macros.
public enum Version {
    public static let string = String(cString: ycs_version_string())
}
