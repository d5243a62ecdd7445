//! Candidate discovery: counts alleles over a chunk's reads (bases above a quality floor,
//! left-aligned indels) and proposes every site whose non-reference evidence passes
//! count and allele-fraction thresholds set for recall, as a [`Candidate`] with every
//! alternate allele that passes them (the genotype module picks the best pair; keeping only
//! two here would drop a true allele outranked by an error at a noisy site). For long reads
//! the indel threshold can grow with the repeat an indel sits in, where homopolymer-length
//! errors of the platform pile up (see [`CandidateConfig::repeat_indel_fraction`]).
use crate::cigar::{self, AltAllele, IndelKind};
use crate::reads::Read;
use crate::reference::{base_index, RefWindow};
use crate::region::{Pos0, Region};
use std::collections::BTreeMap;

/// Thresholds for proposing candidates.
#[derive(Clone, Debug)]
pub struct CandidateConfig {
    /// Bases below this quality are not counted as evidence.
    pub min_base_qual: u8,
    /// Minimum reads supporting an alternate allele.
    pub min_alt_count: u32,
    /// Minimum fraction of covering reads supporting an SNV allele.
    pub min_snv_fraction: f32,
    /// Minimum fraction of covering reads supporting an indel allele.
    pub min_indel_fraction: f32,
    /// Added to `min_indel_fraction` for each base beyond [`REPEAT_FREE`] of the repeat an
    /// indel could slide across (homopolymer or tandem repeat), up to
    /// [`REPEAT_FRACTION_CAP`]; 0 for platforms without repeat-length errors.
    pub repeat_indel_fraction: f32,
}

impl CandidateConfig {
    /// Fraction of covering reads an indel `allele` anchored at `anchor` needs.
    fn indel_fraction(&self, anchor: u64, allele: &AltAllele, refw: &RefWindow) -> f32 {
        if self.repeat_indel_fraction <= 0.0 {
            return self.min_indel_fraction;
        }
        let repeat = repeat_length(anchor, allele, refw);
        let extra = self.repeat_indel_fraction * repeat.saturating_sub(REPEAT_FREE) as f32;
        (self.min_indel_fraction + extra).min(REPEAT_FRACTION_CAP.max(self.min_indel_fraction))
    }
}

/// Length of the repeat a left-aligned indel sits in: the reference bases it could slide
/// across, plus a deletion's own bases when the repeat holds another copy of them (an `A`
/// deleted from `AAAAA` is in a 5-base repeat; 10 unique bases deleted are in none).
fn repeat_length(anchor: u64, allele: &AltAllele, refw: &RefWindow) -> u64 {
    let slide = cigar::repeat_end(anchor, allele, refw) - anchor - 1;
    match allele {
        AltAllele::Del(n) => {
            let (n, s) = (*n as u64, slide - *n as u64);
            if s >= n {
                s + n
            } else {
                s
            }
        }
        _ => slide,
    }
}

/// Repeat length below which no extra indel fraction is asked.
pub const REPEAT_FREE: u64 = 3;
/// The most a repeat raises the indel fraction threshold to: a heterozygous indel's reads
/// stay well above it.
pub const REPEAT_FRACTION_CAP: f32 = 0.25;

/// A proposed variant site: an anchor position with its alternate alleles, most supported
/// first.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub contig: String,
    /// The anchor: the substituted base, or the base before an indel (VCF POS).
    pub pos: Pos0,
    pub alts: Vec<AltAllele>,
    /// Reads covering the anchor.
    pub depth: u32,
    /// Reads supporting the reference and then each alternate allele.
    pub allele_depths: Vec<u32>,
}

impl Candidate {
    /// Reference bases spanned by the record (1 + the longest deletion).
    pub fn ref_len(&self) -> u64 {
        self.alts.iter().map(AltAllele::ref_span).max().unwrap_or(1)
    }

    /// End (exclusive, 0-based) of the reference bases the record spans.
    pub fn end(&self) -> u64 {
        self.pos.0 + self.ref_len()
    }

    /// VCF REF and ALT strings sharing one REF.
    pub fn vcf_alleles(&self, refw: &RefWindow) -> (String, Vec<String>) {
        let p = self.pos.0;
        let n = self.ref_len();
        let reference = refw.slice(p, p + n);
        let tail = |from: u64| refw.slice(from, p + n);
        let alts = self
            .alts
            .iter()
            .map(|a| {
                let mut s = Vec::new();
                match a {
                    AltAllele::Snv(b) => {
                        s.push(*b);
                        s.extend(tail(p + 1));
                    }
                    AltAllele::Ins(ins) => {
                        s.push(reference[0]);
                        s.extend_from_slice(ins);
                        s.extend(tail(p + 1));
                    }
                    AltAllele::Del(d) => {
                        s.push(reference[0]);
                        s.extend(tail(p + 1 + *d as u64));
                    }
                }
                String::from_utf8_lossy(&s).to_string()
            })
            .collect();
        (String::from_utf8_lossy(&reference).to_string(), alts)
    }
}

