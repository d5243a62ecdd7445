//! Clinical deployment on real reads (testdata/: NA12878 chr20:10,000,000-10,020,000):
//! clinical region gates and the not-callable BED on a coverage hole and a low-MAPQ patch
//! made inside the test, its independence from --threads and --chunk-size, the run
//! manifest (digest, checksums, samtools dict M5), the HTML reports, and the refusals.
mod common;
use common::td;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
const REGION: &str = "chr20:10000000-10020000";
/// Reads starting in [HOLE_FROM, HOLE_TO) are dropped: the 2 kb before HOLE_TO loses all
/// coverage (reads are at most 101 bp).
const HOLE_FROM: u64 = 10_004_900;
const HOLE_TO: u64 = 10_007_000;
/// Reads starting in [LOWQ_FROM, LOWQ_TO) get MAPQ 3 (under the default --min-mapq 5).
const LOWQ_FROM: u64 = 10_012_000;
const LOWQ_TO: u64 = 10_013_000;
/// The clinical BED: three "exons"; B holds the hole, C the low-MAPQ patch, D reaches past
/// the called region.
const CLINICAL: &str = "chr20\t10001000\t10003000\tGENE_A_ex1\n\
chr20\t10004000\t10008000\tGENE_B_ex2\n\
chr20\t10011500\t10013500\tGENE_C_ex3\n\
chr20\t10019500\t10020500\tGENE_D_ex4\n";

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("clinical", name)
}

fn sh(script: &str) -> String {
    let o = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// testdata/na12878.bam with the hole and the low-MAPQ patch, indexed, and the clinical
/// BED; made once per test process.
fn inputs() -> &'static (PathBuf, PathBuf) {
    static INPUTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let d = tmpdir("inputs");
        let bam = d.join("hole.bam");
        sh(&format!(
            "samtools view -h {src} | awk -F'\\t' -v OFS='\\t' '/^@/ {{ print; next }} \
             $4 >= {HOLE_FROM} && $4 < {HOLE_TO} {{ next }} \
             $4 >= {LOWQ_FROM} && $4 < {LOWQ_TO} {{ $5 = 3 }} {{ print }}' \
             | samtools view -b -o {bam} - && samtools index {bam}",
            src = td("na12878.bam"),
            bam = bam.display()
        ));
        let bed = d.join("clinical.bed");
        std::fs::write(&bed, CLINICAL).unwrap();
        (bam, bed)
    })
}

fn callvar(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "callvar failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `callvar call` on the derived BAM over REGION into `dir/NAME.vcf.gz`, with `extra`.
fn call(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    call_reads(&inputs().0, dir, name, extra)
}

/// The same on `reads`.
fn call_reads(reads: &Path, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.vcf.gz"));
    let (r, b, o) = (
        td("ref.fa.gz"),
        reads.display().to_string(),
        out.display().to_string(),
    );
    let mut args = vec![
        "call",
        "--ref",
        &r,
        "--reads",
        &b,
        "--regions",
        REGION,
        "-o",
        &o,
    ];
    args.extend_from_slice(extra);
    ok(callvar(&args));
    out
}

fn clinical_flags() -> Vec<String> {
    vec![
        "--clinical-regions".into(),
        inputs().1.display().to_string(),
    ]
}

/// Data lines of a VCF.
fn records(vcf: &Path) -> Vec<Vec<String>> {
    sh(&format!("bcftools view -H {}", vcf.display()))
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

/// The not-callable BED's data lines as (start, end, reason, min, max, regions).
fn bed_rows(path: &Path) -> Vec<(u64, u64, String, String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f[0], "chr20");
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].to_string(),
                f[4].to_string(),
                f[5].to_string(),
                f[6].to_string(),
            )
        })
        .collect()
}

/// 0-based positions in [start, end) where `samtools depth` (deletions counted, MAPQ >= 5,
/// supplementary, duplicate, secondary and QC-fail reads dropped: callvar's read filters)
/// is below `min`, as runs.
fn samtools_low_runs(start: u64, end: u64, min: u32, min_mapq: u32) -> Vec<(u64, u64)> {
    let text = sh(&format!(
        "samtools depth -a -J -Q {min_mapq} -G 0x800 -r chr20:{}-{end} {}",
        start + 1,
        inputs().0.display()
    ));
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let (p, d): (u64, u32) = (f[1].parse::<u64>().unwrap() - 1, f[2].parse().unwrap());
        if d >= min {
            continue;
        }
        match runs.last_mut() {
            Some(r) if r.1 == p => r.1 = p + 1,
            _ => runs.push((p, p + 1)),
        }
    }
    runs
}

