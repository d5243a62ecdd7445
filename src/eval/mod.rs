//! `callvar eval`: compares a call set with a truth set the way RTG vcfeval does, by
//! haplotype sequence rather than record text, and counts the way hap.py does.
//!
//! Both VCFs are read for one sample (`--truth-sample`/`--calls-sample`, needed when a file
//! has several) and checked (sorted, on the reference, REF agreeing with it, genotyped).
//! [`matching`] replays each contig's truth and call variants onto diploid haplotypes with
//! padding bases trimmed and finds the largest sets of both whose haplotypes spell the same
//! sequences (so shifted indels, MNPs against split SNPs and complex records against their
//! parts all match); a second, one-haplotype pass over the rest finds allele-only matches
//! (genotype errors). Matching uses every variant (within `--regions`); only variants
//! overlapping the `--confident` BED are counted, so a match may cross its border, as with
//! vcfeval's evaluation regions. [`metrics`] counts SNP and INDEL apart (also per
//! `--stratify` BED) with the F1-maximising score threshold; [`report`] writes the table or
//! JSON, the `--output-dir` files and the `--min-f1` gate, [`html`] the `--report` page.
//! `--somatic` evaluates a somatic call set instead ([`somatic`]): alleles only, with recall
//! per allele-fraction bin.
mod html;
mod matching;
mod metrics;
mod report;
mod somatic;

use crate::reference::{ContigCache, Reference};
use crate::region::{self, IntervalSet, Region};
use crate::vcf::{read_vcf_sample, VcfRecord};
use anyhow::{bail, Context, Result};
use clap::Args;
use matching::{match_contig, Allele, Var};
use metrics::{metrics, CurvePoint, Report, Status, VarType};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct EvalArgs {
    /// Reference FASTA the VCFs are called against.
    #[arg(long = "ref", value_name = "REF.fa[.gz]")]
    reference: PathBuf,
    /// Truth (baseline) VCF.
    #[arg(long, value_name = "TRUTH.vcf[.gz]")]
    truth: PathBuf,
    /// Calls to evaluate.
    #[arg(long, value_name = "CALLS.vcf[.gz]")]
    calls: PathBuf,
    /// Sample of the truth VCF to use (needed when it has several).
    #[arg(long, value_name = "NAME")]
    truth_sample: Option<String>,
    /// Sample of the calls VCF to use (needed when it has several).
    #[arg(long, value_name = "NAME")]
    calls_sample: Option<String>,
    /// Confident regions: only variants overlapping them are counted.
    #[arg(long, value_name = "CONF.bed")]
    confident: Option<PathBuf>,
    /// Restrict to these regions (samtools style, comma-separated).
    #[arg(long)]
    regions: Option<String>,
    /// Extra per-region metrics: NAME=FILE.bed (repeatable).
    #[arg(long, value_name = "NAME=FILE.bed", value_parser = parse_stratum)]
    stratify: Vec<(String, PathBuf)>,
    /// Call score for the precision/recall curve: QUAL or GQ.
    #[arg(long, default_value = "QUAL", ignore_case = true)]
    score: ScoreField,
    /// Gate: exit 3 unless every named F1 is met, e.g. SNP=0.999,INDEL=0.99.
    #[arg(long, value_name = "SNP=F,INDEL=F", value_parser = parse_gate_arg)]
    min_f1: Option<report::Gate>,
    /// Count calls with any FILTER (default: only PASS and `.`).
    #[arg(long)]
    all_records: bool,
    /// Write tp.vcf, tp-baseline.vcf, fp.vcf, fn.vcf and the score curves here.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Print the metrics as one JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Somatic mode: match alleles only (genotypes ignored), report recall per truth allele
    /// fraction bin (INFO VAF, else AF), precision and F1 per type; the truth's every record
    /// counts. --json, --min-f1, --regions, --confident and --all-records apply.
    #[arg(long, conflicts_with_all = ["report", "output_dir", "stratify"])]
    somatic: bool,
    /// Write a self-contained HTML report: the gate, the metrics, and precision-recall
    /// curves per type for all variants and each --stratify stratum.
    #[arg(long, value_name = "report.html")]
    report: Option<String>,
}

