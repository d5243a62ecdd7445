//! Hand-written inline SVG charts for the HTML reports: stacked bars over categories
//! (histograms, counts) and lines over two numeric axes (precision-recall curves). Every
//! mark carries a `<title>`, so a browser shows exact values on hover without scripts.
use super::esc;
use std::fmt::Write as _;

const W: f64 = 600.0;
const H: f64 = 290.0;
const LEFT: f64 = 68.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 62.0;

/// One series of a chart: a name for the legend, a colour, and its values (one per category
/// for bars).
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
}

/// One line of a line chart, with an optional labelled marker (e.g. the best-F1 point).
/// A dashed line stays visible where it lies on top of another.
pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
    pub marker: Option<(f64, f64, String)>,
}

/// About `n` round tick values covering `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * mag >= raw)
        .unwrap_or(10.0);
    // k·m·mag, computed as k·m / (1/mag) below 1 so 0.94 prints as 0.94
    let at = |k: i64| {
        if mag < 1.0 {
            k as f64 * m / (1.0 / mag).round()
        } else {
            k as f64 * m * mag
        }
    };
    let step = m * mag;
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(at).collect()
}

/// A number for an axis or a table: thousands separated when whole, else up to 4 decimals.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = format!("{}", v.abs() as u64);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn open(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{t}"><text class="ct" x="{x}" y="18">{t}</text>"#,
        t = esc(title),
        x = W / 2.0
    );
}

fn legend(svg: &mut String, items: &[(&str, &str)]) {
    if items.len() < 2 {
        return;
    }
    let mut x = LEFT;
    for (name, color) in items {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/><text class="lg" x="{tx}" y="{ty}">{n}</text>"#,
            y = H - 14.0,
            tx = x + 14.0,
            ty = H - 5.0,
            n = esc(name)
        );
        x += 24.0 + 6.5 * name.chars().count() as f64;
    }
}

/// Axis lines, y grid and tick labels, and axis titles.
fn axes(svg: &mut String, x_label: &str, y_label: &str, y_ticks: &[(f64, String)]) {
    for (y, label) in y_ticks {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="yt" x="{tx}" y="{ty:.1}">{label}</text>"#,
            x2 = W - RIGHT,
            tx = LEFT - 5.0,
            ty = y + 3.5,
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b}"/><line class="axis" x1="{LEFT}" x2="{r}" y1="{b}" y2="{b}"/><text class="at" x="{cx}" y="{xy}">{xl}</text><text class="at" transform="translate(14 {cy}) rotate(-90)">{yl}</text>"#,
        b = H - BOTTOM,
        r = W - RIGHT,
        cx = LEFT + (W - LEFT - RIGHT) / 2.0,
        xy = H - BOTTOM + 34.0,
        xl = esc(x_label),
        cy = TOP + (H - TOP - BOTTOM) / 2.0,
        yl = esc(y_label),
    );
}

/// Bar charts with at most this many bars print each bar's total above it.
const LABELLED_BARS: usize = 8;

/// Stacked vertical bars: one bar per category, one segment per series.
pub fn bars(
    title: &str,
    x_label: &str,
    y_label: &str,
    categories: &[String],
    series: &[Series],
) -> String {
    let mut svg = String::new();
    open(&mut svg, title);
    let n = categories.len().max(1);
    let totals: Vec<f64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max).max(1.0);
    let yt = ticks(0.0, max, 5);
    let top = yt.last().copied().unwrap_or(max).max(max);
    let (plot_w, plot_h) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let y_of = |v: f64| H - BOTTOM - v / top * plot_h;
    axes(
        &mut svg,
        x_label,
        y_label,
        &yt.iter().map(|&v| (y_of(v), num(v))).collect::<Vec<_>>(),
    );
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.85).max(1.0);
    for (i, cat) in categories.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0.0;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let (y0, y1) = (y_of(base), y_of(base + v));
            let _ = write!(
                svg,
                r#"<rect x="{x:.2}" y="{y1:.2}" width="{bar_w:.2}" height="{h:.2}" fill="{c}"><title>{cat}: {name} {val}</title></rect>"#,
                h = (y0 - y1).max(0.5),
                c = s.color,
                cat = esc(cat),
                name = esc(&s.name),
                val = num(v)
            );
            base += v;
        }
    }
    // few bars: each one's total above it, so small ones can be read too
    if categories.len() <= LABELLED_BARS {
        for (i, total) in totals.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<text class="xt" x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT + slot * (i as f64 + 0.5),
                y_of(*total) - 4.0,
                num(*total)
            );
        }
    }
    // category labels: at most about 16, evenly spaced
    let every = n.div_ceil(16);
    for (i, c) in categories
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
    {
        let x = LEFT + slot * (i as f64 + 0.5);
        let _ = write!(
            svg,
            r#"<text class="xt" x="{x:.1}" y="{y}">{c}</text>"#,
            y = H - BOTTOM + 14.0,
            c = esc(c)
        );
    }
    let items: Vec<(&str, &str)> = series.iter().map(|s| (s.name.as_str(), s.color)).collect();
    legend(&mut svg, &items);
    svg.push_str("</svg>");
    svg
}

