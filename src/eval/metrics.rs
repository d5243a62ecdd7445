//! Counting, as hap.py does it: recall from the truth side, precision from the call side,
//! SNP and INDEL apart, and the precision/recall curve over the call score with the
//! F1-maximising threshold.
use serde::Serialize;
use std::collections::BTreeMap;

/// A record is a SNP when REF and every ALT are one base; anything else (indels, MNPs,
/// complex records) is an INDEL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum VarType {
    #[serde(rename = "SNP")]
    Snp,
    #[serde(rename = "INDEL")]
    Indel,
}

impl VarType {
    pub fn of(reference: &str, alts: &[String]) -> Self {
        if reference.len() == 1 && alts.iter().all(|a| a.len() == 1) {
            VarType::Snp
        } else {
            VarType::Indel
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VarType::Snp => "SNP",
            VarType::Indel => "INDEL",
        }
    }
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
pub type CurvePoint = (f64, usize, usize, usize, usize, f64, f64, f64);

pub fn metrics(
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
