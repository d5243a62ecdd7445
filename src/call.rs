//! `callvar call`: wires the stages together for one run. Each chunk of the genome goes
//! reads → (with `--realign`, the [`crate::realigner`]'s local reassembly) → [`Candidate`]s →
//! [`PileupTensor`]s → [`Prediction`]s → [`Call`]s inside one worker, each call with its
//! confidence tier from the site's context ([`crate::tiers`], the sample's median depth
//! measured once before the chunks); the region engine runs chunks in parallel and hands
//! calls to the VCF writer in genome order, and, with `--gvcf`, reference blocks to the gVCF
//! writer. With phasing (on for long reads), that ordered stage first phases the
//! heterozygous calls from the read alleles the workers recorded ([`crate::phasing`]),
//! holding a chunk back while a phase in it is still open. With
//! `--clinical-regions` or `--report` the worker also measures each chunk's depth of
//! filter-passing reads ([`crate::clinical`], [`crate::report`]); the run's side outputs
//! (not-callable BED, report, manifest) are committed together with the VCF.
use crate::candidates::{self, Candidate, CandidateConfig};
use crate::clinical::{self, ChunkClinical, Gates};
use crate::deliver::{Delivery, Extras, RunFacts};
use crate::genotype::{self, Call, Genotype, GenotypeConfig};
use crate::gvcf::{self, RefBlock};
use crate::haplotypes;
use crate::model::{self, InferenceService, Model, Prediction, ScorerHandle};
use crate::phasing::{self, HetSite, Obs, Phaser};
use crate::ploidy::PloidyMap;
use crate::reads::{self, Alignments, Read, ReadSource};
use crate::realigner::{self, RealignCounts};
use crate::reference::{RefReader, RefWindow, Reference};
use crate::region::{self, Region, RegionProcessor};
use crate::side_output;
use crate::tensor::{self, PileupTensor, WIDTH};
use crate::tiers::{self, SiteContext};
use crate::vcf::{self, Provenance, VcfWriter};
use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Reference bases fetched beyond a chunk's reads, for tensor columns and indel alleles.
const REF_MARGIN: u64 = WIDTH as u64 + 64;

/// A chunk's candidates with their tensors (one per alternate allele, in ALT order),
/// per-position reference evidence when a gVCF is wanted, each site's context for its tier
/// when calling, and each candidate's read alleles when calls are phased.
pub struct Pileup {
    pub refw: RefWindow,
    pub sites: Vec<(Candidate, Vec<PileupTensor>)>,
    pub evidence: Vec<gvcf::Evidence>,
    pub contexts: Vec<SiteContext>,
    /// Each candidate's read alleles, in candidate order (empty unless phasing).
    pub obs: Vec<Vec<Obs>>,
}

/// Reads a chunk and builds every candidate's tensors: the shared front half of `call` and
/// `train`.
pub fn pileup_chunk(
    src: &mut ReadSource,
    refr: &RefReader,
    chunk: &Region,
    cfg: &CandidateConfig,
    with_evidence: bool,
) -> Result<Pileup> {
    let (reads, refw) = src.fetch(chunk, refr, REF_MARGIN)?;
    Ok(pileup_reads(
        chunk,
        &reads,
        refw,
        cfg,
        with_evidence,
        false,
        false,
    ))
}

/// The candidates and tensors of a chunk whose reads are fetched (see [`pileup_chunk`]).
fn pileup_reads(
    chunk: &Region,
    reads: &[Read],
    refw: RefWindow,
    cfg: &CandidateConfig,
    with_evidence: bool,
    with_context: bool,
    with_obs: bool,
) -> Pileup {
    let evidence = if with_evidence {
        gvcf::evidence(chunk, reads, &refw, cfg.min_base_qual)
    } else {
        Vec::new()
    };
    let mut contexts = Vec::new();
    let mut obs = Vec::new();
    let sites = candidates::find(chunk, reads, &refw, cfg)
        .into_iter()
        .map(|(c, supports)| {
            if with_obs {
                let indel = c.alts.iter().any(|a| a.is_indel());
                obs.push(phasing::observe(reads, &supports, c.pos.0, indel));
            }
            let rows = tensor::select_rows(reads, &supports, c.pos.0);
            let tensors = (0..c.alts.len())
                .map(|k| tensor::build(&c, k, reads, &rows, &refw))
                .collect();
            if with_context {
                contexts.push(tiers::context(
                    &c,
                    &supports,
                    reads,
                    &refw,
                    cfg.min_base_qual,
                ));
            }
            (c, tensors)
        })
        .collect();
    Pileup {
        refw,
        sites,
        evidence,
        contexts,
        obs,
    }
}