#[test]
fn coverage_hole_and_low_mapq_patch_are_reported_and_calls_gated() {
    let d = tmpdir("hole");
    let plain = call(&d, "plain", &["--quiet"]);
    let flags = clinical_flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push("--quiet");
    let gated = call(&d, "gated", &args);
    let bed = d.join("gated.not_callable.bed");
    let rows = bed_rows(&bed);
    // GENE_B: the hole, exactly where samtools depth finds fewer than 20 reads
    let hole: Vec<(u64, u64)> = rows
        .iter()
        .filter(|r| r.5 == "GENE_B_ex2")
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(hole, samtools_low_runs(10_004_000, 10_008_000, 20, 5));
    assert_eq!(hole, vec![(10_004_944, 10_007_037)]);
    let b = rows.iter().find(|r| r.5 == "GENE_B_ex2").unwrap();
    assert_eq!((b.2.as_str(), b.3.as_str()), ("low_depth", "0"));
    assert!(b.0 <= HOLE_TO - 2000 && b.1 >= HOLE_TO);
    // GENE_C: below the gate only because MAPQ 3 reads do not count
    let c: Vec<&(u64, u64, String, String, String, String)> =
        rows.iter().filter(|r| r.5 == "GENE_C_ex3").collect();
    let low_mapq: Vec<(u64, u64)> = c
        .iter()
        .filter(|r| r.2 == "low_mapq")
        .map(|r| (r.0, r.1))
        .collect();
    assert!(!low_mapq.is_empty(), "{c:?}");
    let all_c: Vec<(u64, u64)> = c.iter().map(|r| (r.0, r.1)).collect();
    let merged = all_c
        .iter()
        .fold(Vec::<(u64, u64)>::new(), |mut v, &(s, e)| {
            match v.last_mut() {
                Some(l) if l.1 == s => l.1 = e,
                _ => v.push((s, e)),
            }
            v
        });
    assert_eq!(merged, samtools_low_runs(10_011_500, 10_013_500, 20, 5));
    // with MAPQ 0 reads counted, the low_mapq bases reach the gate
    for (s, e) in &low_mapq {
        let lowered = samtools_low_runs(*s, *e, 20, 0);
        assert!(lowered.is_empty(), "{s}-{e}: {lowered:?}");
    }
    // GENE_D: past the called region, not called; GENE_A fully callable
    assert!(rows.contains(&(
        10_020_000,
        10_020_500,
        "not_called".into(),
        ".".into(),
        ".".into(),
        "GENE_D_ex4".into()
    )));
    assert!(rows.iter().all(|r| r.5 != "GENE_A_ex1"));
    // calls: identical but for FILTER; inside the BED a variant genotype with GQ < 20 or
    // DP < 20 is ClinicalGate, nothing else is
    let header = sh(&format!("bcftools view -h {}", gated.display()));
    assert!(header.contains("##FILTER=<ID=ClinicalGate,Description=\"Variant genotype inside the --clinical-regions with GQ below 20 or depth below 20\">"));
    let (p, g) = (records(&plain), records(&gated));
    assert_eq!(p.len(), g.len());
    let clinical = [
        (10_001_000u64, 10_003_000u64),
        (10_004_000, 10_008_000),
        (10_011_500, 10_013_500),
        (10_019_500, 10_020_500),
    ];
    let (mut n_gated, mut n_pass_inside) = (0, 0);
    for (a, b) in p.iter().zip(&g) {
        assert_eq!(a[..6], b[..6]);
        assert_eq!(a[7..], b[7..]);
        let pos: u64 = a[1].parse::<u64>().unwrap() - 1;
        let end = pos + a[3].len() as u64;
        let inside = clinical.iter().any(|&(s, e)| pos < e && end > s);
        let fmt: Vec<&str> = a[9].split(':').collect();
        let (gq, dp): (u32, u32) = (fmt[1].parse().unwrap(), fmt[2].parse().unwrap());
        let should = inside && a[6] != "RefCall" && (gq < 20 || dp < 20);
        let expect = match (should, a[6].as_str()) {
            (false, f) => f.to_string(),
            (true, "PASS") => "ClinicalGate".to_string(),
            (true, f) => format!("{f};ClinicalGate"),
        };
        assert_eq!(b[6], expect, "{}", a.join("\t"));
        n_gated += usize::from(should);
        n_pass_inside += usize::from(inside && b[6] == "PASS");
    }
    assert!(
        n_gated >= 3 && n_pass_inside >= 3,
        "{n_gated} {n_pass_inside}"
    );
}

