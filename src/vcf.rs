//! VCF output (noodles-vcf): the header with full provenance (callvar version, command line,
//! reference path and MD5, model name, version and SHA-256), one record per [`Call`], and
//! the output discipline: `-` is plain VCF on stdout; `*.vcf.gz` is BGZF with a `.tbi`
//! beside it; files are written under a temporary name and renamed only when complete.
use crate::genotype::Call;
use crate::gvcf::RefBlock;
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
    pub contigs: Vec<(String, u64)>,
}

/// The VCF header; with `gvcf`, also the `<*>` allele, `END` and `MIN_DP` of reference blocks.
pub fn header(p: &Provenance, gvcf: bool) -> Result<vcf::Header> {
    use vcf::header::record::Value as HV;
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
                "Phred-scaled genotype likelihoods rounded to the closest integer",
            ),
        );
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
    Ok(b.add_sample_name(p.sample.as_str()).build())
}

/// A call's record; in a gVCF, with `<*>` appended to ALT and AD, VAF and PL extended for it
/// (genotypes with `<*>` get the largest PL of the called alleles: never more likely).
fn record(call: &Call, gvcf: bool) -> Result<vcf::variant::RecordBuf> {
    let c = &call.candidate;
    let g = &call.genotype;
    let keys: Keys = ["GT", "GQ", "DP", "AD", "VAF", "PL"]
        .into_iter()
        .map(String::from)
        .collect();
    let depth = c.depth.max(1) as f32;
    let mut ad: Vec<u32> = c.allele_depths.clone();
    let mut pl = g.pl.clone();
    let mut alts = call.alts.clone();
    if gvcf {
        ad.push(0);
        let worst = pl.iter().copied().max().unwrap_or(0);
        pl.extend(std::iter::repeat_n(worst, alts.len() + 2));
        alts.push("<*>".to_string());
    }
    let gt = format!("{}/{}", g.alleles[0], g.alleles[1]);
    let values = vec![
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
    let pos = Position::try_from(Pos1::from(c.pos).0 as usize).context("position")?;
    Ok(vcf::variant::RecordBuf::builder()
        .set_reference_sequence_name(c.contig.as_str())
        .set_variant_start(pos)
        .set_reference_bases(call.reference.as_str())
        .set_alternate_bases(AlternateBases::from(alts))
        .set_quality_score(((g.qual * 10.0).round() / 10.0) as f32)
        .set_filters(
            [g.filter.as_str().to_string()]
                .into_iter()
                .collect::<Filters>(),
        )
        .set_samples(Samples::new(keys, vec![values]))
        .build())
}

/// A gVCF reference block record: `<*>`, `END`, `GT:GQ:MIN_DP:PL` (`./.` without coverage).
fn block_record(contig: &str, b: &RefBlock, ref_base: u8) -> Result<vcf::variant::RecordBuf> {
    use noodles_vcf::variant::record_buf::info::field::Value as IValue;
    let keys: Keys = ["GT", "GQ", "MIN_DP", "PL"]
        .into_iter()
        .map(String::from)
        .collect();
    let gt = if b.no_call() { "./." } else { "0/0" };
    let values = vec![
        Some(Value::Genotype(gt.parse().context("genotype")?)),
        Some(Value::from(b.min_gq as i32)),
        Some(Value::from(b.min_dp as i32)),
        Some(Value::from(
            b.pl.iter().map(|&v| Some(v as i32)).collect::<Vec<_>>(),
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

enum Sink {
    Stdout,
    Plain,
    Bgzf,
}

/// A VCF being written. Dropped without [`VcfWriter::finish`], it removes its temporary file.
pub struct VcfWriter {
    writer: Option<vcf::io::Writer<Box<dyn Write + Send>>>,
    header: vcf::Header,
    gvcf: bool,
    sink: Sink,
    tmp: PathBuf,
    dest: PathBuf,
}

/// `OUT.vcf.gz` → `OUT.vcf.gz.callvar-partial-PID`: never mistaken for a finished file.
pub fn temp_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(format!(".callvar-partial-{}", std::process::id()));
    PathBuf::from(s)
}

/// Renames `tmp` to `dest`, naming both on failure.
pub fn commit(tmp: &Path, dest: &Path) -> Result<()> {
    std::fs::rename(tmp, dest).with_context(|| {
        format!(
            "{}: cannot rename {} into place",
            dest.display(),
            tmp.display()
        )
    })
}

impl VcfWriter {
    /// Opens `dest` (`-` for stdout) and writes the header; `gvcf` selects gVCF records.
    pub fn create(dest: &str, header: vcf::Header, gvcf: bool) -> Result<Self> {
        let destp = PathBuf::from(dest);
        let tmp = temp_path(&destp);
        let (sink, inner): (Sink, Box<dyn Write + Send>) = if dest == "-" {
            (
                Sink::Stdout,
                Box::new(std::io::BufWriter::new(std::io::stdout())),
            )
        } else {
            if let Some(dir) = destp.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("{}: cannot create output directory", dir.display())
                })?;
            }
            let f = std::fs::File::create(&tmp)
                .with_context(|| format!("{dest}: cannot create output file"))?;
            if dest.ends_with(".gz") || dest.ends_with(".bgz") {
                (Sink::Bgzf, Box::new(noodles_bgzf::io::Writer::new(f)))
            } else {
                (Sink::Plain, Box::new(std::io::BufWriter::new(f)))
            }
        };
        let mut writer = vcf::io::Writer::new(inner);
        let mut w = VcfWriter {
            writer: None,
            header,
            gvcf,
            sink,
            tmp,
            dest: destp,
        };
        writer
            .write_header(&w.header)
            .with_context(|| format!("{dest}: write error"))?;
        w.writer = Some(writer);
        Ok(w)
    }

    pub fn write(&mut self, call: &Call) -> Result<()> {
        let rec = record(call, self.gvcf)?;
        self.write_record(&rec)
    }

    /// Writes a gVCF reference block.
    pub fn write_block(&mut self, contig: &str, block: &RefBlock, ref_base: u8) -> Result<()> {
        let rec = block_record(contig, block, ref_base)?;
        self.write_record(&rec)
    }

    fn write_record(&mut self, rec: &vcf::variant::RecordBuf) -> Result<()> {
        let w = self.writer.as_mut().context("writer already finished")?;
        w.write_variant_record(&self.header, rec)
            .with_context(|| format!("{}: write error", self.dest.display()))
    }

    /// Flushes, indexes `.vcf.gz` output and moves the files into place; on failure removes
    /// the partial files.
    pub fn finish(mut self) -> Result<()> {
        let result = self.complete();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
            let _ = std::fs::remove_file(temp_path(&PathBuf::from(format!(
                "{}.tbi",
                self.dest.display()
            ))));
        }
        result
    }

    fn complete(&mut self) -> Result<()> {
        let w = self.writer.take().context("writer already finished")?;
        let mut inner = w.into_inner();
        inner
            .flush()
            .with_context(|| format!("{}: write error", self.dest.display()))?;
        drop(inner); // BGZF writers write their end-of-file block on drop
        match self.sink {
            Sink::Stdout => Ok(()),
            Sink::Plain => commit(&self.tmp, &self.dest),
            Sink::Bgzf => {
                let index = match vcf::fs::index(&self.tmp)
                    .with_context(|| format!("{}: cannot index", self.dest.display()))?
                {
                    vcf::Index::Tabix(t) => t,
                    vcf::Index::Csi(_) => {
                        anyhow::bail!("{}: contigs too long for a .tbi index", self.dest.display())
                    }
                };
                let tbi = PathBuf::from(format!("{}.tbi", self.dest.display()));
                let tbi_tmp = temp_path(&tbi);
                noodles_tabix::fs::write(&tbi_tmp, &index)
                    .with_context(|| format!("{}: cannot write", tbi.display()))?;
                commit(&self.tmp, &self.dest)?;
                commit(&tbi_tmp, &tbi)
            }
        }
    }
}

impl Drop for VcfWriter {
    fn drop(&mut self) {
        if self.writer.is_some() && !matches!(self.sink, Sink::Stdout) {
            self.writer = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
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
