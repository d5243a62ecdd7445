//! `callvar train`: labels every candidate in the confident regions of one or more samples
//! against their truth VCFs (alleles compared after normalisation; copies of each allele from
//! the truth genotype; candidates absent from the truth are 0 copies), holds out validation
//! chunks, fits the network and writes `model.ot` + `card.json` with full provenance.
//! Candidates inside `--exclude` regions are refused (never labelled or used).
use crate::call::pileup_chunk;
use crate::cli::{command_line, PileupArgs};
use crate::model::{self, Example, FitConfig, InputFile, ModelCard};
use crate::reads::{Alignments, ReadSource};
use crate::realign::{self, AltAllele};
use crate::reference::{file_digest, ContigCache, RefReader, Reference};
use crate::region::{self, IntervalSet, Region, RegionProcessor};
use crate::tensor::{CHANNELS, HEIGHT, LAYOUT_VERSION, WIDTH};
use crate::vcf::read_vcf;
use anyhow::{bail, Context, Result};
use clap::Args;
use sha2::Sha256;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct TrainArgs {
    /// Reference FASTA; give once, or once per --reads.
    #[arg(long = "ref", required = true, value_name = "REF.fa[.gz]")]
    reference: Vec<PathBuf>,
    /// Training reads (indexed BAM/CRAM); repeat for several samples.
    #[arg(long, required = true, value_name = "BAM")]
    reads: Vec<PathBuf>,
    /// Truth VCF; give once, or once per --reads.
    #[arg(long, required = true, value_name = "TRUTH.vcf.gz")]
    truth: Vec<PathBuf>,
    /// Confident-region BED (labels are trusted only inside it); once, or once per --reads.
    #[arg(long, required = true, value_name = "CONF.bed")]
    confident: Vec<PathBuf>,
    /// Regions never to train on (reserved for evaluation); repeatable.
    #[arg(long, value_name = "RESERVED.bed")]
    exclude: Vec<PathBuf>,
    /// Output model directory (written: model.ot, card.json).
    #[arg(long, value_name = "models/NAME")]
    output: PathBuf,
    /// Hold out every Nth chunk (on the absolute chunk grid) for validation.
    #[arg(long, default_value_t = 10)]
    validation_every: u64,
    /// Passes over the training examples (the epoch with the lowest validation loss is kept).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Examples per optimiser step.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate (divided by 5 for the last third of the epochs).
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Random seed (weights initialisation and example order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep this fraction of candidates labelled 0 copies (hom-ref), by a stable hash.
    #[arg(long, default_value_t = 1.0)]
    homref_fraction: f64,
    /// Version string for the model card.
    #[arg(long, default_value = "1")]
    model_version: String,
    /// Worker threads for building examples, and libtorch threads for training.
    #[arg(short, long, default_value_t = 1)]
    threads: usize,
    #[command(flatten)]
    pileup: PileupArgs,
}

/// Copies of each normalised truth allele, and spans of truth alleles that cannot be matched
/// allele by allele (complex replacements).
#[derive(Default)]
pub struct TruthLabels {
    copies: HashMap<(String, u64, AltAllele), u8>,
    complex: IntervalSet,
}

impl TruthLabels {
    /// Loads PASS truth records with genotypes, normalising each allele against `reference`.
    pub fn load(path: &Path, reference: &Reference) -> Result<Self> {
        let (_, records) = read_vcf(path)?;
        let mut seqs = ContigCache::new(reference)?;
        let mut labels = TruthLabels::default();
        let mut complex = Vec::new();
        for r in records.iter().filter(|r| r.passes()) {
            let Some(gt) = &r.gt else { continue };
            if reference.contig_len(&r.contig).is_none() {
                continue; // truth outside this reference's contigs labels nothing
            }
            let refw = seqs.get(&r.contig)?;
            for (i, alt) in r.alts.iter().enumerate() {
                let copies = gt.iter().filter(|a| **a == Some(i + 1)).count() as u8;
                if copies == 0 || alt.starts_with('<') || alt == "*" {
                    continue;
                }
                match realign::normalize(r.pos, r.reference.as_bytes(), alt.as_bytes(), refw) {
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
    pileup: &'a PileupArgs,
    validation_every: u64,
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
        let p = pileup_chunk(src, refr, chunk, &self.pileup.candidate_config(), false)?;
        let is_valid = (chunk.start.0 / self.pileup.chunk_size) % self.validation_every
            == self.validation_every - 1;
        let c = &chunk.contig;
        for (cand, tensors) in p.sites {
            let (s, e) = (cand.pos.0, cand.end());
            if self.exclude.overlaps(c, s, e) {
                out.excluded += tensors.len();
                continue;
            }
            if !self.sample.confident.covers(c, s, e)
                || self
                    .sample
                    .truth
                    .complex
                    .overlaps(c, s.saturating_sub(1), e + 1)
            {
                continue;
            }
            for (alt, tensor) in cand.alts.iter().zip(tensors) {
                let label = self
                    .sample
                    .truth
                    .copies
                    .get(&(c.clone(), s, alt.clone()))
                    .copied()
                    .unwrap_or(0);
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

pub fn run(a: TrainArgs) -> Result<i32> {
    let n = a.reads.len();
    let refs = per_sample(&a.reference, n, "ref")?;
    let truths = per_sample(&a.truth, n, "truth")?;
    let confs = per_sample(&a.confident, n, "confident")?;
    if a.validation_every < 2 {
        bail!("--validation-every must be at least 2");
    }
    let mut excluded_regions = Vec::new();
    for e in &a.exclude {
        excluded_regions.extend(region::read_bed(e)?);
    }
    let exclude = IntervalSet::new(&excluded_regions);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.max(1))
        .build()?;
    model::set_torch_threads(1);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    let mut inputs = Vec::new();
    let (mut train_regions, mut validation_regions) = (Vec::new(), Vec::new());
    for i in 0..n {
        let reference = Reference::open(refs[i])?;
        let alignments = Alignments::open(&a.reads[i], &reference, a.pileup.read_filter())?;
        let truth = TruthLabels::load(truths[i], &reference)?;
        let conf_regions = region::read_bed_checked(confs[i], &reference.contigs)?;
        let regions = region::merge(conf_regions.clone(), &reference.contigs);
        let sample = Sample {
            reference,
            alignments,
            truth,
            confident: IntervalSet::new(&conf_regions),
            regions,
        };
        let chunks: Vec<Region> = region::chunks(&sample.regions, a.pileup.chunk_size)
            .into_iter()
            .filter(|c| !exclude.covers(&c.contig, c.start.0, c.end.0))
            .collect();
        let labeller = Labeller {
            sample: &sample,
            exclude: &exclude,
            pileup: &a.pileup,
            validation_every: a.validation_every,
            homref_fraction: a.homref_fraction,
        };
        let (mut t, mut v, mut x) = (0, 0, 0);
        pool.install(|| {
            region::run_ordered(
                &labeller,
                &chunks,
                a.threads.max(1) * 2,
                |chunk, out| {
                    let is_valid = !out.valid.is_empty();
                    t += out.train.len();
                    v += out.valid.len();
                    x += out.excluded;
                    train.extend(out.train);
                    valid.extend(out.valid);
                    let name = format!("{}:{chunk}", a.reads[i].display());
                    if is_valid {
                        validation_regions.push(name);
                    }
                    Ok(())
                },
                |_| {},
            )
        })?;
        train_regions.extend(
            sample
                .regions
                .iter()
                .map(|r| format!("{}:{r}", a.reads[i].display())),
        );
        eprintln!(
            "sample {}: {} training and {} validation examples; {} refused inside --exclude",
            a.reads[i].display(),
            t,
            v,
            x
        );
        for (role, p) in [
            ("reference", refs[i]),
            ("reads", &a.reads[i]),
            ("truth", truths[i]),
            ("confident", confs[i]),
        ] {
            inputs.push(InputFile {
                role: role.into(),
                path: p.display().to_string(),
                sha256: sha256_file(p)?,
            });
        }
    }
    for e in &a.exclude {
        inputs.push(InputFile {
            role: "exclude".into(),
            path: e.display().to_string(),
            sha256: sha256_file(e)?,
        });
    }
    let count = |v: &[Example], k: u8| v.iter().filter(|e| e.label == k).count();
    eprintln!(
        "training on {} examples (0/1/2 copies: {}/{}/{}), validating on {}",
        train.len(),
        count(&train, 0),
        count(&train, 1),
        count(&train, 2),
        valid.len()
    );
    let device = crate::model::DeviceChoice::Auto.resolve()?;
    model::set_torch_threads(a.threads.max(1));
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
        created_by: format!("callvar {}: {}", env!("CARGO_PKG_VERSION"), command_line()),
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
    };
    let path = model::save(&a.output, &weights, card).context("saving model")?;
    eprintln!("model written: {}", path.display());
    Ok(0)
}
