//! VCF output (noodles-vcf): the header with full provenance (callvar version, command line,
//! reference path and MD5, model name, version, SHA-256 and calibration, the median depth
//! and the tier rule), one record per [`Call`] (diploid or haploid GT; INFO: its tier and
//! the context features behind it), and the output discipline: `-` is plain VCF on stdout;
//! `*.vcf.gz` is BGZF with a `.tbi` beside it; files are written under a temporary name and
//! renamed only when complete.
use crate::genotype::{Call, Ploidy};
use crate::gvcf::RefBlock;
use crate::output::{self, Target, Temp};
use crate::region::{Pos0, Pos1};
use anyhow::{Context, Result};
use noodles_core::Position;
use noodles_vcf::{
    self as vcf,
    header::record::value::{
        map::{
            format::Number as FNumber, format::Type as FType, info::Number as INumber,
            info::Type as IType, AlternativeAllele, Contig, Filter, Format, Info, Other,
        },
        Map,
    },
    variant::io::Write as _,
    variant::record_buf::samples::{sample::Value, Keys},
    variant::record_buf::{AlternateBases, Filters, Samples},
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the header records about the run.
#[derive(Clone, Debug)]
pub struct Provenance {
    pub sample: String,
    pub command_line: String,
    pub reference_path: String,
    pub reference_md5: String,
    pub model_name: String,
    pub model_version: String,
    pub model_sha256: String,
    /// The model card's calibration (`temperature T`, or `none`).
    pub model_calibration: String,
    /// The inference device actually used (`cpu`, `cuda:0`).
    pub device: String,
    pub contigs: Vec<(String, u64)>,
    /// The regions called (merged, in reference order) and the chunk grid they were cut on:
    /// `callvar merge` checks shards against its plan with them.
    pub regions: Vec<crate::region::Region>,
    pub chunk_size: u64,
    /// The sample's median depth (the tiers' depth ratio; 0 = unknown), written as
    /// `##callvarMedianDepth`; `None` for headers without tiers (somatic).
    pub median_depth: Option<f64>,
    /// Heterozygous calls are read-backed phased (the header defines FORMAT/PS).
    pub phased: bool,
}

/// The VCF header; with `gvcf`, also the `<*>` allele, `END` and `MIN_DP` of reference blocks.
pub fn header(p: &Provenance, gvcf: bool) -> Result<vcf::Header> {
    let mut b = vcf::Header::builder()
        .set_file_format(vcf::header::FileFormat::new(4, 3))
        .add_filter("PASS", Map::<Filter>::new("All filters passed"))
        .add_filter(
            "RefCall",
            Map::<Filter>::new("Genotype call is homozygous reference"),
        )
        .add_filter(
            "LowQual",
            Map::<Filter>::new("Variant genotype with QUAL below --min-qual"),
        )
        .add_filter(
            "HetInHaploid",
            Map::<Filter>::new(
                "Haploid site whose reads look heterozygous: a diploid heterozygous genotype is more likely than every haploid one (a mismapped paralog, contamination, or a sample not haploid here)",
            ),
        )
        .add_info(
            "TIER",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Integer,
                format!(
                    "Confidence tier: 1 report, 2 review, 3 research only. {}",
                    crate::tiers::RULE.describe()
                ),
            ),
        )
        .add_info(
            "TIER_FLAGS",
            Map::<Info>::new(
                INumber::Unknown,
                IType::String,
                "Context features out of range (see TIER): repeat, mapq, mismatch, depth, balance, strand",
            ),
        )
        .add_info(
            "RPT",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Integer,
                "Longest homopolymer or tandem repeat (unit 1-6 bp, two copies or more) touching the site, bp",
            ),
        )
        .add_info(
            "MQ",
            Map::<Info>::new(INumber::Count(1), IType::Float, "Mean mapping quality of the reads covering the site"),
        )
        .add_info(
            "MQ20",
            Map::<Info>::new(INumber::Count(1), IType::Float, "Fraction of the reads covering the site with mapping quality below 20"),
        )
        .add_info(
            "AMM",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Float,
                "Mismatches and indels per 100 aligned bases of the reads supporting an alternate allele, off the site (paralog signal)",
            ),
        )
        .add_info(
            "DPR",
            Map::<Info>::new(INumber::Count(1), IType::Float, "DP over the sample's median depth (##callvarMedianDepth)"),
        )
        .add_info(
            "AB",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Float,
                "Allele balance of a heterozygous genotype: reads of its second allele over the reads of both",
            ),
        )
        .add_info(
            "FS",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Float,
                "Phred-scaled Fisher exact test of strand bias (reference vs alternate reads, forward vs reverse)",
            ),
        )
        .add_format(
            "GT",
            Map::<Format>::new(FNumber::Count(1), FType::String, "Genotype"),
        )
        .add_format(
            "GQ",
            Map::<Format>::new(
                FNumber::Count(1),
                FType::Integer,
                "Conditional genotype quality",
            ),
        )
        .add_format(
            "DP",
            Map::<Format>::new(FNumber::Count(1), FType::Integer, "Read depth"),
        )
        .add_format(
            "AD",
            Map::<Format>::new(
                FNumber::ReferenceAlternateBases,
                FType::Integer,
                "Read depth for each allele",
            ),
        )
        .add_format(
            "VAF",
            Map::<Format>::new(
                FNumber::AlternateBases,
                FType::Float,
                "Variant allele fractions",
            ),
        )
        .add_format(
            "PL",
            Map::<Format>::new(
                FNumber::Samples,
                FType::Integer,
                "Phred-scaled genotype posteriors normalised to the best genotype, rounded to the closest integer (overlapping records: of the best compatible configuration giving each genotype)",
            ),
        );
    if p.phased {
        b = b.add_format(
            "PS",
            Map::<Format>::new(
                FNumber::Count(1),
                FType::Integer,
                "Phase set: the 1-based position of the first variant of the read-backed phase block (GT with | is phased within it)",
            ),
        );
    }
    if gvcf {
        b = b
            .add_info(
                "END",
                Map::<Info>::new(INumber::Count(1), IType::Integer, "Last position of the reference block (1-based)"),
            )
            .add_format(
                "MIN_DP",
                Map::<Format>::new(FNumber::Count(1), FType::Integer, "Minimum read depth over the reference block"),
            )
            .add_alternative_allele(
                "*",
                Map::<AlternativeAllele>::new("Any allele other than those listed (reference blocks and <*> in variant records)"),
            );
    }
    b = provenance_lines(b, p)?;
    Ok(b.add_sample_name(p.sample.as_str()).build())
}

