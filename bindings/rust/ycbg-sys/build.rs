//! Finds libycbg and tells cargo how to link it.
//!
//! Search order:
//!   1. `YCBG_LIB_DIR` (a directory holding `libycbg.so`);
//!   2. the `pkg-config` program (`pkg-config --libs-only-L ycbg`, with
//!      `--variable=libdir` as a fallback when the -L list is empty because
//!      the library sits in a system directory);
//!   3. the in-tree build output `<repo>/build/lib`.
//!
//! Emits `rustc-link-search`, `rustc-link-lib=dylib=ycbg` and an rpath for
//! this package's own tests.  `rustc-link-arg` does not reach dependent
//! packages, so the directory is also published as metadata
//! (`DEP_YCBG_LIB_DIR` / `DEP_YCBG_RPATH` in the build scripts of crates that
//! depend on ycbg-sys directly); the `ycbg` crate re-emits the rpath from it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["YCBG_LIB_DIR", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let (dirs, source) = find_library();
    for dir in &dirs {
        if !dir.join("libycbg.so").exists() && !dir.join("libycbg.so.0").exists() {
            println!(
                "cargo:warning=ycbg-sys: no libycbg.so in {} (found via {source}); linking will fail until the library is built",
                dir.display()
            );
        }
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=ycbg");

    if !dirs.is_empty() {
        let rpath = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{rpath}");
        // Metadata for dependents (links = "ycbg" => DEP_YCBG_*).
        println!("cargo:lib_dir={}", dirs[0].display());
        println!("cargo:rpath={rpath}");
    }
}

fn find_library() -> (Vec<PathBuf>, &'static str) {
    if let Some(dir) = env::var_os("YCBG_LIB_DIR").filter(|v| !v.is_empty()) {
        return (vec![absolute(PathBuf::from(dir))], "YCBG_LIB_DIR");
    }
    if let Some(dirs) = pkg_config() {
        return (dirs, "pkg-config");
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    // <repo>/bindings/rust/ycbg-sys -> <repo>
    let repo = manifest.join("..").join("..").join("..");
    let dir = repo.join("build").join("lib");
    let dir = dir.canonicalize().unwrap_or(dir);
    println!("cargo:rerun-if-changed={}", dir.display());
    (vec![dir], "the in-tree default <repo>/build/lib")
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        return p;
    }
    p.canonicalize().unwrap_or_else(|_| env::current_dir().map(|c| c.join(&p)).unwrap_or(p))
}

/// `Some(dirs)` when pkg-config knows ycbg; `dirs` may be empty when the
/// library lives in a directory the linker searches anyway.
fn pkg_config() -> Option<Vec<PathBuf>> {
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(&program).args(["--libs-only-L", "ycbg"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut dirs: Vec<PathBuf> = text
        .split_whitespace()
        .filter_map(|tok| tok.strip_prefix("-L"))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        // pkg-config drops system directories from -L; ask for libdir so the
        // rpath still points at the right place.
        if let Ok(out) = Command::new(&program).args(["--variable=libdir", "ycbg"]).output() {
            let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !d.is_empty() && Path::new(&d).is_dir() {
                dirs.push(PathBuf::from(d));
            }
        }
    }
    Some(dirs)
}
