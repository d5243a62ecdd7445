//! `callvar calibrate`: measures how well a model's genotype qualities match reality on
//! labelled samples the model was not trained on, and fits a softmax temperature that makes
//! them match.
//!
//! Every candidate is called as `callvar call` calls it (same thresholds, genotyping and
//! overlap resolution, diploid) and labelled against the truth as `callvar train` labels
//! it: inside `--confident`, outside `--exclude`, not touching a complex truth allele; the
//! true genotype of a site is the truth's copies of each of its alleles (a site whose truth
//! alleles would need more than two copies is skipped). With `--output`, the temperature `T`
//! minimising the mean negative log-likelihood of the true genotypes (each site genotyped on
//! its own; a golden-section search over T in [0.1, 10], refused when it runs to a bound, as
//! it does on data with too few wrong genotypes) is written into the model card
//! beside a copy of the weights. The reliability tables compare, per GQ band, the error
//! rate GQ claims (the mean of 10^(−GQ/10)) with the fraction of calls whose GT is wrong,
//! and, per QUAL band, the claimed probability of 0/0 with the fraction of sites truly 0/0,
//! before calibration (T = 1) and after (the fitted T, or else the card's).
use crate::call::{self, pileup_chunk};
use crate::candidates::Candidate;
use crate::cli::PileupArgs;
use crate::genotype::{self, genotype_alleles, GenotypeConfig, Ploidy};
use crate::model::{self, Calibration, CalibrationData, Model, Prediction, ScorerHandle};
use crate::ploidy::PloidyMap;
use crate::reads::{Alignments, ReadSource};
use crate::reference::{RefReader, Reference};
use crate::region::{self, IntervalSet, Region, RegionProcessor};
use crate::train::{LabelledSamples, SampleFiles, TruthLabels};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct CalibrateArgs {
    /// Samples the model was not trained on, fitted together.
    #[command(flatten)]
    samples: LabelledSamples,
    /// Regions to use, samtools style, comma-separated (default: each confident BED).
    #[arg(long, value_name = "REGIONS")]
    regions: Option<String>,
    /// Model: a name (default: the embedded illumina-wgs) or a directory with card.json + model.ot.
    #[arg(long, value_name = "NAME|PATH")]
    model: Option<String>,
    /// Fit a temperature and write the model with it into this directory (card.json + model.ot).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Worker threads.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    #[command(flatten)]
    pileup: PileupArgs,
}

/// One chunk's candidates, their predictions (one per alt, in order) and, for each, the true
/// genotype index (VCF order) when the site is labelled.
struct ChunkSites {
    cands: Vec<Candidate>,
    preds: Vec<Prediction>,
    truth: Vec<Option<usize>>,
    excluded: usize,
}

struct Labeller<'a> {
    reference: &'a Reference,
    alignments: &'a Alignments,
    model: &'a Model,
    truth: &'a TruthLabels,
    confident: &'a IntervalSet,
    exclude: &'a IntervalSet,
    pileup: crate::preset::PileupSettings,
}

/// The index (VCF order) of the diploid genotype with `copies[k]` copies of alt `k + 1`;
/// `None` when they add up to more than two.
fn genotype_index(copies: &[u8]) -> Option<usize> {
    let mut alleles: Vec<usize> = Vec::new();
    for (k, &c) in copies.iter().enumerate() {
        alleles.extend(std::iter::repeat_n(k + 1, c as usize));
    }
    if alleles.len() > 2 {
        return None;
    }
    while alleles.len() < 2 {
        alleles.insert(0, 0);
    }
    genotype_alleles(copies.len(), Ploidy::Diploid)
        .iter()
        .position(|g| *g == alleles)
}

impl RegionProcessor for Labeller<'_> {
    type State = (ReadSource, RefReader, ScorerHandle);
    type Output = ChunkSites;

    fn init(&self) -> Result<Self::State> {
        Ok((
            self.alignments.reader()?,
            self.reference.reader()?,
            ScorerHandle::Local {
                scorer: self.model.instance(model::Device::Cpu)?,
                batch_size: model::BATCH,
            },
        ))
    }

    fn process(&self, (src, refr, scorer): &mut Self::State, chunk: &Region) -> Result<ChunkSites> {
        let p = pileup_chunk(src, refr, chunk, &self.pileup.candidate_config(), false)?;
        let tensors: Vec<_> = p.sites.iter().flat_map(|(_, t)| t.iter()).collect();
        let preds = scorer.predict(&tensors)?;
        let mut out = ChunkSites {
            cands: Vec::new(),
            preds,
            truth: Vec::new(),
            excluded: 0,
        };
        let c = &chunk.contig;
        for (cand, _) in p.sites {
            let (s, e) = (cand.pos.0, cand.end());
            let truth = if self.exclude.overlaps(c, s, e) {
                out.excluded += 1;
                None
            } else if !self.confident.covers(c, s, e) || self.truth.touches_complex(c, s, e) {
                None
            } else {
                let copies: Vec<u8> = cand
                    .alts
                    .iter()
                    .map(|a| self.truth.copies(c, s, a))
                    .collect();
                genotype_index(&copies)
            };
            out.truth.push(truth);
            out.cands.push(cand);
        }
        Ok(out)
    }
}

