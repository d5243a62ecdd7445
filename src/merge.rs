//! `callvar merge`: joins the VCFs (or gVCFs) that `callvar call` wrote for the shards of
//! a plan (`callvar shards`) into the file one `callvar call` over all the plan's regions
//! writes: the same records byte for byte and the same header but for `##callvarCommand`.
//!
//! Everything is checked before a byte is written. Each shard's header names the regions
//! it was called on (`##callvarRegions`) and its chunk grid (`##callvarChunkSize`): they
//! must be exactly one shard of the plan, each shard given once (no overlap) and every
//! shard given (no gap), on the plan's grid. Every other header line must be what this
//! callvar writes for that reference (`--ref`, compared by MD5 and contigs), model, device
//! and sample: shards from another reference, model, device or callvar version are
//! refused. Only `##reference` may differ (workflow engines stage the reference under
//! other paths); the merged file names `--ref`. Records are copied as they are, in plan
//! order, each checked to lie in its shard's regions.
//!
//! gVCF shards need one repair: in a single run, a variant record that reaches past its
//! chunk trims the reference blocks of the next chunk so no base is covered twice
//! (`write_gvcf_chunk` in `call.rs`); a shard's first chunk never saw the chunk before it.
//! The merge applies the same rule across the whole stream (blocks start after the
//! furthest end of the variant records before them on the contig; a block wholly covered
//! is dropped), re-spelling a trimmed block's REF base from `--ref`. Inside a shard the
//! rule changes nothing, so shard boundaries end up exactly like chunk boundaries.
//!
//! Phased shards (long reads, [`crate::phasing`]) are the one exception to "byte for byte":
//! each shard phases on its own, so a phase block stops at a shard border where one run would
//! carry it on (the next shard starts a new phase set; a site alone at either side of the
//! border stays unphased). Every record is still a valid phased record of its shard.
use crate::output;
use crate::reference::{RefReader, Reference};
use crate::region::IntervalSet;
use crate::shards::{self, Plan};
use crate::vcf::{self, Provenance, VcfWriter};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What `callvar merge` is asked to do, resolved from the command line.
pub struct MergeJob<'a> {
    pub reference: &'a Reference,
    pub plan: &'a Plan,
    /// Where the plan was read from (for messages).
    pub plan_path: &'a Path,
    pub inputs: &'a [PathBuf],
    pub output: &'a str,
    pub gvcf: bool,
    pub command_line: String,
}

/// What a finished merge reports.
pub struct MergeSummary {
    pub shards: usize,
    pub records: u64,
}

/// Header lines that may differ between shards and are not compared line by line.
const OWN_LINES: [&str; 3] = ["##callvarCommand=", "##reference=", "##callvarRegions="];

/// The BGZF end-of-file marker block.
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

/// Opens a VCF (plain or BGZF) as lines; a BGZF file must end with its end-of-file block.
fn open_lines(path: &Path) -> Result<Box<dyn BufRead>> {
    let shown = path.display();
    let mut f = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .with_context(|| format!("{shown}: cannot read"))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let mut tail = [0u8; 28];
        let whole = f.seek(SeekFrom::End(-28)).is_ok() && f.read_exact(&mut tail).is_ok();
        if !whole || tail != BGZF_EOF {
            bail!("{shown}: truncated or not BGZF (no BGZF end-of-file block)");
        }
    }
    f.seek(SeekFrom::Start(0))
        .with_context(|| format!("{shown}: cannot read"))?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::new(noodles_bgzf::io::Reader::new(f)))
    } else {
        Box::new(BufReader::new(f))
    })
}

/// The header lines of a VCF, up to and including `#CHROM`.
fn read_header(path: &Path) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in open_lines(path)?.lines() {
        let line = line.with_context(|| format!("{}: unreadable", path.display()))?;
        let last = line.starts_with("#CHROM");
        if !line.starts_with('#') {
            break;
        }
        lines.push(line);
        if last {
            return Ok(lines);
        }
    }
    bail!("{}: not a VCF (no #CHROM header line)", path.display())
}

fn value<'h>(header: &'h [String], key: &str) -> Option<&'h str> {
    header.iter().find_map(|l| l.strip_prefix(key))
}

