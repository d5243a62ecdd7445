//! gVCF: a reference-confidence model for every position and the GQ-banded reference blocks
//! that cover everything between variant records, for joint genotyping (GLnexus, `bcftools
//! merge --gvcf`, GATK GenotypeGVCFs).
//!
//! Reference confidence at one position comes from the read bases there and their base
//! qualities, as in GATK's and DeepVariant's reference models: with error rate `e = 10^(-Q/10)`,
//! a base matching the reference has likelihood `1 − e` under 0/0, `e/3` under 1/1 (the alt
//! being any other base) and their mean under 0/1; a mismatching base the reverse. Reads
//! with a deletion over the position count as mismatching at Q20. PL are the Phred-scaled
//! likelihoods of 0/0, 0/1 and 1/1 against 0/0, the other two capped at the 0/0 likelihood
//! as GATK's reference model does: blocks are written `0/0`, so their PL never rank another
//! genotype first, and a joint genotyper trusting PL finds no variant in them. GQ is the
//! second-smallest PL, capped at 99. Where the reads favour 0/1 or 1/1 (a variant no
//! candidate came from), PL read `0,0,x` and GQ is 0, and such positions form blocks of their
//! own, never merged with a confident neighbour whatever the GQ bands.
//!
//! On a haploid stretch (`--haploid-contigs` outside `--par-bed`) the genotypes are 0 and 1:
//! their likelihoods are those of 0/0 and 1/1 above, PL has two entries (`0,x`), GT is `0`
//! and GQ is the PL of 1; blocks are cut where the ploidy changes.
//!
//! Consecutive positions merge into one block while their GQ stays in the same band; a block
//! reports its minimum GQ, minimum depth and element-wise minimum PL, so GT, GQ and PL of a
//! block agree as they do for each position. Positions without coverage form `./.` blocks
//! with depth 0. Blocks never cross a chunk boundary nor a multiple of [`MAX_BLOCK_LEN`];
//! chunks lie on a fixed grid too, so blocks do not depend on `--threads`.
use crate::cigar::IndelKind;
use crate::genotype::MAX_GQ;
use crate::reads::Read;
use crate::region::Region;

/// Longest reference block, in bp: blocks are cut at every multiple of it (0-based), a grid
/// fixed in genome coordinates. GLnexus skips records spanning 100 kb or more
/// (`MAX_RECORD_LEN`) and stores a record in every storage bucket it overlaps (30 kb by
/// default); 10 kb blocks stay well clear of both and cost at most 10 records per 100 kb.
pub const MAX_BLOCK_LEN: u64 = 10_000;

/// Likelihood evidence at one position.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evidence {
    /// Reads covering the position.
    pub depth: u32,
    /// Natural-log likelihoods of 0/0, 0/1, 1/1.
    pub ll: [f64; 3],
}

/// A reference block: `[start, end)`, 0-based.
#[derive(Clone, Debug, PartialEq)]
pub struct RefBlock {
    pub start: u64,
    pub end: u64,
    pub min_gq: u32,
    pub min_dp: u32,
    /// PL of 0/0, 0/1 and 1/1; a haploid block writes those of 0/0 and 1/1 as its 0 and 1.
    pub pl: [u32; 3],
    /// The block lies on a haploid stretch: GT `0`, two PL.
    pub haploid: bool,
}

impl RefBlock {
    /// No read covers the block: written `./.`.
    pub fn no_call(&self) -> bool {
        self.min_dp == 0
    }
}

/// Per-quality log-likelihood terms: (log(1−e), log(e/3), log((1−e)/2 + e/6)).
fn terms(q: u8) -> (f64, f64, f64) {
    let e = 10f64.powf(-(q.max(1) as f64) / 10.0).min(0.75);
    (
        (1.0 - e).ln(),
        (e / 3.0).ln(),
        ((1.0 - e) / 2.0 + e / 6.0).ln(),
    )
}

