//! Embed an rpath to the directory ycbg-sys linked libycbg from, so the
//! example runs without LD_LIBRARY_PATH (`rustc-link-arg` from a dependency
//! does not reach this binary).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_YCBG_RPATH");
    if let Ok(rpath) = std::env::var("DEP_YCBG_RPATH") {
        if !rpath.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{rpath}");
        }
    }
}
