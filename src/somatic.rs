//! `callvar somatic`: tumour-normal and tumour-only calling. Each chunk of the genome reads
//! its two labelled read sources (tumour, and normal when given), measures the chunk's
//! background error profile on them, proposes candidates from the tumour's reads at low
//! allele fractions, collects every tumour and normal read's evidence for each candidate
//! allele (no depth cap) and weighs it with [`crate::somatic_stats`], giving one
//! [`SomaticCall`] per allele worth reporting. The same region engine, chunk grid, ordered
//! output, atomic outputs and provenance header as `call`; the germline resource and panel
//! of normals are read here too (alleles normalised the way candidates are).
use crate::candidates::{self, Candidate, CandidateConfig, ReadSupports, Site, Support};
use crate::cigar::{self, AltAllele};
use crate::output;
use crate::reads::{Alignments, Read, ReadFilter, ReadSource, SampleChoice};
use crate::reference::{base_index, ContigCache, RefReader, RefWindow, Reference};
use crate::region::{self, IntervalSet, Pos0, Region, RegionProcessor};
use crate::somatic_stats::{
    self as stats, ErrorProfile, Evidence, GermlinePrior, Priors, ReadObs, SiteTally, Verdict,
};
use crate::vcf::{self, Provenance, VcfWriter};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Reference bases fetched beyond a chunk's reads (context and repeat lookups).
const REF_MARGIN: u64 = 256;
/// Alleles with a TLOD below this are not written at all (Mutect2 emits from 3).
pub const EMIT_TLOD: f64 = 2.0;
/// A call gets `StrandBias` when its alt reads' strands are unlike the reference reads'
/// (p-value below [`STRAND_P`]) and nearly all on one strand (at most [`STRAND_MINOR`] of
/// them on the other): a read-orientation artifact, not a chance imbalance of a deep site.
pub const STRAND_P: f64 = 1e-4;
pub const STRAND_MINOR: f64 = 0.1;
/// Calls within this many bases of a germline indel, or of an indel with
/// [`NEAR_INDEL_AF_RATIO`] times their tumour allele fraction, get `NearIndel`.
pub const NEAR_INDEL: u64 = 10;
pub const NEAR_INDEL_AF_RATIO: f64 = 4.0;
/// A germline or artifact posterior at least this large, and above the somatic one,
/// names the FILTER.
const EXPLAINS: f64 = 0.05;

#[derive(Args)]
pub struct SomaticArgs {
    /// Reference FASTA (plain or bgzipped, with .fai and .gzi).
    #[arg(long = "ref", value_name = "REF.fa[.gz]")]
    reference: PathBuf,
    /// Tumour reads: indexed BAM or CRAM.
    #[arg(long, value_name = "T.bam|.cram")]
    tumor: PathBuf,
    /// Normal reads of the same individual (indexed BAM or CRAM); without it, tumour-only
    /// mode: germline alleles are told by their allele fraction (about 0.5 or 1) and their
    /// population frequency.
    #[arg(long, value_name = "N.bam|.cram")]
    normal: Option<PathBuf>,
    /// Output: `.vcf`, `.vcf.gz` (BGZF + index) or `-`, as `call --output`.
    #[arg(short, long, value_name = "OUT.vcf[.gz]|-")]
    output: String,
    /// Regions to call, samtools style, comma-separated.
    #[arg(long, value_name = "REGIONS", conflicts_with = "regions_file")]
    regions: Option<String>,
    /// Regions to call from a BED file (plain or gzipped).
    #[arg(long, value_name = "R.bed[.gz]")]
    regions_file: Option<PathBuf>,
    /// Worker threads (the output does not depend on them).
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Lowest tumour allele fraction to report: candidates need half of it (sampling noise
    /// at low depth), and alleles below half of it are not written.
    #[arg(long, default_value_t = 0.02, value_parser = crate::cli::fraction)]
    min_vaf: f32,
    /// Somatic calls with QUAL (Phred probability of not being somatic) below this get
    /// FILTER LowEvidence.
    #[arg(long, default_value_t = 5.0, value_parser = crate::cli::non_negative)]
    min_qual: f64,
    /// Tumour sample name for the VCF (default: its read groups' SM, else the file stem);
    /// in a file holding several samples, selects that sample's read groups.
    #[arg(long, value_name = "NAME")]
    tumor_sample: Option<String>,
    /// Normal sample name, as --tumor-sample.
    #[arg(long, value_name = "NAME", requires = "normal")]
    normal_sample: Option<String>,
    /// Population allele frequencies (VCF with INFO AF, e.g. gnomAD; read whole, then kept
    /// for the regions called): the germline prior of each allele it lists; alleles it does
    /// not list are given a population frequency of 1e-6.
    #[arg(long, value_name = "POP.vcf[.gz]")]
    germline_resource: Option<PathBuf>,
    /// Panel of normals (VCF): alleles it lists get FILTER PanelOfNormals.
    #[arg(long, value_name = "PON.vcf[.gz]")]
    panel_of_normals: Option<PathBuf>,
    /// Skip reads with mapping quality below this.
    #[arg(long, default_value_t = 20, value_name = "N")]
    min_mapq: u8,
    /// Bases with quality below this are not evidence.
    #[arg(long, default_value_t = 10, value_name = "Q")]
    min_base_qual: u8,
    /// Genome chunk size in bp: the unit of parallel work, and the span each background
    /// error profile is measured on (the output never depends on --threads).
    #[arg(long, default_value_t = 100_000, hide_short_help = true,
          value_parser = clap::value_parser!(u64).range(1000..))]
    chunk_size: u64,
    /// No summary line on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// One sample's counts at a call: its genotype, the reads carrying REF and ALT, and the