/// What one read says at a candidate site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Ref,
    /// Index into `Candidate::alts`.
    Alt(usize),
    /// A non-reference allele that is not one of the candidate's.
    Other,
}

/// Bases of aligned sequence a read needs beyond an indel's repeat span to count as
/// evidence for the reference allele there.
const INDEL_FLANK: u64 = 4;

/// What judging reads at a candidate needs to know about the site.
pub struct Site<'a> {
    pub cand: &'a Candidate,
    pub ref_base: u8,
    /// End (exclusive) of the reference stretch any of the site's indels could be shifted
    /// across (repeats), plus a flank; equal to the anchor + 1 for SNV-only sites.
    pub span_end: u64,
}

impl<'a> Site<'a> {
    pub fn new(cand: &'a Candidate, refw: &RefWindow) -> Self {
        let p = cand.pos.0;
        let mut span_end = p + 1;
        for alt in cand.alts.iter().filter(|a| a.is_indel()) {
            span_end = span_end.max(cigar::repeat_end(p, alt, refw) + INDEL_FLANK);
        }
        Site {
            cand,
            ref_base: refw.base(p),
            span_end,
        }
    }
}

/// The allele `read` carries at the candidate, or `None` when it is not informative there:
/// it does not cover the anchor, its base there is below `min_base_qual`, or, at an indel
/// site, it does not reach across the whole repeat the indel could sit in (a read that ends
/// inside a repeat cannot show whether an insertion or deletion is there, and aligners often
/// clip such reads rather than place the indel).
pub fn read_support(read: &Read, site: &Site, min_base_qual: u8) -> Option<Support> {
    let cand = site.cand;
    let p = cand.pos.0;
    let lookup = |a: &AltAllele| {
        cand.alts
            .iter()
            .position(|x| x == a)
            .map_or(Support::Other, Support::Alt)
    };
    if let Some(d) = read.indel_at(p) {
        return Some(lookup(&d.kind.clone().into()));
    }
    let has_indel = cand.alts.iter().any(AltAllele::is_indel);
    if has_indel {
        // an indel of the same kind and length placed elsewhere in the repeat is the same allele
        let next = read.indels.partition_point(|d| d.anchor <= p);
        if let Some(d) = read.indels.get(next).filter(|d| d.anchor < site.span_end) {
            let same = cand.alts.iter().position(|a| match (a, &d.kind) {
                (AltAllele::Del(n), IndelKind::Del(m)) => n == m,
                (AltAllele::Ins(x), IndelKind::Ins(y)) => x.len() == y.len(),
                _ => false,
            });
            return Some(same.map_or(Support::Other, Support::Alt));
        }
    }
    let (base, q) = read.base_at(p)?;
    if q < min_base_qual || base == b'N' {
        return None;
    }
    if has_indel && (read.end < site.span_end || read.start + 1 > p) {
        return None; // cannot tell whether the indel is there
    }
    if base == site.ref_base {
        Some(Support::Ref)
    } else {
        Some(lookup(&AltAllele::Snv(base)))
    }
}

/// Indices of `reads` (sorted by start) that cover position `pos`.
pub fn covering(reads: &[Read], max_span: u64, pos: u64) -> Vec<usize> {
    let k = reads.partition_point(|r| r.start <= pos);
    let mut out: Vec<usize> = (0..k)
        .rev()
        .take_while(|&i| reads[i].start + max_span > pos)
        .filter(|&i| reads[i].end > pos)
        .collect();
    out.reverse();
    out
}

/// The reads covering a candidate (indices into the chunk's reads) with what each supports.
pub type ReadSupports = Vec<(usize, Option<Support>)>;

