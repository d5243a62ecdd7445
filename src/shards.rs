//! `callvar shards`: plans how to split one sample's calling into N shards of about equal
//! work, for a workflow engine to run as separate `callvar call --regions-file` tasks and
//! `callvar merge` to join.
//!
//! A shard is a run of whole chunks of the fixed grid (`region::chunks`, `--chunk-size`), in
//! reference order, so every chunk is computed exactly as in a single run and the merged
//! output can be identical to it. Work per chunk is estimated from the alignment index
//! without reading any record: the compressed bytes of alignment data per 16 kb window from
//! a `.bai` linear index or a `.csi`'s leaf-bin offsets, or per slice from a `.crai`
//! (bytes spread evenly over the bases each window or slice spans), plus a small cost per
//! base so that stretches without reads are not free. Shards are cut where the cumulative
//! work is closest to each i/N quantile.
//!
//! The plan is a folder: `shard-0001.bed` … (one BED per shard) and `plan.tsv`, which
//! records the chunk size, all regions and each shard's regions; `callvar merge` checks
//! shard outputs against it. `plan.tsv` is written last (temporary name, then renamed), so
//! a folder with a `plan.tsv` holds a complete plan.
use crate::alignment_index::Cursor;
use crate::output::{self, Temp};
use crate::reads::Alignments;
use crate::region::{self, ContigList, Region};
use anyhow::{bail, Context, Result};
use rust_htslib::bam::{self, Read as _};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The plan's file name inside its folder.
pub const PLAN_FILE: &str = "plan.tsv";

/// Estimated work of one base without reads, in compressed bytes of alignment data (30x
/// Illumina is about 20 bytes per base).
const WORK_PER_BASE: f64 = 0.01;

/// One shard of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedShard {
    /// 1-based shard number.
    pub id: usize,
    /// The shard's BED file, relative to the plan's folder.
    pub bed: String,
    /// Its regions (whole grid chunks, merged, in reference order).
    pub regions: Vec<Region>,
    pub chunks: usize,
    /// Estimated work (compressed bytes of alignment data, see the module doc).
    pub work: f64,
}

/// A shard plan: every region to call, the chunk grid, and the shards that tile them.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub chunk_size: u64,
    pub regions: Vec<Region>,
    pub shards: Vec<PlannedShard>,
}

/// Parses a region list written by [`region::format_regions`] (plain commas: contig names
/// cannot hold one).
pub fn parse_region_list(text: &str, contigs: &ContigList) -> Result<Vec<Region>> {
    let list = text
        .split(',')
        .map(|s| region::parse_region(s, contigs))
        .collect::<Result<Vec<_>>>()?;
    Ok(region::merge(list, contigs))
}

impl Plan {
    /// The plan as `plan.tsv` text.
    fn to_text(&self, contigs: &ContigList, source: &str) -> String {
        let mut s = format!(
            "#callvar shard plan\n#source={source}\n#chunk_size={}\n#regions={}\n#shard\tbed\tchunks\tbp\twork\tregions\n",
            self.chunk_size,
            region::format_regions(&self.regions, contigs)
        );
        for sh in &self.shards {
            let bp: u64 = sh.regions.iter().map(Region::len).sum();
            s.push_str(&format!(
                "{}\t{}\t{}\t{bp}\t{:.0}\t{}\n",
                sh.id,
                sh.bed,
                sh.chunks,
                sh.work,
                region::format_regions(&sh.regions, contigs)
            ));
        }
        s
    }