/// The contigs and the provenance lines (`##source`, `##callvarCommand`, reference, regions,
/// model) every callvar VCF header carries.
fn provenance_lines(mut b: vcf::header::Builder, p: &Provenance) -> Result<vcf::header::Builder> {
    use vcf::header::record::Value as HV;
    for (name, len) in &p.contigs {
        let mut c = Map::<Contig>::new();
        *c.length_mut() = Some(*len as usize);
        b = b.add_contig(name.as_str(), c);
    }
    let other = |b: vcf::header::Builder, k: &str, v: String| -> Result<vcf::header::Builder> {
        Ok(b.insert(k.parse().context("header key")?, HV::from(v))?)
    };
    b = other(
        b,
        "source",
        format!("callvar {}", env!("CARGO_PKG_VERSION")),
    )?;
    b = other(b, "callvarCommand", p.command_line.clone())?;
    b = other(b, "reference", format!("file://{}", p.reference_path))?;
    b = other(b, "callvarReferenceMD5", p.reference_md5.clone())?;
    b = other(b, "callvarDevice", p.device.clone())?;
    b = other(
        b,
        "callvarRegions",
        crate::region::format_regions(&p.regions, &p.contigs),
    )?;
    b = other(b, "callvarChunkSize", p.chunk_size.to_string())?;
    b = other(b, "callvarCalibration", p.model_calibration.clone())?;
    if let Some(median) = p.median_depth {
        b = other(b, "callvarMedianDepth", format!("{median}"))?;
    }
    let mut model = Map::<Other>::new();
    for (tag, value) in [("Version", &p.model_version), ("SHA256", &p.model_sha256)] {
        let tag = tag
            .parse()
            .map_err(|_| anyhow::anyhow!("header tag {tag}"))?;
        model.other_fields_mut().insert(tag, value.clone());
    }
    b = b.insert(
        "callvarModel".parse().context("header key")?,
        HV::Map(p.model_name.clone(), model),
    )?;
    Ok(b)
}

