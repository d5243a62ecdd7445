//! The call report (`call --report`): statistics gathered from every chunk in genome order
//! (per-base depth of filter-passing reads, and per FILTER: record counts, VAF and GQ;
//! per confidence tier of the PASS calls: counts and VAF; Ti/Tv and the indel-length
//! spectrum of variant genotypes), rendered with the run's
//! provenance and, with `--clinical-regions`, the clinical-region coverage.
use super::svg::{self, Series};
use super::{esc, filter_color, kv_table, table, Page};
use crate::clinical::{Gates, Tally};
use crate::genotype::Call;
use std::collections::BTreeMap;

/// Depth histogram bins: `0..DEPTH_BINS - 1` exactly, the last bin for that depth or more.
pub const DEPTH_BINS: usize = 1001;
/// VAF and GQ histograms: 20 bins (VAF 0.05 wide, GQ 5 wide).
const BINS: usize = 20;
/// Indel lengths shown one by one up to this; longer ones share an end bin.
const INDEL_MAX: i64 = 20;

/// The per-base depth histogram of one chunk (counted in the worker, summed in order).
pub fn depth_histogram(depth: &[u32]) -> Vec<u64> {
    let mut h = vec![0u64; DEPTH_BINS];
    for &d in depth {
        h[(d as usize).min(DEPTH_BINS - 1)] += 1;
    }
    h
}

#[derive(Clone, Debug, Default)]
struct PerFilter {
    records: u64,
    vaf: [u64; BINS],
    gq: [u64; BINS],
}

/// Everything the call report shows about the records and the reads.
#[derive(Debug)]
pub struct CallStats {
    filters: BTreeMap<String, PerFilter>,
    /// PASS records by confidence tier (1-3).
    tiers: [PerFilter; 3],
    depth: Vec<u64>,
    /// Transitions and transversions among SNV alleles of variant genotypes: PASS, all.
    titv_pass: [u64; 2],
    titv_all: [u64; 2],
    /// PASS indel alleles by length change, `-INDEL_MAX-1 ..= INDEL_MAX+1` (0 unused).
    indels: Vec<u64>,
}

impl Default for CallStats {
    fn default() -> Self {
        CallStats {
            filters: BTreeMap::new(),
            tiers: Default::default(),
            depth: vec![0; DEPTH_BINS],
            titv_pass: [0; 2],
            titv_all: [0; 2],
            indels: vec![0; (2 * INDEL_MAX + 3) as usize],
        }
    }
}

fn is_transition(a: u8, b: u8) -> bool {
    matches!(
        (a.to_ascii_uppercase(), b.to_ascii_uppercase()),
        (b'A', b'G') | (b'G', b'A') | (b'C', b'T') | (b'T', b'C')
    )
}

impl CallStats {
    /// Adds a chunk's depth histogram.
    pub fn add_depth(&mut self, hist: &[u64]) {
        for (a, b) in self.depth.iter_mut().zip(hist) {
            *a += b;
        }
    }

    /// Adds one record as written, with its FILTER text.
    pub fn add_call(&mut self, call: &Call, filter: &str) {
        let f = self.filters.entry(filter.to_string()).or_default();
        f.records += 1;
        let c = &call.candidate;
        let g = &call.genotype;
        // VAF of the most supported alternate allele
        let alt_reads = c.allele_depths.iter().skip(1).copied().max().unwrap_or(0);
        let vaf = alt_reads as f64 / c.depth.max(1) as f64;
        let (vaf_bin, gq_bin) = (
            ((vaf * BINS as f64) as usize).min(BINS - 1),
            (g.gq as usize / 5).min(BINS - 1),
        );
        f.vaf[vaf_bin] += 1;
        f.gq[gq_bin] += 1;
        if filter == "PASS" {
            let t = &mut self.tiers[usize::from(call.review.tier.clamp(1, 3)) - 1];
            t.records += 1;
            t.vaf[vaf_bin] += 1;
            t.gq[gq_bin] += 1;
        }
        if g.filter.as_str() == "RefCall" {
            return;
        }
        let pass = filter == "PASS";
        let mut alleles = g.alleles.to_vec();
        alleles.dedup();
        for a in alleles.into_iter().filter(|&a| a > 0) {
            let Some(alt) = call.alts.get(a - 1) else {
                continue;
            };
            let (r, x) = (call.reference.as_bytes(), alt.as_bytes());
            if r.len() == 1 && x.len() == 1 {
                let k = usize::from(!is_transition(r[0], x[0]));
                self.titv_all[k] += 1;
                if pass {
                    self.titv_pass[k] += 1;
                }
            } else if r.len() != x.len() && pass {
                let d = (x.len() as i64 - r.len() as i64).clamp(-INDEL_MAX - 1, INDEL_MAX + 1);
                self.indels[(d + INDEL_MAX + 1) as usize] += 1;
            }
        }
    }

