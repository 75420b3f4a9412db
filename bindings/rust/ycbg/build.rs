//! `cargo:rustc-link-arg` emitted by ycbg-sys applies only to ycbg-sys's own
//! targets, so re-emit its rpath (published as DEP_YCBG_RPATH) for this
//! crate's tests and examples: they then run without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_YCBG_RPATH");
    if let Ok(rpath) = std::env::var("DEP_YCBG_RPATH") {
        if !rpath.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{rpath}");
        }
    }
}
