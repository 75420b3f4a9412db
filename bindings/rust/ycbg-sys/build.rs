//! Finds libycbg and tells cargo how to link it.
//!
//! Search order:
//!   1. `YCBG_LIB_DIR` (a directory holding `libycbg.so`);
//!   2. the `pkg-config` program (`pkg-config --libs-only-L ycbg`, with
//!      `--variable=libdir` as a fallback when the -L list is empty because
//!      the library sits in a system directory);
//!   3. the in-tree build output `<repo>/build/lib`.
//!
//! No rpath is baked into anybody's program.  The library found is copied
//! into this package's `OUT_DIR`, which is the directory emitted as
//! `rustc-link-search`: cargo passes it to the link of every crate that
//! depends on `ycbg` (the dependency line alone is enough), and because it
//! lies inside the target directory, `cargo run` and `cargo test` put it on
//! the loader's path.  A binary started by other means finds the library
//! where the loader looks: `make install` (+ `ldconfig`), or
//! `LD_LIBRARY_PATH`.  The directory is also published as metadata
//! (`DEP_YCBG_LIB_DIR` in the build scripts of crates that depend on
//! ycbg-sys directly).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SONAME: &str = "libycbg.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["YCBG_LIB_DIR", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let (dirs, source) = find_library();
    let found = dirs.iter().find(|d| d.join(SONAME).exists() || d.join("libycbg.so").exists());
    match found {
        Some(dir) => {
            let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("lib");
            let lib = if dir.join(SONAME).exists() { dir.join(SONAME) } else { dir.join("libycbg.so") };
            println!("cargo:rerun-if-changed={}", lib.display());
            match copy_library(&lib, &out) {
                Ok(()) => println!("cargo:rustc-link-search=native={}", out.display()),
                Err(e) => {
                    println!("cargo:warning=ycbg-sys: cannot copy {} into {}: {e}", lib.display(), out.display());
                    println!("cargo:rustc-link-search=native={}", dir.display());
                }
            }
            println!("cargo:lib_dir={}", dir.display());
        }
        None => {
            for dir in &dirs {
                println!(
                    "cargo:warning=ycbg-sys: no libycbg.so in {} (found via {source}); linking will fail until the library is built",
                    dir.display()
                );
                println!("cargo:rustc-link-search=native={}", dir.display());
            }
        }
    }
    println!("cargo:rustc-link-lib=dylib=ycbg");
}

/// `out/libycbg.so.0` (a copy of `lib`) and `out/libycbg.so` linking to it.
fn copy_library(lib: &Path, out: &Path) -> std::io::Result<()> {
    fs::create_dir_all(out)?;
    let target = out.join(SONAME);
    let tmp = out.join(format!("{SONAME}.tmp"));
    fs::copy(lib, &tmp)?; // follows a symlink to the real file
    fs::rename(&tmp, &target)?;
    let link = out.join("libycbg.so");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(SONAME, &link)
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
