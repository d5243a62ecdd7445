//! Confidence tiers on real reads (testdata/: NA12878 chr20 around 10,000,000): every record
//! carries INFO/TIER 1-3 that the header defines with its thresholds, the tier follows the
//! header's rule from the record's own GQ, FILTER and flags, records and the median depth
//! do not depend on --threads or on the regions called (shards), a known-hard call lands in
//! Tier 3, and `callvar eval` counts per tier.
mod common;
use common::{callvar, stderr_of, td, tmpdir};
use std::path::Path;

fn call(dir: &Path, name: &str, extra: &[&str]) -> String {
    let out = dir.join(name);
    let mut args = vec![
        "call",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        &td("na12878.bam"),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = callvar(&refs);
    assert!(o.status.success(), "{}", stderr_of(&o));
    std::fs::read_to_string(out).unwrap()
}

fn records(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

fn info<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split('\t')
        .nth(7)?
        .split(';')
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
}

fn gq(line: &str) -> u32 {
    let f: Vec<&str> = line.split('\t').collect();
    let keys: Vec<&str> = f[8].split(':').collect();
    let i = keys.iter().position(|k| *k == "GQ").unwrap();
    f[9].split(':').nth(i).unwrap().parse().unwrap()
}

/// A number after `prefix` in the header's TIER description.
fn threshold(desc: &str, prefix: &str) -> f64 {
    let rest = &desc[desc
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {desc}"))
        + prefix.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

#[test]
fn every_record_has_a_tier_that_follows_the_header_rule() {
    let d = tmpdir("tiers", "rule");
    let text = call(&d, "calls.vcf", &["--threads", "2"]);
    let desc = text
        .lines()
        .find(|l| l.starts_with("##INFO=<ID=TIER,Number=1,Type=Integer,"))
        .expect("TIER defined in the header");
    for id in ["TIER_FLAGS", "RPT", "MQ", "MQ20", "AMM", "DPR", "AB", "FS"] {
        assert!(
            text.contains(&format!("##INFO=<ID={id},")),
            "{id} defined in the header"
        );
    }
    let median: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("##callvarMedianDepth="))
        .expect("median depth in the header")
        .parse()
        .unwrap();
    assert!((30.0..90.0).contains(&median), "median depth {median}");
    let t1 = threshold(desc, "Tier 1 = PASS, GQ>=") as u32;
    let t3 = threshold(desc, "Tier 3 = not PASS, GQ<") as u32;
    let k = threshold(desc, "or >=") as usize;
    let recs = records(&text);
    assert!(recs.len() > 100);
    let mut per_tier = [0; 4];
    for r in &recs {
        let tier: usize = info(r, "TIER")
            .expect("TIER on every record")
            .parse()
            .unwrap();
        assert!((1..=3).contains(&tier), "{r}");
        per_tier[tier] += 1;
        let flags = info(r, "TIER_FLAGS").map_or(0, |f| f.split(',').count());
        let pass = r.split('\t').nth(6) == Some("PASS");
        let want = if !pass || gq(r) < t3 || flags >= k {
            3
        } else if gq(r) >= t1 && flags == 0 {
            1
        } else {
            2
        };
        assert_eq!(tier, want, "{r}");
        // the depth ratio is DP over the header's median
        let dp: f64 = r
            .split('\t')
            .nth(9)
            .unwrap()
            .split(':')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        let dpr: f64 = info(r, "DPR").unwrap().parse().unwrap();
        assert!((dpr - dp / median).abs() < 0.006, "{r}");
    }
    // most PASS calls of this well-covered slice are reportable, and every tier is used
    assert!(per_tier[1] > recs.len() / 2, "{per_tier:?}");
    assert!(per_tier[2] > 0 && per_tier[3] > 0, "{per_tier:?}");
}

#[test]
fn tiers_do_not_depend_on_threads_or_regions() {
    let d = tmpdir("tiers", "determinism");
    let one = call(&d, "t1.vcf", &["--threads", "1"]);
    let three = call(&d, "t3.vcf", &["--threads", "3", "--chunk-size", "4000"]);
    assert_eq!(records(&one), records(&three));
    // a shard-sized part of the slice: the same median depth and the same records there
    let part = call(&d, "part.vcf", &["--regions", "chr20:10003001-10006000"]);
    let median = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("##callvarMedianDepth="))
            .unwrap()
            .to_string()
    };
    assert_eq!(median(&one), median(&part));
    let inside: Vec<&str> = records(&one)
        .into_iter()
        .filter(|r| {
            let pos: u64 = r.split('\t').nth(1).unwrap().parse().unwrap();
            (10_003_001..=10_006_000).contains(&pos)
        })
        .collect();
    assert!(!inside.is_empty());
    assert_eq!(records(&part), inside);
}