    /// Bases measured, mean depth, and the fraction of bases with at least `gate` reads.
    fn depth_summary(&self, gate: usize) -> (u64, f64, f64) {
        let n: u64 = self.depth.iter().sum();
        let sum: f64 = self
            .depth
            .iter()
            .enumerate()
            .map(|(d, &c)| d as f64 * c as f64)
            .sum();
        let above: u64 = self.depth.iter().skip(gate).sum();
        let nf = n.max(1) as f64;
        (n, sum / nf, above as f64 / nf)
    }

    /// FILTER values, PASS first, then by record count.
    fn filter_order(&self) -> Vec<&str> {
        let mut v: Vec<(&str, u64)> = self
            .filters
            .iter()
            .map(|(k, f)| (k.as_str(), f.records))
            .collect();
        v.sort_by_key(|&(k, n)| (k != "PASS", std::cmp::Reverse(n), k));
        v.into_iter().map(|(k, _)| k).collect()
    }
}

/// The run as the report's header shows it.
pub struct Meta {
    pub sample: String,
    /// Provenance rows (key, value) in display order.
    pub provenance: Vec<(&'static str, String)>,
    pub records: u64,
    pub pass: u64,
}

/// The clinical results shown when `--clinical-regions` was given.
pub struct ClinicalView<'a> {
    pub gates: &'a Gates,
    pub tally: &'a Tally,
    pub bed: &'a str,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn ratio(t: [u64; 2]) -> String {
    if t[1] == 0 {
        "-".to_string()
    } else {
        format!("{:.2}", t[0] as f64 / t[1] as f64)
    }
}

/// Depth histogram bars: bins of equal width up to about the 99.5th percentile, the last
/// bar holding everything deeper.
fn depth_chart(stats: &CallStats, gate: usize) -> String {
    let n: u64 = stats.depth.iter().sum();
    let mut seen = 0;
    let mut p995 = 0;
    for (d, &c) in stats.depth.iter().enumerate() {
        seen += c;
        if seen as f64 >= 0.995 * n as f64 {
            p995 = d;
            break;
        }
    }
    let top = ((p995 as f64 * 1.25) as usize).clamp(10, DEPTH_BINS - 1);
    let width = top.div_ceil(50).max(1);
    let nbins = top / width + 1;
    let mut values = vec![0.0; nbins];
    for (d, &c) in stats.depth.iter().enumerate() {
        values[(d / width).min(nbins - 1)] += c as f64;
    }
    let cats: Vec<String> = (0..nbins)
        .map(|i| {
            let lo = i * width;
            if i == nbins - 1 {
                format!("≥{lo}")
            } else if width == 1 {
                lo.to_string()
            } else {
                format!("{lo}-{}", lo + width - 1)
            }
        })
        .collect();
    // bins below the gate in red, the rest in blue
    let (low, high): (Vec<f64>, Vec<f64>) = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if (i + 1) * width <= gate {
                (v, 0.0)
            } else {
                (0.0, v)
            }
        })
        .unzip();
    svg::bars(
        "Depth per base (reads passing the filters)",
        "depth",
        "bases",
        &cats,
        &[
            Series {
                name: format!("below {gate}"),
                color: "#e57373",
                values: low,
            },
            Series {
                name: format!("{gate} or more"),
                color: "#1565c0",
                values: high,
            },
        ],
    )
}

fn per_filter_chart(
    stats: &CallStats,
    title: &str,
    x_label: &str,
    cats: Vec<String>,
    pick: impl Fn(&PerFilter) -> &[u64; BINS],
) -> String {
    let series: Vec<Series> = stats
        .filter_order()
        .into_iter()
        .map(|f| Series {
            name: f.to_string(),
            color: filter_color(f),
            values: pick(&stats.filters[f]).iter().map(|&v| v as f64).collect(),
        })
        .collect();
    svg::bars(title, x_label, "records", &cats, &series)
}

/// Bar colours of Tiers 1, 2 and 3.
const TIER_COLORS: [&str; 3] = ["#2e7d32", "#ef8f00", "#c62828"];

