//! What `eval` writes: the metrics table, the `--output-dir` files (the TP/FP/FN records as
//! read, the score curves, the JSON summary) and the `--min-f1` gate.
use super::metrics::{Metrics, Report, Status, TierRow, VarType};
use super::{Evaluation, Loaded};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Writes `tp-baseline.vcf`, `fn.vcf`, `tp.vcf`, `fp.vcf` (the counted records, as read),
/// `snp_curve.tsv`, `indel_curve.tsv` and `summary.json` into `dir`.
pub fn write_dir(dir: &Path, ev: &Evaluation, truth: &Loaded, calls: &Loaded) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let pick = |v: &[(usize, Status)], want: bool| -> Vec<usize> {
        v.iter()
            .filter(|x| x.1.matched == want)
            .map(|x| x.0)
            .collect()
    };
    for (name, vcf, status, want) in [
        ("tp-baseline.vcf", truth, &ev.truth_status, true),
        ("fn.vcf", truth, &ev.truth_status, false),
        ("tp.vcf", calls, &ev.call_status, true),
        ("fp.vcf", calls, &ev.call_status, false),
    ] {
        write_subset(&dir.join(name), vcf, &pick(status, want))?;
    }
    for (kind, curve) in &ev.curves {
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
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let path = dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&ev.report)? + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// The header and the records `picks` of `vcf`, as read.
fn write_subset(path: &Path, vcf: &Loaded, picks: &[usize]) -> Result<()> {
    let mut text = vcf.header.join("\n");
    text.push('\n');
    let mut picks = picks.to_vec();
    picks.sort_unstable();
    for i in picks {
        text.push_str(&vcf.records[i].text);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// The metrics as a fixed-width table, one row per stratum and type.
pub fn table(r: &Report) -> String {
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
    if !r.tiers.is_empty() {
        s.push_str(&tier_table(&r.tiers));
    }
    s
}

/// The per-tier rows (calls carrying `INFO/TIER`): this tier's true and false calls and
/// precision, then what reporting tiers up to this one keeps.
fn tier_table(rows: &[TierRow]) -> String {
    let mut s = format!(
        "\n{:<6} {:>4} {:>7} {:>7} {:>8} | {:>10} {:>10} {:>10} {:>10}\n",
        "type", "tier", "TP", "FP", "prec", "TP<=tier", "recall<=", "TPshare<=", "prec<="
    );
    for t in rows {
        s.push_str(&format!(
            "{:<6} {:>4} {:>7} {:>7} {:>8.4} | {:>10} {:>10.4} {:>10.4} {:>10.4}\n",
            t.kind,
            t.tier,
            t.tp_call,
            t.fp,
            t.precision,
            t.tp_up_to,
            t.recall_up_to,
            t.tp_share_up_to,
            t.precision_up_to
        ));
    }
    s
}

/// Parses `SNP=0.999,INDEL=0.99`.
/// The `--min-f1` thresholds, per variant type.
#[derive(Clone, Debug)]
pub struct Gate(pub Vec<(VarType, f64)>);

pub fn parse_gate(text: &str) -> Result<Gate> {
    let rows = text
        .split(',')
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
        .collect::<Result<_>>()?;
    Ok(Gate(rows))
}

/// The `--min-f1` rows `report` misses, as `TYPE F1 x < min`.
pub fn gate_failures(report: &Report, gate: &[(VarType, f64)]) -> Vec<String> {
    gate.iter()
        .filter_map(|&(kind, min)| {
            let m = match kind {
                VarType::Snp => &report.snp,
                VarType::Indel => &report.indel,
            };
            (m.f1 < min).then(|| format!("{} F1 {:.4} < {min}", kind.name(), m.f1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_parses() {
        assert_eq!(
            parse_gate("SNP=0.999,INDEL=0.99").unwrap().0,
            vec![(VarType::Snp, 0.999), (VarType::Indel, 0.99)]
        );
        assert!(parse_gate("SNV=1").is_err());
        assert!(parse_gate("SNP=2").is_err());
    }
}
