//! `callvar eval`: compares a call set with a truth set the way RTG vcfeval does, by
//! haplotype sequence rather than record text. Variants of both sets are grouped into
//! clusters (variants closer than [`CLUSTER_SLOP`] bp chain together); within a cluster the
//! largest subsets of truth and call variants whose diploid haplotype pairs spell the same
//! sequences are true positives (so shifted indels, MNPs versus split SNPs and differently
//! split complex alleles all match); the rest are FN and FP. A second, ploidy-squashed pass
//! reports allele-only matches (genotype errors). Counting follows hap.py: recall from the
//! truth side, precision from the call side, SNP and INDEL apart, optionally per
//! stratification BED, with the F1-maximising score threshold.
use crate::reference::{ContigCache, Reference};
use crate::region::{self, IntervalSet};
use crate::vcf::{read_vcf, VcfRecord};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Variants whose spans come closer than this are evaluated together.
pub const CLUSTER_SLOP: u64 = 50;
/// Largest search (sum over both sets of 3^variants) tried exhaustively in one cluster.
const MAX_SEARCH: usize = 300_000;

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
    /// Confident regions: only variants overlapping them are counted.
    #[arg(long, value_name = "CONF.bed")]
    confident: Option<PathBuf>,
    /// Restrict to these regions (samtools style, comma-separated).
    #[arg(long)]
    regions: Option<String>,
    /// Extra per-region metrics: NAME=FILE.bed (repeatable).
    #[arg(long, value_name = "NAME=FILE.bed")]
    stratify: Vec<String>,
    /// Call score for the precision/recall curve: QUAL or GQ.
    #[arg(long, default_value = "QUAL")]
    score: String,
    /// Gate: exit 3 unless every named F1 is met, e.g. SNP=0.999,INDEL=0.99.
    #[arg(long, value_name = "SNP=F,INDEL=F")]
    min_f1: Option<String>,
    /// Count calls with any FILTER (default: only PASS and `.`).
    #[arg(long)]
    all_records: bool,
    /// Write tp.vcf, tp-baseline.vcf, fp.vcf, fn.vcf and the score curves here.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Print the metrics as one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum VarType {
    #[serde(rename = "SNP")]
    Snp,
    #[serde(rename = "INDEL")]
    Indel,
}

impl VarType {
    fn name(self) -> &'static str {
        match self {
            VarType::Snp => "SNP",
            VarType::Indel => "INDEL",
        }
    }
}

/// A genotyped variant ready for matching.
#[derive(Clone, Debug)]
pub struct Var {
    pub start: u64,
    pub end: u64,
    pub alleles: Vec<Vec<u8>>,
    /// Allele indices of the genotype (0 = reference), two of them.
    pub gt: [usize; 2],
    pub kind: VarType,
    pub score: f64,
    /// Index into the source file's records.
    pub record: usize,
}

/// Turns a record into a [`Var`], or `None` when it carries no alternate allele to match
/// (hom-ref, missing genotype, symbolic or spanning-deletion alleles only).
fn to_var(r: &VcfRecord, idx: usize, score_gq: bool) -> Option<Var> {
    let gt = r.gt.as_ref()?;
    // a missing allele (`.`) and the spanning-deletion allele `*` (the deletion itself is
    // another record) add nothing to this record's haplotype: both count as reference here
    let is_star = |a: usize| a > 0 && r.alts.get(a - 1).is_some_and(|x| x == "*");
    let called: Vec<usize> = gt
        .iter()
        .map(|a| a.filter(|&a| !is_star(a)).unwrap_or(0))
        .collect();
    let gt = match called.as_slice() {
        [a] => [*a, *a],
        [a, b] => [(*a).min(*b), (*a).max(*b)],
        _ => return None,
    };
    if gt == [0, 0] || gt.iter().any(|&a| a > r.alts.len()) {
        return None;
    }
    let mut alleles = vec![r.reference.as_bytes().to_vec()];
    alleles.extend(r.alts.iter().map(|a| a.as_bytes().to_vec()));
    let used = |a: usize| &alleles[a];
    if gt.iter().any(|&a| a > 0 && used(a).first() == Some(&b'<')) {
        return None; // symbolic alleles (<DEL>, <*>) cannot be spelled out
    }
    let kind = if gt
        .iter()
        .all(|&a| a == 0 || used(a).len() == alleles[0].len())
    {
        VarType::Snp
    } else {
        VarType::Indel
    };
    let score = if score_gq { r.gq } else { r.qual }.unwrap_or(0.0);
    Some(Var {
        start: r.pos,
        end: r.pos + r.reference.len() as u64,
        alleles,
        gt,
        kind,
        score,
        record: idx,
    })
}

