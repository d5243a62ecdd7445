//! Long reads: platform presets, their resolution against the model card and explicit flags,
//! and the bundled `pacbio-hifi` model. Real data only: the NA12878 Illumina slice and
//! testdata/hifi/, real HG002 PacBio Revio HiFi reads over GRCh38 chr20:9,076,000-9,084,000
//! with their GIAB truth (made by benches/make_hifi_slice.sh).
mod common;
use common::{callvar, stderr_of, td};
use std::process::Output;

const REGION: &str = "chr20:10000000-10020000";
/// Records on the Illumina slice with the Illumina preset, with the hifi thresholds and with
/// the ont ones (higher fractions: fewer candidates). The Illumina preset realigns by default
/// (114 records with `--no-realign`: local assembly removes artefact candidates).
const RECORDS_DEFAULT: usize = 109;
const RECORDS_HIFI: usize = 107;
const RECORDS_ONT: usize = 102;
/// `callvar eval` counts (SNP TP, FN, FP, INDEL TP, FN, FP) on testdata/hifi (41 SNPs and 7
/// indels in the BED): pacbio-hifi calls them all; the Illumina model adds a false indel.
const HIFI_SLICE_COUNTS: [u64; 6] = [41, 0, 0, 7, 0, 0];
const HIFI_SLICE_ILLUMINA_COUNTS: [u64; 6] = [41, 0, 0, 7, 0, 1];
/// pacbio-hifi on the Illumina slice (45 SNPs, 4 indels; the Illumina model gets all):
/// SNPs all right, one indel genotype wrong (it is not a short-read model).
const SHORT_READ_COUNTS: [u64; 6] = [45, 0, 0, 3, 1, 1];

fn hifi(name: &str) -> String {
    td(&format!("hifi/{name}"))
}

/// `callvar call -v` on the Illumina slice to stdout with `extra` flags.
fn call_illumina(extra: &[&str]) -> Output {
    let mut flags = vec!["-v"];
    flags.extend_from_slice(extra);
    common::call_testdata("ref.fa.gz", "na12878.bam", REGION, "-", &flags)
}

/// The `callvar: model …; preset=…` line of a `-v` run.
fn settings_line(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr_of(o));
    let err = stderr_of(o);
    err.lines()
        .find(|l| l.starts_with("callvar: model "))
        .unwrap_or_else(|| panic!("no settings line: {err}"))
        .to_string()
}