/// A VCF as read: its header lines and records, and the variants to evaluate with their
/// contigs, in file order.
pub struct Loaded {
    header: Vec<String>,
    records: Vec<VcfRecord>,
    vars: Vec<(String, Var)>,
}

/// The first few of `names`, comma-separated.
fn few(names: &[&str]) -> String {
    let mut s = names.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        s.push_str(", …");
    }
    s
}

/// Chooses the sample column of `path` from the names on its `#CHROM` line: `want`, or
/// the only one; `flag` is the option that names it.
fn pick_sample<'a>(
    path: &'a Path,
    flag: &'a str,
    want: Option<&'a str>,
) -> impl FnOnce(&[&str]) -> Result<usize> + 'a {
    move |names: &[&str]| {
        let shown = path.display();
        match (want, names.len()) {
            (_, 0) => bail!("{shown}: no sample column: a genotyped (GT) VCF is needed"),
            (Some(w), _) => names.iter().position(|n| *n == w).with_context(|| {
                format!(
                    "{shown}: no sample '{w}' ({flag}); its samples: {}",
                    few(names)
                )
            }),
            (None, 1) => Ok(0),
            (None, n) => bail!(
                "{shown}: {n} samples ({}): choose one with {flag}",
                few(names)
            ),
        }
    }
}

/// The variant a record's genotype spells, or `None` when it has nothing to replay
/// (no GT, hom-ref, missing or `*` alleles only, symbolic alleles, more than two alleles).
fn to_var(r: &VcfRecord, idx: usize, seq: &[u8], score_gq: bool) -> Result<Option<Var>> {
    let Some(gt) = &r.gt else { return Ok(None) };
    let gt = match gt.as_slice() {
        [a] => [*a, *a],
        [a, b] => [*a, *b],
        _ => return Ok(None),
    };
    if let Some(a) = gt.iter().flatten().find(|&&a| a > r.alts.len()) {
        bail!("GT allele {a}, but there are {} ALT alleles", r.alts.len());
    }
    let bases = |s: &str| !s.is_empty() && s.bytes().all(|b| b"ACGTN".contains(&b));
    let used: Vec<&str> = gt
        .iter()
        .flatten()
        .filter(|&&a| a > 0)
        .map(|&a| r.alts[a - 1].as_str())
        .collect();
    if used.iter().any(|a| *a != "*" && !bases(a)) || used.iter().all(|a| *a == "*") {
        return Ok(None);
    }
    // vcfeval's padding base: the first base, when REF and every ALT share it
    let first = r.reference.as_bytes().first();
    let pad = !r.alts.is_empty() && r.alts.iter().all(|a| a.as_bytes().first() == first);
    let start = r.pos + u64::from(pad);
    let end = r.pos + r.reference.len() as u64;
    let allele = |s: &[u8]| Allele {
        start,
        end,
        seq: s.to_vec(),
    };
    let mut alleles = vec![Some(allele(&seq[start as usize..end as usize]))];
    alleles.extend(
        r.alts
            .iter()
            .map(|a| bases(a).then(|| allele(&a.as_bytes()[usize::from(pad)..]))),
    );
    Ok(Some(Var {
        start,
        end,
        alleles,
        gt,
        kind: VarType::of(&r.reference, &r.alts),
        score: if score_gq { r.gq } else { r.qual }.unwrap_or(0.0),
        tier: info_tier(&r.text),
        record: idx,
    }))
}

/// `INFO/TIER` of a VCF data line (1-9), if it has one.
fn info_tier(line: &str) -> Option<u8> {
    line.split('\t')
        .nth(7)?
        .split(';')
        .find_map(|f| f.strip_prefix("TIER="))?
        .parse()
        .ok()
        .filter(|t| (1..=9).contains(t))
}

