//! Somatic statistics, pure math: the likelihood of a candidate allele's reads under
//! background error against a somatic allele-fraction model (Mutect2-style TLOD, the allele
//! fraction integrated over a prior), the normal's evidence (NLOD; germline and
//! normal-artifact hypotheses), the germline prior from a population allele frequency,
//! a strand-bias test, and the per-chunk background error profile that sets each read's
//! error rate (base quality recalibrated per trinucleotide context and alternate base, and
//! per homopolymer length for indels). Every read counts: nothing here caps depth.

/// Allele fractions of the somatic model: log-spaced from [`AF_GRID_MIN`] to 1, equal
/// weight each (a log-uniform prior: low fractions are as likely a priori as high ones).
const AF_GRID: usize = 96;
const AF_GRID_MIN: f64 = 1e-3;
/// Normal-artifact fractions run up to this (a normal with more is germline-like).
const ARTIFACT_AF_MAX: f64 = 0.3;
/// Allele fractions a heterozygous germline variant shows in a tumour (copy-number changes
/// move it off 0.5) and in a normal, and a homozygous one.
pub const TUMOR_HET_AFS: [f64; 7] = [0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65];
pub const NORMAL_HET_AFS: [f64; 3] = [0.45, 0.50, 0.55];
const HOM_AF: f64 = 0.98;
/// The smallest and largest error rate a read can have.
const MIN_ERROR: f64 = 1e-6;
const MAX_ERROR: f64 = 0.5;

/// What one read says about one alternate allele: carries it, or the reference; with the
/// probability that it shows what it shows by error, and its strand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadObs {
    pub alt: bool,
    pub error: f64,
    pub forward: bool,
}

/// The reads of one sample at one allele, grouped by (allele, error) for speed: likelihoods
/// are sums over groups, so 500 reads of ~40 quality values cost ~80 terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// (carries the alt, error rate, number of reads).
    groups: Vec<(bool, f64, u32)>,
    pub alt: u32,
    pub reference: u32,
    /// Alt and reference reads on the forward strand.
    pub alt_forward: u32,
    pub ref_forward: u32,
}

impl Evidence {
    pub fn new(obs: &[ReadObs]) -> Self {
        let mut e = Evidence::default();
        for o in obs {
            let err = o.error.clamp(MIN_ERROR, MAX_ERROR);
            match e
                .groups
                .iter_mut()
                .find(|(a, x, _)| *a == o.alt && (*x - err).abs() < 1e-12)
            {
                Some(g) => g.2 += 1,
                None => e.groups.push((o.alt, err, 1)),
            }
            if o.alt {
                e.alt += 1;
                e.alt_forward += u32::from(o.forward);
            } else {
                e.reference += 1;
                e.ref_forward += u32::from(o.forward);
            }
        }
        e
    }

    /// Reads that carry the alt or the reference.
    pub fn depth(&self) -> u32 {
        self.alt + self.reference
    }

    /// Alt fraction of those reads (0 without any).
    pub fn af(&self) -> f64 {
        if self.depth() == 0 {
            0.0
        } else {
            self.alt as f64 / self.depth() as f64
        }
    }

    /// ln P(reads | allele fraction `f`): an alt read comes from an alt molecule read right
    /// or a reference molecule read wrong, and the other way round.
    pub fn ln_lik(&self, f: f64) -> f64 {
        self.groups
            .iter()
            .map(|&(alt, e, n)| {
                let p = if alt {
                    f * (1.0 - e) + (1.0 - f) * e
                } else {
                    f * e + (1.0 - f) * (1.0 - e)
                };
                n as f64 * p.max(1e-300).ln()
            })
            .sum()
    }

    /// ln of the likelihood averaged over log-spaced fractions in `[lo, hi]`.
    /// ln P(reads | somatic): the fraction integrated over the log-uniform prior.
    pub fn ln_lik_somatic(&self) -> f64 {
        let a = AF_GRID_MIN.ln();
        let v: Vec<f64> = (0..AF_GRID)
            .map(|i| self.ln_lik((a - a * i as f64 / (AF_GRID - 1) as f64).exp()))
            .collect();
        log_mean_exp(&v)
    }

