//! `callvar train`: labels every candidate in the confident regions of one or more samples
//! against their truth VCFs (alleles compared after normalisation; copies of each allele from
//! the truth genotype; candidates absent from the truth are 0 copies), holds out validation
//! chunks, fits the network and writes `model.ot` + `card.json` with full provenance.
//! Candidates inside `--exclude` regions are refused (never labelled or used). Examples are
//! drawn with the `--preset`'s thresholds and any given explicitly; the card records the
//! preset's own (what `call` then uses with the model), not the training overrides.
//!
//! Training that would silently learn nothing is refused before a model is written: a truth
//! record without a genotype, a sample with nothing left to train on, a truth that matched no
//! candidate (e.g. `20` vs `chr20` contig names), labels all of one class, an empty training
//! or validation split, and a diverging (non-finite) loss are each one error line.
//! The card records input file names and SHA-256s, never folders, so the same inputs give the
//! same card wherever they lie.
use crate::call::pileup_chunk;
use crate::candidates::CandidateConfig;
use crate::cigar::{self, AltAllele};
use crate::cli::{shell_join, PileupArgs};
use crate::model::{self, Example, FitConfig, InputFile, ModelCard};
use crate::preset::Preset;
use crate::reads::{Alignments, ReadSource};
use crate::reference::{file_digest, ContigCache, RefReader, Reference};
use crate::region::{self, IntervalSet, Region, RegionProcessor};
use crate::tensor::{CHANNELS, HEIGHT, LAYOUT_VERSION, WIDTH};
use crate::vcf::read_vcf;
use anyhow::{bail, Context, Result};
use clap::Args;
use sha2::Sha256;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The labelled samples that `train` and `calibrate` read: each sample's reads with its
/// reference, truth VCF and confident regions, and regions reserved for evaluation.
#[derive(Args)]
pub struct LabelledSamples {
    /// Reference FASTA; give once, or once per --reads.
    #[arg(long = "ref", required = true, value_name = "REF.fa[.gz]")]
    reference: Vec<PathBuf>,
    /// Reads of a labelled sample (indexed BAM/CRAM); repeat for several samples.
    #[arg(long, required = true, value_name = "BAM")]
    pub reads: Vec<PathBuf>,
    /// Truth VCF; give once, or once per --reads.
    #[arg(long, required = true, value_name = "TRUTH.vcf.gz")]
    truth: Vec<PathBuf>,
    /// Confident-region BED (labels are trusted only inside it); once, or once per --reads.
    #[arg(long, required = true, value_name = "CONF.bed")]
    confident: Vec<PathBuf>,
    /// Regions never to use (reserved for evaluation); repeatable.
    #[arg(long, value_name = "RESERVED.bed")]
    exclude: Vec<PathBuf>,
}

/// One labelled sample's files.
pub struct SampleFiles<'a> {
    pub reference: &'a Path,
    pub reads: &'a Path,
    pub truth: &'a Path,
    pub confident: &'a Path,
}