    /// Reads `plan.tsv`, checking that its shards tile its regions on its chunk grid.
    pub fn read(path: &Path, contigs: &ContigList) -> Result<Plan> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{shown}: cannot read shard plan"))?;
        if !text.starts_with("#callvar shard plan\n") {
            bail!("{shown}: not a callvar shard plan (written by `callvar shards`)");
        }
        let (mut chunk_size, mut regions, mut shards) = (None, None, Vec::new());
        for (i, line) in text.lines().enumerate() {
            let at = || format!("{shown}: line {}", i + 1);
            if let Some(v) = line.strip_prefix("#chunk_size=") {
                chunk_size = Some(v.parse::<u64>().ok().filter(|&c| c > 0).with_context(|| {
                    format!("{}: chunk size '{v}' is not a positive number", at())
                })?);
            } else if let Some(v) = line.strip_prefix("#regions=") {
                regions = Some(parse_region_list(v, contigs).with_context(at)?);
            } else if !line.starts_with('#') && !line.is_empty() {
                let f: Vec<&str> = line.split('\t').collect();
                let num = |k: usize| f.get(k).and_then(|s| s.parse::<u64>().ok());
                let (Some(id), Some(chunks), Some(work), Some(bed), Some(list), 6) =
                    (num(0), num(2), num(4), f.get(1), f.get(5), f.len())
                else {
                    bail!(
                        "{}: not a shard line (shard, bed, chunks, bp, work, regions)",
                        at()
                    );
                };
                shards.push(PlannedShard {
                    id: id as usize,
                    bed: bed.to_string(),
                    regions: parse_region_list(list, contigs).with_context(at)?,
                    chunks: chunks as usize,
                    work: work as f64,
                });
            }
        }
        let (Some(chunk_size), Some(regions)) = (chunk_size, regions) else {
            bail!("{shown}: incomplete shard plan (no #chunk_size= or #regions= line)");
        };
        let plan = Plan {
            chunk_size,
            regions,
            shards,
        };
        plan.check()
            .with_context(|| format!("{shown}: inconsistent shard plan"))?;
        Ok(plan)
    }

    /// Shards numbered 1..N in reference order, each whole grid chunks, together exactly
    /// the plan's regions.
    fn check(&self) -> Result<()> {
        if self.shards.is_empty() {
            bail!("no shards");
        }
        let mut all = Vec::new();
        for (k, sh) in self.shards.iter().enumerate() {
            if sh.id != k + 1 {
                bail!("shard {} listed where shard {} belongs", sh.id, k + 1);
            }
            let grid = region::chunks(&sh.regions, self.chunk_size);
            all.extend(grid);
        }
        let expected = region::chunks(&self.regions, self.chunk_size);
        if all != expected {
            bail!("the shards are not the plan's regions cut on its {} bp grid (overlaps, gaps or shards out of order)", self.chunk_size);
        }
        Ok(())
    }
}

/// What `callvar shards` is asked to do, resolved from the command line.
pub struct PlanJob<'a> {
    pub alignments: &'a Alignments,
    pub contigs: &'a ContigList,
    pub regions: Vec<Region>,
    pub shards: usize,
    pub chunk_size: u64,
    pub output_dir: PathBuf,
}

/// A written plan, for the summary line.
pub struct PlanSummary {
    pub plan: Plan,
    pub chunks: usize,
    /// The index the work estimate came from.
    pub index: PathBuf,
}

/// Plans the shards and writes the BEDs and `plan.tsv` into the output folder.
pub fn run(job: PlanJob) -> Result<PlanSummary> {
    let dir = &job.output_dir;
    if dir.is_file() {
        bail!("{}: --output-dir is a file, not a folder", dir.display());
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == PLAN_FILE || (name.starts_with("shard-") && name.ends_with(".bed")) {
                bail!(
                    "{}: already holds a shard plan ({name}); remove it or choose another --output-dir",
                    dir.display()
                );
            }
        }
    }
    let chunks = region::chunks(&job.regions, job.chunk_size);
    let pieces = index_pieces(&job.alignments.path, &job.alignments.index)?;
    let work = chunk_work(&chunks, &pieces);
    let ranges = partition(&work, job.shards);
    let width = ranges.len().to_string().len().max(4);
    let shards: Vec<PlannedShard> = ranges
        .iter()
        .enumerate()
        .map(|(k, r)| PlannedShard {
            id: k + 1,
            bed: format!("shard-{:0width$}.bed", k + 1),
            regions: region::merge(chunks[r.clone()].to_vec(), job.contigs),
            chunks: r.len(),
            work: work[r.clone()].iter().sum(),
        })
        .collect();
    let plan = Plan {
        chunk_size: job.chunk_size,
        regions: job.regions,
        shards,
    };
    plan.check()?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create --output-dir", dir.display()))?;
    let mut files = Vec::new();
    let write = |name: &str, text: String| -> Result<(Temp, PathBuf)> {
        let dest = dir.join(name);
        let tmp = Temp::beside(&dest);
        std::fs::write(tmp.path(), text)
            .and_then(|()| std::fs::File::open(tmp.path())?.sync_all())
            .with_context(|| format!("{}: write error", dest.display()))?;
        Ok((tmp, dest))
    };
    for sh in &plan.shards {
        let bed: String = sh
            .regions
            .iter()
            .map(|r| format!("{}\t{}\t{}\n", r.contig, r.start.0, r.end.0))
            .collect();
        files.push(write(&sh.bed, bed)?);
    }
    let source = format!("callvar {}", env!("CARGO_PKG_VERSION"));
    files.push(write(PLAN_FILE, plan.to_text(job.contigs, &source))?);
    output::commit_all(files)?;
    Ok(PlanSummary {
        plan,
        chunks: chunks.len(),
        index: job.alignments.index.clone(),
    })
}

