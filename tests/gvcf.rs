//! gVCF output on real reads (testdata/: NA12878 slice): coverage of every base, agreement
//! with the VCF, determinism, reference blocks whose GT, GQ and PL agree, and joint use of
//! two samples' gVCFs: `bcftools merge --gvcf`, then re-genotyping the merged records.
mod common;
use common::td;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// Runs `callvar call` over `region` writing `vcf` and `gvcf` for `reads` named `sample`.
fn call(
    reads: &str,
    dir: &Path,
    stem: &str,
    sample: &str,
    region: &str,
    extra: &[&str],
) -> (PathBuf, PathBuf) {
    let vcf = dir.join(format!("{stem}.vcf.gz"));
    let gvcf = dir.join(format!("{stem}.g.vcf.gz"));
    let mut args = vec![
        "call".to_string(),
        "--ref".into(),
        td("ref.fa.gz"),
        "--reads".into(),
        reads.into(),
        "--regions".into(),
        region.into(),
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
        REGION,
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
        REGION,
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

/// Region of the two-sample tests: all the reads (9,999,912-10,020,100) and uncovered flanks,
/// the right one holding a whole 10 kb grid cell (10,030,000-10,040,000).
const WIDE: &str = "chr20:9995001-10045000";
/// Longest reference block (`gvcf::MAX_BLOCK_LEN`).
const MAX_BLOCK: u64 = 10_000;

/// Two samples called over [`WIDE`], their gVCFs merged with `bcftools merge --gvcf`.
struct Pair {
    /// (sample, VCF, gVCF): A is the BAM, B a third of the CRAM's reads.
    samples: [(&'static str, PathBuf, PathBuf); 2],
    merged: PathBuf,
}

/// The shared two-sample fixture, made once per test run.
fn pair() -> &'static Pair {
    static PAIR: OnceLock<Pair> = OnceLock::new();
    PAIR.get_or_init(|| {
        let d = tmpdir("pair");
        // sample B: a seeded third of the CRAM's reads, another sample of the same window
        let third = d.join("third.bam");
        ok(Command::new("samtools")
            .args(["view", "-b", "-s", "3.3", "-T", &td("ref.fa.gz"), "-o"])
            .arg(&third)
            .arg(td("na12878.cram"))
            .output()
            .unwrap());
        ok(Command::new("samtools")
            .arg("index")
            .arg(&third)
            .output()
            .unwrap());
        let (va, ga) = call(&td("na12878.bam"), &d, "a", "A", WIDE, &["--threads", "2"]);
        let (vb, gb) = call(
            third.to_str().unwrap(),
            &d,
            "b",
            "B",
            WIDE,
            &["--threads", "2"],
        );
        let merged = d.join("merged.vcf.gz");
        ok(Command::new("bcftools")
            .args(["merge", "--gvcf", &td("ref.fa.gz"), "-Oz", "-o"])
            .arg(&merged)
            .arg(&ga)
            .arg(&gb)
            .output()
            .unwrap());
        Pair {
            samples: [("A", va, ga), ("B", vb, gb)],
            merged,
        }
    })
}

/// A data line's fields.
fn fields(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

/// The single sample's FORMAT values by key.
fn format<'a>(f: &[&'a str], sample: usize) -> HashMap<&'a str, &'a str> {
    f[8].split(':').zip(f[9 + sample].split(':')).collect()
}

/// Index of genotype `j/k` in a Number=G list (VCF order).
fn gt_index(j: usize, k: usize) -> usize {
    let (j, k) = (j.min(k), j.max(k));
    k * (k + 1) / 2 + j
}

/// Allele indices of a diploid GT (`None` for `.`).
fn alleles(gt: &str) -> Vec<Option<usize>> {
    gt.split(['/', '|']).map(|a| a.parse().ok()).collect()
}

/// Integer list (`.` entries as `None`).
fn ints(text: &str) -> Vec<Option<u32>> {
    text.split(',').map(|v| v.parse().ok()).collect()
}

#[test]
fn blocks_agree_in_gt_gq_and_pl_and_stay_below_the_length_limit() {
    let p = pair();
    for (sample, _, gvcf) in &p.samples {
        let (mut blocks, mut not_ref, mut full_cells, mut records) = (0, 0, 0, 0);
        for l in lines(gvcf) {
            let f = fields(&l);
            let v = format(&f, 0);
            let pl: Vec<u32> = ints(v["PL"]).into_iter().map(|x| x.unwrap()).collect();
            let min = *pl.iter().min().unwrap();
            if f[4] != "<*>" {
                // variant records, RefCall ones included: GT is a most likely genotype
                let a = alleles(v["GT"]);
                let gt = gt_index(a[0].unwrap(), a[1].unwrap());
                assert_eq!(pl[gt], min, "{sample}: GT not the PL minimum: {l}");
                records += 1;
                continue;
            }
            blocks += 1;
            let pos: u64 = f[1].parse().unwrap();
            let end: u64 = f[7].strip_prefix("END=").unwrap().parse().unwrap();
            let gq: u32 = v["GQ"].parse().unwrap();
            assert_eq!(pl.len(), 3, "{l}");
            if v["GT"] == "./." {
                assert_eq!((v["MIN_DP"], gq, &pl[..]), ("0", 0, &[0, 0, 0][..]), "{l}");
            } else {
                assert_eq!(v["GT"], "0/0", "{l}");
                assert_ne!(v["MIN_DP"], "0", "{l}");
                // GT is the PL minimum, GQ the second-smallest PL (capped at 99)
                assert_eq!(
                    pl[0], 0,
                    "{sample}: PL favour a variant in a 0/0 block: {l}"
                );
                assert_eq!(gq, pl[1].min(pl[2]).min(99), "{sample}: GQ vs PL: {l}");
                if pl[1] == 0 {
                    not_ref += 1;
                }
            }
            // within one cell of the fixed 10 kb grid (0-based start pos-1, end END)
            assert_eq!((pos - 1) / MAX_BLOCK, (end - 1) / MAX_BLOCK, "{l}");
            if end - pos + 1 == MAX_BLOCK {
                assert_eq!(
                    (pos, v["GT"]),
                    (10_030_001, "./."),
                    "the uncovered grid cell"
                );
                full_cells += 1;
            }
        }
        assert!(
            blocks > 200 && records > 90,
            "{sample}: {blocks} blocks, {records} records"
        );
        // real reads favour a variant at some bases no candidate came from: written GQ 0
        assert!(
            not_ref >= 3,
            "{sample}: {not_ref} GQ-0 blocks with PL 0,0,x"
        );
        assert_eq!(full_cells, 1, "{sample}");
    }
}

#[test]
fn bcftools_merges_two_gvcfs_and_keeps_each_samples_genotypes() {
    let p = pair();
    let merged = lines(&p.merged);
    let header = ok(Command::new("bcftools")
        .args(["query", "-l"])
        .arg(&p.merged)
        .output()
        .unwrap());
    assert_eq!(header.lines().collect::<Vec<_>>(), ["A", "B"]);
    for (i, (sample, vcf, gvcf)) in p.samples.iter().enumerate() {
        // every PASS genotype of the sample's VCF is in the merged file
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
        let joint = genotypes(&p.merged, sample);
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
            checked > 80,
            "sample {sample}: only {checked} variant sites"
        );
        // every merged reference record carries the sample's own block there, unchanged, or
        // nothing: bcftools 1.16 drops a few blocks on a base where one sample's block ends
        // and the other's starts (A's 10,008,690-10,008,692 and B's from 10,008,692)
        let own_blocks: Vec<(u64, u64, String)> = lines(gvcf)
            .iter()
            .map(|l| fields(l))
            .filter(|f| f[4] == "<*>")
            .map(|f| {
                let end = f[7].strip_prefix("END=").unwrap().parse().unwrap();
                (f[1].parse().unwrap(), end, f[9].to_string())
            })
            .collect();
        let (mut ref_records, mut dropped) = (0, 0);
        for l in merged.iter().filter(|l| fields(l)[4] == "<*>") {
            let f = fields(l);
            let pos: u64 = f[1].parse().unwrap();
            let end = f[7]
                .strip_prefix("END=")
                .map_or(pos, |e| e.parse().unwrap());
            assert_eq!(f[8], "GT:GQ:MIN_DP:PL", "{l}");
            let own = own_blocks
                .get(own_blocks.partition_point(|b| b.1 < pos))
                .filter(|b| b.0 <= pos);
            match own {
                // under one of the sample's variant records: nothing to carry
                None => assert_eq!(f[9 + i], "./.:.:.:.", "{sample}: {l}"),
                Some(b) if f[9 + i] == "./.:.:.:." => {
                    assert!(end <= b.1, "{sample}: {l} past {b:?}");
                    dropped += 1;
                }
                Some(b) => {
                    assert!(end <= b.1, "{sample}: {l} past {b:?}");
                    assert_eq!(f[9 + i], b.2, "{sample}: {l}");
                }
            }
            ref_records += 1;
        }
        assert!(ref_records > 1000, "{ref_records} merged reference records");
        assert!(
            dropped * 100 < ref_records,
            "{sample}: {dropped} of {ref_records} blocks lost in the merge"
        );
    }
}

/// Fills the PL of genotypes with alleles a sample's gVCF did not list from its `<*>` ones:
/// what `<*>` means, and what GATK and GLnexus do (`bcftools merge` leaves them missing).
fn fill_from_star(pl: &mut [Option<u32>], n_alleles: usize, star: usize) {
    let listed: Vec<bool> = (0..n_alleles)
        .map(|a| pl[gt_index(0, a)].is_some())
        .collect();
    for k in 0..n_alleles {
        for j in 0..=k {
            if pl[gt_index(j, k)].is_none() {
                let sub = |a: usize| if listed[a] { a } else { star };
                pl[gt_index(j, k)] = pl[gt_index(sub(j), sub(k))];
            }
        }
    }
}

/// Re-genotypes the merged gVCF two ways; returns the sites each calls a variant at:
/// trusting PL (each sample's GT is its smallest PL, ties to the first genotype in VCF order,
/// a variant when that GT holds a listed alternate allele), and `bcftools call -mv` (with
/// INFO/QS, the allele-frequency seed it needs, from each sample's AD fractions; a sample
/// without AD counts as reference).
fn regenotype(merged: &Path, dir: &Path) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let text = ok(Command::new("bcftools")
        .arg("view")
        .arg(merged)
        .output()
        .unwrap());
    let mut out = String::new();
    let mut argmin_sites = BTreeSet::new();
    for l in text.lines() {
        if l.starts_with("#CHROM") {
            out.push_str("##INFO=<ID=QS,Number=R,Type=Float,Description=\"AD fractions summed over samples\">\n");
        }
        if l.starts_with('#') {
            out.push_str(l);
            out.push('\n');
            continue;
        }
        let mut f: Vec<String> = l.split('\t').map(String::from).collect();
        let alts: Vec<String> = f[4].split(',').map(String::from).collect();
        let n = alts.len() + 1;
        let star = alts.iter().position(|a| a == "<*>").map(|i| i + 1);
        let keys: Vec<String> = f[8].split(':').map(String::from).collect();
        let mut qs = vec![0.0f64; n];
        for s in 9..f.len() {
            let mut v: Vec<String> = f[s].split(':').map(String::from).collect();
            v.resize(keys.len(), ".".into());
            let get = |k: &str| keys.iter().position(|x| x == k);
            let ad: Vec<Option<u32>> = get("AD").map_or(vec![], |i| ints(&v[i]));
            let depth: u32 = ad.iter().flatten().sum();
            if ad.len() == n && ad.iter().all(Option::is_some) && depth > 0 {
                for (q, d) in qs.iter_mut().zip(&ad) {
                    *q += d.unwrap() as f64 / depth as f64;
                }
            } else {
                qs[0] += 1.0;
            }
            let Some(ip) = get("PL") else { continue };
            let mut pl = ints(&v[ip]);
            if pl.len() != n * (n + 1) / 2 || pl[0].is_none() {
                continue;
            }
            if let Some(star) = star {
                fill_from_star(&mut pl, n, star);
            }
            let pl: Vec<u32> = pl.iter().map(|x| x.unwrap_or(u32::MAX)).collect();
            let best = (0..pl.len()).fold(0, |b, i| if pl[i] < pl[b] { i } else { b });
            let (j, k) = (0..n)
                .flat_map(|k| (0..=k).map(move |j| (j, k)))
                .find(|&(j, k)| gt_index(j, k) == best)
                .unwrap();
            if [j, k].iter().any(|&a| a > 0 && Some(a) != star) {
                argmin_sites.insert(f[1].parse().unwrap());
            }
            v[ip] = pl
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",");
            f[s] = v.join(":");
        }
        let qs: Vec<String> = qs.iter().map(|q| format!("{q:.3}")).collect();
        let info = if f[7] == "." {
            String::new()
        } else {
            format!("{};", f[7])
        };
        f[7] = format!("{info}QS={}", qs.join(","));
        out.push_str(&f.join("\t"));
        out.push('\n');
    }
    let filled = dir.join("filled.vcf");
    std::fs::write(&filled, out).unwrap();
    let called = ok(Command::new("bcftools")
        .args(["call", "-mv"])
        .arg(&filled)
        .output()
        .unwrap());
    let call_sites = called
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| fields(l)[1].parse().unwrap())
        .collect();
    (argmin_sites, call_sites)
}

#[test]
fn merged_gvcfs_regenotype_without_variants_absent_from_both_vcfs() {
    let p = pair();
    // sites where either sample's VCF has a variant genotype (PASS or LowQual, not RefCall)
    let mut variants = BTreeSet::new();
    for (_, vcf, _) in &p.samples {
        for l in lines(vcf) {
            let f = fields(&l);
            if f[6] != "RefCall" {
                variants.insert(f[1].parse::<u64>().unwrap());
            }
        }
    }
    let (argmin, called) = regenotype(&p.merged, &tmpdir("regenotype"));
    for (how, sites) in [("smallest PL", &argmin), ("bcftools call -m", &called)] {
        let new: Vec<&u64> = sites.difference(&variants).collect();
        assert!(new.is_empty(), "{how}: variants in neither VCF at {new:?}");
        // the re-genotyping does find the samples' variants
        assert!(
            sites.len() * 10 >= variants.len() * 8,
            "{how}: {} of {} variant sites",
            sites.len(),
            variants.len()
        );
    }
}