/// reads that cover the site.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleCounts {
    pub gt: &'static str,
    pub ref_reads: u32,
    pub alt_reads: u32,
    pub depth: u32,
}

impl SampleCounts {
    /// ALT reads over REF + ALT reads.
    pub fn af(&self) -> f64 {
        let n = self.ref_reads + self.alt_reads;
        if n == 0 {
            0.0
        } else {
            self.alt_reads as f64 / n as f64
        }
    }
}

/// One allele's somatic record.
#[derive(Clone, Debug, PartialEq)]
pub struct SomaticCall {
    pub contig: String,
    pub pos: Pos0,
    pub reference: String,
    pub alt: String,
    pub qual: f64,
    /// FILTER values; empty is PASS.
    pub filters: Vec<&'static str>,
    /// INFO SOMATIC: the allele is best explained as somatic (even when filtered).
    pub somatic: bool,
    pub tlod: f64,
    pub nlod: Option<f64>,
    /// Population allele frequency from the germline resource, when it lists the allele.
    pub popaf: Option<f64>,
    /// Tumour, then normal.
    pub samples: Vec<SampleCounts>,
}

/// The FILTER IDs `somatic` writes, with their header descriptions.
pub const FILTERS: [(&str, &str); 6] = [
    ("Germline", "More likely a germline allele than somatic: evidence in the normal, a tumour allele fraction near 0.5 or 1 (tumour-only), or a common allele in --germline-resource"),
    ("NormalArtifact", "More likely an artifact shared with the normal (alt reads in the normal at a low fraction) than somatic"),
    ("PanelOfNormals", "Allele listed in --panel-of-normals"),
    ("LowEvidence", "QUAL (Phred probability of not being somatic) below --min-qual"),
    ("NearIndel", "Within 10 bp of a germline indel (FILTER Germline in this output) or of an indel with 4 times this allele's tumour fraction, where reads misaligned around the indel show mismatches and spurious indels"),
    ("StrandBias", "Alt reads (90% or more) on one strand, unlike the reference reads (two-sided binomial p < 0.0001)"),
];

/// Alleles from a VCF (germline resource or panel of normals), normalised, with the
/// population AF when the record has one.
#[derive(Default)]
pub struct AlleleTable {
    alleles: HashMap<(String, u64, AltAllele), Option<f64>>,
}

