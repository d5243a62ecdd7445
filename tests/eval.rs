//! `callvar eval` end to end. Small VCFs written against the real reference slices, with
//! answers worked out by hand: on testdata/ref.fa.gz (GRCh37 chr20 around 10,000,000),
//! chr20:10,000,022-10,000,029 reads AAATTTTG, so deleting one T is POS 24 AT>A
//! (left-aligned) or POS 27 TT>T (right-shifted): the same haplotype. On
//! testdata/eval_cases/grch38_chr20_9M.fa.gz (GRCh38), chr20:9,074,791-9,074,832 reads
//! C, 16 T, then AAACA five times, where HG002 carries CT>C, a deletion of the five AAACA
//! and an insertion of TT after them. And the bcftools and freebayes calls of
//! testdata/eval_cases/ against RTG vcfeval's own counts.
mod common;
use common::td;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
/// Truth for the GRCh37 tests: a hom SNP and a het one-T deletion in the TTTT run.
const TRUTH: [&str; 2] = [
    "chr20 10000006 . A G 50 PASS . GT 1/1",
    "chr20 10000024 . AT A 50 PASS . GT 0/1",
];
const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=chr20>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT";

/// Writes a VCF of `records` (space-separated fields) with sample columns `samples`.
fn write_vcf_samples(dir: &Path, name: &str, samples: &[&str], records: &[&str]) -> String {
    let mut text = String::from(HEADER);
    if samples.is_empty() {
        text.truncate(text.len() - "\tFORMAT".len());
    }
    for s in samples {
        text.push('\t');
        text.push_str(s);
    }
    text.push('\n');
    for r in records {
        text.push_str(&r.replace(' ', "\t"));
        text.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn write_vcf(dir: &Path, name: &str, records: &[&str]) -> String {
    write_vcf_samples(dir, name, &["S"], records)
}

fn eval_on(reference: &str, truth: &str, calls: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "eval", "--ref", reference, "--truth", truth, "--calls", calls,
    ];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).output().unwrap()
}

fn eval(truth: &str, calls: &str, extra: &[&str]) -> Output {
    eval_on(&td("ref.fa.gz"), truth, calls, extra)
}

/// (TP, FN, FP) of `kind` from `--json` output, which must have succeeded.
fn counts(o: &Output, kind: &str) -> (u64, u64, u64) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = |k: &str| j[kind][k].as_u64().unwrap();
    (n("tp"), n("fn"), n("fp"))
}

/// The one-line error of a run that must have failed with status 1.
fn error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
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
    assert_eq!(counts(&o, "INDEL"), (1, 0, 0));
    assert_eq!(counts(&o, "SNP"), (0, 1, 2));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
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
}

#[test]
fn all_records_counts_filtered_calls() {
    let d = dir("allrec");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let calls = write_vcf(
        &d,
        "calls.vcf",
        &[
            "chr20 10000006 . A G 8 LowQual . GT 1/1", // right, but filtered
            "chr20 10000024 . AT A 40 PASS . GT 0/1",
            "chr20 10000040 . T C 5 LowQual . GT 0/1", // wrong and filtered
        ],
    );
    let o = eval(&truth, &calls, &["--json"]);
    assert_eq!(counts(&o, "SNP"), (0, 1, 0));
    assert_eq!(counts(&o, "INDEL"), (1, 0, 0));
    let o = eval(&truth, &calls, &["--json", "--all-records"]);
    assert_eq!(counts(&o, "SNP"), (1, 0, 1));
    assert_eq!(counts(&o, "INDEL"), (1, 0, 0));
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
        let err = error(&eval(&good, &p, &[]));
        assert!(err.contains(msg), "{name}: {err}");
    }
}

