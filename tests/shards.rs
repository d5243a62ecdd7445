//! `callvar shards` and `callvar merge` on real reads (testdata/: NA12878 slice): shards
//! called separately and merged give the single run's VCF and gVCF byte for byte (every
//! line but `##callvarCommand`), with a shard boundary inside a deletion; plans from a
//! `.bai`, a `.csi` and a `.crai` tile the regions with balanced work; merge refuses gaps,
//! overlaps and shards from another plan, chunk grid, model, reference or version.
mod common;
use common::{callvar, td};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The reads end near 10,020,100: the last kb has no coverage (`./.` blocks).
const REGION: &str = "chr20:10000001-10021000";
/// On a 1005 bp grid, chr20:10,004,775 (9955 × 1005) is a chunk border inside the 11 bp
/// deletion at chr20:10,004,769 (TAAAACTATGC>T): the next chunk's first reference block
/// lies under it and must go, as in a single run.
const CHUNK: &str = "1005";

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("shards", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The one-line error of a failed run (exit status 1).
fn fails(o: Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

/// Text of a plain or bgzipped VCF.
fn text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut t = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut t)
        .unwrap_or_else(|_| {
            t = String::from_utf8(bytes.clone()).unwrap();
            0
        });
    t
}

/// Every line but `##callvarCommand`.
fn comparable(path: &Path) -> Vec<String> {
    text(path)
        .lines()
        .filter(|l| !l.starts_with("##callvarCommand="))
        .map(String::from)
        .collect()
}