impl AlleleTable {
    /// Reads the records of `path` overlapping `regions`, each ALT normalised against the
    /// reference (MNPs split into SNVs; complex alleles skipped). AF is INFO AF (one value
    /// per ALT).
    pub fn load(path: &Path, reference: &Reference, regions: &[Region]) -> Result<Self> {
        let (_, records) = vcf::read_vcf(path)?;
        let within = IntervalSet::new(regions);
        let mut seqs = ContigCache::new(reference)?;
        let mut alleles = HashMap::new();
        for r in &records {
            if !within.overlaps(&r.contig, r.pos, r.pos + r.reference.len() as u64) {
                continue;
            }
            let refw = seqs.get(&r.contig).with_context(|| {
                format!("{}: line {}: contig '{}'", path.display(), r.line, r.contig)
            })?;
            let afs = info_floats(&r.text, "AF");
            for (k, alt) in r.alts.iter().enumerate() {
                if !alt.bytes().all(|b| b"ACGTN".contains(&b)) || alt.is_empty() {
                    continue;
                }
                let Ok(norm) =
                    cigar::normalize(r.pos, r.reference.as_bytes(), alt.as_bytes(), refw)
                else {
                    continue;
                };
                for (pos, a) in norm {
                    alleles.insert((r.contig.clone(), pos, a), afs.get(k).copied().flatten());
                }
            }
        }
        Ok(AlleleTable { alleles })
    }

    /// Whether the table lists the allele, and its AF.
    pub fn get(&self, contig: &str, pos: u64, allele: &AltAllele) -> Option<Option<f64>> {
        self.alleles
            .get(&(contig.to_string(), pos, allele.clone()))
            .copied()
    }
}

/// The values of INFO `key` in a VCF data line (`None` for `.` or unparsable ones).
pub fn info_floats(line: &str, key: &str) -> Vec<Option<f64>> {
    let Some(info) = line.split('\t').nth(7) else {
        return Vec::new();
    };
    info.split(';')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.split(',').map(|x| x.parse().ok()).collect())
        .unwrap_or_default()
}

/// Settings of one run.
pub struct SomaticSettings {
    pub candidates: CandidateConfig,
    pub min_vaf: f64,
    pub min_qual: f64,
    pub priors: Priors,
    pub chunk_size: u64,
    pub threads: usize,
}

struct SomaticCaller<'a> {
    reference: &'a Reference,
    tumor: &'a Alignments,
    normal: Option<&'a Alignments>,
    germline: Option<&'a AlleleTable>,
    pon: Option<&'a AlleleTable>,
    settings: &'a SomaticSettings,
}

/// A chunk's calls, and how many normal reads start in it.
pub struct ChunkSomatic {
    pub calls: Vec<SomaticCall>,
    pub normal_reads: u64,
}

impl RegionProcessor for SomaticCaller<'_> {
    type State = (ReadSource, Option<ReadSource>, RefReader);
    type Output = ChunkSomatic;

    fn init(&self) -> Result<Self::State> {
        Ok((
            self.tumor.reader()?,
            self.normal.map(Alignments::reader).transpose()?,
            self.reference.reader()?,
        ))
    }

    fn process(&self, (t, n, refr): &mut Self::State, chunk: &Region) -> Result<ChunkSomatic> {
        let (treads, refw) = t.fetch(chunk, refr, REF_MARGIN)?;
        let normal = match n {
            Some(n) => Some(n.fetch(chunk, refr, REF_MARGIN)?),
            None => None,
        };
        let normal_reads = normal.as_ref().map_or(0, |(r, _)| {
            r.iter().filter(|r| r.start >= chunk.start.0).count() as u64
        });
        let calls = call_chunk(
            chunk,
            &treads,
            normal.as_ref().map(|(r, w)| (r.as_slice(), w)),
            &refw,
            self,
        );
        Ok(ChunkSomatic {
            calls,
            normal_reads,
        })
    }
}

/// Homopolymer length starting at `pos` (the bases equal to the one at `pos`).
fn homopolymer(refw: &RefWindow, pos: u64) -> usize {
    let b = refw.base(pos);
    (pos..pos + stats::MAX_HOMOPOLYMER as u64)
        .take_while(|&p| refw.base(p) == b)
        .count()
}

/// Trinucleotide context code of `pos` (prev, ref, next), when all three are ACGT.
fn context(refw: &RefWindow, pos: u64) -> Option<usize> {
    let c = |p: u64| base_index(refw.base(p));
    Some(c(pos.checked_sub(1)?)? * 16 + c(pos)? * 4 + c(pos + 1)?)
}

