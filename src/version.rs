//! `callvar --version` / `-V`. `-V` prints the crate version and git commit; `--version` adds
//! what decides whether a run here works and how: the libtorch it was built against and the
//! one actually loaded, whether CUDA is usable now, and the models `--model` can name. The
//! runtime facts (CUDA starts up, model folders are read) are gathered only when `--version`
//! is asked for, so other commands pay nothing. Build-time facts come from build.rs.
use crate::model::{self, Model, ModelCard};
use std::path::{Path, PathBuf};

/// Crate version and the git commit it was built from (`-dirty`: uncommitted changes).
pub const SHORT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CALLVAR_GIT_COMMIT"),
    ")"
);
pub const GIT_COMMIT: &str = env!("CALLVAR_GIT_COMMIT");
/// libtorch's version at build time (`torch.__version__`, e.g. `2.11.0+cu130`).
pub const LIBTORCH_VERSION: &str = env!("CALLVAR_LIBTORCH_VERSION");

/// Parses the command line like `P::parse()`, with `-V` giving [`SHORT`] and `--version`
/// giving [`long`].
pub fn parse<P: clap::Parser>() -> P {
    let mut cmd = P::command().version(SHORT);
    if std::env::args_os().skip(1).any(|a| a == "--version") {
        cmd = cmd.long_version(&*Box::leak(long().into_boxed_str()));
    }
    let mut matches = cmd.get_matches();
    P::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

/// The `--version` text (clap prints it after "callvar ").
pub fn long() -> String {
    let loaded = libtorch_loaded_from().unwrap_or_else(|| "?".to_string());
    let mut s = format!(
        "{SHORT}\n\
         commit:        {GIT_COMMIT}\n\
         libtorch:      {LIBTORCH_VERSION} (built against), loaded from {loaded}\n\
         CUDA:          {}\n",
        model::cuda_summary()
    );
    s += &match Model::find(None) {
        Ok(m) => format!(
            "default model: {} version {} ({})\n",
            m.card.name, m.card.version, m.source
        ),
        Err(e) => format!("default model: unusable: {e:#}\n"),
    };
    let mut models = Vec::new();
    for name in model::embedded_names() {
        let card =
            model::embedded(name).and_then(|(_, c)| serde_json::from_str::<ModelCard>(c).ok());
        if let Some(card) = card {
            models.push(format!("{} version {} (embedded)", card.name, card.version));
        }
    }
    for dir in model_dirs() {
        let card = std::fs::read_to_string(dir.join("card.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<ModelCard>(&t).ok());
        models.push(match card {
            Some(c) => format!("{} version {} ({})", c.name, c.version, dir.display()),
            None => format!("unreadable model card ({})", dir.display()),
        });
    }
    if models.is_empty() {
        models.push("none".to_string());
    }
    s += &format!("models:        {}", models.join("\n               "));
    s
}

/// Model folders beside the binary, where `--model NAME` finds them: `models/NAME` and
/// `../share/callvar/models/NAME` (the `make install` layout).
fn model_dirs() -> Vec<PathBuf> {
    let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for base in [
        exe_dir.join("models"),
        exe_dir.join("../share/callvar/models"),
    ] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("card.json").is_file())
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
            .collect();
        dirs.sort();
        found.extend(dirs);
    }
    found
}

/// The folder libtorch was loaded from in this process (from /proc/self/maps; Linux only).
fn libtorch_loaded_from() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| Path::new(p).parent())
        .map(|d| d.display().to_string())
}