#[test]
fn vcfs_without_genotypes_are_refused() {
    let d = dir("nogt");
    let good = write_vcf(&d, "good.vcf", &TRUTH);
    let sites = write_vcf_samples(&d, "sites.vcf", &[], &["chr20 10000006 . A G 50 PASS ."]);
    let no_gt = write_vcf(&d, "nogt.vcf", &["chr20 10000006 . A G 50 PASS . GQ 30"]);
    let bad_gt = write_vcf(&d, "badgt.vcf", &["chr20 10000006 . A G 50 PASS . GT 0/2"]);
    for (file, msg) in [
        (
            &sites,
            "sites.vcf: no sample column: a genotyped (GT) VCF is needed",
        ),
        (
            &no_gt,
            "nogt.vcf: no record has a GT field: a genotyped VCF is needed",
        ),
        (
            &bad_gt,
            "badgt.vcf: line 4: GT allele 2, but there are 1 ALT alleles",
        ),
    ] {
        // as calls and as truth
        for (truth, calls) in [(&good, file), (file, &good)] {
            let err = error(&eval(truth, calls, &[]));
            assert!(err.ends_with(msg), "{err}");
        }
    }
}

#[test]
fn multi_sample_vcfs_need_the_sample_named() {
    let d = dir("samples");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let two = write_vcf_samples(
        &d,
        "two.vcf",
        &["S1", "S2"],
        &[
            "chr20 10000006 . A G 50 PASS . GT 0/1 1/1",
            "chr20 10000024 . AT A 50 PASS . GT 0/0 0/1",
        ],
    );
    let err = error(&eval(&truth, &two, &[]));
    assert!(err.ends_with("two.vcf: 2 samples (S1, S2): choose one with --calls-sample"));
    let err = error(&eval(&truth, &two, &["--calls-sample", "S3"]));
    assert!(err.ends_with("two.vcf: no sample 'S3' (--calls-sample); its samples: S1, S2"));
    // S2 is the truth; S1 has the SNP het and not the deletion
    let o = eval(&truth, &two, &["--json", "--calls-sample", "S2"]);
    assert_eq!(
        (counts(&o, "SNP"), counts(&o, "INDEL")),
        ((1, 0, 0), (1, 0, 0))
    );
    let o = eval(&truth, &two, &["--json", "--calls-sample", "S1"]);
    assert_eq!(
        (counts(&o, "SNP"), counts(&o, "INDEL")),
        ((0, 1, 1), (0, 1, 0))
    );
    // the same for a multi-sample truth set
    let err = error(&eval(&two, &truth, &[]));
    assert!(err.ends_with("two.vcf: 2 samples (S1, S2): choose one with --truth-sample"));
    let o = eval(&two, &truth, &["--json", "--truth-sample", "S2"]);
    assert_eq!(
        (counts(&o, "SNP"), counts(&o, "INDEL")),
        ((1, 0, 0), (1, 0, 0))
    );
}

#[test]
fn regions_matching_no_contig_are_refused() {
    let d = dir("contigs");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let b37 = d.join("b37.bed");
    std::fs::write(&b37, "20\t10000000\t10001000\n").unwrap();
    let b37 = b37.to_str().unwrap();
    let msg = "b37.bed: no contig matches the reference (here: 20; in the reference: chr20)";
    for flag in ["--confident", "--stratify"] {
        let arg = if flag == "--confident" {
            b37.to_string()
        } else {
            format!("x={b37}")
        };
        let err = error(&eval(&truth, &truth, &[flag, &arg]));
        assert!(err.ends_with(msg), "{err}");
    }
    // a reference with a second contig that the VCFs do not use
    let fa = ">chr20\nGATTACAGGCAAAAAAAGTC\n>chrM\nACGTACGT\n";
    let fasta = d.join("two.fa");
    std::fs::write(&fasta, fa).unwrap();
    let fai = format!(
        "chr20\t20\t7\t20\t21\nchrM\t8\t{}\t8\t9\n",
        fa.find("ACGTACGT").unwrap()
    );
    std::fs::write(d.join("two.fa.fai"), fai).unwrap();
    let small = write_vcf(&d, "small.vcf", &["chr20 2 . A G 50 PASS . GT 0/1"]);
    let m_bed = d.join("m.bed");
    std::fs::write(&m_bed, "chrM\t0\t8\n").unwrap();
    let reference = fasta.to_str().unwrap();
    let err = error(&eval_on(
        reference,
        &small,
        &small,
        &["--confident", m_bed.to_str().unwrap()],
    ));
    assert!(
        err.ends_with("m.bed: no contig matches the VCFs (here: chrM; in the VCFs: chr20)"),
        "{err}"
    );
    let err = error(&eval_on(reference, &small, &small, &["--regions", "chrM"]));
    assert!(
        err.ends_with("--regions: no contig matches the VCFs (here: chrM; in the VCFs: chr20)"),
        "{err}"
    );
    let o = eval_on(reference, &small, &small, &["--json", "--regions", "chr20"]);
    assert_eq!(counts(&o, "SNP"), (1, 0, 0));
}