/// Genotypes of a chunk's candidates (in position order) from their predictions (one per
/// alternate allele, in order): each site on its own at its ploidy, then overlapping sites
/// resolved into one compatible configuration.
pub fn genotypes(
    cands: &[&Candidate],
    preds: &[Prediction],
    ploidy: &PloidyMap,
    cfg: &GenotypeConfig,
) -> Vec<Genotype> {
    let mut next = 0;
    let mut out: Vec<Genotype> = cands
        .iter()
        .map(|c| {
            let these = &preds[next..next + c.alts.len()];
            next += c.alts.len();
            genotype::genotype(these, ploidy.at(&c.contig, c.pos.0), cfg)
        })
        .collect();
    haplotypes::resolve(cands, &mut out, cfg.min_qual);
    out
}

/// Turns a chunk's pileup (with its sites' contexts) and predictions (one per tensor, in
/// order) into calls with their tiers, `median` being the sample's median depth.
fn calls_from(
    sites: Vec<(Candidate, Vec<PileupTensor>)>,
    contexts: Vec<SiteContext>,
    refw: &RefWindow,
    preds: &[Prediction],
    ploidy: &PloidyMap,
    cfg: &GenotypeConfig,
    median: f64,
) -> Vec<Call> {
    let cands: Vec<&Candidate> = sites.iter().map(|(c, _)| c).collect();
    let gts = genotypes(&cands, preds, ploidy, cfg);
    sites
        .into_iter()
        .zip(gts)
        .zip(contexts)
        .map(|(((cand, _), genotype), context)| {
            let (reference, alts) = cand.vcf_alleles(refw);
            let review = tiers::review(&cand, &genotype, context, median);
            Call {
                genotype,
                candidate: cand,
                reference,
                alts,
                review,
                phase: None,
            }
        })
        .collect()
}

/// Settings for one `call` run, resolved from the command line.
pub struct CallSettings {
    pub candidates: CandidateConfig,
    pub min_qual: f64,
    /// Where the genome is haploid (`--haploid-contigs`, `--par-bed`).
    pub ploidy: PloidyMap,
    /// Inference devices (several CUDA devices share one queue).
    pub devices: Vec<model::DeviceChoice>,
    /// Tensors per forward pass.
    pub batch_size: usize,
    /// Score through the shared inference queue even on CPU (always on CUDA).
    pub shared_scorer: bool,
    pub chunk_size: u64,
    pub threads: usize,
    pub quiet: bool,
    /// GQ band lower bounds for gVCF reference blocks (used when a gVCF is written).
    pub gvcf_bands: Vec<u32>,
    /// Phase heterozygous calls from the reads ([`crate::phasing`]).
    pub phase: bool,
    /// Reassemble active windows and realign their reads before candidates
    /// ([`crate::realigner`]).
    pub realign: bool,
}

struct Caller<'a> {
    alignments: &'a Alignments,
    reference: &'a Reference,
    model: &'a Model,
    settings: &'a CallSettings,
    gvcf: bool,
    times: StageTimes,
    /// The shared inference threads, when the network runs on GPUs (or on request).
    service: Option<InferenceService>,
    devices: Vec<model::Device>,
    /// Clinical gates, and the reads without the MAPQ floor (to tell `low_mapq` holes).
    clinical: Option<(&'a Gates, Alignments)>,
    /// Count each chunk's depth histogram for the report.
    depth_hist: bool,
    /// The sample's median depth, for the tiers' depth ratio.
    median_depth: f64,
}

/// What one chunk yields: its calls and, when a gVCF is written, its reference blocks and
/// the chunk's reference sequence (to spell a block's REF base after trimming).
pub struct ChunkCalls {
    calls: Vec<Call>,
    blocks: Vec<RefBlock>,
    seq: Vec<u8>,
    /// Per-base depth histogram (with `--report`).
    depth_hist: Vec<u64>,
    clinical: Option<ChunkClinical>,
    /// With phasing, each call's heterozygous site to phase (`None` for other calls).
    het_sites: Vec<Option<HetSite>>,
}