/// The provenance a single run would have written, from a shard's header, `--ref` and the
/// plan.
fn provenance(job: &MergeJob, path: &Path, header: &[String]) -> Result<Provenance> {
    let shown = path.display();
    let missing = |what: &str| {
        anyhow::anyhow!("{shown}: no {what} header line (not written by `callvar call`?)")
    };
    let model = value(header, "##callvarModel=<ID=").ok_or_else(|| missing("##callvarModel"))?;
    let field = |tag: &str| {
        model
            .trim_end_matches('>')
            .split(',')
            .find_map(|f| f.strip_prefix(tag))
            .map(|v| v.trim_matches('"').to_string())
            .ok_or_else(|| missing("##callvarModel Version/SHA256 in the"))
    };
    let sample = header
        .last()
        .and_then(|l| l.split('\t').nth(9))
        .ok_or_else(|| missing("sample column in the #CHROM"))?;
    Ok(Provenance {
        phased: header.iter().any(|l| l.starts_with("##FORMAT=<ID=PS,")),
        sample: sample.to_string(),
        command_line: job.command_line.clone(),
        reference_path: crate::output::absolute(&job.reference.path),
        reference_md5: job.reference.file_md5()?,
        model_name: model.split(',').next().unwrap_or_default().to_string(),
        model_version: field("Version=")?,
        model_sha256: field("SHA256=")?,
        device: value(header, "##callvarDevice=")
            .ok_or_else(|| missing("##callvarDevice"))?
            .to_string(),
        model_calibration: value(header, "##callvarCalibration=")
            .ok_or_else(|| missing("##callvarCalibration"))?
            .to_string(),
        contigs: job.reference.contigs.clone(),
        regions: job.plan.regions.clone(),
        chunk_size: job.plan.chunk_size,
        median_depth: Some(
            value(header, "##callvarMedianDepth=")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| missing("##callvarMedianDepth"))?,
        ),
    })
}

/// A header's text lines as the VCF writer writes them.
fn header_lines(h: &noodles_vcf::Header) -> Result<Vec<String>> {
    let mut w = noodles_vcf::io::Writer::new(Vec::new());
    w.write_header(h).context("VCF header")?;
    Ok(String::from_utf8_lossy(&w.into_inner())
        .lines()
        .map(String::from)
        .collect())
}

/// Compares a shard's header with the one the merge writes, naming what differs.
fn check_header(path: &Path, got: &[String], expected: &[String], md5: &str) -> Result<()> {
    let shown = path.display();
    let keep = |l: &&String| !OWN_LINES.iter().any(|k| l.starts_with(k));
    let got: Vec<&String> = got.iter().filter(keep).collect();
    let exp: Vec<&String> = expected.iter().filter(keep).collect();
    for k in 0..got.len().max(exp.len()) {
        let (g, e) = (
            got.get(k).map_or("", |s| s.as_str()),
            exp.get(k).map_or("", |s| s.as_str()),
        );
        if g == e {
            continue;
        }
        let key = e.split('=').next().unwrap_or(e);
        bail!(
            "{shown}: {}",
            match key {
                "##source" => format!("written by {}, but this is callvar {}: shards and merge must come from one callvar version", g.trim_start_matches("##source="), env!("CARGO_PKG_VERSION")),
                "##callvarReferenceMD5" => format!("called on another reference (MD5 {}; --ref has {md5})", g.trim_start_matches("##callvarReferenceMD5=")),
                "##callvarModel" => format!("called with another model than the first shard ({g}, not {e})"),
                "##callvarDevice" => format!("called on another device than the first shard ({g}, not {e}): results may differ in the last digit"),
                "##callvarChunkSize" => format!("called with --chunk-size {} but the plan's is {}", g.trim_start_matches("##callvarChunkSize="), e.trim_start_matches("##callvarChunkSize=")),
                "##contig" => format!("called on another reference (contig lines differ from --ref's: {g})"),
                _ if e.starts_with("#CHROM") => "another sample than the first shard (#CHROM line differs)".to_string(),
                _ => format!("header differs from what this callvar writes: '{g}' where '{e}' is expected"),
            }
        );
    }
    Ok(())
}

/// The furthest end `(contig, end)` of the variant records written so far: blocks after
/// it are trimmed, as `write_gvcf_chunk` trims them within a single run.
type Spill = (String, u64);

