//! End-to-end tests of `callvar train` on the bundled real data (testdata/: NA12878 reads over
//! chr20:10,000,000-10,020,000 with their GIAB truth). Training uses 2 kb chunks with every
//! 3rd held out, so the slice yields both training and validation examples in well under a
//! second per epoch. Derived inputs (renamed contigs, no genotypes, …) are written per test.
mod common;
use common::{callvar, stderr_of, td};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("train", name)
}

/// `callvar train` on the slice with `truth` for 2 epochs on the test grid, writing `out`;
/// `extra` flags appended.
fn train(truth: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--chunk-size",
        "2000",
        "--validation-every",
        "3",
        "--epochs",
        "2",
    ];
    args.extend_from_slice(extra);
    train_with_defaults(truth, out, &args)
}

/// `callvar train` on the slice with `truth`, writing `out`, with default flags but `extra`.
fn train_with_defaults(truth: &str, out: &Path, extra: &[&str]) -> Output {
    let (r, b, c) = (td("ref.fa.gz"), td("na12878.bam"), td("confident.bed"));
    let mut args = vec![
        "train",
        "--ref",
        &r,
        "--reads",
        &b,
        "--truth",
        truth,
        "--confident",
        &c,
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    callvar(&args)
}

fn sha256_hex(path: &str) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts a refused run: exit 1, one error line naming `what`, no model directory.
fn assert_refused(o: &Output, what: &str, out: &Path) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(o));
    let err = stderr_of(o);
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {err}");
    assert!(errors[0].starts_with("callvar: error: "), "{err}");
    assert!(errors[0].contains(what), "error should say {what}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(!out.exists(), "no model may be written: {}", out.display());
}

