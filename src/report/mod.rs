//! Self-contained HTML reports (`call --report`, `eval --report`): one file with inline CSS
//! and inline SVG charts ([`svg`]), no scripts and nothing fetched at view time, so it
//! opens the same on an air-gapped review workstation and can be archived beside the VCF.
//! [`call`] gathers a run's statistics chunk by chunk and renders the call report; the eval
//! report is rendered by `eval` from these pieces.
pub mod call;
pub mod svg;

use std::fmt::Write as _;

/// Text made safe for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Colour of a FILTER value (fixed, so every report reads alike).
pub fn filter_color(filter: &str) -> &'static str {
    match filter {
        "PASS" => "#2e7d32",
        "RefCall" => "#9e9e9e",
        "LowQual" => "#ef8f00",
        "ClinicalGate" => "#c62828",
        "LowQual;ClinicalGate" => "#7b1fa2",
        _ => "#1565c0",
    }
}

/// The page's style sheet.
const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d232a;margin:0;background:#f4f6f8}
header{background:#1f3a5f;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;opacity:.85}
main{padding:16px 28px 28px;max-width:1400px}
section{background:#fff;border:1px solid #dde3e9;border-radius:6px;margin:14px 0;padding:12px 16px}
h2{font-size:16px;margin:2px 0 10px;color:#1f3a5f}
.cards{display:flex;flex-wrap:wrap;gap:10px;background:none;border:none;padding:0}
.card{background:#fff;border:1px solid #dde3e9;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.card span{color:#5b6773;font-size:12px}
.card.bad{border-color:#c62828;background:#fdecea}
.card.good{border-color:#2e7d32;background:#edf7ee}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.grid figure{margin:0}
figcaption{color:#5b6773;font-size:12px;margin-top:2px}
svg.chart{width:100%;height:auto;display:block}
svg .ct{font-size:14px;font-weight:600;text-anchor:middle;fill:#1d232a}
svg .at{font-size:12px;text-anchor:middle;fill:#3d4852}
svg .xt{font-size:10px;text-anchor:middle;fill:#3d4852}
svg .yt{font-size:10px;text-anchor:end;fill:#3d4852}
svg .lg{font-size:11px;fill:#1d232a}
svg .grid{stroke:#e7ebef;stroke-width:1}
svg .axis{stroke:#5b6773;stroke-width:1}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid #e7ebef;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f0f3f6;font-weight:600}
td.l,th.l{text-align:left}
table.kv td{text-align:left}
table.kv td:first-child{color:#5b6773;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.ok{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
.note{color:#5b6773;font-size:12px}
footer{color:#5b6773;font-size:12px;padding:0 28px 20px}
summary{cursor:pointer;font-weight:600;color:#1f3a5f;margin:12px 0 6px}
";

/// An HTML page under construction: a header, then sections in order.
pub struct Page {
    title: String,
    subtitle: String,
    body: String,
}

impl Page {
    pub fn new(title: &str, subtitle: &str) -> Page {
        Page {
            title: title.to_string(),
            subtitle: subtitle.to_string(),
            body: String::new(),
        }
    }

    /// A row of headline numbers: (value, label, state) with state `good`, `bad` or "".
    pub fn cards(&mut self, items: &[(String, String, &str)]) {
        self.body.push_str("<section class=\"cards\">");
        for (value, label, state) in items {
            let _ = write!(
                self.body,
                "<div class=\"card {state}\"><b>{}</b><span>{}</span></div>",
                esc(value),
                esc(label)
            );
        }
        self.body.push_str("</section>");
    }

    /// A titled section holding `html` as is.
    pub fn section(&mut self, title: &str, html: &str) {
        let _ = write!(
            self.body,
            "<section><h2>{}</h2>{html}</section>",
            esc(title)
        );
    }

    /// A titled section of charts laid out in a grid, each with a caption.
    pub fn charts(&mut self, title: &str, charts: &[(String, String)]) {
        let mut html = String::from("<div class=\"grid\">");
        for (svg, caption) in charts {
            let _ = write!(
                html,
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                esc(caption)
            );
        }
        html.push_str("</div>");
        self.section(title, &html);
    }

    /// The whole document.
    pub fn render(&self, footer: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{t}</title><style>{CSS}</style></head><body><header><h1>{t}</h1><p>{s}</p></header>\
<main>{b}</main><footer>{f}</footer></body></html>\n",
            t = esc(&self.title),
            s = esc(&self.subtitle),
            b = self.body,
            f = esc(footer)
        )
    }
}

/// A two-column key/value table; values are escaped and shown in a monospace font.
pub fn kv_table(rows: &[(&str, String)]) -> String {
    let mut s = String::from("<table class=\"kv\">");
    for (k, v) in rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    s.push_str("</table>");
    s
}

/// A table with a header row; the first `left` columns are left-aligned. Cells are
/// escaped unless they start with `<` (pre-rendered markup from this module's callers).
pub fn table(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let cls = |i: usize| if i < left { " class=\"l\"" } else { "" };
    let mut s = String::from("<table><tr>");
    for (i, h) in headers.iter().enumerate() {
        let _ = write!(s, "<th{}>{}</th>", cls(i), esc(h));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let cell = if c.starts_with('<') {
                c.clone()
            } else {
                esc(c)
            };
            let _ = write!(s, "<td{}>{cell}</td>", cls(i));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_text_and_hold_no_external_references() {
        let mut p = Page::new("a<b", "s&t");
        p.cards(&[("1".into(), "x\"y".into(), "good")]);
        p.section("k", &kv_table(&[("path", "<x>".into())]));
        let html = p.render("f");
        assert!(html.contains("<h1>a&lt;b</h1>") && html.contains("s&amp;t"));
        assert!(html.contains("x&quot;y") && html.contains("&lt;x&gt;"));
        for external in ["<script", "http://", "https://", "src=", "@import", "url("] {
            let outside_svg_ns = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!outside_svg_ns.contains(external), "{external}");
        }
    }
}