/// Reads one VCF for evaluation (sample `sample`, or the only one); checks order, contigs,
/// REF bases and that it has genotypes, then keeps the variants (PASS only with `pass_only`).
fn load(
    path: &Path,
    flag: &str,
    sample: Option<&str>,
    reference: &Reference,
    seqs: &mut ContigCache,
    pass_only: bool,
    score_gq: bool,
) -> Result<Loaded> {
    let (header, records) = read_vcf_sample(path, pick_sample(path, flag, sample))?;
    let shown = path.display();
    if !records.is_empty() && records.iter().all(|r| r.gt.is_none()) {
        bail!("{shown}: no record has a GT field: a genotyped VCF is needed");
    }
    let mut vars = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut last = 0u64;
    for (i, r) in records.iter().enumerate() {
        let line = r.line;
        let Some(len) = reference.contig_len(&r.contig) else {
            bail!(
                "{shown}: line {line}: contig '{}' is not in the reference {}",
                r.contig,
                reference.path.display()
            );
        };
        if seen.last() != Some(&r.contig.as_str()) {
            if seen.contains(&r.contig.as_str()) {
                bail!(
                    "{shown}: line {line}: not sorted (contig '{}' appears again)",
                    r.contig
                );
            }
            seen.push(&r.contig);
        } else if r.pos < last {
            bail!(
                "{shown}: line {line}: not sorted ({}:{} after position {})",
                r.contig,
                r.pos + 1,
                last + 1
            );
        }
        last = r.pos;
        if r.reference.is_empty() {
            bail!("{shown}: line {line}: empty REF");
        }
        if r.pos + r.reference.len() as u64 > len {
            bail!(
                "{shown}: line {line}: {}:{} runs past the end of the contig",
                r.contig,
                r.pos + 1
            );
        }
        let seq = &seqs.get(&r.contig)?.seq;
        let actual = &seq[r.pos as usize..(r.pos as usize + r.reference.len())];
        if !actual.eq_ignore_ascii_case(r.reference.as_bytes())
            && !r.reference.bytes().all(|b| b == b'N')
        {
            bail!(
                "{shown}: line {line}: REF {} at {}:{} disagrees with the reference ({})",
                r.reference,
                r.contig,
                r.pos + 1,
                String::from_utf8_lossy(actual)
            );
        }
        if pass_only && !r.passes() {
            continue;
        }
        if let Some(v) =
            to_var(r, i, seq, score_gq).with_context(|| format!("{shown}: line {line}"))?
        {
            vars.push((r.contig.clone(), v));
        }
    }
    Ok(Loaded {
        header,
        records,
        vars,
    })
}

/// Refuses regions (`what`: a BED file, or `--regions`) none of whose contigs is in the
/// reference, or in the VCFs when these have records: they would count nothing.
fn check_contigs(
    what: &str,
    regions: &[Region],
    reference: &Reference,
    vcf_contigs: &[&str],
) -> Result<()> {
    let mut names: Vec<&str> = Vec::new();
    for r in regions {
        if !names.contains(&r.contig.as_str()) {
            names.push(&r.contig);
        }
    }
    if !names.iter().any(|n| reference.contig_len(n).is_some()) {
        let theirs: Vec<&str> = reference.contigs.iter().map(|c| c.0.as_str()).collect();
        bail!(
            "{what}: no contig matches the reference (here: {}; in the reference: {})",
            few(&names),
            few(&theirs)
        );
    }
    if !vcf_contigs.is_empty() && !names.iter().any(|n| vcf_contigs.contains(n)) {
        bail!(
            "{what}: no contig matches the VCFs (here: {}; in the VCFs: {})",
            few(&names),
            few(vcf_contigs)
        );
    }
    Ok(())
}