/// The header of `callvar somatic`: one sample column per name (tumour, then normal), the
/// somatic FILTERs, INFO SOMATIC/TLOD/NLOD (and POPAF with a germline resource), FORMAT
/// GT/AD/DP/AF, and the provenance lines of [`header`].
pub fn somatic_header(p: &Provenance, samples: &[String], popaf: bool) -> Result<vcf::Header> {
    let mut b = vcf::Header::builder()
        .set_file_format(vcf::header::FileFormat::new(4, 3))
        .add_filter("PASS", Map::<Filter>::new("All filters passed"));
    for (id, description) in crate::somatic::FILTERS {
        b = b.add_filter(id, Map::<Filter>::new(description));
    }
    b = b
        .add_info(
            "SOMATIC",
            Map::<Info>::new(INumber::Count(0), IType::Flag, "The allele is best explained as somatic (posterior above germline and normal artifact), whatever its FILTER"),
        )
        .add_info(
            "TLOD",
            Map::<Info>::new(INumber::Count(1), IType::Float, "log10 likelihood ratio of the tumour reads: somatic (allele fraction integrated over a log-uniform prior) against background error"),
        );
    if samples.len() > 1 {
        b = b.add_info(
            "NLOD",
            Map::<Info>::new(INumber::Count(1), IType::Float, "log10 likelihood ratio of the normal reads: no variant against the tumour's allele fraction"),
        );
    }
    if popaf {
        b = b.add_info(
            "POPAF",
            Map::<Info>::new(
                INumber::Count(1),
                IType::Float,
                "Population allele frequency from --germline-resource",
            ),
        );
    }
    b = b
        .add_format(
            "GT",
            Map::<Format>::new(FNumber::Count(1), FType::String, "Genotype"),
        )
        .add_format(
            "AD",
            Map::<Format>::new(
                FNumber::ReferenceAlternateBases,
                FType::Integer,
                "Reads carrying REF and ALT",
            ),
        )
        .add_format(
            "DP",
            Map::<Format>::new(FNumber::Count(1), FType::Integer, "Reads covering the site"),
        )
        .add_format(
            "AF",
            Map::<Format>::new(
                FNumber::AlternateBases,
                FType::Float,
                "ALT reads over REF and ALT reads",
            ),
        );
    b = provenance_lines(b, p)?;
    for s in samples {
        b = b.add_sample_name(s.as_str());
    }
    Ok(b.build())
}

/// A somatic call's record.
fn somatic_record(c: &crate::somatic::SomaticCall) -> Result<vcf::variant::RecordBuf> {
    use noodles_vcf::variant::record_buf::info::field::Value as IValue;
    let keys: Keys = ["GT", "AD", "DP", "AF"]
        .into_iter()
        .map(String::from)
        .collect();
    let round = |x: f64, k: f64| ((x * k).round() / k) as f32;
    let mut values = Vec::new();
    for s in &c.samples {
        values.push(vec![
            Some(Value::Genotype(s.gt.parse().context("genotype")?)),
            Some(Value::from(vec![
                Some(s.ref_reads as i32),
                Some(s.alt_reads as i32),
            ])),
            Some(Value::from(s.depth as i32)),
            Some(Value::from(vec![Some(round(s.af(), 1e4))])),
        ]);
    }
    let mut info: Vec<(String, Option<IValue>)> = Vec::new();
    if c.somatic {
        info.push(("SOMATIC".into(), Some(IValue::Flag)));
    }
    info.push(("TLOD".into(), Some(IValue::Float(round(c.tlod, 100.0)))));
    if let Some(n) = c.nlod {
        info.push(("NLOD".into(), Some(IValue::Float(round(n, 100.0)))));
    }
    if let Some(a) = c.popaf {
        info.push(("POPAF".into(), Some(IValue::Float(a as f32))));
    }
    let filters: Vec<String> = if c.filters.is_empty() {
        vec!["PASS".into()]
    } else {
        c.filters.iter().map(|f| f.to_string()).collect()
    };
    let pos = Position::try_from(Pos1::from(c.pos).0 as usize).context("position")?;
    Ok(vcf::variant::RecordBuf::builder()
        .set_reference_sequence_name(c.contig.as_str())
        .set_variant_start(pos)
        .set_reference_bases(c.reference.as_str())
        .set_alternate_bases(AlternateBases::from(vec![c.alt.clone()]))
        .set_quality_score(round(c.qual, 10.0))
        .set_filters(filters.into_iter().collect::<Filters>())
        .set_info(info.into_iter().collect())
        .set_samples(Samples::new(keys, values))
        .build())
}