impl LabelledSamples {
    /// Each sample's files, `--ref`, `--truth` and `--confident` given once or once per `--reads`.
    pub fn samples(&self) -> Result<Vec<SampleFiles<'_>>> {
        let n = self.reads.len();
        let refs = per_sample(&self.reference, n, "ref")?;
        let truths = per_sample(&self.truth, n, "truth")?;
        let confs = per_sample(&self.confident, n, "confident")?;
        Ok((0..n)
            .map(|i| SampleFiles {
                reference: refs[i],
                reads: &self.reads[i],
                truth: truths[i],
                confident: confs[i],
            })
            .collect())
    }

    /// The `--exclude` regions.
    pub fn excluded(&self) -> Result<Vec<Region>> {
        let mut regions = Vec::new();
        for e in &self.exclude {
            regions.extend(region::read_bed(e)?);
        }
        Ok(regions)
    }

    /// The card's records of these inputs: file name and SHA-256, samples numbered from 1.
    pub fn input_files(&self) -> Result<Vec<InputFile>> {
        let mut inputs = Vec::new();
        for (i, s) in self.samples()?.iter().enumerate() {
            for (role, p) in [
                ("reference", s.reference),
                ("reads", s.reads),
                ("truth", s.truth),
                ("confident", s.confident),
            ] {
                inputs.push(InputFile {
                    role: role.into(),
                    sample: Some(i + 1),
                    file: file_name(p),
                    sha256: sha256_file(p)?,
                });
            }
        }
        for e in &self.exclude {
            inputs.push(InputFile {
                role: "exclude".into(),
                sample: None,
                file: file_name(e),
                sha256: sha256_file(e)?,
            });
        }
        Ok(inputs)
    }

    /// The truth files, for messages.
    pub fn truth_names(&self) -> String {
        let files: Vec<String> = self.truth.iter().map(|t| t.display().to_string()).collect();
        files.join(", ")
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    samples: LabelledSamples,
    /// Output model directory (written: model.ot, card.json).
    #[arg(long, value_name = "models/NAME")]
    output: PathBuf,
    /// Hold out every Nth chunk (on the absolute chunk grid) for validation (N >= 2).
    #[arg(long, default_value_t = 10, value_parser = at_least::<2>)]
    validation_every: usize,
    /// Passes over the training examples (the epoch with the lowest validation loss is kept).
    #[arg(long, default_value_t = 10, value_parser = at_least::<1>)]
    epochs: usize,
    /// Examples per optimiser step.
    #[arg(long, default_value_t = 128, value_parser = at_least::<1>)]
    batch_size: usize,
    /// Adam learning rate, above 0 and at most 1 (divided by 5 for the last third of the epochs).
    #[arg(long, default_value_t = 1e-3, value_parser = above_0_at_most_1)]
    learning_rate: f64,
    /// Random seed (weights initialisation and example order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep this fraction (0 < F <= 1) of candidates labelled 0 copies (hom-ref), by a stable hash.
    #[arg(long, default_value_t = 1.0, value_parser = above_0_at_most_1)]
    homref_fraction: f64,
    /// Version string for the model card.
    #[arg(long, default_value = "1")]
    model_version: String,
    /// Worker threads for building examples, and libtorch threads for training.
    #[arg(short, long, default_value_t = 1, value_parser = at_least::<1>)]
    threads: usize,
    #[command(flatten)]
    pileup: PileupArgs,
}