/// Precision/recall curves, one per variant type.
type Curves = Vec<(VarType, Vec<CurvePoint>)>;

/// Everything `eval` found.
pub struct Evaluation {
    pub report: Report,
    /// (record index, status) of each counted truth and call variant.
    truth_status: Vec<(usize, Status)>,
    call_status: Vec<(usize, Status)>,
    /// Precision/recall curve per type.
    curves: Curves,
    /// The same per `--stratify` stratum, in the order given.
    strata_curves: Vec<(String, Curves)>,
}

/// Matches the variants of `truth` and `calls` (those overlapping `regions`, by record
/// span) contig by contig and counts those overlapping `confident` (by trimmed span).
pub fn evaluate(
    seqs: &mut ContigCache,
    truth: &Loaded,
    calls: &Loaded,
    regions: Option<&IntervalSet>,
    confident: Option<&IntervalSet>,
    strata: &[(String, IntervalSet)],
    score_gq: bool,
) -> Result<Evaluation> {
    let within = |l: &'_ Loaded| -> Vec<(String, Var)> {
        l.vars
            .iter()
            .filter(|(c, v)| {
                let r = &l.records[v.record];
                regions.is_none_or(|set| set.overlaps(c, r.pos, r.pos + r.reference.len() as u64))
            })
            .cloned()
            .collect()
    };
    let (tv, cv) = (within(truth), within(calls));
    let mut ts = vec![Status::default(); tv.len()];
    let mut cs = vec![Status::default(); cv.len()];
    let mut contigs: Vec<&str> = tv.iter().chain(&cv).map(|(c, _)| c.as_str()).collect();
    contigs.sort_unstable();
    contigs.dedup();
    for contig in contigs {
        let seq = &seqs.get(contig)?.seq;
        let t_idx: Vec<usize> = (0..tv.len()).filter(|&i| tv[i].0 == contig).collect();
        let c_idx: Vec<usize> = (0..cv.len()).filter(|&i| cv[i].0 == contig).collect();
        let t: Vec<&Var> = t_idx.iter().map(|&i| &tv[i].1).collect();
        let c: Vec<&Var> = c_idx.iter().map(|&i| &cv[i].1).collect();
        let [mt, mc] = match_contig(seq, &t, &c, false);
        // a matched truth variant scores the lowest of the calls matched in its region, and
        // takes their highest (least confident) tier
        let mut region_score: HashMap<usize, (f64, Option<u8>)> = HashMap::new();
        for (k, m) in mc.iter().enumerate() {
            if let Some(m) = m {
                let s = region_score.entry(*m).or_insert((f64::INFINITY, None));
                s.0 = s.0.min(c[k].score);
                s.1 = s.1.max(c[k].tier);
            }
        }
        for (k, &i) in t_idx.iter().enumerate() {
            if let Some(m) = mt[k] {
                ts[i].matched = true;
                let (score, tier) = region_score.get(&m).copied().unwrap_or((0.0, None));
                ts[i].score = score;
                ts[i].tier = tier;
            }
        }
        for (k, &i) in c_idx.iter().enumerate() {
            cs[i].matched = mc[k].is_some();
            cs[i].score = c[k].score;
            cs[i].tier = c[k].tier;
        }
        // allele-only matches among the rest
        let rt: Vec<usize> = (0..t.len()).filter(|&k| mt[k].is_none()).collect();
        let rc: Vec<usize> = (0..c.len()).filter(|&k| mc[k].is_none()).collect();
        if rt.is_empty() || rc.is_empty() {
            continue;
        }
        let rtv: Vec<&Var> = rt.iter().map(|&k| t[k]).collect();
        let rcv: Vec<&Var> = rc.iter().map(|&k| c[k]).collect();
        let [at, ac] = match_contig(seq, &rtv, &rcv, true);
        for (j, &k) in rt.iter().enumerate() {
            ts[t_idx[k]].allele_match = at[j].is_some();
        }
        for (j, &k) in rc.iter().enumerate() {
            cs[c_idx[k]].allele_match = ac[j].is_some();
        }
    }
    let counted =
        |(c, v): &(String, Var)| confident.is_none_or(|set| set.overlaps(c, v.start, v.end));
    let tk: Vec<usize> = (0..tv.len()).filter(|&i| counted(&tv[i])).collect();
    let ck: Vec<usize> = (0..cv.len()).filter(|&i| counted(&cv[i])).collect();
    let summarise = |set: Option<&IntervalSet>| {
        let inside = |(c, v): &(String, Var)| set.is_none_or(|s| s.overlaps(c, v.start, v.end));
        let t: Vec<(VarType, Status)> = tk
            .iter()
            .filter(|&&i| inside(&tv[i]))
            .map(|&i| (tv[i].1.kind, ts[i]))
            .collect();
        let c: Vec<(VarType, Status, f64)> = ck
            .iter()
            .filter(|&&i| inside(&cv[i]))
            .map(|&i| (cv[i].1.kind, cs[i], cv[i].1.score))
            .collect();
        (
            metrics(&t, &c, VarType::Snp),
            metrics(&t, &c, VarType::Indel),
        )
    };
    let ((snp, snp_curve), (indel, indel_curve)) = summarise(None);
    let tiers = if ck.iter().any(|&i| cv[i].1.tier.is_some()) {
        let t: Vec<(VarType, Status)> = tk.iter().map(|&i| (tv[i].1.kind, ts[i])).collect();
        let c: Vec<(VarType, Status)> = ck.iter().map(|&i| (cv[i].1.kind, cs[i])).collect();
        metrics::tier_rows(&t, &c)
    } else {
        Vec::new()
    };
    let mut strata_out = BTreeMap::new();
    let mut strata_curves = Vec::new();
    for (name, set) in strata {
        let ((s, sc), (d, dc)) = summarise(Some(set));
        strata_out.insert(
            name.clone(),
            BTreeMap::from([("SNP".to_string(), s), ("INDEL".to_string(), d)]),
        );
        strata_curves.push((name.clone(), vec![(VarType::Snp, sc), (VarType::Indel, dc)]));
    }
    Ok(Evaluation {
        report: Report {
            snp,
            indel,
            strata: strata_out,
            tiers,
            score_field: if score_gq { "GQ" } else { "QUAL" }.into(),
        },
        truth_status: tk.iter().map(|&i| (tv[i].1.record, ts[i])).collect(),
        call_status: ck.iter().map(|&i| (cv[i].1.record, cs[i])).collect(),
        curves: vec![(VarType::Snp, snp_curve), (VarType::Indel, indel_curve)],
        strata_curves,
    })
}

