//! `callvar eval --somatic`: somatic call sets against a somatic truth set by allele alone
//! (genotypes ignored: a tumour's GT says little). Every ALT of both files is normalised
//! the way candidates are (trimmed, left-aligned, MNPs split into SNVs); a truth allele is
//! found when all its normalised pieces are called, a call is true when all its pieces are
//! in the truth. Recall is also given per allele-fraction bin of the truth (INFO `VAF`, else
//! `AF`) and for every fraction at or above each bin's floor; precision and F1 per type.
use super::metrics::VarType;
use super::report::Gate;
use crate::cigar::{self, AltAllele};
use crate::reference::{ContigCache, Reference};
use crate::region::IntervalSet;
use crate::vcf::VcfRecord;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;

/// Floors of the allele-fraction bins.
pub const VAF_BINS: [f64; 6] = [0.0, 0.02, 0.05, 0.10, 0.20, 0.35];

/// One normalised piece of an allele.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Piece {
    Norm(u64, AltAllele),
    /// A complex allele, compared as written (position, REF, ALT).
    Raw(u64, String, String),
}

/// One allele of a VCF record, normalised.
#[derive(Clone, Debug)]
pub struct SomaticAllele {
    contig: String,
    pieces: Vec<Piece>,
    kind: VarType,
    /// Truth allele fraction (INFO VAF, else AF).
    vaf: Option<f64>,
}

/// The alleles of `records` (those `keep` accepts and that overlap `within`), normalised.
pub fn alleles(
    records: &[VcfRecord],
    seqs: &mut ContigCache,
    keep: impl Fn(&VcfRecord) -> bool,
    within: &dyn Fn(&str, u64, u64) -> bool,
) -> Result<Vec<SomaticAllele>> {
    let mut out = Vec::new();
    for r in records {
        if !keep(r) || !within(&r.contig, r.pos, r.pos + r.reference.len() as u64) {
            continue;
        }
        let refw = seqs
            .get(&r.contig)
            .with_context(|| format!("line {}", r.line))?;
        let mut vafs = crate::somatic::info_floats(&r.text, "VAF");
        if vafs.is_empty() {
            vafs = crate::somatic::info_floats(&r.text, "AF");
        }
        for (k, alt) in r.alts.iter().enumerate() {
            if alt.is_empty() || !alt.bytes().all(|b| b"ACGTN".contains(&b)) {
                continue; // symbolic, `*` or missing
            }
            let pieces = match cigar::normalize(r.pos, r.reference.as_bytes(), alt.as_bytes(), refw)
            {
                Ok(v) => v.into_iter().map(|(p, a)| Piece::Norm(p, a)).collect(),
                Err((start, _)) => vec![Piece::Raw(start, r.reference.clone(), alt.clone())],
            };
            if pieces.is_empty() {
                continue; // ALT equal to REF
            }
            out.push(SomaticAllele {
                contig: r.contig.clone(),
                pieces,
                kind: VarType::of(&r.reference, std::slice::from_ref(alt)),
                vaf: vafs.get(k).copied().flatten(),
            });
        }
    }
    Ok(out)
}

/// Recall of the truth alleles in one allele-fraction range.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct BinRecall {
    pub vaf_min: f64,
    /// Upper bound (exclusive); `None` for "and above".
    pub vaf_max: Option<f64>,
    pub tp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub recall: f64,
}

