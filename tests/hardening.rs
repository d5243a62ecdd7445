//! Bad inputs and faults, each derived inside the test from the real reads in testdata/: every
//! one must end in a correct result or a one-line error with a non-zero exit, with no input
//! changed and no finished-looking output left behind.
mod common;
use common::{callvar, stderr_of as err, td};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
const REGION: &str = "chr20:10000000-10020000";

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("hard", name)
}

/// Runs a bash pipeline (samtools, awk…) that derives a broken input; it must succeed.
fn sh(script: &str) {
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; {script}"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `callvar call` on the bundled reference unless `--ref` is in `extra`.
fn call(reads: &str, out: &str, extra: &[&str]) -> Output {
    let r = td("ref.fa.gz");
    let mut args = vec!["call", "--reads", reads, "-o", out];
    if !extra.contains(&"--ref") {
        args.extend(["--ref", &r]);
    }
    args.extend_from_slice(extra);
    callvar(&args)
}

/// A failed run: exit 1, one error line containing `what`, nothing named `out*` left in `dir`.
fn refused(o: &Output, what: &str, dir: &Path, out: &str) {
    assert_eq!(o.status.code(), Some(1), "expected exit 1: {}", err(o));
    let e = err(o);
    assert_eq!(e.trim().lines().count(), 1, "one line expected: {e}");
    assert!(e.contains(what), "error should say '{what}': {e}");
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(out))
        .collect();
    assert!(left.is_empty(), "output left behind: {left:?}");
}

