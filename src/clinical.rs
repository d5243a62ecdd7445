//! Clinical region gates (`call --clinical-regions BED`): inside the BED (e.g. the exons of
//! actionable genes) a variant call must reach `--clinical-min-gq` and
//! `--clinical-min-depth` or it gets FILTER [`FILTER_ID`], and every base that cannot be
//! called to the depth gate is written to the not-callable BED with its reason, so a report
//! never silently omits part of a gene.
//!
//! Depth is the number of reads passing the read filters ([`crate::reads::ReadFilter`]:
//! MAPQ, duplicates, supplementary, …) whose alignment spans the base, as
//! [`crate::reads::coverage`] counts it. It is measured per chunk inside the calling worker
//! ([`Gates::measure`]); a base below the gate is `low_mapq` when reads under `--min-mapq`
//! would have lifted it to the gate (a mappability problem: pseudogene, segmental
//! duplication) and `low_depth` otherwise. Clinical bases outside the called regions are
//! `not_called`. Chunks lie on a fixed grid and [`Tally`] joins their runs in genome order,
//! so the BED is the same for any `--threads` and `--chunk-size`.
use crate::genotype::Call;
use crate::reads::{self, Alignments, ReadSource};
use crate::reference::RefReader;
use crate::region::{self, ContigList, Region};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Low bases further apart than this are looked up in separate MAPQ-relaxed fetches.
const RELAXED_GAP: u64 = 1000;

/// The FILTER of a variant call inside the clinical regions that misses a gate.
pub const FILTER_ID: &str = "ClinicalGate";

/// One line of the clinical BED: its interval and name (4th column, else `chr:start-end`).
#[derive(Clone, Debug)]
pub struct Entry {
    pub region: Region,
    pub name: String,
}

/// The clinical regions and their gates.
#[derive(Debug)]
pub struct Gates {
    pub path: PathBuf,
    pub min_gq: u32,
    pub min_depth: u32,
    /// BED lines in reference order (overlaps kept: each is reported on its own).
    pub entries: Vec<Entry>,
    /// Their union per contig: sorted, disjoint `[start, end)`.
    merged: HashMap<String, Vec<(u64, u64)>>,
    /// Indices of each contig's entries, by start.
    by_contig: HashMap<String, Vec<usize>>,
    /// Longest entry per contig, to find the entries overlapping a chunk.
    longest: HashMap<String, u64>,
}

/// Why a base is in the not-callable BED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Fewer filter-passing reads than the gate, and reads below `--min-mapq` would not
    /// make up the difference.
    LowDepth,
    /// Below the gate only because reads with MAPQ under `--min-mapq` are not counted.
    LowMapq,
    /// Outside the regions called (`--regions`/`--regions-file`).
    NotCalled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::LowDepth => "low_depth",
            Reason::LowMapq => "low_mapq",
            Reason::NotCalled => "not_called",
        }
    }
}

/// A run of not-callable bases with one reason; depths are of filter-passing reads (none
/// for `not_called`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hole {
    pub contig: String,
    pub start: u64,
    pub end: u64,
    pub reason: Reason,
    pub depth: Option<(u32, u32)>,
}

/// Coverage of one clinical BED line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EntryStats {
    /// Bases inside the called regions.
    pub measured: u64,
    /// Bases at or above the depth gate.
    pub callable: u64,
    /// Sum of depth over the measured bases.
    pub depth_sum: u64,
}

/// What one chunk adds: which of its calls are gated, its not-callable runs, and the
/// coverage of the BED lines it overlaps.
#[derive(Debug, Default)]
pub struct ChunkClinical {
    /// Parallel to the chunk's calls.
    pub gated: Vec<bool>,
    pub holes: Vec<Hole>,
    pub entries: Vec<(usize, EntryStats)>,
}

/// A BED text file's contents, gunzipped when compressed.
fn read_text(path: &Path) -> Result<String> {
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read BED file"))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .with_context(|| format!("{shown}: cannot decompress"))?;
        Ok(s)
    } else {
        String::from_utf8(bytes).with_context(|| format!("{shown}: not a text file"))
    }
}