fn records(path: &Path) -> Vec<String> {
    text(path)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// `callvar shards` into `dir`; returns the plan's shard lines (number, BED, regions).
fn plan(dir: &Path, reads: &str, n: &str, region: &str, chunk: &str) -> Vec<Vec<String>> {
    ok(callvar(&[
        "shards",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        reads,
        "-n",
        n,
        "--output-dir",
        s(dir),
        "--regions",
        region,
        "--chunk-size",
        chunk,
        "-q",
    ]));
    std::fs::read_to_string(dir.join("plan.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            vec![f[0].into(), f[1].into(), f[5].into(), f[4].into()]
        })
        .collect()
}

/// `callvar call` on one shard BED (VCF, and gVCF when `gvcf`), as a runner does.
fn call_shard(bed: &Path, out: &Path, gvcf: bool, extra: &[&str]) -> (PathBuf, PathBuf) {
    let vcf = out.with_extension("vcf.gz");
    let g = out.with_extension("g.vcf.gz");
    let (r, bam) = (td("ref.fa.gz"), td("na12878.bam"));
    let mut args = vec![
        "call",
        "--ref",
        &r,
        "--reads",
        &bam,
        "--regions-file",
        s(bed),
        "-o",
        s(&vcf),
        "-q",
    ];
    let gs = g.display().to_string();
    if gvcf {
        args.extend(["--gvcf", &gs]);
    }
    args.extend(extra);
    ok(callvar(&args));
    (vcf, g)
}

fn merge(plan: &Path, out: &Path, gvcf: bool, shards: &[PathBuf]) -> Output {
    let r = td("ref.fa.gz");
    let mut args = vec!["merge", "--ref", &r, "--plan", s(plan), "-o", s(out), "-q"];
    if gvcf {
        args.push("--gvcf");
    }
    args.extend(shards.iter().map(|p| s(p)));
    callvar(&args)
}

#[test]
fn shards_merged_equal_one_run_for_vcf_and_gvcf() {
    let d = tmpdir("identity");
    // more shards asked than chunks: one shard per chunk, so every chunk border of the
    // single run is a shard border here
    let shards = plan(&d.join("plan"), &td("na12878.bam"), "100", REGION, CHUNK);
    assert_eq!(shards.len(), 22);
    assert_eq!(shards[0][2], "chr20:10000001-10000755");
    assert_eq!(shards[4][2], "chr20:10003771-10004775");
    assert_eq!(shards[21][2], "chr20:10020856-10021000");
    // call the shards two at a time, as two workers would
    let outs: Vec<(PathBuf, PathBuf)> = std::thread::scope(|sc| {
        let pairs: Vec<_> = shards
            .chunks(shards.len().div_ceil(2))
            .map(|part| {
                let d = &d;
                sc.spawn(move || {
                    part.iter()
                        .map(|sh| {
                            let bed = d.join("plan").join(&sh[1]);
                            call_shard(&bed, &d.join(&sh[1]), true, &["--chunk-size", CHUNK])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        pairs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let single = d.join("single.vcf.gz");
    let single_g = d.join("single.g.vcf.gz");
    ok(callvar(&[
        "call",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        &td("na12878.bam"),
        "--regions",
        REGION,
        "--chunk-size",
        CHUNK,
        "--threads",
        "2",
        "-o",
        s(&single),
        "--gvcf",
        s(&single_g),
        "-q",
    ]));
    let plan_tsv = d.join("plan/plan.tsv");
    // shards in any order
    let mut vcfs: Vec<PathBuf> = outs.iter().map(|o| o.0.clone()).rev().collect();
    let gvcfs: Vec<PathBuf> = outs.iter().map(|o| o.1.clone()).collect();
    let merged = d.join("merged.vcf.gz");
    let merged_g = d.join("merged.g.vcf.gz");
    ok(merge(&plan_tsv, &merged, false, &vcfs));
    ok(merge(&plan_tsv, &merged_g, true, &gvcfs));
    let want = records(&single);
    assert!(want.len() > 100, "{} records", want.len());
    assert!(want
        .iter()
        .any(|r| r.starts_with("chr20\t10004769\t.\tTAAAACTATGC\tT\t")));
    assert_eq!(comparable(&merged), comparable(&single));
    assert_eq!(comparable(&merged_g), comparable(&single_g));
    assert!(text(&merged)
        .contains("##callvarRegions=chr20:10000001-10021000\n##callvarChunkSize=1005\n"));
    assert!(text(&merged)
        .lines()
        .any(|l| l.starts_with("##callvarCommand=") && l.contains(" merge ")));
    assert!(d.join("merged.vcf.gz.tbi").is_file() && d.join("merged.g.vcf.gz.tbi").is_file());
    // the gVCF shards side by side are not the single run: shard 6 starts with a block
    // under the deletion at the end of shard 5, which the merge removed
    let naive: Vec<String> = gvcfs.iter().flat_map(|g| records(g)).collect();
    let extra: Vec<&String> = naive
        .iter()
        .filter(|r| !records(&single_g).contains(r))
        .collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert!(extra[0].starts_with("chr20\t10004776\t.\tA\t<*>\t.\t.\tEND=10004779\t"));
    // the VCF shards are the single run's records cut at the shard borders
    vcfs.reverse();
    let cat: Vec<String> = vcfs.iter().flat_map(|v| records(v)).collect();
    assert_eq!(cat, want);
}

/// The regions of a plan's BEDs, in order, as (contig, start, end).
fn beds(dir: &Path, shards: &[Vec<String>]) -> Vec<Vec<(String, u64, u64)>> {
    shards
        .iter()
        .map(|sh| {
            std::fs::read_to_string(dir.join(&sh[1]))
                .unwrap()
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split('\t').collect();
                    (
                        f[0].to_string(),
                        f[1].parse().unwrap(),
                        f[2].parse().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn plans_from_bai_csi_and_crai_tile_the_regions_with_balanced_work() {
    let d = tmpdir("plans");
    let region = "chr20:10000001-10020000";
    let bai = plan(&d.join("bai"), &td("na12878.bam"), "4", region, "1000");
    // a CSI index of the same BAM (its leaf bins hold what the .bai linear index holds)
    std::fs::copy(td("na12878.bam"), d.join("csi.bam")).unwrap();
    let o = Command::new("samtools")
        .args(["index", "-c", s(&d.join("csi.bam"))])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csi = plan(&d.join("csi"), s(&d.join("csi.bam")), "4", region, "1000");
    let crai = plan(&d.join("crai"), &td("na12878.cram"), "4", region, "1000");
    for (name, p) in [("bai", &bai), ("csi", &csi), ("crai", &crai)] {
        assert_eq!(p.len(), 4, "{name}");
        let b = beds(&d.join(name), p);
        // contiguous, on the 1000 bp grid, covering the region exactly
        let flat: Vec<&(String, u64, u64)> = b.iter().flatten().collect();
        assert_eq!(flat.len(), 4, "{name}: one interval per shard");
        assert_eq!(flat[0].1, 10_000_000);
        assert_eq!(flat[3].2, 10_020_000);
        for w in flat.windows(2) {
            assert_eq!(w[0].2, w[1].1, "{name}");
            assert_eq!(w[0].2 % 1000, 0, "{name}");
        }
        // the reads cover the region evenly: shards of about equal estimated work
        let work: Vec<f64> = p.iter().map(|sh| sh[3].parse().unwrap()).collect();
        let mean = work.iter().sum::<f64>() / 4.0;
        let max = work.iter().cloned().fold(0.0, f64::max);
        assert!(max / mean < 1.1, "{name}: {work:?}");
        assert!(mean > 50_000.0, "{name}: {work:?}");
    }
    // the .csi's leaf bins give the same windows as the .bai's linear index
    assert_eq!(beds(&d.join("csi"), &csi), beds(&d.join("bai"), &bai));
    // uncovered bases are nearly free: a shard over the uncovered tail is wide
    let tail = plan(
        &d.join("tail"),
        &td("na12878.bam"),
        "2",
        "chr20:10010001-10060000",
        "1000",
    );
    let b = beds(&d.join("tail"), &tail);
    assert!(b[0][0].2 < 10_025_000, "{b:?}");
    // a folder that holds a plan is not overwritten
    let e = fails(callvar(&[
        "shards",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        &td("na12878.bam"),
        "-n",
        "2",
        "--output-dir",
        s(&d.join("bai")),
    ]));
    assert!(e.contains("already holds a shard plan"), "{e}");
}

#[test]
fn merge_refuses_gaps_overlaps_and_foreign_shards() {
    let d = tmpdir("refuse");
    let region = "chr20:10000001-10003000";
    let shards = plan(&d.join("plan"), &td("na12878.bam"), "3", region, "1000");
    assert_eq!(shards.len(), 3);
    let bed = |k: usize| d.join("plan").join(&shards[k][1]);
    let chunk = ["--chunk-size", "1000"];
    let v: Vec<PathBuf> = (0..3)
        .map(|k| call_shard(&bed(k), &d.join(format!("s{k}")), k == 0, &chunk).0)
        .collect();
    let plan_tsv = d.join("plan/plan.tsv");
    let out = d.join("out.vcf.gz");
    let refused = |inputs: &[PathBuf], gvcf: bool| {
        let e = fails(merge(&plan_tsv, &out, gvcf, inputs));
        assert!(!out.exists(), "{e}");
        e
    };
    // a gap, an overlap
    let e = refused(&[v[0].clone(), v[2].clone()], false);
    assert!(
        e.contains("no input for shard 2 (shard-0002.bed) of 3"),
        "{e}"
    );
    let e = refused(
        &[v[0].clone(), v[1].clone(), v[1].clone(), v[2].clone()],
        false,
    );
    assert!(
        e.contains("overlaps") && e.contains("both are shard 2"),
        "{e}"
    );
    // called on other regions, or another grid
    let other = call_shard(&bed(1), &d.join("grid"), false, &["--chunk-size", "2000"]).0;
    let e = refused(&[v[0].clone(), other, v[2].clone()], false);
    assert!(
        e.contains("called with --chunk-size 2000 but the plan's is 1000"),
        "{e}"
    );
    let wide = d.join("wide.bed");
    std::fs::write(&wide, "chr20\t10001000\t10003000\n").unwrap();
    let other = call_shard(&wide, &d.join("wide"), false, &chunk).0;
    let e = refused(&[v[0].clone(), other], false);
    assert!(
        e.contains("chr20:10001001-10003000) are not one shard of the plan"),
        "{e}"
    );
    // a gVCF among VCFs, and the reverse
    let g = d.join("s0.g.vcf.gz");
    let e = refused(&[g.clone(), v[1].clone(), v[2].clone()], false);
    assert!(e.contains("a gVCF: merge gVCF shards with --gvcf"), "{e}");
    let e = refused(&v, true);
    assert!(e.contains("not a gVCF"), "{e}");
    // headers from another model, reference, version or device (edited copies of shard 2)
    let edited = |from: &str, to: &str| {
        let t = text(&v[1]);
        assert!(t.contains(from), "{from}");
        let p = d.join("edited.vcf");
        std::fs::write(&p, t.replacen(from, to, 1)).unwrap();
        refused(&[v[0].clone(), p, v[2].clone()], false)
    };
    let e = edited("##callvarModel=<ID=illumina-wgs", "##callvarModel=<ID=hifi");
    assert!(e.contains("edited.vcf: called with another model"), "{e}");
    let e = edited(
        "##callvarReferenceMD5=a96afc",
        "##callvarReferenceMD5=000000",
    );
    assert!(e.contains("called on another reference (MD5 000000"), "{e}");
    let e = edited("##source=callvar ", "##source=callvar 9.");
    assert!(
        e.contains("shards and merge must come from one callvar version"),
        "{e}"
    );
    let e = edited("##callvarDevice=cpu", "##callvarDevice=cuda:0");
    assert!(e.contains("called on another device"), "{e}");
    let e = edited("\nchr20\t1000", "\nchr20\t1001");
    assert!(e.contains("lies outside the shard's regions"), "{e}");
    // a truncated shard, a plan missing a shard
    let cut = d.join("cut.vcf.gz");
    let bytes = std::fs::read(&v[1]).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 28]).unwrap();
    let e = refused(&[v[0].clone(), cut, v[2].clone()], false);
    assert!(e.contains("cut.vcf.gz: truncated"), "{e}");
    let bad_plan = d.join("bad.tsv");
    let t = std::fs::read_to_string(&plan_tsv).unwrap();
    let t: Vec<&str> = t.lines().filter(|l| !l.starts_with("2\t")).collect();
    std::fs::write(&bad_plan, t.join("\n") + "\n").unwrap();
    let e = fails(merge(&bad_plan, &out, false, &v));
    assert!(e.contains("bad.tsv: inconsistent shard plan"), "{e}");
    // and the three together merge
    ok(merge(&plan_tsv, &out, false, &v));
    assert!(records(&out).len() > 10);
}

#[test]
fn a_shard_spanning_two_regions_merges_to_one_run() {
    let d = tmpdir("gap");
    let region = "chr20:10000001-10002000,chr20:10004001-10006000";
    let shards = plan(&d.join("plan"), &td("na12878.bam"), "3", region, "1000");
    let b = beds(&d.join("plan"), &shards);
    // four chunks of about equal work in three shards: the middle one holds the chunks on
    // each side of the gap
    let bed = |k: usize| -> Vec<(u64, u64)> { b[k].iter().map(|r| (r.1, r.2)).collect() };
    assert_eq!(bed(0), vec![(10_000_000, 10_001_000)]);
    assert_eq!(
        bed(1),
        vec![(10_001_000, 10_002_000), (10_004_000, 10_005_000)]
    );
    assert_eq!(bed(2), vec![(10_005_000, 10_006_000)]);
    assert_eq!(
        shards[1][2],
        "chr20:10001001-10002000,chr20:10004001-10005000"
    );
    let outs: Vec<(PathBuf, PathBuf)> = shards
        .iter()
        .map(|sh| {
            let bed = d.join("plan").join(&sh[1]);
            call_shard(&bed, &d.join(&sh[1]), true, &["--chunk-size", "1000"])
        })
        .collect();
    let (single, single_g) = (d.join("single.vcf.gz"), d.join("single.g.vcf.gz"));
    ok(callvar(&[
        "call",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        &td("na12878.bam"),
        "--regions",
        region,
        "--chunk-size",
        "1000",
        "-o",
        s(&single),
        "--gvcf",
        s(&single_g),
        "-q",
    ]));
    let plan_tsv = d.join("plan/plan.tsv");
    let (merged, merged_g) = (d.join("m.vcf.gz"), d.join("m.g.vcf.gz"));
    let vcfs: Vec<PathBuf> = outs.iter().map(|o| o.0.clone()).collect();
    let gvcfs: Vec<PathBuf> = outs.iter().map(|o| o.1.clone()).collect();
    ok(merge(&plan_tsv, &merged, false, &vcfs));
    ok(merge(&plan_tsv, &merged_g, true, &gvcfs));
    assert_eq!(comparable(&merged), comparable(&single));
    assert_eq!(comparable(&merged_g), comparable(&single_g));
    assert!(text(&merged).contains(&format!("##callvarRegions={region}\n")));
    assert!(records(&single).len() > 10);
}