/// Evidence for every position of `chunk`.
pub fn evidence(
    chunk: &Region,
    reads: &[Read],
    refw: &crate::reference::RefWindow,
    min_base_qual: u8,
) -> Vec<Evidence> {
    let table: Vec<(f64, f64, f64)> = (0..=93u8).map(terms).collect();
    let (cs, ce) = (chunk.start.0, chunk.end.0);
    let n = (ce - cs) as usize;
    let mut ev = vec![Evidence::default(); n];
    for r in reads {
        for b in &r.blocks {
            let (s, e) = (b.ref_start.max(cs), (b.ref_start + b.len as u64).min(ce));
            if s >= e {
                continue;
            }
            let q0 = (b.read_start as u64 + s - b.ref_start) as usize;
            let len = (e - s) as usize;
            let bases = &r.seq[q0..q0 + len];
            let quals = r.qual.get(q0..q0 + len).unwrap_or(&[]);
            let refs = refw.slice_ref(s, e);
            let out = &mut ev[(s - cs) as usize..(e - cs) as usize];
            for (((x, &base), &q), &rb) in out.iter_mut().zip(bases).zip(quals).zip(refs) {
                if q < min_base_qual {
                    continue;
                }
                let (ok, err, het) = table[q.min(93) as usize];
                let x = &mut x.ll;
                if base == rb {
                    x[0] += ok;
                    x[2] += err;
                } else {
                    x[0] += err;
                    x[2] += ok;
                }
                x[1] += het;
            }
        }
        for d in &r.indels {
            if let IndelKind::Del(n) = d.kind {
                let (ok, err, het) = table[20];
                for p in (d.anchor + 1).max(cs)..(d.anchor + 1 + n as u64).min(ce) {
                    let x = &mut ev[(p - cs) as usize].ll;
                    x[0] += err;
                    x[1] += het;
                    x[2] += ok;
                }
            }
        }
    }
    for (e, d) in ev.iter_mut().zip(crate::reads::coverage(reads, cs, ce)) {
        e.depth = d;
    }
    ev
}

/// Phred-scaled likelihoods of (0/0, 0/1, 1/1) against 0/0, the other two capped at the
/// 0/0 likelihood (so PL start with 0), and GQ, the second-smallest PL capped at 99; and
/// whether the likelihoods favour 0/1 or 1/1 over 0/0.
pub fn confidence(ll: &[f64; 3]) -> (u32, [u32; 3], bool) {
    let to_pl = |l: f64| {
        ((ll[0] - l) * 10.0 / std::f64::consts::LN_10)
            .round()
            .clamp(0.0, 9999.0) as u32
    };
    let pl = [0, to_pl(ll[1]), to_pl(ll[2])];
    let gq = pl[1].min(pl[2]).min(MAX_GQ);
    (gq, pl, ll[1].max(ll[2]) > ll[0])
}

/// [`confidence`] at a haploid position: GQ is the PL of allele 1 (the 1/1 likelihood),
/// and only allele 1 can be favoured over the reference.
pub fn haploid_confidence(ll: &[f64; 3]) -> (u32, [u32; 3], bool) {
    let (_, pl, _) = confidence(ll);
    (pl[2].min(MAX_GQ), pl, ll[2] > ll[0])
}

/// What lets consecutive positions share a block.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// No read covers the position: `./.`.
    NoCall,
    /// The reads favour 0/1 or 1/1: GQ 0, apart from the banded positions.
    NotRef,
    /// Index of the GQ band.
    Band(usize),
}

/// Index of the band `gq` falls in (`bands` ascending lower bounds).
fn band(gq: u32, bands: &[u32]) -> usize {
    bands.partition_point(|&b| b <= gq)
}

