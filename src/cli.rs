//! Command line: clap definitions for `call`, `train`, `eval`, `shards`, `merge` and `somatic`, and the
//! glue that turns arguments into each command's typed job. Returns the process exit code.
use crate::call::{self, CallJob, CallSettings};
use crate::model::{Model, ModelCard};
use crate::output;
use crate::ploidy::PloidyMap;
use crate::preset::{PileupSettings, Preset};
use crate::reads::{Alignments, SampleChoice};
use crate::reference::Reference;
use crate::region::{self, Region};
use crate::{eval, train};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "callvar",
    version,
    about = "Small-variant caller: pileup tensors scored by a CNN-LSTM (libtorch), written as VCF",
    long_about = "callvar finds candidate SNVs and indels in aligned reads (BAM/CRAM), builds a pileup \
tensor per candidate, scores it with a CNN-LSTM through libtorch (CUDA when available) and writes a \
VCF with genotypes, qualities and full provenance.\n\nExit status: 0 success, 1 error, 2 usage error, \
3 `eval --min-f1` gate not met."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call variants from aligned reads into a VCF.
    Call(CallArgs),
    /// Train a model from reads and a truth set, writing weights and a model card.
    Train(train::TrainArgs),
    /// Compare a call set with a truth set (haplotype-aware), reporting precision/recall/F1.
    Eval(eval::EvalArgs),
    /// Plan N shards of about equal work (one BED each, plus plan.tsv) for distributed calling.
    Shards(ShardsArgs),
    /// Join the shard VCFs (or gVCFs) of a plan into the file one `call` run would write.
    Merge(MergeArgs),
    /// Call somatic SNVs and indels in a tumour, against its normal or tumour-only.
    Somatic(crate::somatic::SomaticArgs),
    /// Measure a model's GQ/QUAL reliability on labelled samples; with --output, fit a
    /// softmax temperature and write the calibrated model.
    Calibrate(crate::calibrate::CalibrateArgs),
}

/// Read filtering and candidate thresholds shared by `call` and `train`. A value left out
/// comes from `--preset` when given, else (for `call`) from the model card, else from the
/// Illumina preset; [`PileupArgs::resolve`] turns them into one [`PileupSettings`].
#[derive(Args, Clone, Debug)]
pub struct PileupArgs {
    /// Platform preset: read filters and candidate thresholds for illumina, hifi (PacBio
    /// HiFi) or ont (Oxford Nanopore); for `call` without --model also the model
    /// (illumina-wgs, pacbio-hifi, ont-r10). Default: the model card's preset.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Skip reads with mapping quality below this [default: the preset's; all: 5].
    #[arg(long, value_name = "N")]
    pub min_mapq: Option<u8>,
    /// Bases with quality below this are not evidence [default: the preset's; all: 10].
    #[arg(long, value_name = "Q")]
    pub min_base_qual: Option<u8>,
    /// Minimum reads supporting an alternate allele for a candidate [default: the preset's; all: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub min_alt_count: Option<u32>,
    /// Minimum fraction of reads supporting an SNV allele for a candidate, 0-1 [default: the
    /// preset's; illumina 0.10, hifi 0.12, ont 0.15].
    #[arg(long, value_name = "F", value_parser = fraction)]
    pub min_snv_fraction: Option<f32>,
    /// Minimum fraction of reads supporting an indel allele for a candidate, 0-1 [default: the
    /// preset's; illumina 0.06, hifi 0.12, ont 0.15].
    #[arg(long, value_name = "F", value_parser = fraction)]
    pub min_indel_fraction: Option<f32>,
    /// Added to --min-indel-fraction per base beyond 3 of the repeat (homopolymer, tandem
    /// repeat) an indel sits in, up to 0.25: long reads' repeat-length errors [default: the
    /// preset's; illumina 0, hifi 0.01, ont 0.015].
    #[arg(long, value_name = "F", value_parser = fraction)]
    pub repeat_indel_fraction: Option<f32>,
    /// Use supplementary alignments (dropped by default, as DeepVariant does).
    #[arg(long)]
    pub keep_supplementary: bool,
    /// Use reads marked as duplicates (dropped by default).
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Genome chunk size in bp: the unit of parallel work (output does not depend on it).
    #[arg(long, default_value_t = 100_000, hide_short_help = true,
          value_parser = clap::value_parser!(u64).range(1000..))]
    pub chunk_size: u64,
}

