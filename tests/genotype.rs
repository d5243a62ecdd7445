//! Genotyping end to end on the bundled NA12878 slice (testdata/, chr20 only): haploid
//! contigs with pseudo-autosomal regions (GT shapes, PL lengths, gVCF blocks, bcftools
//! accepting the files), the model card's calibration, and `callvar calibrate`.
mod common;
use common::td;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
const REGION: &str = "chr20:10000000-10020000";
/// The PAR BED used below covers the first half of REGION (0-based end).
const PAR_END: u64 = 10_010_000;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("genotype", name)
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn callvar(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `callvar call` over REGION on the bundled BAM with `extra` flags, VCF to `out`.
fn call(out: &Path, extra: &[&str]) -> Output {
    let mut flags = vec!["--quiet"];
    flags.extend_from_slice(extra);
    let out = out.to_str().unwrap();
    common::call_testdata("ref.fa.gz", "na12878.bam", REGION, out, &flags)
}

/// A data record's fields.
struct Rec {
    pos: u64,
    alts: usize,
    filter: String,
    gt: String,
    gq: u32,
    pl: Vec<u32>,
    /// gVCF reference block.
    block: bool,
}

/// The data records of a VCF read back through `bcftools view` (which must accept it).
fn records(vcf: &Path) -> Vec<Rec> {
    let text = ok(Command::new("bcftools")
        .args(["view", "-H", vcf.to_str().unwrap()])
        .output()
        .unwrap());
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let keys: Vec<&str> = f[8].split(':').collect();
            let vals: Vec<&str> = f[9].split(':').collect();
            let get = |k: &str| vals[keys.iter().position(|x| *x == k).unwrap()];
            Rec {
                pos: f[1].parse().unwrap(),
                alts: f[4].split(',').count(),
                filter: f[6].to_string(),
                gt: get("GT").to_string(),
                gq: get("GQ").parse().unwrap(),
                pl: get("PL").split(',').map(|x| x.parse().unwrap()).collect(),
                block: f[4] == "<*>",
            }
        })
        .collect()
}

/// A PAR BED over the first half of REGION, `chr20` written as `20` (names match either way).
fn par_bed(dir: &Path) -> PathBuf {
    let bed = dir.join("par.bed");
    std::fs::write(&bed, format!("20\t9990000\t{PAR_END}\n")).unwrap();
    bed
}

