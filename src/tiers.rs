//! Confidence tiers for clinical review: every record gets `INFO/TIER` 1 (report), 2
//! (review) or 3 (research only), from its calibrated GQ and the context features that
//! predict a wrong call, all measured by callvar itself from the chunk's reads and the
//! reference:
//!
//! - `RPT`: the longest homopolymer or tandem repeat (period 1–6) touching the site, in bp;
//! - `MQ`, `MQ20`: mean mapping quality of the reads covering the site, and the fraction of
//!   them below MAPQ 20 (reads under `--min-mapq` are not there to count);
//! - `AMM`: mismatches and indels per 100 aligned bases carried by the reads supporting an
//!   alternate allele, besides the site itself (a collapsed paralog's reads carry its other
//!   differences too);
//! - `DPR`: DP over the sample's median depth ([`median_depth`]);
//! - `AB`: allele balance of a heterozygous genotype (the second allele's reads over both);
//! - `FS`: Phred-scaled Fisher exact test of reference versus alternate reads on the two
//!   strands.
//!
//! A record outside PASS, or with GQ below [`RULE`]'s Tier 3 floor, is Tier 3; each feature
//! out of its range raises a flag (`TIER_FLAGS`); a PASS call with GQ at least the Tier 1
//! floor and no flag is Tier 1, one with [`Rule::tier3_flags`] flags or more is Tier 3, the
//! rest Tier 2. The thresholds were chosen on the calibration samples (`benches/tiers.sh`)
//! and are written into the VCF header.
use crate::candidates::{Candidate, ReadSupports, Support};
use crate::genotype::{Filter, Genotype, Ploidy};
use crate::reads::{Alignments, Read};
use crate::reference::{RefWindow, Reference};
use crate::region::{Pos0, Region};
use anyhow::Result;

/// What the reads and the reference say around one candidate (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteContext {
    /// Longest homopolymer or tandem repeat (period 1–6) touching the site, bp.
    pub repeat: u32,
    /// Mean MAPQ of the covering reads.
    pub mean_mapq: f32,
    /// Fraction of covering reads with MAPQ below 20.
    pub low_mapq: f32,
    /// Mismatches and indels per 100 aligned bases of the alt-supporting reads, off the site.
    pub alt_mismatch: f32,
    /// Reads on the forward and reverse strand: reference `[0]`, any alternate `[1]`.
    pub strands: [[u32; 2]; 2],
}

/// MAPQ below this counts in [`SiteContext::low_mapq`].
const LOW_MAPQ: u8 = 20;
/// Reference bases searched each side of a site for the repeat it sits in.
const REPEAT_REACH: u64 = 60;
/// Longest repeat unit looked for.
const MAX_PERIOD: u64 = 6;

/// Measures a candidate's context from the reads covering it (`supports`) and the reference.
pub fn context(
    cand: &Candidate,
    supports: &ReadSupports,
    reads: &[Read],
    refw: &RefWindow,
    min_base_qual: u8,
) -> SiteContext {
    let n = supports.len().max(1) as f32;
    let mapq_sum: f32 = supports.iter().map(|&(i, _)| reads[i].mapq as f32).sum();
    let low = supports
        .iter()
        .filter(|&&(i, _)| reads[i].mapq < LOW_MAPQ)
        .count();
    let mut strands = [[0u32; 2]; 2];
    let (mut events, mut aligned) = (0u64, 0u64);
    let (site_lo, site_hi) = (cand.pos.0, cand.end().max(cand.pos.0 + 2));
    for &(i, s) in supports {
        let r = &reads[i];
        let row = match s {
            Some(Support::Ref) => 0,
            Some(Support::Alt(_)) => 1,
            _ => continue,
        };
        strands[row][usize::from(r.reverse)] += 1;
        if row == 1 {
            let (e, a) = mismatches(r, refw, min_base_qual, site_lo, site_hi);
            events += e;
            aligned += a;
        }
    }
    SiteContext {
        repeat: repeat_span(
            refw,
            site_lo,
            if cand.alts.iter().any(|a| a.is_indel()) {
                site_hi
            } else {
                cand.pos.0 + 1
            },
        ),
        mean_mapq: mapq_sum / n,
        low_mapq: low as f32 / n,
        alt_mismatch: if aligned == 0 {
            0.0
        } else {
            100.0 * events as f32 / aligned as f32
        },
        strands,
    }
}