/// The windows of the index of `reads` that hold alignment data, in index order: (contig,
/// start, end). The sample's median depth is measured in a few of them
/// ([`crate::tiers::median_depth`]).
pub fn read_windows(reads: &Path, index: &Path) -> Result<Vec<(String, u64, u64)>> {
    Ok(index_pieces(reads, index)?
        .into_iter()
        .filter(|p| p.bytes > 0.0 && p.end > p.start)
        .map(|p| (p.contig, p.start, p.end))
        .collect())
}

/// Alignment data over `[start, end)` of a contig: `bytes` spread evenly over its bases.
#[derive(Clone, Debug, PartialEq)]
struct Piece {
    contig: String,
    start: u64,
    end: u64,
    bytes: f64,
}

/// Read density from the index of `reads` (`.bai`, `.csi` or `.crai`).
fn index_pieces(reads: &Path, index: &Path) -> Result<Vec<Piece>> {
    let shown = index.display();
    let raw = std::fs::read(index).with_context(|| format!("{shown}: cannot read"))?;
    let reader = bam::Reader::from_path(reads)
        .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", reads.display()))?;
    let h = reader.header();
    let names: Vec<(String, u64)> = (0..h.target_count())
        .map(|t| {
            (
                String::from_utf8_lossy(h.tid2name(t)).to_string(),
                h.target_len(t).unwrap_or(0),
            )
        })
        .collect();
    let name = index.to_string_lossy();
    let pieces = if name.ends_with(".crai") {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .with_context(|| format!("{shown}: unreadable CRAM index"))?;
        crai_pieces(&text, &names)
    } else if name.ends_with(".csi") {
        let mut plain = Vec::new();
        noodles_bgzf::io::Reader::new(&raw[..])
            .read_to_end(&mut plain)
            .with_context(|| format!("{shown}: unreadable CSI index"))?;
        csi_pieces(&plain, &names)
    } else {
        bai_pieces(&raw, &names)
    };
    pieces.with_context(|| format!("{shown}: malformed index"))
}

/// A BGZF virtual offset as an approximate compressed byte position: the block's offset
/// plus the offset inside the block scaled by 1/4 (BAM's usual compression ratio).
fn file_position(voffset: u64) -> f64 {
    (voffset >> 16) as f64 + (voffset & 0xffff) as f64 / 4.0
}

/// Pieces of one contig from index points (window start, virtual offset of the first
/// alignment there) and the contig's first and last offsets: the data between consecutive
/// points lies in the window of the first.
fn pieces_from_points(
    contig: &(String, u64),
    mut points: Vec<(u64, u64)>,
    window: u64,
    (beg, end): (u64, u64),
) -> Vec<Piece> {
    points.sort_unstable();
    let (lo, hi) = (file_position(beg), file_position(end));
    let mut out = Vec::new();
    let mut last: Option<(u64, f64)> = None;
    for (start, v) in points {
        let at = file_position(v).clamp(lo, hi);
        if let Some((s, p)) = last {
            if start > s {
                out.push(Piece {
                    contig: contig.0.clone(),
                    start: s,
                    end: start,
                    bytes: (at - p).max(0.0),
                });
                last = Some((start, at.max(p)));
            }
        } else {
            last = Some((start, at));
        }
    }
    if let Some((s, p)) = last {
        let stop = if contig.1 > s {
            contig.1.min(s + window)
        } else {
            s + window
        };
        out.push(Piece {
            contig: contig.0.clone(),
            start: s,
            end: stop,
            bytes: (hi - p).max(0.0),
        });
    }
    out
}