/// A fraction in [0, 1] (NaN, negative and above-one values refused at parse time).
pub fn fraction(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} is not a fraction between 0 and 1"))
    }
}

/// A finite number that is not negative.
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be a finite number >= 0"))
    }
}

impl PileupArgs {
    /// The settings to use: `--preset`'s when given, else `card`'s (else Illumina's), with
    /// every flag given on the command line put over them.
    pub fn resolve(&self, card: Option<&ModelCard>) -> PileupSettings {
        let base = match (self.preset, card) {
            (Some(p), _) => p.settings(),
            (None, Some(c)) => c.pileup_settings(),
            (None, None) => Preset::Illumina.settings(),
        };
        PileupSettings {
            preset: base.preset,
            min_mapq: self.min_mapq.unwrap_or(base.min_mapq),
            min_base_qual: self.min_base_qual.unwrap_or(base.min_base_qual),
            min_alt_count: self.min_alt_count.unwrap_or(base.min_alt_count),
            min_snv_fraction: self.min_snv_fraction.unwrap_or(base.min_snv_fraction),
            min_indel_fraction: self.min_indel_fraction.unwrap_or(base.min_indel_fraction),
            repeat_indel_fraction: self
                .repeat_indel_fraction
                .unwrap_or(base.repeat_indel_fraction),
            keep_supplementary: self.keep_supplementary || base.keep_supplementary,
            keep_duplicates: self.keep_duplicates || base.keep_duplicates,
        }
    }
}