/// A read's differences from the reference (mismatching bases of quality ≥ `min_bq`, and
/// indels) and its aligned bases of that quality, outside `[lo, hi)`.
fn mismatches(r: &Read, refw: &RefWindow, min_bq: u8, lo: u64, hi: u64) -> (u64, u64) {
    let (mut events, mut aligned) = (0u64, 0u64);
    for b in &r.blocks {
        for k in 0..b.len as u64 {
            let p = b.ref_start + k;
            if (lo..hi).contains(&p) {
                continue;
            }
            let q = (b.read_start as u64 + k) as usize;
            let rb = refw.base(p);
            let base = r.seq[q];
            if r.qual.get(q).copied().unwrap_or(0) < min_bq || rb == b'N' || base == b'N' {
                continue;
            }
            aligned += 1;
            events += u64::from(base != rb);
        }
    }
    events += r
        .indels
        .iter()
        .filter(|d| !(lo..hi).contains(&d.anchor))
        .count() as u64;
    (events, aligned)
}

/// Length of the longest homopolymer or tandem repeat (unit of 1 to [`MAX_PERIOD`] bases,
/// at least two copies) overlapping `[start, end)`, 0 when there is none.
pub fn repeat_span(refw: &RefWindow, start: u64, end: u64) -> u32 {
    let lo = start.saturating_sub(REPEAT_REACH);
    let hi = end + REPEAT_REACH;
    let seq = refw.slice(lo, hi + MAX_PERIOD);
    let mut best = 0u64;
    for p in 1..=MAX_PERIOD {
        // runs of i with seq[i] == seq[i + p]: [a, b) matches span the repeat [a, b + p)
        let mut a = None;
        for i in 0..=(hi - lo) as usize {
            let same = i + (p as usize) < seq.len()
                && i < (hi - lo) as usize
                && seq[i] == seq[i + p as usize]
                && seq[i] != b'N';
            match (same, a) {
                (true, None) => a = Some(i),
                (false, Some(s)) => {
                    let (rs, re) = (lo + s as u64, lo + i as u64 + p);
                    if i as u64 - s as u64 >= p && rs < end && re > start {
                        best = best.max(re - rs);
                    }
                    a = None;
                }
                _ => {}
            }
        }
    }
    best as u32
}

/// Phred-scaled two-sided Fisher exact test of the 2×2 table `[[a, b], [c, d]]` (rows:
/// reference and alternate reads; columns: forward and reverse strand), capped at 200.
pub fn fisher_strand(t: [[u32; 2]; 2]) -> f32 {
    let [[a, b], [c, d]] = t.map(|r| r.map(u64::from));
    let n = a + b + c + d;
    if n == 0 {
        return 0.0;
    }
    let mut lf = vec![0.0f64; n as usize + 1];
    for i in 1..=n as usize {
        lf[i] = lf[i - 1] + (i as f64).ln();
    }
    let (r0, c0) = (a + b, a + c);
    let ln_p = |x: u64| {
        let (y, z) = (r0 - x, c0 - x);
        let w = n - r0 - z;
        lf[r0 as usize] + lf[(n - r0) as usize] + lf[c0 as usize] + lf[(n - c0) as usize]
            - lf[n as usize]
            - lf[x as usize]
            - lf[y as usize]
            - lf[z as usize]
            - lf[w as usize]
    };
    let observed = ln_p(a);
    let lo = (r0 + c0).saturating_sub(n);
    let hi = r0.min(c0);
    let p: f64 = (lo..=hi)
        .map(ln_p)
        .filter(|&l| l <= observed + 1e-7)
        .map(f64::exp)
        .sum();
    let phred = -10.0 * p.clamp(1e-20, 1.0).log10();
    if phred > 1e-6 {
        (phred as f32).min(200.0)
    } else {
        0.0
    }
}

/// The tier rule's thresholds (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// A PASS call needs this GQ (and no flag) for Tier 1.
    pub tier1_min_gq: u32,
    /// Below this GQ a call is Tier 3.
    pub tier3_below_gq: u32,
    /// Flag `repeat`: RPT above this.
    pub max_repeat: u32,
    /// Flag `mapq`: mean MAPQ below this or MQ20 above `max_low_mapq`.
    pub min_mean_mapq: f32,
    pub max_low_mapq: f32,
    /// Flag `mismatch`: AMM above this.
    pub max_alt_mismatch: f32,
    /// Flag `depth`: DPR outside this range.
    pub depth_ratio: (f32, f32),
    /// Flag `balance`: a heterozygous genotype's AB outside this range.
    pub het_balance: (f32, f32),
    /// Flag `strand`: FS above this.
    pub max_strand: f32,
    /// This many flags make a call Tier 3.
    pub tier3_flags: usize,
}