#[test]
fn a_hard_homopolymer_call_lands_in_tier_3() {
    // chr20:10,002,458: G>GTT,GTTT,GT at the start of an 11 bp T run, in the gap GIAB leaves
    // out of its confident regions (10,002,407-10,002,520): reads disagree on the length.
    let d = tmpdir("tiers", "hard");
    let text = call(&d, "calls.vcf", &["--regions", "chr20:10002000-10003000"]);
    let r = records(&text)
        .into_iter()
        .find(|r| r.starts_with("chr20\t10002458\t"))
        .expect("a call at chr20:10002458");
    assert_eq!(info(r, "TIER"), Some("3"), "{r}");
    let rpt: u32 = info(r, "RPT").unwrap().parse().unwrap();
    assert!(rpt >= 10, "{r}");
    // the paralog signal: its alt reads carry more differences than a clean call's
    let amm: f64 = info(r, "AMM").unwrap().parse().unwrap();
    assert!(amm > 2.0, "{r}");
    // a clean SNV nearby stays reportable
    let clean = records(&text)
        .into_iter()
        .find(|r| r.starts_with("chr20\t10002099\t"))
        .expect("a call at chr20:10002099");
    assert_eq!(info(clean, "TIER"), Some("1"), "{clean}");
}

#[test]
fn eval_reports_precision_and_recall_per_tier() {
    let d = tmpdir("tiers", "eval");
    call(&d, "calls.vcf", &["--threads", "2"]);
    let calls = d.join("calls.vcf");
    let args = |json: bool| {
        let mut a = vec![
            "eval".to_string(),
            "--ref".into(),
            td("ref.fa.gz"),
            "--truth".into(),
            td("truth.vcf.gz"),
            "--confident".into(),
            td("confident.bed"),
            "--calls".into(),
            calls.display().to_string(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };
    let run = |json: bool| {
        let a = args(json);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = callvar(&refs);
        assert!(o.status.success(), "{}", stderr_of(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let j: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    let tiers = j["tiers"].as_array().expect("tiers in the JSON");
    for kind in ["SNP", "INDEL"] {
        let rows: Vec<&serde_json::Value> = tiers.iter().filter(|r| r["type"] == kind).collect();
        assert_eq!(rows.len(), 3, "{kind}");
        let tp: u64 = rows.iter().map(|r| r["tp_call"].as_u64().unwrap()).sum();
        let fp: u64 = rows.iter().map(|r| r["fp"].as_u64().unwrap()).sum();
        assert_eq!(tp, j[kind]["tp_call"].as_u64().unwrap(), "{kind}");
        assert_eq!(fp, j[kind]["fp"].as_u64().unwrap(), "{kind}");
        // all tiers together recall what the call set recalls
        assert_eq!(rows[2]["tp_up_to"], j[kind]["tp"], "{kind}");
        assert_eq!(rows[2]["tp_share_up_to"], 1.0, "{kind}");
    }
    let all1 = tiers
        .iter()
        .find(|r| r["type"] == "ALL" && r["tier"] == 1)
        .unwrap();
    assert!(all1["tp_call"].as_u64().unwrap() > 30);
    assert_eq!(all1["precision"], 1.0);
    let text = run(false);
    assert!(text.contains("TP<=tier"), "{text}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("ALL") && l.contains(" 1 ")));
    // a call set without tiers: no tier rows, the JSON as before
    let plain = d.join("plain.vcf");
    let stripped: String = std::fs::read_to_string(&calls)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                return format!("{l}\n");
            }
            let mut f: Vec<&str> = l.split('\t').collect();
            f[7] = ".";
            format!("{}\n", f.join("\t"))
        })
        .collect();
    std::fs::write(&plain, stripped).unwrap();
    let o = callvar(&[
        "eval",
        "--ref",
        &td("ref.fa.gz"),
        "--truth",
        &td("truth.vcf.gz"),
        "--confident",
        &td("confident.bed"),
        "--calls",
        plain.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j.get("tiers").is_none());
}
