//! `callvar somatic` and `callvar eval --somatic` end to end, on testdata/somatic/: real
//! NA12878 reads split into a tumour and a normal, with 14 somatic mutations spiked into
//! the tumour's reads (benches/make_somatic_slice.py). The germline variants of NA12878
//! (testdata/truth.vcf.gz) are in both samples.
mod common;
use common::{callvar, stderr_of, td, tmpdir};
use std::process::Output;

const REGION: &str = "chr20:10000000-10010000";

fn somatic(out: &str, extra: &[&str]) -> Output {
    let (r, t) = (td("ref.fa.gz"), td("somatic/tumor.bam"));
    let mut args = vec![
        "somatic",
        "--ref",
        &r,
        "--tumor",
        &t,
        "--regions",
        REGION,
        "-o",
        out,
    ];
    args.extend_from_slice(extra);
    callvar(&args)
}

/// Data lines of a plain VCF.
fn records(path: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// (POS, REF, ALT) of the GIAB germline truth inside the slice.
fn germline() -> Vec<(String, String, String)> {
    let o = std::process::Command::new("gzip")
        .args(["-dc", &td("truth.vcf.gz")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
        .filter(|f| {
            let p: u64 = f[1].parse().unwrap();
            (10_000_000..10_010_000).contains(&p)
        })
        .map(|f| (f[1].clone(), f[3].clone(), f[4].clone()))
        .collect()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr_of(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn tumor_normal_finds_spiked_mutations_and_filters_germline() {
    let d = tmpdir("somatic", "tn");
    let out = d.join("tn.vcf").display().to_string();
    let o = somatic(&out, &["--normal", &td("somatic/normal.bam")]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("\tFORMAT\tNA12878-T\tNA12878-N\n"),
        "tumour then normal"
    );
    for id in [
        "PASS",
        "Germline",
        "NormalArtifact",
        "PanelOfNormals",
        "LowEvidence",
        "StrandBias",
        "NearIndel",
    ] {
        assert!(text.contains(&format!("##FILTER=<ID={id},")), "{id}");
    }
    assert!(text.contains("##INFO=<ID=SOMATIC,") && text.contains("##callvarCommand="));
    let recs = records(&out);
    // every germline truth allele written is filtered as Germline, never PASS
    let germ = germline();
    let mut germline_seen = 0;
    for (pos, r, a) in &germ {
        for rec in recs
            .iter()
            .filter(|x| &x[1] == pos && &x[3] == r && a.split(',').any(|a| a == x[4]))
        {
            germline_seen += 1;
            assert!(rec[6].contains("Germline"), "{rec:?}");
            assert!(!rec[7].contains("SOMATIC"), "{rec:?}");
        }
    }
    assert!(germline_seen >= 50, "{germline_seen} of {}", germ.len());
    // PASS records: somatic, tumour 0/1 with AD/DP/AF, normal 0/0 without alt reads
    let pass: Vec<_> = recs.iter().filter(|r| r[6] == "PASS").collect();
    for r in &pass {
        assert!(r[7].contains("SOMATIC") && r[7].contains("TLOD="), "{r:?}");
        assert_eq!(r[8], "GT:AD:DP:AF");
        assert!(
            r[9].starts_with("0/1:") && r[10].starts_with("0/0:"),
            "{r:?}"
        );
        let normal_ad: Vec<u32> = r[10]
            .split(':')
            .nth(1)
            .unwrap()
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(normal_ad[1], 0, "{r:?}");
        assert!(r[5].parse::<f64>().unwrap() >= 5.0);
    }
    // scored against the spiked truth by allele
    let ev = json(&callvar(&[
        "eval",
        "--somatic",
        "--json",
        "--ref",
        &td("ref.fa.gz"),
        "--truth",
        &td("somatic/truth.vcf"),
        "--calls",
        &out,
    ]));
    let snp = &ev["SNP"];
    assert_eq!(snp["tp"], 10, "{ev}");
    assert!(snp["fp"].as_u64().unwrap() <= 3, "{ev}");
    assert!(ev["INDEL"]["tp"].as_u64().unwrap() >= 3, "{ev}");
    // the gate: exit 3 when a named F1 is missed, with the table otherwise printed
    let gated = callvar(&[
        "eval",
        "--somatic",
        "--ref",
        &td("ref.fa.gz"),
        "--truth",
        &td("somatic/truth.vcf"),
        "--calls",
        &out,
        "--min-f1",
        "SNP=0.5,INDEL=0.99",
    ]);
    assert_eq!(gated.status.code(), Some(3), "{}", stderr_of(&gated));
    assert!(stderr_of(&gated).contains("gate not met: INDEL F1"));
    assert!(String::from_utf8_lossy(&gated.stdout).contains("VAF bin"));
    // every mutation spiked into 30% or more of the reads is found
    let at_least = snp["recall_at_least"].as_array().unwrap();
    let r20 = at_least.iter().find(|b| b["vaf_min"] == 0.2).unwrap();
    assert_eq!(r20["fn"], 0, "{ev}");
}

#[test]
fn records_do_not_depend_on_threads_and_gz_output_is_indexed() {
    let d = tmpdir("somatic", "threads");
    let one = d.join("one.vcf").display().to_string();
    let three = d.join("three.vcf.gz").display().to_string();
    let n = td("somatic/normal.bam");
    let common = ["--normal", n.as_str(), "--chunk-size", "2000", "-q"];
    let o = somatic(&one, &[&common[..], &["--threads", "1"]].concat());
    assert!(o.status.success(), "{}", stderr_of(&o));
    let o = somatic(&three, &[&common[..], &["--threads", "3"]].concat());
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert!(std::path::Path::new(&format!("{three}.tbi")).exists());
    let gz = std::process::Command::new("gzip")
        .args(["-dc", &three])
        .output()
        .unwrap();
    let body = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let a = body(&std::fs::read_to_string(&one).unwrap());
    assert!(a.len() > 50);
    assert_eq!(a, body(&String::from_utf8_lossy(&gz.stdout)));
}

#[test]
fn tumor_only_filters_germline_by_allele_fraction() {
    let d = tmpdir("somatic", "to");
    let out = d.join("to.vcf").display().to_string();
    let o = somatic(&out, &[]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\tFORMAT\tNA12878-T\n") && !text.contains("##INFO=<ID=NLOD"));
    let recs = records(&out);
    let germ = germline();
    let mut written = 0;
    let mut pass = 0;
    for (pos, r, a) in &germ {
        for rec in recs
            .iter()
            .filter(|x| &x[1] == pos && &x[3] == r && a.split(',').any(|a| a == x[4]))
        {
            written += 1;
            pass += usize::from(rec[6] == "PASS");
        }
    }
    assert!(
        written >= 50 && pass == 0,
        "{pass} of {written} germline alleles PASS"
    );
    // at this depth (~33x) a mutation in 30-40% of the reads looks heterozygous germline
    // without a normal; those in 15% of the reads are still called
    let ev = json(&callvar(&[
        "eval",
        "--somatic",
        "--json",
        "--ref",
        &td("ref.fa.gz"),
        "--truth",
        &td("somatic/truth.vcf"),
        "--calls",
        &out,
    ]));
    let bins = ev["SNP"]["recall_by_vaf"].as_array().unwrap();
    let low = bins.iter().find(|b| b["vaf_min"] == 0.1).unwrap();
    assert_eq!((&low["tp"], &low["fn"]), (&2.into(), &0.into()), "{ev}");
    let high = bins.iter().find(|b| b["vaf_min"] == 0.35).unwrap();
    assert_eq!(high["tp"], 0, "{ev}");
}

#[test]
fn panel_of_normals_and_germline_resource() {
    let d = tmpdir("somatic", "resources");
    // tumour-only: a panel listing one spiked SNV, and a population resource listing another
    // as common
    let header = "##fileformat=VCFv4.2\n##contig=<ID=chr20>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    let pon = d.join("pon.vcf");
    std::fs::write(&pon, format!("{header}chr20\t10009429\t.\tA\tG\t.\t.\t.\n")).unwrap();
    let pop = d.join("pop.vcf");
    std::fs::write(
        &pop,
        format!("{header}chr20\t10000301\t.\tT\tA\t.\t.\tAF=0.45\n"),
    )
    .unwrap();
    let out = d.join("r.vcf").display().to_string();
    let (pon, pop) = (pon.display().to_string(), pop.display().to_string());
    let o = somatic(
        &out,
        &["--panel-of-normals", &pon, "--germline-resource", &pop],
    );
    assert!(o.status.success(), "{}", stderr_of(&o));
    let recs = records(&out);
    let at = |p: &str| recs.iter().find(|r| r[1] == p).unwrap().clone();
    assert!(at("10009429")[6].contains("PanelOfNormals"));
    let common = at("10000301");
    assert!(
        common[6].contains("Germline") && common[7].contains("POPAF=0.45"),
        "{common:?}"
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let d = tmpdir("somatic", "errors");
    let out = d.join("x.vcf").display().to_string();
    let t = td("somatic/tumor.bam");
    let n = td("somatic/normal.bam");
    let check = |o: Output, want: &str| {
        assert!(!o.status.success());
        let e = stderr_of(&o);
        assert!(e.contains(want), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    };
    check(
        somatic(&out, &["--normal", &t]),
        "--tumor and --normal are the same file",
    );
    let link = d.join("same.bam");
    std::os::unix::fs::symlink(&t, &link).unwrap();
    std::os::unix::fs::symlink(format!("{t}.bai"), d.join("same.bam.bai")).unwrap();
    check(
        somatic(&out, &["--normal", &link.display().to_string()]),
        "same file",
    );
    check(
        somatic(
            &out,
            &[
                "--normal",
                &n,
                "--tumor-sample",
                "S1",
                "--normal-sample",
                "S1",
            ],
        ),
        "the same sample name 'S1'",
    );
    // the HiFi reads are aligned to GRCh38: chr20 has another length
    check(
        somatic(&out, &["--normal", &td("hifi/reads.bam")]),
        "reference",
    );
    let r = td("ref.fa.gz");
    check(
        callvar(&[
            "somatic",
            "--ref",
            &r,
            "--tumor",
            &t,
            "--normal",
            &n,
            "--regions",
            "chr20:20000000-20010000",
            "-o",
            &out,
        ]),
        "no reads pass the filters over the regions called",
    );
    assert!(!std::path::Path::new(&out).exists(), "no partial output");
}
