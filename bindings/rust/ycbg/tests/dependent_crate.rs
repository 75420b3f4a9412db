//! A user's crate that depends on `ycbg` by path, with nothing else (no
//! `ycbg-sys` line, no build.rs), builds offline and runs the seed workflow
//! under `cargo run`; its binary carries no rpath, and runs directly with
//! `LD_LIBRARY_PATH=<repo>/build/lib` (the README's recipe).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const MAIN_RS: &str = r#"
fn main() -> Result<(), ycbg::Error> {
    let client = ycbg::Client::from_env()?;
    let task = client.create("yandexgpt", "from a dependent crate")?;
    task.wait(Some(std::time::Duration::from_secs(60)))?;
    println!("{}", task.output_text()?);
    Ok(())
}
"#;

fn write_crate(dir: &Path) {
    let ycbg = repo_root().join("bindings/rust/ycbg").canonicalize().expect("bindings/rust/ycbg");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"ycbg-user\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
         [dependencies]\nycbg = {{ path = {:?} }}\n",
        ycbg.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN_RS).unwrap();
}

fn check(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn a_crate_with_only_the_dependency_line_builds_and_runs() {
    let emu = Emulator::start_with(20, 30, &[]);
    let dir = std::env::temp_dir().join(format!("ycbg-user-crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_crate(&dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let env = |cmd: &mut Command| {
        cmd.current_dir(&dir)
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("RUSTFLAGS")
            .env("YC_BASE_URL", &emu.base_url)
            .env("YC_API_KEY", API_KEY)
            .env("YC_FOLDER_ID", FOLDER)
            .env_remove("YC_IAM_TOKEN");
    };

    let mut run = Command::new(&cargo);
    run.args(["run", "--offline", "--quiet"]);
    env(&mut run);
    let stdout = check(&run.output().expect("cargo run"), "cargo run");
    assert_eq!(stdout.trim_end(), "Echo: from a dependent crate");

    // The binary itself: no rpath baked in; it runs with LD_LIBRARY_PATH.
    let bin: PathBuf = dir.join("target/debug/ycbg-user");
    let readelf = Command::new("readelf").arg("-d").arg(&bin).output().expect("readelf");
    let dynamic = check(&readelf, "readelf");
    assert!(!dynamic.contains("RPATH") && !dynamic.contains("RUNPATH"), "{dynamic}");
    let mut direct = Command::new(&bin);
    env(&mut direct);
    direct.env("LD_LIBRARY_PATH", repo_root().join("build/lib"));
    let stdout = check(&direct.output().expect("the binary"), "the binary with LD_LIBRARY_PATH");
    assert_eq!(stdout.trim_end(), "Echo: from a dependent crate");
    let _ = std::fs::remove_dir_all(&dir);
}