#[test]
fn twelve_base_mnp_matches_the_same_change_as_snps() {
    // chr20:10,000,100-10,000,111 reads TTGCATTTCCAT; every base changes on one haplotype
    let d = dir("mnp");
    let (r, alt) = ("TTGCATTTCCAT", "AATGCAAAGGCA");
    let mnp = write_vcf(
        &d,
        "mnp.vcf",
        &[&format!("chr20 10000100 . {r} {alt} 50 PASS . GT 0/1")],
    );
    let snps: Vec<String> = (0..r.len())
        .map(|i| {
            format!(
                "chr20 {} . {} {} 50 PASS . GT 0/1",
                10000100 + i,
                &r[i..=i],
                &alt[i..=i]
            )
        })
        .collect();
    let snp_refs: Vec<&str> = snps.iter().map(String::as_str).collect();
    let snps = write_vcf(&d, "snps.vcf", &snp_refs);
    // an MNP is not a SNP record: it counts as INDEL
    let o = eval(&mnp, &snps, &["--json"]);
    assert_eq!(
        (counts(&o, "INDEL"), counts(&o, "SNP")),
        ((1, 0, 0), (0, 0, 0))
    );
    let o = eval(&snps, &mnp, &["--json"]);
    assert_eq!(
        (counts(&o, "SNP"), counts(&o, "INDEL")),
        ((12, 0, 0), (0, 0, 0))
    );
}

/// The HiFi dev set's reference slice.
fn grch38() -> String {
    td("eval_cases/grch38_chr20_9M.fa.gz")
}

#[test]
fn anchor_base_cases_at_the_hg002_complex_site() {
    let d = dir("anchor");
    let t = |n: usize| "T".repeat(n);
    let u = "AAACA".repeat(5);
    let (a, b, c) = (
        "chr20 9074791 . CT C 50 PASS . GT 0/1".to_string(),
        format!("chr20 9074807 . T{u} T 50 PASS . GT 0/1"),
        "chr20 9074832 . A ATT 50 PASS . GT 0/1".to_string(),
    );
    let truth = write_vcf(&d, "truth.vcf", &[&a, &b, &c]);
    // one record over chr20:9,074,791-9,074,832 in each phasing of {a, b, c}
    for (alts, gt) in [
        (format!("C{},C{}{u}", t(18), t(15)), "1/2"), // {b, c} | {a}: what freebayes wrote
        (format!("C{},C{}{u}TT", t(15), t(16)), "1/2"), // {a, b} | {c}
        (format!("C{}{u}TT,C{}", t(15), t(16)), "1/2"), // {a, c} | {b}
        (format!("C{}", t(17)), "0/1"),               // {a, b, c} | {}
    ] {
        let rec = format!("chr20 9074791 . C{}{u} {alts} 50 PASS . GT {gt}", t(16));
        let one = write_vcf(&d, "one.vcf", &[&rec]);
        let o = eval_on(&grch38(), &truth, &one, &["--json"]);
        assert_eq!(counts(&o, "INDEL"), (3, 0, 0), "{rec}");
        let o = eval_on(&grch38(), &one, &truth, &["--json"]);
        assert_eq!(counts(&o, "INDEL"), (1, 0, 0), "{rec}");
    }
    // the deletion and the insertion anchored on its last base, on one haplotype
    let bc = write_vcf(&d, "bc.vcf", &[&b, &c]);
    let delins = write_vcf(
        &d,
        "delins.vcf",
        &[&format!("chr20 9074807 . T{u} TTT 50 PASS . GT 0/1")],
    );
    let o = eval_on(&grch38(), &bc, &delins, &["--json"]);
    assert_eq!(counts(&o, "INDEL"), (2, 0, 0));
    // two abutting deletions, the second anchored on the last base the first deletes
    let abut = write_vcf(
        &d,
        "abut.vcf",
        &[
            "chr20 9074807 . TAAACA T 50 PASS . GT 0/1",
            "chr20 9074812 . AAAACA A 50 PASS . GT 0/1",
        ],
    );
    let del10 = write_vcf(
        &d,
        "del10.vcf",
        &["chr20 9074807 . TAAACAAAACA T 50 PASS . GT 0/1"],
    );
    let o = eval_on(&grch38(), &abut, &del10, &["--json"]);
    assert_eq!(counts(&o, "INDEL"), (2, 0, 0));
}

