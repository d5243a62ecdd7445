//! `callvar call`: wires the stages together for one run. Each chunk of the genome goes
//! reads → [`Candidate`]s → [`PileupTensor`]s → [`Prediction`]s → [`Call`]s inside one
//! worker; the region engine runs chunks in parallel and hands calls to the VCF writer in
//! genome order.
use crate::candidates::{self, Candidate, CandidateConfig};
use crate::genotype::{self, Call};
use crate::model::{self, Model, Prediction, Scorer};
use crate::reads::{Alignments, Read, ReadSource};
use crate::reference::{RefReader, RefWindow, Reference};
use crate::region::{self, Region, RegionProcessor};
use crate::tensor::{self, PileupTensor, WIDTH};
use crate::vcf::{self, Provenance, VcfWriter};
use anyhow::{Context, Result};
use std::io::IsTerminal;

/// Reference bases fetched beyond a chunk's reads, for tensor columns and indel alleles.
const REF_MARGIN: u64 = WIDTH as u64 + 64;

/// A chunk's candidates with their tensors (one per alternate allele, in ALT order).
pub struct Pileup {
    pub refw: RefWindow,
    pub sites: Vec<(Candidate, Vec<PileupTensor>)>,
}

/// Reads a chunk and builds every candidate's tensors: the shared front half of `call` and
/// `train`.
pub fn pileup_chunk(
    src: &mut ReadSource,
    refr: &RefReader,
    chunk: &Region,
    cfg: &CandidateConfig,
) -> Result<Pileup> {
    let (reads, refw) = src.fetch(chunk, refr, REF_MARGIN)?;
    let cands = candidates::find(chunk, &reads, &refw, cfg);
    let max_span = reads.iter().map(|r| r.end - r.start).max().unwrap_or(0);
    let sites = cands
        .into_iter()
        .map(|c| {
            let tensors = tensors_for(&c, &reads, max_span, &refw, cfg.min_base_qual);
            (c, tensors)
        })
        .collect();
    Ok(Pileup { refw, sites })
}

fn tensors_for(
    c: &Candidate,
    reads: &[Read],
    max_span: u64,
    refw: &RefWindow,
    min_bq: u8,
) -> Vec<PileupTensor> {
    let rb = refw.base(c.pos.0);
    let cov: Vec<_> = candidates::covering(reads, max_span, c.pos.0)
        .into_iter()
        .map(|i| (i, candidates::read_support(&reads[i], c, rb, min_bq)))
        .collect();
    let rows = tensor::select_rows(reads, &cov, c.pos.0);
    (0..c.alts.len())
        .map(|k| tensor::build(c, k, reads, &rows, refw))
        .collect()
}

/// Turns a chunk's pileup and predictions (one per tensor, in order) into calls.
pub fn calls_from(p: Pileup, preds: &[Prediction], min_qual: f64) -> Vec<Call> {
    let mut next = 0;
    p.sites
        .into_iter()
        .map(|(cand, tensors)| {
            let these = &preds[next..next + tensors.len()];
            next += tensors.len();
            let (reference, alts) = cand.vcf_alleles(&p.refw);
            Call {
                genotype: genotype::genotype(these, min_qual),
                candidate: cand,
                reference,
                alts,
            }
        })
        .collect()
}

/// Settings for one `call` run, resolved from the command line.
pub struct CallSettings {
    pub candidates: CandidateConfig,
    pub min_qual: f64,
    pub device: model::DeviceChoice,
    pub chunk_size: u64,
    pub threads: usize,
    pub quiet: bool,
}

struct Caller<'a> {
    alignments: &'a Alignments,
    reference: &'a Reference,
    model: &'a Model,
    settings: &'a CallSettings,
}

impl RegionProcessor for Caller<'_> {
    type State = (ReadSource, RefReader, Scorer);
    type Output = Vec<Call>;

    fn init(&self) -> Result<Self::State> {
        let device = self.settings.device.resolve()?;
        Ok((
            self.alignments.reader()?,
            self.reference.reader()?,
            self.model.instance(device)?,
        ))
    }

    fn process(&self, (src, refr, scorer): &mut Self::State, chunk: &Region) -> Result<Vec<Call>> {
        let p = pileup_chunk(src, refr, chunk, &self.settings.candidates)?;
        let tensors: Vec<PileupTensor> = p
            .sites
            .iter()
            .flat_map(|(_, t)| t.iter().cloned())
            .collect();
        let preds = scorer.predict(&tensors);
        Ok(calls_from(p, &preds, self.settings.min_qual))
    }
}

/// Inputs and output of a `call` run.
pub struct CallJob<'a> {
    pub reference: &'a Reference,
    pub alignments: &'a Alignments,
    pub model: &'a Model,
    pub regions: Vec<Region>,
    pub output: &'a str,
    pub sample: String,
    pub command_line: String,
}

/// Runs the caller and writes the VCF. Returns the number of records written.
pub fn run(job: CallJob, settings: &CallSettings) -> Result<u64> {
    let device = settings.device.resolve()?;
    model::set_torch_threads(1);
    let provenance = Provenance {
        sample: job.sample.clone(),
        command_line: job.command_line.clone(),
        reference_path: std::fs::canonicalize(&job.reference.path)
            .unwrap_or(job.reference.path.clone())
            .display()
            .to_string(),
        reference_md5: job.reference.file_md5()?,
        model_name: job.model.card.name.clone(),
        model_version: job.model.card.version.clone(),
        model_sha256: job.model.card.weights_sha256.clone(),
        contigs: job.reference.contigs.clone(),
    };
    let header = vcf::header(&provenance)?;
    let chunks = region::chunks(&job.regions, settings.chunk_size);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build()
        .context("thread pool")?;
    let bar = if !settings.quiet && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(chunks.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} chunks {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message(format!("on {}", model::device_name(device)));
        Some(b)
    } else {
        None
    };
    let caller = Caller {
        alignments: job.alignments,
        reference: job.reference,
        model: job.model,
        settings,
    };
    let mut writer = VcfWriter::create(job.output, header)?;
    let mut n = 0u64;
    pool.install(|| {
        region::run_ordered(
            &caller,
            &chunks,
            settings.threads * 4,
            |_, calls| {
                for c in &calls {
                    writer.write(c)?;
                }
                n += calls.len() as u64;
                Ok(())
            },
            |k| {
                if let Some(b) = &bar {
                    b.inc(k as u64)
                }
            },
        )
    })?;
    writer.finish()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(n)
}