/// Counts of one variant type.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct SomaticMetrics {
    pub tp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub fp: usize,
    pub recall: f64,
    pub precision: f64,
    pub f1: f64,
    /// Recall per bin [floor, next floor).
    pub recall_by_vaf: Vec<BinRecall>,
    /// Recall of every truth allele at or above each floor.
    pub recall_at_least: Vec<BinRecall>,
    /// Truth alleles without an allele fraction (counted in recall, in no bin).
    pub no_vaf: usize,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct SomaticReport {
    pub mode: &'static str,
    #[serde(rename = "SNP")]
    pub snp: SomaticMetrics,
    #[serde(rename = "INDEL")]
    pub indel: SomaticMetrics,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Matches calls against truth and counts per type and bin.
pub fn evaluate(truth: &[SomaticAllele], calls: &[SomaticAllele]) -> SomaticReport {
    let set = |v: &[SomaticAllele]| -> HashSet<(String, Piece)> {
        v.iter()
            .flat_map(|a| a.pieces.iter().map(|p| (a.contig.clone(), p.clone())))
            .collect()
    };
    let (tset, cset) = (set(truth), set(calls));
    let found = |a: &SomaticAllele, s: &HashSet<(String, Piece)>| {
        a.pieces
            .iter()
            .all(|p| s.contains(&(a.contig.clone(), p.clone())))
    };
    let metrics = |kind: VarType| {
        let t: Vec<(&SomaticAllele, bool)> = truth
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| (a, found(a, &cset)))
            .collect();
        let c: Vec<bool> = calls
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| found(a, &tset))
            .collect();
        let tp = t.iter().filter(|x| x.1).count();
        let fn_ = t.len() - tp;
        let ctp = c.iter().filter(|&&x| x).count();
        let fp = c.len() - ctp;
        let recall = ratio(tp, t.len());
        let precision = ratio(ctp, c.len());
        let f1 = if recall + precision > 0.0 {
            2.0 * recall * precision / (recall + precision)
        } else {
            0.0
        };
        let bin = |lo: f64, hi: Option<f64>| {
            let inside: Vec<bool> = t
                .iter()
                .filter(|(a, _)| a.vaf.is_some_and(|v| v >= lo && hi.is_none_or(|h| v < h)))
                .map(|x| x.1)
                .collect();
            let tp = inside.iter().filter(|&&x| x).count();
            BinRecall {
                vaf_min: lo,
                vaf_max: hi,
                tp,
                fn_: inside.len() - tp,
                recall: ratio(tp, inside.len()),
            }
        };
        SomaticMetrics {
            tp,
            fn_,
            fp,
            recall,
            precision,
            f1,
            recall_by_vaf: VAF_BINS
                .iter()
                .enumerate()
                .map(|(i, &lo)| bin(lo, VAF_BINS.get(i + 1).copied()))
                .collect(),
            recall_at_least: VAF_BINS.iter().map(|&lo| bin(lo, None)).collect(),
            no_vaf: t.iter().filter(|(a, _)| a.vaf.is_none()).count(),
        }
    };
    SomaticReport {
        mode: "somatic",
        snp: metrics(VarType::Snp),
        indel: metrics(VarType::Indel),
    }
}

/// The report as a table: totals per type, then recall per bin and at-or-above each floor.
pub fn table(r: &SomaticReport) -> String {
    let mut s = format!(
        "{:<6} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8}\n",
        "type", "TP", "FN", "FP", "recall", "prec", "F1"
    );
    for (name, m) in [("SNP", &r.snp), ("INDEL", &r.indel)] {
        s.push_str(&format!(
            "{:<6} {:>6} {:>6} {:>6} {:>8.4} {:>8.4} {:>8.4}\n",
            name, m.tp, m.fn_, m.fp, m.recall, m.precision, m.f1
        ));
    }
    s.push_str(&format!(
        "\n{:<6} {:<12} {:>6} {:>6} {:>8}   {:<8} {:>6} {:>6} {:>8}\n",
        "type", "VAF bin", "TP", "FN", "recall", "VAF >=", "TP", "FN", "recall"
    ));
    for (name, m) in [("SNP", &r.snp), ("INDEL", &r.indel)] {
        for (b, a) in m.recall_by_vaf.iter().zip(&m.recall_at_least) {
            let hi = b.vaf_max.map_or("1".to_string(), |h| format!("{h}"));
            s.push_str(&format!(
                "{:<6} {:<12} {:>6} {:>6} {:>8.4}   {:<8} {:>6} {:>6} {:>8.4}\n",
                name,
                format!("[{}, {hi})", b.vaf_min),
                b.tp,
                b.fn_,
                b.recall,
                a.vaf_min,
                a.tp,
                a.fn_,
                a.recall
            ));
        }
    }
    s
}

