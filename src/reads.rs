//! Alignment input: opens a BAM or CRAM (decoded with the reference) with its index, checks
//! the header against the reference, and fetches the reads of a region, filtered the way
//! DeepVariant filters them by default and decoded into [`Read`]s
//! (CIGAR blocks with left-aligned indels; local reassembly is [`crate::realigner`]'s).
use crate::cigar::{self, Block, Indel, Op};
use crate::reference::Compression;
use crate::reference::{RefWindow, Reference};
use crate::region::Region;
use anyhow::{bail, Context, Result};
use md5::Digest as _;
use rust_htslib::bam::{self, record::Cigar, Read as _};
use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Which reads to use.
#[derive(Clone, Debug)]
pub struct ReadFilter {
    pub min_mapq: u8,
    pub keep_supplementary: bool,
    pub keep_duplicates: bool,
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
    /// Aligned blocks in reference order.
    pub blocks: Vec<Block>,
    /// Indels in anchor order (left-alignment never moves one past the block before it).
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

    /// The first indel anchored at `anchor` (indels are in anchor order).
    pub fn indel_at(&self, anchor: u64) -> Option<&Indel> {
        let i = self.indels.partition_point(|d| d.anchor < anchor);
        self.indels.get(i).filter(|d| d.anchor == anchor)
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

/// MAPQ 255 means "mapping quality unavailable" (SAM spec); aligners such as STAR write it
/// for unique hits. Such reads are used, with this MAPQ in the filter and the tensor.
pub const MAPQ_UNAVAILABLE_AS: u8 = 60;

/// Counts of reads used or skipped for reasons a user should hear about.
#[derive(Debug, Default)]
pub struct ReadCounters {
    /// Reads with MAPQ 255 (unavailable), used as [`MAPQ_UNAVAILABLE_AS`].
    pub mapq_unavailable: AtomicU64,
    /// Reads without a stored sequence (SEQ `*`): nothing to count as evidence, skipped.
    pub no_sequence: AtomicU64,
}

/// Which sample of the file to call: by default the file must hold one sample (read
/// groups with one SM); `--sample` picks one of several, `--pool-samples` pools them all.
#[derive(Clone, Debug, Default)]
pub struct SampleChoice {
    pub name: Option<String>,
    pub pool: bool,
}

/// An alignment file with a usable index, checked against the reference.
#[derive(Clone, Debug)]
pub struct Alignments {
    pub path: PathBuf,
    pub reference: Reference,
    pub sample: Option<String>,
    pub filter: ReadFilter,
    /// The index file in use.
    pub index: PathBuf,
    /// Only reads of these read groups (when one sample of several is chosen).
    read_groups: Option<Arc<ReadGroupSet>>,
    /// @SQ M5 checksums by contig, where the header has them.
    md5s: HashMap<String, String>,
    /// The header's @SQ names and lengths, in header order.
    contigs: Vec<(String, u64)>,
    pub counters: Arc<ReadCounters>,
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

/// A sample name that a VCF header line can carry: not empty, no tab, newline or other
/// control character.
pub fn check_sample_name(name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("sample name is empty");
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        bail!("sample name {name:?} contains the control character {c:?} (not allowed in a VCF header)");
    }
    Ok(())
}

/// Read groups (ID, SM) from the header's @RG lines.
fn read_groups(header_text: &str) -> Vec<(String, Option<String>)> {
    header_text
        .lines()
        .filter(|l| l.starts_with("@RG"))
        .map(|l| {
            let field = |tag: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(tag))
                    .map(str::to_string)
            };
            (field("ID:").unwrap_or_default(), field("SM:"))
        })
        .collect()
}

/// Read group IDs whose reads are used.
type ReadGroupSet = HashSet<Vec<u8>>;