/// Proposes candidates with anchors inside `chunk`, in position order, with DP and AD
/// filled, each with the read supports they were counted from.
pub fn find(
    chunk: &Region,
    reads: &[Read],
    refw: &RefWindow,
    cfg: &CandidateConfig,
) -> Vec<(Candidate, ReadSupports)> {
    let (cs, ce) = (chunk.start.0, chunk.end.0);
    let n = (ce - cs) as usize;
    let mut counts = vec![[0u32; 4]; n];
    let mut indels: BTreeMap<(u64, IndelKind), u32> = BTreeMap::new();
    for r in reads {
        for b in &r.blocks {
            let (bs, be) = (b.ref_start.max(cs), (b.ref_start + b.len as u64).min(ce));
            for p in bs..be {
                let q = (b.read_start as u64 + p - b.ref_start) as usize;
                if r.qual.get(q).copied().unwrap_or(0) >= cfg.min_base_qual {
                    if let Some(i) = base_index(r.seq[q]) {
                        counts[(p - cs) as usize][i] += 1;
                    }
                }
            }
        }
        for d in &r.indels {
            if d.anchor >= cs && d.anchor < ce {
                *indels.entry((d.anchor, d.kind.clone())).or_default() += 1;
            }
        }
    }
    let cov = crate::reads::coverage(reads, cs, ce);
    let mut by_pos: BTreeMap<u64, Vec<(u32, AltAllele)>> = BTreeMap::new();
    for (i, c) in counts.iter().enumerate() {
        let p = cs + i as u64;
        let rb = refw.base(p);
        if base_index(rb).is_none() || cov[i] == 0 {
            continue;
        }
        for (j, &k) in c.iter().enumerate() {
            let b = b"ACGT"[j];
            if b != rb && k >= cfg.min_alt_count && k as f32 >= cfg.min_snv_fraction * cov[i] as f32
            {
                by_pos.entry(p).or_default().push((k, AltAllele::Snv(b)));
            }
        }
    }
    for ((p, kind), k) in indels {
        let depth = cov[(p - cs) as usize].max(k);
        if base_index(refw.base(p)).is_none() || k < cfg.min_alt_count {
            continue;
        }
        let allele: AltAllele = kind.into();
        if k as f32 >= cfg.indel_fraction(p, &allele, refw) * depth as f32 {
            by_pos.entry(p).or_default().push((k, allele));
        }
    }
    let max_span = reads.iter().map(|r| r.end - r.start).max().unwrap_or(0);
    by_pos
        .into_iter()
        .map(|(p, mut alts)| {
            alts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let mut cand = Candidate {
                contig: chunk.contig.clone(),
                pos: Pos0(p),
                alts: alts.into_iter().map(|(_, a)| a).collect(),
                depth: 0,
                allele_depths: Vec::new(),
            };
            let site = Site::new(&cand, refw);
            let supports: ReadSupports = covering(reads, max_span, p)
                .into_iter()
                .map(|i| (i, read_support(&reads[i], &site, cfg.min_base_qual)))
                .collect();
            let mut ad = vec![0u32; cand.alts.len() + 1];
            for (_, s) in &supports {
                match s {
                    Some(Support::Ref) => ad[0] += 1,
                    Some(Support::Alt(k)) => ad[k + 1] += 1,
                    _ => {}
                }
            }
            cand.depth = supports.len() as u32;
            cand.allele_depths = ad;
            (cand, supports)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indel_threshold_grows_with_the_repeat() {
        let refw = RefWindow {
            start: 0,
            seq: b"GTAAAAAAAAAAAAACGTCAGGTACCATG".to_vec(),
        };
        // T at 1, then 13 A at 2..15
        assert_eq!(repeat_length(1, &AltAllele::Del(1), &refw), 13);
        assert_eq!(repeat_length(1, &AltAllele::Ins(b"A".to_vec()), &refw), 13);
        assert_eq!(repeat_length(1, &AltAllele::Ins(b"AA".to_vec()), &refw), 13);
        // CGTCAGGTAC deleted after the run: it can slide one base (the C after it), no repeat
        assert_eq!(repeat_length(14, &AltAllele::Del(10), &refw), 1);
        let hifi = crate::preset::Preset::Hifi.settings().candidate_config();
        let need = |a: &AltAllele, p| hifi.indel_fraction(p, a, &refw);
        assert!((need(&AltAllele::Del(1), 1) - 0.22).abs() < 1e-6); // 0.12 + 10 * 0.01
        assert_eq!(need(&AltAllele::Del(10), 14), 0.12);
        let long = RefWindow {
            start: 0,
            seq: [b"G".as_slice(), &[b'T'; 40], b"C"].concat(),
        };
        assert_eq!(
            hifi.indel_fraction(0, &AltAllele::Del(1), &long),
            REPEAT_FRACTION_CAP
        );
        let illumina = crate::preset::Preset::Illumina
            .settings()
            .candidate_config();
        assert_eq!(illumina.indel_fraction(0, &AltAllele::Del(1), &long), 0.06);
    }

    #[test]
    fn vcf_alleles_share_one_ref() {
        let refw = RefWindow {
            start: 0,
            seq: b"ACGTACGT".to_vec(),
        };
        let c = Candidate {
            contig: "c".into(),
            pos: Pos0(1),
            alts: vec![AltAllele::Del(2), AltAllele::Snv(b'T')],
            depth: 10,
            allele_depths: vec![4, 3, 3],
        };
        assert_eq!(
            c.vcf_alleles(&refw),
            ("CGT".to_string(), vec!["C".to_string(), "TGT".to_string()])
        );
        let i = Candidate {
            alts: vec![AltAllele::Ins(b"AA".to_vec())],
            ..c
        };
        assert_eq!(
            i.vcf_alleles(&refw),
            ("C".to_string(), vec!["CAA".to_string()])
        );
    }
}