/// Parser for a count of at least `MIN`.
fn at_least<const MIN: usize>(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(v) if v >= MIN => Ok(v),
        Ok(_) => Err(format!("must be at least {MIN}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Parser for `--learning-rate` and `--homref-fraction`: above 0, at most 1 (NaN refused).
fn above_0_at_most_1(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        Ok(_) => Err("must be above 0 and at most 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Copies of each normalised truth allele, and spans of truth alleles that cannot be matched
/// allele by allele (complex replacements).
#[derive(Default)]
pub struct TruthLabels {
    copies: HashMap<(String, u64, AltAllele), u8>,
    complex: IntervalSet,
    /// Contigs of the PASS records, in file order: they explain a truth that matched nothing.
    contigs: Vec<String>,
}

impl TruthLabels {
    /// Loads PASS truth records, normalising each allele against `reference`. A PASS record
    /// without a GT is an error: its alleles could only be labelled "0 copies".
    pub fn load(path: &Path, reference: &Reference) -> Result<Self> {
        let (_, records) = read_vcf(path)?;
        let mut seqs = ContigCache::new(reference)?;
        let mut labels = TruthLabels::default();
        let mut complex = Vec::new();
        for r in records.iter().filter(|r| r.passes()) {
            let Some(gt) = &r.gt else {
                bail!(
                    "{}: line {}: truth record without a GT: a truth VCF needs a FORMAT GT and a sample column",
                    path.display(),
                    r.line
                );
            };
            if labels.contigs.last() != Some(&r.contig) && !labels.contigs.contains(&r.contig) {
                labels.contigs.push(r.contig.clone());
            }
            if reference.contig_len(&r.contig).is_none() {
                continue; // truth outside this reference's contigs labels nothing
            }
            let refw = seqs.get(&r.contig)?;
            for (i, alt) in r.alts.iter().enumerate() {
                let copies = gt.iter().filter(|a| **a == Some(i + 1)).count() as u8;
                if copies == 0 || alt.starts_with('<') || alt == "*" {
                    continue;
                }
                match cigar::normalize(r.pos, r.reference.as_bytes(), alt.as_bytes(), refw) {
                    Ok(alleles) => {
                        for (p, a) in alleles {
                            let e = labels.copies.entry((r.contig.clone(), p, a)).or_default();
                            *e = (*e + copies).min(2);
                        }
                    }
                    Err((s, e)) => complex.push(Region::new(&r.contig, s, e)),
                }
            }
        }
        labels.complex = IntervalSet::new(&complex);
        Ok(labels)
    }

    /// Copies of `alt` anchored at `pos` in the truth (0 when absent).
    pub fn copies(&self, contig: &str, pos: u64, alt: &AltAllele) -> u8 {
        self.copies
            .get(&(contig.to_string(), pos, alt.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// Whether a candidate spanning `[start, end)` touches a complex truth allele (one that
    /// cannot be labelled allele by allele).
    pub fn touches_complex(&self, contig: &str, start: u64, end: u64) -> bool {
        self.complex
            .overlaps(contig, start.saturating_sub(1), end + 1)
    }

    /// Why no candidate matched this truth, as far as the contig names tell.
    fn no_match_reason(&self, reference: &Reference) -> String {
        let some = |names: Vec<&str>| {
            let more = if names.len() > 3 { ", ..." } else { "" };
            format!("{}{more}", names[..names.len().min(3)].join(", "))
        };
        if self.contigs.is_empty() {
            "the truth has no PASS record".into()
        } else if self
            .contigs
            .iter()
            .all(|c| reference.contig_len(c).is_none())
        {
            format!(
                "contig names in truth ({}) vs reads and reference ({})?",
                some(self.contigs.iter().map(String::as_str).collect()),
                some(reference.contigs.iter().map(|(n, _)| n.as_str()).collect())
            )
        } else {
            "are the truth, reads and --confident of the same sample and build?".into()
        }
    }
}

struct Sample {
    reference: Reference,
    alignments: Alignments,
    truth: TruthLabels,
    confident: IntervalSet,
    regions: Vec<Region>,
}

struct Labeller<'a> {
    sample: &'a Sample,
    exclude: &'a IntervalSet,
    candidates: &'a CandidateConfig,
    chunk_size: u64,
    validation_every: usize,
    homref_fraction: f64,
}

#[derive(Default)]
struct ChunkExamples {
    train: Vec<Example>,
    valid: Vec<Example>,
    excluded: usize,
}

impl RegionProcessor for Labeller<'_> {
    type State = (ReadSource, RefReader);
    type Output = ChunkExamples;

    fn init(&self) -> Result<Self::State> {
        Ok((
            self.sample.alignments.reader()?,
            self.sample.reference.reader()?,
        ))
    }

    fn process(&self, (src, refr): &mut Self::State, chunk: &Region) -> Result<ChunkExamples> {
        let mut out = ChunkExamples::default();
        let p = pileup_chunk(src, refr, chunk, self.candidates, false)?;
        let every = self.validation_every as u64;
        let is_valid = (chunk.start.0 / self.chunk_size) % every == every - 1;
        let c = &chunk.contig;
        for (cand, tensors) in p.sites {
            let (s, e) = (cand.pos.0, cand.end());
            if self.exclude.overlaps(c, s, e) {
                out.excluded += tensors.len();
                continue;
            }
            if !self.sample.confident.covers(c, s, e) || self.sample.truth.touches_complex(c, s, e)
            {
                continue;
            }
            for (alt, tensor) in cand.alts.iter().zip(tensors) {
                let label = self.sample.truth.copies(c, s, alt);
                if label == 0 && self.homref_fraction < 1.0 {
                    let h =
                        crate::reads::stable_hash(&s.to_le_bytes(), 17) as f64 / u64::MAX as f64;
                    if h >= self.homref_fraction {
                        continue;
                    }
                }
                let ex = Example { tensor, label };
                if is_valid {
                    out.valid.push(ex);
                } else {
                    out.train.push(ex);
                }
            }
        }
        Ok(out)
    }
}

fn per_sample<'a>(v: &'a [PathBuf], n: usize, what: &str) -> Result<Vec<&'a PathBuf>> {
    match v.len() {
        1 => Ok(vec![&v[0]; n]),
        k if k == n => Ok(v.iter().collect()),
        k => bail!("--{what} given {k} times: give it once or once per --reads ({n})"),
    }
}

fn sha256_file(p: &Path) -> Result<String> {
    file_digest::<Sha256>(p)
}

/// A path's file name: the card records no folder of this machine.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| p.display().to_string())
}

/// The command line `args` with the program and every path reduced to its file name, so that
/// the card is the same wherever the binary and the files lie.
fn portable_command_line(args: impl Iterator<Item = String>) -> String {
    const PATH_FLAGS: [&str; 6] = [
        "--ref",
        "--reads",
        "--truth",
        "--confident",
        "--exclude",
        "--output",
    ];
    let mut path_next = true; // the program itself
    let args = args.map(|arg| {
        let out = match arg.split_once('=') {
            _ if path_next => file_name(Path::new(&arg)),
            Some((flag, value)) if PATH_FLAGS.contains(&flag) => {
                format!("{flag}={}", file_name(Path::new(value)))
            }
            _ => arg.clone(),
        };
        path_next = PATH_FLAGS.contains(&arg.as_str());
        out
    });
    shell_join(args)
}

pub fn run(a: TrainArgs) -> Result<i32> {
    let samples = a.samples.samples()?;
    let excluded_regions = a.samples.excluded()?;
    let exclude = IntervalSet::new(&excluded_regions);
    let settings = a.pileup.resolve(None);
    let candidates = settings.candidate_config();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()?;
    model::set_torch_threads(1);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    let (mut train_regions, mut validation_regions) = (Vec::new(), Vec::new());
    for (i, files) in samples.iter().enumerate() {
        // samples are numbered from 1 in the card's inputs and regions
        let (s, reads) = (i + 1, files.reads);
        let reference = Reference::open(files.reference)?;
        let alignments = Alignments::open(reads, &reference, settings.read_filter())?;
        let truth = TruthLabels::load(files.truth, &reference)?;
        let conf_regions = region::read_bed_checked(files.confident, &reference.contigs)?;
        let regions = region::merge(conf_regions.clone(), &reference.contigs);
        let sample = Sample {
            reference,
            alignments,
            truth,
            confident: IntervalSet::new(&conf_regions),
            regions,
        };
        let (chunks, skipped): (Vec<Region>, Vec<Region>) =
            region::chunks(&sample.regions, a.pileup.chunk_size)
                .into_iter()
                .partition(|c| !exclude.covers(&c.contig, c.start.0, c.end.0));
        let labeller = Labeller {
            sample: &sample,
            exclude: &exclude,
            candidates: &candidates,
            chunk_size: a.pileup.chunk_size,
            validation_every: a.validation_every,
            homref_fraction: a.homref_fraction,
        };
        let (mut t, mut v, mut x, mut matched) = (0, 0, 0, 0);
        pool.install(|| {
            region::run_ordered(
                &labeller,
                &chunks,
                a.threads * 2,
                |chunk, out| {
                    let is_valid = !out.valid.is_empty();
                    t += out.train.len();
                    v += out.valid.len();
                    x += out.excluded;
                    matched += out
                        .train
                        .iter()
                        .chain(&out.valid)
                        .filter(|e| e.label > 0)
                        .count();
                    train.extend(out.train);
                    valid.extend(out.valid);
                    if is_valid {
                        validation_regions.push(format!("sample{s}:{chunk}"));
                    }
                    Ok(())
                },
                |_| {},
            )
        })?;
        eprintln!(
            "sample {s} ({}): {t} training and {v} validation examples; {x} candidates refused inside --exclude, {} chunks wholly inside it skipped",
            reads.display(),
            skipped.len()
        );
        if t + v == 0 {
            let why = if chunks.is_empty() && !skipped.is_empty() {
                "every --confident region lies inside --exclude".to_string()
            } else {
                format!(
                    "no candidate inside --confident {} and outside --exclude ({x} refused inside --exclude)",
                    files.confident.display()
                )
            };
            bail!("{}: nothing to train on: {why}", reads.display());
        }
        if matched == 0 {
            bail!(
                "{}: no truth variant matched any candidate: {}",
                files.truth.display(),
                sample.truth.no_match_reason(&sample.reference)
            );
        }
        train_regions.extend(sample.regions.iter().map(|r| format!("sample{s}:{r}")));
    }
    let inputs = a.samples.input_files()?;
    let count = |v: &[Example], k: u8| v.iter().filter(|e| e.label == k).count();
    let counts = [0, 1, 2].map(|k| count(&train, k));
    eprintln!(
        "training on {} examples (0/1/2 copies: {}/{}/{}), validating on {}",
        train.len(),
        counts[0],
        counts[1],
        counts[2],
        valid.len()
    );
    let held_out = format!(
        "1 in {} chunks of {} bp is held out",
        a.validation_every, a.pileup.chunk_size
    );
    if train.is_empty() {
        bail!("no training examples: all candidates lie in held-out chunks ({held_out}); raise --validation-every");
    }
    if valid.is_empty() {
        bail!("no validation examples: no candidate lies in a held-out chunk ({held_out}); lower --validation-every or --chunk-size");
    }
    if let Some(k) = counts.iter().position(|&c| c == train.len()) {
        bail!(
            "{}: all {} training examples are labelled {k} copies: a model needs at least two classes",
            a.samples.truth_names(),
            train.len()
        );
    }
    let device = crate::model::DeviceChoice::Auto.resolve()?;
    model::set_torch_threads(a.threads);
    let cfg = FitConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.learning_rate,
        seed: a.seed,
        device,
    };
    let (weights, metrics) = model::fit(&train, &valid, &cfg, |l| eprintln!("{l}"))?;
    let name = a
        .output
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let card = ModelCard {
        name,
        version: a.model_version.clone(),
        architecture: model::ARCHITECTURE.to_string(),
        tensor_layout_version: LAYOUT_VERSION,
        tensor_shape: [CHANNELS.len(), HEIGHT, WIDTH],
        channels: CHANNELS
            .iter()
            .map(|c| format!("{}: {}", c.name, c.encoding))
            .collect(),
        created_by: format!(
            "callvar {}: {}",
            env!("CARGO_PKG_VERSION"),
            portable_command_line(std::env::args())
        ),
        inputs,
        train_regions,
        validation_regions,
        excluded_regions: excluded_regions.iter().map(|r| r.to_string()).collect(),
        seed: a.seed,
        epochs: a.epochs,
        learning_rate: a.learning_rate,
        train_examples: train.len(),
        validation: metrics,
        weights_sha256: String::new(),
        calibration: None,
        pileup: Some(a.pileup.preset.unwrap_or(Preset::Illumina).settings()),
    };
    let path = model::save(&a.output, &weights, card).context("saving model")?;
    eprintln!("model written: {}", path.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_flags_have_ranges() {
        assert_eq!(at_least::<1>("3"), Ok(3));
        assert_eq!(at_least::<1>("0"), Err("must be at least 1".into()));
        assert_eq!(at_least::<2>("1"), Err("must be at least 2".into()));
        assert!(at_least::<1>("-1").is_err());
        assert_eq!(above_0_at_most_1("1"), Ok(1.0));
        assert_eq!(above_0_at_most_1("1e-4"), Ok(1e-4));
        for bad in ["0", "-0.1", "1.5", "NaN", "inf", "x"] {
            assert!(above_0_at_most_1(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn card_command_line_names_files_not_folders() {
        let args = [
            "/opt/bin/callvar",
            "train",
            "--ref",
            "/data/ref.fa.gz",
            "--reads=/tmp/x1/s.bam",
            "--epochs",
            "2",
            "--output",
            "/home/me/models/m",
            "--model-version",
            "a b",
        ];
        assert_eq!(
            portable_command_line(args.iter().map(|a| a.to_string())),
            "callvar train --ref ref.fa.gz --reads=s.bam --epochs 2 --output m --model-version 'a b'"
        );
    }
}