/// `.bai`: the linear index gives the first alignment of each 16 kb window; the metadata
/// pseudo-bin (37450) the contig's first and last offsets.
fn bai_pieces(b: &[u8], names: &[(String, u64)]) -> Result<Vec<Piece>> {
    let mut c = Cursor { b, i: 0 };
    if c.take(4)? != b"BAI\x01" {
        bail!("not a BAI index");
    }
    let mut out = Vec::new();
    for tid in 0..c.i32()? {
        let (mut span, mut meta) = ((u64::MAX, 0u64), None);
        for _ in 0..c.i32()? {
            let bin = c.u32()?;
            let n_chunk = c.i32()?;
            for k in 0..n_chunk {
                let (beg, end) = (c.u64()?, c.u64()?);
                if bin == 37450 {
                    if k == 0 {
                        meta = Some((beg, end));
                    }
                } else {
                    span = (span.0.min(beg), span.1.max(end));
                }
            }
        }
        let n_intv = c.i32()?;
        let mut points = Vec::with_capacity(n_intv);
        for w in 0..n_intv {
            points.push(((w as u64) << 14, c.u64()?));
        }
        let span = meta.unwrap_or(span);
        if let Some(contig) = names.get(tid).filter(|_| span.1 > 0) {
            out.extend(pieces_from_points(contig, points, 1 << 14, span));
        }
    }
    Ok(out)
}

/// `.csi`: no linear index, but each bin records the offset of the first alignment
/// overlapping it; the leaf bins play the linear index's part.
fn csi_pieces(b: &[u8], names: &[(String, u64)]) -> Result<Vec<Piece>> {
    let mut c = Cursor { b, i: 0 };
    if c.take(4)? != b"CSI\x01" {
        bail!("not a CSI index");
    }
    let min_shift = c.i32()? as u32;
    let depth = c.i32()? as u32;
    if min_shift >= 40 || depth > 10 {
        bail!("implausible CSI parameters (min_shift {min_shift}, depth {depth})");
    }
    let l_aux = c.i32()?;
    c.take(l_aux)?;
    let first_leaf = ((1u64 << (depth * 3)) - 1) / 7;
    let pseudo = ((1u64 << ((depth + 1) * 3)) - 1) / 7 + 1;
    let mut out = Vec::new();
    for tid in 0..c.i32()? {
        let (mut span, mut meta, mut points) = ((u64::MAX, 0u64), None, Vec::new());
        for _ in 0..c.i32()? {
            let bin = c.u32()? as u64;
            let loffset = c.u64()?;
            let n_chunk = c.i32()?;
            for k in 0..n_chunk {
                let (beg, end) = (c.u64()?, c.u64()?);
                if bin == pseudo {
                    if k == 0 {
                        meta = Some((beg, end));
                    }
                } else {
                    span = (span.0.min(beg), span.1.max(end));
                }
            }
            if (first_leaf..pseudo - 1).contains(&bin) {
                points.push(((bin - first_leaf) << min_shift, loffset));
            }
        }
        let span = meta.unwrap_or(span);
        if let Some(contig) = names.get(tid).filter(|_| span.1 > 0) {
            out.extend(pieces_from_points(contig, points, 1 << min_shift, span));
        }
    }
    Ok(out)
}

/// `.crai`: one line per slice (contig, start, span, container offset, slice offset, slice
/// size in bytes); unplaced slices (contig -1) are skipped.
fn crai_pieces(text: &str, names: &[(String, u64)]) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<i64> = line
            .split('\t')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()
            .filter(|f: &Vec<i64>| f.len() == 6)
            .with_context(|| format!("line {}: not a CRAM index line", i + 1))?;
        let Some(contig) = usize::try_from(f[0]).ok().and_then(|t| names.get(t)) else {
            continue;
        };
        let start = (f[1].max(1) - 1) as u64;
        out.push(Piece {
            contig: contig.0.clone(),
            start,
            end: start + f[2].max(1) as u64,
            bytes: f[5].max(0) as f64,
        });
    }
    Ok(out)
}

