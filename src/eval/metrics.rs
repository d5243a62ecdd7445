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
    /// The call's `INFO/TIER` (for truth: the highest tier of the calls it matched with).
    pub tier: Option<u8>,
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
    /// Per confidence tier (`INFO/TIER`), when the calls carry one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierRow>,
    pub score_field: String,
}

/// One tier's counts for one variant type (`SNP`, `INDEL` or `ALL`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierRow {
    #[serde(rename = "type")]
    pub kind: String,
    pub tier: u8,
    /// Calls of this tier that match the truth, and those that do not.
    pub tp_call: usize,
    pub fp: usize,
    /// Precision of this tier's calls.
    pub precision: f64,
    /// Truth variants found by calls of this tier or a lower one, and their share of all
    /// truth variants (recall when only tiers up to this one are reported).
    pub tp_up_to: usize,
    pub recall_up_to: f64,
    /// Share of all true calls (`tp_call` summed over tiers) that are in this tier or a
    /// lower one.
    pub tp_share_up_to: f64,
    /// Precision of the calls of this tier and the lower ones together.
    pub precision_up_to: f64,
}

/// Counts per tier (1 to the highest seen) for SNP, INDEL and both: calls without a tier
/// are left out of the tier rows.
pub fn tier_rows(truth: &[(VarType, Status)], calls: &[(VarType, Status)]) -> Vec<TierRow> {
    let top = calls.iter().filter_map(|c| c.1.tier).max().unwrap_or(0);
    let mut rows = Vec::new();
    for kind in [Some(VarType::Snp), Some(VarType::Indel), None] {
        let of = |k: VarType| kind.is_none_or(|x| x == k);
        let t: Vec<&Status> = truth.iter().filter(|x| of(x.0)).map(|x| &x.1).collect();
        let c: Vec<&Status> = calls.iter().filter(|x| of(x.0)).map(|x| &x.1).collect();
        let all_tp = c.iter().filter(|s| s.matched && s.tier.is_some()).count();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        for tier in 1..=top {
            let this = |s: &&&Status| s.tier == Some(tier);
            let upto = |s: &&&Status| s.tier.is_some_and(|x| x <= tier);
            let tp_call = c.iter().filter(this).filter(|s| s.matched).count();
            let fp = c.iter().filter(this).filter(|s| !s.matched).count();
            let tp_upto_call = c.iter().filter(upto).filter(|s| s.matched).count();
            let fp_upto = c.iter().filter(upto).filter(|s| !s.matched).count();
            let tp_up_to = t.iter().filter(|s| s.matched).filter(upto).count();
            rows.push(TierRow {
                kind: kind.map_or("ALL", VarType::name).to_string(),
                tier,
                tp_call,
                fp,
                precision: ratio(tp_call, tp_call + fp),
                tp_up_to,
                recall_up_to: ratio(tp_up_to, t.len()),
                tp_share_up_to: ratio(tp_upto_call, all_tp),
                precision_up_to: ratio(tp_upto_call, tp_upto_call + fp_upto),
            });
        }
    }
    rows
}
