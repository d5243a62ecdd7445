//! Helpers shared by the CLI test files (each test file uses a subset of them).
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the callvar binary built for these tests.
pub fn callvar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callvar"))
        .args(args)
        .output()
        .expect("run callvar")
}

/// A run's stderr as text.
pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Path of a file in testdata/.
pub fn td(name: &str) -> String {
    format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty scratch folder for one test (`suite` and `name` keep tests apart).
pub fn tmpdir(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("callvar-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `callvar call` on testdata `reference` and `reads` over `region`, writing the VCF to
/// `output` (`-` for stdout), with `extra` flags after the others.
pub fn call_testdata(
    reference: &str,
    reads: &str,
    region: &str,
    output: &str,
    extra: &[&str],
) -> Output {
    let (r, b) = (td(reference), td(reads));
    let mut args = vec![
        "call",
        "--ref",
        &r,
        "--reads",
        &b,
        "--regions",
        region,
        "-o",
        output,
    ];
    args.extend_from_slice(extra);
    callvar(&args)
}