impl ChunkCalls {
    /// The gate call `i` failed, if any.
    fn gate(&self, i: usize) -> Option<&'static str> {
        self.clinical
            .as_ref()
            .is_some_and(|c| c.gated[i])
            .then_some(clinical::FILTER_ID)
    }
}

impl RegionProcessor for Caller<'_> {
    type State = (ReadSource, RefReader, ScorerHandle, Option<ReadSource>);
    type Output = ChunkCalls;

    fn init(&self) -> Result<Self::State> {
        let scorer = match &self.service {
            Some(s) => ScorerHandle::Shared(s.client()?),
            None => ScorerHandle::Local {
                scorer: self.model.instance(self.devices[0])?,
                batch_size: self.settings.batch_size,
            },
        };
        let relaxed = match &self.clinical {
            Some((_, a)) => Some(a.reader()?),
            None => None,
        };
        Ok((
            self.alignments.reader()?,
            self.reference.reader()?,
            scorer,
            relaxed,
        ))
    }

    fn process(
        &self,
        (src, refr, scorer, relaxed): &mut Self::State,
        chunk: &Region,
    ) -> Result<ChunkCalls> {
        let t = &self.times;
        let measure = self.clinical.is_some() || self.depth_hist;
        let around = if self.settings.realign {
            realigner::FETCH_MARGIN
        } else {
            0
        };
        let (mut reads, refw) = timed(&t.pileup_ns, || {
            src.fetch_around(chunk, refr, REF_MARGIN, around)
        })?;
        if self.settings.realign {
            let cfg = &self.settings.candidates;
            let (lo, hi) = (chunk.start.0, chunk.end.0);
            let c = timed(&t.realign_ns, || {
                realigner::realign_chunk(&mut reads, &refw, lo, hi, cfg.min_base_qual)
            });
            t.realign.add(c);
        }
        let (p, depth) = timed(&t.pileup_ns, || -> Result<_> {
            let depth = measure.then(|| reads::coverage(&reads, chunk.start.0, chunk.end.0));
            let cfg = &self.settings.candidates;
            let p = pileup_reads(
                chunk,
                &reads,
                refw,
                cfg,
                self.gvcf,
                true,
                self.settings.phase,
            );
            Ok((p, depth))
        })?;
        let tensors: Vec<&PileupTensor> = p.sites.iter().flat_map(|(_, t)| t.iter()).collect();
        let preds = timed(&t.model_ns, || scorer.predict(&tensors))?;
        let mut out = timed(&t.genotype_ns, || self.genotype(chunk, p, &preds))?;
        if let Some(depth) = depth {
            timed(&t.coverage_ns, || -> Result<()> {
                if self.depth_hist {
                    out.depth_hist = crate::report::call::depth_histogram(&depth);
                }
                if let (Some((gates, _)), Some(r)) = (&self.clinical, relaxed.as_mut()) {
                    out.clinical = Some(gates.measure(chunk, &depth, &out.calls, r, refr)?);
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

impl Caller<'_> {
    fn genotype(&self, chunk: &Region, p: Pileup, preds: &[Prediction]) -> Result<ChunkCalls> {
        let cfg = GenotypeConfig {
            min_qual: self.settings.min_qual,
            temperature: self.model.card.temperature(),
        };
        let Pileup {
            refw,
            sites,
            evidence,
            contexts,
            obs,
        } = p;
        let calls = calls_from(
            sites,
            contexts,
            &refw,
            preds,
            &self.settings.ploidy,
            &cfg,
            self.median_depth,
        );
        let het_sites = obs
            .iter()
            .zip(&calls)
            .map(|(obs, c)| phasing::het_site(c, obs))
            .collect();
        if !self.gvcf {
            return Ok(ChunkCalls {
                calls,
                blocks: Vec::new(),
                seq: Vec::new(),
                depth_hist: Vec::new(),
                clinical: None,
                het_sites,
            });
        }
        let spans: Vec<(u64, u64)> = calls
            .iter()
            .map(|c| (c.candidate.pos.0, c.candidate.end()))
            .collect();
        let haploid = self
            .settings
            .ploidy
            .haploid_spans(&chunk.contig, chunk.start.0, chunk.end.0);
        let blocks = gvcf::blocks(
            chunk,
            &evidence,
            &spans,
            &self.settings.gvcf_bands,
            &haploid,
        );
        let seq = refw.slice(chunk.start.0, chunk.end.0);
        Ok(ChunkCalls {
            calls,
            blocks,
            seq,
            depth_hist: Vec::new(),
            clinical: None,
            het_sites,
        })
    }
}

/// Inputs and outputs of a `call` run.
pub struct CallJob<'a> {
    pub reference: &'a Reference,
    pub alignments: &'a Alignments,
    pub model: &'a Model,
    pub regions: Vec<Region>,
    pub output: &'a str,
    pub gvcf_output: Option<&'a str>,
    pub sample: String,
    pub command_line: String,
    /// Outputs beside the VCF (not-callable BED, report, manifest).
    pub extras: Extras<'a>,
}

/// Writes one chunk's records into the gVCF: variant records and blocks in position order.
/// `spill` is how far (contig, end) the variant records written so far reach; blocks of a
/// following chunk are trimmed so no base is covered twice.
fn write_gvcf_chunk(
    w: &mut VcfWriter,
    chunk: &Region,
    out: &ChunkCalls,
    spill: &mut (String, u64),
) -> Result<()> {
    let mut blocks = out.blocks.iter().peekable();
    let mut calls = out.calls.iter().enumerate().peekable();
    loop {
        let next_block = blocks.peek().map(|b| b.start);
        let next_call = calls.peek().map(|(_, c)| c.candidate.pos.0);
        match (next_block, next_call) {
            (None, None) => return Ok(()),
            (Some(bs), cs) if cs.is_none_or(|cs| bs < cs) => {
                let mut b = blocks.next().expect("peeked").clone();
                if spill.0 == chunk.contig && spill.1 > b.start {
                    if spill.1 >= b.end {
                        continue;
                    }
                    b.start = spill.1;
                }
                let base = out.seq[(b.start - chunk.start.0) as usize];
                w.write_block(&chunk.contig, &b, base)?;
            }
            _ => {
                let (i, c) = calls.next().expect("peeked");
                w.write_gated(c, out.gate(i))?;
                let end = c.candidate.end();
                if spill.0 != chunk.contig {
                    *spill = (chunk.contig.clone(), end);
                } else {
                    spill.1 = spill.1.max(end);
                }
            }
        }
    }
}

/// The VCF (and gVCF) writers of a run, with what they have written so far.
struct Writers<'a, 'd> {
    vcf: VcfWriter,
    gvcf: Option<VcfWriter>,
    /// How far the gVCF's variant records reach (see [`write_gvcf_chunk`]).
    spill: (String, u64),
    records: u64,
    pass: u64,
    write_ns: u64,
    delivery: &'a mut Delivery<'d>,
}

impl Writers<'_, '_> {
    /// Writes one chunk's records, in genome order after the chunks before it.
    fn write(&mut self, chunk: &Region, out: ChunkCalls) -> Result<()> {
        let t = Instant::now();
        for (i, c) in out.calls.iter().enumerate() {
            let gate = out.gate(i);
            self.vcf.write_gated(c, gate)?;
            self.pass += u64::from(gate.is_none() && c.genotype.filter.as_str() == "PASS");
        }
        if let Some(g) = self.gvcf.as_mut() {
            write_gvcf_chunk(g, chunk, &out, &mut self.spill)?;
        }
        self.records += out.calls.len() as u64;
        self.delivery
            .add_chunk(&out.calls, &out.depth_hist, out.clinical);
        self.write_ns += t.elapsed().as_nanos() as u64;
        Ok(())
    }
}

/// Phasing in the ordered output stage: the [`Phaser`] sees every chunk's heterozygous
/// sites in genome order (blocks cross chunk borders), and a chunk is held back while one of
/// its sites has an open phase.
#[derive(Default)]
struct PhaseStage {
    phaser: Phaser,
    /// Chunks not yet written, with the id of their first call (ids count calls in order).
    held: VecDeque<(Region, ChunkCalls, usize)>,
    next_id: usize,
}

impl PhaseStage {
    /// Phases the next chunk's sites; returns the chunks whose phases are all final.
    fn push(&mut self, chunk: &Region, out: ChunkCalls) -> Vec<(Region, ChunkCalls)> {
        let base = self.next_id;
        self.next_id += out.calls.len();
        self.phaser.advance(&chunk.contig, chunk.start.0);
        let mut decided = Vec::new();
        for (i, site) in out.het_sites.iter().enumerate() {
            if let Some(s) = site {
                decided.extend(self.phaser.add(base + i, &chunk.contig, s));
            }
        }
        self.held.push_back((chunk.clone(), out, base));
        for (id, phase) in decided {
            let held = self.held.iter_mut().rev().find(|(_, _, b)| *b <= id);
            if let Some(call) = held.and_then(|(_, out, b)| out.calls.get_mut(id - *b)) {
                call.phase = Some(phase);
            }
        }
        self.phaser.advance(&chunk.contig, chunk.end.0);
        self.ready()
    }

    /// The held chunks before the one with the open site, in order.
    fn ready(&mut self) -> Vec<(Region, ChunkCalls)> {
        let open = self.phaser.open();
        let mut out = Vec::new();
        while let Some((_, o, base)) = self.held.front() {
            if open.is_some_and(|id| id < base + o.calls.len()) {
                break;
            }
            if let Some((r, o, _)) = self.held.pop_front() {
                out.push((r, o));
            }
        }
        out
    }

    /// Every chunk still held: the input is over, so an open phase set of one site is none.
    fn finish(mut self) -> Vec<(Region, ChunkCalls)> {
        self.phaser.end_block();
        self.ready()
    }
}

/// Wall time spent in each stage, summed over workers (reported with `-v`).
#[derive(Default)]
struct StageTimes {
    pileup_ns: AtomicU64,
    realign_ns: AtomicU64,
    realign: RealignTotals,
    model_ns: AtomicU64,
    genotype_ns: AtomicU64,
    coverage_ns: AtomicU64,
    /// Read-backed phasing, in the ordered output stage.
    phase_ns: AtomicU64,
}

/// [`RealignCounts`] summed over chunks.
#[derive(Default)]
struct RealignTotals {
    windows: AtomicU64,
    assembled: AtomicU64,
    reads_changed: AtomicU64,
}

impl RealignTotals {
    fn add(&self, c: RealignCounts) {
        self.windows.fetch_add(c.windows, Ordering::Relaxed);
        self.assembled.fetch_add(c.assembled, Ordering::Relaxed);
        self.reads_changed
            .fetch_add(c.reads_changed, Ordering::Relaxed);
    }

    fn total(&self) -> RealignCounts {
        RealignCounts {
            windows: self.windows.load(Ordering::Relaxed),
            assembled: self.assembled.load(Ordering::Relaxed),
            reads_changed: self.reads_changed.load(Ordering::Relaxed),
        }
    }
}

fn timed<T>(acc: &AtomicU64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let v = f();
    acc.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    v
}

/// What a finished run reports on stderr.
pub struct CallSummary {
    pub records: u64,
    pub pass: u64,
    pub device: String,
    /// Per-stage wall time summed over workers, seconds: (stage, seconds).
    pub stages: Vec<(&'static str, f64)>,
    /// Wall time of the steps run once, outside the workers: (step, seconds).
    pub steps: Vec<(&'static str, f64)>,
    /// Lines for the side outputs (clinical gates), after the summary line.
    pub notes: Vec<String>,
    /// What the realigner did, with `--realign`.
    pub realign: Option<RealignCounts>,
}

/// The stdout pipe closed while a gVCF was still being written: not the quiet end of
/// `callvar call -o - | head`, because an output the user asked for would be missing.
fn gvcf_lost(e: anyhow::Error, gvcf: Option<&str>) -> anyhow::Error {
    let broken = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    match gvcf {
        Some(g) if broken => anyhow::anyhow!(
            "stdout: closed before the VCF was complete (broken pipe); {g} not written"
        ),
        _ => e,
    }
}

/// Runs the caller and writes the VCF (and gVCF): both complete, or neither in place.
pub fn run(job: CallJob, settings: &CallSettings) -> Result<CallSummary> {
    let devices = model::resolve_devices(&settings.devices)?;
    let device_names = devices
        .iter()
        .map(|&d| model::device_name(d))
        .collect::<Vec<_>>()
        .join(",");
    model::set_torch_threads(1);
    let t_median = Instant::now();
    let median_depth = tiers::median_depth(job.alignments, job.reference)?;
    let median_s = t_median.elapsed().as_secs_f64();
    let provenance = Provenance {
        sample: job.sample.clone(),
        command_line: job.command_line.clone(),
        reference_path: crate::output::absolute(&job.reference.path),
        reference_md5: job.reference.file_md5()?,
        model_name: job.model.card.name.clone(),
        model_version: job.model.card.version.clone(),
        model_sha256: job.model.card.weights_sha256.clone(),
        model_calibration: job.model.card.calibration_summary(),
        device: device_names.clone(),
        contigs: job.reference.contigs.clone(),
        regions: job.regions.clone(),
        chunk_size: settings.chunk_size,
        median_depth: Some(median_depth),
        phased: settings.phase,
    };
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
        b.set_message(format!("on {device_names}"));
        Some(b)
    } else {
        None
    };
    let mut delivery = pool.install(|| Delivery::start(job.extras, &provenance, &job.regions))?;
    let header = |gvcf: bool| -> Result<_> {
        let mut h = vcf::header(&provenance, gvcf)?;
        delivery.extend_header(&mut h)?;
        Ok(h)
    };
    let caller = Caller {
        alignments: job.alignments,
        reference: job.reference,
        model: job.model,
        settings,
        gvcf: job.gvcf_output.is_some(),
        times: StageTimes::default(),
        service: if settings.shared_scorer || devices.iter().any(|d| d.is_cuda()) {
            Some(InferenceService::start(
                job.model,
                &devices,
                settings.batch_size,
                settings.threads * 2,
            )?)
        } else {
            None
        },
        devices,
        clinical: delivery
            .gates()
            .map(|g| (g, clinical::without_mapq_floor(job.alignments))),
        depth_hist: delivery.wants_depth_histogram(),
        median_depth,
    };
    let vcf = VcfWriter::create(job.output, header(false)?, false)?;
    let gvcf = match job.gvcf_output {
        Some(g) => Some(VcfWriter::create(g, header(true)?, true)?),
        None => None,
    };
    let mut w = Writers {
        vcf,
        gvcf,
        spill: (String::new(), 0),
        records: 0,
        pass: 0,
        write_ns: 0,
        delivery: &mut delivery,
    };
    let mut phase = settings.phase.then(PhaseStage::default);
    pool.install(|| {
        region::run_ordered(
            &caller,
            &chunks,
            settings.threads * 4,
            |chunk, out| match phase.as_mut() {
                None => w.write(chunk, out),
                Some(p) => timed(&caller.times.phase_ns, || p.push(chunk, out))
                    .into_iter()
                    .try_for_each(|(c, o)| w.write(&c, o)),
            },
            |k| {
                if let Some(b) = &bar {
                    b.inc(k as u64)
                }
            },
        )?;
        phase
            .map_or_else(Vec::new, PhaseStage::finish)
            .into_iter()
            .try_for_each(|(c, o)| w.write(&c, o))
    })
    .map_err(|e| gvcf_lost(e, job.gvcf_output))?;
    let (n, pass, write_ns) = (w.records, w.pass, w.write_ns);
    let finished = w.vcf.finish().map_err(|e| gvcf_lost(e, job.gvcf_output))?;
    let gfinished = w.gvcf.map(VcfWriter::finish).transpose()?;
    // side outputs, written under temporary names, then everything moved into place at once
    let t_side = Instant::now();
    let inputs_s = delivery.inputs_seconds;
    let (written, notes) = delivery.finish(&RunFacts {
        provenance: &provenance,
        alignments: job.alignments,
        regions: &job.regions,
        output: job.output,
        gvcf_output: job.gvcf_output,
        records: n,
        pass,
        vcf: &finished,
        gvcf: gfinished.as_ref(),
    })?;
    finished.commit()?;
    if let Some(g) = gfinished {
        g.commit()?;
    }
    side_output::commit(written)?;
    let side_s = t_side.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
    let t = &caller.times;
    Ok(CallSummary {
        records: n,
        pass,
        device: device_names,
        stages: vec![
            ("reads+candidates+tensors", secs(&t.pileup_ns)),
            ("realign", secs(&t.realign_ns)),
            ("model", secs(&t.model_ns)),
            ("genotype+gvcf", secs(&t.genotype_ns)),
            ("coverage+clinical", secs(&t.coverage_ns)),
            ("phase", secs(&t.phase_ns)),
            ("write", write_ns as f64 / 1e9),
        ],
        steps: vec![
            ("median depth", median_s),
            ("manifest inputs", inputs_s),
            ("side outputs+commit", side_s),
        ],
        notes,
        realign: settings.realign.then(|| t.realign.total()),
    })
}
