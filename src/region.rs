//! Region engine: genomic coordinates, region parsing (`--regions`, `--regions-file`), the
//! fixed chunk grid that shards work, and the ordered parallel driver that runs a
//! [`RegionProcessor`] over chunks with rayon.
//!
//! Coordinates are kept in newtypes so 0-based and 1-based positions never mix:
//! [`Pos0`] is 0-based (BAM, BED, internal), [`Pos1`] is 1-based (VCF, user regions).
//! Chunks are cut on a grid of absolute coordinates (multiples of the chunk size), so the
//! work units, and therefore every per-chunk computation, are the same whatever the thread
//! count.
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::Path;

/// A 0-based genomic position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos0(pub u64);

/// A 1-based genomic position, as written in VCF and in user-facing region strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos1(pub u64);

impl From<Pos0> for Pos1 {
    fn from(p: Pos0) -> Self {
        Pos1(p.0 + 1)
    }
}

impl Pos1 {
    /// The 0-based position of this 1-based position (`Pos1(1)` is `Pos0(0)`).
    pub fn to_pos0(self) -> Pos0 {
        Pos0(self.0.saturating_sub(1))
    }
}

/// A half-open interval `[start, end)` on one contig, 0-based.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region {
    pub contig: String,
    pub start: Pos0,
    pub end: Pos0,
}

impl Region {
    pub fn new(contig: &str, start: u64, end: u64) -> Self {
        Region {
            contig: contig.to_string(),
            start: Pos0(start),
            end: Pos0(end),
        }
    }

    pub fn len(&self) -> u64 {
        self.end.0 - self.start.0
    }
}

impl std::fmt::Display for Region {
    /// samtools style: `chr20:1,001-2,000` is written `chr20:1001-2000` (1-based, inclusive).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}-{}", self.contig, self.start.0 + 1, self.end.0)
    }
}

/// Contig names and lengths, in reference order.
pub type ContigList = [(String, u64)];

fn contig_len(contigs: &ContigList, name: &str) -> Option<u64> {
    contigs.iter().find(|(n, _)| n == name).map(|(_, l)| *l)
}

/// Parses one samtools-style region: `chr20`, `chr20:1000`, `chr20:1,000-2,000` (1-based,
/// inclusive), checked against the reference contigs.
pub fn parse_region(text: &str, contigs: &ContigList) -> Result<Region> {
    let text = text.trim();
    if let Some(len) = contig_len(contigs, text) {
        return Ok(Region::new(text, 0, len));
    }
    let (name, range) = text
        .rsplit_once(':')
        .with_context(|| format!("region '{text}': contig not in the reference"))?;
    let len = contig_len(contigs, name)
        .with_context(|| format!("region '{text}': contig '{name}' not in the reference"))?;
    let num = |s: &str| -> Result<u64> {
        s.replace(',', "")
            .parse::<u64>()
            .with_context(|| format!("region '{text}': '{s}' is not a position"))
    };
    let (start, end) = match range.split_once('-') {
        Some((a, "")) => (num(a)?, len),
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let a = num(range)?;
            (a, a)
        }
    };
    if start == 0 || start > end {
        bail!("region '{text}': start must be >= 1 and <= end");
    }
    if start > len {
        bail!("region '{text}': starts past the end of {name} ({len} bp)");
    }
    // 1-based inclusive [start, end] is 0-based half-open [start - 1, end)
    Ok(Region {
        contig: name.to_string(),
        start: Pos1(start).to_pos0(),
        end: Pos0(end.min(len)),
    })
}

/// Parses a comma-separated list of regions.
pub fn parse_regions(text: &str, contigs: &ContigList) -> Result<Vec<Region>> {
    split_region_list(text)
        .iter()
        .map(|s| parse_region(s, contigs))
        .collect()
}