/// Estimated work of each chunk: its share of every piece it overlaps, plus
/// [`WORK_PER_BASE`] per base.
fn chunk_work(chunks: &[Region], pieces: &[Piece]) -> Vec<f64> {
    let mut work: Vec<f64> = chunks
        .iter()
        .map(|c| c.len() as f64 * WORK_PER_BASE)
        .collect();
    let mut by_contig: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (k, c) in chunks.iter().enumerate() {
        by_contig.entry(c.contig.as_str()).or_default().push(k);
    }
    for v in by_contig.values_mut() {
        v.sort_by_key(|&k| chunks[k].start);
    }
    for p in pieces.iter().filter(|p| p.end > p.start && p.bytes > 0.0) {
        let Some(ks) = by_contig.get(p.contig.as_str()) else {
            continue;
        };
        let first = ks.partition_point(|&k| chunks[k].end.0 <= p.start);
        for &k in ks[first..]
            .iter()
            .take_while(|&&k| chunks[k].start.0 < p.end)
        {
            let c = &chunks[k];
            let overlap = c.end.0.min(p.end) - c.start.0.max(p.start);
            work[k] += p.bytes * overlap as f64 / (p.end - p.start) as f64;
        }
    }
    work
}

/// Cuts `work` (in order) into `n` runs of about equal sums (fewer when there are fewer
/// items): cut k goes to the boundary whose prefix sum is closest to k/n of the total,
/// keeping every run non-empty.
fn partition(work: &[f64], n: usize) -> Vec<std::ops::Range<usize>> {
    let m = work.len();
    let n = n.min(m).max(1);
    let mut prefix = Vec::with_capacity(m + 1);
    prefix.push(0.0);
    for w in work {
        prefix.push(prefix[prefix.len() - 1] + w);
    }
    let total = prefix[m];
    let mut cuts = vec![0usize];
    for k in 1..n {
        let target = total * k as f64 / n as f64;
        let j = prefix.partition_point(|&p| p < target).min(m);
        let j = if j > 0 && target - prefix[j - 1] <= prefix[j] - target {
            j - 1
        } else {
            j
        };
        let lo = cuts[cuts.len() - 1] + 1;
        cuts.push(j.clamp(lo, m - (n - k)));
    }
    cuts.push(m);
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_balances_and_keeps_runs_non_empty() {
        let r = partition(&[1.0, 1.0, 1.0, 1.0, 4.0, 0.0, 0.0, 0.0], 2);
        assert_eq!(r, vec![0..4, 4..8]);
        let r = partition(&[5.0, 0.0, 0.0], 3);
        assert_eq!(r, vec![0..1, 1..2, 2..3]);
        assert_eq!(partition(&[1.0, 2.0], 5), vec![0..1, 1..2]);
    }

    #[test]
    fn region_lists_round_trip_with_whole_contigs_as_names() {
        let contigs = vec![
            ("chr20".to_string(), 1000),
            ("HLA-A*01:01:01:01".to_string(), 500),
        ];
        let r = vec![
            Region::new("chr20", 0, 1000),
            Region::new("HLA-A*01:01:01:01", 10, 20),
        ];
        let text = region::format_regions(&r, &contigs);
        assert_eq!(text, "chr20,HLA-A*01:01:01:01:11-20");
        assert_eq!(parse_region_list(&text, &contigs).unwrap(), r);
    }

    #[test]
    fn pieces_spread_over_chunks_by_overlap() {
        let chunks = region::chunks(&[Region::new("c", 0, 4000)], 1000);
        let pieces = vec![Piece {
            contig: "c".into(),
            start: 500,
            end: 2500,
            bytes: 200.0,
        }];
        let w = chunk_work(&chunks, &pieces);
        let extra: Vec<f64> = w.iter().map(|x| x - 1000.0 * WORK_PER_BASE).collect();
        assert_eq!(extra, vec![50.0, 100.0, 50.0, 0.0]);
    }
}