    /// ln P(these reads and `other`'s | an artifact of the site that both samples show at
    /// the same low fraction, log-uniform up to [`ARTIFACT_AF_MAX`]).
    pub fn ln_lik_shared_artifact(&self, other: &Evidence) -> f64 {
        let (a, b) = (AF_GRID_MIN.ln(), ARTIFACT_AF_MAX.ln());
        let v: Vec<f64> = (0..AF_GRID)
            .map(|i| {
                let f = (a + (b - a) * i as f64 / (AF_GRID - 1) as f64).exp();
                self.ln_lik(f) + other.ln_lik(f)
            })
            .collect();
        log_mean_exp(&v)
    }

    /// ln P(reads | germline), heterozygous (at the fractions `het_afs`, equally likely) or
    /// homozygous, with the weights of `prior`.
    pub fn ln_lik_germline(&self, prior: &GermlinePrior, het_afs: &[f64]) -> f64 {
        let het: Vec<f64> = het_afs.iter().map(|&f| self.ln_lik(f)).collect();
        let het = log_mean_exp(&het);
        let hom = self.ln_lik(HOM_AF);
        let w = prior.het_share;
        log_sum_exp(&[w.ln() + het, (1.0 - w).max(1e-300).ln() + hom])
    }

    /// Mutect2's NLOD for a normal: log10 of the likelihood of no variant over that of the
    /// tumour's fraction `tumor_af` (small for low-fraction calls, as in Mutect2).
    pub fn nlod(&self, tumor_af: f64) -> f64 {
        let f = tumor_af.clamp(AF_GRID_MIN, 1.0);
        (self.ln_lik(0.0) - self.ln_lik(f)) / std::f64::consts::LN_10
    }

    /// Two-sided binomial p-value that the alt reads' strands were drawn like the
    /// reference reads' (their forward share, smoothed): small when the alt sits on one
    /// strand only while the reference does not.
    pub fn strand_p(&self) -> f64 {
        let p = (self.ref_forward as f64 + 1.0) / (self.reference as f64 + 2.0);
        binomial_two_sided(self.alt_forward, self.alt, p)
    }
}

/// The prior that the individual carries an allele in the germline, and how those carriers
/// split between heterozygous and homozygous.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GermlinePrior {
    pub carrier: f64,
    pub het_share: f64,
}

impl GermlinePrior {
    /// From a population allele frequency, under Hardy-Weinberg: carriers 1 - (1 - af)^2,
    /// of whom 2 af (1 - af) are heterozygous.
    pub fn from_af(af: f64) -> Self {
        let af = af.clamp(1e-9, 1.0 - 1e-9);
        let carrier = 1.0 - (1.0 - af) * (1.0 - af);
        GermlinePrior {
            carrier,
            het_share: 2.0 * af * (1.0 - af) / carrier,
        }
    }

    /// Without a population frequency: about one germline variant per 1,000 bases of a
    /// human genome, spread over three alternate bases, 60% of them heterozygous.
    pub fn genome_average() -> Self {
        GermlinePrior {
            carrier: 1e-3 / 3.0,
            het_share: 0.6,
        }
    }
}

/// Priors of the hypotheses, per candidate allele.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Priors {
    /// A somatic mutation at this site and allele.
    pub somatic: f64,
    /// A normal artifact (site-specific error seen in both samples).
    pub artifact: f64,
}

pub const DEFAULT_PRIORS: Priors = Priors {
    somatic: 1e-5,
    artifact: 1e-6,
};

/// Population allele frequency assumed for an allele the given germline resource does not
/// list (Mutect2's default).
pub const ABSENT_GERMLINE_AF: f64 = 1e-6;

/// The verdict on one candidate allele.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub tlod: f64,
    /// Present with a normal.
    pub nlod: Option<f64>,
    /// Posterior probabilities of somatic, germline and normal artifact (the rest is
    /// no variant).
    pub p_somatic: f64,
    pub p_germline: f64,
    pub p_artifact: f64,
    /// Phred-scaled probability that the allele is not somatic, capped at [`MAX_QUAL`].
    pub qual: f64,
    pub strand_p: f64,
    /// Share of the alt reads on their less common strand.
    pub strand_minor: f64,
}

/// The highest QUAL written (P(not somatic) = 1e-50).
pub const MAX_QUAL: f64 = 500.0;

