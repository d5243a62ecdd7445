//! Read-backed phasing (`call --phase`, on by default for long-read presets) on real reads:
//! testdata/hifi/ (HG002 PacBio Revio HiFi over GRCh38 chr20:9,076,000-9,084,000) and the
//! NA12878 Illumina slice. testdata/hifi's GIAB truth is unphased, so the phasing is checked
//! against a peer's: testdata/hifi/whatshap.vcf, WhatsHap's phasing of the same calls from
//! the same reads (benches/make_phasing_fixture.sh).
mod common;
use common::{callvar, stderr_of, td, tmpdir};
use std::collections::HashMap;
use std::process::Output;

const HIFI_REGION: &str = "chr20:9076000-9084000";

/// `callvar call` on testdata/hifi to stdout with `extra` flags.
fn call_hifi(extra: &[&str]) -> Output {
    let mut flags = vec!["--quiet"];
    flags.extend_from_slice(extra);
    let o = common::call_testdata("hifi/ref.fa.gz", "hifi/reads.bam", HIFI_REGION, "-", &flags);
    assert!(o.status.success(), "{}", stderr_of(&o));
    o
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn records(vcf: &str) -> Vec<String> {
    vcf.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// A record's POS, FILTER and sample fields by FORMAT key.
fn fields(rec: &str) -> (u64, String, HashMap<String, String>) {
    let t: Vec<&str> = rec.split('\t').collect();
    let sample = t[8]
        .split(':')
        .zip(t[9].split(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (t[1].parse().unwrap(), t[6].to_string(), sample)
}

/// Heterozygous GT alleles, whatever the separator.
fn het(gt: &str) -> Option<(String, String)> {
    let (a, b) = gt.split_once(['/', '|'])?;
    (a != b).then(|| (a.to_string(), b.to_string()))
}

/// Phased records by POS: (phase set, GT alleles in haplotype order).
fn phased(vcf: &str) -> HashMap<u64, (String, (String, String))> {
    records(vcf)
        .iter()
        .map(|r| fields(r))
        .filter(|(_, _, s)| s["GT"].contains('|'))
        .map(|(pos, _, s)| (pos, (s["PS"].clone(), het(&s["GT"]).unwrap())))
        .collect()
}

#[test]
fn hifi_calls_are_phased_in_blocks_named_by_their_first_variant() {
    let vcf = text(&call_hifi(&["--preset", "hifi"]));
    assert!(vcf.contains("##FORMAT=<ID=PS,Number=1,Type=Integer,"));
    let mut first_of: HashMap<String, u64> = HashMap::new();
    let (mut hets, mut phased_hets) = (0, 0);
    for rec in records(&vcf) {
        let (pos, filter, s) = fields(&rec);
        let gt = &s["GT"];
        if gt.contains('|') {
            // only filter-passing heterozygous calls are phased, each with its PS
            assert!(het(gt).is_some() && filter == "PASS", "{rec}");
            first_of.entry(s["PS"].clone()).or_insert(pos);
            phased_hets += 1;
        } else {
            assert!(!s.contains_key("PS"), "unphased record with PS: {rec}");
        }
        hets += usize::from(het(gt).is_some() && filter == "PASS");
    }
    // PS is the POS of the block's first variant
    for (ps, first) in &first_of {
        assert_eq!(ps.parse::<u64>().unwrap(), *first);
    }
    // HiFi reads of 10-20 kb link every heterozygous call of this 8 kb slice
    assert!(hets >= 45, "{hets} heterozygous calls");
    assert_eq!(phased_hets, hets);
    assert_eq!(first_of.len(), 1);
}

#[test]
fn hifi_phasing_agrees_with_whatshap() {
    let ours = phased(&text(&call_hifi(&["--preset", "hifi"])));
    let peer = std::fs::read_to_string(td("hifi/whatshap.vcf")).unwrap();
    let theirs = phased(&peer);
    assert!(theirs.len() >= 40, "{} phased by WhatsHap", theirs.len());
    // consecutive sites phased by both in one block of each: same relative orientation
    let mut both: Vec<u64> = ours
        .keys()
        .filter(|p| theirs.contains_key(p))
        .copied()
        .collect();
    both.sort();
    assert!(
        both.len() + 2 >= theirs.len(),
        "{} of {}",
        both.len(),
        theirs.len()
    );
    let same = |p: u64| ours[&p].1 == theirs[&p].1;
    let (mut pairs, mut switches) = (0, 0);
    for w in both.windows(2) {
        if ours[&w[0]].0 == ours[&w[1]].0 && theirs[&w[0]].0 == theirs[&w[1]].0 {
            pairs += 1;
            switches += usize::from(same(w[0]) != same(w[1]));
        }
    }
    assert!(pairs >= 40, "{pairs} pairs compared");
    assert_eq!(switches, 0);
}

#[test]
fn phasing_does_not_depend_on_threads_or_chunks() {
    // 1 kb chunks cut the slice's one block eight times
    let one = records(&text(&call_hifi(&["--preset", "hifi", "--threads", "1"])));
    let two = records(&text(&call_hifi(&["--preset", "hifi", "--threads", "2"])));
    let small = records(&text(&call_hifi(&[
        "--preset",
        "hifi",
        "--threads",
        "2",
        "--chunk-size",
        "1000",
    ])));
    assert!(one.iter().any(|r| r.contains("0|1")));
    assert_eq!(one, two);
    assert_eq!(one, small);
}

/// A record with its GT unphased and PS dropped.
fn unphase(rec: &str) -> String {
    let t: Vec<&str> = rec.split('\t').collect();
    let keys: Vec<&str> = t[8].split(':').collect();
    let vals: Vec<String> = t[9]
        .split(':')
        .zip(&keys)
        .filter(|(_, k)| **k != "PS")
        .map(|(v, k)| {
            if *k == "GT" {
                v.replace('|', "/")
            } else {
                v.to_string()
            }
        })
        .collect();
    let keys: Vec<&str> = keys.into_iter().filter(|k| *k != "PS").collect();
    // 1|0 is the 0/1 call
    let vals: Vec<String> = vals
        .into_iter()
        .map(|v| match v.split_once('/') {
            Some((a, b)) if a > b => format!("{b}/{a}"),
            _ => v,
        })
        .collect();
    let mut out: Vec<String> = t[..8].iter().map(|s| s.to_string()).collect();
    out.push(keys.join(":"));
    out.push(vals.join(":"));
    out.join("\t")
}

#[test]
fn no_phase_gives_the_same_calls_unphased() {
    let phased_run = text(&call_hifi(&["--preset", "hifi"]));
    let plain = text(&call_hifi(&["--preset", "hifi", "--no-phase"]));
    assert!(!plain.contains("ID=PS"));
    let plain = records(&plain);
    assert!(plain.iter().all(|r| !r.contains('|')));
    let unphased: Vec<String> = records(&phased_run).iter().map(|r| unphase(r)).collect();
    assert_eq!(unphased, plain);
    let verbose = callvar(&[
        "call",
        "--ref",
        &td("hifi/ref.fa.gz"),
        "--reads",
        &td("hifi/reads.bam"),
        "--regions",
        HIFI_REGION,
        "--preset",
        "ont",
        "-v",
        "-o",
        "-",
    ]);
    assert!(stderr_of(&verbose).contains("callvar: read-backed phasing on\n"));
    // the pacbio-hifi model card's preset turns phasing on too
    let card = text(&call_hifi(&["--model", "pacbio-hifi"]));
    assert_eq!(records(&card), records(&phased_run));
    // the last of --phase / --no-phase wins
    let last = text(&call_hifi(&["--preset", "hifi", "--no-phase", "--phase"]));
    assert_eq!(records(&last), records(&phased_run));
}

#[test]
fn illumina_runs_are_unphased_unless_asked() {
    let (r, b) = (td("ref.fa.gz"), td("na12878.bam"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "call",
            "--ref",
            &r,
            "--reads",
            &b,
            "--regions",
            "chr20:10000000-10020000",
            "--quiet",
            "-o",
            "-",
        ];
        args.extend_from_slice(extra);
        let o = callvar(&args);
        assert!(o.status.success(), "{}", stderr_of(&o));
        text(&o)
    };
    let default = run(&[]);
    assert!(!default.contains("ID=PS"));
    assert!(records(&default).iter().all(|r| !r.contains('|')));
    assert_eq!(records(&default), records(&run(&["--no-phase"])));
    // asked for, 100 bp pairs phase few sites, and nothing else changes
    let asked = run(&["--phase"]);
    assert!(asked.contains("ID=PS"));
    let unphased: Vec<String> = records(&asked).iter().map(|r| unphase(r)).collect();
    assert_eq!(unphased, records(&default));
}

#[test]
fn gvcf_variant_records_carry_the_same_phase() {
    let dir = tmpdir("phasing", "gvcf");
    let g = dir.join("out.g.vcf");
    let vcf = text(&call_hifi(&[
        "--preset",
        "hifi",
        "--chunk-size",
        "1000",
        "--gvcf",
        g.to_str().unwrap(),
    ]));
    let gvcf = std::fs::read_to_string(&g).unwrap();
    assert!(gvcf.contains("##FORMAT=<ID=PS,"));
    let ours = phased(&vcf);
    assert!(!ours.is_empty());
    assert_eq!(phased(&gvcf), ours);
}

#[test]
fn phased_shards_merge_with_a_block_per_shard() {
    let d = tmpdir("phasing", "shards");
    let (r, b) = (td("hifi/ref.fa.gz"), td("hifi/reads.bam"));
    let plan = d.join("plan");
    let p = |path: &std::path::Path| path.to_str().unwrap().to_string();
    let o = callvar(&[
        "shards",
        "--ref",
        &r,
        "--reads",
        &b,
        "-n",
        "2",
        "--output-dir",
        &p(&plan),
        "--regions",
        HIFI_REGION,
        "--chunk-size",
        "1000",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let beds: Vec<String> = std::fs::read_to_string(plan.join("plan.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(beds.len(), 2);
    let shards: Vec<String> = beds
        .iter()
        .enumerate()
        .map(|(k, bed)| {
            let out = p(&d.join(format!("shard{k}.vcf.gz")));
            let o = callvar(&[
                "call",
                "--ref",
                &r,
                "--reads",
                &b,
                "--regions-file",
                &p(&plan.join(bed)),
                "--preset",
                "hifi",
                "--chunk-size",
                "1000",
                "-q",
                "-o",
                &out,
            ]);
            assert!(o.status.success(), "{}", stderr_of(&o));
            out
        })
        .collect();
    let merged = p(&d.join("merged.vcf"));
    let mut args = vec!["merge", "--ref", &r, "--plan", "", "-o", &merged, "-q"];
    let plan_tsv = p(&plan.join("plan.tsv"));
    args[4] = &plan_tsv;
    args.extend(shards.iter().map(String::as_str));
    let o = callvar(&args);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let merged = std::fs::read_to_string(&merged).unwrap();
    assert!(merged.contains("##FORMAT=<ID=PS,"));
    // the same calls as one run; each shard phases on its own: one phase set per shard
    let single = text(&call_hifi(&["--preset", "hifi", "--chunk-size", "1000"]));
    let unphased = |v: &str| records(v).iter().map(|r| unphase(r)).collect::<Vec<_>>();
    assert_eq!(unphased(&merged), unphased(&single));
    let mut sets: Vec<String> = phased(&merged).into_values().map(|(ps, _)| ps).collect();
    sets.sort();
    sets.dedup();
    assert_eq!(sets.len(), 2, "{sets:?}");
}