/// The FILTER values of a call's record: its own, and `gate` (e.g. `ClinicalGate`) when it
/// failed one; a gate replaces PASS.
pub fn filters_of(call: &Call, gate: Option<&str>) -> Vec<String> {
    let own = call.genotype.filter.as_str();
    match gate {
        None => vec![own.to_string()],
        Some(g) if own == "PASS" => vec![g.to_string()],
        Some(g) => vec![own.to_string(), g.to_string()],
    }
}

/// Adds FILTER definitions and `##key=value` lines to a header built by [`header`].
pub fn extend_header(
    h: &mut vcf::Header,
    filters: &[(&str, String)],
    lines: &[(&str, String)],
) -> Result<()> {
    for (id, description) in filters {
        h.filters_mut()
            .insert(id.to_string(), Map::<Filter>::new(description.as_str()));
    }
    for (key, value) in lines {
        h.insert(
            key.parse().context("header key")?,
            vcf::header::record::Value::from(value.clone()),
        )?;
    }
    Ok(())
}

/// A call's record; in a gVCF, with `<*>` appended to ALT and AD, VAF and PL extended for it
/// (genotypes with `<*>` get the largest PL of the called alleles: never more likely).
fn record(call: &Call, gvcf: bool, gate: Option<&str>) -> Result<vcf::variant::RecordBuf> {
    let c = &call.candidate;
    let g = &call.genotype;
    let mut keys = vec!["GT", "GQ", "DP", "AD", "VAF", "PL"];
    if call.phase.is_some() {
        keys.push("PS");
    }
    let keys: Keys = keys.into_iter().map(String::from).collect();
    let depth = c.depth.max(1) as f32;
    let mut ad: Vec<u32> = c.allele_depths.clone();
    let mut pl = g.pl.clone();
    let mut alts = call.alts.clone();
    if gvcf {
        ad.push(0);
        let worst = pl.iter().copied().max().unwrap_or(0);
        // genotypes with <*>: one (haploid) or one per allele plus <*>/<*> (diploid)
        let added = match g.ploidy {
            Ploidy::Haploid => 1,
            Ploidy::Diploid => alts.len() + 2,
        };
        pl.extend(std::iter::repeat_n(worst, added));
        alts.push("<*>".to_string());
    }
    let (alleles, sep) = match &call.phase {
        Some(p) => (p.order(&g.alleles), "|"),
        None => (g.alleles.clone(), "/"),
    };
    let gt = alleles
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(sep);
    let mut values = vec![
        Some(Value::Genotype(gt.parse().context("genotype")?)),
        Some(Value::from(g.gq as i32)),
        Some(Value::from(c.depth as i32)),
        Some(Value::from(
            ad.iter().map(|&d| Some(d as i32)).collect::<Vec<_>>(),
        )),
        Some(Value::from(
            ad[1..]
                .iter()
                .map(|&d| Some((d as f32 / depth * 1e4).round() / 1e4))
                .collect::<Vec<_>>(),
        )),
        Some(Value::from(
            pl.iter().map(|&v| Some(v as i32)).collect::<Vec<_>>(),
        )),
    ];
    if let Some(p) = &call.phase {
        let ps = i32::try_from(p.set + 1).context("phase set beyond the VCF integer range")?;
        values.push(Some(Value::from(ps)));
    }
    let pos = Position::try_from(Pos1::from(c.pos).0 as usize).context("position")?;
    Ok(vcf::variant::RecordBuf::builder()
        .set_info(review_info(&call.review))
        .set_reference_sequence_name(c.contig.as_str())
        .set_variant_start(pos)
        .set_reference_bases(call.reference.as_str())
        .set_alternate_bases(AlternateBases::from(alts))
        .set_quality_score(((g.qual * 10.0).round() / 10.0) as f32)
        .set_filters(filters_of(call, gate).into_iter().collect::<Filters>())
        .set_samples(Samples::new(keys, vec![values]))
        .build())
}