#[derive(Args)]
struct CallArgs {
    /// Reference FASTA (plain or bgzipped, with .fai and .gzi).
    #[arg(long = "ref", value_name = "REF.fa[.gz]")]
    reference: PathBuf,
    /// Aligned reads: indexed BAM or CRAM (CRAM decoded with --ref).
    #[arg(long, value_name = "SAMPLE.bam|.cram")]
    reads: PathBuf,
    /// Output: `.vcf`, `.vcf.gz` (BGZF + .tbi index, .csi for contigs over 2^29 bp) or `-`
    /// for plain VCF on stdout. A FIFO or /dev/stdout is streamed into; a regular file is
    /// written under a temporary name and renamed when complete.
    #[arg(short, long, value_name = "OUT.vcf[.gz]|-")]
    output: String,
    /// Regions to call, samtools style, comma-separated (chr20:1,000,000-2,000,000,chr21);
    /// thousands separators are allowed.
    #[arg(long, value_name = "REGIONS", conflicts_with = "regions_file")]
    regions: Option<String>,
    /// Regions to call from a BED file (plain or gzipped).
    #[arg(long, value_name = "R.bed[.gz]")]
    regions_file: Option<PathBuf>,
    /// Worker threads.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Inference device: auto (CUDA when available), cpu, cuda, cuda:N, or several GPUs
    /// (cuda:0,cuda:1) fed from one queue.
    #[arg(long, default_value = "auto", value_parser = crate::model::parse_devices)]
    device: crate::model::Devices,
    /// Tensors per forward pass of the network.
    #[arg(long, default_value_t = crate::model::BATCH as u32,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    batch_size: u32,
    /// Score through one shared inference thread per device, fed by a bounded queue (always
    /// so on CUDA; on CPU each worker thread otherwise scores its own chunks).
    #[arg(long)]
    shared_scorer: bool,
    /// Model: a name (built in: illumina-wgs, the default; pacbio-hifi; ont-r10) or a directory
    /// with card.json + model.ot. Its card's preset sets the read filters and thresholds
    /// unless --preset or explicit flags say otherwise.
    #[arg(long, value_name = "NAME|PATH")]
    model: Option<String>,
    /// Also write a gVCF (variant records with <*> plus GQ-banded reference blocks); `.gz` = BGZF + .tbi.
    #[arg(long, value_name = "OUT.g.vcf.gz")]
    gvcf: Option<String>,
    /// GQ band lower bounds for merging gVCF reference blocks.
    #[arg(long, default_value = "0,1,2,3,5,7,10,15,20,30,40,50,60", value_parser = crate::gvcf::parse_bands)]
    gvcf_gq_bands: crate::gvcf::GqBands,
    /// Sample name for the VCF (default: the read groups' SM, else the file stem). In a file
    /// holding several samples, selects that sample's read groups.
    #[arg(long)]
    sample: Option<String>,
    /// Pool every sample of a multi-sample file into one column (refused by default).
    #[arg(long)]
    pool_samples: bool,
    /// Variant genotypes with QUAL below this are FILTER LowQual.
    #[arg(long, default_value_t = 3.0, value_parser = non_negative)]
    min_qual: f64,
    /// Contigs called haploid (one allele per site), comma-separated: chrX,chrY for a male
    /// sample (X,Y also finds chrX,chrY and the other way round).
    #[arg(long, value_name = "CONTIGS", value_delimiter = ',')]
    haploid_contigs: Vec<String>,
    /// BED of the pseudo-autosomal regions, called diploid on --haploid-contigs.
    #[arg(long, value_name = "PAR.bed", requires = "haploid_contigs")]
    par_bed: Option<PathBuf>,
    /// Phase heterozygous calls from the reads: phased GT (0|1) and FORMAT/PS, the position of
    /// the phase set's first variant [default: on for long reads (preset hifi or ont, from
    /// --preset or the model card), off for illumina].
    #[arg(long, overrides_with = "no_phase")]
    phase: bool,
    /// Do not phase (see --phase).
    #[arg(long, overrides_with = "phase")]
    no_phase: bool,
    /// No progress bar and no summary line on stderr.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print per-stage timings after the summary line.
    #[arg(short, long)]
    verbose: bool,
    /// Clinical regions (BED; e.g. exons of actionable genes, named in the 4th column):
    /// variant calls inside must meet --clinical-min-gq and --clinical-min-depth or get
    /// FILTER ClinicalGate, and bases below the depth gate go to the not-callable BED.
    #[arg(long, value_name = "BED")]
    clinical_regions: Option<PathBuf>,
    /// GQ a variant call inside --clinical-regions needs (calibrated GQ 20: 1 in 100 claimed;
    /// 0.16% observed on held-out data).
    #[arg(long, default_value_t = 20, requires = "clinical_regions",
          value_parser = clap::value_parser!(u32).range(0..=99))]
    clinical_min_gq: u32,
    /// Reads passing the read filters a base (and a call) inside --clinical-regions needs
    /// (20: a heterozygous allele then shows at least 5 reads 99.4% of the time).
    #[arg(long, default_value_t = 20, requires = "clinical_regions",
          value_parser = clap::value_parser!(u32).range(1..))]
    clinical_min_depth: u32,
    /// Where the not-callable BED goes (default: beside the VCF, OUT.not_callable.bed).
    #[arg(long, value_name = "OUT.bed", requires = "clinical_regions")]
    not_callable: Option<String>,
    /// Write a self-contained HTML run report (inline SVG plots: depth, VAF, GQ, Ti/Tv,
    /// indel lengths, FILTER counts, clinical-region coverage).
    #[arg(long, value_name = "report.html")]
    report: Option<String>,
    /// Write a run manifest (JSON): software, every parameter, input and output checksums,
    /// host and times; the VCF header records the SHA-256 of its inputs part.
    #[arg(long, value_name = "run.json")]
    manifest: Option<String>,
    /// With --manifest: also hash the reads and reference files whole and every contig's
    /// sequence (slow on a 100 GB BAM; by default: header, size and index only, and the
    /// called contigs).
    #[arg(long, requires = "manifest")]
    hash_inputs: bool,
    /// Reassemble active windows (indels, soft clips, mismatch clusters) with a de Bruijn
    /// graph and realign their reads to the best haplotypes before finding candidates
    /// [default: on for the illumina preset, off for hifi and ont].
    #[arg(long, conflicts_with = "no_realign")]
    realign: bool,
    /// Use the aligner's alignments as they are (no local assembly).
    #[arg(long)]
    no_realign: bool,
    #[command(flatten)]
    pileup: PileupArgs,
}