/// A BED file's regions, refused when none of its contigs is in the reference or the VCFs.
fn read_regions_bed(
    path: &Path,
    reference: &Reference,
    vcf_contigs: &[&str],
) -> Result<IntervalSet> {
    let regions = region::read_bed(path)?;
    check_contigs(
        &path.display().to_string(),
        &regions,
        reference,
        vcf_contigs,
    )?;
    Ok(IntervalSet::new(&regions))
}

/// The call score ranked for the precision/recall curve.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
enum ScoreField {
    #[value(name = "QUAL")]
    Qual,
    #[value(name = "GQ")]
    Gq,
}

/// `--stratify NAME=FILE.bed`.
fn parse_stratum(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("'{s}' is not NAME=FILE.bed")),
    }
}

/// `--min-f1 SNP=F,INDEL=F`, checked at parse time.
fn parse_gate_arg(s: &str) -> Result<report::Gate, String> {
    report::parse_gate(s).map_err(|e| format!("{e:#}"))
}

pub fn run(a: EvalArgs) -> Result<i32> {
    let score_gq = a.score == ScoreField::Gq;
    let gate = a.min_f1.clone().map(|g| g.0);
    let report_file = match &a.report {
        Some(d) => {
            let f = crate::side_output::SideFile::prepare("--report", d)?;
            let mut inputs = vec![a.reference.clone(), a.truth.clone(), a.calls.clone()];
            inputs.extend(a.confident.clone());
            inputs.extend(a.stratify.iter().map(|(_, p)| p.clone()));
            let dest: Vec<(&str, PathBuf)> =
                f.dest().map(|p| ("--report", p)).into_iter().collect();
            crate::output::check_not_input(&dest, &inputs)?;
            Some(f)
        }
        None => None,
    };
    let reference = Reference::open(&a.reference)?;
    if a.somatic {
        return run_somatic(&a, &reference, gate);
    }
    let mut seqs = ContigCache::new(&reference)?;
    let truth = load(
        &a.truth,
        "--truth-sample",
        a.truth_sample.as_deref(),
        &reference,
        &mut seqs,
        true,
        score_gq,
    )?;
    let calls = load(
        &a.calls,
        "--calls-sample",
        a.calls_sample.as_deref(),
        &reference,
        &mut seqs,
        !a.all_records,
        score_gq,
    )?;
    let mut vcf_contigs: Vec<&str> = Vec::new();
    for r in truth.records.iter().chain(&calls.records) {
        if !vcf_contigs.contains(&r.contig.as_str()) {
            vcf_contigs.push(&r.contig);
        }
    }
    let confident = match &a.confident {
        Some(p) => Some(read_regions_bed(p, &reference, &vcf_contigs)?),
        None => None,
    };
    let regions = match &a.regions {
        Some(r) => {
            let list = region::parse_regions(r, &reference.contigs)?;
            check_contigs("--regions", &list, &reference, &vcf_contigs)?;
            Some(IntervalSet::new(&list))
        }
        None => None,
    };
    let mut strata = Vec::new();
    for (name, file) in &a.stratify {
        strata.push((
            name.clone(),
            read_regions_bed(file, &reference, &vcf_contigs)?,
        ));
    }
    let ev = evaluate(
        &mut seqs,
        &truth,
        &calls,
        regions.as_ref(),
        confident.as_ref(),
        &strata,
        score_gq,
    )?;
    if let Some(dir) = &a.output_dir {
        report::write_dir(dir, &ev, &truth, &calls)?;
    }
    if let Some(f) = report_file {
        let shown =
            |p: &Option<PathBuf>| p.as_ref().map_or("-".into(), |p| p.display().to_string());
        let mut inputs = vec![
            ("reference", a.reference.display().to_string()),
            ("truth", a.truth.display().to_string()),
            ("calls", a.calls.display().to_string()),
            ("confident regions", shown(&a.confident)),
            ("regions", a.regions.clone().unwrap_or("-".into())),
            ("score", ev.report.score_field.clone()),
            (
                "records counted",
                if a.all_records { "all" } else { "PASS and ." }.to_string(),
            ),
        ];
        for (name, p) in &a.stratify {
            inputs.push(("stratum", format!("{name}={}", p.display())));
        }
        let meta = html::Meta {
            inputs,
            calls_provenance: calls
                .header
                .iter()
                .filter(|l| l.starts_with("##source=") || l.starts_with("##callvar"))
                .cloned()
                .collect(),
            gate: gate.clone(),
        };
        let written = f.write(html::render(&ev, &meta).as_bytes())?;
        crate::side_output::commit(vec![written])?;
    }
    // written, not printed: a closed stdout (`eval … | head -1`) is an error main ends quietly
    let text = if a.json {
        serde_json::to_string_pretty(&ev.report)? + "\n"
    } else {
        report::table(&ev.report)
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    let failed = gate.map_or_else(Vec::new, |g| report::gate_failures(&ev.report, &g));
    if !failed.is_empty() {
        eprintln!("callvar eval: gate not met: {}", failed.join("; "));
        return Ok(3);
    }
    Ok(0)
}

/// `eval --somatic`: see [`somatic`].
fn run_somatic(
    a: &EvalArgs,
    reference: &Reference,
    gate: Option<Vec<(VarType, f64)>>,
) -> Result<i32> {
    let (_, truth) = crate::vcf::read_vcf(&a.truth)?;
    let (_, calls) = crate::vcf::read_vcf(&a.calls)?;
    let mut vcf_contigs: Vec<&str> = Vec::new();
    for r in truth.iter().chain(&calls) {
        if !vcf_contigs.contains(&r.contig.as_str()) {
            vcf_contigs.push(&r.contig);
        }
    }
    let confident = match &a.confident {
        Some(p) => Some(read_regions_bed(p, reference, &vcf_contigs)?),
        None => None,
    };
    let regions = match &a.regions {
        Some(r) => {
            let list = region::parse_regions(r, &reference.contigs)?;
            check_contigs("--regions", &list, reference, &vcf_contigs)?;
            Some(IntervalSet::new(&list))
        }
        None => None,
    };
    let r = somatic::run(
        reference,
        &truth,
        &calls,
        a.all_records,
        regions.as_ref(),
        confident.as_ref(),
    )
    .with_context(|| format!("{} against {}", a.calls.display(), a.truth.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", somatic::table(&r));
    }
    let failed = gate.map_or_else(Vec::new, |g| somatic::gate_failures(&r, &report::Gate(g)));
    if !failed.is_empty() {
        eprintln!("callvar eval: gate not met: {}", failed.join("; "));
        return Ok(3);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reference: &str, alts: &[&str], gt: &[Option<usize>]) -> VcfRecord {
        VcfRecord {
            line: 9,
            contig: "c".into(),
            pos: 5,
            reference: reference.into(),
            alts: alts.iter().map(|a| a.to_string()).collect(),
            qual: Some(20.0),
            filter: "PASS".into(),
            gt: Some(gt.to_vec()),
            gq: None,
            text: String::new(),
        }
    }

    const SEQ: &[u8] = b"GATTACAAAAGG";

    #[test]
    fn padding_base_is_trimmed_only_when_every_allele_shares_it() {
        let v = to_var(
            &record("CAAAA", &["C", "CAA"], &[Some(1), Some(2)]),
            0,
            SEQ,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((v.start, v.end), (6, 10));
        let seqs: Vec<&[u8]> = v.alleles.iter().flatten().map(|a| &a.seq[..]).collect();
        assert_eq!(seqs, [&b"AAAA"[..], b"", b"AA"]);
        assert_eq!(v.kind, VarType::Indel);
        let snp = to_var(
            &record("C", &["T", "CA"], &[Some(0), Some(1)]),
            0,
            SEQ,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((snp.start, snp.end, snp.kind), (5, 6, VarType::Indel));
    }

    #[test]
    fn star_missing_and_symbolic_alleles() {
        // `*` replays nothing: the T allele remains, on one haplotype
        let v = to_var(
            &record("C", &["T", "*"], &[Some(1), Some(2)]),
            0,
            SEQ,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((v.gt, v.alleles[2].is_none()), ([Some(1), Some(2)], true));
        assert_eq!(v.kind, VarType::Snp);
        let none = |gt: &[Option<usize>], alts: &[&str]| {
            to_var(&record("C", alts, gt), 0, SEQ, false)
                .unwrap()
                .is_none()
        };
        assert!(none(&[Some(0), Some(1)], &["<DEL>"]));
        assert!(none(&[None, None], &["T"]));
        assert!(none(&[Some(0), Some(0)], &["T"]));
        assert!(none(&[Some(2), Some(0)], &["T", "*"]));
        let err = to_var(&record("C", &["T"], &[Some(0), Some(2)]), 0, SEQ, false);
        assert_eq!(
            err.unwrap_err().to_string(),
            "GT allele 2, but there are 1 ALT alleles"
        );
    }
}
