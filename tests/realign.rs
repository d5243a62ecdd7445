//! `call --realign` on real reads (testdata/na12878.bam, NA12878 Illumina over
//! chr20:10,000,000-10,020,000): local assembly consolidates indels the aligner placed
//! inconsistently (`--no-realign` shows the aligner's placement), and the output stays the
//! same whatever the threads or chunk size.
mod common;
use common::stderr_of;
use std::process::Output;

/// `callvar call` of `region` to plain VCF on stdout, with `extra` flags.
fn call(region: &str, extra: &[&str]) -> Output {
    let o = common::call_testdata("ref.fa.gz", "na12878.bam", region, "-", extra);
    assert!(o.status.success(), "{}", stderr_of(&o));
    o
}

/// (POS, REF, ALT, AD) of each record.
fn records(o: &Output) -> Vec<(u64, String, String, Vec<u32>)> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let keys: Vec<&str> = f[8].split(':').collect();
            let vals: Vec<&str> = f[9].split(':').collect();
            let ad = keys
                .iter()
                .position(|k| *k == "AD")
                .map(|i| vals[i].split(',').map(|x| x.parse().unwrap()).collect())
                .unwrap();
            (
                f[1].parse().unwrap(),
                f[3].to_string(),
                f[4].to_string(),
                ad,
            )
        })
        .collect()
}

fn data_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn realignment_consolidates_real_deletions() {
    let region = "chr20:10006000-10008500";
    let plain = records(&call(region, &["--no-realign"]));
    let o = call(region, &["--realign", "-v"]);
    // on by default for Illumina reads
    assert_eq!(data_lines(&call(region, &[])), data_lines(&o));
    let err = stderr_of(&o);
    let line = err
        .lines()
        .find(|l| l.contains("reads realigned"))
        .expect("-v reports the realigner");
    let changed: u64 = line
        .split(", ")
        .find_map(|p| p.strip_suffix(" reads realigned"))
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(changed > 0, "{line}");
    let realigned = records(&o);
    let at = |v: &[(u64, String, String, Vec<u32>)], pos: u64, r: &str, a: &str| {
        v.iter()
            .find(|x| x.0 == pos && x.1 == r && x.2.split(',').next() == Some(a))
            .map(|x| x.3.clone())
            .unwrap_or_else(|| panic!("no {pos} {r}>{a}"))
    };
    let near = |v: &[(u64, String, String, Vec<u32>)], lo: u64, hi: u64| {
        v.iter().filter(|x| (lo..hi).contains(&x.0)).count()
    };
    // GIAB's homozygous 4 bp deletion at 10,006,819: the reads the aligner soft-clipped or
    // ran through with mismatches now carry it, and the mismatch artefacts beside it go
    let (before, after) = (
        at(&plain, 10_006_819, "AAAAC", "A"),
        at(&realigned, 10_006_819, "AAAAC", "A"),
    );
    assert!(after[1] > before[1], "{before:?} -> {after:?}");
    assert!(near(&plain, 10_006_820, 10_006_850) > 0);
    assert_eq!(near(&realigned, 10_006_820, 10_006_850), 0);
    // GIAB's homozygous 1 bp deletion at 10,008,146: reads left showing the reference by the
    // aligner now show the deletion, and the SNV artefact right after it goes
    let (before, after) = (
        at(&plain, 10_008_146, "TA", "T"),
        at(&realigned, 10_008_146, "TA", "T"),
    );
    assert!(
        after[0] < before[0] && after[1] > before[1],
        "{before:?} -> {after:?}"
    );
    assert!(plain.iter().any(|x| x.0 == 10_008_147));
    assert!(!realigned.iter().any(|x| x.0 == 10_008_147));
}

#[test]
fn realigned_output_does_not_depend_on_threads_or_chunks() {
    let region = "chr20:10000000-10010000";
    let one = data_lines(&call(region, &["--realign", "--threads", "1"]));
    let two = data_lines(&call(region, &["--realign", "--threads", "2"]));
    let small = data_lines(&call(
        region,
        &["--realign", "--threads", "2", "--chunk-size", "1000"],
    ));
    assert!(one.len() > 50);
    assert_eq!(one, two);
    assert_eq!(one, small);
}

#[test]
fn realignment_is_on_for_illumina_and_off_for_long_reads_by_default() {
    let region = "chr20:10006000-10007000";
    let line = |extra: &[&str]| {
        let mut args = vec!["-v"];
        args.extend_from_slice(extra);
        let err = stderr_of(&call(region, &args));
        err.lines()
            .find(|l| l.starts_with("callvar: realign: "))
            .map(str::to_string)
            .expect("-v says whether it realigned")
    };
    assert!(line(&[]).starts_with("callvar: realign: on: "));
    assert_eq!(line(&["--preset", "hifi"]), "callvar: realign: off");
    assert!(line(&["--preset", "hifi", "--realign"]).starts_with("callvar: realign: on: "));
    assert_eq!(line(&["--no-realign"]), "callvar: realign: off");
}