/// The chunk's background error profile, from every read of both samples.
pub fn error_profile(
    chunk: &Region,
    samples: &[(&[Read], &RefWindow)],
    min_base_qual: u8,
) -> ErrorProfile {
    let (cs, ce) = (chunk.start.0, chunk.end.0);
    let n = (ce - cs) as usize;
    let mut tallies = vec![SiteTally::default(); n];
    let mut indels: BTreeMap<(u64, cigar::IndelKind), u32> = BTreeMap::new();
    for (reads, _) in samples {
        for r in reads.iter() {
            for b in &r.blocks {
                let (bs, be) = (b.ref_start.max(cs), (b.ref_start + b.len as u64).min(ce));
                for p in bs..be {
                    let q = (b.read_start as u64 + p - b.ref_start) as usize;
                    let t = &mut tallies[(p - cs) as usize];
                    t.spanning += 1;
                    let bq = r.qual.get(q).copied().unwrap_or(0);
                    if bq >= min_base_qual {
                        if let Some(i) = base_index(r.seq[q]) {
                            t.counts[i] += 1;
                            t.expected += stats::phred_error(bq) / 3.0;
                        }
                    }
                }
            }
            for d in &r.indels {
                if d.anchor >= cs && d.anchor < ce {
                    *indels.entry((d.anchor, d.kind.clone())).or_default() += 1;
                }
            }
        }
    }
    for ((p, _), k) in indels {
        tallies[(p - cs) as usize].indels.push(k);
    }
    let refw = samples.first().map(|s| s.1);
    let mut profile = ErrorProfile::default();
    if let Some(refw) = refw {
        for (i, t) in tallies.iter_mut().enumerate() {
            let p = cs + i as u64;
            let Some(code) = base_index(refw.base(p)) else {
                continue;
            };
            t.context = context(refw, p);
            t.homopolymer = homopolymer(refw, p + 1);
            profile.add_site(code, t);
        }
    }
    profile
}

/// One alternate allele of a candidate, with what its reads' error rates depend on.
struct AlleleSite<'a> {
    /// Index of the allele among the candidate's.
    k: usize,
    allele: &'a AltAllele,
    pos: u64,
    context: Option<usize>,
    homopolymer: usize,
    /// [`stats::indel_length_factor`] of an indel allele.
    indel_length_factor: f64,
}

/// What one read says about alt `k` of a candidate: `None` when it carries neither that
/// allele nor the reference (or is not informative).
fn observe(
    read: &Read,
    support: Option<Support>,
    a: &AlleleSite,
    profile: &ErrorProfile,
) -> Option<ReadObs> {
    let alt = match support? {
        Support::Ref => false,
        // an indel read counts for the allele only when it carries exactly that allele
        // at this anchor (reads are left-aligned): the same-length indel elsewhere in the
        // repeat, which germline calling accepts, would count one low-fraction allele's
        // reads for a neighbour too
        Support::Alt(j) if j == a.k => {
            if a.allele.is_indel()
                && read
                    .indel_at(a.pos)
                    .is_none_or(|d| &AltAllele::from(d.kind.clone()) != a.allele)
            {
                return None;
            }
            true
        }
        _ => return None,
    };
    let error = match a.allele {
        AltAllele::Snv(b) => {
            let q = read.base_at(a.pos).map_or(0, |(_, q)| q);
            profile.snv_error(a.context, base_index(*b).unwrap_or(0), q, read.mapq)
        }
        _ => profile.indel_error(a.homopolymer, read.mapq) * a.indel_length_factor,
    };
    Some(ReadObs {
        alt,
        error,
        forward: !read.reverse,
    })
}

/// The supports of the normal's reads at a candidate.
fn normal_supports(reads: &[Read], site: &Site, max_span: u64, min_bq: u8) -> ReadSupports {
    candidates::covering(reads, max_span, site.cand.pos.0)
        .into_iter()
        .map(|i| (i, candidates::read_support(&reads[i], site, min_bq)))
        .collect()
}