#[test]
fn haploid_contig_with_par_gives_haploid_gt_and_pl() {
    let dir = tmpdir("haploid");
    let bed = par_bed(&dir);
    let (vcf, gvcf) = (dir.join("h.vcf.gz"), dir.join("h.g.vcf.gz"));
    let g = gvcf.to_str().unwrap().to_string();
    let b = bed.to_str().unwrap().to_string();
    ok(call(
        &vcf,
        &["--haploid-contigs", "20", "--par-bed", &b, "--gvcf", &g],
    ));
    let diploid = dir.join("d.vcf.gz");
    ok(call(&diploid, &[]));
    let hap = records(&vcf);
    let dip = records(&diploid);
    assert!(hap.len() > 50);
    let (mut n_hap, mut n_dip) = (0, 0);
    for r in &hap {
        let n = r.alts;
        if r.pos <= PAR_END {
            // inside the PAR (1-based POS <= its 0-based end): diploid
            assert_eq!(r.gt.len(), 3, "{}: {}", r.pos, r.gt);
            assert_eq!(r.pl.len(), (n + 1) * (n + 2) / 2, "{}", r.pos);
            n_dip += 1;
        } else {
            assert!(!r.gt.contains('/'), "{}: {}", r.pos, r.gt);
            assert_eq!(r.pl.len(), n + 1, "{}", r.pos);
            assert_eq!(r.pl[r.gt.parse::<usize>().unwrap()], 0, "{}", r.pos);
            n_hap += 1;
        }
    }
    assert!(n_hap > 20 && n_dip > 20, "{n_hap} haploid, {n_dip} diploid");
    // the same sites are called; a confident diploid 1/1 is haploid 1, a confident 0/1 is
    // HetInHaploid whatever its haploid GT
    assert_eq!(hap.len(), dip.len());
    let (mut homs, mut hets) = (0, 0);
    for (h, d) in hap.iter().zip(&dip) {
        assert_eq!(h.pos, d.pos);
        if h.pos <= PAR_END || d.filter != "PASS" || d.gq < 20 {
            continue;
        }
        match d.gt.as_str() {
            "1/1" => {
                assert_eq!(
                    (h.gt.as_str(), h.filter.as_str()),
                    ("1", "PASS"),
                    "{}",
                    h.pos
                );
                homs += 1;
            }
            "0/1" => {
                assert_eq!(h.filter, "HetInHaploid", "{}: {}", h.pos, h.gt);
                hets += 1;
            }
            _ => {}
        }
    }
    assert!(homs > 10 && hets > 5, "{homs} hom, {hets} het");
    let header = ok(Command::new("bcftools")
        .args(["view", "-h", vcf.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(header.contains("##FILTER=<ID=HetInHaploid,"));
    assert!(header.contains("Phred-scaled genotype posteriors normalised to the best genotype"));
    // gVCF: blocks are haploid (GT 0, two PL) after the PAR and diploid inside it; variant
    // records carry one more PL for <*> (haploid) or n + 2 more (diploid)
    let grecs = records(&gvcf);
    let (mut hb, mut db) = (0, 0);
    for r in &grecs {
        let n = r.alts; // <*> included
        if r.block {
            if r.pos <= PAR_END {
                assert!(r.gt == "0/0" || r.gt == "./.", "{}: {}", r.pos, r.gt);
                assert_eq!(r.pl.len(), 3);
                db += 1;
            } else {
                assert!(r.gt == "0" || r.gt == ".", "{}: {}", r.pos, r.gt);
                assert_eq!(r.pl.len(), 2);
                if r.gt == "0" {
                    assert_eq!(r.gq, r.pl[1].min(99), "{}", r.pos);
                }
                hb += 1;
            }
        } else if r.pos <= PAR_END {
            assert_eq!(r.pl.len(), (n + 1) * (n + 2) / 2, "{}", r.pos);
        } else {
            assert_eq!(r.pl.len(), n + 1, "{}", r.pos);
        }
    }
    assert!(hb > 10 && db > 10, "{hb} haploid blocks, {db} diploid");
    // a block never straddles the PAR end
    let ends = ok(Command::new("bcftools")
        .args([
            "query",
            "-i",
            "ALT=\"<*>\"",
            "-f",
            "%POS\t%END\n",
            gvcf.to_str().unwrap(),
        ])
        .output()
        .unwrap());
    for l in ends.lines() {
        let (s, e) = l.split_once('\t').unwrap();
        let (s, e): (u64, u64) = (s.parse().unwrap(), e.parse().unwrap());
        assert!(
            !(s <= PAR_END && e > PAR_END),
            "block {s}-{e} crosses the PAR end"
        );
    }
}

#[test]
fn ploidy_flags_are_checked() {
    let dir = tmpdir("flags");
    let out = dir.join("x.vcf");
    let o = call(&out, &["--haploid-contigs", "chrQ"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--haploid-contigs: 'chrQ' is not a reference contig"));
    // --par-bed alone is a usage error
    let bed = par_bed(&dir);
    let o = call(&out, &["--par-bed", bed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    // a PAR BED of another naming or build
    std::fs::write(&bed, "chrX\t0\t2699520\n").unwrap();
    let o = call(
        &out,
        &[
            "--haploid-contigs",
            "chr20",
            "--par-bed",
            bed.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("par.bed: contig 'chrX' is not in the reference"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A copy of the default model whose card's calibration is set by `edit`.
fn model_copy(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/illumina-wgs");
    let m = dir.join("model");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::copy(src.join("model.ot"), m.join("model.ot")).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("card.json")).unwrap()).unwrap();
    edit(&mut card);
    std::fs::write(m.join("card.json"), card.to_string()).unwrap();
    m
}

/// (POS, GQ, QUAL) of every record of a plain VCF text.
fn gq_qual(text: &str) -> Vec<(u64, u32, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let gq = f[9].split(':').nth(1).unwrap().parse().unwrap();
            (f[1].parse().unwrap(), gq, f[5].parse().unwrap())
        })
        .collect()
}

#[test]
fn card_calibration_tempers_gq_and_old_cards_still_work() {
    let dir = tmpdir("calibration");
    let none = model_copy(&dir.join("a"), |c| {
        c.as_object_mut().unwrap().remove("calibration");
    });
    let hot = model_copy(&dir.join("b"), |c| {
        c["calibration"] = serde_json::json!({
            "method": "temperature", "temperature": 2.0,
            "fitted_on": {"inputs": [], "regions": [], "excluded_regions": [], "sites": 1,
                          "log_loss_uncalibrated": 1.0, "log_loss_calibrated": 0.5}
        });
    });
    let plain = ok(call(Path::new("-"), &["--model", none.to_str().unwrap()]));
    let tempered = ok(call(Path::new("-"), &["--model", hot.to_str().unwrap()]));
    assert!(plain.contains("\n##callvarCalibration=none\n"));
    assert!(tempered.contains("\n##callvarCalibration=temperature:2\n"));
    let (p, t) = (gq_qual(&plain), gq_qual(&tempered));
    assert_eq!(p.len(), t.len());
    // T = 2 halves the Phred scale of a lone biallelic site: its QUAL is about half
    let mut halved = 0;
    for (a, b) in p.iter().zip(&t) {
        assert_eq!(a.0, b.0);
        assert!(b.1 <= a.1, "{}: GQ {} -> {}", a.0, a.1, b.1);
        if a.2 > 20.0 && (b.2 - a.2 / 2.0).abs() < 2.0 {
            halved += 1;
        }
    }
    assert!(halved > 30, "{halved}");
    // a calibration callvar cannot apply is refused, naming the card
    let bad = model_copy(&dir.join("c"), |c| {
        c["calibration"] = serde_json::json!({
            "method": "isotonic", "temperature": 1.0,
            "fitted_on": {"inputs": [], "regions": [], "excluded_regions": [], "sites": 1,
                          "log_loss_uncalibrated": 1.0, "log_loss_calibrated": 0.5}
        });
    });
    let o = call(Path::new("-"), &["--model", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("card.json calibration must be method \"temperature\""),
        "{err}"
    );
}

/// `callvar calibrate` on the bundled slice against `truth`, writing into `out`.
fn calibrate(model: &Path, truth: &Path, out: &Path) -> Output {
    callvar(&[
        "calibrate",
        "--ref",
        &td("ref.fa.gz"),
        "--reads",
        &td("na12878.bam"),
        "--truth",
        truth.to_str().unwrap(),
        "--confident",
        &td("confident.bed"),
        "--model",
        model.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ])
}

#[test]
fn calibrate_fits_a_temperature_and_writes_a_model_that_loads() {
    let dir = tmpdir("calibrate");
    let none = model_copy(&dir.join("a"), |c| {
        c.as_object_mut().unwrap().remove("calibration");
    });
    let out = dir.join("calibrated");
    // the model genotypes every labelled site of the slice right: nothing to fit on
    let o = calibrate(&none, Path::new(&td("truth.vcf.gz")), &out);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the fitted temperature ran to the bound of [0.1, 10]: 0 of 53 labelled sites have a wrong genotype"),
        "{err}"
    );
    assert!(!out.exists());
    // a truth whose every 6th genotype is swapped (0/1 <-> 1/1): the network is now
    // overconfident, and the fit softens it
    let mut text = String::new();
    let gz = std::process::Command::new("gzip")
        .args(["-dc", &td("truth.vcf.gz")])
        .output()
        .unwrap();
    for (i, l) in String::from_utf8(gz.stdout).unwrap().lines().enumerate() {
        let swapped = if !l.starts_with('#') && i % 6 == 0 {
            let f: Vec<&str> = l.split('\t').collect();
            let gt = f[9].split(':').next().unwrap();
            let new = match gt {
                "0/1" | "0|1" | "1|0" => "1/1",
                "1/1" | "1|1" => "0/1",
                other => other,
            };
            l.replacen(&format!("\t{gt}"), &format!("\t{new}"), 1)
        } else {
            l.to_string()
        };
        text += &swapped;
        text += "\n";
    }
    let truth = dir.join("swapped.vcf");
    std::fs::write(&truth, text).unwrap();
    let report = ok(calibrate(&none, &truth, &out));
    assert!(report.contains("uncalibrated (T=1): GQ"), "{report}");
    assert!(report.contains("calibrated (fitted T="), "{report}");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("card.json")).unwrap()).unwrap();
    let c = &card["calibration"];
    assert_eq!(c["method"], "temperature");
    let t = c["temperature"].as_f64().unwrap();
    assert!(t > 1.5 && t < 10.0, "{t}");
    assert_eq!(c["fitted_on"]["sites"], 53);
    assert!(
        c["fitted_on"]["log_loss_calibrated"].as_f64().unwrap()
            < c["fitted_on"]["log_loss_uncalibrated"].as_f64().unwrap()
    );
    assert_eq!(c["fitted_on"]["inputs"][1]["file"], "na12878.bam");
    assert_eq!(c["fitted_on"]["inputs"][2]["file"], "swapped.vcf");
    // the written model loads and calls
    let vcf = ok(call(Path::new("-"), &["--model", out.to_str().unwrap()]));
    assert!(vcf.contains(&format!("\n##callvarCalibration=temperature:{t}\n")));
}