/// Files of one expected_vcfeval.tsv row: reference, truth, confident BED, calls.
fn dev_set(set: &str, caller: &str) -> [String; 4] {
    let calls = td(&format!("eval_cases/{set}.{caller}.vcf.gz"));
    match set {
        "na12878_illumina" => [
            td("ref.fa.gz"),
            td("truth.vcf.gz"),
            td("confident.bed"),
            calls,
        ],
        "hg002_hifi" => [
            grch38(),
            td("eval_cases/hg002_hifi.truth.vcf.gz"),
            td("eval_cases/hg002_hifi.confident.bed"),
            calls,
        ],
        other => panic!("unknown dev set {other}"),
    }
}

#[test]
fn agrees_with_vcfeval_on_bcftools_and_freebayes_calls() {
    let table = std::fs::read_to_string(td("eval_cases/expected_vcfeval.tsv")).unwrap();
    let mut rows = 0;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let want: Vec<u64> = f[2..7].iter().map(|n| n.parse().unwrap()).collect();
        let [reference, truth, bed, calls] = dev_set(f[0], f[1]);
        let o = eval_on(&reference, &truth, &calls, &["--json", "--confident", &bed]);
        let (snp, indel) = (counts(&o, "SNP"), counts(&o, "INDEL"));
        let got = [snp.0, snp.1, indel.0, indel.1, snp.2 + indel.2];
        let close = got.iter().zip(&want).all(|(g, w)| g.abs_diff(*w) <= 1);
        assert!(
            close,
            "{} {}: callvar {got:?}, vcfeval {want:?}",
            f[0], f[1]
        );
        rows += 1;
    }
    assert_eq!(rows, 4);
}

#[test]
fn freebayes_complex_record_matches_its_three_truth_records() {
    let d = dir("fb");
    let [reference, truth, bed, calls] = dev_set("hg002_hifi", "freebayes");
    let out = d.join("out");
    let o = eval_on(
        &reference,
        &truth,
        &calls,
        &[
            "--json",
            "--confident",
            &bed,
            "--regions",
            "chr20:9074700-9074900",
            "--output-dir",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (counts(&o, "INDEL"), counts(&o, "SNP")),
        ((3, 0, 0), (0, 0, 0))
    );
    let positions = |f: &str| -> Vec<String> {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(positions("tp.vcf"), ["9074791"]);
    assert_eq!(
        positions("tp-baseline.vcf"),
        ["9074791", "9074807", "9074832"]
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // like `callvar eval … | head -0`: the reader is gone before eval writes its table
    let d = dir("closed_stdout");
    let truth = write_vcf(&d, "truth.vcf", &TRUTH);
    let mut child = Command::new(BIN)
        .args([
            "eval",
            "--ref",
            &td("ref.fa.gz"),
            "--truth",
            &truth,
            "--calls",
            &truth,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "status {:?}", o.status);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "",
        "no message, no panic"
    );
}