/// The calls of one chunk, in position order (alleles of one site most supported first).
fn call_chunk(
    chunk: &Region,
    treads: &[Read],
    normal: Option<(&[Read], &RefWindow)>,
    refw: &RefWindow,
    c: &SomaticCaller,
) -> Vec<SomaticCall> {
    let s = c.settings;
    let mut samples = vec![(treads, refw)];
    samples.extend(normal);
    let profile = error_profile(chunk, &samples, s.candidates.min_base_qual);
    let n_span = normal.map_or(0, |(r, _)| {
        r.iter().map(|r| r.end - r.start).max().unwrap_or(0)
    });
    let mut out = Vec::new();
    for (cand, supports) in candidates::find(chunk, treads, refw, &s.candidates) {
        let p = cand.pos.0;
        let site = Site::new(&cand, refw);
        let nsup = normal.map(|(r, _)| {
            (
                r,
                normal_supports(r, &site, n_span, s.candidates.min_base_qual),
            )
        });
        for (k, allele) in cand.alts.iter().enumerate() {
            let a = AlleleSite {
                k,
                allele,
                pos: p,
                context: context(refw, p),
                homopolymer: homopolymer(refw, p + 1),
                indel_length_factor: match allele {
                    AltAllele::Snv(_) => 1.0,
                    AltAllele::Ins(s) => stats::indel_length_factor(
                        s.len() as u64,
                        cigar::repeat_end(p, allele, refw) - p - 1,
                    ),
                    AltAllele::Del(n) => stats::indel_length_factor(
                        *n as u64,
                        cigar::repeat_end(p, allele, refw) - p - 1,
                    ),
                },
            };
            let tobs: Vec<ReadObs> = supports
                .iter()
                .filter_map(|&(i, sup)| observe(&treads[i], sup, &a, &profile))
                .collect();
            let tumor = Evidence::new(&tobs);
            if tumor.af() < s.min_vaf / 2.0 {
                continue;
            }
            let nev = nsup.as_ref().map(|(r, sup)| {
                let obs: Vec<ReadObs> = sup
                    .iter()
                    .filter_map(|&(i, x)| observe(&r[i], x, &a, &profile))
                    .collect();
                (Evidence::new(&obs), sup.len() as u32)
            });
            let listed = c
                .germline
                .and_then(|g| g.get(&cand.contig, p, &cand.alts[k]));
            let germ = match (c.germline, listed) {
                (Some(_), Some(Some(af))) => GermlinePrior::from_af(af),
                (Some(_), None) => GermlinePrior::from_af(stats::ABSENT_GERMLINE_AF),
                _ => GermlinePrior::genome_average(),
            };
            let v = stats::classify(&tumor, nev.as_ref().map(|(e, _)| e), germ, &s.priors);
            if v.tlod < EMIT_TLOD {
                continue;
            }
            let in_pon = c
                .pon
                .is_some_and(|t| t.get(&cand.contig, p, &cand.alts[k]).is_some());
            let one = Candidate {
                alts: vec![cand.alts[k].clone()],
                ..cand.clone()
            };
            let (reference, alts) = one.vcf_alleles(refw);
            let filters = filters_of(&v, in_pon, s.min_qual);
            let germline = filters.contains(&"Germline");
            let mut counts = vec![SampleCounts {
                gt: "0/1",
                ref_reads: tumor.reference,
                alt_reads: tumor.alt,
                depth: cand.depth,
            }];
            if let Some((e, depth)) = &nev {
                counts.push(SampleCounts {
                    gt: if germline { "0/1" } else { "0/0" },
                    ref_reads: e.reference,
                    alt_reads: e.alt,
                    depth: *depth,
                });
            }
            out.push(SomaticCall {
                contig: cand.contig.clone(),
                pos: cand.pos,
                reference,
                alt: alts.into_iter().next().unwrap_or_default(),
                qual: v.qual,
                somatic: v.p_somatic >= v.p_germline.max(v.p_artifact),
                filters,
                tlod: v.tlod,
                nlod: v.nlod,
                popaf: listed.flatten(),
                samples: counts,
            });
        }
    }
    flag_near_indels(&mut out);
    out
}

/// Adds `NearIndel` to every call that is not itself germline within [`NEAR_INDEL`] bases
/// of a germline indel of the same chunk, or of an indel with [`NEAR_INDEL_AF_RATIO`] times
/// its tumour allele fraction.
fn flag_near_indels(calls: &mut [SomaticCall]) {
    let span = |c: &SomaticCall| (c.pos.0, c.pos.0 + c.reference.len() as u64);
    let tumor_af = |c: &SomaticCall| c.samples.first().map_or(0.0, SampleCounts::af);
    let indels: Vec<(usize, u64, u64, bool, f64)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.reference.len() != c.alt.len())
        .map(|(i, c)| {
            let (s, e) = span(c);
            (i, s, e, c.filters.contains(&"Germline"), tumor_af(c))
        })
        .collect();
    for (i, c) in calls.iter_mut().enumerate() {
        if c.filters.contains(&"Germline") {
            continue;
        }
        let (s, e) = span(c);
        let af = tumor_af(c);
        let near = indels.iter().any(|&(j, is, ie, germline, iaf)| {
            j != i
                && s < ie + NEAR_INDEL
                && is < e + NEAR_INDEL
                && (germline || iaf >= NEAR_INDEL_AF_RATIO * af)
        });
        if near {
            let at = c
                .filters
                .iter()
                .position(|f| *f == "StrandBias")
                .unwrap_or(c.filters.len());
            c.filters.insert(at, "NearIndel");
        }
    }
}