/// What becomes of one gVCF line.
#[derive(Debug, PartialEq)]
enum Stitch {
    /// Written as it is.
    Keep,
    /// A reference block wholly under the variant records before it: dropped.
    Drop,
    /// A reference block that now starts at this 0-based position.
    Trim(u64),
}

/// Applies `write_gvcf_chunk`'s rule to one gVCF line (`f`, its fields; `start`, its
/// 0-based POS): variant records extend `spill`, reference blocks start after it.
fn stitch(f: &[&str], start: u64, spill: &mut Spill) -> Result<Stitch> {
    let contig = f[0];
    if f[4] != "<*>" {
        let end = start + f[3].len() as u64;
        if spill.0 == contig {
            spill.1 = spill.1.max(end);
        } else {
            *spill = (contig.to_string(), end);
        }
        return Ok(Stitch::Keep);
    }
    if spill.0 != contig || spill.1 <= start {
        return Ok(Stitch::Keep);
    }
    let end: u64 = f[7]
        .split(';')
        .find_map(|i| i.strip_prefix("END="))
        .and_then(|e| e.parse().ok())
        .context("reference block without END")?;
    Ok(if spill.1 >= end {
        Stitch::Drop
    } else {
        Stitch::Trim(spill.1)
    })
}

/// A reference block's line moved to start at `start` (0-based), its REF base re-spelled.
fn trimmed_line(f: &[&str], start: u64, refr: &RefReader) -> Result<String> {
    let base = refr.fetch(f[0], start, start + 1)?;
    let base = String::from_utf8_lossy(&base).to_string();
    let pos = (start + 1).to_string();
    let mut fields: Vec<&str> = f.to_vec();
    fields[1] = &pos;
    fields[3] = &base;
    Ok(fields.join("\t"))
}