/// Mean negative log-likelihood of the true genotypes at temperature `t`, each site on its
/// own: `(predictions, true genotype index)`.
fn log_loss(sites: &[(&[Prediction], usize)], t: f64) -> f64 {
    let cfg = GenotypeConfig {
        min_qual: 0.0,
        temperature: t,
    };
    let sum: f64 = sites
        .iter()
        .map(|(preds, truth)| {
            let g = genotype::genotype(preds, Ploidy::Diploid, &cfg);
            -g.posteriors[*truth].max(1e-300).ln()
        })
        .sum();
    sum / sites.len().max(1) as f64
}

/// Sites whose most likely genotype (T = 1, each site on its own) is not the true one.
fn before_errors(sites: &[(&[Prediction], usize)]) -> usize {
    let cfg = GenotypeConfig {
        min_qual: 0.0,
        temperature: 1.0,
    };
    sites
        .iter()
        .filter(|(preds, truth)| {
            let g = genotype::genotype(preds, Ploidy::Diploid, &cfg);
            genotype::argmax(&g.posteriors) != *truth
        })
        .count()
}

/// The range the temperature is searched in.
const T_MIN: f64 = 0.1;
const T_MAX: f64 = 10.0;

/// The temperature in [`T_MIN`, `T_MAX`] minimising [`log_loss`] (golden-section search on
/// ln T; the loss is convex in 1/T).
fn fit_temperature(sites: &[(&[Prediction], usize)]) -> f64 {
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (T_MIN.ln(), T_MAX.ln());
    let f = |x: f64| log_loss(sites, x.exp());
    let (mut c, mut d) = (b - phi * (b - a), a + phi * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-4 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// One labelled call: its GQ and QUAL, whether its GT is right, and whether the truth is 0/0.
struct Scored {
    gq: u32,
    qual: f64,
    correct: bool,
    truth_ref: bool,
}

/// Every labelled call at temperature `t`, genotyped as `callvar call` does.
fn score(chunks: &[ChunkSites], t: f64) -> Vec<Scored> {
    let cfg = GenotypeConfig {
        min_qual: 0.0,
        temperature: t,
    };
    let ploidy = PloidyMap::diploid();
    let mut out = Vec::new();
    for ch in chunks {
        let cands: Vec<&Candidate> = ch.cands.iter().collect();
        let gts = call::genotypes(&cands, &ch.preds, &ploidy, &cfg);
        for ((g, truth), cand) in gts.iter().zip(&ch.truth).zip(&ch.cands) {
            let Some(truth) = *truth else { continue };
            let alleles = &genotype_alleles(cand.alts.len(), Ploidy::Diploid)[truth];
            out.push(Scored {
                gq: g.gq,
                qual: g.qual,
                correct: g.alleles == *alleles,
                truth_ref: truth == 0,
            });
        }
    }
    out
}

/// Calls a band needs before its rate is judged.
const MIN_BAND_CALLS: usize = 50;

/// The GQ reliability table: per band, calls, claimed and observed error rate, their ratio
/// and whether the observed rate is within 3x of the claim (or, with no error, whether the
/// claim expected fewer than 3).
fn gq_table(scored: &[Scored]) -> String {
    let bands: [(u32, u32); 10] = [
        (0, 4),
        (5, 9),
        (10, 14),
        (15, 19),
        (20, 29),
        (30, 39),
        (40, 49),
        (50, 59),
        (60, 98),
        (99, 99),
    ];
    let mut s = format!(
        "{:<8} {:>7} {:>7} {:>12} {:>12} {:>8}  {}\n",
        "GQ", "calls", "errors", "claimed_err", "observed_err", "ratio", "within_3x"
    );
    for (lo, hi) in bands {
        let inb: Vec<&Scored> = scored.iter().filter(|x| x.gq >= lo && x.gq <= hi).collect();
        if inb.is_empty() {
            continue;
        }
        let n = inb.len();
        let errors = inb.iter().filter(|x| !x.correct).count();
        let claimed: f64 = inb
            .iter()
            .map(|x| 10f64.powf(-(x.gq as f64) / 10.0))
            .sum::<f64>()
            / n as f64;
        let observed = errors as f64 / n as f64;
        let verdict = if n < MIN_BAND_CALLS {
            "- (under 50 calls)".to_string()
        } else if errors == 0 {
            let expected = claimed * n as f64;
            if expected < 3.0 {
                format!("yes (0 errors, {expected:.2} expected)")
            } else {
                format!("NO (0 errors, {expected:.2} expected)")
            }
        } else if observed <= 3.0 * claimed && observed >= claimed / 3.0 {
            "yes".to_string()
        } else {
            "NO".to_string()
        };
        let band = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}-{hi}")
        };
        s += &format!(
            "{band:<8} {n:>7} {errors:>7} {claimed:>12.2e} {observed:>12.2e} {:>8.2}  {verdict}\n",
            observed / claimed
        );
    }
    s
}