fn records(path: &Path) -> Vec<String> {
    let o = Command::new("bcftools")
        .args(["view", "-H"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn fasta_index_out_of_step_is_refused() {
    let d = tmpdir("fai");
    // a description added to the header line after `samtools faidx`: every offset shifts
    sh(&format!(
        "zcat {r} | sed '1s/.*/>chr20 GRCh37 chromosome 20/' > {d}/ref.fa && cp {r}.fai {d}/ref.fa.fai",
        r = td("ref.fa.gz"),
        d = d.display()
    ));
    let out = d.join("out.vcf");
    let o = call(
        &td("na12878.bam"),
        s(&out),
        &["--ref", s(&d.join("ref.fa"))],
    );
    refused(&o, "ref.fa.fai is out of step with the FASTA", &d, "out");
    // re-indexed, the same FASTA calls the same records as the bundled one
    sh(&format!("samtools faidx {}/ref.fa", d.display()));
    let o = call(
        &td("na12878.bam"),
        s(&out),
        &["--ref", s(&d.join("ref.fa")), "--regions", REGION, "-q"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let bundled = d.join("bundled.vcf");
    assert!(call(
        &td("na12878.bam"),
        s(&bundled),
        &["--regions", REGION, "-q"]
    )
    .status
    .success());
    assert_eq!(records(&out), records(&bundled));
    // plain gzip is not seekable: say to bgzip it
    std::fs::remove_file(&out).unwrap();
    sh(&format!(
        "zcat {} | gzip > {}/g.fa.gz",
        td("ref.fa.gz"),
        d.display()
    ));
    let o = call(
        &td("na12878.bam"),
        s(&out),
        &["--ref", s(&d.join("g.fa.gz"))],
    );
    refused(&o, "plain gzip, not bgzip", &d, "out");
    assert!(err(&o).contains("bgzip"));
}

#[test]
fn alignment_index_is_checked_by_content() {
    let d = tmpdir("index");
    let dd = d.display();
    let bam = td("na12878.bam");
    let out = d.join("out.vcf");
    // an index of an older, shorter version of the same BAM, newer on disk than the BAM
    sh(&format!(
        "samtools view -b -o {dd}/s.bam {bam} chr20:10000000-10010000 && samtools index {dd}/s.bam && \
         samtools view -b -o {dd}/s.bam {bam} chr20:10000000-10020000 && touch -d '+1 min' {dd}/s.bam.bai"
    ));
    let o = call(s(&d.join("s.bam")), s(&out), &[]);
    refused(&o, "s.bam: index", &d, "out");
    assert!(err(&o).contains("samtools index"), "{}", err(&o));
    // the same with a CSI index
    sh(&format!(
        "samtools view -b -o {dd}/c.bam {bam} chr20:10000000-10010000 && samtools index -c {dd}/c.bam && \
         samtools view -b -o {dd}/c.bam {bam} && touch -d '+1 min' {dd}/c.bam.csi"
    ));
    let o = call(s(&d.join("c.bam")), s(&out), &[]);
    refused(&o, "c.bam: index", &d, "out");
    // a fresh CSI index is used
    sh(&format!("samtools index -c {dd}/c.bam"));
    let o = call(s(&d.join("c.bam")), s(&out), &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
    std::fs::remove_file(&out).unwrap();
    // a CRAM index from a shorter CRAM
    let r = td("ref.fa.gz");
    sh(&format!(
        "samtools view -C -T {r} -o {dd}/k.cram {bam} chr20:10000000-10010000 2>/dev/null && samtools index {dd}/k.cram && \
         samtools view -C -T {r} -o {dd}/k.cram {bam} 2>/dev/null && touch -d '+1 min' {dd}/k.cram.crai"
    ));
    let o = call(s(&d.join("k.cram")), s(&out), &[]);
    refused(&o, "k.cram: index", &d, "out");
    sh(&format!("samtools index {dd}/k.cram"));
    let o = call(s(&d.join("k.cram")), s(&out), &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn outputs_never_replace_inputs() {
    let d = tmpdir("clobber");
    let dd = d.display();
    sh(&format!(
        "cp {} {} {dd}/ && cp {} {dd}/r.fa.gz && cp {}.fai {dd}/r.fa.gz.fai && cp {}.gzi {dd}/r.fa.gz.gzi && \
         printf 'chr20\\t10000000\\t10020000\\n' > {dd}/r.bed && cp -r {}/models/illumina-wgs {dd}/m",
        td("na12878.bam"),
        td("na12878.bam.bai"),
        td("ref.fa.gz"),
        td("ref.fa.gz"),
        td("ref.fa.gz"),
        env!("CARGO_MANIFEST_DIR")
    ));
    let digest = || {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "cd {dd} && cat na12878.bam na12878.bam.bai r.fa.gz* r.bed m/* | md5sum"
            ))
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let before = digest();
    let (bam, r, bed) = (d.join("na12878.bam"), d.join("r.fa.gz"), d.join("r.bed"));
    let base = |o: &str, g: Option<&str>| {
        let mut a = vec![
            "call",
            "--ref",
            s(&r),
            "--reads",
            s(&bam),
            "--regions-file",
            s(&bed),
            "--model",
        ];
        let m = d.join("m");
        let m = s(&m).to_string();
        a.push(&m);
        a.extend(["-o", o, "-q"]);
        if let Some(g) = g {
            a.extend(["--gvcf", g]);
        }
        callvar(&a)
    };
    for target in [
        s(&bam).to_string(),
        s(&r).to_string(),
        s(&bed).to_string(),
        format!("{dd}/m/card.json"),
        format!("{dd}/na12878.bam.bai"),
    ] {
        let o = base(&target, None);
        assert_eq!(o.status.code(), Some(1), "{target}: {}", err(&o));
        assert!(err(&o).contains("names an input file"), "{}", err(&o));
        let o = base(&format!("{dd}/ok.vcf"), Some(&target));
        assert!(
            err(&o).contains("--gvcf names an input file"),
            "{}",
            err(&o)
        );
    }
    // a symlink to an input is an input too
    std::os::unix::fs::symlink(&bam, d.join("link.vcf")).unwrap();
    let o = base(&format!("{dd}/link.vcf"), None);
    assert!(err(&o).contains("names an input file"), "{}", err(&o));
    assert_eq!(digest(), before, "an input changed");
}

#[test]
fn stream_targets_are_written_not_replaced() {
    let d = tmpdir("streams");
    let bam = td("na12878.bam");
    let expected = {
        let o = call(&bam, "-", &["--regions", REGION, "-q"]);
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    let body = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("##callvarCommand"))
            .map(String::from)
            .collect()
    };
    // a FIFO: its reader gets the VCF, the FIFO stays a FIFO
    let fifo = d.join("out.vcf");
    sh(&format!("mkfifo {}", fifo.display()));
    let reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let o = call(&bam, s(&fifo), &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
    let got = reader.wait_with_output().unwrap();
    assert_eq!(
        body(&String::from_utf8(got.stdout).unwrap()),
        body(&expected)
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    // /dev/stdout streams into whatever stdout is
    let o = call(&bam, "/dev/stdout", &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(body(&String::from_utf8(o.stdout).unwrap()), body(&expected));
    // a symlink is followed: the link stays, its target receives the VCF
    std::os::unix::fs::symlink("target.vcf", d.join("link.vcf")).unwrap();
    let o = call(&bam, s(&d.join("link.vcf")), &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(std::fs::symlink_metadata(d.join("link.vcf"))
        .unwrap()
        .file_type()
        .is_symlink());
    let t = std::fs::read_to_string(d.join("target.vcf")).unwrap();
    assert_eq!(body(&t), body(&expected));
}

#[test]
fn outputs_are_all_or_nothing() {
    let d = tmpdir("atomic");
    let bam = td("na12878.bam");
    // the gVCF cannot be created (its folder is a file): no VCF either
    std::fs::write(d.join("afile"), "x").unwrap();
    let out = d.join("out.vcf.gz");
    let g = d.join("afile/out.g.vcf.gz");
    let o = call(&bam, s(&out), &["--regions", REGION, "--gvcf", s(&g)]);
    refused(&o, "afile", &d, "out");
    // stdout closed (the reader is gone before the first record) while a gVCF is written:
    // an error, and no gVCF
    let g = d.join("out.g.vcf.gz");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{BIN} call --ref {} --reads {bam} --regions {REGION} -o - --gvcf {} -q | true; exit ${{PIPESTATUS[0]}}",
            td("ref.fa.gz"),
            g.display()
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("not written"), "{}", err(&o));
    assert!(!g.exists());
    // without a gVCF, a closed pipe is the quiet end of `| head`
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{BIN} call --ref {} --reads {bam} --regions {REGION} -o - -q | true; exit ${{PIPESTATUS[0]}}",
            td("ref.fa.gz")
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // BCF is refused rather than written as text
    let o = call(&bam, s(&d.join("out.bcf")), &["--regions", REGION]);
    refused(&o, "BCF output is not supported", &d, "out");
}

#[test]
fn interrupt_removes_temporary_files() {
    let d = tmpdir("sigint");
    let fifo = d.join("g.vcf");
    sh(&format!("mkfifo {}", fifo.display()));
    // the gVCF FIFO has no reader, so the run waits after creating the VCF's temporary file
    let mut child = Command::new(BIN)
        .args([
            "call",
            "--ref",
            &td("ref.fa.gz"),
            "--reads",
            &td("na12878.bam"),
        ])
        .args(["-o", s(&d.join("out.vcf.gz")), "--gvcf", s(&fifo), "-q"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("callvar-partial"))
    };
    let t = std::time::Instant::now();
    while !partial(&d) {
        assert!(t.elapsed().as_secs() < 60, "no temporary file appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sh(&format!("kill -INT {}", child.id()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!partial(&d), "temporary file left after SIGINT");
    assert!(!d.join("out.vcf.gz").exists());
}

#[test]
fn unusual_but_legal_reads_are_handled() {
    let d = tmpdir("reads");
    let dd = d.display();
    let bam = td("na12878.bam");
    // MAPQ 255 (unavailable, as STAR writes for unique hits): used, and counted on stderr
    sh(&format!(
        "samtools view -h {bam} | awk 'BEGIN{{OFS=\"\\t\"}} /^@/{{print;next}} {{$5=255; print}}' | samtools view -b -o {dd}/m.bam - && samtools index {dd}/m.bam"
    ));
    let out = d.join("m.vcf");
    let o = call(s(&d.join("m.bam")), s(&out), &["--regions", REGION]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("MAPQ 255 (unavailable) and were used as MAPQ 60"),
        "{}",
        err(&o)
    );
    let n = records(&out).len();
    assert!(n > 90, "MAPQ-255 reads were not used: {n} records");
    // SEQ `*` and QUAL `*`: no panic; reads without a sequence are skipped and counted
    sh(&format!(
        "samtools view -h {bam} | awk 'BEGIN{{OFS=\"\\t\"}} /^@/{{print;next}} NR%3==0{{$10=\"*\";$11=\"*\"}} NR%3==1{{$11=\"*\"}} {{print}}' | samtools view -b -o {dd}/s.bam - && samtools index {dd}/s.bam"
    ));
    let o = call(
        s(&d.join("s.bam")),
        s(&d.join("s.vcf")),
        &["--regions", REGION],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("without a stored sequence (SEQ *) were skipped"),
        "{}",
        err(&o)
    );
    assert!(!records(&d.join("s.vcf")).is_empty());
}

#[test]
fn samples_are_chosen_never_pooled_silently() {
    let d = tmpdir("samples");
    let dd = d.display();
    sh(&format!(
        "samtools view -h {} | awk 'BEGIN{{OFS=\"\\t\"}} /^@RG/{{print \"@RG\\tID:A\\tSM:alice\"; print \"@RG\\tID:B\\tSM:bob\"; next}} /^@/{{print;next}} {{sub(/\\tRG:Z:[^\\t]*/,\"\"); print $0 \"\\tRG:Z:\" (NR%2?\"A\":\"B\")}}' | samtools view -b -o {dd}/two.bam - && samtools index {dd}/two.bam",
        td("na12878.bam")
    ));
    let two = d.join("two.bam");
    let out = d.join("out.vcf");
    let o = call(s(&two), s(&out), &["--regions", REGION]);
    refused(&o, "holds 2 samples (alice, bob)", &d, "out");
    let o = call(
        s(&two),
        s(&out),
        &["--regions", REGION, "--sample", "carol"],
    );
    refused(&o, "no read group has sample 'carol'", &d, "out");
    let column = |o: &Output| {
        assert!(o.status.success(), "{}", err(o));
        let t = std::fs::read_to_string(&out).unwrap();
        let h = t
            .lines()
            .find(|l| l.starts_with("#CHROM"))
            .unwrap()
            .to_string();
        let depth: u64 = t
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let keys: Vec<&str> = f[8].split(':').collect();
                let i = keys.iter().position(|k| *k == "DP").unwrap();
                f[9].split(':').nth(i).unwrap().parse::<u64>().unwrap()
            })
            .sum();
        (h.rsplit('\t').next().unwrap().to_string(), depth)
    };
    let (bob, bob_dp) = column(&call(
        s(&two),
        s(&out),
        &["--regions", REGION, "--sample", "bob"],
    ));
    assert_eq!(bob, "bob");
    let (pooled, pooled_dp) = column(&call(
        s(&two),
        s(&out),
        &["--regions", REGION, "--pool-samples"],
    ));
    assert_eq!(pooled, "alice+bob");
    assert!(
        bob_dp * 3 < pooled_dp * 2,
        "bob's column should hold about half the reads"
    );
    // names a VCF header cannot carry
    std::fs::remove_file(&out).unwrap();
    for bad in ["", "a\tb", "a\nb"] {
        let o = call(&td("na12878.bam"), s(&out), &["--sample", bad]);
        refused(&o, "--sample", &d, "out");
    }
}

#[test]
fn messages_say_what_is_wrong() {
    let d = tmpdir("messages");
    let dd = d.display();
    let bam = td("na12878.bam");
    let out = d.join("out.vcf");
    // plain SAM
    sh(&format!(
        "samtools view -h {bam} > {dd}/r.sam && cp {bam}.bai {dd}/r.sam.bai"
    ));
    let o = call(s(&d.join("r.sam")), s(&out), &[]);
    refused(&o, "not a BAM or CRAM (plain SAM text?)", &d, "out");
    // a header that says the file is not coordinate-sorted
    sh(&format!(
        "(printf '@HD\\tVN:1.6\\tSO:queryname\\n'; samtools view -H {bam}) > {dd}/h.sam && samtools reheader {dd}/h.sam {bam} > {dd}/q.bam && samtools index {dd}/q.bam"
    ));
    let o = call(s(&d.join("q.bam")), s(&out), &[]);
    refused(&o, "not sorted by coordinate (@HD SO:queryname)", &d, "out");
    // a CRAM whose @SQ M5 differs from the reference given (one base changed)
    let r = td("ref.fa.gz");
    sh(&format!(
        "samtools dict {r} | grep '^@SQ' > {dd}/sq && samtools view -h {bam} | awk -v sq=\"$(cat {dd}/sq)\" '/^@SQ/{{if(!d){{print sq; d=1}}; next}} {{print}}' | samtools view -C -T {r} -o {dd}/m5.cram - 2>/dev/null && samtools index {dd}/m5.cram && \
         zcat {r} | awk 'NR==200102{{$0=\"N\" substr($0,2)}} {{print}}' | bgzip > {dd}/other.fa.gz && samtools faidx {dd}/other.fa.gz"
    ));
    let o = call(
        s(&d.join("m5.cram")),
        s(&out),
        &["--ref", s(&d.join("other.fa.gz"))],
    );
    refused(&o, "has M5", &d, "out");
    let o = call(s(&d.join("m5.cram")), s(&out), &["--regions", REGION, "-q"]);
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn numeric_flags_are_checked_at_parse_time() {
    let bam = td("na12878.bam");
    for (flag, value) in [
        ("--threads", "0"),
        ("--min-snv-fraction", "NaN"),
        ("--min-snv-fraction", "1.5"),
        ("--min-indel-fraction", "-0.1"),
        ("--min-qual", "inf"),
        ("--min-alt-count", "0"),
        ("--chunk-size", "0"),
    ] {
        let o = call(&bam, "-", &[&format!("{flag}={value}")]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", err(&o));
        assert!(err(&o).contains(flag), "{}", err(&o));
        assert!(!err(&o).contains("panicked"));
    }
}

#[test]
fn samtools_conventions_and_run_summary() {
    let d = tmpdir("conventions");
    let bam = td("na12878.bam");
    // thousands separators, as in the README's own example, and a gzipped BED
    let a = call(
        &bam,
        "-",
        &["--regions", "chr20:10,000,000-10,020,000", "-q"],
    );
    let b = call(&bam, "-", &["--regions", REGION, "-q"]);
    assert!(a.status.success(), "{}", err(&a));
    let strip = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("##callvarCommand"))
            .map(String::from)
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    sh(&format!(
        "printf 'chr20\\t9999999\\t10020000\\n' | gzip > {}/r.bed.gz",
        d.display()
    ));
    let c = call(&bam, "-", &["--regions-file", s(&d.join("r.bed.gz")), "-q"]);
    assert!(c.status.success(), "{}", err(&c));
    assert_eq!(strip(&c), strip(&b));
    // one summary line on stderr (records, PASS, time, device, outputs); -v adds stages;
    // --quiet none; the device is in the header
    let out = d.join("s.vcf.gz");
    let o = call(&bam, s(&out), &["--regions", REGION]);
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    let n = records(&out).len();
    assert!(e.contains(&format!("{n} records (")), "{e}");
    assert!(e.contains("PASS) in ") && e.contains(" on cpu; wrote ") && e.contains("s.vcf.gz"));
    let o = call(&bam, s(&out), &["--regions", REGION, "-v"]);
    assert!(err(&o).lines().filter(|l| l.contains("stage ")).count() >= 3);
    let o = call(&bam, s(&out), &["--regions", REGION, "--quiet"]);
    assert!(err(&o).is_empty());
    let h = Command::new("bcftools")
        .args(["view", "-h"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&h.stdout).contains("##callvarDevice=cpu"));
}

#[test]
fn contigs_too_long_for_tabix_get_a_csi_index() {
    let d = tmpdir("csi");
    let dd = d.display();
    // the bundled reference plus a 540 Mb contig (beyond .tbi's 2^29 bp)
    sh(&format!(
        "(zcat {}; echo '>chrBig'; head -c 540000000 /dev/zero | tr '\\0' N | fold -w 100) | bgzip -l 1 > {dd}/big.fa.gz && samtools faidx {dd}/big.fa.gz",
        td("ref.fa.gz")
    ));
    let out = d.join("out.vcf.gz");
    std::fs::write(d.join("out.vcf.gz.tbi"), "stale").unwrap();
    let o = call(
        &td("na12878.bam"),
        s(&out),
        &["--ref", s(&d.join("big.fa.gz")), "--regions", REGION, "-q"],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(d.join("out.vcf.gz.csi").is_file());
    assert!(
        !d.join("out.vcf.gz.tbi").exists(),
        "a stale .tbi would shadow the .csi"
    );
    let q = Command::new("bcftools")
        .args(["view", "-H", "-r", "chr20:10000000-10005000"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", err(&q));
    let n = String::from_utf8_lossy(&q.stdout).lines().count();
    assert!(n > 0 && n < records(&out).len());
}

#[test]
fn eval_flags_are_checked_at_parse_time() {
    let (r, t) = (td("ref.fa.gz"), td("truth.vcf.gz"));
    for bad in [
        &["--min-f1", "SNP=abc"][..],
        &["--min-f1", "SNP=1.5"],
        &["--min-f1", "SNV=0.9"],
        &["--score", "DP"],
        &["--stratify", "no-equals-sign"],
    ] {
        let mut args = vec!["eval", "--ref", &r, "--truth", &t, "--calls", &t];
        args.extend_from_slice(bad);
        let o = callvar(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", err(&o));
        assert!(err(&o).contains(bad[0]), "{}", err(&o));
    }
}