/// Checks the shards against the plan and each other, then writes the merged file.
pub fn run(job: MergeJob) -> Result<MergeSummary> {
    let contigs = &job.reference.contigs;
    let plan = job.plan;
    // which plan shard each input is, from the regions its header names
    let by_regions: HashMap<String, usize> = plan
        .shards
        .iter()
        .enumerate()
        .map(|(k, s)| (crate::region::format_regions(&s.regions, contigs), k))
        .collect();
    let mut slots: Vec<Option<(PathBuf, Vec<String>)>> = vec![None; plan.shards.len()];
    for path in job.inputs {
        let shown = path.display();
        let header = read_header(path)?;
        let is_gvcf = header.iter().any(|l| l.starts_with("##INFO=<ID=END,"));
        match (job.gvcf, is_gvcf) {
            (true, false) => bail!("{shown}: not a gVCF, but --gvcf merges gVCF shards"),
            (false, true) => bail!("{shown}: a gVCF: merge gVCF shards with --gvcf"),
            _ => {}
        }
        let text = value(&header, "##callvarRegions=").with_context(|| {
            format!(
                "{shown}: no ##callvarRegions header line (not written by this callvar's `call`?)"
            )
        })?;
        let regions = shards::parse_region_list(text, contigs)
            .with_context(|| format!("{shown}: ##callvarRegions"))?;
        let key = crate::region::format_regions(&regions, contigs);
        let Some(&k) = by_regions.get(&key) else {
            bail!(
                "{shown}: its regions ({key}) are not one shard of the plan {} (called with another plan's BED, or other --regions?)",
                job.plan_path.display()
            );
        };
        if let Some((other, _)) = &slots[k] {
            bail!(
                "{shown}: overlaps {}: both are shard {} ({key})",
                other.display(),
                k + 1
            );
        }
        slots[k] = Some((path.clone(), header));
    }
    let missing: Vec<String> = slots
        .iter()
        .zip(&plan.shards)
        .filter(|(s, _)| s.is_none())
        .map(|(_, p)| format!("{} ({})", p.id, p.bed))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: no input for shard {} of {}: the merge would leave gaps",
            job.plan_path.display(),
            missing.join(", "),
            plan.shards.len()
        );
    }
    let slots: Vec<(PathBuf, Vec<String>)> = slots.into_iter().flatten().collect();
    let prov = provenance(&job, &slots[0].0, &slots[0].1)?;
    let header = vcf::header(&prov, job.gvcf)?;
    let expected = header_lines(&header)?;
    for (path, got) in &slots {
        check_header(path, got, &expected, &prov.reference_md5)?;
    }
    let mut inputs: Vec<PathBuf> = job.inputs.to_vec();
    inputs.push(job.reference.path.clone());
    inputs.extend(job.reference.index_files());
    let outputs: Vec<(&str, PathBuf)> = vcf::output_paths(job.output, contigs)
        .into_iter()
        .map(|p| ("--output", p))
        .collect();
    output::check_not_input(&outputs, &inputs)?;
    let refr = job.reference.reader()?;
    let mut w = VcfWriter::create(job.output, header, job.gvcf)?;
    let mut spill: Spill = (String::new(), 0);
    let mut records = 0u64;
    for ((path, _), planned) in slots.iter().zip(&plan.shards) {
        let shown = path.display();
        let inside = IntervalSet::new(&planned.regions);
        for (i, line) in open_lines(path)?.lines().enumerate() {
            let line = line.with_context(|| format!("{shown}: line {}: unreadable", i + 1))?;
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let start = f
                .get(1)
                .and_then(|p| p.parse::<u64>().ok())
                .filter(|&p| p >= 1 && f.len() >= 10)
                .with_context(|| format!("{shown}: line {}: not a VCF record", i + 1))?
                - 1;
            if !inside.covers(f[0], start, start + 1) {
                bail!(
                    "{shown}: line {}: record at {}:{} lies outside the shard's regions",
                    i + 1,
                    f[0],
                    start + 1
                );
            }
            let how = if job.gvcf {
                stitch(&f, start, &mut spill).with_context(|| format!("{shown}: line {}", i + 1))?
            } else {
                Stitch::Keep
            };
            match how {
                Stitch::Keep => w.write_line(&line)?,
                Stitch::Drop => continue,
                Stitch::Trim(at) => w.write_line(&trimmed_line(&f, at, &refr)?)?,
            }
            records += 1;
        }
    }
    w.finish()?.commit()?;
    Ok(MergeSummary {
        shards: slots.len(),
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<&str> {
        line.split('\t').collect()
    }

    #[test]
    fn blocks_after_a_spilling_deletion_are_trimmed_or_dropped() {
        let mut spill: Spill = (String::new(), 0);
        let del = "chr20\t10004769\t.\tTAAAACTATGC\tT,<*>\t9.6\tPASS\t.\tGT\t0/1";
        assert_eq!(
            stitch(&fields(del), 10_004_768, &mut spill).unwrap(),
            Stitch::Keep
        );
        assert_eq!(spill, ("chr20".to_string(), 10_004_779));
        let block = |s: u64, e: u64| format!("chr20\t{}\t.\tA\t<*>\t.\t.\tEND={e}\tGT\t0/0", s + 1);
        // wholly under the deletion: dropped; reaching past it: starts after it
        let b = block(10_004_775, 10_004_779);
        assert_eq!(
            stitch(&fields(&b), 10_004_775, &mut spill).unwrap(),
            Stitch::Drop
        );
        let b = block(10_004_775, 10_004_790);
        let f = fields(&b);
        assert_eq!(
            stitch(&f, 10_004_775, &mut spill).unwrap(),
            Stitch::Trim(10_004_779)
        );
        // its REF base is the reference's at the new start (chr20:10,004,780 is A, not the
        // block's old REF)
        let reference = Reference::open(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/ref.fa.gz"
        )))
        .unwrap();
        let refr = reference.reader().unwrap();
        let b = b.replace("\tA\t<*>", "\tC\t<*>");
        let f = fields(&b);
        let line = trimmed_line(&f, 10_004_779, &refr).unwrap();
        let g = fields(&line);
        assert_eq!((g[1], g[3]), ("10004780", "A"));
        assert_eq!((g[4], g[7]), ("<*>", "END=10004790"));
        // blocks past the spill, or on another contig, are kept
        let b = block(10_004_779, 10_004_790);
        assert_eq!(
            stitch(&fields(&b), 10_004_779, &mut spill).unwrap(),
            Stitch::Keep
        );
        let other = "chr21\t5\t.\tA\t<*>\t.\t.\tEND=9\tGT\t0/0";
        assert_eq!(stitch(&fields(other), 4, &mut spill).unwrap(), Stitch::Keep);
    }
}