/// The `--min-f1` rows the report misses.
pub fn gate_failures(r: &SomaticReport, gate: &Gate) -> Vec<String> {
    gate.0
        .iter()
        .filter_map(|&(kind, min)| {
            let m = match kind {
                VarType::Snp => &r.snp,
                VarType::Indel => &r.indel,
            };
            (m.f1 < min).then(|| format!("{} F1 {:.4} < {min}", kind.name(), m.f1))
        })
        .collect()
}

/// Reads both VCFs and evaluates them (truth: every record; calls: PASS unless `all`).
pub fn run(
    reference: &Reference,
    truth: &[VcfRecord],
    calls: &[VcfRecord],
    all: bool,
    regions: Option<&IntervalSet>,
    confident: Option<&IntervalSet>,
) -> Result<SomaticReport> {
    let mut seqs = ContigCache::new(reference)?;
    let within = |c: &str, s: u64, e: u64| {
        regions.is_none_or(|r| r.overlaps(c, s, e)) && confident.is_none_or(|r| r.overlaps(c, s, e))
    };
    let t = alleles(truth, &mut seqs, |_| true, &within).context("truth")?;
    let c = alleles(calls, &mut seqs, |r| all || r.passes(), &within).context("calls")?;
    Ok(evaluate(&t, &c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allele(pos: u64, a: AltAllele, kind: VarType, vaf: Option<f64>) -> SomaticAllele {
        SomaticAllele {
            contig: "c".into(),
            pieces: vec![Piece::Norm(pos, a)],
            kind,
            vaf,
        }
    }

    #[test]
    fn counts_per_type_and_bin() {
        let snv = |p, v| allele(p, AltAllele::Snv(b'A'), VarType::Snp, v);
        let truth = vec![
            snv(1, Some(0.01)),
            snv(2, Some(0.03)),
            snv(3, Some(0.03)),
            snv(4, Some(0.5)),
            snv(5, None),
            allele(6, AltAllele::Del(2), VarType::Indel, Some(0.1)),
        ];
        let calls = vec![
            snv(2, None),
            snv(4, None),
            snv(9, None),
            allele(6, AltAllele::Del(2), VarType::Indel, None),
            allele(7, AltAllele::Del(1), VarType::Indel, None),
        ];
        let r = evaluate(&truth, &calls);
        assert_eq!((r.snp.tp, r.snp.fn_, r.snp.fp), (2, 3, 1));
        assert!((r.snp.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.snp.recall - 0.4).abs() < 1e-12);
        assert_eq!(r.snp.no_vaf, 1);
        // bins: [0, 0.02) has the 1% miss; [0.02, 0.05) one of two; [0.35, 1) the 50% hit
        let b = &r.snp.recall_by_vaf;
        assert_eq!((b[0].tp, b[0].fn_), (0, 1));
        assert_eq!((b[1].tp, b[1].fn_, b[1].recall), (1, 1, 0.5));
        assert_eq!((b[5].tp, b[5].fn_), (1, 0));
        let at = &r.snp.recall_at_least;
        assert_eq!((at[1].tp, at[1].fn_), (2, 1)); // >= 2%
        assert_eq!((r.indel.tp, r.indel.fp, r.indel.fn_), (1, 1, 0));
        let gate = Gate(vec![(VarType::Snp, 0.9), (VarType::Indel, 0.5)]);
        let failed = gate_failures(&r, &gate);
        assert_eq!(failed.len(), 1);
        assert!(failed[0].starts_with("SNP F1"));
    }

    #[test]
    fn mnp_truth_needs_every_piece() {
        let truth = vec![SomaticAllele {
            contig: "c".into(),
            pieces: vec![
                Piece::Norm(1, AltAllele::Snv(b'A')),
                Piece::Norm(2, AltAllele::Snv(b'C')),
            ],
            kind: VarType::Indel,
            vaf: Some(0.2),
        }];
        let half = vec![allele(1, AltAllele::Snv(b'A'), VarType::Snp, None)];
        let r = evaluate(&truth, &half);
        assert_eq!((r.indel.tp, r.indel.fn_), (0, 1));
        assert_eq!((r.snp.tp, r.snp.fp), (0, 0)); // the call's pieces are all in the truth
    }
}