/// A VCF's header lines and records, as read.
type VcfText = (Vec<String>, Vec<VcfRecord>);

/// Checks order and REF bases, then keeps the variants to evaluate.
fn load(
    path: &Path,
    reference: &Reference,
    seqs: &mut ContigCache,
    pass_only: bool,
    score_gq: bool,
) -> Result<(VcfText, Vec<(String, Var)>)> {
    let (header, records) = read_vcf(path)?;
    let shown = path.display();
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut last = 0u64;
    for (i, r) in records.iter().enumerate() {
        let Some(len) = reference.contig_len(&r.contig) else {
            bail!(
                "{shown}: line {}: contig '{}' is not in the reference {}",
                r.line,
                r.contig,
                reference.path.display()
            );
        };
        if seen.last() != Some(&r.contig) {
            if seen.contains(&r.contig) {
                bail!(
                    "{shown}: line {}: not sorted (contig '{}' appears again)",
                    r.line,
                    r.contig
                );
            }
            seen.push(r.contig.clone());
        } else if r.pos < last {
            bail!(
                "{shown}: line {}: not sorted ({}:{} after position {})",
                r.line,
                r.contig,
                r.pos + 1,
                last + 1
            );
        }
        last = r.pos;
        if r.pos + r.reference.len() as u64 > len {
            bail!(
                "{shown}: line {}: {}:{} runs past the end of the contig",
                r.line,
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
                "{shown}: line {}: REF {} at {}:{} disagrees with the reference ({})",
                r.line,
                r.reference,
                r.contig,
                r.pos + 1,
                String::from_utf8_lossy(actual)
            );
        }
        if pass_only && !r.passes() {
            continue;
        }
        if let Some(v) = to_var(r, i, score_gq) {
            out.push((r.contig.clone(), v));
        }
    }
    Ok(((header, records), out))
}

/// Outcome of matching one variant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    /// Matched with its genotype.
    pub matched: bool,
    /// Matched by allele only (a genotype error); only set when not `matched`.
    pub allele_match: bool,
    /// Score used on the curve (for truth: the lowest score of the calls it matched with).
    pub score: f64,
}

type HapPair = (Vec<u8>, Vec<u8>);
/// Best placement per haplotype pair: (variants used, bit mask of them).
type Placements = HashMap<HapPair, (usize, u64)>;

/// Enumerates placements of a cluster's variants on two haplotypes.
struct Placer<'a> {
    vars: &'a [&'a Var],
    /// The cluster's reference sequence, starting at `offset`.
    seq: &'a [u8],
    offset: u64,
    /// One haplotype carrying one alt allele per variant (allele-only matching).
    squash: bool,
    out: Placements,
}

impl Placer<'_> {
    /// `haps`: per haplotype, the sequence built so far and the reference position reached.
    fn rec(&mut self, i: usize, haps: &mut [(Vec<u8>, u64); 2], used: u64) {
        if i == self.vars.len() {
            let finish = |h: &(Vec<u8>, u64)| {
                let mut s = h.0.clone();
                s.extend_from_slice(&self.seq[(h.1 - self.offset) as usize..]);
                s
            };
            let a = finish(&haps[0]);
            let b = if self.squash {
                Vec::new()
            } else {
                finish(&haps[1])
            };
            let key = if a <= b { (a, b) } else { (b, a) };
            let n = used.count_ones() as usize;
            let e = self.out.entry(key).or_insert((0, 0));
            if n > e.0 || (n == e.0 && used < e.1) {
                *e = (n, used);
            }
            return;
        }
        self.rec(i + 1, haps, used);
        let v = self.vars[i];
        let mut options: Vec<[usize; 2]> = Vec::new();
        if self.squash {
            for &a in v.gt.iter().filter(|&&a| a > 0) {
                if !options.contains(&[a, 0]) {
                    options.push([a, 0]);
                }
            }
        } else {
            options.push(v.gt);
            if v.gt[0] != v.gt[1] {
                options.push([v.gt[1], v.gt[0]]);
            }
        }
        for opt in options {
            let saved = haps.clone();
            let mut ok = true;
            for (h, &a) in opt.iter().enumerate() {
                if a == 0 || (self.squash && h == 1) {
                    continue;
                }
                if haps[h].1 > v.start {
                    ok = false; // overlaps a variant already on this haplotype
                    break;
                }
                let from = (haps[h].1 - self.offset) as usize;
                let to = (v.start - self.offset) as usize;
                let (s, pos) = &mut haps[h];
                s.extend_from_slice(&self.seq[from..to]);
                s.extend_from_slice(&v.alleles[a]);
                *pos = v.end;
            }
            if ok {
                self.rec(i + 1, haps, used | (1 << i));
            }
            *haps = saved;
        }
    }
}