/// The FILTER values of a verdict (empty: PASS).
pub fn filters_of(v: &Verdict, in_pon: bool, min_qual: f64) -> Vec<&'static str> {
    let mut f = Vec::new();
    if v.p_germline >= EXPLAINS && v.p_germline > v.p_somatic && v.p_germline >= v.p_artifact {
        f.push("Germline");
    }
    if v.p_artifact >= EXPLAINS && v.p_artifact > v.p_somatic && v.p_artifact > v.p_germline {
        f.push("NormalArtifact");
    }
    if in_pon {
        f.push("PanelOfNormals");
    }
    if v.qual < min_qual {
        f.push("LowEvidence");
    }
    if v.strand_p < STRAND_P && v.strand_minor <= STRAND_MINOR {
        f.push("StrandBias");
    }
    f
}

/// Inputs and outputs of a run.
pub struct SomaticJob<'a> {
    pub reference: &'a Reference,
    pub tumor: &'a Alignments,
    pub normal: Option<&'a Alignments>,
    pub germline: Option<&'a AlleleTable>,
    pub pon: Option<&'a AlleleTable>,
    pub regions: Vec<Region>,
    pub output: &'a str,
    /// Tumour, then normal.
    pub samples: Vec<String>,
    pub command_line: String,
}

/// What a finished run reports.
pub struct SomaticSummary {
    pub records: u64,
    pub pass: u64,
}

/// Runs the caller and writes the VCF: complete, or not in place.
pub fn run_job(job: SomaticJob, settings: &SomaticSettings) -> Result<SomaticSummary> {
    let provenance = Provenance {
        sample: job.samples.join(","),
        command_line: job.command_line.clone(),
        reference_path: output::absolute(&job.reference.path),
        reference_md5: job.reference.file_md5()?,
        model_name: "somatic-statistics".into(),
        model_version: env!("CARGO_PKG_VERSION").into(),
        model_sha256: "none".into(),
        model_calibration: "none".into(),
        device: "cpu".into(),
        contigs: job.reference.contigs.clone(),
        regions: job.regions.clone(),
        chunk_size: settings.chunk_size,
        median_depth: None,
        phased: false,
    };
    let header = vcf::somatic_header(&provenance, &job.samples, job.germline.is_some())?;
    let chunks = region::chunks(&job.regions, settings.chunk_size);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build()
        .context("thread pool")?;
    let caller = SomaticCaller {
        reference: job.reference,
        tumor: job.tumor,
        normal: job.normal,
        germline: job.germline,
        pon: job.pon,
        settings,
    };
    let mut writer = VcfWriter::create(job.output, header, false)?;
    let (mut records, mut pass, mut normal_reads) = (0u64, 0u64, 0u64);
    pool.install(|| {
        region::run_ordered(
            &caller,
            &chunks,
            settings.threads * 4,
            |_, out| {
                for c in &out.calls {
                    writer.write_somatic(c)?;
                    pass += u64::from(c.filters.is_empty());
                }
                records += out.calls.len() as u64;
                normal_reads += out.normal_reads;
                Ok(())
            },
            |_| {},
        )
    })?;
    if let Some(n) = job.normal {
        if normal_reads == 0 {
            bail!(
                "{}: no reads pass the filters over the regions called (wrong normal, or regions it does not cover?)",
                n.path.display()
            );
        }
    }
    writer.finish()?.commit()?;
    Ok(SomaticSummary { records, pass })
}

