//! Genotype math, pure and free of I/O: turns per-allele [`Prediction`]s into one genotype
//! per site (diploid, or haploid on `--haploid-contigs` outside `--par-bed`) with QUAL, GQ
//! and PL, and assigns the FILTER.
//!
//! **Calibration.** The network's softmax is first tempered: `p_k(c) ∝ p_k(c)^(1/T)` with the
//! model card's temperature `T` (1 when the card has none). Since a genotype's likelihood is
//! a product over alleles, this equals tempering the genotype posteriors themselves.
//!
//! **Diploid.** For a site with alternate alleles `1..=n`, the model gives, for each alt `k`,
//! the probabilities `p_k(c)` that the sample carries `c` copies of it. The likelihood of the
//! diploid genotype with `c_k` copies of each alt (Σ c_k ≤ 2) is `Π_k p_k(c_k)`, normalised
//! over all genotypes into posteriors. GT is the most likely genotype,
//! GQ = −10·log10(1 − P(GT)) (capped at 99), QUAL = −10·log10 P(0/0), and PL are the
//! Phred-scaled posteriors relative to GT's, in VCF order (0/0, 0/1, 1/1, 0/2, 1/2, 2/2, …).
//!
//! **Haploid.** The network counts copies of an allele out of two, so a haploid carrier of
//! allele `a` reads as "2 copies of `a`, 0 of every other alt": the haploid genotype `a` has
//! the likelihood of the diploid `a/a`. The diploid heterozygous genotypes are no haploid
//! state: reads looking heterozygous on a haploid contig come from two copies piled up (a
//! paralog or segmental duplication mismapped here, a contamination, or a sample that is
//! not haploid there). That mass is left out of the haploid posteriors (they are the
//! homozygous diploid likelihoods renormalised), and when it outweighs every homozygous
//! genotype together the site gets FILTER `HetInHaploid` whatever its GT: neither haploid
//! genotype explains the reads, so the call is not trusted (nor reported as a confident
//! reference `RefCall`). GT is one allele, PL has `n + 1` entries (one per allele), and QUAL
//! and GQ come from the haploid posteriors.
use crate::model::Prediction;

/// The VCF FILTER of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Pass,
    /// The most likely genotype is homozygous reference.
    RefCall,
    /// A variant genotype whose QUAL is below `--min-qual`.
    LowQual,
    /// A haploid site whose reads look heterozygous (a diploid heterozygous genotype is
    /// more likely than every haploid one), whatever its GT.
    HetInHaploid,
}

impl Filter {
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Pass => "PASS",
            Filter::RefCall => "RefCall",
            Filter::LowQual => "LowQual",
            Filter::HetInHaploid => "HetInHaploid",
        }
    }
}

/// Copies of the genome at a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ploidy {
    Diploid,
    Haploid,
}

/// Genotyping settings of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenotypeConfig {
    /// Variant genotypes with QUAL below this are `LowQual`.
    pub min_qual: f64,
    /// Softmax temperature from the model card's calibration (1 = none).
    pub temperature: f64,
}

/// A genotype call at one site.
#[derive(Clone, Debug, PartialEq)]
pub struct Genotype {
    pub ploidy: Ploidy,
    /// Allele indices (0 = reference): two for a diploid site, smaller first; one for a
    /// haploid site.
    pub alleles: Vec<usize>,
    pub qual: f64,
    pub gq: u32,
    /// Phred-scaled genotype posteriors relative to GT's, in VCF order.
    pub pl: Vec<u32>,
    pub filter: Filter,
    /// Posterior of every genotype, in VCF order (what overlapping calls are resolved from).
    pub posteriors: Vec<f64>,
    /// Haploid sites: the reads look heterozygous (see the module docs).
    pub looks_het: bool,
}

const MIN_P: f64 = 1e-10;
pub const MAX_GQ: u32 = 99;

fn phred(p: f64) -> f64 {
    -10.0 * p.max(MIN_P).log10()
}

/// Tempers one prediction: `p(c) ∝ p(c)^(1/t)`.
pub fn temper(p: &Prediction, t: f64) -> [f64; 3] {
    if t == 1.0 {
        return p.probs;
    }
    let logs = p.probs.map(|x| x.max(f64::MIN_POSITIVE).ln() / t);
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = logs.map(|l| (l - top).exp());
    let z: f64 = e.iter().sum();
    e.map(|x| x / z)
}

/// The genotypes of a site with `n` alternate alleles, in VCF order: diploid `j/k` (j ≤ k)
/// at index k(k+1)/2 + j; haploid allele `a` at index `a`.
pub fn genotype_alleles(n: usize, ploidy: Ploidy) -> Vec<Vec<usize>> {
    match ploidy {
        Ploidy::Haploid => (0..=n).map(|a| vec![a]).collect(),
        Ploidy::Diploid => (0..=n)
            .flat_map(|k| (0..=k).map(move |j| vec![j, k]))
            .collect(),
    }
}