/// Weighs the hypotheses for one allele: no variant, somatic (tumour at some fraction,
/// normal clean), germline (normal, or in tumour-only mode the tumour, at heterozygous or
/// homozygous fractions; prior from the population frequency) and, with a normal, a normal
/// artifact (both samples at the same low fraction).
pub fn classify(
    tumor: &Evidence,
    normal: Option<&Evidence>,
    germline: GermlinePrior,
    priors: &Priors,
) -> Verdict {
    let t0 = tumor.ln_lik(0.0);
    let ts = tumor.ln_lik_somatic();
    let (n0, ng, shared) = match normal {
        Some(n) => (
            n.ln_lik(0.0),
            n.ln_lik_germline(&germline, &NORMAL_HET_AFS),
            tumor.ln_lik_shared_artifact(n),
        ),
        None => (0.0, 0.0, f64::NEG_INFINITY),
    };
    // with a normal, a germline allele's tumour fraction may be anything (copy number,
    // LOH): the normal decides; without one, the tumour must look germline
    let tg = if normal.is_some() {
        ts
    } else {
        tumor.ln_lik_germline(&germline, &TUMOR_HET_AFS)
    };
    let pg = germline.carrier;
    let h_noise = (1.0 - priors.somatic - pg - priors.artifact)
        .max(1e-12)
        .ln()
        + t0
        + n0;
    let h_som = priors.somatic.ln() + ts + n0;
    let h_germ = pg.ln() + tg + ng;
    let h_art = priors.artifact.ln() + shared;
    let all = log_sum_exp(&[h_noise, h_som, h_germ, h_art]);
    let not_somatic = log_sum_exp(&[h_noise, h_germ, h_art]) - all;
    let qual = (-10.0 * not_somatic / std::f64::consts::LN_10).clamp(0.0, MAX_QUAL);
    Verdict {
        // Mutect2's TLOD: log10 of the somatic likelihood over that of no variant (f = 0)
        tlod: (ts - t0) / std::f64::consts::LN_10,
        nlod: normal.map(|n| n.nlod(tumor.af())),
        p_somatic: (h_som - all).exp(),
        p_germline: (h_germ - all).exp(),
        p_artifact: (h_art - all).exp(),
        qual,
        strand_p: tumor.strand_p(),
        strand_minor: if tumor.alt == 0 {
            0.0
        } else {
            tumor.alt_forward.min(tumor.alt - tumor.alt_forward) as f64 / tumor.alt as f64
        },
    }
}

/// ln Σ exp(v).
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// ln of the mean of exp(v).
fn log_mean_exp(v: &[f64]) -> f64 {
    log_sum_exp(v) - (v.len() as f64).ln()
}

/// ln C(n, k).
fn ln_choose(n: u32, k: u32) -> f64 {
    let lf = |x: u32| (1..=x).map(|i| (i as f64).ln()).sum::<f64>();
    lf(n) - lf(k) - lf(n - k)
}

/// Two-sided binomial test: the total probability of outcomes no more likely than `k`
/// successes of `n` at rate `p`.
pub fn binomial_two_sided(k: u32, n: u32, p: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let ln_pmf = |i: u32| ln_choose(n, i) + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln();
    let at = ln_pmf(k);
    let total: f64 = (0..=n)
        .map(ln_pmf)
        .filter(|&l| l <= at + 1e-9)
        .map(f64::exp)
        .sum();
    total.min(1.0)
}

/// Phred quality to error probability.
pub fn phred_error(q: u8) -> f64 {
    10f64.powf(-(q as f64) / 10.0)
}

/// Longest homopolymer class tracked for indel errors.
pub const MAX_HOMOPOLYMER: usize = 10;

/// The background error rates of a chunk, measured on its reads (tumour and normal) at
/// every position: per trinucleotide context and alternate base, how many mismatches were
/// seen against how many the base qualities predicted (a BQSR-like factor, shrunk toward
/// 1); per homopolymer length after an anchor, how often reads carry an indel there.
/// Each position contributes at most [`site_cap`] mismatches per alternate base (and
/// [`MAX_PER_SITE`] reads per indel), so real variants (germline or somatic) barely move
/// the estimate.
#[derive(Clone, Debug)]
pub struct ErrorProfile {
    /// [context * 4 + alt]: (mismatches seen, mismatches the qualities predict).
    snv: Vec<(f64, f64)>,
    /// [homopolymer length]: (indel events, read bases).
    indel: Vec<(f64, f64)>,
}

/// A position's contribution to the profile is capped at this many reads per allele, plus
/// (for SNVs) four times the mismatches its base qualities predict: at 500x with low
/// qualities errors alone put several reads on an allele, and a fixed cap would then
/// understate the error rate.
pub const MAX_PER_SITE: u32 = 2;