/// Resolves the sample to call: its name and, when one of several is chosen, its read groups.
fn choose_sample(
    shown: &str,
    groups: &[(String, Option<String>)],
    choice: &SampleChoice,
) -> Result<(Option<String>, Option<ReadGroupSet>)> {
    let mut names: Vec<&str> = Vec::new();
    for sm in groups.iter().filter_map(|(_, sm)| sm.as_deref()) {
        if !names.contains(&sm) {
            names.push(sm);
        }
    }
    if names.len() <= 1 || choice.pool {
        let name = choice
            .name
            .clone()
            .or_else(|| (!names.is_empty()).then(|| names.join("+")));
        return Ok((name, None));
    }
    match choice.name.as_deref() {
        Some(n) if names.contains(&n) => {
            let ids = groups
                .iter()
                .filter(|(_, sm)| sm.as_deref() == Some(n))
                .map(|(id, _)| id.as_bytes().to_vec())
                .collect();
            Ok((Some(n.to_string()), Some(ids)))
        }
        Some(n) => bail!(
            "{shown}: no read group has sample '{n}' (samples: {})",
            names.join(", ")
        ),
        None => bail!(
            "{shown}: holds {} samples ({}): choose one with --sample NAME, or pool them with --pool-samples",
            names.len(),
            names.join(", ")
        ),
    }
}

impl Alignments {
    /// Opens a single-sample file (several samples are refused).
    pub fn open(path: &Path, reference: &Reference, filter: ReadFilter) -> Result<Self> {
        Self::open_sample(path, reference, filter, &SampleChoice::default())
    }