/// Renders the call report.
pub fn render(stats: &CallStats, meta: &Meta, clinical: Option<&ClinicalView>) -> String {
    let gate = clinical.map_or(20, |c| c.gates.min_depth as usize);
    let (bases, mean, above) = stats.depth_summary(gate);
    let mut page = Page::new(
        &format!("callvar run report: {}", meta.sample),
        &format!(
            "{} records, {} PASS; {} bases called",
            svg::num(meta.records as f64),
            svg::num(meta.pass as f64),
            svg::num(bases as f64)
        ),
    );
    let mut cards = vec![
        (svg::num(meta.pass as f64), "PASS records".to_string(), ""),
        (svg::num(meta.records as f64), "records".to_string(), ""),
        (format!("{mean:.1}"), "mean depth".to_string(), ""),
        (pct(above), format!("bases with ≥{gate} reads"), ""),
        (ratio(stats.titv_pass), "Ti/Tv (PASS SNVs)".to_string(), ""),
        (
            svg::num(stats.tiers[0].records as f64),
            "PASS calls in Tier 1".to_string(),
            "",
        ),
    ];
    if let Some(c) = clinical {
        let total = c.gates.total_bp();
        let hole = c.tally.hole_bp();
        let state = if hole > 0 { "bad" } else { "good" };
        cards.push((
            pct(1.0 - hole as f64 / total.max(1) as f64),
            "clinical bases callable".to_string(),
            state,
        ));
        cards.push((
            svg::num(c.tally.gated_calls as f64),
            "calls FILTER ClinicalGate".to_string(),
            if c.tally.gated_calls > 0 { "bad" } else { "" },
        ));
    }
    page.cards(&cards);
    if let Some(c) = clinical {
        clinical_section(&mut page, c);
    }
    let vaf_cats: Vec<String> = (0..BINS)
        .map(|i| format!("{:.2}", i as f64 / BINS as f64))
        .collect();
    let vaf_cats_tiers = vaf_cats.clone();
    let gq_cats = (0..BINS)
        .map(|i| {
            if i == BINS - 1 {
                format!("{}-99", 5 * i)
            } else {
                format!("{}-{}", 5 * i, 5 * i + 4)
            }
        })
        .collect();
    let filters = stats.filter_order();
    let counts: Vec<Series> = filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut values = vec![0.0; filters.len()];
            values[i] = stats.filters[*f].records as f64;
            Series {
                name: f.to_string(),
                color: filter_color(f),
                values,
            }
        })
        .collect();
    let titv = svg::bars(
        "Transitions / transversions",
        "SNV alleles of variant genotypes",
        "alleles",
        &["PASS".to_string(), "any FILTER".to_string()],
        &[
            Series {
                name: "transitions".into(),
                color: "#1565c0",
                values: vec![stats.titv_pass[0] as f64, stats.titv_all[0] as f64],
            },
            Series {
                name: "transversions".into(),
                color: "#ef8f00",
                values: vec![stats.titv_pass[1] as f64, stats.titv_all[1] as f64],
            },
        ],
    );
    let indel_cats: Vec<String> = (-INDEL_MAX - 1..=INDEL_MAX + 1)
        .map(|d| match d {
            d if d == -INDEL_MAX - 1 => format!("≤{d}"),
            d if d == INDEL_MAX + 1 => format!("≥+{d}"),
            d if d > 0 => format!("+{d}"),
            d => d.to_string(),
        })
        .collect();
    let side = |del: bool| -> Vec<f64> {
        (-INDEL_MAX - 1..=INDEL_MAX + 1)
            .map(|d| {
                let v = stats.indels[(d + INDEL_MAX + 1) as usize] as f64;
                if (d < 0) == del {
                    v
                } else {
                    0.0
                }
            })
            .collect()
    };
    let indel = svg::bars(
        "Indel lengths (PASS)",
        "length change (bp)",
        "alleles",
        &indel_cats,
        &[
            Series {
                name: "deletions".into(),
                color: "#c62828",
                values: side(true),
            },
            Series {
                name: "insertions".into(),
                color: "#1565c0",
                values: side(false),
            },
        ],
    );
    let filter_names: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    let tier_names: Vec<String> = (1..=3).map(|t| format!("Tier {t}")).collect();
    let tier_series = |pick: &dyn Fn(usize, &PerFilter) -> Vec<f64>| -> Vec<Series> {
        stats
            .tiers
            .iter()
            .enumerate()
            .map(|(i, t)| Series {
                name: tier_names[i].clone(),
                color: TIER_COLORS[i],
                values: pick(i, t),
            })
            .collect()
    };
    let tier_counts = tier_series(&|i, t| {
        let mut v = vec![0.0; 3];
        v[i] = t.records as f64;
        v
    });
    let tier_vaf = tier_series(&|_, t| t.vaf.iter().map(|&v| v as f64).collect());
    page.charts(
        "Calls",
        &[
            (
                svg::bars("Records per FILTER", "FILTER", "records", &filter_names, &counts),
                "Every record written, by its FILTER value.".into(),
            ),
            (
                depth_chart(stats, gate),
                format!(
                    "Reads passing the read filters over each called base; mean {mean:.1}, {} of bases with at least {gate}.",
                    pct(above)
                ),
            ),
            (
                per_filter_chart(stats, "VAF per FILTER", "variant allele fraction (most supported ALT)", vaf_cats, |f| &f.vaf),
                "Germline heterozygous calls cluster near 0.5 and homozygous near 1.0.".into(),
            ),
            (
                per_filter_chart(stats, "GQ per FILTER", "genotype quality", gq_cats, |f| &f.gq),
                "GQ is capped at 99.".into(),
            ),
            (
                svg::bars("PASS calls per tier", "confidence tier (INFO/TIER)", "records", &tier_names, &tier_counts),
                "Tier 1: report; Tier 2: review; Tier 3: research only (rule in the VCF header, INFO/TIER).".into(),
            ),
            (
                svg::bars("VAF per tier (PASS)", "variant allele fraction (most supported ALT)", "records", &vaf_cats_tiers, &tier_vaf),
                "Lower tiers gather the calls whose allele fractions stray from 0.5 and 1.0.".into(),
            ),
            (
                titv,
                format!(
                    "Ti/Tv {} (PASS), {} (any FILTER); human genomes give about 2.0–2.1, exomes 2.8–3.0.",
                    ratio(stats.titv_pass),
                    ratio(stats.titv_all)
                ),
            ),
            (
                indel,
                "Length change of each PASS indel allele in the genotype.".into(),
            ),
        ],
    );
    page.section("Provenance", &kv_table(&meta.provenance));
    page.render(
        "Written by callvar. Self-contained: inline SVG and CSS, no scripts, nothing loaded from the network.",
    )
}

