//! Alignment input: opens a BAM or CRAM (decoded with the reference) with its index, checks
//! the header against the reference, and fetches the reads of a region, filtered the way
//! DeepVariant filters them by default and decoded into realigned [`Read`]s.
use crate::realign::{self, Block, Indel, Op};
use crate::reference::{RefWindow, Reference};
use crate::region::Region;
use anyhow::{bail, Result};
use rust_htslib::bam::{self, record::Cigar, Read as _};
use std::path::{Path, PathBuf};

/// Which reads to use.
#[derive(Clone, Debug)]
pub struct ReadFilter {
    pub min_mapq: u8,
    pub keep_supplementary: bool,
    pub keep_duplicates: bool,
}

impl Default for ReadFilter {
    fn default() -> Self {
        ReadFilter {
            min_mapq: 5,
            keep_supplementary: false,
            keep_duplicates: false,
        }
    }
}

/// A read reduced to what calling needs, with indels left-aligned.
#[derive(Clone, Debug)]
pub struct Read {
    /// Stable hash of the read name and mate number: deterministic downsampling and order.
    pub key: u64,
    pub start: u64,
    pub end: u64,
    pub mapq: u8,
    pub reverse: bool,
    pub seq: Vec<u8>,
    pub qual: Vec<u8>,
    pub blocks: Vec<Block>,
    pub indels: Vec<Indel>,
    /// Soft-clipped bases before the first and after the last aligned base.
    pub clips: [u32; 2],
}

impl Read {
    /// The read base and its quality aligned to reference position `pos`, if any.
    pub fn base_at(&self, pos: u64) -> Option<(u8, u8)> {
        let i = self
            .blocks
            .partition_point(|b| b.ref_start + b.len as u64 <= pos);
        let b = self.blocks.get(i)?;
        if b.ref_start > pos {
            return None;
        }
        let q = (b.read_start as u64 + pos - b.ref_start) as usize;
        Some((self.seq[q], self.qual.get(q).copied().unwrap_or(0)))
    }

    pub fn indel_at(&self, anchor: u64) -> Option<&Indel> {
        self.indels.iter().find(|d| d.anchor == anchor)
    }
}

/// Reads covering each position of `[start, end)` (alignment span, deletions included).
pub fn coverage(reads: &[Read], start: u64, end: u64) -> Vec<u32> {
    let n = (end - start) as usize;
    let mut diff = vec![0i64; n + 1];
    for r in reads {
        let (s, e) = (r.start.max(start), r.end.min(end));
        if s < e {
            diff[(s - start) as usize] += 1;
            diff[(e - start) as usize] -= 1;
        }
    }
    let mut run = 0i64;
    diff[..n]
        .iter()
        .map(|d| {
            run += d;
            run as u32
        })
        .collect()
}

/// FNV-1a: a fixed hash, the same on every machine and run (unlike std's RandomState).
pub fn stable_hash(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x100_0000_01b3);
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// Silences htslib's own stderr logging: callvar reports every failure itself, as one line.
pub fn silence_htslib() {
    // SAFETY: sets a global integer in htslib; called once before any other htslib use.
    unsafe { rust_htslib::htslib::hts_set_log_level(rust_htslib::htslib::htsLogLevel_HTS_LOG_OFF) }
}

/// The 28-byte empty block that ends every complete BGZF file (BAM, .vcf.gz).
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

fn has_bgzf_eof(path: &Path) -> Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    if f.metadata()?.len() < 28 {
        return Ok(false);
    }
    f.seek(SeekFrom::End(-28))?;
    let mut tail = [0u8; 28];
    f.read_exact(&mut tail)?;
    Ok(tail == BGZF_EOF)
}

/// An alignment file with a usable index, checked against the reference.
#[derive(Clone, Debug)]
pub struct Alignments {
    pub path: PathBuf,
    pub reference: Reference,
    pub sample: Option<String>,
    pub filter: ReadFilter,
}

fn index_candidates(path: &Path) -> Vec<PathBuf> {
    let s = path.as_os_str().to_string_lossy().to_string();
    let is_cram = s.ends_with(".cram");
    let mut v = vec![];
    if is_cram {
        v.push(PathBuf::from(format!("{s}.crai")));
        v.push(PathBuf::from(format!(
            "{}.crai",
            s.trim_end_matches(".cram")
        )));
    } else {
        v.push(PathBuf::from(format!("{s}.bai")));
        v.push(PathBuf::from(format!("{s}.csi")));
        v.push(PathBuf::from(format!("{}.bai", s.trim_end_matches(".bam"))));
    }
    v
}