    /// Opens `path`, checking its format, index, sort order and contigs against `reference`,
    /// and selects the sample to call.
    pub fn open_sample(
        path: &Path,
        reference: &Reference,
        filter: ReadFilter,
        choice: &SampleChoice,
    ) -> Result<Self> {
        let shown = path.display();
        if path.is_dir() {
            bail!("{shown}: is a directory, not a BAM or CRAM file");
        }
        if !path.is_file() {
            bail!("{shown}: reads file not found");
        }
        let is_cram = {
            let mut magic = [0u8; 4];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut magic))
                .map_err(|e| anyhow::anyhow!("{shown}: cannot read: {e}"))?;
            n == 4 && &magic == b"CRAM"
        };
        if !is_cram {
            match crate::reference::compression(path)? {
                Compression::Bgzf => {}
                Compression::Gzip => bail!("{shown}: gzip-compressed but not BGZF, so not a BAM (reads must be BAM or CRAM)"),
                Compression::None => bail!(
                    "{shown}: not a BAM or CRAM (plain SAM text?): convert with `samtools sort -o OUT.bam {shown}` and `samtools index OUT.bam`"
                ),
            }
            if !has_bgzf_eof(path)? {
                bail!("{shown}: truncated (no BGZF end-of-file block)");
            }
        }
        let Some(index) = index_candidates(path).into_iter().find(|p| p.is_file()) else {
            bail!("{shown}: no index found (run `samtools index {shown}`)");
        };
        let mut reader = bam::IndexedReader::from_path(path)
            .map_err(|e| anyhow::anyhow!("{shown}: cannot open as BAM/CRAM with index: {e}"))?;
        reader
            .set_reference(&reference.path)
            .map_err(|e| anyhow::anyhow!("{shown}: cannot set reference: {e}"))?;
        let header = reader.header().clone();
        if header.target_count() == 0 {
            bail!("{shown}: header has no @SQ lines (not an aligned BAM/CRAM?)");
        }
        let text = String::from_utf8_lossy(header.as_bytes()).to_string();
        if let Some(so) = text
            .lines()
            .filter(|l| l.starts_with("@HD"))
            .flat_map(|l| l.split('\t'))
            .find_map(|f| f.strip_prefix("SO:"))
        {
            if so != "coordinate" {
                bail!("{shown}: not sorted by coordinate (@HD SO:{so}): run `samtools sort -o SORTED.bam {shown}` and index it");
            }
        }
        crate::alignment_index::check(path, &index)?;
        // Contigs absent from the reference are an error when they hold mapped reads (those
        // reads would be silently lost); a contig present in both must have the same length.
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
        let mut contigs = Vec::new();
        for tid in 0..header.target_count() {
            let name = String::from_utf8_lossy(header.tid2name(tid)).to_string();
            let len = header.target_len(tid).unwrap_or(0);
            contigs.push((name.clone(), len));
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
        let md5s = text
            .lines()
            .filter(|l| l.starts_with("@SQ"))
            .filter_map(|l| {
                let field = |tag: &str| l.split('\t').find_map(|f| f.strip_prefix(tag));
                Some((
                    field("SN:")?.to_string(),
                    field("M5:")?.to_ascii_lowercase(),
                ))
            })
            .collect();
        let (sample, groups) = choose_sample(&shown.to_string(), &read_groups(&text), choice)?;
        if let Some(name) = &sample {
            check_sample_name(name)
                .with_context(|| format!("{shown}: read group SM or --sample"))?;
        }
        Ok(Alignments {
            path: path.to_path_buf(),
            reference: reference.clone(),
            sample,
            filter,
            index,
            read_groups: groups.map(Arc::new),
            md5s,
            contigs,
            counters: Arc::default(),
        })
    }

    /// Refuses two alignment files (a tumour and its normal) aligned to different
    /// references: their @SQ lines must name the same contigs with the same lengths, and
    /// the same M5 checksums where both headers have one.
    pub fn check_same_reference(&self, other: &Alignments) -> Result<()> {
        let (a, b) = (self.path.display(), other.path.display());
        if self.contigs.len() != other.contigs.len() {
            bail!(
                "{a} and {b}: aligned to different references ({} and {} @SQ lines)",
                self.contigs.len(),
                other.contigs.len()
            );
        }
        for ((n1, l1), (n2, l2)) in self.contigs.iter().zip(&other.contigs) {
            if n1 != n2 || l1 != l2 {
                bail!("{a} and {b}: aligned to different references (@SQ {n1} {l1} bp against {n2} {l2} bp)");
            }
            if let (Some(m1), Some(m2)) = (self.md5s.get(n1), other.md5s.get(n2)) {
                if m1 != m2 {
                    bail!("{a} and {b}: aligned to different references (@SQ {n1} M5 {m1} against {m2})");
                }
            }
        }
        Ok(())
    }

    /// Checks the header's @SQ M5 checksums of `contigs` against the reference's sequence
    /// (a CRAM decoded with the wrong reference, or a BAM aligned to another assembly of the
    /// same lengths, would otherwise give wrong bases or undecodable records).
    pub fn check_reference_md5(&self, contigs: &[&str]) -> Result<()> {
        let mut cache = crate::reference::ContigCache::new(&self.reference)?;
        for &contig in contigs {
            let Some(expected) = self.md5s.get(contig) else {
                continue;
            };
            let seq = cache.get(contig)?;
            let got = crate::reference::hex(&md5::Md5::digest(&seq.seq));
            if &got != expected {
                bail!(
                    "{}: contig '{contig}' has M5 {expected} in its header but the reference {} has {got} (reads aligned to another reference?)",
                    self.path.display(),
                    self.reference.path.display()
                );
            }
        }
        Ok(())
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

    /// Notes for the end-of-run summary: reads used or skipped in ways worth knowing.
    pub fn notes(&self) -> Vec<String> {
        let c = &self.counters;
        let mut v = Vec::new();
        let n = c.mapq_unavailable.load(Ordering::Relaxed);
        if n > 0 {
            v.push(format!(
                "{n} reads had MAPQ 255 (unavailable) and were used as MAPQ {MAPQ_UNAVAILABLE_AS}"
            ));
        }
        let n = c.no_sequence.load(Ordering::Relaxed);
        if n > 0 {
            v.push(format!(
                "{n} reads without a stored sequence (SEQ *) were skipped"
            ));
        }
        v
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
    /// Raw records overlapping `region` widened by `around` on each side that pass the
    /// filter, in file order. Reads starting inside `region` are the ones counted.
    fn records(&mut self, region: &Region, around: u64) -> Result<Vec<bam::Record>> {
        let a = &self.alignments;
        let shown = a.path.display();
        let Some(tid) = self.inner.header().tid(region.contig.as_bytes()) else {
            return Ok(Vec::new()); // contig has no reads in this file
        };
        self.inner
            .fetch((
                tid as i32,
                region.start.0.saturating_sub(around) as i64,
                (region.end.0 + around) as i64,
            ))
            .map_err(|e| anyhow::anyhow!("{shown}: cannot fetch {region}: {e}"))?;
        let f = &a.filter;
        let mut out = Vec::new();
        let mut rec = bam::Record::new();
        let mut last_pos = i64::MIN;
        while let Some(r) = self.inner.read(&mut rec) {
            r.map_err(|e| {
                anyhow::anyhow!("{shown}: cannot decode a record in {region} (corrupt or truncated file, or for a CRAM a reference that differs from the one it was written with): {e}")
            })?;
            if rec.pos() < last_pos {
                bail!(
                    "{shown}: not sorted by coordinate (read {} at {}:{} follows position {}): run `samtools sort` and index again",
                    String::from_utf8_lossy(rec.qname()),
                    region.contig,
                    rec.pos() + 1,
                    last_pos + 1
                );
            }
            last_pos = rec.pos();
            let flags = rec.flags();
            if flags & (FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL) != 0
                || (!f.keep_duplicates && flags & FLAG_DUP != 0)
                || (!f.keep_supplementary && flags & FLAG_SUPPLEMENTARY != 0)
                || mapq(&rec) < f.min_mapq
                || rec.cigar_len() == 0
            {
                continue;
            }
            if let Some(groups) = &a.read_groups {
                let in_sample = matches!(rec.aux(b"RG"), Ok(bam::record::Aux::String(id)) if groups.contains(id.as_bytes()));
                if !in_sample {
                    continue;
                }
            }
            // a read is counted in the chunk where it starts (chunks fetch overlapping reads)
            let first_seen = (region.start.0 as i64..region.end.0 as i64).contains(&rec.pos());
            if rec.seq_len() == 0 {
                if first_seen {
                    a.counters.no_sequence.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            let query_len: u32 = rec
                .cigar()
                .iter()
                .map(|c| match c {
                    Cigar::Match(n)
                    | Cigar::Ins(n)
                    | Cigar::SoftClip(n)
                    | Cigar::Equal(n)
                    | Cigar::Diff(n) => *n,
                    _ => 0,
                })
                .sum();
            if query_len as usize != rec.seq_len() {
                bail!(
                    "{shown}: read {}: CIGAR covers {query_len} read bases but SEQ holds {} (malformed record)",
                    String::from_utf8_lossy(rec.qname()),
                    rec.seq_len()
                );
            }
            if rec.mapq() == 255 && first_seen {
                a.counters.mapq_unavailable.fetch_add(1, Ordering::Relaxed);
            }
            out.push(rec.clone());
        }
        Ok(out)
    }

    /// Reads overlapping `region`, decoded with left-aligned indels. Returns the reads (sorted by start,
    /// then key) and a reference window covering all of them plus `margin` around the region.
    pub fn fetch(
        &mut self,
        region: &Region,
        refr: &crate::reference::RefReader,
        margin: u64,
    ) -> Result<(Vec<Read>, RefWindow)> {
        self.fetch_around(region, refr, margin, 0)
    }

    /// [`Self::fetch`] of the reads overlapping `region` widened by `around` on each side
    /// (the realigner's windows reach past a chunk's edges).
    pub fn fetch_around(
        &mut self,
        region: &Region,
        refr: &crate::reference::RefReader,
        margin: u64,
        around: u64,
    ) -> Result<(Vec<Read>, RefWindow)> {
        let recs = self.records(region, around)?;
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

/// The record's mapping quality, with 255 (unavailable) read as [`MAPQ_UNAVAILABLE_AS`].
fn mapq(rec: &bam::Record) -> u8 {
    match rec.mapq() {
        255 => MAPQ_UNAVAILABLE_AS,
        q => q,
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
    let (blocks, indels) = cigar::align_read(start, &ops, &seq, &qual, refw);
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
        mapq: mapq(rec),
        reverse: rec.is_reverse(),
        seq,
        qual,
        blocks,
        indels,
        clips,
    }
}
