//! Overlapping calls resolved into one consistent result, pure math as DeepVariant's
//! postprocess `haplotypes.py` does it. Candidates at different anchors whose alleles
//! overlap are genotyped one by one and can contradict each other: a `1/1` SNV inside a base
//! that a `0/1` deletion removes from one haplotype cannot be.
//!
//! Each alternate allele changes a span of reference bases: an SNV its base, a deletion the
//! bases it removes (not the VCF anchor before them), an insertion the point between its
//! anchor and the next base. Two alleles *clash* when their spans overlap (an insertion
//! clashes with a deletion removing the bases on both sides of it, and with another
//! insertion at the same point); clashing alleles cannot sit on one haplotype. Calls whose
//! alleles clash, directly or through other calls, form a group. For a group, every joint
//! configuration of the calls' genotypes is enumerated (genotypes below 10⁻⁶ of a call's best
//! posterior are left out; a group with more than 100,000 configurations is left as
//! called); a configuration is compatible when its alleles can be placed on two haplotypes
//! (one on a haploid site) with no two clashing alleles on one haplotype; its probability
//! is the product of each call's genotype posterior. Each call then takes its genotype from
//! the most likely compatible configuration; its posteriors (QUAL, GQ) become the marginals
//! over the compatible configurations, and PL the Phred-scaled probability of the best
//! compatible configuration giving the call each genotype, relative to the chosen one.
//! Calls whose independent genotypes were already compatible keep them.
//!
//! Groups are formed within one chunk of the fixed grid, so the output does not depend on
//! `--threads` and chunks (shards) stay independent; a deletion reaching across a chunk
//! border is resolved with the calls on its own side only (no such group in the 5.2 Mb
//! held-out sample, whose records are identical at `--chunk-size` 100,000, 37,000 and
//! 10,000).
use crate::candidates::Candidate;
use crate::cigar::AltAllele;
use crate::genotype::{self, genotype_alleles, Genotype, Ploidy};

/// Genotypes less likely than this fraction of a call's best are not enumerated.
const PRUNE: f64 = 1e-6;
/// Most joint configurations enumerated for one group.
const MAX_CONFIGS: usize = 100_000;

/// Reference bases an allele changes, `[start, end)` (0-based); an insertion is the point
/// `start == end` just before base `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    /// The span of `alt` anchored at `anchor` (the VCF POS, 0-based).
    pub fn of(anchor: u64, alt: &AltAllele) -> Span {
        match alt {
            AltAllele::Snv(_) => Span {
                start: anchor,
                end: anchor + 1,
            },
            AltAllele::Del(d) => Span {
                start: anchor + 1,
                end: anchor + 1 + *d as u64,
            },
            AltAllele::Ins(_) => Span {
                start: anchor + 1,
                end: anchor + 1,
            },
        }
    }

    fn is_point(self) -> bool {
        self.start == self.end
    }

    /// Whether the two alleles cannot sit on one haplotype.
    pub fn clashes(self, o: Span) -> bool {
        match (self.is_point(), o.is_point()) {
            (true, true) => self.start == o.start,
            (true, false) => o.start < self.start && self.start < o.end,
            (false, true) => self.start < o.start && o.start < self.end,
            (false, false) => self.start < o.end && o.start < self.end,
        }
    }
}

/// Spans of a candidate's alleles, indexed by allele (0, the reference, has none).
fn allele_spans(c: &Candidate) -> Vec<Option<Span>> {
    std::iter::once(None)
        .chain(c.alts.iter().map(|a| Some(Span::of(c.pos.0, a))))
        .collect()
}

/// Whether some alleles of two calls clash.
fn calls_clash(a: &[Option<Span>], b: &[Option<Span>]) -> bool {
    a.iter()
        .flatten()
        .any(|x| b.iter().flatten().any(|y| x.clashes(*y)))
}

