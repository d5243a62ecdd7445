//! Helpers shared by the CLI test files.
use std::path::PathBuf;

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