/// Copies of each allele `0..=n` in a diploid genotype `[j, k]`.
fn copies(alleles: &[usize], a: usize) -> usize {
    alleles.iter().filter(|&&x| x == a).count()
}

/// Combines per-allele predictions (one per alt, in ALT order) into a genotype.
pub fn genotype(preds: &[Prediction], ploidy: Ploidy, cfg: &GenotypeConfig) -> Genotype {
    let n = preds.len();
    let probs: Vec<[f64; 3]> = preds.iter().map(|p| temper(p, cfg.temperature)).collect();
    let lik = |g: &[usize]| -> f64 { (1..=n).map(|a| probs[a - 1][copies(g, a)]).product() };
    let diploid = genotype_alleles(n, Ploidy::Diploid);
    let liks: Vec<f64> = match ploidy {
        Ploidy::Diploid => diploid.iter().map(|g| lik(g)).collect(),
        // haploid allele a: the diploid a/a
        Ploidy::Haploid => (0..=n).map(|a| lik(&[a, a])).collect(),
    };
    let looks_het = ploidy == Ploidy::Haploid && {
        let het: f64 = diploid
            .iter()
            .filter(|g| g[0] != g[1])
            .map(|g| lik(g))
            .sum();
        het > liks.iter().sum::<f64>()
    };
    let total: f64 = liks.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let post: Vec<f64> = liks.iter().map(|l| l / total).collect();
    let best = argmax(&post);
    summarise(ploidy, post.clone(), &post, best, looks_het, cfg.min_qual)
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f64]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// A genotype from posteriors (VCF order), the chosen genotype `best` and `support`, the
/// values PL are scaled from (the posteriors themselves for a site on its own; for a
/// resolved group of overlapping calls, the best compatible configuration's probability per
/// genotype).
pub fn summarise(
    ploidy: Ploidy,
    posteriors: Vec<f64>,
    support: &[f64],
    best: usize,
    looks_het: bool,
    min_qual: f64,
) -> Genotype {
    let n = match ploidy {
        Ploidy::Haploid => posteriors.len().saturating_sub(1),
        Ploidy::Diploid => diploid_alts(posteriors.len()),
    };
    let alleles = genotype_alleles(n, ploidy)
        .into_iter()
        .nth(best)
        .unwrap_or_default();
    let qual = phred(posteriors[0]);
    // 1 − P(GT) summed from the others, not subtracted (no cancellation near 1)
    let wrong: f64 = posteriors
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != best)
        .map(|(_, p)| p)
        .sum();
    let gq = (phred(wrong).round() as u32).min(MAX_GQ);
    let pl = support
        .iter()
        .map(|&p| (phred(p) - phred(support[best])).round().max(0.0) as u32)
        .collect();
    let filter = if looks_het {
        Filter::HetInHaploid
    } else if alleles.iter().all(|&a| a == 0) {
        Filter::RefCall
    } else if qual < min_qual {
        Filter::LowQual
    } else {
        Filter::Pass
    };
    Genotype {
        ploidy,
        alleles,
        qual,
        gq,
        pl,
        filter,
        posteriors,
        looks_het,
    }
}

/// The number of alternate alleles of a diploid site with `genotypes` genotypes.
fn diploid_alts(genotypes: usize) -> usize {
    (0..)
        .find(|n| (n + 1) * (n + 2) / 2 >= genotypes)
        .unwrap_or(0)
}