/// Rounds to `digits` decimals (INFO floats stay short and the same on every machine).
fn rounded(x: f32, digits: i32) -> f32 {
    let k = 10f32.powi(digits);
    (x * k).round() / k
}

/// The INFO fields of a call's tier: TIER, TIER_FLAGS (when any) and the features.
fn review_info(r: &crate::tiers::Review) -> vcf::variant::record_buf::Info {
    use noodles_vcf::variant::record_buf::info::field::{value::Array, Value as IValue};
    let c = &r.context;
    let mut v: Vec<(String, Option<IValue>)> =
        vec![("TIER".into(), Some(IValue::Integer(r.tier.into())))];
    if !r.flags.is_empty() {
        let flags = r
            .flags
            .iter()
            .map(|f| Some(f.as_str().to_string()))
            .collect();
        v.push((
            "TIER_FLAGS".into(),
            Some(IValue::Array(Array::String(flags))),
        ));
    }
    v.push(("RPT".into(), Some(IValue::Integer(c.repeat as i32))));
    v.push(("MQ".into(), Some(IValue::Float(rounded(c.mean_mapq, 1)))));
    v.push(("MQ20".into(), Some(IValue::Float(rounded(c.low_mapq, 3)))));
    v.push((
        "AMM".into(),
        Some(IValue::Float(rounded(c.alt_mismatch, 2))),
    ));
    v.push(("DPR".into(), Some(IValue::Float(rounded(r.depth_ratio, 2)))));
    if let Some(ab) = r.balance {
        v.push(("AB".into(), Some(IValue::Float(rounded(ab, 3)))));
    }
    v.push(("FS".into(), Some(IValue::Float(rounded(r.strand, 1)))));
    v.into_iter().collect()
}

/// A gVCF reference block record: `<*>`, `END`, `GT:GQ:MIN_DP:PL` (`./.` without coverage);
/// haploid blocks are `0` (`.`) with the PL of 0/0 and 1/1 as those of 0 and 1.
fn block_record(contig: &str, b: &RefBlock, ref_base: u8) -> Result<vcf::variant::RecordBuf> {
    use noodles_vcf::variant::record_buf::info::field::Value as IValue;
    let keys: Keys = ["GT", "GQ", "MIN_DP", "PL"]
        .into_iter()
        .map(String::from)
        .collect();
    let (gt, pl) = match (b.haploid, b.no_call()) {
        (false, true) => ("./.", b.pl.to_vec()),
        (false, false) => ("0/0", b.pl.to_vec()),
        (true, true) => (".", vec![b.pl[0], b.pl[2]]),
        (true, false) => ("0", vec![b.pl[0], b.pl[2]]),
    };
    let values = vec![
        Some(Value::Genotype(gt.parse().context("genotype")?)),
        Some(Value::from(b.min_gq as i32)),
        Some(Value::from(b.min_dp as i32)),
        Some(Value::from(
            pl.iter().map(|&v| Some(v as i32)).collect::<Vec<_>>(),
        )),
    ];
    let info = [("END".to_string(), Some(IValue::Integer(b.end as i32)))]
        .into_iter()
        .collect();
    Ok(vcf::variant::RecordBuf::builder()
        .set_reference_sequence_name(contig)
        .set_variant_start(
            Position::try_from(Pos1::from(Pos0(b.start)).0 as usize).context("position")?,
        )
        .set_reference_bases(String::from_utf8_lossy(&[ref_base]).to_string())
        .set_alternate_bases(AlternateBases::from(vec!["<*>".to_string()]))
        .set_info(info)
        .set_samples(Samples::new(keys, vec![values]))
        .build())
}