/// Reference blocks over `chunk`, skipping positions in `covered` (sorted `[start, end)`
/// spans of the variant records); positions in `haploid` (sorted `[start, end)` spans) are
/// haploid.
pub fn blocks(
    chunk: &Region,
    ev: &[Evidence],
    covered: &[(u64, u64)],
    bands: &[u32],
    haploid: &[(u64, u64)],
) -> Vec<RefBlock> {
    let cs = chunk.start.0;
    let mut mask = vec![false; ev.len()];
    for &(s, e) in covered {
        for p in s.max(cs)..e.min(chunk.end.0) {
            mask[(p - cs) as usize] = true;
        }
    }
    let mut out: Vec<RefBlock> = Vec::new();
    let mut cur: Option<(RefBlock, Kind)> = None;
    for (i, e) in ev.iter().enumerate() {
        if mask[i] {
            out.extend(cur.take().map(|c| c.0));
            continue;
        }
        let p = cs + i as u64;
        let hap = haploid.iter().any(|&(s, e)| s <= p && p < e);
        let (gq, pl, kind) = if e.depth == 0 {
            (0, [0, 0, 0], Kind::NoCall)
        } else {
            let (gq, pl, not_ref) = if hap {
                haploid_confidence(&e.ll)
            } else {
                confidence(&e.ll)
            };
            let kind = if not_ref {
                Kind::NotRef
            } else {
                Kind::Band(band(gq, bands))
            };
            (gq, pl, kind)
        };
        match &mut cur {
            Some((b, k)) if *k == kind && b.haploid == hap && !p.is_multiple_of(MAX_BLOCK_LEN) => {
                b.end = p + 1;
                b.min_gq = b.min_gq.min(gq);
                b.min_dp = b.min_dp.min(e.depth);
                for (x, y) in b.pl.iter_mut().zip(pl) {
                    *x = (*x).min(y);
                }
            }
            _ => {
                out.extend(cur.take().map(|c| c.0));
                cur = Some((
                    RefBlock {
                        start: p,
                        end: p + 1,
                        min_gq: gq,
                        min_dp: e.depth,
                        pl,
                        haploid: hap,
                    },
                    kind,
                ));
            }
        }
    }
    out.extend(cur.map(|c| c.0));
    out
}

/// GQ band lower bounds, ascending from 0.
#[derive(Clone, Debug, PartialEq)]
pub struct GqBands(pub Vec<u32>);