/// Every way to place `vars` on two haplotypes over `seq` (the cluster's reference from
/// `offset`), keyed by the sorted pair of haplotype sequences, keeping for each pair the
/// placement that uses the most variants. With `squash`, one haplotype carrying one alt
/// allele per variant.
fn placements(vars: &[&Var], seq: &[u8], offset: u64, squash: bool) -> Placements {
    let mut p = Placer {
        vars,
        seq,
        offset,
        squash,
        out: HashMap::new(),
    };
    let mut haps = [(Vec::new(), offset), (Vec::new(), offset)];
    p.rec(0, &mut haps, 0);
    p.out
}

fn search_cost(n: usize) -> usize {
    3usize.saturating_pow(n as u32)
}

/// Finds the best common placement of truth and call subsets. Returns bit masks of the
/// matched truth and call variants.
fn best_match(truth: &[&Var], calls: &[&Var], seq: &[u8], offset: u64, squash: bool) -> (u64, u64) {
    let t = placements(truth, seq, offset, squash);
    let c = placements(calls, seq, offset, squash);
    let mut best = (0usize, 0usize, 0u64, 0u64);
    for (key, &(nt, mt)) in &t {
        if let Some(&(nc, mc)) = c.get(key) {
            let cand = (nt + nc, nt, mt, mc);
            if cand.0 > best.0
                || (cand.0 == best.0
                    && (cand.1 > best.1 || (cand.1 == best.1 && (mt, mc) < (best.2, best.3))))
            {
                best = cand;
            }
        }
    }
    (best.2, best.3)
}

/// Matches one contig's truth and call variants; fills the status vectors.
fn match_contig(seq: &[u8], truth: &[&Var], calls: &[&Var], ts: &mut [Status], cs: &mut [Status]) {
    // merge both sets in position order into clusters
    let mut items: Vec<(u64, u64, bool, usize)> = truth
        .iter()
        .enumerate()
        .map(|(i, v)| (v.start, v.end, true, i))
        .chain(
            calls
                .iter()
                .enumerate()
                .map(|(i, v)| (v.start, v.end, false, i)),
        )
        .collect();
    items.sort();
    let mut k = 0;
    while k < items.len() {
        let mut end = items[k].1;
        let mut j = k + 1;
        while j < items.len() && items[j].0 < end + CLUSTER_SLOP {
            end = end.max(items[j].1);
            j += 1;
        }
        let cluster = &items[k..j];
        let ti: Vec<usize> = cluster.iter().filter(|x| x.2).map(|x| x.3).collect();
        let ci: Vec<usize> = cluster.iter().filter(|x| !x.2).map(|x| x.3).collect();
        match_cluster(seq, truth, calls, &ti, &ci, ts, cs);
        k = j;
    }
}