/// Every flag of `callvar call` with its effective value (as given, or the default) and
/// where it came from, read back from the command line with clap: the manifest's
/// `parameters`. New flags appear without being listed here.
fn call_parameters() -> Result<serde_json::Value> {
    use clap::parser::ValueSource;
    use clap::CommandFactory;
    let cmd = Cli::command();
    let m = cmd
        .clone()
        .try_get_matches_from(std::env::args_os())
        .context("re-reading the command line")?;
    let (Some(("call", sub)), Some(call)) = (m.subcommand(), cmd.find_subcommand("call")) else {
        bail!("re-reading the command line: not a call command");
    };
    let mut map = serde_json::Map::new();
    for arg in call.get_arguments() {
        let id = arg.get_id().as_str();
        let Ok(raw) = sub.try_get_raw(id) else {
            continue;
        };
        let value = raw.map(|v| {
            v.map(|s| s.to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        let source = match sub.value_source(id) {
            Some(ValueSource::CommandLine) => "command line",
            Some(ValueSource::DefaultValue) => "default",
            Some(ValueSource::EnvVariable) => "environment",
            _ => "not given",
        };
        let name = arg
            .get_long()
            .map_or_else(|| id.to_string(), |l| format!("--{l}"));
        map.insert(name, serde_json::json!({"value": value, "source": source}));
    }
    Ok(serde_json::Value::Object(map))
}

/// The exact command line, shell-quoted where needed, for provenance headers.
pub fn command_line() -> String {
    shell_join(std::env::args())
}

/// Joins arguments into one shell line, quoting those that need it.
pub fn shell_join(args: impl IntoIterator<Item = String>) -> String {
    args.into_iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@".contains(c))
                && !a.is_empty()
            {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Regions from `--regions`/`--regions-file`, or every reference contig when neither is given.
pub fn resolve_regions(
    reference: &Reference,
    regions: Option<&str>,
    file: Option<&PathBuf>,
) -> Result<Vec<Region>> {
    let list = match (regions, file) {
        (Some(r), _) => region::parse_regions(r, &reference.contigs)?,
        (None, Some(f)) => region::read_bed_checked(f, &reference.contigs)?,
        (None, None) => reference
            .contigs
            .iter()
            .map(|(n, l)| Region::new(n, 0, *l))
            .collect(),
    };
    let merged = region::merge(list, &reference.contigs);
    if merged.is_empty() {
        match file {
            Some(f) => bail!("{}: no regions in the BED file", f.display()),
            None => bail!("no regions to call"),
        }
    }
    Ok(merged)
}

fn run_call(a: CallArgs) -> Result<i32> {
    let started = std::time::SystemTime::now();
    let command = command_line();
    if let Some(name) = &a.sample {
        crate::reads::check_sample_name(name).context("--sample")?;
    }
    crate::vcf::check_output_name("--output", &a.output)?;
    if let Some(g) = &a.gvcf {
        crate::vcf::check_output_name("--gvcf", g)?;
        if g == &a.output {
            bail!("--gvcf must name a different file from --output");
        }
    }
    let not_callable = match (&a.clinical_regions, &a.not_callable) {
        (None, _) => None,
        (Some(_), Some(p)) => Some(p.clone()),
        (Some(_), None) => Some(crate::clinical::default_bed_path(&a.output).context(
            "--clinical-regions: the VCF goes to a stream; name the not-callable BED with --not-callable",
        )?),
    };
    let mut side = Vec::new();
    for (flag, dest) in [
        ("--not-callable", &not_callable),
        ("--report", &a.report),
        ("--manifest", &a.manifest),
    ] {
        if let Some(d) = dest {
            side.push(crate::side_output::SideFile::prepare(flag, d)?);
        }
    }
    let reference = Reference::open(&a.reference)?;
    let choice = SampleChoice {
        name: a.sample.clone(),
        pool: a.pool_samples,
    };
    let model = match (&a.model, a.pileup.preset) {
        (Some(m), _) => Model::find(Some(m))?,
        (None, Some(p)) => Model::find(Some(p.default_model()))
            .with_context(|| format!("--preset {}: no --model given", p.name()))?,
        (None, None) => Model::find(None)?,
    };
    let pileup = a.pileup.resolve(Some(&model.card));
    let alignments = Alignments::open_sample(&a.reads, &reference, pileup.read_filter(), &choice)?;
    let regions = resolve_regions(&reference, a.regions.as_deref(), a.regions_file.as_ref())?;
    let ploidy = PloidyMap::new(&a.haploid_contigs, a.par_bed.as_deref(), &reference.contigs)?;
    let mut contigs: Vec<&str> = regions.iter().map(|r| r.contig.as_str()).collect();
    contigs.dedup();
    alignments.check_reference_md5(&contigs)?;
    let mut inputs = vec![a.reference.clone(), a.reads.clone()];
    inputs.extend(reference.index_files());
    inputs.push(alignments.index.clone());
    inputs.extend(a.regions_file.clone());
    inputs.extend(a.par_bed.clone());
    inputs.extend(a.clinical_regions.clone());
    if model.source != "embedded" {
        let dir = PathBuf::from(&model.source);
        inputs.extend([dir.join("card.json"), dir.join("model.ot")]);
    }
    let mut outputs = Vec::new();
    for (flag, dest) in [("--output", Some(&a.output)), ("--gvcf", a.gvcf.as_ref())] {
        for p in dest
            .map(|d| crate::vcf::output_paths(d, &reference.contigs))
            .unwrap_or_default()
        {
            outputs.push((flag, p));
        }
    }
    outputs.extend(side.iter().filter_map(|f| Some((f.flag, f.dest()?))));
    output::check_not_input(&outputs, &inputs)?;
    crate::side_output::check_distinct(&outputs)?;
    let sample = alignments.sample.clone().unwrap_or_else(|| {
        a.reads
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "SAMPLE".into())
    });
    crate::reads::check_sample_name(&sample)
        .with_context(|| format!("{}: sample name from the file name", a.reads.display()))?;
    // measured (benches/realign.sh): realignment helps Illumina reads and, with models
    // trained on the aligner's alignments, costs HiFi an indel
    let realign = a.realign || (!a.no_realign && pileup.preset == Preset::Illumina.name());
    let settings = CallSettings {
        candidates: pileup.candidate_config(),
        min_qual: a.min_qual,
        ploidy,
        devices: a.device.0.clone(),
        batch_size: a.batch_size as usize,
        shared_scorer: a.shared_scorer,
        chunk_size: a.pileup.chunk_size,
        threads: a.threads as usize,
        quiet: a.quiet,
        gvcf_bands: a.gvcf_gq_bands.0.clone(),
        phase: match (a.phase, a.no_phase) {
            (true, _) => true,
            (_, true) => false,
            _ => pileup.long_reads(),
        },
        realign,
    };
    let gates = match &a.clinical_regions {
        Some(p) => Some(crate::clinical::Gates::load(
            p,
            &reference.contigs,
            a.clinical_min_gq,
            a.clinical_min_depth,
        )?),
        None => None,
    };
    let mut take = |flag: &str| {
        side.iter()
            .position(|f| f.flag == flag)
            .map(|i| side.remove(i))
    };
    let (bed_file, report_file, manifest_file) =
        (take("--not-callable"), take("--report"), take("--manifest"));
    let manifest = match manifest_file {
        Some(file) => {
            let called: Vec<String> = if a.hash_inputs {
                reference.contigs.iter().map(|c| c.0.clone()).collect()
            } else {
                contigs.iter().map(|c| c.to_string()).collect()
            };
            let mut files = Vec::new();
            files.extend(a.regions_file.clone().map(|p| ("--regions-file", p)));
            files.extend(
                a.clinical_regions
                    .clone()
                    .map(|p| ("--clinical-regions", p)),
            );
            let bp: u64 = regions.iter().map(Region::len).sum();
            Some(crate::manifest::ManifestJob {
                file,
                facts: crate::manifest::InputFacts {
                    command_line: &command,
                    parameters: call_parameters()?,
                    resolved: serde_json::json!({
                        "sample": sample,
                        "regions": regions.len(),
                        "regions_bp": bp,
                        "chunks": region::chunks(&regions, a.pileup.chunk_size).len(),
                        // read filters and candidate thresholds in effect (preset, model
                        // card, then flags); fractions as text: the digested part holds no
                        // floats
                        "pileup": {
                            "preset": pileup.preset,
                            "min_mapq": pileup.min_mapq,
                            "min_base_qual": pileup.min_base_qual,
                            "min_alt_count": pileup.min_alt_count,
                            "min_snv_fraction": pileup.min_snv_fraction.to_string(),
                            "min_indel_fraction": pileup.min_indel_fraction.to_string(),
                            "repeat_indel_fraction": pileup.repeat_indel_fraction.to_string(),
                            "keep_supplementary": pileup.keep_supplementary,
                            "keep_duplicates": pileup.keep_duplicates,
                        },
                        "realign": realign,
                    }),
                    model: &model,
                    reference: &reference,
                    alignments: &alignments,
                    contigs: called,
                    files,
                    hash_inputs: a.hash_inputs,
                },
                started,
            })
        }
        None => None,
    };
    let job = CallJob {
        reference: &reference,
        alignments: &alignments,
        model: &model,
        regions,
        output: &a.output,
        gvcf_output: a.gvcf.as_deref(),
        sample,
        command_line: command.clone(),
        extras: crate::deliver::Extras {
            clinical: gates.as_ref().zip(bed_file),
            report: report_file,
            manifest,
        },
    };
    let summary = call::run(job, &settings)?;
    if !a.quiet {
        let mut outs = vec![if a.output == "-" {
            "stdout".to_string()
        } else {
            a.output.clone()
        }];
        outs.extend(a.gvcf.clone());
        outs.extend(not_callable.clone());
        outs.extend(a.report.clone());
        outs.extend(a.manifest.clone());
        eprintln!(
            "callvar: {} records ({} PASS) in {:.1} s on {}; wrote {}",
            summary.records,
            summary.pass,
            started.elapsed().unwrap_or_default().as_secs_f64(),
            summary.device,
            outs.join(", ")
        );
        for note in &summary.notes {
            eprintln!("callvar: {note}");
        }
        for note in alignments.notes() {
            eprintln!("callvar: note: {note}");
        }
        if a.verbose {
            eprintln!(
                "callvar: model {} ({}); {}",
                model.card.name,
                model.source,
                pileup.describe()
            );
            let phasing = if settings.phase { "on" } else { "off" };
            eprintln!("callvar: read-backed phasing {phasing}");
            for (stage, secs) in &summary.stages {
                eprintln!("callvar: stage {stage}: {secs:.2} s (summed over threads)");
            }
            for (step, secs) in &summary.steps {
                eprintln!("callvar: step {step}: {secs:.2} s (wall)");
            }
            match summary.realign {
                Some(c) => eprintln!(
                    "callvar: realign: on: {} active windows, {} assembled, {} reads realigned",
                    c.windows, c.assembled, c.reads_changed
                ),
                None => eprintln!("callvar: realign: off"),
            }
        }
    }
    Ok(0)
}

#[derive(Args)]
struct ShardsArgs {
    /// Reference FASTA (plain or bgzipped, with .fai and .gzi).
    #[arg(long = "ref", value_name = "REF.fa[.gz]")]
    reference: PathBuf,
    /// Aligned reads: indexed BAM or CRAM; work per shard is estimated from the index.
    #[arg(long, value_name = "SAMPLE.bam|.cram")]
    reads: PathBuf,
    /// Number of shards (fewer when the regions hold fewer chunks).
    #[arg(short = 'n', long = "shards", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    shards: u32,
    /// Folder for shard-0001.bed … and plan.tsv (created; must not hold a plan already).
    #[arg(long, value_name = "DIR")]
    output_dir: PathBuf,
    /// Regions to call, as `call --regions` (default: every contig).
    #[arg(long, value_name = "REGIONS", conflicts_with = "regions_file")]
    regions: Option<String>,
    /// Regions to call from a BED file (plain or gzipped), as `call --regions-file`.
    #[arg(long, value_name = "R.bed[.gz]")]
    regions_file: Option<PathBuf>,
    /// Chunk size of the grid shards are cut on; give `call` the same value.
    #[arg(long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1000..))]
    chunk_size: u64,
    /// No summary line on stderr.
    #[arg(short, long)]
    quiet: bool,
}

fn run_shards(a: ShardsArgs) -> Result<i32> {
    let reference = Reference::open(&a.reference)?;
    let any_sample = crate::reads::SampleChoice {
        name: None,
        pool: true,
    };
    let alignments = Alignments::open_sample(
        &a.reads,
        &reference,
        Preset::Illumina.settings().read_filter(), // planning reads only the index
        &any_sample,
    )?;
    let regions = resolve_regions(&reference, a.regions.as_deref(), a.regions_file.as_ref())?;
    let s = crate::shards::run(crate::shards::PlanJob {
        alignments: &alignments,
        contigs: &reference.contigs,
        regions,
        shards: a.shards as usize,
        chunk_size: a.chunk_size,
        output_dir: a.output_dir.clone(),
    })?;
    if !a.quiet {
        let work: Vec<f64> = s.plan.shards.iter().map(|x| x.work).collect();
        let mean = work.iter().sum::<f64>() / work.len() as f64;
        let max = work.iter().cloned().fold(0.0, f64::max);
        eprintln!(
            "callvar: {} shards of {} chunks ({} bp grid) in {}; estimated work (from {}) max/mean {:.2}",
            s.plan.shards.len(),
            s.chunks,
            s.plan.chunk_size,
            a.output_dir.join(crate::shards::PLAN_FILE).display(),
            s.index.display(),
            if mean > 0.0 { max / mean } else { 1.0 }
        );
    }
    Ok(0)
}

#[derive(Args)]
struct MergeArgs {
    /// Reference FASTA the shards were called on (checked by MD5; spells trimmed gVCF blocks).
    #[arg(long = "ref", value_name = "REF.fa[.gz]")]
    reference: PathBuf,
    /// The plan from `callvar shards` (its plan.tsv): every shard must be given once.
    #[arg(long, value_name = "plan.tsv")]
    plan: PathBuf,
    /// Output: `.vcf`, `.vcf.gz` (BGZF + index) or `-`, as `call --output`.
    #[arg(short, long, value_name = "OUT.vcf[.gz]|-")]
    output: String,
    /// The shards are gVCFs (`call --gvcf` outputs): stitch reference blocks across shards.
    #[arg(long)]
    gvcf: bool,
    /// No summary line on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// The shards' outputs of `callvar call`, in any order.
    #[arg(required = true, value_name = "SHARD.vcf.gz")]
    shards: Vec<PathBuf>,
}

fn run_merge(a: MergeArgs) -> Result<i32> {
    crate::vcf::check_output_name("--output", &a.output)?;
    let reference = Reference::open(&a.reference)?;
    let plan = crate::shards::Plan::read(&a.plan, &reference.contigs)?;
    let s = crate::merge::run(crate::merge::MergeJob {
        reference: &reference,
        plan: &plan,
        plan_path: &a.plan,
        inputs: &a.shards,
        output: &a.output,
        gvcf: a.gvcf,
        command_line: command_line(),
    })?;
    if !a.quiet {
        eprintln!(
            "callvar: merged {} shards, {} records into {}",
            s.shards,
            s.records,
            if a.output == "-" { "stdout" } else { &a.output }
        );
    }
    Ok(0)
}

pub fn run() -> Result<i32> {
    let cli = crate::version::parse::<Cli>();
    crate::reads::silence_htslib();
    output::install_signal_cleanup()?;
    match cli.command {
        Command::Call(a) => run_call(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Shards(a) => run_shards(a),
        Command::Merge(a) => run_merge(a),
        Command::Calibrate(a) => crate::calibrate::run(a),
        Command::Somatic(a) => crate::somatic::run(a),
    }
}