#[test]
fn not_callable_bed_does_not_depend_on_threads_or_chunks() {
    let d = tmpdir("threads");
    let flags = clinical_flags();
    let mut beds = Vec::new();
    for (name, extra) in [
        ("t1", vec!["--threads", "1"]),
        ("t2", vec!["--threads", "2", "--chunk-size", "1000"]),
        ("t2b", vec!["--threads", "2", "--chunk-size", "3000"]),
    ] {
        let bed = d.join(format!("{name}.bed"));
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        let b = bed.display().to_string();
        args.extend(["--not-callable", &b, "--quiet"]);
        args.extend(extra);
        let vcf = call(&d, name, &args);
        beds.push((std::fs::read(&bed).unwrap(), records(&vcf)));
    }
    assert!(bed_rows(&d.join("t1.bed")).len() >= 3);
    for b in &beds[1..] {
        assert!(b.0 == beds[0].0, "not-callable BED differs");
        assert_eq!(b.1, beds[0].1);
    }
}

/// A JSON value by path (`a.b.0.c`).
fn at<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

fn sha256sum(path: &Path) -> String {
    sh(&format!("sha256sum {}", path.display()))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn manifest_records_inputs_and_outputs_and_the_vcf_names_it() {
    let d = tmpdir("manifest");
    let m = d.join("run.json");
    let rep = d.join("report.html");
    let flags = clinical_flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (ms, rs) = (m.display().to_string(), rep.display().to_string());
    args.extend(["--manifest", &ms, "--report", &rs, "--threads", "2"]);
    let vcf = call(&d, "calls", &args);
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    // the VCF header names the manifest by the digest of its inputs part, which python's
    // json module reproduces from the file
    let digest = j["inputs_sha256"].as_str().unwrap();
    let header = sh(&format!("bcftools view -h {}", vcf.display()));
    assert!(header.contains(&format!("##callvarManifestSHA256={digest}\n")));
    let py = sh(&format!(
        "python3 -c 'import json,hashlib,sys; i=json.load(open(sys.argv[1]))[\"inputs\"]; \
         print(hashlib.sha256(json.dumps(i,sort_keys=True,separators=(\",\",\":\"),ensure_ascii=False).encode()).hexdigest())' {}",
        m.display()
    ));
    assert_eq!(py.trim(), digest);
    // reference: per-contig M5 as samtools dict writes it; file MD5 as the header's
    let dict = sh(&format!("samtools dict {}", td("ref.fa.gz")));
    let m5: BTreeMap<String, String> = dict
        .lines()
        .filter(|l| l.starts_with("@SQ"))
        .map(|l| {
            let f = |t: &str| {
                l.split('\t')
                    .find_map(|x| x.strip_prefix(t))
                    .unwrap()
                    .to_string()
            };
            (f("SN:"), f("M5:"))
        })
        .collect();
    let contigs = at(&j, "inputs.reference.contigs").as_array().unwrap();
    assert_eq!(contigs.len(), m5.len());
    for c in contigs {
        assert_eq!(
            c["md5"].as_str(),
            Some(m5[c["name"].as_str().unwrap()].as_str())
        );
    }
    assert_eq!(at(&j, "inputs.reference.contigs.0.length"), 63_025_520);
    let ref_md5 = sh(&format!("md5sum {}", td("ref.fa.gz")));
    assert_eq!(
        at(&j, "inputs.reference.md5").as_str(),
        ref_md5.split(' ').next()
    );
    assert!(header.contains(&format!(
        "##callvarReferenceMD5={}",
        at(&j, "inputs.reference.md5").as_str().unwrap()
    )));
    // reads: header digest, size, index checksum; the whole file only with --hash-inputs
    let (bam, bed) = inputs();
    let reads = at(&j, "inputs.reads.0");
    let samtools_header = sh(&format!("samtools view -H --no-PG {}", bam.display()));
    let header_sha = sh(&format!(
        "samtools view -H --no-PG {} | sha256sum",
        bam.display()
    ));
    assert!(!samtools_header.is_empty());
    assert_eq!(
        reads["header_sha256"].as_str(),
        header_sha.split(' ').next()
    );
    assert_eq!(reads["bytes"], std::fs::metadata(bam).unwrap().len());
    let bai = PathBuf::from(format!("{}.bai", bam.display()));
    assert_eq!(reads["index"]["sha256"].as_str().unwrap(), sha256sum(&bai));
    assert!(reads.get("sha256").is_none());
    assert_eq!(
        at(&j, "inputs.files.--clinical-regions.sha256")
            .as_str()
            .unwrap(),
        sha256sum(bed)
    );
    // software, model, every parameter with its source
    assert_eq!(at(&j, "inputs.software.version"), env!("CARGO_PKG_VERSION"));
    assert!(at(&j, "inputs.software.libtorch")
        .as_str()
        .unwrap()
        .starts_with("2.11.0"));
    let card = sha256sum(Path::new(&format!(
        "{}/models/illumina-wgs/card.json",
        env!("CARGO_MANIFEST_DIR")
    )));
    assert_eq!(at(&j, "inputs.model.card_sha256").as_str().unwrap(), card);
    assert_eq!(
        at(&j, "model_card.weights_sha256"),
        at(&j, "inputs.model.weights_sha256")
    );
    assert_eq!(at(&j, "model_card.name"), "illumina-wgs");
    let params = at(&j, "inputs.parameters");
    // thresholds come from the preset / model card unless given: the flag is "not given",
    // the value in effect is in `resolved.pileup`
    assert_eq!(params["--min-mapq"]["source"], "not given");
    assert_eq!(at(&j, "inputs.resolved.pileup.min_mapq"), 5);
    assert_eq!(at(&j, "inputs.resolved.pileup.preset"), "illumina");
    assert_eq!(params["--threads"]["value"], "2");
    assert_eq!(params["--threads"]["source"], "command line");
    assert_eq!(params["--clinical-min-gq"]["value"], "20");
    assert_eq!(at(&j, "inputs.device"), "cpu");
    assert_eq!(at(&j, "inputs.resolved.sample"), "NA12878");
    // outputs: every file with the checksum of its final bytes
    let outputs = j["outputs"].as_array().unwrap();
    let flags: Vec<&str> = outputs
        .iter()
        .map(|o| o["flag"].as_str().unwrap())
        .collect();
    assert_eq!(
        flags,
        ["--output", "--output", "--not-callable", "--report"]
    );
    for o in outputs {
        let p = PathBuf::from(o["path"].as_str().unwrap());
        assert_eq!(
            o["sha256"].as_str().unwrap(),
            sha256sum(&p),
            "{}",
            p.display()
        );
        assert_eq!(o["bytes"], std::fs::metadata(&p).unwrap().len());
    }
    assert_eq!(
        at(&j, "run.counts.records").as_u64().unwrap() as usize,
        records(&vcf).len()
    );
    assert!(at(&j, "run.start").as_str().unwrap() <= at(&j, "run.end").as_str().unwrap());
    // the same command again: the same digest and the same VCF bytes (host and times
    // are outside the digest)
    let vcf_sha = sha256sum(&vcf);
    call(&d, "calls", &args);
    let k: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(k["inputs_sha256"], j["inputs_sha256"]);
    assert_eq!(sha256sum(&vcf), vcf_sha);
    // --hash-inputs: the reads and reference files hashed whole
    let h = d.join("hashed.json");
    let hs = h.display().to_string();
    call(
        &d,
        "hashed",
        &["--manifest", &hs, "--hash-inputs", "--quiet"],
    );
    let k: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&h).unwrap()).unwrap();
    assert_eq!(
        at(&k, "inputs.reads.0.sha256").as_str().unwrap(),
        sha256sum(bam)
    );
    let ref_sha = sha256sum(Path::new(&td("ref.fa.gz")));
    assert_eq!(at(&k, "inputs.reference.sha256").as_str().unwrap(), ref_sha);
    assert_ne!(k["inputs_sha256"], j["inputs_sha256"]);
    // the report shows the clinical gaps and the provenance
    let html = std::fs::read_to_string(&rep).unwrap();
    for s in [
        "GENE_B_ex2",
        "low_mapq",
        "ClinicalGate",
        digest,
        "<svg",
        "Ti/Tv",
    ] {
        assert!(html.contains(s), "report lacks {s}");
    }
}