impl Alignments {
    pub fn open(path: &Path, reference: &Reference, filter: ReadFilter) -> Result<Self> {
        let shown = path.display();
        if !path.is_file() {
            bail!("{shown}: reads file not found");
        }
        let Some(index) = index_candidates(path).into_iter().find(|p| p.is_file()) else {
            bail!("{shown}: no index found (run `samtools index {shown}`)");
        };
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if let (Some(a), Some(i)) = (mtime(path), mtime(&index)) {
            if i < a {
                bail!(
                    "{shown}: index {} is older than the file (stale; re-run `samtools index`)",
                    index.display()
                );
            }
        }
        if path.extension().is_some_and(|e| e == "bam") && !has_bgzf_eof(path)? {
            bail!("{shown}: truncated (no BGZF end-of-file block)");
        }
        let mut reader = bam::IndexedReader::from_path(path)
            .map_err(|e| anyhow::anyhow!("{shown}: cannot open as BAM/CRAM with index: {e}"))?;
        reader
            .set_reference(&reference.path)
            .map_err(|e| anyhow::anyhow!("{shown}: cannot set reference: {e}"))?;
        let header = reader.header().clone();
        if header.target_count() == 0 {
            bail!("{shown}: header has no @SQ lines (not an aligned BAM/CRAM?)");
        }
        // Contigs absent from the reference are an error when they hold mapped reads (those
        // reads would be silently lost); a contig present in both must have the same length.
        let is_cram = path.extension().is_some_and(|e| e == "cram");
        let mapped: Vec<u64> = if is_cram {
            // .crai has no per-contig counts; a CRAM read on a contig missing from the
            // reference cannot be decoded, and htslib fails the fetch with an error.
            vec![0; header.target_count() as usize]
        } else {
            let mut counts = vec![0; header.target_count() as usize];
            for (tid, _, m, _) in reader
                .index_stats()
                .map_err(|e| anyhow::anyhow!("{shown}: unreadable index: {e}"))?
            {
                if tid >= 0 && (tid as usize) < counts.len() {
                    counts[tid as usize] = m;
                }
            }
            counts
        };
        let mut shared = 0;
        for tid in 0..header.target_count() {
            let name = String::from_utf8_lossy(header.tid2name(tid)).to_string();
            let len = header.target_len(tid).unwrap_or(0);
            match reference.contig_len(&name) {
                None if mapped[tid as usize] > 0 => bail!(
                    "{shown}: contig '{name}' has mapped reads but is not in the reference {} (wrong reference build or naming?)",
                    reference.path.display()
                ),
                None => {}
                Some(l) if l != len => bail!(
                    "{shown}: contig '{name}' is {len} bp but {l} bp in the reference {}",
                    reference.path.display()
                ),
                Some(_) => shared += 1,
            }
        }
        if shared == 0 {
            bail!(
                "{shown}: no contig in common with the reference {} (wrong reference build or naming?)",
                reference.path.display()
            );
        }
        let text = String::from_utf8_lossy(header.as_bytes()).to_string();
        let sample = text
            .lines()
            .filter(|l| l.starts_with("@RG"))
            .flat_map(|l| l.split('\t'))
            .find_map(|f| f.strip_prefix("SM:"))
            .map(str::to_string);
        Ok(Alignments {
            path: path.to_path_buf(),
            reference: reference.clone(),
            sample,
            filter,
        })
    }

    pub fn reader(&self) -> Result<ReadSource> {
        let mut inner = bam::IndexedReader::from_path(&self.path)
            .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", self.path.display()))?;
        inner
            .set_reference(&self.reference.path)
            .map_err(|e| anyhow::anyhow!("{}: cannot set reference: {e}", self.path.display()))?;
        Ok(ReadSource {
            inner,
            alignments: self.clone(),
        })
    }
}

/// An open, per-worker handle on the alignments.
pub struct ReadSource {
    inner: bam::IndexedReader,
    alignments: Alignments,
}