/// Groups of two or more calls (indices, ascending) linked by clashing alleles, from each
/// call's allele spans and anchor, in position order.
pub fn groups(spans: &[Vec<Option<Span>>], anchors: &[u64]) -> Vec<Vec<usize>> {
    let n = spans.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let reach = |s: &[Option<Span>]| s.iter().flatten().map(|x| x.end).max().unwrap_or(0);
    // calls whose alleles may still reach the current anchor
    let mut active: Vec<usize> = Vec::new();
    for i in 0..n {
        active.retain(|&j| reach(&spans[j]) >= anchors[i]);
        for &j in &active {
            if calls_clash(&spans[j], &spans[i]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
        active.push(i);
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        match slot[r] {
            Some(s) => out[s].push(i),
            None => {
                slot[r] = Some(out.len());
                out.push(vec![i]);
            }
        }
    }
    out.retain(|g| g.len() > 1);
    out
}

/// One call of a group as the enumeration sees it.
struct Member<'a> {
    ploidy: Ploidy,
    spans: &'a [Option<Span>],
    /// Allele lists of every genotype, VCF order.
    genotypes: Vec<Vec<usize>>,
    posteriors: &'a [f64],
    /// Genotype indices enumerated.
    options: Vec<usize>,
}

/// Whether the genotypes `choice[i]` of the members can be placed on haplotypes without two
/// clashing alleles on one of them.
fn compatible(members: &[Member], choice: &[usize]) -> bool {
    fn place(members: &[Member], choice: &[usize], i: usize, haps: &mut [Vec<Span>; 2]) -> bool {
        let Some(m) = members.get(i) else {
            return true;
        };
        let g = &m.genotypes[choice[i]];
        let orders: Vec<[Option<usize>; 2]> = match (m.ploidy, g.as_slice()) {
            (Ploidy::Haploid, [a]) => vec![[Some(*a), None]],
            (_, [a, b]) if a == b => vec![[Some(*a), Some(*b)]],
            (_, [a, b]) => vec![[Some(*a), Some(*b)], [Some(*b), Some(*a)]],
            _ => return false,
        };
        for order in orders {
            let spans: Vec<Option<Span>> = order
                .iter()
                .map(|a| a.and_then(|a| m.spans.get(a).copied().flatten()))
                .collect();
            let fits = spans
                .iter()
                .zip(haps.iter())
                .all(|(s, h)| s.is_none_or(|s| h.iter().all(|x| !x.clashes(s))));
            if !fits {
                continue;
            }
            let lens = [haps[0].len(), haps[1].len()];
            for (h, s) in haps.iter_mut().zip(&spans) {
                h.extend(*s);
            }
            if place(members, choice, i + 1, haps) {
                return true;
            }
            for (h, l) in haps.iter_mut().zip(lens) {
                h.truncate(l);
            }
        }
        false
    }
    place(members, choice, 0, &mut [Vec::new(), Vec::new()])
}

/// Resolves every group of overlapping calls in place: `cands` (one chunk's, in position
/// order) and their genotypes.
pub fn resolve(cands: &[&Candidate], genotypes: &mut [Genotype], min_qual: f64) {
    let spans: Vec<Vec<Option<Span>>> = cands.iter().map(|c| allele_spans(c)).collect();
    let anchors: Vec<u64> = cands.iter().map(|c| c.pos.0).collect();
    for group in groups(&spans, &anchors) {
        resolve_group(genotypes, &spans, &group, min_qual);
    }
}

fn resolve_group(
    genotypes: &mut [Genotype],
    spans: &[Vec<Option<Span>>],
    group: &[usize],
    min_qual: f64,
) {
    let members: Vec<Member> = group
        .iter()
        .map(|&i| {
            let g = &genotypes[i];
            let top = g.posteriors.iter().copied().fold(0.0, f64::max);
            Member {
                ploidy: g.ploidy,
                spans: &spans[i],
                genotypes: genotype_alleles(spans[i].len() - 1, g.ploidy),
                posteriors: &g.posteriors,
                options: (0..g.posteriors.len())
                    .filter(|&k| g.posteriors[k] >= top * PRUNE)
                    .collect(),
            }
        })
        .collect();
    let count = members
        .iter()
        .try_fold(1usize, |acc, m| acc.checked_mul(m.options.len()));
    if count.is_none_or(|c| c > MAX_CONFIGS) {
        return;
    }
    let mut sums: Vec<Vec<f64>> = members
        .iter()
        .map(|m| vec![0.0; m.posteriors.len()])
        .collect();
    let mut maxes = sums.clone();
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut total = 0.0;
    // odometer over the members' options
    let mut digits = vec![0usize; members.len()];
    loop {
        let choice: Vec<usize> = members
            .iter()
            .zip(&digits)
            .map(|(m, &d)| m.options[d])
            .collect();
        let w: f64 = members
            .iter()
            .zip(&choice)
            .map(|(m, &g)| m.posteriors[g])
            .product();
        if w > 0.0 && compatible(&members, &choice) {
            total += w;
            for (k, &g) in choice.iter().enumerate() {
                sums[k][g] += w;
                maxes[k][g] = maxes[k][g].max(w);
            }
            if best.as_ref().is_none_or(|b| w > b.0) {
                best = Some((w, choice));
            }
        }
        let mut k = 0;
        while k < digits.len() {
            digits[k] += 1;
            if digits[k] < members[k].options.len() {
                break;
            }
            digits[k] = 0;
            k += 1;
        }
        if k == digits.len() {
            break;
        }
    }
    let Some((_, choice)) = best.filter(|_| total > 0.0) else {
        return;
    };
    let updated: Vec<genotype::Genotype> = members
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let post: Vec<f64> = sums[k].iter().map(|s| s / total).collect();
            let looks_het = genotypes[group[k]].looks_het;
            genotype::summarise(m.ploidy, post, &maxes[k], choice[k], looks_het, min_qual)
        })
        .collect();
    for (&i, g) in group.iter().zip(updated) {
        genotypes[i] = g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Candidate;
    use crate::genotype::{genotype, Filter, GenotypeConfig};
    use crate::model::Prediction;
    use crate::region::Pos0;

    /// A candidate and its genotype on its own.
    fn site(pos: u64, alt: AltAllele, probs: [f64; 3], ploidy: Ploidy) -> (Candidate, Genotype) {
        let cfg = GenotypeConfig {
            min_qual: 3.0,
            temperature: 1.0,
        };
        let cand = Candidate {
            contig: "chr20".into(),
            pos: Pos0(pos),
            alts: vec![alt],
            depth: 30,
            allele_depths: vec![15, 15],
        };
        (cand, genotype(&[Prediction { probs }], ploidy, &cfg))
    }

    /// Resolves the sites, returning their genotypes.
    fn resolved(sites: Vec<(Candidate, Genotype)>) -> Vec<Genotype> {
        let (cands, mut gts): (Vec<Candidate>, Vec<Genotype>) = sites.into_iter().unzip();
        let refs: Vec<&Candidate> = cands.iter().collect();
        resolve(&refs, &mut gts, 3.0);
        gts
    }

    #[test]
    fn spans_clash_as_haplotypes_allow() {
        let del = Span::of(10, &AltAllele::Del(3)); // removes 11, 12, 13
        assert_eq!(del, Span { start: 11, end: 14 });
        assert!(del.clashes(Span::of(12, &AltAllele::Snv(b'A'))));
        assert!(!del.clashes(Span::of(10, &AltAllele::Snv(b'A')))); // the anchor stays
        assert!(!del.clashes(Span::of(14, &AltAllele::Snv(b'A'))));
        // insertion after base 11: between two deleted bases
        assert!(del.clashes(Span::of(11, &AltAllele::Ins(b"G".to_vec()))));
        // insertion after base 13 (the last deleted) or before 11: at the deletion's edge
        assert!(!del.clashes(Span::of(13, &AltAllele::Ins(b"G".to_vec()))));
        assert!(!del.clashes(Span::of(10, &AltAllele::Ins(b"G".to_vec()))));
        assert!(del.clashes(Span::of(12, &AltAllele::Del(5))));
    }

    /// The HiFi example: chr20:9043169 TA>T called 0/1 beside 9043170 A>T called 1/1, both
    /// PASS; the SNV's base is deleted on one haplotype, so 1/1 is impossible.
    #[test]
    fn hifi_deletion_and_snv_in_the_deleted_base() {
        let d = Ploidy::Diploid;
        let sites = vec![
            site(9043168, AltAllele::Del(1), [0.02, 0.9, 0.08], d),
            site(9043169, AltAllele::Snv(b'T'), [0.01, 0.3, 0.69], d),
        ];
        assert_eq!(sites[0].1.alleles, vec![0, 1]);
        assert_eq!(sites[1].1.alleles, vec![1, 1]);
        let calls = resolved(sites);
        // compatible configurations: 0/1 + 0/1 (0.9 x 0.3 = 0.27) beats 0/0 + 1/1 (0.0138)
        // and 1/1 + 0/0 (0.0008)
        assert_eq!(calls[0].alleles, vec![0, 1]);
        assert_eq!(calls[1].alleles, vec![0, 1]);
        assert_eq!(calls[1].filter, Filter::Pass);
        // PL: the best compatible configuration giving the SNV each genotype, against 0.27:
        // 0/0 with the deletion 0/1 (0.9 x 0.01), 1/1 with the deletion 0/0 (0.02 x 0.69)
        assert_eq!(calls[1].pl, vec![15, 0, 13]);
        // posteriors: marginals over the six compatible configurations
        let compat = [
            0.02 * 0.01,
            0.02 * 0.3,
            0.02 * 0.69,
            0.9 * 0.01,
            0.9 * 0.3,
            0.08 * 0.01,
        ];
        let total: f64 = compat.iter().sum();
        let p_snv_het = (0.02 * 0.3 + 0.9 * 0.3) / total;
        assert!((calls[1].posteriors[1] - p_snv_het).abs() < 1e-12);
        assert!((p_snv_het - 0.9206).abs() < 1e-4);
        assert_eq!(calls[1].gq, 11); // -10 log10(1 - 0.9206)
    }

    #[test]
    fn compatible_calls_keep_their_genotypes() {
        // a heterozygous deletion and a heterozygous SNV in its base: one per haplotype
        let d = Ploidy::Diploid;
        let sites = vec![
            site(100, AltAllele::Del(2), [0.01, 0.98, 0.01], d),
            site(101, AltAllele::Snv(b'C'), [0.01, 0.98, 0.01], d),
            site(200, AltAllele::Snv(b'C'), [0.01, 0.01, 0.98], d),
        ];
        let lone = sites[2].1.clone();
        let calls = resolved(sites);
        let gts: Vec<Vec<usize>> = calls.iter().map(|g| g.alleles.clone()).collect();
        assert_eq!(gts, vec![vec![0, 1], vec![0, 1], vec![1, 1]]);
        // the lone call is untouched, PL and all
        assert_eq!(calls[2], lone);
        assert_eq!(calls[2].pl, vec![20, 20, 0]);
    }

    #[test]
    fn haploid_overlaps_leave_one_allele() {
        // one haplotype: the deletion and the SNV inside it cannot both be there
        let h = Ploidy::Haploid;
        let sites = vec![
            site(50, AltAllele::Del(4), [0.1, 0.1, 0.8], h),
            site(52, AltAllele::Snv(b'G'), [0.3, 0.1, 0.6], h),
        ];
        assert_eq!(sites[0].1.alleles, vec![1]);
        assert_eq!(sites[1].1.alleles, vec![1]);
        let calls = resolved(sites);
        // configs: 0+0 0.1x0.3, 1+0 0.8x0.3 = 0.24, 0+1 0.1x0.6 = 0.06: the deletion wins
        assert_eq!(calls[0].alleles, vec![1]);
        assert_eq!(calls[1].alleles, vec![0]);
        assert_eq!(calls[1].filter, Filter::RefCall);
        assert_eq!(calls[1].pl.len(), 2);
        // 0/0 SNV marginal (0.03 + 0.24) / 0.33
        assert!((calls[1].posteriors[0] - 0.27 / 0.33).abs() < 1e-12);
    }

    #[test]
    fn groups_follow_chains_of_clashes() {
        let s = |a: u64, alt: AltAllele| vec![None, Some(Span::of(a, &alt))];
        let spans = vec![
            s(10, AltAllele::Del(5)),             // removes 11..=15
            s(12, AltAllele::Snv(b'A')),          // inside it
            s(16, AltAllele::Snv(b'A')),          // just after it: alone
            s(20, AltAllele::Del(2)),             // removes 21, 22
            s(21, AltAllele::Snv(b'C')),          // inside it
            s(22, AltAllele::Ins(b"T".to_vec())), // before base 23: the deletion's edge
        ];
        let anchors = [10, 12, 16, 20, 21, 22];
        assert_eq!(groups(&spans, &anchors), vec![vec![0, 1], vec![3, 4]]);
    }
}