/// The thresholds in use, chosen on the calibration samples by `benches/tiers.sh`.
pub const RULE: Rule = Rule {
    tier1_min_gq: 11,
    tier3_below_gq: 3,
    max_repeat: 30,
    min_mean_mapq: 50.0,
    max_low_mapq: 0.1,
    max_alt_mismatch: 4.0,
    depth_ratio: (0.0, 1.8),
    het_balance: (0.2, 0.85),
    max_strand: 40.0,
    tier3_flags: 1,
};

/// A context feature out of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Repeat,
    Mapq,
    Mismatch,
    Depth,
    Balance,
    Strand,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Repeat => "repeat",
            Flag::Mapq => "mapq",
            Flag::Mismatch => "mismatch",
            Flag::Depth => "depth",
            Flag::Balance => "balance",
            Flag::Strand => "strand",
        }
    }
}

/// A call's tier with the features it was decided from (written as INFO fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub tier: u8,
    pub flags: Vec<Flag>,
    pub context: SiteContext,
    /// DP over the sample's median depth (1 when the median is unknown).
    pub depth_ratio: f32,
    /// Allele balance of a heterozygous genotype (`None` otherwise).
    pub balance: Option<f32>,
    pub strand: f32,
}

impl Rule {
    /// The flags a call raises.
    pub fn flags(
        &self,
        ctx: &SiteContext,
        depth_ratio: f32,
        balance: Option<f32>,
        strand: f32,
    ) -> Vec<Flag> {
        let mut f = Vec::new();
        if ctx.repeat > self.max_repeat {
            f.push(Flag::Repeat);
        }
        if ctx.mean_mapq < self.min_mean_mapq || ctx.low_mapq > self.max_low_mapq {
            f.push(Flag::Mapq);
        }
        if ctx.alt_mismatch > self.max_alt_mismatch {
            f.push(Flag::Mismatch);
        }
        if depth_ratio < self.depth_ratio.0 || depth_ratio > self.depth_ratio.1 {
            f.push(Flag::Depth);
        }
        if balance.is_some_and(|b| b < self.het_balance.0 || b > self.het_balance.1) {
            f.push(Flag::Balance);
        }
        if strand > self.max_strand {
            f.push(Flag::Strand);
        }
        f
    }

    /// The tier of a call with FILTER `filter`, GQ `gq` and `flags`.
    pub fn tier(&self, filter: Filter, gq: u32, flags: &[Flag]) -> u8 {
        if filter != Filter::Pass || gq < self.tier3_below_gq || flags.len() >= self.tier3_flags {
            3
        } else if gq >= self.tier1_min_gq && flags.is_empty() {
            1
        } else {
            2
        }
    }

    /// The rule in words, for the VCF header.
    pub fn describe(&self) -> String {
        format!(
            "Tier 1 = PASS, GQ>={} and no flag; Tier 3 = not PASS, GQ<{} or >={} flags; Tier 2 = the rest. Flags: repeat (RPT>{}), mapq (MQ<{} or MQ20>{}), mismatch (AMM>{}), depth ({}), balance (het AB<{} or >{}), strand (FS>{})",
            self.tier1_min_gq,
            self.tier3_below_gq,
            self.tier3_flags,
            self.max_repeat,
            self.min_mean_mapq,
            self.max_low_mapq,
            self.max_alt_mismatch,
            if self.depth_ratio.0 > 0.0 {
                format!("DPR<{} or >{}", self.depth_ratio.0, self.depth_ratio.1)
            } else {
                format!("DPR>{}", self.depth_ratio.1)
            },
            self.het_balance.0,
            self.het_balance.1,
            self.max_strand,
        )
    }
}

/// Allele balance of a heterozygous genotype: reads of its second allele over the reads of
/// both (`allele_depths` is REF then each ALT).
fn balance(g: &Genotype, allele_depths: &[u32]) -> Option<f32> {
    match (g.ploidy, g.alleles.as_slice()) {
        (Ploidy::Diploid, &[x, y]) if x != y => {
            let (a, b) = (
                allele_depths.get(x).copied().unwrap_or(0),
                allele_depths.get(y).copied().unwrap_or(0),
            );
            (a + b > 0).then(|| b as f32 / (a + b) as f32)
        }
        _ => None,
    }
}

/// Reviews one call: its flags and tier under [`RULE`], `median` being the sample's median
/// depth (0: unknown).
pub fn review(cand: &Candidate, g: &Genotype, context: SiteContext, median: f64) -> Review {
    let depth_ratio = if median > 0.0 {
        (cand.depth as f64 / median) as f32
    } else {
        1.0
    };
    let balance = balance(g, &cand.allele_depths);
    let strand = fisher_strand(context.strands);
    let flags = RULE.flags(&context, depth_ratio, balance, strand);
    Review {
        tier: RULE.tier(g.filter, g.gq, &flags),
        flags,
        context,
        depth_ratio,
        balance,
        strand,
    }
}