#[test]
fn reports_are_self_contained_html() {
    let d = tmpdir("report");
    let rep = d.join("call.html");
    let r = rep.display().to_string();
    let bam = PathBuf::from(td("na12878.bam"));
    let vcf = call_reads(&bam, &d, "calls", &["--report", &r, "--quiet"]);
    let html = std::fs::read_to_string(&rep).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // every chart inline; nothing fetched: no scripts, links, images or URLs
    let svgs = html.matches("<svg ").count();
    assert_eq!(
        svgs, 8,
        "charts: FILTER counts, depth, VAF, GQ, tier counts, VAF per tier, Ti/Tv, indel lengths"
    );
    assert_eq!(svgs, html.matches("</svg>").count());
    let bare = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for s in [
        "<script", "<link", "<img", "http://", "https://", "url(", "@import",
    ] {
        assert!(!bare.contains(s), "{s}");
    }
    // the counts shown are the VCF's
    let recs = records(&vcf);
    let pass = recs.iter().filter(|r| r[6] == "PASS").count();
    assert!(
        html.contains(&format!("<b>{pass}</b><span>PASS records</span>")),
        "{pass}"
    );
    assert!(html.contains(&format!("<b>{}</b><span>records</span>", recs.len())));
    let tier1 = recs
        .iter()
        .filter(|r| r[6] == "PASS" && r[7].split(';').any(|f| f == "TIER=1"))
        .count();
    assert!(tier1 > 0);
    assert!(
        html.contains(&format!("<b>{tier1}</b><span>PASS calls in Tier 1</span>")),
        "{tier1}"
    );
    assert!(html.contains("VAF per tier (PASS)"));
    // eval --report: precision-recall curves for all variants and each stratum, the gate
    let e = d.join("eval.html");
    let strat = d.join("first5kb.bed");
    std::fs::write(&strat, "chr20\t10000000\t10005000\n").unwrap();
    let o = ok(callvar(&[
        "eval",
        "--ref",
        &td("ref.fa.gz"),
        "--truth",
        &td("truth.vcf.gz"),
        "--calls",
        &vcf.display().to_string(),
        "--confident",
        &td("confident.bed"),
        "--stratify",
        &format!("first5kb={}", strat.display()),
        "--min-f1",
        "SNP=0.95,INDEL=0.5",
        "--report",
        &e.display().to_string(),
    ]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("first5kb"));
    let html = std::fs::read_to_string(&e).unwrap();
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains("Precision-recall: all") && html.contains("Precision-recall: first5kb"));
    assert!(html.contains("<b>met</b><span>gate (2 rows)</span>"));
    assert!(html.contains("<polyline") && html.contains("best F1"));
    assert!(html.contains("##source=callvar") || html.contains("callvar 0."));
}