/// Parses `--gvcf-gq-bands` (`0,1,2,3,5,…`): strictly ascending, starting at 0.
pub fn parse_bands(text: &str) -> Result<GqBands, String> {
    let v: Vec<u32> = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("'{s}' is not a GQ value"))
        })
        .collect::<Result<_, _>>()?;
    if v.first() != Some(&0) || v.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("'{text}': bands must start at 0 and ascend"));
    }
    Ok(GqBands(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_reference_from_many_matching_bases() {
        let (ok, err, het) = terms(30);
        let (gq, pl, not_ref) = confidence(&[30.0 * ok, 30.0 * het, 30.0 * err]);
        assert_eq!(gq, 90); // 30 x -10*log10(0.5): PL of 0/1
        assert_eq!(pl, [0, 90, 1043]);
        assert!(!not_ref);
        // two reads only: low confidence
        let (gq2, pl2, _) = confidence(&[2.0 * ok, 2.0 * het, 2.0 * err]);
        assert_eq!((gq2, pl2[1]), (6, 6));
        // half the bases disagree: 0/1 is likelier than 0/0, written as a tie at GQ 0
        let (gq3, pl3, not_ref3) =
            confidence(&[10.0 * ok + 10.0 * err, 20.0 * het, 10.0 * ok + 10.0 * err]);
        assert_eq!((gq3, pl3, not_ref3), (0, [0, 0, 0], true));
    }

    #[test]
    fn non_reference_evidence_is_capped_at_gq0_in_a_block_of_its_own() {
        let (ok, err, het) = terms(30);
        // 5 of 20 bases disagree: 0/1 best; 1/1 stays 348 above 0/0
        let nonref = Evidence {
            depth: 20,
            ll: [15.0 * ok + 5.0 * err, 20.0 * het, 15.0 * err + 5.0 * ok],
        };
        assert_eq!(confidence(&nonref.ll), (0, [0, 0, 348], true));
        let weak = Evidence {
            depth: 2,
            ll: [2.0 * ok, 2.0 * het, 2.0 * err],
        };
        let chunk = Region::new("c", 100, 105);
        // with bands 0,20 the GQ-6 bases and the GQ-0 one share a band, but not a block
        let b = blocks(
            &chunk,
            &[weak, weak, nonref, weak, weak],
            &[],
            &[0, 20],
            &[],
        );
        let got: Vec<(u64, u64, u32, [u32; 3])> =
            b.iter().map(|b| (b.start, b.end, b.min_gq, b.pl)).collect();
        assert_eq!(
            got,
            vec![
                (100, 102, 6, [0, 6, 70]),
                (102, 103, 0, [0, 0, 348]),
                (103, 105, 6, [0, 6, 70]),
            ]
        );
    }

    #[test]
    fn blocks_are_cut_on_the_max_length_grid() {
        let (ok, err, het) = terms(30);
        let strong = Evidence {
            depth: 30,
            ll: [30.0 * ok, 30.0 * het, 30.0 * err],
        };
        let chunk = Region::new("c", 9_995, 30_005);
        let n = (chunk.end.0 - chunk.start.0) as usize;
        let grid = vec![
            (9_995, 10_000),
            (10_000, 20_000),
            (20_000, 30_000),
            (30_000, 30_005),
        ];
        for e in [strong, Evidence::default()] {
            let b = blocks(&chunk, &vec![e; n], &[], &[0, 20], &[]);
            let spans: Vec<(u64, u64)> = b.iter().map(|b| (b.start, b.end)).collect();
            assert_eq!(spans, grid);
            assert!(b.iter().all(|b| b.no_call() == (e.depth == 0)));
        }
    }

    #[test]
    fn blocks_follow_bands_and_skip_records() {
        let chunk = Region::new("c", 100, 110);
        let (ok, err, het) = terms(30);
        let strong = Evidence {
            depth: 30,
            ll: [30.0 * ok, 30.0 * het, 30.0 * err],
        };
        let weak = Evidence {
            depth: 2,
            ll: [2.0 * ok, 2.0 * het, 2.0 * err],
        };
        let none = Evidence::default();
        let ev = vec![
            strong, strong, strong, weak, weak, strong, strong, none, none, strong,
        ];
        let b = blocks(
            &chunk,
            &ev,
            &[(105, 106)],
            &[0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 60],
            &[],
        );
        let spans: Vec<(u64, u64)> = b.iter().map(|b| (b.start, b.end)).collect();
        assert_eq!(
            spans,
            vec![(100, 103), (103, 105), (106, 107), (107, 109), (109, 110)]
        );
        assert!(b[2].min_gq >= 60 && b[0].min_gq >= 60);
        assert!(b[3].no_call() && b[3].min_gq == 0);
        assert_eq!(b[1].min_dp, 2);
    }

    #[test]
    fn haploid_blocks_take_the_hom_alt_pl_and_cut_at_ploidy_changes() {
        let (ok, err, het) = terms(30);
        let strong = Evidence {
            depth: 30,
            ll: [30.0 * ok, 30.0 * het, 30.0 * err],
        };
        // haploid GQ is the PL of allele 1 (1/1), capped at 99; diploid the PL of 0/1
        assert_eq!(haploid_confidence(&strong.ll), (99, [0, 90, 1043], false));
        let (ok2, err2, het2) = terms(20);
        let three = [3.0 * ok2, 3.0 * het2, 3.0 * err2];
        assert_eq!(haploid_confidence(&three).0, 74);
        assert_eq!(confidence(&three).0, 9);
        // one disagreeing base of two: haploid 1 is not favoured (a tie), diploid 0/1 is
        let split = [ok + err, 2.0 * het, err + ok];
        assert!(!haploid_confidence(&split).2);
        assert!(confidence(&split).2);
        let chunk = Region::new("c", 100, 110);
        let b = blocks(&chunk, &[strong; 10], &[], &[0, 20], &[(104, 108)]);
        let got: Vec<(u64, u64, bool)> = b.iter().map(|b| (b.start, b.end, b.haploid)).collect();
        assert_eq!(
            got,
            vec![(100, 104, false), (104, 108, true), (108, 110, false)]
        );
    }

    #[test]
    fn band_lists_are_checked() {
        assert_eq!(
            parse_bands("0,1,2,5,20").unwrap(),
            GqBands(vec![0, 1, 2, 5, 20])
        );
        assert!(parse_bands("1,2").is_err());
        assert!(parse_bands("0,5,5").is_err());
        assert!(parse_bands("0,x").is_err());
    }
}