const FLAG_UNMAPPED: u16 = 0x4;
const FLAG_SECONDARY: u16 = 0x100;
const FLAG_QCFAIL: u16 = 0x200;
const FLAG_DUP: u16 = 0x400;
const FLAG_SUPPLEMENTARY: u16 = 0x800;

impl ReadSource {
    /// Raw records overlapping `region` that pass the filter, in file order.
    fn records(&mut self, region: &Region) -> Result<Vec<bam::Record>> {
        let a = &self.alignments;
        let shown = a.path.display();
        let Some(tid) = self.inner.header().tid(region.contig.as_bytes()) else {
            return Ok(Vec::new()); // contig has no reads in this file
        };
        self.inner
            .fetch((tid as i32, region.start.0 as i64, region.end.0 as i64))
            .map_err(|e| anyhow::anyhow!("{shown}: cannot fetch {region}: {e}"))?;
        let f = &a.filter;
        let mut out = Vec::new();
        let mut rec = bam::Record::new();
        while let Some(r) = self.inner.read(&mut rec) {
            r.map_err(|e| {
                anyhow::anyhow!("{shown}: corrupt or truncated record in {region}: {e}")
            })?;
            let flags = rec.flags();
            if flags & (FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL) != 0
                || (!f.keep_duplicates && flags & FLAG_DUP != 0)
                || (!f.keep_supplementary && flags & FLAG_SUPPLEMENTARY != 0)
                || rec.mapq() < f.min_mapq
                || rec.mapq() == 255
                || rec.cigar_len() == 0
            {
                continue;
            }
            out.push(rec.clone());
        }
        Ok(out)
    }

    /// Reads overlapping `region`, decoded and realigned. Returns the reads (sorted by start,
    /// then key) and a reference window covering all of them plus `margin` around the region.
    pub fn fetch(
        &mut self,
        region: &Region,
        refr: &crate::reference::RefReader,
        margin: u64,
    ) -> Result<(Vec<Read>, RefWindow)> {
        let recs = self.records(region)?;
        let mut lo = region.start.0.saturating_sub(margin);
        let mut hi = region.end.0 + margin;
        for r in &recs {
            lo = lo.min(r.pos().max(0) as u64);
            hi = hi.max(r.cigar().end_pos().max(0) as u64 + 1);
        }
        let refw = RefWindow {
            start: lo,
            seq: refr.fetch(&region.contig, lo, hi)?,
        };
        let mut reads: Vec<Read> = recs.iter().map(|r| decode(r, &refw)).collect();
        reads.sort_by_key(|r| (r.start, r.key));
        Ok((reads, refw))
    }
}

fn decode(rec: &bam::Record, refw: &RefWindow) -> Read {
    let ops: Vec<Op> = rec
        .cigar()
        .iter()
        .filter_map(|c| match *c {
            Cigar::Match(n) | Cigar::Equal(n) | Cigar::Diff(n) => Some(Op::Match(n)),
            Cigar::Ins(n) => Some(Op::Ins(n)),
            Cigar::Del(n) => Some(Op::Del(n)),
            Cigar::RefSkip(n) => Some(Op::Skip(n)),
            Cigar::SoftClip(n) => Some(Op::SoftClip(n)),
            Cigar::HardClip(_) | Cigar::Pad(_) => None,
        })
        .collect();
    let seq = rec.seq().as_bytes().to_ascii_uppercase();
    let mut qual = rec.qual().to_vec();
    if qual.first() == Some(&255) {
        qual.iter_mut().for_each(|q| *q = 20); // no qualities stored: assume Q20
    }
    let start = rec.pos().max(0) as u64;
    let (blocks, indels) = realign::align_read(start, &ops, &seq, &qual, refw);
    let end = rec.cigar().end_pos().max(0) as u64;
    let mate = (rec.flags() & 0xC0) as u64;
    let clip = |op: Option<&Op>| match op {
        Some(Op::SoftClip(n)) => *n,
        _ => 0,
    };
    let clips = [clip(ops.first()), clip(ops.last())];
    Read {
        key: stable_hash(rec.qname(), mate),
        start,
        end,
        mapq: rec.mapq(),
        reverse: rec.is_reverse(),
        seq,
        qual,
        blocks,
        indels,
        clips,
    }
}
