//! Where output bytes go, and the rules that keep outputs honest: a regular file is written
//! under a temporary name and renamed into place only when every output of the run is
//! complete (all or nothing); a stream target (stdout, a FIFO, `/dev/stdout`, `/dev/fd/N`, a
//! process substitution) is written directly; a symlink is followed, never replaced; an
//! output that is the same file as an input is refused; SIGINT/SIGTERM remove temporary
//! files and exit 130/143.
use anyhow::{bail, Context, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files that exist right now: removed on a signal.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A temporary output file: registered for removal on a signal, removed when dropped
/// unless [`Temp::keep`] moved it into place.
#[derive(Debug)]
pub struct Temp {
    path: PathBuf,
    kept: bool,
}

impl Temp {
    /// `DEST` → `DEST.callvar-partial-PID`: never mistaken for a finished file.
    pub fn beside(dest: &Path) -> Temp {
        let mut s = dest.as_os_str().to_owned();
        s.push(format!(".callvar-partial-{}", std::process::id()));
        let path = PathBuf::from(s);
        temps().push(path.clone());
        Temp { path, kept: false }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `dest`, naming both on failure.
    fn keep(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).with_context(|| {
            format!(
                "{}: cannot rename {} into place",
                dest.display(),
                self.path.display()
            )
        })?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
        temps().retain(|p| p != &self.path);
    }
}

/// Removes every registered temporary file and exits 128 + signal on SIGINT, SIGTERM or
/// SIGHUP.
pub fn install_signal_cleanup() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("signal handlers")?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            for p in temps().iter() {
                let _ = std::fs::remove_file(p);
            }
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

/// Where an output goes.
#[derive(Debug)]
pub enum Target {
    /// `-`.
    Stdout,
    /// Something that is not a regular file (FIFO, device, `/dev/fd/N`): written directly.
    Stream(PathBuf),
    /// A regular file (symlinks resolved): written to `tmp`, renamed to `dest` at the end.
    File { dest: PathBuf, tmp: Temp },
}

/// Decides how to write `dest`: see [`Target`].
pub fn target(dest: &str) -> Result<Target> {
    if dest == "-" {
        return Ok(Target::Stdout);
    }
    let path = PathBuf::from(dest);
    if dest.starts_with("/dev/") || dest.starts_with("/proc/") {
        return Ok(Target::Stream(path));
    }
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => bail!("{dest}: is a directory, not an output file"),
        Ok(m) if !m.is_file() => return Ok(Target::Stream(path)),
        _ => {}
    }
    let dest = resolve_symlinks(&path)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    }
    let tmp = Temp::beside(&dest);
    Ok(Target::File { dest, tmp })
}

/// `path` with symlinks followed (also a dangling one: its target is where output goes).
fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)
                    .with_context(|| format!("{}: cannot read symlink", p.display()))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    bail!("{}: too many levels of symbolic links", path.display())
}

/// `path` made absolute with symlinks resolved (as given when it cannot be), for provenance.
pub fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Renames every finished temporary file into place. Called once all outputs of a run are
/// complete, so a failure before it leaves none of them.
pub fn commit_all(files: Vec<(Temp, PathBuf)>) -> Result<()> {
    for (tmp, dest) in files {
        tmp.keep(&dest)?;
    }
    Ok(())
}

/// Refuses an output that is the same file as an input (or would replace one through a
/// symlink).
pub fn check_not_input(outputs: &[(&str, PathBuf)], inputs: &[PathBuf]) -> Result<()> {
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    for (flag, out) in outputs {
        let Some(oid) = id(out) else { continue };
        if !std::fs::metadata(out).is_ok_and(|m| m.is_file()) {
            continue; // streams (FIFO, /dev/stdout) are written, never replaced
        }
        if let Some(input) = inputs.iter().find(|i| id(i) == Some(oid)) {
            bail!(
                "{}: {flag} names an input file ({}); refusing to overwrite it",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_removed_unless_kept() {
        let d = std::env::temp_dir().join(format!("callvar-output-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let dest = d.join("a.vcf");
        let t = Temp::beside(&dest);
        std::fs::write(t.path(), "x").unwrap();
        let p = t.path().to_path_buf();
        drop(t);
        assert!(!p.exists());
        let t = Temp::beside(&dest);
        std::fs::write(t.path(), "y").unwrap();
        let p = t.path().to_path_buf();
        commit_all(vec![(t, dest.clone())]).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "y");
        assert!(!temps().contains(&p) && !p.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlinks_are_followed_to_their_target() {
        let d = std::env::temp_dir().join(format!("callvar-output-ln-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::symlink("real.vcf", d.join("link.vcf")).unwrap();
        let r = resolve_symlinks(&d.join("link.vcf")).unwrap();
        assert_eq!(r, d.join("real.vcf"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
