//! End-to-end tests of the `callvar` binary on real reads (testdata/: a slice of the shared
//! NA12878 Illumina data over chr20:10,000,000-10,020,000 with its GIAB truth).
mod common;
use common::{callvar, stderr_of, td};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
const REGION: &str = "chr20:10000000-10020000";

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("test", name)
}

/// `callvar call` on the bundled reference with `--regions region`, quietly.
fn call_region(region: &str, reads: &str, out: &str, extra: &[&str]) -> Output {
    let r = td("ref.fa.gz");
    let mut args = vec![
        "call",
        "--ref",
        &r,
        "--reads",
        reads,
        "--regions",
        region,
        "-o",
        out,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    callvar(&args)
}

fn call(reads: &str, out: &str, extra: &[&str]) -> Output {
    call_region(REGION, reads, out, extra)
}

/// VCF data lines (no header).
fn records(vcf_text: &str) -> Vec<String> {
    vcf_text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Calls the slice into `dir/calls.vcf.gz` with two threads, asserting success.
fn call_to_file(dir: &Path) -> PathBuf {
    let out = dir.join("calls.vcf.gz");
    let o = call(
        &td("na12878.bam"),
        out.to_str().unwrap(),
        &["--threads", "2"],
    );
    assert!(o.status.success(), "{}", stderr_of(&o));
    out
}

fn stdout_of(o: &Output) -> String {
    assert!(
        o.status.success(),
        "callvar failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn bam_and_cram_give_identical_records() {
    let bam = stdout_of(&call(&td("na12878.bam"), "-", &[]));
    let cram = stdout_of(&call(&td("na12878.cram"), "-", &[]));
    let (b, c) = (records(&bam), records(&cram));
    assert!(b.len() > 20, "expected calls in the slice, got {}", b.len());
    assert_eq!(b, c);
}

#[test]
fn thread_count_does_not_change_records() {
    let one = stdout_of(&call(
        &td("na12878.bam"),
        "-",
        &["--threads", "1", "--chunk-size", "5000"],
    ));
    let two = stdout_of(&call(
        &td("na12878.bam"),
        "-",
        &["--threads", "2", "--chunk-size", "5000"],
    ));
    assert_eq!(records(&one), records(&two));
    // and a different chunk layout gives the same records too
    let big = stdout_of(&call(
        &td("na12878.bam"),
        "-",
        &["--threads", "2", "--chunk-size", "100000"],
    ));
    assert_eq!(records(&one), records(&big));
}

#[test]
fn bgzipped_output_is_indexed_and_read_by_bcftools() {
    let d = tmpdir("bgzf");
    let out = call_to_file(&d);
    assert!(Path::new(&format!("{}.tbi", out.display())).is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the VCF and its index remain: {leftovers:?}"
    );
    // bcftools parses every record and can query by region through the index
    let v = Command::new("bcftools")
        .args(["view", "-H", "-r", "chr20:10000000-10010000"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "bcftools: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(!v.stdout.is_empty());
    let q = Command::new("bcftools")
        .args(["query", "-f", "%FILTER\t[%GT\t%GQ\t%DP\t%AD\t%VAF\t%PL]\n"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        q.status.success(),
        "bcftools: {}",
        String::from_utf8_lossy(&q.stderr)
    );
    let text = String::from_utf8(q.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("PASS\t0/1")));
    assert!(text.lines().all(|l| l.split('\t').count() == 7));
    // provenance header
    let h = Command::new("bcftools")
        .args(["view", "-h"])
        .arg(&out)
        .output()
        .unwrap();
    let h = String::from_utf8(h.stdout).unwrap();
    for key in [
        "##fileformat=VCFv4.3",
        "##source=callvar",
        "##callvarCommand=",
        "##callvarReferenceMD5=",
        "##callvarModel=<ID=illumina-wgs",
        "SHA256=",
    ] {
        assert!(h.contains(key), "header lacks {key}");
    }
    let md5 = Command::new("md5sum")
        .arg(td("ref.fa.gz"))
        .output()
        .unwrap();
    let md5 = String::from_utf8(md5.stdout).unwrap();
    assert!(h.contains(md5.split_whitespace().next().unwrap()));
}

#[test]
fn accuracy_on_na12878_slice_meets_the_bar() {
    let d = tmpdir("acc");
    let out = call_to_file(&d);
    let r = td("ref.fa.gz");
    let t = td("truth.vcf.gz");
    let c = td("confident.bed");
    let e = callvar(&[
        "eval",
        "--ref",
        &r,
        "--truth",
        &t,
        "--calls",
        out.to_str().unwrap(),
        "--confident",
        &c,
        "--json",
        "--min-f1",
        "SNP=0.99,INDEL=0.75",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&e.stdout).expect("eval --json");
    assert_eq!(
        e.status.code(),
        Some(0),
        "gate failed: {report} {}",
        stderr_of(&e)
    );
    assert!(report["SNP"]["tp"].as_u64().unwrap() >= 40, "{report}");
    assert!(report["SNP"]["f1"].as_f64().unwrap() >= 0.99);
    assert!(report["INDEL"]["f1"].as_f64().unwrap() >= 0.75);
}

#[test]
fn eval_agrees_with_published_deepvariant_numbers() {
    // DeepVariant's own output on the same reads scores SNP F1 0.977 (43 TP, 2 FN, 0 FP)
    // against this truth, as RTG vcfeval reports for it.
    // (testdata/ holds DeepVariant's published output for chr20:10,000,000-10,010,000)
    let dv = td("deepvariant.chr20_10000000-10010000.vcf");
    let r = td("ref.fa.gz");
    let t = td("truth.vcf.gz");
    let c = td("confident.bed");
    let e = callvar(&[
        "eval",
        "--ref",
        &r,
        "--truth",
        &t,
        "--calls",
        &dv,
        "--confident",
        &c,
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&e.stdout).expect("eval --json");
    assert_eq!(report["SNP"]["tp"], 43);
    assert_eq!(report["SNP"]["fn"], 2);
    assert_eq!(report["SNP"]["fp"], 0);
    assert_eq!(report["INDEL"]["tp"], 4);
    // the gate fails with exit code 3 and names the failing row
    let g = callvar(&[
        "eval",
        "--ref",
        &r,
        "--truth",
        &t,
        "--calls",
        &dv,
        "--confident",
        &c,
        "--min-f1",
        "SNP=0.999",
    ]);
    assert_eq!(g.status.code(), Some(3));
    assert!(stderr_of(&g).contains("SNP F1"));
}

/// Asserts a failed run: non-zero exit, one error line naming `what`, no output left.
fn assert_clean_failure(o: &Output, what: &str, out_dir: &Path) {
    assert!(!o.status.success());
    let err = stderr_of(o);
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(what), "error should name {what}: {err}");
    let left: Vec<_> = std::fs::read_dir(out_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with("out.vcf")),
        "output left behind: {left:?}"
    );
}

#[test]
fn bad_inputs_fail_cleanly() {
    let d = tmpdir("errors");
    let out = d.join("out.vcf.gz");
    let out = out.to_str().unwrap();
    let bam = td("na12878.bam");

    // missing index
    let noidx = d.join("noidx.bam");
    std::fs::copy(&bam, &noidx).unwrap();
    let o = call(noidx.to_str().unwrap(), out, &[]);
    assert_clean_failure(&o, "noidx.bam: no index", &d);

    // an index that merely looks older than its BAM (staged by copy) is accepted: the
    // content check, not the modification time, decides
    let copied = d.join("copied.bam");
    std::fs::copy(&bam, &copied).unwrap();
    std::fs::copy(td("na12878.bam.bai"), d.join("copied.bam.bai")).unwrap();
    let old = std::fs::File::options()
        .write(true)
        .open(d.join("copied.bam.bai"))
        .unwrap();
    old.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000))
        .unwrap();
    let o = call_region(
        "chr20:10000000-10001000",
        copied.to_str().unwrap(),
        out,
        &[],
    );
    assert!(o.status.success(), "{}", stderr_of(&o));
    std::fs::remove_file(out).unwrap();
    std::fs::remove_file(format!("{out}.tbi")).unwrap();

    // truncated BAM (index from the full file)
    let trunc = d.join("trunc.bam");
    let bytes = std::fs::read(&bam).unwrap();
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    let o = Command::new("samtools")
        .args(["index"])
        .arg(&bam)
        .arg(d.join("trunc.bam.bai"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = call(trunc.to_str().unwrap(), out, &[]);
    assert_clean_failure(&o, "trunc.bam", &d);

    // contigs that do not match the reference: the bundled reference with its contig
    // renamed (`20`, GRCh37 naming) against reads on `chr20`
    let renamed = d.join("renamed.fa");
    let fasta = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "zcat {} | sed '1s/^>chr20/>20/' > {}",
            td("ref.fa.gz"),
            renamed.display()
        ))
        .status()
        .unwrap();
    assert!(fasta.success());
    assert!(Command::new("samtools")
        .arg("faidx")
        .arg(&renamed)
        .status()
        .unwrap()
        .success());
    let g = renamed.to_str().unwrap();
    let o = callvar(&["call", "--ref", g, "--reads", &bam, "-o", out, "--quiet"]);
    assert_clean_failure(&o, "na12878.bam: contig", &d);

    // malformed and unknown regions
    for bad in ["chr20:5-1", "chr20:abc", "chr99:1-100"] {
        let o = call_region(bad, &bam, out, &[]);
        assert_clean_failure(&o, bad, &d);
    }

    // unknown model, and a model whose tensor layout differs
    let o = call(&bam, out, &["--model", "no-such-model"]);
    assert_clean_failure(&o, "unknown model 'no-such-model'", &d);
    let m = d.join("oldmodel");
    std::fs::create_dir_all(&m).unwrap();
    let card = std::fs::read_to_string(format!(
        "{}/models/illumina-wgs/card.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(m.join("card.json"), {
        let mut c: serde_json::Value = serde_json::from_str(&card).unwrap();
        c["tensor_layout_version"] = serde_json::json!(0);
        c.to_string()
    })
    .unwrap();
    std::fs::copy(
        format!(
            "{}/models/illumina-wgs/model.ot",
            env!("CARGO_MANIFEST_DIR")
        ),
        m.join("model.ot"),
    )
    .unwrap();
    let o = call(&bam, out, &["--model", m.to_str().unwrap()]);
    assert_clean_failure(&o, "tensor layout version 0", &d);

    // missing reference index
    let noref = d.join("ref.fa");
    std::fs::write(&noref, ">chr20\nACGT\n").unwrap();
    let o = callvar(&[
        "call",
        "--ref",
        noref.to_str().unwrap(),
        "--reads",
        &bam,
        "-o",
        out,
        "--quiet",
    ]);
    assert_clean_failure(&o, "ref.fa", &d);
}

#[test]
fn closed_stdout_exits_zero() {
    use std::io::Read;
    let r = td("ref.fa.gz");
    let bam = td("na12878.bam");
    let mut child = Command::new(BIN)
        // permissive candidate thresholds: far more output than a pipe buffer holds
        .args([
            "call",
            "--ref",
            &r,
            "--reads",
            &bam,
            "--regions",
            REGION,
            "-o",
            "-",
            "--quiet",
            "--min-alt-count",
            "1",
            "--min-snv-fraction",
            "0.01",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    out.read_exact(&mut buf).unwrap();
    drop(out); // like `| head -c 64`
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "status {status:?}, stderr {err}");
    assert!(err.is_empty(), "no error on a closed pipe: {err}");
}

#[test]
fn help_lists_every_command_and_flag() {
    let o = callvar(&["--help"]);
    let h = stdout_of(&o);
    // each subcommand on a line of its own in the Commands list, with its description
    for c in ["call", "train", "eval"] {
        assert!(
            h.lines()
                .any(|l| l.trim_start().starts_with(&format!("{c} "))),
            "--help lists no '{c}' command: {h}"
        );
    }
    let o = callvar(&["call", "--help"]);
    let h = stdout_of(&o);
    for f in [
        "--ref",
        "--reads",
        "--output",
        "--regions",
        "--regions-file",
        "--threads",
        "--device",
        "--model",
        "--sample",
        "--min-mapq",
        "--min-qual",
        "--quiet",
        "--verbose",
        "--pool-samples",
        "--gvcf",
        "--gvcf-gq-bands",
    ] {
        assert!(h.contains(f), "call --help lacks {f}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let bam = td("na12878.bam");
    let o = call(&bam, "-", &["--device", "gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("'gpu' is not auto, cpu, cuda or cuda:N"));
    let o = call(&bam, "-", &["--gvcf-gq-bands", "5,1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn scattered_shards_concatenate_to_the_whole() {
    // a Nextflow-style scatter: two shards split off the chunk grid, then concatenated
    let r = td("ref.fa.gz");
    let bam = td("na12878.bam");
    let run = |region: &str| records(&stdout_of(&call_region(region, &bam, "-", &[])));
    let mut parts = run("chr20:10000000-10007777");
    parts.extend(run("chr20:10007778-10020000"));
    assert_eq!(parts, run(REGION));
    // and a BED file with the same two shards gives the same records in one run
    let d = tmpdir("shards");
    let bed = d.join("shards.bed");
    std::fs::write(
        &bed,
        "chr20\t10007777\t10020000\nchr20\t9999999\t10007777\n",
    )
    .unwrap();
    let o = callvar(&[
        "call",
        "--ref",
        &r,
        "--reads",
        &bam,
        "--regions-file",
        bed.to_str().unwrap(),
        "-o",
        "-",
        "--quiet",
    ]);
    assert_eq!(records(&stdout_of(&o)), parts);
}

#[test]
fn shared_inference_queue_and_batch_size_leave_records_unchanged() {
    // the GPU path (one inference thread per device fed by a bounded queue), exercised on
    // CPU: any batch size, any thread count, the same records as per-worker scoring
    let base = stdout_of(&call(&td("na12878.bam"), "-", &[]));
    for extra in [
        &["--shared-scorer"][..],
        &["--shared-scorer", "--threads", "2", "--batch-size", "7"],
        &["--batch-size", "1"],
    ] {
        let o = stdout_of(&call(&td("na12878.bam"), "-", extra));
        assert_eq!(records(&o), records(&base), "{extra:?}");
        assert!(records(&o).len() > 100);
    }
    // several devices must all be CUDA devices, each named once
    for bad in ["cuda:0,cpu", "cuda:0,cuda:0"] {
        let o = call(&td("na12878.bam"), "-", &["--device", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}