impl Gates {
    /// Reads the clinical BED (checked against the reference by [`region::read_bed_checked`];
    /// names from its 4th column).
    pub fn load(path: &Path, contigs: &ContigList, min_gq: u32, min_depth: u32) -> Result<Gates> {
        let regions = region::read_bed_checked(path, contigs)?;
        // the 4th column of the same data lines read_bed accepted, in the same order
        let text = read_text(path)?;
        let names = text
            .lines()
            .filter(|l| {
                !(l.is_empty()
                    || l.starts_with('#')
                    || l.starts_with("track")
                    || l.starts_with("browser"))
            })
            .map(|l| l.split('\t').nth(3).map(str::trim).unwrap_or_default());
        let mut entries: Vec<Entry> = regions
            .into_iter()
            .zip(names)
            .filter(|(r, _)| r.len() > 0)
            .map(|(r, n)| Entry {
                name: if n.is_empty() || n == "." {
                    r.to_string()
                } else {
                    n.to_string()
                },
                region: r,
            })
            .collect();
        if entries.is_empty() {
            anyhow::bail!(
                "{}: --clinical-regions: no regions in the BED file",
                path.display()
            );
        }
        let rank = |c: &str| contigs.iter().position(|(n, _)| n == c);
        entries.sort_by_key(|e| (rank(&e.region.contig), e.region.start, e.region.end));
        let mut merged: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        let mut longest: HashMap<String, u64> = HashMap::new();
        for r in region::merge(entries.iter().map(|e| e.region.clone()).collect(), contigs) {
            merged
                .entry(r.contig.clone())
                .or_default()
                .push((r.start.0, r.end.0));
        }
        let mut by_contig: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let l = longest.entry(e.region.contig.clone()).or_default();
            *l = (*l).max(e.region.len());
            by_contig
                .entry(e.region.contig.clone())
                .or_default()
                .push(i);
        }
        Ok(Gates {
            path: path.to_path_buf(),
            min_gq,
            min_depth,
            entries,
            merged,
            by_contig,
            longest,
        })
    }

    /// The header's description of [`FILTER_ID`].
    pub fn filter_description(&self) -> String {
        format!(
            "Variant genotype inside the --clinical-regions with GQ below {} or depth below {}",
            self.min_gq, self.min_depth
        )
    }

    /// Bases in the union of the clinical regions.
    pub fn total_bp(&self) -> u64 {
        self.merged.values().flatten().map(|(s, e)| e - s).sum()
    }

    /// The union's intervals overlapping `[start, end)`, clipped to it.
    fn merged_within(&self, contig: &str, start: u64, end: u64) -> Vec<(u64, u64)> {
        let Some(v) = self.merged.get(contig) else {
            return Vec::new();
        };
        let first = v.partition_point(|&(_, e)| e <= start);
        v[first..]
            .iter()
            .take_while(|&&(s, _)| s < end)
            .map(|&(s, e)| (s.max(start), e.min(end)))
            .collect()
    }

    /// Indices of the BED lines overlapping `[start, end)` on `contig`.
    fn entries_within(&self, contig: &str, start: u64, end: u64) -> Vec<usize> {
        let Some(v) = self.by_contig.get(contig) else {
            return Vec::new();
        };
        let longest = self.longest.get(contig).copied().unwrap_or(0);
        let from = start.saturating_sub(longest);
        let lo = v.partition_point(|&i| self.entries[i].region.start.0 < from);
        v[lo..]
            .iter()
            .copied()
            .take_while(|&i| self.entries[i].region.start.0 < end)
            .filter(|&i| self.entries[i].region.end.0 > start)
            .collect()
    }

    /// Whether a call is gated: a variant genotype overlapping the clinical regions with GQ
    /// or depth below the gate.
    fn gates(&self, call: &Call) -> bool {
        let c = &call.candidate;
        call.genotype.filter.as_str() != "RefCall"
            && (call.genotype.gq < self.min_gq || c.depth < self.min_depth)
            && !self.merged_within(&c.contig, c.pos.0, c.end()).is_empty()
    }

    /// Measures one chunk: `depth` holds the filter-passing depth of each of its bases;
    /// `relaxed` reads the same file without the MAPQ floor (only over bases below the gate).
    pub fn measure(
        &self,
        chunk: &Region,
        depth: &[u32],
        calls: &[Call],
        relaxed: &mut ReadSource,
        refr: &RefReader,
    ) -> Result<ChunkClinical> {
        let (c0, c1) = (chunk.start.0, chunk.end.0);
        let at = |p: u64| depth[(p - c0) as usize];
        let inside = self.merged_within(&chunk.contig, c0, c1);
        // bases below the gate
        let low: Vec<u64> = inside
            .iter()
            .flat_map(|&(s, e)| s..e)
            .filter(|&p| at(p) < self.min_depth)
            .collect();
        // MAPQ-relaxed depth, fetched per group of low bases (a new group after a gap of
        // RELAXED_GAP): a few short fetches rather than the whole chunk's reads again
        let mut holes: Vec<Hole> = Vec::new();
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for (i, &p) in low.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if p - low[g.1 - 1] <= RELAXED_GAP => g.1 = i + 1,
                _ => groups.push((i, i + 1)),
            }
        }
        for (a, b) in groups {
            let (lo, hi) = (low[a], low[b - 1] + 1);
            let (rr, _) = relaxed.fetch(&Region::new(&chunk.contig, lo, hi), refr, 0)?;
            let all = reads::coverage(&rr, lo, hi);
            for &p in &low[a..b] {
                let d = at(p);
                let reason = if all[(p - lo) as usize] >= self.min_depth {
                    Reason::LowMapq
                } else {
                    Reason::LowDepth
                };
                match holes.last_mut() {
                    Some(h) if h.end == p && h.reason == reason => {
                        h.end = p + 1;
                        h.depth = h.depth.map(|(a, b)| (a.min(d), b.max(d)));
                    }
                    _ => holes.push(Hole {
                        contig: chunk.contig.clone(),
                        start: p,
                        end: p + 1,
                        reason,
                        depth: Some((d, d)),
                    }),
                }
            }
        }
        let entries = self
            .entries_within(&chunk.contig, c0, c1)
            .into_iter()
            .map(|i| {
                let r = &self.entries[i].region;
                let mut s = EntryStats::default();
                for p in r.start.0.max(c0)..r.end.0.min(c1) {
                    let d = at(p);
                    s.measured += 1;
                    s.depth_sum += d as u64;
                    s.callable += (d >= self.min_depth) as u64;
                }
                (i, s)
            })
            .collect();
        Ok(ChunkClinical {
            gated: calls.iter().map(|c| self.gates(c)).collect(),
            holes,
            entries,
        })
    }

    /// Clinical bases outside the called `regions` (sorted, merged), as `not_called` holes.
    pub fn not_called(&self, regions: &[Region], contigs: &ContigList) -> Vec<Hole> {
        let mut out = Vec::new();
        for (name, _) in contigs {
            let Some(v) = self.merged.get(name) else {
                continue;
            };
            let called: Vec<(u64, u64)> = regions
                .iter()
                .filter(|r| &r.contig == name)
                .map(|r| (r.start.0, r.end.0))
                .collect();
            for &(s, e) in v {
                let mut p = s;
                for &(cs, ce) in called.iter().filter(|&&(cs, ce)| cs < e && ce > s) {
                    if cs > p {
                        out.push(hole_not_called(name, p, cs));
                    }
                    p = p.max(ce);
                }
                if p < e {
                    out.push(hole_not_called(name, p, e));
                }
            }
        }
        out
    }
}