/// The VCF records (no header) of a run that wrote to stdout.
fn records(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn preset_sets_thresholds_and_flags_override_it() {
    let default = call_illumina(&[]);
    assert_eq!(
        settings_line(&default),
        "callvar: model illumina-wgs (embedded); preset=illumina,min_mapq=5,min_base_qual=10,\
min_alt_count=2,min_snv_fraction=0.1,min_indel_fraction=0.06,repeat_indel_fraction=0,\
keep_supplementary=false,keep_duplicates=false"
    );
    // --preset hifi alone: the hifi thresholds and the model it names
    let h = call_illumina(&["--preset", "hifi"]);
    assert_eq!(
        settings_line(&h),
        "callvar: model pacbio-hifi (embedded); preset=hifi,min_mapq=5,min_base_qual=10,\
min_alt_count=2,min_snv_fraction=0.12,min_indel_fraction=0.12,repeat_indel_fraction=0.01,\
keep_supplementary=false,keep_duplicates=false"
    );
    // explicit flags win over the preset, each on its own
    let o = call_illumina(&[
        "--preset",
        "hifi",
        "--min-indel-fraction",
        "0.3",
        "--min-mapq",
        "20",
        "--keep-duplicates",
    ]);
    assert_eq!(
        settings_line(&o),
        "callvar: model pacbio-hifi (embedded); preset=hifi,min_mapq=20,min_base_qual=10,\
min_alt_count=2,min_snv_fraction=0.12,min_indel_fraction=0.3,repeat_indel_fraction=0.01,\
keep_supplementary=false,keep_duplicates=true"
    );
    // the Illumina model with the hifi thresholds proposes fewer candidates on short reads
    let i = call_illumina(&["--preset", "hifi", "--model", "illumina-wgs"]);
    assert!(settings_line(&i).starts_with("callvar: model illumina-wgs (embedded); preset=hifi,"));
    assert_eq!(
        (records(&default).len(), records(&i).len()),
        (RECORDS_DEFAULT, RECORDS_HIFI)
    );
}

#[test]
fn model_card_alone_applies_its_preset() {
    // --model pacbio-hifi alone: the card's hifi preset, the same calls as --preset hifi
    let by_model = call_illumina(&["--model", "pacbio-hifi"]);
    let by_preset = call_illumina(&["--preset", "hifi"]);
    assert!(settings_line(&by_model).contains("; preset=hifi,min_mapq=5,"));
    assert_eq!(settings_line(&by_model), settings_line(&by_preset));
    assert_eq!(records(&by_model), records(&by_preset));
    // --preset overrides the card; flags override both
    let o = call_illumina(&["--model", "pacbio-hifi", "--preset", "illumina"]);
    assert!(settings_line(&o).starts_with(
        "callvar: model pacbio-hifi (embedded); preset=illumina,min_mapq=5,min_base_qual=10,\
min_alt_count=2,min_snv_fraction=0.1,min_indel_fraction=0.06,repeat_indel_fraction=0,"
    ));
    let o = call_illumina(&["--model", "pacbio-hifi", "--repeat-indel-fraction", "0"]);
    assert!(settings_line(&o).contains(",min_indel_fraction=0.12,repeat_indel_fraction=0,"));
}

#[test]
fn bad_preset_values_are_one_line_errors() {
    // a value out of range on the command line: usage error naming the flag
    let o = call_illumina(&["--repeat-indel-fraction", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("--repeat-indel-fraction"));
    let o = call_illumina(&["--preset", "sanger"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("possible values: illumina, hifi, ont"));
    // a model card holding an out-of-range value: one error line naming the card
    let d = common::tmpdir("longread", "badcard");
    let src = format!("{}/models/pacbio-hifi", env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(format!("{src}/model.ot"), d.join("model.ot")).unwrap();
    let card = std::fs::read_to_string(format!("{src}/card.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&card).unwrap();
    json["pileup"]["min_snv_fraction"] = serde_json::json!(1.5);
    std::fs::write(d.join("card.json"), json.to_string()).unwrap();
    let o = call_illumina(&["--model", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let err = stderr_of(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(": card.json pileup: min_snv_fraction 1.5 is not a fraction between 0 and 1"),
        "{err}"
    );
    // an unknown model name lists the built-in ones
    let o = call_illumina(&["--model", "nanopore-r9"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    assert!(
        stderr_of(&o).contains(
            "unknown model 'nanopore-r9': not a model directory (card.json + model.ot) nor a \
known model name (illumina-wgs, pacbio-hifi, ont-r10)"
        ),
        "{}",
        stderr_of(&o)
    );
}

#[test]
fn ont_preset_selects_the_ont_model() {
    let o = call_illumina(&["--preset", "ont"]);
    assert_eq!(
        settings_line(&o),
        "callvar: model ont-r10 (embedded); preset=ont,min_mapq=5,min_base_qual=10,\
min_alt_count=2,min_snv_fraction=0.15,min_indel_fraction=0.15,repeat_indel_fraction=0.015,\
keep_supplementary=false,keep_duplicates=false"
    );
    assert_eq!(records(&o).len(), RECORDS_ONT);
}

/// `callvar eval --json` of `calls` against `truth` in `bed`: (SNP tp, fn, fp, INDEL tp, fn, fp).
fn eval_counts(reference: &str, truth: &str, bed: &str, calls: &str) -> [u64; 6] {
    let o = callvar(&[
        "eval",
        "--ref",
        reference,
        "--truth",
        truth,
        "--calls",
        calls,
        "--confident",
        bed,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = |t: &str, k: &str| m[t][k].as_u64().unwrap();
    [
        n("SNP", "tp"),
        n("SNP", "fn"),
        n("SNP", "fp"),
        n("INDEL", "tp"),
        n("INDEL", "fn"),
        n("INDEL", "fp"),
    ]
}

#[test]
fn pacbio_hifi_model_calls_real_hifi_reads() {
    let d = common::tmpdir("longread", "hifi");
    let out = d.join("hifi.vcf.gz");
    let o = callvar(&[
        "call",
        "--ref",
        &hifi("ref.fa.gz"),
        "--reads",
        &hifi("reads.bam"),
        "--model",
        "pacbio-hifi",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let counts = eval_counts(
        &hifi("ref.fa.gz"),
        &hifi("truth.vcf.gz"),
        &hifi("confident.bed"),
        out.to_str().unwrap(),
    );
    assert_eq!(counts, HIFI_SLICE_COUNTS);
    // the Illumina model on the same reads, for contrast: homopolymer errors become indels
    let base = d.join("illumina.vcf.gz");
    let o = callvar(&[
        "call",
        "--ref",
        &hifi("ref.fa.gz"),
        "--reads",
        &hifi("reads.bam"),
        "-o",
        base.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let illumina = eval_counts(
        &hifi("ref.fa.gz"),
        &hifi("truth.vcf.gz"),
        &hifi("confident.bed"),
        base.to_str().unwrap(),
    );
    assert_eq!(illumina, HIFI_SLICE_ILLUMINA_COUNTS);
}

#[test]
fn pacbio_hifi_model_runs_on_short_reads() {
    // not what it is for, but it must load, run and write a valid VCF
    let d = common::tmpdir("longread", "short");
    let out = d.join("short.vcf.gz");
    let o = common::call_testdata(
        "ref.fa.gz",
        "na12878.bam",
        REGION,
        out.to_str().unwrap(),
        &["--model", "pacbio-hifi", "-q"],
    );
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert!(d.join("short.vcf.gz.tbi").is_file());
    let counts = eval_counts(
        &td("ref.fa.gz"),
        &td("truth.vcf.gz"),
        &td("confident.bed"),
        out.to_str().unwrap(),
    );
    assert_eq!(counts, SHORT_READ_COUNTS);
}

#[test]
fn train_records_its_preset_in_the_card() {
    let d = common::tmpdir("longread", "train");
    let model = d.join("m");
    let (r, b, t, c) = (
        td("ref.fa.gz"),
        td("na12878.bam"),
        td("truth.vcf.gz"),
        td("confident.bed"),
    );
    let o = callvar(&[
        "train",
        "--ref",
        &r,
        "--reads",
        &b,
        "--truth",
        &t,
        "--confident",
        &c,
        "--output",
        model.to_str().unwrap(),
        "--chunk-size",
        "2000",
        "--validation-every",
        "3",
        "--epochs",
        "1",
        "--preset",
        "hifi",
        "--min-indel-fraction",
        "0.03",
    ]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("card.json")).unwrap()).unwrap();
    // the preset's own thresholds, not the training override
    assert_eq!(card["pileup"]["preset"], "hifi");
    assert_eq!(card["pileup"]["min_indel_fraction"].as_f64(), Some(0.12));
    assert_eq!(card["pileup"]["repeat_indel_fraction"].as_f64(), Some(0.01));
    // and `call` with that model alone uses them
    let o = call_illumina(&["--model", model.to_str().unwrap()]);
    assert!(settings_line(&o).contains("; preset=hifi,min_mapq=5,min_base_qual=10,min_alt_count=2,min_snv_fraction=0.12,min_indel_fraction=0.12,"));
}
