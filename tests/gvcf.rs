//! gVCF output on real reads (testdata/: NA12878 slice): coverage of every base, agreement
//! with the VCF, determinism, and joint merging with `bcftools merge --gvcf`.
mod common;
use common::td;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
// the reads end near 10,020,100: the last few kb have no coverage (./. blocks)
const REGION: &str = "chr20:10000000-10025000";
const START: u64 = 10_000_000;
const END: u64 = 10_025_000;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("gvcf", name)
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs `callvar call` writing `vcf` and `gvcf` for `reads` named `sample`.
fn call(reads: &str, dir: &Path, stem: &str, sample: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let vcf = dir.join(format!("{stem}.vcf.gz"));
    let gvcf = dir.join(format!("{stem}.g.vcf.gz"));
    let mut args = vec![
        "call".to_string(),
        "--ref".into(),
        td("ref.fa.gz"),
        "--reads".into(),
        reads.into(),
        "--regions".into(),
        REGION.into(),
        "--sample".into(),
        sample.into(),
        "-o".into(),
        vcf.display().to_string(),
        "--gvcf".into(),
        gvcf.display().to_string(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    ok(Command::new(BIN).args(&args).output().unwrap());
    (vcf, gvcf)
}

fn lines(path: &Path) -> Vec<String> {
    let text = ok(Command::new("bcftools")
        .args(["view", "-H"])
        .arg(path)
        .output()
        .unwrap());
    text.lines().map(String::from).collect()
}

#[test]
fn gvcf_covers_every_base_once_and_repeats_the_vcf_calls() {
    let d = tmpdir("cover");
    let (vcf, gvcf) = call(
        &td("na12878.bam"),
        &d,
        "a",
        "NA12878",
        &["--threads", "2", "--chunk-size", "5000"],
    );
    assert!(Path::new(&format!("{}.tbi", gvcf.display())).is_file());
    let g = lines(&gvcf);
    let v = lines(&vcf);
    let mut block_cover: BTreeMap<u64, u32> = BTreeMap::new();
    let mut record_cover: BTreeMap<u64, u32> = BTreeMap::new();
    let mut variant_records = Vec::new();
    let (mut blocks, mut no_calls) = (0, 0);
    for l in &g {
        let f: Vec<&str> = l.split('\t').collect();
        let pos: u64 = f[1].parse().unwrap();
        if f[4] == "<*>" {
            blocks += 1;
            let end: u64 = f[7]
                .strip_prefix("END=")
                .expect("block END")
                .parse()
                .unwrap();
            assert!(end >= pos);
            assert_eq!(f[8], "GT:GQ:MIN_DP:PL");
            if f[9].starts_with("./.") {
                no_calls += 1;
                assert!(f[9].contains(":0:"), "no-call blocks have depth 0: {l}");
            }
            for p in pos..=end {
                *block_cover.entry(p).or_default() += 1;
            }
        } else {
            assert!(f[4].ends_with(",<*>"), "variant records carry <*>: {l}");
            for p in pos..pos + f[3].len() as u64 {
                *record_cover.entry(p).or_default() += 1;
            }
            variant_records.push(f);
        }
    }
    assert!(blocks > 20, "expected many reference blocks, got {blocks}");
    assert!(no_calls >= 1, "the uncovered tail is a ./. block");
    for p in START..=END {
        let b = block_cover.get(&p).copied().unwrap_or(0);
        let r = record_cover.get(&p).copied().unwrap_or(0);
        assert!(b <= 1, "position {p} in {b} blocks");
        assert!(b + r >= 1, "position {p} not covered");
        assert!(
            b == 0 || r == 0,
            "position {p} in a block and a variant record"
        );
    }
    assert!(block_cover.keys().all(|&p| (START..=END).contains(&p)));
    // the variant records are the VCF's calls: same site, alleles, GT, GQ, DP and PL prefix
    assert_eq!(variant_records.len(), v.len());
    for (gr, vl) in variant_records.iter().zip(&v) {
        let vf: Vec<&str> = vl.split('\t').collect();
        assert_eq!(&gr[..4], &vf[..4]);
        assert_eq!(gr[4], format!("{},<*>", vf[4]));
        assert_eq!(gr[6], vf[6]);
        let gs: Vec<&str> = gr[9].split(':').collect();
        let vs: Vec<&str> = vf[9].split(':').collect();
        assert_eq!(&gs[..3], &vs[..3], "GT:GQ:DP");
        assert!(
            gs[5].starts_with(vs[5]),
            "PL extends the VCF's: {} vs {}",
            gs[5],
            vs[5]
        );
    }
    // the same gVCF records with one thread and another chunk size
    let d1 = tmpdir("cover1");
    let (_, gvcf1) = call(
        &td("na12878.bam"),
        &d1,
        "a",
        "NA12878",
        &["--threads", "1", "--chunk-size", "5000"],
    );
    assert_eq!(lines(&gvcf1), g);
}

/// Translated genotypes (`C/T`) of `sample` at each site: (chrom, pos) → sorted alleles, one
/// entry per record (bcftools keeps records with different allele types apart).
fn genotypes(path: &Path, sample: &str) -> HashMap<(String, u64), Vec<Vec<String>>> {
    let q = ok(Command::new("bcftools")
        .args(["query", "-s", sample, "-f", "%CHROM\t%POS[\t%TGT]\n"])
        .arg(path)
        .output()
        .unwrap());
    let mut out: HashMap<(String, u64), Vec<Vec<String>>> = HashMap::new();
    for l in q.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let mut a: Vec<String> = f[2].split(['/', '|']).map(String::from).collect();
        a.sort();
        out.entry((f[0].to_string(), f[1].parse().unwrap()))
            .or_default()
            .push(a);
    }
    out
}

#[test]
fn bcftools_merges_two_gvcfs_and_keeps_each_samples_genotypes() {
    let d = tmpdir("merge");
    // sample B: half of the reads, a different sample of the same window
    let half = d.join("half.bam");
    ok(Command::new("samtools")
        .args(["view", "-b", "-s", "7.5", "-o"])
        .arg(&half)
        .arg(td("na12878.bam"))
        .output()
        .unwrap());
    ok(Command::new("samtools")
        .arg("index")
        .arg(&half)
        .output()
        .unwrap());
    let (va, ga) = call(&td("na12878.bam"), &d, "a", "A", &["--threads", "2"]);
    let (vb, gb) = call(half.to_str().unwrap(), &d, "b", "B", &["--threads", "2"]);
    let merged = d.join("merged.vcf.gz");
    ok(Command::new("bcftools")
        .args(["merge", "--gvcf", &td("ref.fa.gz"), "-Oz", "-o"])
        .arg(&merged)
        .arg(&ga)
        .arg(&gb)
        .output()
        .unwrap());
    ok(Command::new("bcftools")
        .args(["view", "-H"])
        .arg(&merged)
        .output()
        .unwrap());
    for (sample, vcf) in [("A", &va), ("B", &vb)] {
        let own = ok(Command::new("bcftools")
            .args([
                "query",
                "-i",
                "FILTER=\"PASS\"",
                "-f",
                "%CHROM\t%POS[\t%TGT]\n",
            ])
            .arg(vcf)
            .output()
            .unwrap());
        let joint = genotypes(&merged, sample);
        let mut checked = 0;
        for l in own.lines() {
            let f: Vec<&str> = l.split('\t').collect();
            let key = (f[0].to_string(), f[1].parse::<u64>().unwrap());
            let mut a: Vec<String> = f[2].split(['/', '|']).map(String::from).collect();
            a.sort();
            let found = joint.get(&key).cloned().unwrap_or_default();
            assert!(
                found.contains(&a),
                "sample {sample} at {key:?}: {a:?} not in {found:?}"
            );
            checked += 1;
        }
        assert!(
            checked > 20,
            "sample {sample}: only {checked} variant sites"
        );
    }
}