fn hole_not_called(contig: &str, start: u64, end: u64) -> Hole {
    Hole {
        contig: contig.to_string(),
        start,
        end,
        reason: Reason::NotCalled,
        depth: None,
    }
}

/// The same reads with every filter but the MAPQ floor: the depth they would give tells a
/// `low_mapq` base from a `low_depth` one. Its counters are its own, so the run's notes
/// count each read once.
pub fn without_mapq_floor(a: &Alignments) -> Alignments {
    let mut relaxed = a.clone();
    relaxed.filter.min_mapq = 0;
    relaxed.counters = Default::default();
    relaxed
}

/// The clinical results of a run, gathered from its chunks in genome order.
#[derive(Debug)]
pub struct Tally {
    pub holes: Vec<Hole>,
    /// Parallel to [`Gates::entries`].
    pub entries: Vec<EntryStats>,
    pub gated_calls: u64,
}

impl Tally {
    /// Starts with the clinical bases outside the called regions.
    pub fn new(gates: &Gates, not_called: Vec<Hole>) -> Tally {
        Tally {
            holes: not_called,
            entries: vec![EntryStats::default(); gates.entries.len()],
            gated_calls: 0,
        }
    }

    /// Adds a chunk's results; a run continuing the last one (same contig, reason,
    /// adjacent) extends it, so chunk borders leave no trace.
    pub fn add(&mut self, chunk: ChunkClinical) {
        self.gated_calls += chunk.gated.iter().filter(|&&g| g).count() as u64;
        for (i, s) in chunk.entries {
            let e = &mut self.entries[i];
            e.measured += s.measured;
            e.callable += s.callable;
            e.depth_sum += s.depth_sum;
        }
        for h in chunk.holes {
            match self.holes.last_mut() {
                Some(last)
                    if last.contig == h.contig
                        && last.end == h.start
                        && last.reason == h.reason =>
                {
                    last.end = h.end;
                    last.depth = match (last.depth, h.depth) {
                        (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                        _ => None,
                    };
                }
                _ => self.holes.push(h),
            }
        }
    }

    /// The summary line: callable share, not-callable runs and where they are listed,
    /// gated calls.
    pub fn summary(&self, gates: &Gates, bed: &str) -> String {
        let total = gates.total_bp();
        let hole = self.hole_bp();
        format!(
            "clinical: {} of {total} bp callable (depth >= {}); {hole} bp in {} runs not callable, listed in {bed}; {} calls FILTER {FILTER_ID} (GQ < {} or depth < {})",
            total - hole,
            gates.min_depth,
            self.holes.len(),
            self.gated_calls,
            gates.min_gq,
            gates.min_depth
        )
    }

    /// Not-callable bases in all.
    pub fn hole_bp(&self) -> u64 {
        self.holes.iter().map(|h| h.end - h.start).sum()
    }

    /// The not-callable BED: two `#` header lines, then `chrom start end reason min_depth
    /// max_depth regions` sorted in reference order (`regions`: names of the clinical BED
    /// lines each run overlaps).
    pub fn bed(&self, gates: &Gates, contigs: &ContigList) -> String {
        let rank = |c: &str| contigs.iter().position(|(n, _)| n == c);
        let mut holes: Vec<&Hole> = self.holes.iter().collect();
        holes.sort_by_key(|h| (rank(&h.contig), h.start));
        let mut s = format!(
            "# callvar: bases of {} with fewer than {} reads passing the read filters, or not called\n#chrom\tstart\tend\treason\tmin_depth\tmax_depth\tregions\n",
            gates.path.display(),
            gates.min_depth,
        );
        for h in holes {
            let (lo, hi) = h
                .depth
                .map_or((".".to_string(), ".".to_string()), |(a, b)| {
                    (a.to_string(), b.to_string())
                });
            let mut names: Vec<&str> = Vec::new();
            for i in gates.entries_within(&h.contig, h.start, h.end) {
                let n = gates.entries[i].name.as_str();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            s.push_str(&format!(
                "{}\t{}\t{}\t{}\t{lo}\t{hi}\t{}\n",
                h.contig,
                h.start,
                h.end,
                h.reason.as_str(),
                names.join(",")
            ));
        }
        s
    }
}

/// Where the not-callable BED goes by default: beside the VCF, `OUT.not_callable.bed`
/// (`OUT` without `.vcf`, `.vcf.gz`, `.vcf.bgz`).
pub fn default_bed_path(output: &str) -> Option<String> {
    if output == "-" || output.starts_with("/dev/") || output.starts_with("/proc/") {
        return None;
    }
    let stem = [".vcf.gz", ".vcf.bgz", ".vcf", ".gz", ".bgz"]
        .iter()
        .find_map(|ext| output.strip_suffix(ext))
        .unwrap_or(output);
    Some(format!("{stem}.not_callable.bed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(lines: &str) -> Gates {
        let d = std::env::temp_dir().join(format!("callvar-clinical-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(format!("g{}.bed", lines.len()));
        std::fs::write(&p, lines).unwrap();
        let contigs = vec![("c1".to_string(), 1000), ("c2".to_string(), 1000)];
        let g = Gates::load(&p, &contigs, 30, 20).unwrap();
        std::fs::remove_file(&p).unwrap();
        g
    }

    #[test]
    fn entries_keep_names_and_union_is_merged() {
        let g = gates("track x\nc2\t10\t20\tB\nc1\t100\t200\tA\nc1\t150\t250\n");
        let names: Vec<&str> = g.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A", "c1:151-250", "B"]);
        assert_eq!(g.total_bp(), 160);
        assert_eq!(g.merged_within("c1", 120, 400), vec![(120, 250)]);
        assert_eq!(g.entries_within("c1", 210, 220), vec![1]);
        assert_eq!(g.entries_within("c1", 160, 170), vec![0, 1]);
        assert_eq!(g.entries_within("c2", 0, 11), vec![2]);
        assert!(g.entries_within("c2", 20, 30).is_empty());
    }

    #[test]
    fn not_called_is_the_union_minus_the_called_regions() {
        let g = gates("c1\t100\t200\tA\nc2\t0\t50\tB\n");
        let contigs = vec![("c1".to_string(), 1000), ("c2".to_string(), 1000)];
        let called = vec![Region::new("c1", 120, 150), Region::new("c1", 180, 500)];
        let h = g.not_called(&called, &contigs);
        let spans: Vec<(&str, u64, u64)> = h
            .iter()
            .map(|h| (h.contig.as_str(), h.start, h.end))
            .collect();
        assert_eq!(spans, [("c1", 100, 120), ("c1", 150, 180), ("c2", 0, 50)]);
    }

    #[test]
    fn tally_joins_runs_across_chunks() {
        let g = gates("c1\t0\t1000\tA\n");
        let mut t = Tally::new(&g, Vec::new());
        let hole = |s, e, r, d: (u32, u32)| Hole {
            contig: "c1".into(),
            start: s,
            end: e,
            reason: r,
            depth: Some(d),
        };
        for holes in [
            vec![hole(90, 100, Reason::LowDepth, (3, 9))],
            vec![
                hole(100, 120, Reason::LowDepth, (0, 4)),
                hole(120, 130, Reason::LowMapq, (1, 2)),
            ],
        ] {
            t.add(ChunkClinical {
                gated: vec![true, false],
                holes,
                entries: vec![],
            });
        }
        assert_eq!(t.holes.len(), 2);
        assert_eq!((t.holes[0].start, t.holes[0].end), (90, 120));
        assert_eq!(t.holes[0].depth, Some((0, 9)));
        assert_eq!((t.hole_bp(), t.gated_calls), (40, 2));
        let bed = t.bed(&g, &[("c1".to_string(), 1000)]);
        assert_eq!(
            bed.lines().nth(2).unwrap(),
            "c1\t90\t120\tlow_depth\t0\t9\tA"
        );
    }

    #[test]
    fn default_bed_sits_beside_the_vcf() {
        assert_eq!(
            default_bed_path("out/s.vcf.gz").as_deref(),
            Some("out/s.not_callable.bed")
        );
        assert_eq!(
            default_bed_path("s.vcf").as_deref(),
            Some("s.not_callable.bed")
        );
        assert_eq!(default_bed_path("-"), None);
    }
}
