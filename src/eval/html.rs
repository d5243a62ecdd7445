//! `eval --report`: the evaluation as one self-contained HTML page (built from
//! [`crate::report`]): the `--min-f1` gate, the metrics table, precision-recall curves per
//! variant type for all counted variants and for each `--stratify` stratum (the best-F1
//! threshold circled), and where the call set came from (its callvar header lines).
use super::metrics::{CurvePoint, Metrics, Report, VarType};
use super::Evaluation;
use crate::report::svg::{self, Line};
use crate::report::{kv_table, table, Page};

/// What the page says about the inputs.
pub struct Meta {
    /// (label, value) rows: files and settings.
    pub inputs: Vec<(&'static str, String)>,
    /// The calls VCF's header lines that name its origin (`##source`, `##callvar…`).
    pub calls_provenance: Vec<String>,
    /// The `--min-f1` rows, if given.
    pub gate: Option<Vec<(VarType, f64)>>,
}

fn color(kind: VarType) -> &'static str {
    match kind {
        VarType::Snp => "#1565c0",
        VarType::Indel => "#ef8f00",
    }
}

fn metrics_of(r: &Report, kind: VarType) -> &Metrics {
    match kind {
        VarType::Snp => &r.snp,
        VarType::Indel => &r.indel,
    }
}

/// One precision-recall chart: a line per type, axes zoomed to the points shown.
fn pr_chart(title: &str, curves: &[(VarType, Vec<CurvePoint>)], metrics: &[&Metrics]) -> String {
    let lines: Vec<Line> = curves
        .iter()
        .zip(metrics)
        .filter(|((_, c), _)| !c.is_empty())
        .map(|((kind, c), m)| Line {
            name: kind.name().to_string(),
            color: color(*kind),
            dashed: *kind == VarType::Indel,
            points: c.iter().map(|p| (p.6, p.5)).collect(),
            marker: m.best_threshold.and_then(|t| {
                c.iter().find(|p| p.0 == t).map(|p| {
                    (
                        p.6,
                        p.5,
                        format!(
                            "{} best F1 {:.4} at score ≥ {}",
                            kind.name(),
                            p.7,
                            svg::num(t)
                        ),
                    )
                })
            }),
        })
        .collect();
    let lowest = |f: fn(&CurvePoint) -> f64| {
        curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(f))
            .fold(1.0f64, f64::min)
    };
    // zoom: the axes start at the lowest value rounded down to a tenth (at most 0.9)
    let from = |v: f64| ((v * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    svg::lines(
        title,
        "recall",
        "precision",
        (from(lowest(|p| p.6)), 1.0),
        (from(lowest(|p| p.5)), 1.0),
        &lines,
    )
}

/// Renders the eval report.
pub fn render(ev: &Evaluation, meta: &Meta) -> String {
    let r = &ev.report;
    let failures: Vec<(VarType, f64, f64)> = meta
        .gate
        .iter()
        .flatten()
        .map(|&(k, min)| (k, min, metrics_of(r, k).f1))
        .filter(|&(_, min, f1)| f1 < min)
        .collect();
    let mut page = Page::new(
        "callvar eval report",
        &format!(
            "SNP F1 {:.4}, INDEL F1 {:.4}{}",
            r.snp.f1,
            r.indel.f1,
            match (&meta.gate, failures.is_empty()) {
                (None, _) => String::new(),
                (Some(_), true) => "; gate met".to_string(),
                (Some(_), false) => "; gate NOT met".to_string(),
            }
        ),
    );
    let mut cards = vec![
        (format!("{:.4}", r.snp.f1), "SNP F1".to_string(), ""),
        (format!("{:.4}", r.indel.f1), "INDEL F1".to_string(), ""),
        (
            format!("{} / {} / {}", r.snp.tp, r.snp.fn_, r.snp.fp),
            "SNP TP / FN / FP".to_string(),
            "",
        ),
        (
            format!("{} / {} / {}", r.indel.tp, r.indel.fn_, r.indel.fp),
            "INDEL TP / FN / FP".to_string(),
            "",
        ),
    ];
    if let Some(g) = &meta.gate {
        let ok = failures.is_empty();
        cards.insert(
            0,
            (
                if ok { "met" } else { "NOT met" }.to_string(),
                format!("gate ({} rows)", g.len()),
                if ok { "good" } else { "bad" },
            ),
        );
        let rows: Vec<Vec<String>> = g
            .iter()
            .map(|&(k, min)| {
                let f1 = metrics_of(r, k).f1;
                let verdict = if f1 >= min {
                    "<span class=\"ok\">met</span>"
                } else {
                    "<span class=\"fail\">not met</span>"
                };
                vec![
                    k.name().to_string(),
                    format!("{min}"),
                    format!("{f1:.4}"),
                    verdict.to_string(),
                ]
            })
            .collect();
        page.cards(&cards);
        page.section(
            "Gate (--min-f1)",
            &table(&["type", "minimum F1", "F1", "result"], &rows, 1),
        );
    } else {
        page.cards(&cards);
    }
    let mut rows = Vec::new();
    let mut row = |name: &str, kind: VarType, m: &Metrics| {
        rows.push(vec![
            name.to_string(),
            kind.name().to_string(),
            svg::num(m.tp as f64),
            svg::num(m.fn_ as f64),
            svg::num(m.fp as f64),
            svg::num(m.genotype_mismatch as f64),
            format!("{:.4}", m.recall),
            format!("{:.4}", m.precision),
            format!("{:.4}", m.f1),
            m.best_threshold.map_or("-".to_string(), svg::num),
            format!("{:.4}", m.best_f1),
        ]);
    };
    row("all", VarType::Snp, &r.snp);
    row("all", VarType::Indel, &r.indel);
    for (name, m) in &r.strata {
        row(name, VarType::Snp, &m["SNP"]);
        row(name, VarType::Indel, &m["INDEL"]);
    }
    let best = format!("best {}", r.score_field);
    page.section(
        "Metrics",
        &table(
            &[
                "stratum",
                "type",
                "TP",
                "FN",
                "FP",
                "GT-error",
                "recall",
                "precision",
                "F1",
                &best,
                "best F1",
            ],
            &rows,
            2,
        ),
    );
    let mut charts = vec![(
        pr_chart("Precision-recall: all", &ev.curves, &[&r.snp, &r.indel]),
        format!(
            "Each point is a {} threshold (calls at or above it kept); circles mark the best F1.",
            r.score_field
        ),
    )];
    for (name, curves) in &ev.strata_curves {
        let m = &r.strata[name];
        charts.push((
            pr_chart(
                &format!("Precision-recall: {name}"),
                curves,
                &[&m["SNP"], &m["INDEL"]],
            ),
            format!("Variants in the {name} stratum."),
        ));
    }
    page.charts("Precision-recall curves", &charts);
    page.section("Inputs", &kv_table(&meta.inputs));
    if !meta.calls_provenance.is_empty() {
        let rows: Vec<(&str, String)> = meta
            .calls_provenance
            .iter()
            .map(|l| {
                let (k, v) = l
                    .trim_start_matches("##")
                    .split_once('=')
                    .unwrap_or((l, ""));
                (k, v.to_string())
            })
            .collect();
        page.section(
            "Where the calls came from (their VCF header)",
            &kv_table(&rows),
        );
    }
    page.render(
        "Written by callvar eval. Self-contained: inline SVG and CSS, no scripts, nothing loaded from the network.",
    )
}