/// The byte sink under the VCF writer: plain or BGZF, into a file or stdout.
enum Sink {
    Plain(std::io::BufWriter<Box<dyn Write + Send>>),
    Bgzf(noodles_bgzf::io::Writer<Box<dyn Write + Send>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Bgzf(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Bgzf(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Writes everything out (the BGZF end-of-file block included), checking every error
    /// rather than leaving the last bytes to a `Drop` that cannot report one.
    fn finish(self) -> std::io::Result<()> {
        let mut inner = match self {
            Sink::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Bgzf(w) => w.finish()?,
        };
        inner.flush()
    }
}

/// The largest position a `.tbi` index can hold (2^29 - 1); longer contigs need a `.csi`.
const TABIX_MAX_POSITION: u64 = (1 << 29) - 1;

/// A VCF being written. Dropped without [`VcfWriter::finish`], its temporary file is removed.
pub struct VcfWriter {
    writer: Option<vcf::io::Writer<Sink>>,
    header: vcf::Header,
    gvcf: bool,
    target: Target,
    /// The index written beside a BGZF regular file: `.tbi`, or `.csi` when a contig is too
    /// long for tabix (decided from the header before any record is written).
    index: Option<(PathBuf, Temp)>,
    shown: String,
}

/// A finished output whose files wait under temporary names for [`Finished::commit`].
pub struct Finished {
    files: Vec<(Temp, PathBuf)>,
    /// An index of the other kind beside the output, which would now be stale.
    stale: Option<PathBuf>,
}

impl Finished {
    /// The finished files (under their temporary names) with their final names.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &Path)> {
        self.files.iter().map(|(t, d)| (t.path(), d.as_path()))
    }

    /// Moves the files into place.
    pub fn commit(self) -> Result<()> {
        output::commit_all(self.files)?;
        if let Some(s) = self.stale {
            let _ = std::fs::remove_file(s);
        }
        Ok(())
    }
}

/// The paths a VCF output will occupy (the file and, for BGZF files, its index), for
/// checking that no input is among them.
pub fn output_paths(dest: &str, contigs: &[(String, u64)]) -> Vec<PathBuf> {
    if dest == "-" {
        return Vec::new();
    }
    let mut v = vec![PathBuf::from(dest)];
    if is_bgzf_name(dest) {
        v.push(PathBuf::from(format!("{dest}.{}", index_ext(contigs))));
    }
    v
}

fn is_bgzf_name(dest: &str) -> bool {
    dest.ends_with(".gz") || dest.ends_with(".bgz")
}

fn index_ext(contigs: &[(String, u64)]) -> &'static str {
    if contigs.iter().any(|(_, l)| *l > TABIX_MAX_POSITION) {
        "csi"
    } else {
        "tbi"
    }
}

/// Refuses output names callvar cannot honour (empty, BCF).
pub fn check_output_name(flag: &str, dest: &str) -> Result<()> {
    if dest.is_empty() {
        anyhow::bail!("{flag}: empty file name");
    }
    if dest.ends_with(".bcf") {
        anyhow::bail!(
            "{dest}: {flag}: BCF output is not supported; write .vcf.gz and convert with `bcftools view -Ob`"
        );
    }
    Ok(())
}

impl VcfWriter {
    /// Opens `dest` (see [`output::target`]) and writes the header; `gvcf` selects gVCF
    /// records. `.gz`/`.bgz` names are BGZF (indexed when a regular file).
    pub fn create(dest: &str, header: vcf::Header, gvcf: bool) -> Result<Self> {
        let target = output::target(dest)?;
        let raw: Box<dyn Write + Send> = match &target {
            Target::Stdout => Box::new(std::io::stdout()),
            Target::Stream(p) => Box::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .with_context(|| format!("{dest}: cannot open for writing"))?,
            ),
            Target::File { tmp, .. } => Box::new(
                std::fs::File::create(tmp.path())
                    .with_context(|| format!("{dest}: cannot create output file"))?,
            ),
        };
        let bgzf = is_bgzf_name(dest);
        let sink = if bgzf {
            Sink::Bgzf(noodles_bgzf::io::Writer::new(raw))
        } else {
            Sink::Plain(std::io::BufWriter::new(raw))
        };
        let index = match &target {
            Target::File { dest, .. } if bgzf => {
                let contigs: Vec<(String, u64)> = header
                    .contigs()
                    .iter()
                    .map(|(n, c)| (n.to_string(), c.length().unwrap_or(0) as u64))
                    .collect();
                let ipath = PathBuf::from(format!("{}.{}", dest.display(), index_ext(&contigs)));
                let t = Temp::beside(&ipath);
                Some((ipath, t))
            }
            _ => None,
        };
        let mut writer = vcf::io::Writer::new(sink);
        writer
            .write_header(&header)
            .with_context(|| format!("{dest}: write error"))?;
        Ok(VcfWriter {
            writer: Some(writer),
            header,
            gvcf,
            target,
            index,
            shown: dest.to_string(),
        })
    }