/// The most mismatches one position adds for one alternate base (see [`MAX_PER_SITE`]).
pub fn site_cap(expected: f64) -> u32 {
    MAX_PER_SITE + (4.0 * expected).ceil() as u32
}
/// Pseudo-counts pulling the profile toward the base qualities (SNVs) and toward
/// [`PRIOR_INDEL_RATE`] (indels) where a chunk has little data.
const SNV_PSEUDO: f64 = 5.0;
const INDEL_PSEUDO_EVENTS: f64 = 0.5;
const PRIOR_INDEL_RATE: f64 = 1e-4;
/// Range of the recalibration factor.
const FACTOR_RANGE: (f64, f64) = (0.25, 50.0);

/// One position's tallies for [`ErrorProfile::add_site`].
#[derive(Clone, Debug, Default)]
pub struct SiteTally {
    /// Trinucleotide context (prev, ref, next as base codes), when all are ACGT.
    pub context: Option<usize>,
    /// Reads per base (ACGT) at quality >= the floor.
    pub counts: [u32; 4],
    /// Σ error/3 over those reads: the mismatches per alternate base their qualities predict.
    pub expected: f64,
    /// Homopolymer length after the position (indel class) and reads spanning it.
    pub homopolymer: usize,
    pub spanning: u32,
    /// Reads with each distinct indel anchored here.
    pub indels: Vec<u32>,
}

impl Default for ErrorProfile {
    fn default() -> Self {
        ErrorProfile {
            snv: vec![(0.0, 0.0); 64 * 4],
            indel: vec![(0.0, 0.0); MAX_HOMOPOLYMER + 1],
        }
    }
}

impl ErrorProfile {
    /// Adds one position (reference base code `ref_code`).
    pub fn add_site(&mut self, ref_code: usize, t: &SiteTally) {
        if let Some(ctx) = t.context {
            for alt in (0..4).filter(|&a| a != ref_code) {
                let s = &mut self.snv[ctx * 4 + alt];
                s.0 += t.counts[alt].min(site_cap(t.expected)) as f64;
                s.1 += t.expected;
            }
        }
        let h = &mut self.indel[t.homopolymer.min(MAX_HOMOPOLYMER)];
        h.0 += t
            .indels
            .iter()
            .map(|&n| n.min(MAX_PER_SITE) as f64)
            .sum::<f64>();
        h.1 += t.spanning as f64;
    }

    /// Recalibration factor for mismatches to `alt` in `context`.
    pub fn snv_factor(&self, context: Option<usize>, alt: usize) -> f64 {
        let Some(ctx) = context else { return 1.0 };
        let (seen, expected) = self.snv[ctx * 4 + alt];
        ((seen + SNV_PSEUDO) / (expected + SNV_PSEUDO)).clamp(FACTOR_RANGE.0, FACTOR_RANGE.1)
    }

    /// Probability that a read shows this SNV by error: its base quality's error shared by
    /// the three other bases, times the context factor, plus its mapping error.
    pub fn snv_error(&self, context: Option<usize>, alt: usize, base_q: u8, mapq: u8) -> f64 {
        (phred_error(base_q) / 3.0 * self.snv_factor(context, alt) + phred_error(mapq) / 2.0)
            .clamp(MIN_ERROR, MAX_ERROR)
    }

    /// Probability that a read shows an indel by error after a homopolymer of length `h`,
    /// plus its mapping error.
    pub fn indel_error(&self, h: usize, mapq: u8) -> f64 {
        let (events, bases) = self.indel[h.min(MAX_HOMOPOLYMER)];
        let rate =
            (events + INDEL_PSEUDO_EVENTS) / (bases + INDEL_PSEUDO_EVENTS / PRIOR_INDEL_RATE);
        (rate + phred_error(mapq) / 2.0).clamp(MIN_ERROR, MAX_ERROR)
    }
}