/// The QUAL reliability table: per band, sites, the mean claimed P(0/0) = 10^(−QUAL/10) and
/// the fraction of sites truly 0/0.
fn qual_table(scored: &[Scored]) -> String {
    let edges = [
        0.0,
        1.0,
        2.0,
        3.0,
        5.0,
        7.0,
        10.0,
        15.0,
        20.0,
        30.0,
        50.0,
        f64::INFINITY,
    ];
    let mut s = format!(
        "{:<10} {:>7} {:>10} {:>10}\n",
        "QUAL", "sites", "claimed", "observed"
    );
    for w in edges.windows(2) {
        let inb: Vec<&Scored> = scored
            .iter()
            .filter(|x| x.qual >= w[0] && x.qual < w[1])
            .collect();
        if inb.is_empty() {
            continue;
        }
        let n = inb.len() as f64;
        let claimed: f64 = inb.iter().map(|x| 10f64.powf(-x.qual / 10.0)).sum::<f64>() / n;
        let observed = inb.iter().filter(|x| x.truth_ref).count() as f64 / n;
        let band = if w[1].is_finite() {
            format!("{}-{}", w[0], w[1])
        } else {
            format!("{}+", w[0])
        };
        s += &format!(
            "{band:<10} {:>7} {claimed:>10.4} {observed:>10.4}\n",
            inb.len()
        );
    }
    s
}

/// Labels and scores one sample's candidates, chunk by chunk; returns them with the
/// regions used (prefixed `sampleN:`).
fn label_sample(
    a: &CalibrateArgs,
    i: usize,
    files: &SampleFiles,
    model: &Model,
    exclude: &IntervalSet,
    pool: &rayon::ThreadPool,
) -> Result<(Vec<ChunkSites>, Vec<String>)> {
    let reference = Reference::open(files.reference)?;
    let pileup = a.pileup.resolve(Some(&model.card));
    let alignments = Alignments::open(files.reads, &reference, pileup.read_filter())?;
    let truth = TruthLabels::load(files.truth, &reference)?;
    let conf_regions = region::read_bed_checked(files.confident, &reference.contigs)?;
    let confident = IntervalSet::new(&conf_regions);
    let regions = match &a.regions {
        Some(r) => region::merge(
            region::parse_regions(r, &reference.contigs)?,
            &reference.contigs,
        ),
        None => region::merge(conf_regions.clone(), &reference.contigs),
    };
    let chunks: Vec<Region> = region::chunks(&regions, a.pileup.chunk_size)
        .into_iter()
        .filter(|c| !exclude.covers(&c.contig, c.start.0, c.end.0))
        .collect();
    let labeller = Labeller {
        reference: &reference,
        alignments: &alignments,
        model,
        truth: &truth,
        confident: &confident,
        exclude,
        pileup,
    };
    let mut out: Vec<ChunkSites> = Vec::new();
    pool.install(|| {
        region::run_ordered(
            &labeller,
            &chunks,
            a.threads as usize * 2,
            |_, sites| {
                out.push(sites);
                Ok(())
            },
            |_| {},
        )
    })?;
    let labelled = out.iter().flat_map(|c| &c.truth).flatten().count();
    let variants = out
        .iter()
        .flat_map(|c| &c.truth)
        .flatten()
        .filter(|&&t| t != 0)
        .count();
    if variants == 0 {
        bail!(
            "{}: no truth variant matched a candidate inside --confident {} and outside --exclude ({labelled} labelled sites)",
            files.truth.display(),
            files.confident.display()
        );
    }
    let shown = regions
        .iter()
        .map(|r| format!("sample{}:{r}", i + 1))
        .collect();
    Ok((out, shown))
}