/// A table under a heading that folds it away (`<details>`, no script) when it is long.
fn folded(title: &str, rows: usize, table: &str) -> String {
    let open = if rows <= FOLD_ROWS { " open" } else { "" };
    format!(
        "<details{open}><summary>{} <span class=\"note\">({})</span></summary>{table}</details>",
        esc(title),
        if rows <= FOLD_ROWS {
            "click to fold"
        } else {
            "click to show"
        }
    )
}

/// Tables longer than this start folded.
const FOLD_ROWS: usize = 12;

/// The clinical section: per-region coverage against the depth gate, and the not-callable
/// runs.
fn clinical_section(page: &mut Page, c: &ClinicalView) {
    let g = c.gates;
    let t = c.tally;
    let mut by_reason: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for h in &t.holes {
        let e = by_reason.entry(h.reason.as_str()).or_default();
        e.0 += 1;
        e.1 += h.end - h.start;
    }
    let mut html = format!(
        "<p>Gates inside <code>{}</code> ({} regions, {} bp): variant calls need GQ ≥ {} and depth ≥ {} or get FILTER <b>ClinicalGate</b>; bases with fewer than {} reads passing the read filters are <b>not callable</b> and listed in <code>{}</code>.</p>",
        esc(&g.path.display().to_string()),
        svg::num(g.entries.len() as f64),
        svg::num(g.total_bp() as f64),
        g.min_gq,
        g.min_depth,
        g.min_depth,
        esc(c.bed)
    );
    let reasons: Vec<Vec<String>> = by_reason
        .iter()
        .map(|(r, (n, bp))| vec![r.to_string(), svg::num(*n as f64), svg::num(*bp as f64)])
        .collect();
    if reasons.is_empty() {
        html.push_str("<p class=\"ok\">Every clinical base is callable.</p>");
    } else {
        html.push_str(&table(&["reason", "runs", "bp"], &reasons, 1));
    }
    // per-region fraction callable: worst first
    let mut rows: Vec<(f64, usize)> = g
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                t.entries[i].callable as f64 / e.region.len().max(1) as f64,
                i,
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let chart = if rows.len() <= 40 {
        let mut shown = rows.clone();
        shown.sort_by_key(|r| r.1);
        let cats: Vec<String> = shown
            .iter()
            .map(|&(_, i)| g.entries[i].name.clone())
            .collect();
        let (full, part): (Vec<f64>, Vec<f64>) = shown
            .iter()
            .map(|&(f, _)| {
                if f >= 1.0 {
                    (100.0, 0.0)
                } else {
                    (0.0, 100.0 * f)
                }
            })
            .unzip();
        svg::bars(
            "Clinical regions: % of bases callable",
            "region",
            "% callable",
            &cats,
            &[
                Series {
                    name: "fully callable".into(),
                    color: "#2e7d32",
                    values: full,
                },
                Series {
                    name: "with gaps".into(),
                    color: "#c62828",
                    values: part,
                },
            ],
        )
    } else {
        let mut bins = vec![0.0; 11];
        for &(f, _) in &rows {
            bins[((f * 10.0) as usize).min(10)] += 1.0;
        }
        let cats = (0..11)
            .map(|i| {
                if i == 10 {
                    "100%".to_string()
                } else {
                    format!("{}-{}%", i * 10, i * 10 + 9)
                }
            })
            .collect::<Vec<_>>();
        svg::bars(
            "Clinical regions by % of bases callable",
            "bases callable",
            "regions",
            &cats,
            &[Series {
                name: "regions".into(),
                color: "#1565c0",
                values: bins,
            }],
        )
    };
    html.push_str(&format!(
        "<div class=\"grid\"><figure>{chart}</figure></div>"
    ));
    let gaps: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.0 < 1.0)
        .take(100)
        .map(|&(f, i)| {
            let e = &g.entries[i];
            let s = &t.entries[i];
            vec![
                e.name.clone(),
                e.region.to_string(),
                svg::num(e.region.len() as f64),
                format!("{:.1}", s.depth_sum as f64 / s.measured.max(1) as f64),
                pct(f),
                svg::num((e.region.len() - s.callable) as f64),
            ]
        })
        .collect();
    if !gaps.is_empty() {
        let n = rows.iter().filter(|r| r.0 < 1.0).count();
        let title = format!(
            "Regions not fully callable ({n}{})",
            if n > 100 { ", worst 100 shown" } else { "" }
        );
        let headers = [
            "region",
            "locus",
            "bp",
            "mean depth",
            "callable",
            "not callable bp",
        ];
        html.push_str(&folded(&title, gaps.len(), &table(&headers, &gaps, 2)));
        let mut holes: Vec<&crate::clinical::Hole> = t.holes.iter().collect();
        holes.sort_by_key(|h| std::cmp::Reverse(h.end - h.start));
        let hole_rows: Vec<Vec<String>> = holes
            .iter()
            .take(100)
            .map(|h| {
                vec![
                    format!("{}:{}-{}", h.contig, h.start + 1, h.end),
                    h.reason.as_str().to_string(),
                    svg::num((h.end - h.start) as f64),
                    h.depth.map_or("-".into(), |(a, b)| format!("{a}–{b}")),
                ]
            })
            .collect();
        let title = format!(
            "Not-callable runs ({}{})",
            t.holes.len(),
            if t.holes.len() > 100 {
                ", longest 100 shown"
            } else {
                ""
            }
        );
        let runs = table(&["locus", "reason", "bp", "depth"], &hole_rows, 2);
        html.push_str(&folded(&title, hole_rows.len(), &runs));
    }
    page.section("Clinical regions", &html);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_histogram_caps_the_last_bin() {
        let h = depth_histogram(&[0, 0, 5, 5000]);
        assert_eq!((h[0], h[5], h[DEPTH_BINS - 1]), (2, 1, 1));
        let mut s = CallStats::default();
        s.add_depth(&h);
        s.add_depth(&depth_histogram(&[30, 30]));
        let (n, _, above) = s.depth_summary(20);
        assert_eq!(n, 6);
        assert!((above - 0.5).abs() < 1e-9);
    }

    #[test]
    fn transitions_are_purine_or_pyrimidine_swaps() {
        assert!(is_transition(b'A', b'G') && is_transition(b'c', b't'));
        assert!(!is_transition(b'A', b'C') && !is_transition(b'G', b'T'));
    }
}