/// The slice's truth VCF as text.
fn truth_text() -> String {
    let o = Command::new("bgzip")
        .args(["-dc", &td("truth.vcf.gz")])
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

/// Writes `truth_text()` with each line passed through `edit` (`None` drops it) to `path`.
fn derive_truth(path: &Path, edit: impl Fn(&str) -> Option<String>) -> String {
    let text: String = truth_text()
        .lines()
        .filter_map(edit)
        .map(|l| l + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn card(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("card.json")).unwrap()).unwrap()
}

#[test]
fn trains_a_model_that_call_uses_and_records_it_portably() {
    let d = tmpdir("ok");
    let (dir1, dir2) = (d.join("a/slice"), d.join("b/slice"));
    let o = train(&td("truth.vcf.gz"), &dir1, &[]);
    let log = stderr_of(&o);
    assert!(o.status.success(), "{log}");
    assert!(dir1.join("model.ot").is_file());
    let c = card(&dir1);

    // examples: what the log reports is what the card records
    let n: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("training on "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("training line in the log");
    assert!(n >= 30, "{log}");
    assert_eq!(c["train_examples"], n);
    let v = &c["validation"];
    let held_out = v["examples"].as_u64().unwrap();
    assert!(held_out >= 10, "{v}");
    let counts: u64 = v["class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(counts, held_out);
    let (loss, acc) = (v["loss"].as_f64().unwrap(), v["accuracy"].as_f64().unwrap());
    assert!(loss.is_finite() && loss > 0.0, "{v}");
    assert!((0.0..=1.0).contains(&acc), "{v}");
    assert_eq!(c["epochs"], 2);
    assert_eq!(c["seed"], 1);
    assert_eq!(c["name"], "slice");

    // inputs: role, sample, file name (no folder) and SHA-256 of each file
    let inputs = c["inputs"].as_array().unwrap();
    let expect = [
        ("reference", "ref.fa.gz"),
        ("reads", "na12878.bam"),
        ("truth", "truth.vcf.gz"),
        ("confident", "confident.bed"),
    ];
    assert_eq!(inputs.len(), expect.len());
    for (input, (role, file)) in inputs.iter().zip(expect) {
        assert_eq!(input["role"], role);
        assert_eq!(input["sample"], 1);
        assert_eq!(input["file"], file);
        assert_eq!(input["sha256"], sha256_hex(&td(file)), "{file}");
    }
    assert_eq!(
        c["weights_sha256"],
        sha256_hex(dir1.join("model.ot").to_str().unwrap())
    );

    // regions: the merged confident BED of sample 1, and held-out chunks on the 2 kb grid
    let train_regions = c["train_regions"].as_array().unwrap();
    assert_eq!(train_regions.len(), 11, "{train_regions:?}");
    assert_eq!(train_regions[0], "sample1:chr20:10000847-10002407");
    let valid_regions = c["validation_regions"].as_array().unwrap();
    assert!(!valid_regions.is_empty());
    assert!(valid_regions.iter().all(|r| {
        let start: u64 = r
            .as_str()
            .unwrap()
            .rsplit([':', '-'])
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        ((start - 1) / 2000) % 3 == 2
    }));
    assert_eq!(c["excluded_regions"].as_array().unwrap().len(), 0);

    // no folder of this machine anywhere in the card: the same inputs elsewhere give the same
    // card and weights, byte for byte
    let text = std::fs::read_to_string(dir1.join("card.json")).unwrap();
    assert!(!text.contains(env!("CARGO_MANIFEST_DIR")), "{text}");
    assert!(!text.contains(d.to_str().unwrap()), "{text}");
    assert_eq!(
        c["created_by"],
        format!(
            "callvar {}: callvar train --ref ref.fa.gz --reads na12878.bam --truth truth.vcf.gz \
             --confident confident.bed --output slice --chunk-size 2000 --validation-every 3 \
             --epochs 2",
            env!("CARGO_PKG_VERSION")
        )
    );
    let o = train(&td("truth.vcf.gz"), &dir2, &[]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(
        std::fs::read_to_string(dir2.join("card.json")).unwrap(),
        text
    );
    assert_eq!(
        std::fs::read(dir2.join("model.ot")).unwrap(),
        std::fs::read(dir1.join("model.ot")).unwrap()
    );

    // `call --model DIR` uses it
    let r = td("ref.fa.gz");
    let b = td("na12878.bam");
    let o = callvar(&[
        "call",
        "--ref",
        &r,
        "--reads",
        &b,
        "--regions",
        "chr20:10000000-10020000",
        "-o",
        "-",
        "--quiet",
        "--model",
        dir1.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let vcf = String::from_utf8(o.stdout).unwrap();
    let sha = c["weights_sha256"].as_str().unwrap();
    assert!(
        vcf.contains(&format!(
            "##callvarModel=<ID=slice,Version=\"1\",SHA256=\"{sha}\">"
        )),
        "{vcf}"
    );
    assert!(vcf.lines().filter(|l| !l.starts_with('#')).count() > 20);
}

#[test]
fn exclude_refuses_candidates_and_an_exclude_over_everything_is_an_error() {
    let d = tmpdir("exclude");
    // the first 5.5 kb: 5 chunks (confident regions cut on the 2 kb grid) lie wholly inside
    // and are skipped; the candidates of the chunk across 10,005,500 are refused one by one
    let part = d.join("part.bed");
    std::fs::write(&part, "chr20\t10000000\t10005500\n").unwrap();
    let out = d.join("part");
    let o = train(
        &td("truth.vcf.gz"),
        &out,
        &["--exclude", part.to_str().unwrap()],
    );
    let log = stderr_of(&o);
    assert!(o.status.success(), "{log}");
    let refused: u64 = log
        .split(" candidates refused inside --exclude")
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("refused count in the log");
    assert!(refused > 0, "{log}");
    assert!(log.contains(", 5 chunks wholly inside it skipped"), "{log}");
    let c = card(&out);
    assert_eq!(c["excluded_regions"][0], "chr20:10000001-10005500");
    let exclude = c["inputs"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(exclude["role"], "exclude");
    assert_eq!(exclude["file"], "part.bed");
    assert!(exclude.get("sample").is_none(), "{exclude}");

    let all = d.join("all.bed");
    std::fs::write(&all, "chr20\t0\t63025520\n").unwrap();
    let out = d.join("all");
    let o = train(
        &td("truth.vcf.gz"),
        &out,
        &["--exclude", all.to_str().unwrap()],
    );
    assert_refused(
        &o,
        "na12878.bam: nothing to train on: every --confident region lies inside --exclude",
        &out,
    );
}

#[test]
fn truth_with_other_contig_names_is_an_error() {
    let d = tmpdir("contigs");
    let truth = derive_truth(&d.join("truth20.vcf"), |l| {
        Some(match l.strip_prefix("chr") {
            Some(record) => record.to_string(),
            None => l.replace("##contig=<ID=chr", "##contig=<ID="),
        })
    });
    let text = std::fs::read_to_string(&truth).unwrap();
    assert!(text.lines().any(|l| l.starts_with("20\t10000117\t")));
    assert!(!text.lines().any(|l| l.starts_with("chr20\t")));
    let out = d.join("model");
    let o = train(&truth, &out, &[]);
    assert_refused(
        &o,
        "truth20.vcf: no truth variant matched any candidate: contig names in truth (20) vs reads and reference (chr20)?",
        &out,
    );
}

#[test]
fn truth_without_genotypes_is_an_error() {
    let d = tmpdir("nogt");
    let truth = derive_truth(&d.join("nogt.vcf"), |l| {
        (!l.starts_with("##FORMAT")).then(|| l.split('\t').take(8).collect::<Vec<_>>().join("\t"))
    });
    let out = d.join("model");
    let o = train(&truth, &out, &[]);
    assert_refused(&o, "nogt.vcf: line ", &out);
    assert!(stderr_of(&o).contains("truth record without a GT"));
}

#[test]
fn labels_of_one_class_are_an_error() {
    // only the hom-alt truth records, and (nearly) no hom-ref examples kept: every example
    // would be labelled 2 copies
    let d = tmpdir("oneclass");
    let truth = derive_truth(&d.join("homalt.vcf"), |l| {
        let gt = l.split('\t').nth(9).unwrap_or("");
        (l.starts_with('#') || gt.starts_with("1/1") || gt.starts_with("1|1")).then(|| l.into())
    });
    let out = d.join("model");
    let o = train(&truth, &out, &["--homref-fraction", "1e-9"]);
    assert_refused(&o, "homalt.vcf: all ", &out);
    assert!(stderr_of(&o).contains("training examples are labelled 2 copies"));
}

#[test]
fn no_held_out_chunk_is_an_error() {
    // default grid: the slice lies in one 100 kb chunk, which is not a held-out one
    let d = tmpdir("novalid");
    let out = d.join("model");
    let o = train_with_defaults(&td("truth.vcf.gz"), &out, &[]);
    assert_refused(&o, "no validation examples", &out);
    assert!(stderr_of(&o).contains("lower --validation-every or --chunk-size"));
}

#[test]
fn out_of_range_numbers_are_usage_errors() {
    let d = tmpdir("usage");
    let out = d.join("model");
    for (flag, value, why) in [
        ("--batch-size", "0", "must be at least 1"),
        ("--epochs", "0", "must be at least 1"),
        ("--validation-every", "1", "must be at least 2"),
        ("--threads", "0", "must be at least 1"),
        ("--homref-fraction", "0", "must be above 0 and at most 1"),
        ("--homref-fraction", "1.5", "must be above 0 and at most 1"),
        ("--learning-rate", "NaN", "must be above 0 and at most 1"),
        ("--learning-rate", "-1e-3", "must be above 0 and at most 1"),
        ("--learning-rate", "1e300", "must be above 0 and at most 1"),
    ] {
        // `--flag=value`: a value starting with '-' is a value, not a flag
        let arg = format!("{flag}={value}");
        let o = train_with_defaults(&td("truth.vcf.gz"), &out, &[&arg]);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(&format!("invalid value '{value}' for '{flag}")) && err.contains(why),
            "{flag} {value}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists());
    }
}