fn match_cluster(
    seq: &[u8],
    truth: &[&Var],
    calls: &[&Var],
    ti: &[usize],
    ci: &[usize],
    ts: &mut [Status],
    cs: &mut [Status],
) {
    if ti.is_empty() || ci.is_empty() {
        return;
    }
    if search_cost(ti.len()) + search_cost(ci.len()) > MAX_SEARCH {
        // too dense to search exhaustively: split at the middle and match each half
        let mid_pos = truth[ti[ti.len() / 2]]
            .start
            .max(calls[ci[ci.len() / 2]].start);
        let (t1, t2): (Vec<usize>, Vec<usize>) =
            ti.iter().partition(|&&i| truth[i].start < mid_pos);
        let (c1, c2): (Vec<usize>, Vec<usize>) =
            ci.iter().partition(|&&i| calls[i].start < mid_pos);
        if (t1.is_empty() || t2.is_empty()) && (c1.is_empty() || c2.is_empty()) {
            return; // cannot split further; leave unmatched
        }
        match_cluster(seq, truth, calls, &t1, &c1, ts, cs);
        match_cluster(seq, truth, calls, &t2, &c2, ts, cs);
        return;
    }
    let tv: Vec<&Var> = ti.iter().map(|&i| truth[i]).collect();
    let cv: Vec<&Var> = ci.iter().map(|&i| calls[i]).collect();
    let start = tv
        .iter()
        .chain(cv.iter())
        .map(|v| v.start)
        .min()
        .unwrap_or(0)
        .saturating_sub(1);
    let end = tv
        .iter()
        .chain(cv.iter())
        .map(|v| v.end)
        .max()
        .unwrap_or(0)
        .min(seq.len() as u64)
        + 1;
    let end = end.min(seq.len() as u64);
    let window = &seq[start as usize..end as usize];
    let (mt, mc) = best_match(&tv, &cv, window, start, false);
    let min_score = ci
        .iter()
        .enumerate()
        .filter(|(b, _)| mc & (1 << b) != 0)
        .map(|(_, &i)| calls[i].score)
        .fold(f64::INFINITY, f64::min);
    for (b, &i) in ti.iter().enumerate() {
        if mt & (1 << b) != 0 {
            ts[i] = Status {
                matched: true,
                allele_match: false,
                score: min_score,
            };
        }
    }
    for (b, &i) in ci.iter().enumerate() {
        if mc & (1 << b) != 0 {
            cs[i].matched = true;
        }
    }
    // allele-only pass over what is left
    let rt: Vec<&Var> = ti
        .iter()
        .filter(|&&i| !ts[i].matched)
        .map(|&i| truth[i])
        .collect();
    let rc: Vec<&Var> = ci
        .iter()
        .filter(|&&i| !cs[i].matched)
        .map(|&i| calls[i])
        .collect();
    if rt.is_empty() || rc.is_empty() {
        return;
    }
    let (at, ac) = best_match(&rt, &rc, window, start, true);
    let rti: Vec<usize> = ti.iter().copied().filter(|&i| !ts[i].matched).collect();
    let rci: Vec<usize> = ci.iter().copied().filter(|&i| !cs[i].matched).collect();
    for (b, &i) in rti.iter().enumerate() {
        if at & (1 << b) != 0 {
            ts[i].allele_match = true;
        }
    }
    for (b, &i) in rci.iter().enumerate() {
        if ac & (1 << b) != 0 {
            cs[i].allele_match = true;
        }
    }
}

/// Metrics for one variant type.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    pub tp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub fp: usize,
    /// Calls counted as TP (call side; differs from `tp` when representations split differently).
    pub tp_call: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Truth variants found with the wrong genotype (counted in `fn`).
    pub genotype_mismatch: usize,
    /// Score threshold that maximises F1, with that F1.
    pub best_threshold: Option<f64>,
    pub best_f1: f64,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// (score, tp_truth, tp_call, fp, fn, precision, recall, f1) per threshold, high to low.
type CurvePoint = (f64, usize, usize, usize, usize, f64, f64, f64);

fn metrics(
    truth: &[(VarType, Status)],
    calls: &[(VarType, Status, f64)],
    kind: VarType,
) -> (Metrics, Vec<CurvePoint>) {
    let t: Vec<&Status> = truth.iter().filter(|x| x.0 == kind).map(|x| &x.1).collect();
    let c: Vec<(&Status, f64)> = calls
        .iter()
        .filter(|x| x.0 == kind)
        .map(|x| (&x.1, x.2))
        .collect();
    let tp = t.iter().filter(|s| s.matched).count();
    let tp_call = c.iter().filter(|s| s.0.matched).count();
    let mut m = Metrics {
        tp,
        fn_: t.len() - tp,
        fp: c.len() - tp_call,
        tp_call,
        genotype_mismatch: t.iter().filter(|s| !s.matched && s.allele_match).count(),
        ..Default::default()
    };
    m.precision = if c.is_empty() {
        0.0
    } else {
        tp_call as f64 / c.len() as f64
    };
    m.recall = if t.is_empty() {
        0.0
    } else {
        tp as f64 / t.len() as f64
    };
    m.f1 = f1(m.precision, m.recall);
    // thresholds: every call score and every matched truth score, so the lowest one keeps
    // everything (a truth score can come from a call of the other type in its cluster)
    let mut scores: Vec<f64> = c
        .iter()
        .map(|x| x.1)
        .chain(t.iter().filter(|x| x.matched).map(|x| x.score))
        .collect();
    scores.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
    scores.dedup();
    let mut curve = Vec::new();
    for &s in &scores {
        let tpt = t.iter().filter(|x| x.matched && x.score >= s).count();
        let tpc = c.iter().filter(|x| x.0.matched && x.1 >= s).count();
        let fp = c.iter().filter(|x| !x.0.matched && x.1 >= s).count();
        let p = if tpc + fp > 0 {
            tpc as f64 / (tpc + fp) as f64
        } else {
            0.0
        };
        let r = if t.is_empty() {
            0.0
        } else {
            tpt as f64 / t.len() as f64
        };
        curve.push((s, tpt, tpc, fp, t.len() - tpt, p, r, f1(p, r)));
    }
    if let Some(best) = curve.iter().max_by(|a, b| {
        a.7.partial_cmp(&b.7)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal))
    }) {
        m.best_threshold = Some(best.0);
        m.best_f1 = best.7;
    }
    (m, curve)
}

