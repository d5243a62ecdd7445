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
        if compression(path)? == Compression::Gzip {
            bail!(
                "{}: compressed with plain gzip, not bgzip (htslib needs BGZF blocks to seek): recompress with `zcat {} | bgzip > REF.fa.gz` and run `samtools faidx` on the result",
                path.display(),
                path.display()
            );
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
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            entries.push(FaiEntry::parse(line).with_context(|| {
                format!("{}: line {}: malformed FASTA index", fai.display(), i + 1)
            })?);
        }
        if entries.is_empty() {
            bail!("{}: FASTA index lists no contigs", fai.display());
        }
        check_index_matches(path, &fai, &entries)?;
        let contigs = entries.into_iter().map(|e| (e.name, e.len)).collect();
        Ok(Reference {
            path: path.to_path_buf(),
            contigs,
        })
    }

    /// The index files beside the FASTA (`.fai`, and `.gzi` when bgzipped).
    pub fn index_files(&self) -> Vec<PathBuf> {
        vec![append_ext(&self.path, "fai"), append_ext(&self.path, "gzi")]
    }

    pub fn contig_len(&self, name: &str) -> Option<u64> {
        self.contigs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| *l)
    }

    pub fn reader(&self) -> Result<RefReader> {
        Ok(RefReader {
            inner: Faidx::open(&self.path)?,
            reference: self.clone(),
        })
    }

    /// MD5 of the FASTA file as stored on disk (hex). Hashing a whole genome takes seconds,
    /// once per process: every shard of a scattered run would repeat it, so the value is kept
    /// in a [`DigestCache`] under the file's identity and reused while that is unchanged.
    pub fn file_md5(&self) -> Result<String> {
        let cache = DigestCache::from_env();
        if let Some(md5) = cache.as_ref().and_then(|c| c.get(&self.path, "md5")) {
            return Ok(md5);
        }
        let md5 = file_digest::<Md5>(&self.path)?;
        if let Some(c) = cache {
            c.put(&self.path, "md5", &md5);
        }
        Ok(md5)
    }
}

/// File digests remembered across runs, one small file per (file, algorithm) under
/// `$CALLVAR_DIGEST_CACHE`, else `$XDG_CACHE_HOME/callvar/digests`, else
/// `~/.cache/callvar/digests` (`CALLVAR_DIGEST_CACHE=off` turns it off). An entry holds the
/// file's identity: canonical path, device, inode, size, and modification and status-change
/// times in nanoseconds; any write to the file, a replacement or a `touch` changes one of them,
/// and an entry whose identity differs is ignored. The cache is best effort: one that cannot be
/// read or written only costs the hashing.
#[derive(Debug)]
struct DigestCache {
    dir: PathBuf,
}

impl DigestCache {
    fn from_env() -> Option<DigestCache> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = match var("CALLVAR_DIGEST_CACHE") {
            Some(d) if d.as_os_str() == "off" => return None,
            Some(d) => d,
            None => var("XDG_CACHE_HOME")
                .or_else(|| var("HOME").map(|h| h.join(".cache")))?
                .join("callvar/digests"),
        };
        Some(DigestCache { dir })
    }

    /// The identity line of `path` now, and the entry file that would hold its digest.
    fn entry(&self, path: &Path, algorithm: &str) -> Option<(String, PathBuf)> {
        use std::os::unix::fs::MetadataExt;
        let canonical = path.canonicalize().ok()?;
        let m = std::fs::metadata(&canonical).ok()?;
        let identity = format!(
            "{}\t{}\t{}\t{}\t{}\t{}.{:09}\t{}.{:09}",
            algorithm,
            canonical.to_str()?,
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        );
        let name = hex(&Md5::digest(identity.as_bytes()));
        Some((identity, self.dir.join(name)))
    }

    fn get(&self, path: &Path, algorithm: &str) -> Option<String> {
        let (identity, file) = self.entry(path, algorithm)?;
        let text = std::fs::read_to_string(file).ok()?;
        let (stored, digest) = text.trim_end().split_once('\n')?;
        let valid = digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        (stored == identity && valid).then(|| digest.to_string())
    }

    fn put(&self, path: &Path, algorithm: &str, digest: &str) {
        let Some((identity, file)) = self.entry(path, algorithm) else {
            return;
        };
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, format!("{identity}\n{digest}\n")))
            .and_then(|()| std::fs::rename(&tmp, &file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// One line of a `.fai`: where a contig's sequence starts and how its lines are laid out.
#[derive(Clone, Debug, PartialEq)]
struct FaiEntry {
    name: String,
    len: u64,
    offset: u64,
    line_bases: u64,
    line_width: u64,
}

impl FaiEntry {
    fn parse(line: &str) -> Option<FaiEntry> {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok());
        let e = FaiEntry {
            name: f.first().filter(|n| !n.is_empty())?.to_string(),
            len: num(1)?,
            offset: num(2)?,
            line_bases: num(3)?,
            line_width: num(4)?,
        };
        (e.line_bases > 0 && e.line_width > e.line_bases && e.offset > 0).then_some(e)
    }

    /// Offset in the (uncompressed) FASTA of 0-based base `i`.
    fn base_offset(&self, i: u64) -> u64 {
        self.offset + i / self.line_bases * self.line_width + i % self.line_bases
    }
}

/// How a file is compressed, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compression {
    None,
    /// BGZF: gzip members with the `BC` extra subfield (bgzip, samtools, htslib).
    Bgzf,
    /// Plain gzip (not seekable by htslib).
    Gzip,
}