/// Writes regions as [`parse_regions`] reads them back, comma-separated: a whole contig as
/// its name, else `contig:start-end` (1-based, inclusive). Recorded in VCF headers
/// (`##callvarRegions`) and shard plans.
pub fn format_regions(regions: &[Region], contigs: &ContigList) -> String {
    regions
        .iter()
        .map(|r| {
            if r.start.0 == 0 && contig_len(contigs, &r.contig) == Some(r.end.0) {
                r.contig.clone()
            } else {
                r.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits a comma-separated region list where numbers may carry thousands separators, as
/// samtools accepts them: `chr20:1,000-2,000,chr21` is two regions. A comma starts a new
/// region unless it continues a coordinate (the piece so far has a `:` and ends in a digit,
/// and the next piece starts with exactly three digits).
fn split_region_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in text.split(',') {
        let digits = piece.bytes().take_while(u8::is_ascii_digit).count();
        let continues = out
            .last()
            .is_some_and(|prev| prev.contains(':') && prev.ends_with(|c: char| c.is_ascii_digit()))
            && digits == 3
            && matches!(piece.as_bytes().get(3), None | Some(b'-'));
        match out.last_mut() {
            Some(prev) if continues => {
                prev.push_str(piece);
            }
            _ => out.push(piece.to_string()),
        }
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

/// Reads a BED file (0-based, half-open; header, track and comment lines skipped).
/// A text file's contents, gunzipped when it is gzip or BGZF compressed.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let bytes = std::fs::read(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut s)?;
        Ok(s)
    } else {
        String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

pub fn read_bed(path: &Path) -> Result<Vec<Region>> {
    let text =
        read_text(path).with_context(|| format!("{}: cannot read BED file", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("track")
            || line.starts_with("browser")
        {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let parse = |s: Option<&&str>| s.and_then(|s| s.trim().parse::<u64>().ok());
        match (f.first(), parse(f.get(1)), parse(f.get(2))) {
            (Some(c), Some(s), Some(e)) if s <= e => out.push(Region::new(c, s, e)),
            _ => bail!(
                "{}: line {}: not a BED record (expected tab-separated chrom, start, end with start <= end)",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// Reads a BED file and checks each contig against the reference.
pub fn read_bed_checked(path: &Path, contigs: &ContigList) -> Result<Vec<Region>> {
    let mut regions = read_bed(path)?;
    for r in &mut regions {
        let len = contig_len(contigs, &r.contig).with_context(|| {
            format!(
                "{}: contig '{}' not in the reference",
                path.display(),
                r.contig
            )
        })?;
        r.end = Pos0(r.end.0.min(len));
    }
    Ok(regions)
}

/// Sorts regions in reference order and merges overlapping or touching ones.
pub fn merge(mut regions: Vec<Region>, contigs: &ContigList) -> Vec<Region> {
    let rank = |c: &str| {
        contigs
            .iter()
            .position(|(n, _)| n == c)
            .unwrap_or(usize::MAX)
    };
    regions.sort_by_key(|r| (rank(&r.contig), r.start, r.end));
    let mut out: Vec<Region> = Vec::new();
    for r in regions.into_iter().filter(|r| r.len() > 0) {
        match out.last_mut() {
            Some(last) if last.contig == r.contig && r.start <= last.end => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

/// A sorted, merged set of intervals with fast point lookup.
#[derive(Clone, Debug, Default)]
pub struct IntervalSet {
    by_contig: std::collections::HashMap<String, Vec<(u64, u64)>>,
}

impl IntervalSet {
    pub fn new(regions: &[Region]) -> Self {
        let mut by_contig: std::collections::HashMap<String, Vec<(u64, u64)>> = Default::default();
        for r in regions {
            by_contig
                .entry(r.contig.clone())
                .or_default()
                .push((r.start.0, r.end.0));
        }
        for v in by_contig.values_mut() {
            v.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
            for &(s, e) in v.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *v = merged;
        }
        IntervalSet { by_contig }
    }

    /// Whether `[start, end)` overlaps any interval.
    pub fn overlaps(&self, contig: &str, start: u64, end: u64) -> bool {
        let Some(v) = self.by_contig.get(contig) else {
            return false;
        };
        let i = v.partition_point(|&(_, e)| e <= start);
        i < v.len() && v[i].0 < end
    }

    /// Whether `[start, end)` lies wholly inside one interval.
    pub fn covers(&self, contig: &str, start: u64, end: u64) -> bool {
        let Some(v) = self.by_contig.get(contig) else {
            return false;
        };
        let i = v.partition_point(|&(_, e)| e <= start);
        i < v.len() && v[i].0 <= start && end <= v[i].1
    }
}

/// Cuts regions into chunks on the absolute grid `[k*size, (k+1)*size)`, so chunk borders
/// do not depend on how the regions or threads were laid out.
pub fn chunks(regions: &[Region], size: u64) -> Vec<Region> {
    let mut out = Vec::new();
    for r in regions {
        let mut s = r.start.0;
        while s < r.end.0 {
            let e = ((s / size + 1) * size).min(r.end.0);
            out.push(Region::new(&r.contig, s, e));
            s = e;
        }
    }
    out
}

/// One stage of work over a chunk of the genome (perbase's region-processor pattern):
/// `process` is called on many chunks in parallel; errors are returned, never panicked.
pub trait RegionProcessor: Sync {
    /// Per-worker state (open file handles, a model instance): built at most once per
    /// worker thread and reused for every chunk that worker processes.
    type State: Send;
    type Output: Send;
    fn init(&self) -> Result<Self::State>;
    fn process(&self, state: &mut Self::State, chunk: &Region) -> Result<Self::Output>;
}

/// Runs `processor` over `chunks` in parallel, delivering outputs to `sink` in chunk order.
/// At most `window` chunks are in flight, which bounds memory; `progress` is called after
/// each batch with the number of chunks finished.
pub fn run_ordered<P: RegionProcessor>(
    processor: &P,
    chunks: &[Region],
    window: usize,
    mut sink: impl FnMut(&Region, P::Output) -> Result<()>,
    mut progress: impl FnMut(usize),
) -> Result<()> {
    // idle worker states: a task takes one (or builds one if none is free) and returns it
    let idle: std::sync::Mutex<Vec<P::State>> = std::sync::Mutex::new(Vec::new());
    let take = || {
        idle.lock()
            .map_err(|_| anyhow::anyhow!("worker state lock poisoned"))
            .map(|mut v| v.pop())
    };
    for group in chunks.chunks(window.max(1)) {
        let outputs: Vec<Result<P::Output>> = group
            .par_iter()
            .map(|chunk| {
                let mut state = match take()? {
                    Some(s) => s,
                    None => processor.init()?,
                };
                let out = processor
                    .process(&mut state, chunk)
                    .with_context(|| format!("while processing {chunk}"));
                if let Ok(mut v) = idle.lock() {
                    v.push(state);
                }
                out
            })
            .collect();
        for (chunk, out) in group.iter().zip(outputs) {
            sink(chunk, out?)?;
        }
        progress(group.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contigs() -> Vec<(String, u64)> {
        vec![
            ("chr20".to_string(), 64_444_167),
            ("chrM".to_string(), 16_571),
        ]
    }

    #[test]
    fn region_lists_accept_thousands_separators() {
        let c = contigs();
        let r = parse_regions("chr20:1,000-2,000,chr20:5,000,000-5,000,100", &c).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].start.0, r[0].end.0), (999, 2000));
        assert_eq!((r[1].start.0, r[1].end.0), (4_999_999, 5_000_100));
        let r = parse_regions("chr20:1-100,chr20:300-400", &c).unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn parses_samtools_regions() {
        let c = contigs();
        assert_eq!(
            parse_region("chr20:1,001-2,000", &c).unwrap(),
            Region::new("chr20", 1000, 2000)
        );
        assert_eq!(
            parse_region("chrM", &c).unwrap(),
            Region::new("chrM", 0, 16_571)
        );
        assert_eq!(
            parse_region("chrM:100", &c).unwrap(),
            Region::new("chrM", 99, 100)
        );
        assert_eq!(
            parse_region("chrM:16000-99999", &c).unwrap(),
            Region::new("chrM", 15_999, 16_571)
        );
        assert!(parse_region("chr1:1-10", &c)
            .unwrap_err()
            .to_string()
            .contains("not in the reference"));
        assert!(parse_region("chr20:10-5", &c).is_err());
        assert!(parse_region("chr20:x-5", &c).is_err());
        assert!(parse_region("chr20:0-5", &c).is_err());
    }

    #[test]
    fn chunks_follow_absolute_grid() {
        let r = vec![Region::new("chr20", 150, 420)];
        let c = chunks(&r, 100);
        let spans: Vec<(u64, u64)> = c.iter().map(|r| (r.start.0, r.end.0)).collect();
        assert_eq!(spans, vec![(150, 200), (200, 300), (300, 400), (400, 420)]);
    }

    #[test]
    fn merges_and_queries_intervals() {
        let c = contigs();
        let m = merge(
            vec![
                Region::new("chrM", 5, 10),
                Region::new("chr20", 20, 30),
                Region::new("chr20", 25, 40),
            ],
            &c,
        );
        assert_eq!(
            m,
            vec![Region::new("chr20", 20, 40), Region::new("chrM", 5, 10)]
        );
        let s = IntervalSet::new(&m);
        assert!(s.overlaps("chr20", 20, 21));
        assert!(!s.overlaps("chr20", 40, 41));
        assert!(s.covers("chr20", 22, 40));
        assert!(!s.covers("chr20", 19, 25));
        assert!(s.overlaps("chrM", 0, 6));
        assert_eq!(Pos1::from(Pos0(0)), Pos1(1));
        assert_eq!(Pos1(1).to_pos0(), Pos0(0));
    }
}