/// Everything `eval` reports.
#[derive(Debug, Serialize)]
pub struct Report {
    #[serde(rename = "SNP")]
    pub snp: Metrics,
    #[serde(rename = "INDEL")]
    pub indel: Metrics,
    pub strata: BTreeMap<String, BTreeMap<String, Metrics>>,
    pub score_field: String,
}

/// Matches calls against truth. `keep` filters which variants count (confident regions etc.).
pub struct Evaluation {
    pub report: Report,
    truth_status: Vec<(usize, Status)>,
    call_status: Vec<(usize, Status)>,
    truth_curves: Vec<(VarType, Vec<CurvePoint>)>,
}

pub fn evaluate(
    reference: &Reference,
    truth_path: &Path,
    calls_path: &Path,
    keep: &dyn Fn(&str, u64, u64) -> bool,
    strata: &[(String, IntervalSet)],
    pass_only: bool,
    score_gq: bool,
) -> Result<(Evaluation, VcfText, VcfText)> {
    let mut seqs = ContigCache::new(reference)?;
    let ((th, trec), tv) = load(truth_path, reference, &mut seqs, true, score_gq)?;
    let ((ch, crec), cv) = load(calls_path, reference, &mut seqs, pass_only, score_gq)?;
    let tv: Vec<(String, Var)> = tv
        .into_iter()
        .filter(|(c, v)| keep(c, v.start, v.end))
        .collect();
    let cv: Vec<(String, Var)> = cv
        .into_iter()
        .filter(|(c, v)| keep(c, v.start, v.end))
        .collect();
    let mut ts = vec![Status::default(); tv.len()];
    let mut cs = vec![Status::default(); cv.len()];
    let mut contigs: Vec<&str> = tv
        .iter()
        .chain(cv.iter())
        .map(|(c, _)| c.as_str())
        .collect();
    contigs.dedup();
    contigs.sort();
    contigs.dedup();
    for contig in contigs {
        let seq = &seqs.get(contig)?.seq;
        let t_idx: Vec<usize> = (0..tv.len()).filter(|&i| tv[i].0 == contig).collect();
        let c_idx: Vec<usize> = (0..cv.len()).filter(|&i| cv[i].0 == contig).collect();
        let t: Vec<&Var> = t_idx.iter().map(|&i| &tv[i].1).collect();
        let c: Vec<&Var> = c_idx.iter().map(|&i| &cv[i].1).collect();
        let mut lts = vec![Status::default(); t.len()];
        let mut lcs = vec![Status::default(); c.len()];
        match_contig(seq, &t, &c, &mut lts, &mut lcs);
        for (k, &i) in t_idx.iter().enumerate() {
            ts[i] = lts[k];
        }
        for (k, &i) in c_idx.iter().enumerate() {
            cs[i] = lcs[k];
            cs[i].score = cv[i].1.score;
        }
    }
    let summarise = |tsel: &dyn Fn(usize) -> bool, csel: &dyn Fn(usize) -> bool| {
        let t: Vec<(VarType, Status)> = (0..tv.len())
            .filter(|&i| tsel(i))
            .map(|i| (tv[i].1.kind, ts[i]))
            .collect();
        let c: Vec<(VarType, Status, f64)> = (0..cv.len())
            .filter(|&i| csel(i))
            .map(|i| (cv[i].1.kind, cs[i], cv[i].1.score))
            .collect();
        (
            metrics(&t, &c, VarType::Snp),
            metrics(&t, &c, VarType::Indel),
        )
    };
    let ((snp, snp_curve), (indel, indel_curve)) = summarise(&|_| true, &|_| true);
    let mut strata_out = BTreeMap::new();
    for (name, set) in strata {
        let ((s, _), (d, _)) = summarise(
            &|i| set.overlaps(&tv[i].0, tv[i].1.start, tv[i].1.end),
            &|i| set.overlaps(&cv[i].0, cv[i].1.start, cv[i].1.end),
        );
        strata_out.insert(
            name.clone(),
            BTreeMap::from([("SNP".to_string(), s), ("INDEL".to_string(), d)]),
        );
    }
    let report = Report {
        snp,
        indel,
        strata: strata_out,
        score_field: if score_gq { "GQ" } else { "QUAL" }.into(),
    };
    let ev = Evaluation {
        report,
        truth_status: tv
            .iter()
            .zip(&ts)
            .map(|((_, v), s)| (v.record, *s))
            .collect(),
        call_status: cv
            .iter()
            .zip(&cs)
            .map(|((_, v), s)| (v.record, *s))
            .collect(),
        truth_curves: vec![(VarType::Snp, snp_curve), (VarType::Indel, indel_curve)],
    };
    Ok((ev, (th, trec), (ch, crec)))
}