/// The share of a context's indel errors that are one particular allele of `len` bases:
/// sequencing indel errors are one base long outside repeats; inside a repeat the indel can
/// slide across (`slide` bases, as [`crate::cigar::repeat_end`] measures it, at least two
/// copies of the indel), slippage makes longer ones as common. A tenth per extra base
/// otherwise, down to a thousandth.
pub fn indel_length_factor(len: u64, slide: u64) -> f64 {
    if len <= 1 || slide >= 2 * len {
        1.0
    } else {
        0.1f64.powi(len.min(4) as i32 - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Evidence {
        fn tlod(&self) -> f64 {
            (self.ln_lik_somatic() - self.ln_lik(0.0)) / std::f64::consts::LN_10
        }
    }

    fn reads(alt: u32, reference: u32, q: u8) -> Evidence {
        let e = phred_error(q) / 3.0;
        let mut v = Vec::new();
        for i in 0..alt {
            v.push(ReadObs {
                alt: true,
                error: e,
                forward: i % 2 == 0,
            });
        }
        for i in 0..reference {
            v.push(ReadObs {
                alt: false,
                error: e,
                forward: i % 2 == 0,
            });
        }
        Evidence::new(&v)
    }

    #[test]
    fn groups_reads_and_counts_strands() {
        let e = reads(3, 5, 30);
        assert_eq!((e.alt, e.reference, e.depth()), (3, 5, 8));
        assert_eq!((e.alt_forward, e.ref_forward), (2, 3));
        assert_eq!(e.groups.len(), 2);
        assert!((e.af() - 0.375).abs() < 1e-12);
    }

    #[test]
    fn likelihood_peaks_at_the_observed_fraction() {
        let e = reads(20, 80, 35);
        let at = |f: f64| e.ln_lik(f);
        assert!(at(0.2) > at(0.1) && at(0.2) > at(0.3) && at(0.2) > at(0.0));
        // binomial log-likelihood at the MLE, error terms aside
        let exact = 20.0 * 0.2f64.ln() + 80.0 * 0.8f64.ln();
        assert!((at(0.2) - exact).abs() < 0.05, "{} vs {exact}", at(0.2));
    }

    #[test]
    fn tlod_grows_with_alt_reads_and_quality_and_counts_deep_pileups() {
        let t = |alt, q| reads(alt, 150 - alt, q).tlod();
        assert!(t(0, 30) < 0.0);
        assert!(t(1, 30) < t(2, 30) && t(2, 30) < t(3, 30));
        assert!(t(3, 20) < t(3, 35));
        // 2% of 500 reads is far stronger evidence than 2% of 50: depth is not capped
        let deep = reads(10, 490, 30).tlod();
        let shallow = reads(1, 49, 30).tlod();
        assert!(deep > 10.0 && deep > 5.0 * shallow, "{deep} {shallow}");
    }

    #[test]
    fn clean_normal_allows_somatic_and_germline_normal_does_not() {
        let tumor = reads(15, 135, 35);
        let clean = reads(0, 40, 35);
        let het = reads(19, 21, 35);
        let prior = GermlinePrior::genome_average();
        let v = classify(&tumor, Some(&clean), prior, &DEFAULT_PRIORS);
        assert!(v.p_somatic > 0.99 && v.qual > 20.0, "{v:?}");
        assert!(v.nlod.unwrap() > 1.0);
        let g = classify(&tumor, Some(&het), prior, &DEFAULT_PRIORS);
        assert!(g.p_germline > 0.99 && g.qual < 1.0, "{g:?}");
        assert!(g.nlod.unwrap() < 0.0);
        // a few alt reads in the normal at a low fraction: an artifact, not somatic
        let art = classify(&tumor, Some(&reads(3, 37, 35)), prior, &DEFAULT_PRIORS);
        assert!(art.p_artifact > art.p_somatic, "{art:?}");
    }

    #[test]
    fn tumor_only_half_fraction_is_germline_low_fraction_somatic() {
        let prior = GermlinePrior::genome_average();
        let half = classify(&reads(75, 75, 35), None, prior, &DEFAULT_PRIORS);
        assert!(half.p_germline > 0.9, "{half:?}");
        let hom = classify(&reads(148, 2, 35), None, prior, &DEFAULT_PRIORS);
        assert!(hom.p_germline > 0.9, "{hom:?}");
        let low = classify(&reads(15, 135, 35), None, prior, &DEFAULT_PRIORS);
        assert!(low.p_somatic > 0.99, "{low:?}");
        // at 30% a common population allele is germline (a skewed heterozygote); an allele
        // the resource does not list is more likely somatic
        let common = GermlinePrior::from_af(0.4);
        let c = classify(&reads(45, 105, 35), None, common, &DEFAULT_PRIORS);
        let rare = GermlinePrior::from_af(ABSENT_GERMLINE_AF);
        let r = classify(&reads(45, 105, 35), None, rare, &DEFAULT_PRIORS);
        assert!(c.p_germline > 0.99 && r.p_somatic > 0.5, "{c:?} {r:?}");
    }

    #[test]
    fn two_reads_of_noise_are_not_called_four_good_ones_are() {
        let prior = GermlinePrior::genome_average();
        let clean = reads(0, 40, 35);
        let two = classify(&reads(2, 148, 35), Some(&clean), prior, &DEFAULT_PRIORS);
        let four = classify(&reads(4, 146, 35), Some(&clean), prior, &DEFAULT_PRIORS);
        assert!(two.qual < 3.0 && four.qual > 10.0, "{two:?} {four:?}");
        // the same four reads at low base quality are weak evidence
        let low_q = classify(&reads(4, 146, 12), Some(&clean), prior, &DEFAULT_PRIORS);
        assert!(low_q.qual < 3.0, "{low_q:?}");
    }

    #[test]
    fn strand_bias_test() {
        let mut v = Vec::new();
        for i in 0..100 {
            v.push(ReadObs {
                alt: false,
                error: 1e-3,
                forward: i % 2 == 0,
            });
        }
        let balanced = Evidence::new(&v);
        assert_eq!(balanced.strand_p(), 1.0);
        for _ in 0..12 {
            v.push(ReadObs {
                alt: true,
                error: 1e-3,
                forward: true,
            });
        }
        let one_sided = Evidence::new(&v);
        assert!(one_sided.strand_p() < 1e-3);
        assert!((binomial_two_sided(5, 10, 0.5) - 1.0).abs() < 1e-9);
        assert!((binomial_two_sided(0, 3, 0.5) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn long_indel_errors_are_rare_outside_repeats() {
        assert_eq!(indel_length_factor(1, 0), 1.0);
        assert!((indel_length_factor(2, 0) - 0.1).abs() < 1e-12);
        assert!((indel_length_factor(12, 3) - 1e-3).abs() < 1e-12);
        // a CA deleted from (CA)5: slides 8 bases
        assert_eq!(indel_length_factor(2, 8), 1.0);
    }

    #[test]
    fn germline_prior_from_population_frequency() {
        let p = GermlinePrior::from_af(0.5);
        assert!((p.carrier - 0.75).abs() < 1e-12);
        assert!((p.het_share - 2.0 / 3.0).abs() < 1e-12);
        let rare = GermlinePrior::from_af(1e-4);
        assert!((rare.het_share - 1.0).abs() < 1e-3);
    }

    #[test]
    fn error_profile_recalibrates_contexts_and_caps_each_site() {
        let mut p = ErrorProfile::default();
        // context 5: qualities predict 1 mismatch per 100 sites for each alt, 10 seen for G
        for i in 0..1000 {
            let mut counts = [0, 100, 0, 0];
            if i % 100 == 0 {
                counts[0] = 10; // a real variant: counted as site_cap(0.01) = 3
            }
            if i % 10 == 0 {
                counts[2] = 1;
            }
            p.add_site(
                1,
                &SiteTally {
                    context: Some(5),
                    counts,
                    expected: 0.01,
                    homopolymer: 1,
                    spanning: 100,
                    indels: if i == 0 { vec![7] } else { vec![] },
                },
            );
        }
        // G: 100 seen, 10 predicted: ~10x; A: 30 (capped) seen vs 10 predicted
        let g = p.snv_factor(Some(5), 2);
        let a = p.snv_factor(Some(5), 0);
        assert!((g - 105.0 / 15.0).abs() < 1e-9, "{g}");
        assert!((a - 35.0 / 15.0).abs() < 1e-9, "{a}");
        // deep, low-quality sites may add more: 500 reads predicting 2 mismatches each
        assert_eq!(site_cap(2.0), 10);
        assert_eq!(p.snv_factor(Some(6), 2), 1.0);
        assert!(p.snv_error(Some(5), 2, 30, 60) > 5.0 * p.snv_error(Some(6), 2, 30, 60));
        // indels: 2 capped events in 100,000 read bases, shrunk toward 1e-4
        let e = p.indel_error(1, 60);
        assert!(
            (e - (2.5 / 105_000.0 + phred_error(60) / 2.0)).abs() < 1e-12,
            "{e}"
        );
        assert!((p.indel_error(4, 60) - 1e-4).abs() < 1e-5);
    }
}
