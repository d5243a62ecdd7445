//! `callvar eval` end to end on small VCFs written against the real reference slice
//! (testdata/ref.fa.gz, chr20 around 10,000,000), with answers worked out by hand:
//! chr20:10,000,022-10,000,029 reads AAATTTTG, so deleting one T is POS 24 AT>A (left-aligned)
//! or POS 27 TT>T (right-shifted): the same haplotype.
mod common;
use common::td;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
/// Truth for both tests: a hom SNP and a het one-T deletion in the TTTT run.
const TRUTH: [&str; 2] = [
    "chr20 10000006 . A G 50 PASS . GT 1/1",
    "chr20 10000024 . AT A 50 PASS . GT 0/1",
];

fn write_vcf(dir: &Path, name: &str, records: &[&str]) -> String {
    let mut text = String::from("##fileformat=VCFv4.2\n##contig=<ID=chr20>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n");
    for r in records {
        text.push_str(&r.replace(' ', "\t"));
        text.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn eval(truth: &str, calls: &str, extra: &[&str]) -> Output {
    let r = td("ref.fa.gz");
    let mut args = vec!["eval", "--ref", &r, "--truth", truth, "--calls", calls];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).output().unwrap()
}

fn dir(name: &str) -> PathBuf {
    common::tmpdir("eval", name)
}

#[test]
fn matches_by_haplotype_and_counts_like_happy() {
    let d = dir("match");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let calls = write_vcf(
        &d,
        "calls.vcf",
        &[
            "chr20 10000006 . A G 30 PASS . GT:GQ 0/1:30", // genotype error: FN + FP
            "chr20 10000013 . C T 12 PASS . GT:GQ 0/1:12", // false positive
            "chr20 10000027 . TT T 40 PASS . GT:GQ 0/1:40", // same deletion, shifted right
            "chr20 10000040 . T C 40 RefCall . GT:GQ 0/0:40", // filtered: not counted
        ],
    );
    let out = d.join("out");
    let o = eval(
        &truth,
        &calls,
        &["--json", "--output-dir", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            j["INDEL"]["tp"].as_u64(),
            j["INDEL"]["fn"].as_u64(),
            j["INDEL"]["fp"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(
        (
            j["SNP"]["tp"].as_u64(),
            j["SNP"]["fn"].as_u64(),
            j["SNP"]["fp"].as_u64()
        ),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(j["SNP"]["genotype_mismatch"], 1);
    assert_eq!(j["INDEL"]["f1"], 1.0);
    // the inspection VCFs hold exactly those records
    let count = |f: &str| {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count()
    };
    assert_eq!(
        (
            count("tp.vcf"),
            count("fp.vcf"),
            count("tp-baseline.vcf"),
            count("fn.vcf")
        ),
        (1, 2, 1, 1)
    );
    assert!(out.join("snp_curve.tsv").is_file() && out.join("summary.json").is_file());
    // the table names both types; --all-records counts the RefCall record (0/0: nothing to match)
    let t = eval(&truth, &calls, &["--all-records"]);
    let text = String::from_utf8(t.stdout).unwrap();
    assert!(text.contains("SNP") && text.contains("INDEL"));
}

#[test]
fn stratification_and_gate() {
    let d = dir("strat");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let calls = write_vcf(&d, "calls.vcf", &["chr20 10000006 . A G 50 PASS . GT 1/1"]);
    let bed = d.join("hp.bed");
    std::fs::write(&bed, "chr20\t10000020\t10000030\n").unwrap();
    let s = format!("homopolymer={}", bed.display());
    let o = eval(
        &truth,
        &calls,
        &["--json", "--stratify", &s, "--min-f1", "SNP=0.99,INDEL=0.5"],
    );
    assert_eq!(o.status.code(), Some(3), "INDEL F1 is 0: gate fails");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["strata"]["homopolymer"]["INDEL"]["fn"], 1);
    assert_eq!(j["strata"]["homopolymer"]["SNP"]["tp"], 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("INDEL F1 0.0000 < 0.5"));
    let o = eval(&truth, &calls, &["--min-f1", "SNP=0.99"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn bad_vcfs_are_named() {
    let d = dir("bad");
    let good = write_vcf(&d, "good.vcf", &["chr20 10000006 . A G 50 PASS . GT 1/1"]);
    let cases = [
        (
            "unsorted.vcf",
            vec![
                "chr20 10000024 . AT A 50 PASS . GT 0/1",
                "chr20 10000006 . A G 50 PASS . GT 1/1",
            ],
            "unsorted.vcf: line 5: not sorted",
        ),
        (
            "badref.vcf",
            vec!["chr20 10000006 . G A 50 PASS . GT 1/1"],
            "badref.vcf: line 4: REF G at chr20:10000006 disagrees with the reference (A)",
        ),
        (
            "contig.vcf",
            vec!["chr21 100 . A G 50 PASS . GT 1/1"],
            "contig.vcf: line 4: contig 'chr21' is not in the reference",
        ),
    ];
    for (name, recs, msg) in cases {
        let p = write_vcf(&d, name, &recs);
        let o = eval(&good, &p, &[]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(msg), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1);
    }
}
