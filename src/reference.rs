//! The reference genome: contig list from the FASTA index, sequence fetches (plain or
//! bgzipped FASTA through htslib's faidx), and the file checksum recorded in every output.
use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use std::io::Read;
use std::path::{Path, PathBuf};

/// An indexed reference FASTA. Cheap to clone; each worker opens its own [`RefReader`].
#[derive(Clone, Debug)]
pub struct Reference {
    pub path: PathBuf,
    pub contigs: Vec<(String, u64)>,
}

impl Reference {
    /// Opens `path`, requiring its `.fai` (and `.gzi` when bgzipped) beside it.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            bail!("{}: reference FASTA not found", path.display());
        }
        let fai = append_ext(path, "fai");
        if !fai.is_file() {
            bail!(
                "{}: reference index {} not found (run `samtools faidx {}`)",
                path.display(),
                fai.display(),
                path.display()
            );
        }
        if path.extension().is_some_and(|e| e == "gz") && !append_ext(path, "gzi").is_file() {
            bail!(
                "{}: bgzipped reference needs {} (run `samtools faidx {}`)",
                path.display(),
                append_ext(path, "gzi").display(),
                path.display()
            );
        }
        let text = std::fs::read_to_string(&fai)
            .with_context(|| format!("{}: cannot read", fai.display()))?;
        let mut contigs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            let len = f.get(1).and_then(|s| s.parse::<u64>().ok());
            match (f.first(), len) {
                (Some(name), Some(len)) if !name.is_empty() => {
                    contigs.push((name.to_string(), len))
                }
                _ => bail!("{}: line {}: malformed FASTA index", fai.display(), i + 1),
            }
        }
        if contigs.is_empty() {
            bail!("{}: FASTA index lists no contigs", fai.display());
        }
        Ok(Reference {
            path: path.to_path_buf(),
            contigs,
        })
    }

    pub fn contig_len(&self, name: &str) -> Option<u64> {
        self.contigs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| *l)
    }

    pub fn reader(&self) -> Result<RefReader> {
        let inner = rust_htslib::faidx::Reader::from_path(&self.path)
            .map_err(|e| anyhow::anyhow!("{}: cannot open reference: {e}", self.path.display()))?;
        Ok(RefReader {
            inner,
            reference: self.clone(),
        })
    }

    /// MD5 of the FASTA file as stored on disk (hex).
    pub fn file_md5(&self) -> Result<String> {
        file_digest::<Md5>(&self.path)
    }
}

/// Hex digest of a file's bytes.
pub fn file_digest<D: Digest>(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("{}: read error", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn append_ext(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// An open handle for sequence fetches.
pub struct RefReader {
    inner: rust_htslib::faidx::Reader,
    reference: Reference,
}

impl RefReader {
    /// Upper-case sequence of `[start, end)` on `contig`, clipped to the contig's length.
    pub fn fetch(&self, contig: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let len = self
            .reference
            .contig_len(contig)
            .with_context(|| format!("contig '{contig}' not in the reference"))?;
        let end = end.min(len);
        if start >= end {
            return Ok(Vec::new());
        }
        let mut seq = self
            .inner
            .fetch_seq(contig, start as usize, end as usize - 1)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: fetch {contig}:{start}-{end}: {e}",
                    self.reference.path.display()
                )
            })?;
        if seq.len() as u64 != end - start {
            bail!(
                "{}: truncated sequence for {contig}:{}-{end} (got {} bases)",
                self.reference.path.display(),
                start + 1,
                seq.len()
            );
        }
        seq.make_ascii_uppercase();
        Ok(seq)
    }
}

/// A window of reference sequence with its 0-based offset.
#[derive(Clone, Debug)]
pub struct RefWindow {
    pub start: u64,
    pub seq: Vec<u8>,
}

impl RefWindow {
    /// Base at 0-based position `pos`, `N` outside the window.
    pub fn base(&self, pos: u64) -> u8 {
        pos.checked_sub(self.start)
            .and_then(|i| self.seq.get(i as usize).copied())
            .unwrap_or(b'N')
    }

    /// Bases of `[start, end)` without copying; must lie inside the window.
    pub fn slice_ref(&self, start: u64, end: u64) -> &[u8] {
        &self.seq[(start - self.start) as usize..(end - self.start) as usize]
    }

    /// Bases of `[start, end)`, `N` outside the window.
    pub fn slice(&self, start: u64, end: u64) -> Vec<u8> {
        (start..end).map(|p| self.base(p)).collect()
    }
}

/// Whole-contig sequences of a reference, each fetched once on first use (truth sets and
/// call sets are read contig by contig).
pub struct ContigCache {
    reader: RefReader,
    seqs: std::collections::HashMap<String, RefWindow>,
}

impl ContigCache {
    pub fn new(reference: &Reference) -> Result<Self> {
        Ok(ContigCache {
            reader: reference.reader()?,
            seqs: Default::default(),
        })
    }

    /// The whole of `contig` (offset 0); an error if the reference lacks it.
    pub fn get(&mut self, contig: &str) -> Result<&RefWindow> {
        if !self.seqs.contains_key(contig) {
            let len = self
                .reader
                .reference
                .contig_len(contig)
                .with_context(|| format!("contig '{contig}' not in the reference"))?;
            let seq = self.reader.fetch(contig, 0, len)?;
            self.seqs
                .insert(contig.to_string(), RefWindow { start: 0, seq });
        }
        Ok(&self.seqs[contig])
    }
}