/// Windows of this length are sampled for [`median_depth`] ...
const DEPTH_WINDOW_BP: u64 = 1000;
/// ... on a grid whose step starts at the genome length (of the contigs holding reads) over
/// this, and halves until this many windows hold reads ...
const DEPTH_GRID: u64 = 128;
const DEPTH_MIN_WINDOWS: usize = 16;
/// ... or the step reaches this.
const DEPTH_MIN_STEP: u64 = 10_000;

/// The sample's median depth: the median, over the bases with any read, of the depth of
/// filter-passing reads in 1 kb windows at every multiple of a step along the contigs that
/// hold reads. The step starts at their total length / 128 and halves (down to 10 kb) until
/// at least 16 windows hold reads, so a whole genome is sampled at about 128 places and a
/// slice at 10 kb intervals. The grid depends on the contig lengths only and the index
/// only tells which windows cannot hold reads (skipped: fetching them would add nothing), so
/// the value is the same for a BAM and its CRAM and whatever `--regions`, `--threads`,
/// `--chunk-size` or shard: every shard of a run uses the same value. 0 when no read.
pub fn median_depth(alignments: &Alignments, reference: &Reference) -> Result<f64> {
    let pieces = crate::shards::read_windows(&alignments.path, &alignments.index)?;
    let contigs: Vec<(String, u64)> = reference
        .contigs
        .iter()
        .filter(|(name, _)| pieces.iter().any(|p| &p.0 == name))
        .cloned()
        .collect();
    let total: u64 = contigs.iter().map(|c| c.1).sum();
    if total == 0 {
        return Ok(0.0);
    }
    let mut quiet = alignments.clone();
    quiet.counters = Default::default();
    let mut src = quiet.reader()?;
    let refr = reference.reader()?;
    let mut step = (total / DEPTH_GRID).max(DEPTH_MIN_STEP);
    loop {
        let mut hist: Vec<u64> = Vec::new();
        let mut with_reads = 0;
        for (contig, len) in &contigs {
            for start in (0..*len).step_by(step as usize) {
                let end = (start + DEPTH_WINDOW_BP).min(*len);
                let may_hold = pieces
                    .iter()
                    .any(|(c, s, e)| c == contig && *s < end && *e > start);
                if !may_hold {
                    continue;
                }
                let r = Region {
                    contig: contig.clone(),
                    start: Pos0(start),
                    end: Pos0(end),
                };
                let (reads, _) = src.fetch(&r, &refr, 0)?;
                let depth = crate::reads::coverage(&reads, start, end);
                with_reads += usize::from(depth.iter().any(|&d| d > 0));
                for d in depth.into_iter().filter(|&d| d > 0) {
                    if hist.len() <= d as usize {
                        hist.resize(d as usize + 1, 0);
                    }
                    hist[d as usize] += 1;
                }
            }
        }
        if with_reads >= DEPTH_MIN_WINDOWS || step <= DEPTH_MIN_STEP {
            return Ok(median_of(&hist));
        }
        step = (step / 2).max(DEPTH_MIN_STEP);
    }
}