/// The sample name of `a`: `given`, else its read groups' SM, else the file stem.
fn sample_name(a: &Alignments, given: Option<&str>) -> Result<String> {
    let name = given.map(str::to_string).or_else(|| a.sample.clone());
    let name = name.unwrap_or_else(|| {
        a.path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "SAMPLE".into())
    });
    crate::reads::check_sample_name(&name)
        .with_context(|| format!("{}: sample name", a.path.display()))?;
    Ok(name)
}

/// Whether two paths are the same file (device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    matches!((id(a), id(b)), (Some(x), Some(y)) if x == y)
}

/// `callvar somatic`.
pub fn run(a: SomaticArgs) -> Result<i32> {
    let started = std::time::Instant::now();
    vcf::check_output_name("--output", &a.output)?;
    for n in [&a.tumor_sample, &a.normal_sample].into_iter().flatten() {
        crate::reads::check_sample_name(n).context("--tumor-sample/--normal-sample")?;
    }
    if let Some(n) = &a.normal {
        if same_file(&a.tumor, n) {
            bail!(
                "{} and {}: --tumor and --normal are the same file",
                a.tumor.display(),
                n.display()
            );
        }
    }
    let reference = Reference::open(&a.reference)?;
    let filter = ReadFilter {
        min_mapq: a.min_mapq,
        keep_supplementary: false,
        keep_duplicates: false,
    };
    let choice = |name: &Option<String>| SampleChoice {
        name: name.clone(),
        pool: false,
    };
    let tumor = Alignments::open_sample(
        &a.tumor,
        &reference,
        filter.clone(),
        &choice(&a.tumor_sample),
    )?;
    let normal = match &a.normal {
        Some(p) => Some(Alignments::open_sample(
            p,
            &reference,
            filter,
            &choice(&a.normal_sample),
        )?),
        None => None,
    };
    let regions =
        crate::cli::resolve_regions(&reference, a.regions.as_deref(), a.regions_file.as_ref())?;
    let mut contigs: Vec<&str> = regions.iter().map(|r| r.contig.as_str()).collect();
    contigs.dedup();
    tumor.check_reference_md5(&contigs)?;
    let mut samples = vec![sample_name(&tumor, a.tumor_sample.as_deref())?];
    if let Some(n) = &normal {
        tumor.check_same_reference(n)?;
        n.check_reference_md5(&contigs)?;
        let name = sample_name(n, a.normal_sample.as_deref())?;
        if name == samples[0] {
            bail!(
                "{} and {}: tumour and normal have the same sample name '{name}' (the same sample twice? name them with --tumor-sample/--normal-sample if not)",
                a.tumor.display(),
                n.path.display()
            );
        }
        samples.push(name);
    }
    let mut inputs = vec![a.reference.clone(), a.tumor.clone(), tumor.index.clone()];
    inputs.extend(reference.index_files());
    inputs.extend(
        normal
            .iter()
            .flat_map(|n| [n.path.clone(), n.index.clone()]),
    );
    inputs.extend(a.regions_file.clone());
    inputs.extend(a.germline_resource.clone());
    inputs.extend(a.panel_of_normals.clone());
    let outputs: Vec<(&str, PathBuf)> = vcf::output_paths(&a.output, &reference.contigs)
        .into_iter()
        .map(|p| ("--output", p))
        .collect();
    output::check_not_input(&outputs, &inputs)?;
    let germline = a
        .germline_resource
        .as_deref()
        .map(|p| AlleleTable::load(p, &reference, &regions))
        .transpose()?;
    let pon = a
        .panel_of_normals
        .as_deref()
        .map(|p| AlleleTable::load(p, &reference, &regions))
        .transpose()?;
    let settings = SomaticSettings {
        candidates: CandidateConfig {
            min_base_qual: a.min_base_qual,
            min_alt_count: 2,
            min_snv_fraction: a.min_vaf / 2.0,
            min_indel_fraction: a.min_vaf / 2.0,
            repeat_indel_fraction: 0.0,
        },
        min_vaf: a.min_vaf as f64,
        min_qual: a.min_qual,
        priors: stats::DEFAULT_PRIORS,
        chunk_size: a.chunk_size,
        threads: a.threads as usize,
    };
    let s = run_job(
        SomaticJob {
            reference: &reference,
            tumor: &tumor,
            normal: normal.as_ref(),
            germline: germline.as_ref(),
            pon: pon.as_ref(),
            regions,
            output: &a.output,
            samples,
            command_line: crate::cli::command_line(),
        },
        &settings,
    )?;
    if !a.quiet {
        eprintln!(
            "callvar: {} somatic records ({} PASS) in {:.1} s ({}); wrote {}",
            s.records,
            s.pass,
            started.elapsed().as_secs_f64(),
            if normal.is_some() {
                "tumour-normal"
            } else {
                "tumour-only"
            },
            if a.output == "-" { "stdout" } else { &a.output }
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_values_are_read_per_allele() {
        let line = "chr1\t5\t.\tA\tC,G\t.\tPASS\tDP=3;AF=0.25,.;SOMATIC\tGT";
        assert_eq!(info_floats(line, "AF"), vec![Some(0.25), None]);
        assert_eq!(info_floats(line, "DP"), vec![Some(3.0)]);
        assert!(info_floats(line, "VAF").is_empty());
        assert!(info_floats("chr1\t5", "AF").is_empty());
    }

    #[test]
    fn reference_context_and_homopolymers() {
        let w = RefWindow {
            start: 10,
            seq: b"ACGTTTTGNA".to_vec(),
        };
        assert_eq!(context(&w, 11), Some(6)); // A C G: 0 * 16 + 1 * 4 + 2
        assert_eq!(context(&w, 10), None); // 9 is outside the window: N
        assert_eq!(context(&w, 17), None); // next to N
        assert_eq!(homopolymer(&w, 13), 4);
        assert_eq!(homopolymer(&w, 12), 1);
    }

    #[test]
    fn calls_near_indels_are_flagged() {
        let call = |pos: u64, r: &str, a: &str, filters: Vec<&'static str>| SomaticCall {
            contig: "chr1".into(),
            pos: Pos0(pos),
            reference: r.into(),
            alt: a.into(),
            qual: 30.0,
            filters,
            somatic: true,
            tlod: 10.0,
            nlod: None,
            popaf: None,
            samples: vec![SampleCounts {
                gt: "0/1",
                ref_reads: 90,
                alt_reads: 10,
                depth: 100,
            }],
        };
        let with_af = |mut c: SomaticCall, alt: u32| {
            c.samples[0].alt_reads = alt;
            c.samples[0].ref_reads = 100 - alt;
            c
        };
        let mut calls = vec![
            call(100, "A", "C", vec![]),
            call(105, "ACGT", "A", vec!["Germline"]),
            call(112, "C", "T", vec!["StrandBias"]),
            call(119, "C", "T", vec![]),
            call(125, "G", "T", vec!["Germline"]),
            // a somatic insertion at 40%: flags the 2% SNV beside it, not the 20% one
            with_af(call(200, "G", "GTT", vec![]), 40),
            with_af(call(203, "C", "A", vec![]), 2),
            with_af(call(205, "C", "A", vec![]), 20),
        ];
        flag_near_indels(&mut calls);
        let f: Vec<Vec<&str>> = calls.iter().map(|c| c.filters.clone()).collect();
        assert_eq!(f[0], vec!["NearIndel"]);
        assert_eq!(f[1], vec!["Germline"]);
        assert_eq!(f[2], vec!["NearIndel", "StrandBias"]);
        assert!(f[3].is_empty()); // 10 bases past the deletion's last base
        assert_eq!(f[4], vec!["Germline"]);
        assert!(f[5].is_empty());
        assert_eq!(f[6], vec!["NearIndel"]);
        assert!(f[7].is_empty());
    }

    #[test]
    fn filters_follow_the_posteriors() {
        let v = |s: f64, g: f64, a: f64, qual: f64, strand_p: f64| Verdict {
            tlod: 10.0,
            nlod: None,
            p_somatic: s,
            p_germline: g,
            p_artifact: a,
            qual,
            strand_p,
            strand_minor: 0.0,
        };
        assert!(filters_of(&v(0.999, 0.0, 0.0, 30.0, 0.5), false, 10.0).is_empty());
        assert_eq!(
            filters_of(&v(0.1, 0.9, 0.0, 0.4, 0.5), false, 10.0),
            vec!["Germline", "LowEvidence"]
        );
        assert_eq!(
            filters_of(&v(0.2, 0.0, 0.8, 1.0, 1e-5), true, 10.0),
            vec![
                "NormalArtifact",
                "PanelOfNormals",
                "LowEvidence",
                "StrandBias"
            ]
        );
    }
}
