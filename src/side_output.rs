//! Whole-file outputs beside a run's VCF (the not-callable BED, the HTML report, the
//! manifest), under the rules of [`crate::output`]: a regular file is written under a
//! temporary name and renamed into place together with the run's other outputs (all or
//! nothing); a FIFO or `/dev/…` path is written directly; `-` is refused (stdout carries
//! the VCF or the eval table).
use crate::output::{self, Target, Temp};
use crate::reference::hex;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;

/// A side output chosen before the run; written once with [`SideFile::write`].
#[derive(Debug)]
pub struct SideFile {
    pub flag: &'static str,
    /// The name as given.
    pub shown: String,
    target: Target,
}

/// A side output written under its temporary name (or into its stream), waiting for
/// [`output::commit_all`].
#[derive(Debug)]
pub struct Written {
    pub flag: &'static str,
    pub shown: String,
    pub bytes: u64,
    pub sha256: String,
    /// The temporary file and its final name (none for a stream).
    pub file: Option<(Temp, PathBuf)>,
}

impl SideFile {
    /// Decides where `dest` (given with `flag`) goes; see [`output::target`].
    pub fn prepare(flag: &'static str, dest: &str) -> Result<SideFile> {
        if dest.is_empty() {
            bail!("{flag}: empty file name");
        }
        if dest == "-" {
            bail!("{flag}: '-' is not supported here; name a file");
        }
        let target = output::target(dest).with_context(|| flag)?;
        Ok(SideFile {
            flag,
            shown: dest.to_string(),
            target,
        })
    }

    /// The path it will occupy, for the input-clash check (none for a stream).
    pub fn dest(&self) -> Option<PathBuf> {
        match &self.target {
            Target::File { dest, .. } => Some(dest.clone()),
            _ => None,
        }
    }

    /// Writes `bytes`, synced, under the temporary name (or into the stream).
    pub fn write(self, bytes: &[u8]) -> Result<Written> {
        let shown = &self.shown;
        let file = match self.target {
            Target::File { dest, tmp } => {
                let mut f = std::fs::File::create(tmp.path())
                    .with_context(|| format!("{shown}: cannot create output file"))?;
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("{shown}: write error"))?;
                Some((tmp, dest))
            }
            Target::Stream(p) => {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .and_then(|mut f| f.write_all(bytes))
                    .with_context(|| format!("{shown}: write error"))?;
                None
            }
            Target::Stdout => bail!("{}: '-' is not supported here", self.flag),
        };
        Ok(Written {
            flag: self.flag,
            shown: self.shown,
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
            file,
        })
    }
}

/// Refuses two outputs of one run that name the same file (one would overwrite the other).
pub fn check_distinct(outputs: &[(&str, PathBuf)]) -> Result<()> {
    let key = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    for (i, (flag, p)) in outputs.iter().enumerate() {
        if let Some((other, _)) = outputs[..i].iter().find(|(_, q)| key(q) == key(p)) {
            bail!("{}: named by both {other} and {flag}", p.display());
        }
    }
    Ok(())
}

/// Moves written side outputs into place.
pub fn commit(written: Vec<Written>) -> Result<()> {
    output::commit_all(written.into_iter().filter_map(|w| w.file).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_appear_only_on_commit() {
        let d = std::env::temp_dir().join(format!("callvar-side-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let dest = d.join("r.html");
        let f = SideFile::prepare("--report", dest.to_str().unwrap()).unwrap();
        assert_eq!(f.dest().as_deref(), Some(dest.as_path()));
        let w = f.write(b"abc").unwrap();
        assert_eq!(w.bytes, 3);
        assert_eq!(
            w.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!dest.exists());
        commit(vec![w]).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert!(SideFile::prepare("--report", "-").is_err());
        let same = [
            ("--report", PathBuf::from("a/x")),
            ("--manifest", PathBuf::from("a/./x")),
        ];
        let e = check_distinct(&same).unwrap_err().to_string();
        assert_eq!(e, "a/./x: named by both --report and --manifest");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