/// Sniffs `path`'s compression from its gzip header.
pub fn compression(path: &Path) -> Result<Compression> {
    let mut head = [0u8; 16];
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
        }
    }
    Ok(if n < 2 || head[..2] != [0x1f, 0x8b] {
        Compression::None
    } else if n >= 14 && head[3] & 4 != 0 && head[12] == b'B' && head[13] == b'C' {
        Compression::Bgzf
    } else {
        Compression::Gzip
    })
}

/// How many contigs' index entries are checked against the FASTA bytes: all of them up to
/// this many, else this many spread evenly (first and last included).
const FAI_SPOT_CHECKS: usize = 256;

/// Checks `.fai` entries against the FASTA itself: each checked contig's sequence must
/// start right after its `>name` header line, its first line must be `line_bases` long
/// and its last base must end a line. An index made before the FASTA was edited (a longer
/// header line, a changed line width, an inserted contig) fails this, instead of every
/// fetch returning shifted sequence.
fn check_index_matches(path: &Path, fai: &Path, entries: &[FaiEntry]) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut src: Box<dyn ReadSeek> = if path.extension().is_some_and(|e| e == "gz") {
        let gzi = append_ext(path, "gzi");
        let index = noodles_bgzf::gzi::fs::read(&gzi)
            .with_context(|| format!("{}: unreadable BGZF index", gzi.display()))?;
        Box::new(noodles_bgzf::io::IndexedReader::new(file, index))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let stale = |name: &str, why: &str| {
        anyhow::anyhow!(
            "{}: FASTA index {} is out of step with the FASTA (contig '{name}': {why}; edited after indexing?): re-run `samtools faidx {}`",
            path.display(),
            fai.display(),
            path.display()
        )
    };
    let step = entries.len().div_ceil(FAI_SPOT_CHECKS).max(1);
    let picked = (0..entries.len())
        .step_by(step)
        .chain(std::iter::once(entries.len() - 1));
    for e in picked.map(|i| &entries[i]) {
        // the header line ends right before the sequence and names the contig
        let back = e.offset.min(4096);
        let before = read_at(&mut src, e.offset - back, back as usize)
            .map_err(|_| stale(&e.name, "offset beyond the end of the file"))?;
        let header_ok = before.last() == Some(&b'\n') && {
            let body = &before[..before.len() - 1];
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            let line = match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => &body[i + 1..],
                None if back == e.offset => body,
                None => &[][..],
            };
            line.first() == Some(&b'>')
                && line[1..]
                    .split(|b| b.is_ascii_whitespace())
                    .next()
                    .is_some_and(|n| n == e.name.as_bytes())
        };
        if !header_ok {
            return Err(stale(
                &e.name,
                &format!("no '>{}' header line ends at offset {}", e.name, e.offset),
            ));
        }
        if e.len == 0 {
            continue;
        }
        // the first line holds line_bases bases (or the whole contig) then a line break
        let first = e.len.min(e.line_bases);
        let line = read_at(&mut src, e.offset, first as usize + 1)
            .map_err(|_| stale(&e.name, "sequence runs past the end of the file"))?;
        let is_base = |b: &u8| b.is_ascii_alphabetic() || *b == b'*' || *b == b'-';
        let first = first as usize;
        let line_ok = line.len() > first
            && line[..first].iter().all(is_base)
            && matches!(line[first], b'\n' | b'\r');
        if !line_ok {
            return Err(stale(
                &e.name,
                &format!("its first line is not {first} bases long"),
            ));
        }
        // the last base ends a line (or the file)
        let last = e.base_offset(e.len - 1);
        let tail = read_at(&mut src, last, 2).unwrap_or_default();
        if !tail.first().is_some_and(is_base)
            || tail.get(1).is_some_and(|b| !matches!(b, b'\n' | b'\r'))
        {
            return Err(stale(
                &e.name,
                &format!("its {} bases do not end where the index says", e.len),
            ));
        }
    }
    Ok(())
}