    /// Writes a call; one that failed `gate` (when given) gets that FILTER too: see
    /// [`filters_of`].
    pub fn write_gated(&mut self, call: &Call, gate: Option<&str>) -> Result<()> {
        let rec = record(call, self.gvcf, gate)?;
        self.write_record(&rec)
    }

    /// Writes a somatic call.
    pub fn write_somatic(&mut self, call: &crate::somatic::SomaticCall) -> Result<()> {
        let rec = somatic_record(call)?;
        self.write_record(&rec)
    }

    /// Writes a gVCF reference block.
    pub fn write_block(&mut self, contig: &str, block: &RefBlock, ref_base: u8) -> Result<()> {
        let rec = block_record(contig, block, ref_base)?;
        self.write_record(&rec)
    }

    /// Writes one record line exactly as given (`line` without its newline): `callvar merge`
    /// copies shard records byte for byte.
    pub fn write_line(&mut self, line: &str) -> Result<()> {
        let w = self.writer.as_mut().context("writer already finished")?;
        let sink = w.get_mut();
        sink.write_all(line.as_bytes())
            .and_then(|()| sink.write_all(b"\n"))
            .with_context(|| format!("{}: write error", self.shown))
    }

    fn write_record(&mut self, rec: &vcf::variant::RecordBuf) -> Result<()> {
        let w = self.writer.as_mut().context("writer already finished")?;
        w.write_variant_record(&self.header, rec)
            .with_context(|| format!("{}: write error", self.shown))
    }

    /// Completes the output: every byte written and checked, the index built, all under
    /// temporary names; [`Finished::commit`] moves them into place.
    pub fn finish(mut self) -> Result<Finished> {
        let w = self.writer.take().context("writer already finished")?;
        let shown = &self.shown;
        w.into_inner()
            .finish()
            .with_context(|| format!("{shown}: write error"))?;
        let Target::File { dest, tmp } = self.target else {
            return Ok(Finished {
                files: Vec::new(),
                stale: None,
            });
        };
        std::fs::File::open(tmp.path())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("{shown}: write error"))?;
        let mut files = vec![(tmp, dest.clone())];
        let mut stale = None;
        if let Some((ipath, itmp)) = self.index.take() {
            let index = vcf::fs::index(files[0].0.path())
                .with_context(|| format!("{shown}: cannot index"))?;
            write_index(&index, itmp.path())
                .with_context(|| format!("{}: write error", ipath.display()))?;
            let other = if ipath.extension().is_some_and(|e| e == "csi") {
                "tbi"
            } else {
                "csi"
            };
            stale = Some(PathBuf::from(format!("{}.{other}", dest.display())));
            files.push((itmp, ipath));
        }
        Ok(Finished { files, stale })
    }
}

/// Writes a `.tbi` or `.csi` to `path`, finishing its BGZF stream and syncing explicitly.
fn write_index(index: &vcf::Index, path: &Path) -> std::io::Result<()> {
    let f = std::fs::File::create(path)?;
    let f = match index {
        vcf::Index::Tabix(t) => {
            let mut w = noodles_tabix::io::Writer::new(f);
            w.write_index(t)?;
            w.into_inner().finish()?
        }
        vcf::Index::Csi(c) => {
            let mut w = noodles_csi::io::Writer::new(f);
            w.write_index(c)?;
            w.into_inner().finish()?
        }
    };
    f.sync_all()
}

