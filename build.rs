//! Build-time set-up: libtorch linking, the embedded models, and the facts
//! `callvar --version` reports.
//!
//! The linker's as-needed mode drops `libtorch_cuda.so` because callvar references none of
//! its symbols directly, and without it libtorch never registers the CUDA backend. This
//! script finds the libtorch `lib/` folder (from `LIBTORCH`, or from the `torch` package of
//! the `python3` on PATH when `LIBTORCH_USE_PYTORCH` is set, as torch-sys does), keeps
//! `libtorch_cuda.so` linked when it exists, and sets an rpath so the binary runs without
//! `LD_LIBRARY_PATH`. The rpath is the old DT_RPATH (`--disable-new-dtags`), which the loader
//! searches before `LD_LIBRARY_PATH`, so an unrelated libtorch there cannot replace ours;
//! `make install` rewrites it to `$ORIGIN/../lib`.
//!
//! It also sets `CALLVAR_GIT_COMMIT` (`git rev-parse --short HEAD`, `-dirty` when tracked
//! files differ from HEAD, `unknown` outside a git checkout; a `CALLVAR_GIT_COMMIT`
//! environment variable wins, as in the Docker build) and `CALLVAR_LIBTORCH_VERSION` (the
//! torch package's `__version__`, or `LIBTORCH/build-version`).
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libtorch `lib/` folder and libtorch's version (`unknown` when it cannot be read).
fn libtorch() -> Option<(PathBuf, String)> {
    if let Ok(root) = std::env::var("LIBTORCH") {
        let version = std::fs::read_to_string(PathBuf::from(&root).join("build-version"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        return Some((PathBuf::from(root).join("lib"), version));
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let out = Command::new("python3")
            .args([
                "-c",
                "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib')); print(torch.__version__)",
            ])
            .output()
            .ok()?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines().map(str::trim);
            let lib = PathBuf::from(lines.next()?);
            let version = lines.next().unwrap_or("unknown").to_string();
            return Some((lib, version));
        }
    }
    None
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The short commit, with `-dirty` when tracked files differ from it; `unknown` without git.
fn git_commit() -> String {
    println!("cargo:rerun-if-env-changed=CALLVAR_GIT_COMMIT");
    if let Ok(c) = std::env::var("CALLVAR_GIT_COMMIT") {
        if !c.trim().is_empty() {
            return c.trim().to_string();
        }
    }
    let Some(commit) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_string();
    };
    // Rerun when HEAD moves (checkout, commit) and when the sources change, so the -dirty
    // mark follows what is compiled. Not the index: `git status` rewrites it.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(r);
    }
    for w in watch {
        // a watched path that does not exist would rerun this script on every build
        if let Some(p) = git(&["rev-parse", "--git-path", &w]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    for p in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let dirty = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
    ])
    .is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    }
}

/// Models built into the binary, found by name from anywhere: the default and the
/// platform models, each embedded when `models/NAME/` holds its weights and card.
const EMBEDDED_MODELS: [&str; 3] = ["illumina-wgs", "pacbio-hifi", "ont-r10"];

/// Writes `EMBEDDED_MODELS: &[(name, weights, card)]` for the models present.
fn embed_models() {
    let mut code = String::from("pub const EMBEDDED_MODELS: &[(&str, &[u8], &str)] = &[\n");
    for name in EMBEDDED_MODELS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name);
        let (w, c) = (dir.join("model.ot"), dir.join("card.json"));
        println!("cargo:rerun-if-changed={}", w.display());
        println!("cargo:rerun-if-changed={}", c.display());
        if w.is_file() && c.is_file() {
            code += &format!(
                "    ({name:?}, include_bytes!({:?}), include_str!({:?})),\n",
                w.display().to_string(),
                c.display().to_string()
            );
        }
    }
    code += "];\n";
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_models.rs");
    std::fs::write(out, code).unwrap();
}

fn main() {
    embed_models();
    println!("cargo:rustc-env=CALLVAR_GIT_COMMIT={}", git_commit());
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    let Some((lib, version)) = libtorch() else {
        println!("cargo:rustc-env=CALLVAR_LIBTORCH_VERSION=unknown");
        return;
    };
    println!("cargo:rustc-env=CALLVAR_LIBTORCH_VERSION={version}");
    let lib = lib.display();
    println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if std::path::Path::new(&format!("{lib}/libtorch_cuda.so")).exists() {
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