pub fn run(a: CalibrateArgs) -> Result<i32> {
    let model = Model::find(a.model.as_deref())?;
    let excluded_regions = a.samples.excluded()?;
    let exclude = IntervalSet::new(&excluded_regions);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads as usize)
        .build()
        .context("thread pool")?;
    model::set_torch_threads(1);
    let mut chunk_sites: Vec<ChunkSites> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    for (i, files) in a.samples.samples()?.iter().enumerate() {
        let (c, r) = label_sample(&a, i, files, &model, &exclude, &pool)?;
        chunk_sites.extend(c);
        regions.extend(r);
    }
    let mut sites: Vec<(&[Prediction], usize)> = Vec::new();
    for ch in &chunk_sites {
        let mut next = 0;
        for (cand, truth) in ch.cands.iter().zip(&ch.truth) {
            let these = &ch.preds[next..next + cand.alts.len()];
            next += cand.alts.len();
            if let Some(t) = truth {
                sites.push((these, *t));
            }
        }
    }
    let excluded: usize = chunk_sites.iter().map(|c| c.excluded).sum();
    let variant_sites = sites.iter().filter(|s| s.1 != 0).count();
    let mut report = format!(
        "{} labelled sites ({variant_sites} with a true variant) in {} samples; {excluded} candidates inside --exclude left out\n",
        sites.len(),
        a.samples.reads.len()
    );
    let loss1 = log_loss(&sites, 1.0);
    let (t, label) = match &a.output {
        Some(dir) => {
            let fitted = fit_temperature(&sites);
            if !(T_MIN * 1.01..=T_MAX / 1.01).contains(&fitted) {
                let wrong = before_errors(&sites);
                bail!(
                    "{}: the fitted temperature ran to the bound of [{T_MIN}, {T_MAX}]: {wrong} of {} labelled sites have a wrong genotype, too few to calibrate on (use more, or harder, data)",
                    a.samples.reads.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", "),
                    sites.len()
                );
            }
            let mut card = model.card.clone();
            card.calibration = Some(Calibration {
                method: "temperature".into(),
                temperature: (fitted * 1e4).round() / 1e4,
                fitted_on: CalibrationData {
                    inputs: a.samples.input_files()?,
                    regions,
                    excluded_regions: excluded_regions.iter().map(|r| r.to_string()).collect(),
                    sites: sites.len(),
                    log_loss_uncalibrated: (loss1 * 1e6).round() / 1e6,
                    log_loss_calibrated: (log_loss(&sites, fitted) * 1e6).round() / 1e6,
                },
            });
            let t = card.temperature();
            let path = model::save(dir, &model.weights, card)?;
            report += &format!(
                "fitted temperature {t} (mean log loss of the true genotype {loss1:.5} at T=1, {:.5} at T={t}); model written: {}\n",
                log_loss(&sites, t),
                path.display()
            );
            (Some(t), "fitted")
        }
        None => (
            model.card.calibration.as_ref().map(|c| c.temperature),
            "the card's",
        ),
    };
    let before = score(&chunk_sites, 1.0);
    report += &format!("\nuncalibrated (T=1): GQ\n{}", gq_table(&before));
    report += &format!("\nuncalibrated (T=1): QUAL\n{}", qual_table(&before));
    if let Some(t) = t {
        let after = score(&chunk_sites, t);
        report += &format!("\ncalibrated ({label} T={t}): GQ\n{}", gq_table(&after));
        report += &format!("\ncalibrated ({label} T={t}): QUAL\n{}", qual_table(&after));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(report.as_bytes())
        .and_then(|_| out.flush())
        .context("stdout: write error")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_genotype_from_copies() {
        assert_eq!(genotype_index(&[0]), Some(0));
        assert_eq!(genotype_index(&[1]), Some(1));
        assert_eq!(genotype_index(&[2]), Some(2));
        assert_eq!(genotype_index(&[1, 1]), Some(4)); // 1/2
        assert_eq!(genotype_index(&[0, 2]), Some(5)); // 2/2
        assert_eq!(genotype_index(&[2, 1]), None);
    }

    #[test]
    fn temperature_fit_recovers_overconfidence() {
        // predictions say 99% het, but 1 in 5 is hom-ref: the fit softens them (T > 1)
        let p = [Prediction {
            probs: [0.005, 0.99, 0.005],
        }];
        let mut sites: Vec<(&[Prediction], usize)> = vec![(&p[..], 1); 80];
        sites.extend(vec![(&p[..], 0); 20]);
        let t = fit_temperature(&sites);
        // optimum: P(0/0) = P(1/1) = 0.1, P(0/1) = 0.8 (the best a model symmetric in 0/0
        // and 1/1 can do): (0.005 / 0.99)^(1/T) = 1/8
        let expect = (0.005f64 / 0.99).ln() / 0.125f64.ln();
        assert!((t - expect).abs() < 1e-2, "{t} vs {expect}");
        assert!(log_loss(&sites, t) < log_loss(&sites, 1.0));
    }
}