#[test]
fn clinical_and_side_output_refusals() {
    let d = tmpdir("refusals");
    let (bam, bed) = inputs();
    let (r, b, c) = (
        td("ref.fa.gz"),
        bam.display().to_string(),
        bed.display().to_string(),
    );
    let base = ["call", "--ref", &r, "--reads", &b, "--regions", REGION];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        callvar(&a)
    };
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).trim().to_string();
    // gate flags without the regions: usage errors
    let o = run(&["-o", "-", "--not-callable", "x.bed"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = run(&["-o", "-", "--clinical-min-gq", "20"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = run(&["-o", "-", "--hash-inputs"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = run(&[
        "-o",
        "-",
        "--clinical-regions",
        &c,
        "--clinical-min-gq",
        "100",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    // a streamed VCF needs the BED named
    let o = run(&["-o", "-", "--clinical-regions", &c]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "callvar: error: --clinical-regions: the VCF goes to a stream; name the not-callable BED with --not-callable"
    );
    // a BED on another reference, an output naming an input, two outputs on one file,
    // '-' for a side output: refused before anything is written
    let other = d.join("other.bed");
    std::fs::write(&other, "1\t100\t200\n").unwrap();
    let out = d.join("x.vcf.gz").display().to_string();
    let o = run(&[
        "-o",
        &out,
        "--clinical-regions",
        &other.display().to_string(),
    ]);
    assert_eq!(
        err(&o),
        format!(
            "callvar: error: {}: contig '1' not in the reference",
            other.display()
        )
    );
    let o = run(&["-o", &out, "--clinical-regions", &c, "--not-callable", &c]);
    let want = format!("--not-callable names an input file ({c}); refusing to overwrite it");
    assert!(err(&o).ends_with(&want), "{}", err(&o));
    let same = d.join("same").display().to_string();
    let o = run(&["-o", &out, "--report", &same, "--manifest", &same]);
    assert_eq!(
        err(&o),
        format!("callvar: error: {same}: named by both --report and --manifest")
    );
    let o = run(&["-o", &out, "--report", "-"]);
    assert_eq!(
        err(&o),
        "callvar: error: --report: '-' is not supported here; name a file"
    );
    let o = run(&["-o", &out, "--manifest", &d.display().to_string()]);
    assert!(err(&o).contains("is a directory"), "{}", err(&o));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o).lines().count(), 1);
    let left: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left, ["other.bed"], "nothing written by refused runs");
    // eval --report naming an input
    let o = callvar(&[
        "eval",
        "--ref",
        &r,
        "--truth",
        &td("truth.vcf.gz"),
        "--calls",
        &td("truth.vcf.gz"),
        "--report",
        &td("truth.vcf.gz"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("--report names an input file"),
        "{}",
        err(&o)
    );
}