/// Lines over numeric axes `x` and `y` (ranges given), with optional markers.
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    x: (f64, f64),
    y: (f64, f64),
    lines: &[Line],
) -> String {
    let mut svg = String::new();
    open(&mut svg, title);
    let (plot_w, plot_h) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let xs = |v: f64| LEFT + (v - x.0) / (x.1 - x.0).max(1e-12) * plot_w;
    let ys = |v: f64| H - BOTTOM - (v - y.0) / (y.1 - y.0).max(1e-12) * plot_h;
    axes(
        &mut svg,
        x_label,
        y_label,
        &ticks(y.0, y.1, 5)
            .iter()
            .map(|&v| (ys(v), num(v)))
            .collect::<Vec<_>>(),
    );
    for v in ticks(x.0, x.1, 6) {
        let _ = write!(
            svg,
            r#"<text class="xt" x="{:.1}" y="{}">{}</text>"#,
            xs(v),
            H - BOTTOM + 14.0,
            num(v)
        );
    }
    for l in lines {
        let pts: Vec<String> = l
            .points
            .iter()
            .map(|&(a, b)| format!("{:.1},{:.1}", xs(a), ys(b)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2"{d} points="{p}"><title>{n}</title></polyline>"#,
            c = l.color,
            d = if l.dashed {
                r#" stroke-dasharray="7 4""#
            } else {
                ""
            },
            p = pts.join(" "),
            n = esc(&l.name)
        );
        if let [(a, b)] = l.points[..] {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                xs(a),
                ys(b),
                l.color
            );
        }
        if let Some((a, b, label)) = &l.marker {
            let _ = write!(
                svg,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="none" stroke="{c}" stroke-width="2"><title>{t}</title></circle>"#,
                cx = xs(*a),
                cy = ys(*b),
                c = l.color,
                t = esc(label)
            );
        }
    }
    let items: Vec<(&str, &str)> = lines.iter().map(|l| (l.name.as_str(), l.color)).collect();
    legend(&mut svg, &items);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(ticks(0.9, 1.0, 5), vec![0.9, 0.92, 0.94, 0.96, 0.98, 1.0]);
        assert_eq!(num(1234567.0), "1,234,567");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(-3.0), "-3");
    }

    #[test]
    fn bars_and_lines_are_well_formed_svg() {
        let s = bars(
            "t<",
            "x",
            "y",
            &["a".to_string(), "b".to_string()],
            &[Series {
                name: "PASS".into(),
                color: "#000",
                values: vec![3.0, 0.0],
            }],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("t&lt;") && s.contains("<title>a: PASS 3</title>"));
        assert!(s.contains(">3</text>"), "total above the bar");
        assert_eq!(s.matches("<rect").count(), 1);
        let empty = bars("e", "x", "y", &[], &[]);
        assert!(empty.ends_with("</svg>"));
        let l = lines(
            "pr",
            "recall",
            "precision",
            (0.0, 1.0),
            (0.0, 1.0),
            &[Line {
                name: "SNP".into(),
                color: "#000",
                dashed: true,
                points: vec![(0.5, 1.0), (1.0, 0.9)],
                marker: Some((1.0, 0.9, "best".into())),
            }],
        );
        assert!(l.contains("<polyline") && l.contains("<title>best</title>"));
        assert!(l.contains(r#"stroke-dasharray="7 4""#));
    }
}
