//! Link-time set-up for libtorch.
//!
//! The linker's as-needed mode drops `libtorch_cuda.so` because callvar references none of
//! its symbols directly, and without it libtorch never registers the CUDA backend. This
//! script finds the libtorch `lib/` folder (from `LIBTORCH`, or from the `torch` package of
//! the `python3` on PATH when `LIBTORCH_USE_PYTORCH` is set, as torch-sys does), keeps
//! `libtorch_cuda.so` linked when it exists, and sets an rpath so the binary runs without
//! `LD_LIBRARY_PATH`.
use std::path::PathBuf;
use std::process::Command;

fn libtorch_lib_dir() -> Option<PathBuf> {
    if let Ok(root) = std::env::var("LIBTORCH") {
        return Some(PathBuf::from(root).join("lib"));
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let out = Command::new("python3")
            .args([
                "-c",
                "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
            ])
            .output()
            .ok()?;
        if out.status.success() {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    None
}

/// Embeds the default model (weights + card) when `models/illumina-wgs/` holds one.
fn embed_default_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/illumina-wgs");
    let (w, c) = (dir.join("model.ot"), dir.join("card.json"));
    println!("cargo:rerun-if-changed={}", w.display());
    println!("cargo:rerun-if-changed={}", c.display());
    let code = if w.is_file() && c.is_file() {
        format!(
            "pub const DEFAULT_WEIGHTS: &[u8] = include_bytes!({:?});\npub const DEFAULT_CARD: &str = include_str!({:?});\n",
            w.display().to_string(),
            c.display().to_string()
        )
    } else {
        "pub const DEFAULT_WEIGHTS: &[u8] = &[];\npub const DEFAULT_CARD: &str = \"\";\n"
            .to_string()
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("default_model.rs");
    std::fs::write(out, code).unwrap();
}

fn main() {
    embed_default_model();
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    let Some(lib) = libtorch_lib_dir() else {
        return;
    };
    let lib = lib.display();
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if std::path::Path::new(&format!("{lib}/libtorch_cuda.so")).exists() {
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
