//! What a callvar binary reports about itself (`-V`, `--version`): the facts a user of an
//! installed copy needs to tell builds apart. The install itself (`make install`) copies
//! about 3 GB of libtorch/CUDA libraries and needs patchelf and a mount namespace to prove it
//! runs on its own, so it is checked by `make check-install`, not here.
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_callvar");

fn run(arg: &str) -> String {
    let o = Command::new(BIN).arg(arg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn short_version_names_version_and_commit() {
    let v = run("-V");
    let want = format!("callvar {} (", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want), "{v}");
    assert!(v.trim_end().ends_with(')') && v.lines().count() == 1, "{v}");
}

#[test]
fn long_version_names_commit_libtorch_cuda_and_models() {
    let v = run("--version");
    let field = |name: &str| {
        v.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no '{name}:' line in\n{v}"))
    };
    let commit = field("commit");
    assert!(!commit.is_empty(), "{v}");
    assert!(v.lines().next().unwrap().contains(commit), "{v}");
    let torch = field("libtorch");
    assert!(torch.starts_with("2.11.0"), "{v}");
    assert!(torch.contains("loaded from /"), "{v}");
    let cuda = field("CUDA");
    assert!(
        cuda.starts_with("available") || cuda.starts_with("not available"),
        "{v}"
    );
    assert!(
        field("default model").starts_with("illumina-wgs version "),
        "{v}"
    );
    assert!(field("models").contains("(embedded)"), "{v}");
}