trait ReadSeek: Read + std::io::Seek {}
impl<T: Read + std::io::Seek> ReadSeek for T {}

/// Up to `n` bytes at uncompressed `offset` (fewer at the end of the file); an error when
/// `offset` lies beyond the end.
fn read_at(src: &mut Box<dyn ReadSeek>, offset: u64, n: usize) -> std::io::Result<Vec<u8>> {
    src.seek(std::io::SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(n);
    src.take(n as u64).read_to_end(&mut buf)?;
    if buf.is_empty() && n > 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
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

/// htslib's `faidx_t`, wrapped so that a failed fetch (length -1, null pointer) is an error
/// rather than a vector built from them.
struct Faidx(*mut rust_htslib::htslib::faidx_t);

// SAFETY: a faidx_t is used by one thread at a time (each worker owns its reader).
unsafe impl Send for Faidx {}

impl Faidx {
    fn open(path: &Path) -> Result<Faidx> {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .with_context(|| format!("{}: path contains a NUL byte", path.display()))?;
        // SAFETY: c is a valid C string; fai_load returns null on failure.
        let p = unsafe { rust_htslib::htslib::fai_load(c.as_ptr()) };
        if p.is_null() {
            bail!("{}: cannot open reference with its index", path.display());
        }
        Ok(Faidx(p))
    }

    /// Bases `[start, end)` of `contig`, or `None` when htslib cannot read them.
    fn fetch(&self, contig: &str, start: u64, end: u64) -> Option<Vec<u8>> {
        let name = std::ffi::CString::new(contig).ok()?;
        let mut len: rust_htslib::htslib::hts_pos_t = 0;
        // SAFETY: self.0 is a live faidx_t; htslib returns a malloc'd buffer of `len` bytes
        // or null, which is copied and then released with hts_free.
        unsafe {
            let p = rust_htslib::htslib::faidx_fetch_seq64(
                self.0,
                name.as_ptr(),
                start as i64,
                end as i64 - 1,
                &mut len,
            );
            if p.is_null() {
                return None;
            }
            let seq = (len >= 0)
                .then(|| std::slice::from_raw_parts(p as *const u8, len as usize).to_vec());
            rust_htslib::htslib::hts_free(p as *mut std::ffi::c_void);
            seq
        }
    }
}

impl Drop for Faidx {
    fn drop(&mut self) {
        // SAFETY: self.0 came from fai_load and is destroyed once.
        unsafe { rust_htslib::htslib::fai_destroy(self.0) }
    }
}

/// An open handle for sequence fetches.
pub struct RefReader {
    inner: Faidx,
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
        let mut seq = self.inner.fetch(contig, start, end).with_context(|| {
            format!(
                "{}: cannot read {contig}:{}-{end} (corrupt or truncated file?)",
                self.reference.path.display(),
                start + 1
            )
        })?;
        if seq.len() as u64 != end - start {
            bail!(
                "{}: cannot read {contig}:{}-{end}: expected {} bases, the file holds fewer (truncated, or edited after `samtools faidx`?)",
                self.reference.path.display(),
                start + 1,
                end - start
            );
        }
        seq.make_ascii_uppercase();
        Ok(seq)
    }
}

/// Index (0-3) of an upper-case base A, C, G or T; `None` for anything else (N, IUPAC).
pub fn base_index(b: u8) -> Option<usize> {
    match b {
        b'A' => Some(0),
        b'C' => Some(1),
        b'G' => Some(2),
        b'T' => Some(3),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_cache_returns_a_digest_only_while_the_file_is_unchanged() {
        let dir = std::env::temp_dir().join(format!("callvar-digest-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ref.fa");
        std::fs::write(&file, ">c\nACGT\n").unwrap();
        let cache = DigestCache {
            dir: dir.join("cache"),
        };
        assert_eq!(cache.get(&file, "md5"), None);
        let md5 = file_digest::<Md5>(&file).unwrap();
        cache.put(&file, "md5", &md5);
        assert_eq!(cache.get(&file, "md5").as_deref(), Some(md5.as_str()));
        assert_eq!(cache.get(&file, "sha1"), None, "keyed by algorithm too");
        // a rewrite of the same length changes the status-change time (and inode on rename)
        std::thread::sleep(std::time::Duration::from_millis(20));
        let replacement = dir.join("new.fa");
        std::fs::write(&replacement, ">c\nACGA\n").unwrap();
        std::fs::rename(&replacement, &file).unwrap();
        assert_eq!(cache.get(&file, "md5"), None);
        // a damaged entry is ignored, not trusted
        let (_, entry) = cache.entry(&file, "md5").unwrap();
        std::fs::write(&entry, "garbage").unwrap();
        assert_eq!(cache.get(&file, "md5"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