/// The median of a histogram (`hist[d]` = bases at depth `d`); the mean of the two middle
/// values when their number is even.
fn median_of(hist: &[u64]) -> f64 {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return 0.0;
    }
    let nth = |k: u64| {
        let mut acc = 0;
        for (d, &c) in hist.iter().enumerate() {
            acc += c;
            if acc > k {
                return d as f64;
            }
        }
        0.0
    };
    (nth((n - 1) / 2) + nth(n / 2)) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> SiteContext {
        SiteContext {
            repeat: 3,
            mean_mapq: 60.0,
            low_mapq: 0.0,
            alt_mismatch: 0.5,
            strands: [[10, 10], [10, 10]],
        }
    }

    #[test]
    fn tier_rule_uses_gq_filter_and_flags() {
        let r = RULE;
        assert_eq!(r.tier(Filter::Pass, r.tier1_min_gq, &[]), 1);
        assert_eq!(r.tier(Filter::Pass, r.tier1_min_gq - 1, &[]), 2);
        assert_eq!(r.tier(Filter::Pass, r.tier3_below_gq, &[]), 2);
        assert_eq!(r.tier(Filter::Pass, r.tier3_below_gq - 1, &[]), 3);
        assert_eq!(r.tier(Filter::Pass, 99, &[Flag::Mapq]), 3);
        assert_eq!(r.tier(Filter::RefCall, 99, &[]), 3);
        assert_eq!(r.tier(Filter::LowQual, 99, &[]), 3);
    }

    #[test]
    fn each_feature_out_of_range_raises_its_flag() {
        let r = RULE;
        assert!(r.flags(&clean(), 1.0, Some(0.5), 0.0).is_empty());
        let with = |f: &dyn Fn(&mut SiteContext)| {
            let mut c = clean();
            f(&mut c);
            r.flags(&c, 1.0, Some(0.5), 0.0)
        };
        assert_eq!(with(&|c| c.repeat = r.max_repeat + 1), [Flag::Repeat]);
        assert_eq!(with(&|c| c.mean_mapq = r.min_mean_mapq - 1.0), [Flag::Mapq]);
        assert_eq!(with(&|c| c.low_mapq = r.max_low_mapq + 0.01), [Flag::Mapq]);
        assert_eq!(
            with(&|c| c.alt_mismatch = r.max_alt_mismatch + 0.1),
            [Flag::Mismatch]
        );
        assert_eq!(
            r.flags(&clean(), r.depth_ratio.1 + 0.1, None, 0.0),
            [Flag::Depth]
        );
        assert_eq!(
            r.flags(&clean(), 1.0, Some(r.het_balance.0 - 0.01), 0.0),
            [Flag::Balance]
        );
        assert_eq!(
            r.flags(&clean(), 1.0, None, r.max_strand + 1.0),
            [Flag::Strand]
        );
    }

    #[test]
    fn repeats_are_measured_around_the_site() {
        let w = |s: &[u8]| RefWindow {
            start: 100,
            seq: s.to_vec(),
        };
        // ACG then 9 T then GCA: a SNV inside the run is in a 9 bp repeat
        let hp = w(b"ACGTTTTTTTTTGCA");
        assert_eq!(repeat_span(&hp, 106, 107), 9);
        // CA repeated 5 times (10 bp) after G
        let tr = w(b"GCACACACACAGTTG");
        assert_eq!(repeat_span(&tr, 101, 102), 10);
        // no unit repeats twice: only 2 bp pairs such as nothing at all
        let none = w(b"ACGTGCATGACTAGC");
        assert!(repeat_span(&none, 107, 108) <= 2);
    }

    #[test]
    fn fisher_strand_matches_known_values() {
        assert_eq!(fisher_strand([[10, 10], [10, 10]]), 0.0);
        assert_eq!(fisher_strand([[0, 0], [0, 0]]), 0.0);
        // [[10, 10], [20, 0]]: two-sided p = 0.000436 (R fisher.test), Phred 33.6
        assert!((fisher_strand([[10, 10], [20, 0]]) - 33.6).abs() < 0.1);
    }

    #[test]
    fn review_measures_balance_and_depth_ratio() {
        let cand = Candidate {
            contig: "c".into(),
            pos: Pos0(10),
            alts: vec![crate::cigar::AltAllele::Snv(b'T')],
            depth: 60,
            allele_depths: vec![50, 10],
        };
        let g = Genotype {
            ploidy: Ploidy::Diploid,
            alleles: vec![0, 1],
            qual: 30.0,
            gq: 30,
            pl: vec![30, 0, 40],
            filter: Filter::Pass,
            posteriors: vec![0.001, 0.998, 0.001],
            looks_het: false,
        };
        // 10 of 60 reads: a skewed heterozygote, at twice the median depth
        let r = review(&cand, &g, clean(), 30.0);
        assert!((r.balance.unwrap() - 10.0 / 60.0).abs() < 1e-6);
        assert_eq!(r.depth_ratio, 2.0);
        assert_eq!(r.flags, [Flag::Depth, Flag::Balance]);
        assert_eq!(r.tier, 3);
        // unknown median: no depth flag; a homozygous genotype has no balance
        let hom = Genotype {
            alleles: vec![1, 1],
            ..g
        };
        let r = review(&cand, &hom, clean(), 0.0);
        assert_eq!((r.depth_ratio, r.balance), (1.0, None));
        assert_eq!((r.flags.len(), r.tier), (0, 1));
    }

    #[test]
    fn median_of_a_depth_histogram() {
        assert_eq!(median_of(&[]), 0.0);
        assert_eq!(median_of(&[0, 0, 3]), 2.0);
        // depths 1, 2, 2, 5: median (2 + 2) / 2
        assert_eq!(median_of(&[0, 1, 2, 0, 0, 1]), 2.0);
        // depths 1, 3: 2
        assert_eq!(median_of(&[0, 1, 0, 1]), 2.0);
    }
}
