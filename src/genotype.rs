//! Genotype math, pure and free of I/O: turns per-allele [`Prediction`]s into one diploid
//! genotype per site with QUAL, GQ and PL, and assigns the FILTER.
//!
//! For a site with alternate alleles `1..=n` (n ≤ 2), the model gives, for each alt `k`,
//! the probabilities `p_k(c)` that the sample carries `c` copies of it. The likelihood of
//! the diploid genotype with `c_k` copies of each alt (Σ c_k ≤ 2) is `Π_k p_k(c_k)`,
//! normalised over all genotypes. GT is the most likely genotype, GQ = −10·log10(1 − P(GT)),
//! QUAL = −10·log10 P(0/0), and PL are the Phred-scaled likelihoods relative to GT in VCF
//! order (0/0, 0/1, 1/1, 0/2, 1/2, 2/2).
use crate::model::Prediction;

/// The VCF FILTER of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Pass,
    /// The most likely genotype is homozygous reference.
    RefCall,
    /// A variant genotype whose QUAL is below `--min-qual`.
    LowQual,
}

impl Filter {
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Pass => "PASS",
            Filter::RefCall => "RefCall",
            Filter::LowQual => "LowQual",
        }
    }
}

/// A diploid genotype call at one site.
#[derive(Clone, Debug, PartialEq)]
pub struct Genotype {
    /// Allele indices, smaller first (0 = reference).
    pub alleles: [usize; 2],
    pub qual: f64,
    pub gq: u32,
    /// Phred-scaled genotype likelihoods in VCF order.
    pub pl: Vec<u32>,
    pub filter: Filter,
}

const MIN_P: f64 = 1e-10;
pub const MAX_GQ: u32 = 99;

fn phred(p: f64) -> f64 {
    -10.0 * p.max(MIN_P).log10()
}

/// Combines per-allele predictions (one per alt, in ALT order) into a genotype.
pub fn genotype(preds: &[Prediction], min_qual: f64) -> Genotype {
    let n = preds.len();
    // genotypes j/k with j <= k in VCF order: index k(k+1)/2 + j
    let mut gts: Vec<([usize; 2], f64)> = Vec::new();
    for k in 0..=n {
        for j in 0..=k {
            let copies = |a: usize| (j == a) as usize + (k == a) as usize;
            let lik: f64 = (1..=n).map(|a| preds[a - 1].probs[copies(a)]).product();
            gts.push(([j, k], lik));
        }
    }
    let total: f64 = gts.iter().map(|g| g.1).sum::<f64>().max(f64::MIN_POSITIVE);
    let post: Vec<f64> = gts.iter().map(|g| g.1 / total).collect();
    let best = (0..post.len()).fold(0, |b, i| if post[i] > post[b] { i } else { b });
    let qual = phred(post[0]);
    let gq = (phred(1.0 - post[best]).round() as u32).min(MAX_GQ);
    let pl = post
        .iter()
        .map(|&p| (phred(p) - phred(post[best])).round().max(0.0) as u32)
        .collect();
    let alleles = gts[best].0;
    let filter = if alleles == [0, 0] {
        Filter::RefCall
    } else if qual < min_qual {
        Filter::LowQual
    } else {
        Filter::Pass
    };
    Genotype {
        alleles,
        qual,
        gq,
        pl,
        filter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: f64, b: f64, c: f64) -> Prediction {
        Prediction { probs: [a, b, c] }
    }

    #[test]
    fn biallelic_het() {
        let g = genotype(&[p(0.01, 0.98, 0.01)], 2.0);
        assert_eq!(g.alleles, [0, 1]);
        assert_eq!(g.filter, Filter::Pass);
        assert_eq!(g.qual.round(), 20.0);
        assert_eq!(g.gq, 17); // -10 log10(0.02)
        assert_eq!(g.pl, vec![20, 0, 20]);
    }

    #[test]
    fn hom_ref_is_refcall_and_low_qual_flagged() {
        assert_eq!(genotype(&[p(0.9, 0.09, 0.01)], 2.0).filter, Filter::RefCall);
        let g = genotype(&[p(0.45, 0.55, 0.0)], 5.0);
        assert_eq!(g.alleles, [0, 1]);
        assert_eq!(g.filter, Filter::LowQual);
    }

    #[test]
    fn multiallelic_resolves_to_one_diploid_genotype() {
        // each alt looks heterozygous: the joint answer is 1/2
        let g = genotype(&[p(0.05, 0.9, 0.05), p(0.05, 0.9, 0.05)], 2.0);
        assert_eq!(g.alleles, [1, 2]);
        assert_eq!(g.pl.len(), 6);
        assert_eq!(g.pl[4], 0);
        // alt 2 absent, alt 1 homozygous: 1/1
        let g = genotype(&[p(0.01, 0.04, 0.95), p(0.97, 0.02, 0.01)], 2.0);
        assert_eq!(g.alleles, [1, 1]);
        assert!(g.gq > 10);
    }
}

/// A finished call: the candidate, its VCF alleles and its genotype.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub candidate: crate::candidates::Candidate,
    pub reference: String,
    pub alts: Vec<String>,
    pub genotype: Genotype,
}