/// One data line of a VCF, parsed loosely enough for truth sets and other callers' output.
#[derive(Clone, Debug)]
pub struct VcfRecord {
    /// 1-based line number in the file.
    pub line: usize,
    pub contig: String,
    /// 0-based POS.
    pub pos: u64,
    pub reference: String,
    pub alts: Vec<String>,
    pub qual: Option<f64>,
    pub filter: String,
    /// The sample's GT alleles (`None` = `.`), if there is a GT (first sample unless
    /// [`read_vcf_sample`] picked another).
    pub gt: Option<Vec<Option<usize>>>,
    /// The sample's GQ.
    pub gq: Option<f64>,
    /// The line as read.
    pub text: String,
}

impl VcfRecord {
    /// PASS or `.` filter.
    pub fn passes(&self) -> bool {
        self.filter == "PASS" || self.filter == "."
    }
}

/// Reads a VCF (plain or BGZF), returning its header lines and records (first sample's GT).
pub fn read_vcf(path: &Path) -> Result<(Vec<String>, Vec<VcfRecord>)> {
    read_vcf_sample(path, |_| Ok(0))
}

/// Like [`read_vcf`], with the GT and GQ of the sample `pick` chooses: it gets the sample
/// names of the `#CHROM` line (none when the file has no sample column) and returns an index.
pub fn read_vcf_sample(
    path: &Path,
    pick: impl FnOnce(&[&str]) -> Result<usize>,
) -> Result<(Vec<String>, Vec<VcfRecord>)> {
    use std::io::{BufRead, BufReader, Read};
    let shown = path.display();
    let mut f = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open VCF"))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .with_context(|| format!("{shown}: cannot read"))?;
    drop(f);
    let file = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open VCF"))?;
    let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::new(noodles_bgzf::io::Reader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut header = Vec::new();
    let mut records = Vec::new();
    let mut pick = Some(pick);
    let mut sample = None;
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| {
            format!(
                "{shown}: line {}: unreadable (truncated or not BGZF?)",
                i + 1
            )
        })?;
        if line.starts_with('#') {
            if line.starts_with("#CHROM") {
                if let Some(pick) = pick.take() {
                    let names: Vec<&str> = line.split('\t').skip(9).collect();
                    sample = Some(pick(&names)?);
                }
            }
            header.push(line);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let s = match sample {
            Some(s) => s,
            // a record before any #CHROM line: the file names no samples
            None => *sample.insert(pick.take().map_or(Ok(0), |p| p(&[]))?),
        };
        records
            .push(parse_line(&line, i + 1, s).with_context(|| format!("{shown}: line {}", i + 1))?);
    }
    if !header
        .first()
        .is_some_and(|h| h.starts_with("##fileformat=VCF"))
    {
        anyhow::bail!("{shown}: not a VCF (no ##fileformat line)");
    }
    Ok((header, records))
}

/// Parses one data line; GT and GQ come from sample column `sample` (0 = the first).
fn parse_line(line: &str, n: usize, sample: usize) -> Result<VcfRecord> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() < 8 {
        anyhow::bail!(
            "expected at least 8 tab-separated columns, found {}",
            f.len()
        );
    }
    let pos: u64 = f[1]
        .parse()
        .ok()
        .filter(|&p| p >= 1)
        .with_context(|| format!("bad POS '{}'", f[1]))?;
    let (mut gt, mut gq) = (None, None);
    if let Some(column) = f.get(9 + sample) {
        let keys: Vec<&str> = f[8].split(':').collect();
        let vals: Vec<&str> = column.split(':').collect();
        for (k, v) in keys.iter().zip(vals.iter()) {
            match *k {
                "GT" => {
                    gt = Some(
                        v.split(['/', '|'])
                            .map(|a| a.parse::<usize>().ok())
                            .collect(),
                    );
                }
                "GQ" => gq = v.parse().ok(),
                _ => {}
            }
        }
    }
    Ok(VcfRecord {
        line: n,
        contig: f[0].to_string(),
        pos: pos - 1,
        reference: f[3].to_ascii_uppercase(),
        alts: if f[4] == "." {
            vec![]
        } else {
            f[4].split(',').map(|a| a.to_ascii_uppercase()).collect()
        },
        qual: f[5].parse().ok(),
        filter: f[6].to_string(),
        gt,
        gq,
        text: line.to_string(),
    })
}