/// A finished call: the candidate, its VCF alleles, its genotype and its confidence tier.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub candidate: crate::candidates::Candidate,
    pub reference: String,
    pub alts: Vec<String>,
    pub genotype: Genotype,
    /// The call's confidence tier and the features it was decided from.
    pub review: crate::tiers::Review,
    /// The read-backed phase of a heterozygous call, when phasing put it in a phase set.
    pub phase: Option<crate::phasing::Phase>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: f64, b: f64, c: f64) -> Prediction {
        Prediction { probs: [a, b, c] }
    }

    fn cfg(min_qual: f64) -> GenotypeConfig {
        GenotypeConfig {
            min_qual,
            temperature: 1.0,
        }
    }

    #[test]
    fn biallelic_het() {
        let g = genotype(&[p(0.01, 0.98, 0.01)], Ploidy::Diploid, &cfg(2.0));
        assert_eq!(g.alleles, vec![0, 1]);
        assert_eq!(g.filter, Filter::Pass);
        assert_eq!(g.qual.round(), 20.0);
        assert_eq!(g.gq, 17); // -10 log10(0.02)
        assert_eq!(g.pl, vec![20, 0, 20]);
    }

    #[test]
    fn hom_ref_is_refcall_and_low_qual_flagged() {
        let g = genotype(&[p(0.9, 0.09, 0.01)], Ploidy::Diploid, &cfg(2.0));
        assert_eq!(g.filter, Filter::RefCall);
        let g = genotype(&[p(0.45, 0.55, 0.0)], Ploidy::Diploid, &cfg(5.0));
        assert_eq!(g.alleles, vec![0, 1]);
        assert_eq!(g.filter, Filter::LowQual);
    }

    #[test]
    fn multiallelic_resolves_to_one_diploid_genotype() {
        let d = Ploidy::Diploid;
        // each alt looks heterozygous: the joint answer is 1/2
        let g = genotype(&[p(0.05, 0.9, 0.05), p(0.05, 0.9, 0.05)], d, &cfg(2.0));
        assert_eq!(g.alleles, vec![1, 2]);
        assert_eq!(g.pl.len(), 6);
        assert_eq!(g.pl[4], 0);
        // alt 2 absent, alt 1 homozygous: 1/1
        let g = genotype(&[p(0.01, 0.04, 0.95), p(0.97, 0.02, 0.01)], d, &cfg(2.0));
        assert_eq!(g.alleles, vec![1, 1]);
        assert!(g.gq > 10);
    }

    #[test]
    fn three_alts_give_ten_genotypes_and_the_best_pair() {
        // alts 1 and 3 heterozygous, alt 2 absent: 1/3 (index 3*4/2 + 1 = 7)
        let preds = [p(0.1, 0.8, 0.1), p(0.95, 0.04, 0.01), p(0.1, 0.8, 0.1)];
        let g = genotype(&preds, Ploidy::Diploid, &cfg(2.0));
        assert_eq!(g.alleles, vec![1, 3]);
        assert_eq!(g.pl.len(), 10);
        assert_eq!(g.pl[7], 0);
        assert_eq!(genotype_alleles(3, Ploidy::Diploid)[7], vec![1, 3]);
    }

    #[test]
    fn haploid_uses_zero_and_two_copies() {
        let h = Ploidy::Haploid;
        // P(0)=0.01, P(2)=0.95: haploid alt, posterior 0.95/0.96
        let g = genotype(&[p(0.01, 0.04, 0.95)], h, &cfg(2.0));
        assert_eq!(g.alleles, vec![1]);
        assert_eq!(g.pl, vec![20, 0]);
        assert_eq!(g.qual.round(), 20.0); // -10 log10(0.01/0.96)
        assert_eq!(g.gq, 20);
        assert_eq!(g.filter, Filter::Pass);
        assert!(!g.looks_het);
        // reference
        let g = genotype(&[p(0.97, 0.02, 0.01)], h, &cfg(2.0));
        assert_eq!((g.alleles.clone(), g.filter), (vec![0], Filter::RefCall));
        assert_eq!(g.pl, vec![0, 20]);
        // two alts: three haploid genotypes, one PL each
        let g = genotype(&[p(0.98, 0.01, 0.01), p(0.02, 0.08, 0.9)], h, &cfg(2.0));
        assert_eq!(g.alleles, vec![2]);
        assert_eq!(g.pl.len(), 3);
        assert_eq!(g.pl[2], 0);
    }

    #[test]
    fn heterozygous_looking_haploid_site_is_filtered() {
        // "1 copy" dominates: 0.7 het vs 0.2 + 0.1 homozygous
        let g = genotype(&[p(0.1, 0.7, 0.2)], Ploidy::Haploid, &cfg(2.0));
        assert_eq!(g.alleles, vec![1]);
        assert!(g.looks_het);
        assert_eq!(g.filter, Filter::HetInHaploid);
        assert!((g.posteriors[1] - 2.0 / 3.0).abs() < 1e-12);
        // leaning to the reference: GT 0, still not a confident RefCall
        let g = genotype(&[p(0.2, 0.7, 0.1)], Ploidy::Haploid, &cfg(2.0));
        assert_eq!(g.alleles, vec![0]);
        assert_eq!(g.filter, Filter::HetInHaploid);
        // the same predictions at a diploid site: a PASS 0/1
        let g = genotype(&[p(0.2, 0.7, 0.1)], Ploidy::Diploid, &cfg(2.0));
        assert_eq!((g.alleles, g.filter), (vec![0, 1], Filter::Pass));
    }

    #[test]
    fn temperature_softens_and_sharpens() {
        let x = p(0.01, 0.98, 0.01);
        let soft = temper(&x, 2.0);
        // 0.01^0.5 = 0.1, 0.98^0.5 = 0.98995: normalised
        assert!((soft[0] - 0.1 / 1.18995).abs() < 1e-4);
        assert!((soft.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(temper(&x, 1.0), x.probs);
        let mut c = cfg(2.0);
        c.temperature = 2.0;
        let g = genotype(&[x], Ploidy::Diploid, &c);
        // 0/0 posterior 0.1/1.18995: QUAL 10.8, GQ -10 log10(0.2/1.18995) = 7.7
        assert_eq!(g.qual.round(), 11.0);
        assert_eq!(g.gq, 8);
        assert_eq!(g.pl, vec![10, 0, 10]);
    }
}