fn write_subset(
    path: &Path,
    header: &[String],
    records: &[VcfRecord],
    picks: &[usize],
) -> Result<()> {
    let mut text = header.join("\n");
    text.push('\n');
    let mut picks = picks.to_vec();
    picks.sort_unstable();
    for i in picks {
        text.push_str(&records[i].text);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

fn table(r: &Report) -> String {
    let mut s = format!(
        "{:<22} {:<6} {:>7} {:>7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>10} {:>8}\n",
        "stratum",
        "type",
        "TP",
        "FN",
        "FP",
        "GT-error",
        "recall",
        "prec",
        "F1",
        format!("best {}", r.score_field),
        "best F1"
    );
    let mut row = |name: &str, kind: &str, m: &Metrics| {
        s.push_str(&format!(
            "{:<22} {:<6} {:>7} {:>7} {:>7} {:>9} {:>8.4} {:>8.4} {:>8.4} {:>10} {:>8.4}\n",
            name,
            kind,
            m.tp,
            m.fn_,
            m.fp,
            m.genotype_mismatch,
            m.recall,
            m.precision,
            m.f1,
            m.best_threshold
                .map_or("-".to_string(), |t| format!("{t:.1}")),
            m.best_f1
        ));
    };
    row("all", "SNP", &r.snp);
    row("all", "INDEL", &r.indel);
    for (name, m) in &r.strata {
        row(name, "SNP", &m["SNP"]);
        row(name, "INDEL", &m["INDEL"]);
    }
    s
}

/// Parses `SNP=0.999,INDEL=0.99`.
fn parse_gate(text: &str) -> Result<Vec<(VarType, f64)>> {
    text.split(',')
        .map(|part| {
            let (k, v) = part
                .split_once('=')
                .with_context(|| format!("--min-f1: '{part}' is not TYPE=F1"))?;
            let kind = match k.trim().to_ascii_uppercase().as_str() {
                "SNP" => VarType::Snp,
                "INDEL" => VarType::Indel,
                other => bail!("--min-f1: unknown type '{other}' (SNP or INDEL)"),
            };
            let f: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|f| (0.0..=1.0).contains(f))
                .with_context(|| format!("--min-f1: '{v}' is not a number in [0, 1]"))?;
            Ok((kind, f))
        })
        .collect()
}

pub fn run(a: EvalArgs) -> Result<i32> {
    let score_gq = match a.score.to_ascii_uppercase().as_str() {
        "QUAL" => false,
        "GQ" => true,
        other => bail!("--score: '{other}' is not QUAL or GQ"),
    };
    let gate = a.min_f1.as_deref().map(parse_gate).transpose()?;
    let reference = Reference::open(&a.reference)?;
    let confident = match &a.confident {
        Some(p) => Some(IntervalSet::new(&region::read_bed(p)?)),
        None => None,
    };
    let regions: Option<IntervalSet> = match &a.regions {
        Some(r) => Some(IntervalSet::new(&region::parse_regions(
            r,
            &reference.contigs,
        )?)),
        None => None,
    };
    let mut strata = Vec::new();
    for s in &a.stratify {
        let (name, file) = s
            .split_once('=')
            .with_context(|| format!("--stratify: '{s}' is not NAME=FILE.bed"))?;
        strata.push((
            name.to_string(),
            IntervalSet::new(&region::read_bed(Path::new(file))?),
        ));
    }
    let keep = |c: &str, s: u64, e: u64| {
        confident.as_ref().is_none_or(|x| x.overlaps(c, s, e))
            && regions.as_ref().is_none_or(|x| x.overlaps(c, s, e))
    };
    let (ev, (th, trec), (ch, crec)) = evaluate(
        &reference,
        &a.truth,
        &a.calls,
        &keep,
        &strata,
        !a.all_records,
        score_gq,
    )?;
    if let Some(dir) = &a.output_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let pick = |v: &[(usize, Status)], want: bool| -> Vec<usize> {
            v.iter()
                .filter(|x| x.1.matched == want)
                .map(|x| x.0)
                .collect()
        };
        write_subset(
            &dir.join("tp-baseline.vcf"),
            &th,
            &trec,
            &pick(&ev.truth_status, true),
        )?;
        write_subset(
            &dir.join("fn.vcf"),
            &th,
            &trec,
            &pick(&ev.truth_status, false),
        )?;
        write_subset(
            &dir.join("tp.vcf"),
            &ch,
            &crec,
            &pick(&ev.call_status, true),
        )?;
        write_subset(
            &dir.join("fp.vcf"),
            &ch,
            &crec,
            &pick(&ev.call_status, false),
        )?;
        for (kind, curve) in &ev.truth_curves {
            let mut text = format!(
                "{}\ttp_baseline\ttp_call\tfp\tfn\tprecision\trecall\tf1\n",
                ev.report.score_field
            );
            for p in curve {
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{:.6}\t{:.6}\t{:.6}\n",
                    p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7
                ));
            }
            let path = dir.join(format!("{}_curve.tsv", kind.name().to_lowercase()));
            std::fs::write(&path, text)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&ev.report)? + "\n",
        )?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev.report)?);
    } else {
        print!("{}", table(&ev.report));
    }
    if let Some(gate) = gate {
        let mut failed = Vec::new();
        for (kind, min) in gate {
            let m = if kind == VarType::Snp {
                &ev.report.snp
            } else {
                &ev.report.indel
            };
            if m.f1 < min {
                failed.push(format!("{} F1 {:.4} < {min}", kind.name(), m.f1));
            }
        }
        if !failed.is_empty() {
            eprintln!("callvar eval: gate not met: {}", failed.join("; "));
            return Ok(3);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(start: u64, r: &str, alts: &[&str], gt: [usize; 2]) -> Var {
        let mut alleles = vec![r.as_bytes().to_vec()];
        alleles.extend(alts.iter().map(|a| a.as_bytes().to_vec()));
        let kind = if alleles.iter().all(|a| a.len() == r.len()) {
            VarType::Snp
        } else {
            VarType::Indel
        };
        Var {
            start,
            end: start + r.len() as u64,
            alleles,
            gt,
            kind,
            score: 30.0,
            record: 0,
        }
    }

    /// Runs the matcher on one contig sequence; returns (truth matched, calls matched).
    fn run(seq: &str, truth: &[Var], calls: &[Var]) -> (Vec<bool>, Vec<bool>) {
        let t: Vec<&Var> = truth.iter().collect();
        let c: Vec<&Var> = calls.iter().collect();
        let mut ts = vec![Status::default(); t.len()];
        let mut cs = vec![Status::default(); c.len()];
        match_contig(seq.as_bytes(), &t, &c, &mut ts, &mut cs);
        (
            ts.iter().map(|s| s.matched).collect(),
            cs.iter().map(|s| s.matched).collect(),
        )
    }

    //                 0         1         2         3
    //                 0123456789012345678901234567890123456789
    const SEQ: &str = "GATTACAGGCAAAAAAAGTCACACACAGTTGACCTGAGCT";

    #[test]
    fn shifted_deletion_in_homopolymer_matches() {
        // delete one A of the A run 10..=16: left (anchor C at 9) vs right (anchor A at 15)
        let truth = [var(9, "CA", &["C"], [0, 1])];
        let calls = [var(15, "AA", &["A"], [0, 1])];
        assert_eq!(run(SEQ, &truth, &calls), (vec![true], vec![true]));
    }

    #[test]
    fn shifted_insertion_in_tandem_repeat_matches() {
        // insert one CA unit into the CACACACA at 19..=26
        let truth = [var(18, "T", &["TCA"], [1, 1])];
        let calls = [var(25, "C", &["CAC"], [1, 1])];
        assert_eq!(run(SEQ, &truth, &calls), (vec![true], vec![true]));
    }

    #[test]
    fn mnp_matches_split_snps() {
        let truth = [var(1, "AT", &["GC"], [0, 1])];
        let calls = [var(1, "A", &["G"], [0, 1]), var(2, "T", &["C"], [0, 1])];
        // phased the same way: the two SNPs on one haplotype spell the MNP
        assert_eq!(run(SEQ, &truth, &calls), (vec![true], vec![true, true]));
    }

    #[test]
    fn het_vs_hom_is_a_genotype_error() {
        let truth = [var(5, "C", &["T"], [0, 1])];
        let calls = [var(5, "C", &["T"], [1, 1])];
        let t: Vec<&Var> = truth.iter().collect();
        let c: Vec<&Var> = calls.iter().collect();
        let mut ts = vec![Status::default(); 1];
        let mut cs = vec![Status::default(); 1];
        match_contig(SEQ.as_bytes(), &t, &c, &mut ts, &mut cs);
        assert!(!ts[0].matched && ts[0].allele_match);
        assert!(!cs[0].matched && cs[0].allele_match);
    }

    #[test]
    fn multiallelic_het_matches_two_records() {
        // truth 1/2 matches the same alleles listed in the other order; a 0/1 with one of
        // them is a genotype error, not a match
        let truth = [var(5, "C", &["T", "G"], [1, 2])];
        let calls = [var(5, "C", &["G", "T"], [1, 2])];
        assert_eq!(run(SEQ, &truth, &calls), (vec![true], vec![true]));
        let wrong = [var(5, "C", &["T"], [0, 1])];
        assert_eq!(run(SEQ, &truth, &wrong), (vec![false], vec![false]));
    }

    #[test]
    fn overlapping_deletions_on_two_haplotypes() {
        // het deletions of AAAA and AA overlapping in the A run: same calls in other records
        let truth = [
            var(9, "CAAAA", &["C"], [0, 1]),
            var(11, "AAA", &["A"], [0, 1]),
        ];
        let calls = [var(9, "CAAAA", &["C", "CAA"], [1, 2])];
        assert_eq!(run(SEQ, &truth, &calls), (vec![true, true], vec![true]));
    }

    #[test]
    fn spanning_deletion_allele_counts_as_reference_in_its_record() {
        let r = crate::vcf::VcfRecord {
            line: 9,
            contig: "c".into(),
            pos: 5,
            reference: "C".into(),
            alts: vec!["T".into(), "*".into()],
            qual: Some(20.0),
            filter: "PASS".into(),
            gt: Some(vec![Some(1), Some(2)]),
            gq: None,
            text: String::new(),
        };
        let v = to_var(&r, 0, false).expect("the T allele remains");
        assert_eq!(v.gt, [0, 1]);
        let sym = crate::vcf::VcfRecord {
            alts: vec!["<DEL>".into()],
            gt: Some(vec![Some(0), Some(1)]),
            ..r.clone()
        };
        assert!(to_var(&sym, 0, false).is_none());
        let missing = crate::vcf::VcfRecord {
            gt: Some(vec![None, None]),
            ..r
        };
        assert!(to_var(&missing, 0, false).is_none());
    }

    #[test]
    fn false_positive_and_negative_are_counted() {
        let truth = [var(5, "C", &["T"], [0, 1])];
        let calls = [var(33, "C", &["A"], [0, 1])];
        assert_eq!(run(SEQ, &truth, &calls), (vec![false], vec![false]));
    }

    #[test]
    fn gate_parses() {
        assert_eq!(
            parse_gate("SNP=0.999,INDEL=0.99").unwrap(),
            vec![(VarType::Snp, 0.999), (VarType::Indel, 0.99)]
        );
        assert!(parse_gate("SNV=1").is_err());
        assert!(parse_gate("SNP=2").is_err());
    }
}
