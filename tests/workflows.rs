//! The workflow runners in workflows/ on real reads (testdata/):
//! - Dask (workflows/dask/callvar_dask.py): a local cluster of 2 worker processes, one
//!   killed while it runs a shard and one shard failing once; the merged VCF and gVCF must
//!   equal one `callvar call` run (the Python test does the work; Python with dask comes
//!   from `make setup`).
//! - Nextflow (workflows/nextflow/): Nextflow is not installed here, so each process's
//!   `script:` and `stub:` blocks are taken from its main.nf, interpolated as Nextflow
//!   would (Groovy `${…}`, `\$`, `\\`, common indentation stripped) and run with bash in a
//!   staged work folder (inputs as symlinks, relative names) for the chain shards → call
//!   per shard → merge; outputs must match the `output:` declarations, nothing may be
//!   written outside the work folder, and the merged files must equal one run.
mod common;
use common::td;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_callvar");
const REGION: &str = "chr20:10000001-10003000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn dask_runner_survives_a_killed_worker_and_matches_one_run() {
    let has_dask = Command::new("python3")
        .args(["-c", "import distributed"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_dask,
        "python3 with dask.distributed is needed (run `make setup`, which installs it into the torch venv, and put that venv's bin/ first on PATH)"
    );
    let d = common::tmpdir("workflows", "dask");
    let o = Command::new("python3")
        .arg(root().join("workflows/dask/test_callvar_dask.py"))
        .arg(root().join("testdata"))
        .arg(&d)
        .env("CALLVAR", BIN)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("VCF and gVCF identical to one run"), "{out}");
    assert!(err.contains("2 attempts retried (1 failed, 1 lost with their worker)"));
}

/// A process of a module: its name and sections.
struct Process {
    name: String,
    text: String,
}

fn module(name: &str) -> Process {
    let path = root().join(format!("workflows/nextflow/modules/callvar/{name}/main.nf"));
    let text = std::fs::read_to_string(&path).unwrap();
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("process "))
        .and_then(|l| l.strip_suffix(" {"))
        .unwrap()
        .to_string();
    Process { name, text }
}

impl Process {
    /// The text of a section (`script:`, `output:` …) up to the next section.
    fn section(&self, label: &str) -> &str {
        let start = self
            .text
            .find(&format!("\n    {label}:\n"))
            .unwrap_or_else(|| panic!("{}: no {label}: section", self.name))
            + label.len()
            + 7;
        let rest = &self.text[start..];
        let end = ["input:", "output:", "when:", "script:", "stub:"]
            .iter()
            .filter_map(|l| rest.find(&format!("\n    {l}\n")))
            .min()
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// The shell script of `script:` or `stub:` as Nextflow renders it with `vars`.
    fn shell(&self, label: &str, vars: &BTreeMap<&str, String>) -> String {
        let s = self.section(label);
        let a = s.find("\"\"\"").unwrap() + 3;
        let b = a + s[a..].find("\"\"\"").unwrap();
        strip_indent(&interpolate(&s[a..b], vars))
    }

    /// Output files declared in `output:` (pattern, optional), with `vars` interpolated.
    fn outputs(&self, vars: &BTreeMap<&str, String>) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for line in self.section("output").lines() {
            let optional = line.contains("optional: true");
            let mut rest = line;
            while let Some(i) = rest.find("path(\"").or_else(|| rest.find("path \"")) {
                let from = i + 6;
                let len = rest[from..].find('"').unwrap();
                out.push((interpolate(&rest[from..from + len], vars), optional));
                rest = &rest[from + len..];
            }
        }
        out
    }
}

/// Groovy GString interpolation: `${expr}` and `$name.field` from `vars`; `\$` and `\\`.
fn interpolate(s: &str, vars: &BTreeMap<&str, String>) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let var = |name: &str| -> String {
        vars.get(name)
            .unwrap_or_else(|| panic!("no value for ${{{name}}}"))
            .clone()
    };
    while i < c.len() {
        match c[i] {
            '\\' => {
                assert!(matches!(c.get(i + 1), Some('\\' | '$')), "escape in {s}");
                out.push(c[i + 1]);
                i += 2;
            }
            '$' if c.get(i + 1) == Some(&'{') => {
                let end = i + c[i..].iter().position(|&x| x == '}').unwrap();
                out.push_str(&var(&c[i + 2..end].iter().collect::<String>()));
                i = end + 1;
            }
            '$' => {
                let n = c[i + 1..]
                    .iter()
                    .take_while(|x| x.is_ascii_alphanumeric() || **x == '_' || **x == '.')
                    .count();
                out.push_str(&var(&c[i + 1..i + 1 + n].iter().collect::<String>()));
                i += 1 + n;
            }
            x => {
                out.push(x);
                i += 1;
            }
        }
    }
    out
}

/// Groovy's stripIndent: removes the indentation common to all non-blank lines.
fn strip_indent(s: &str) -> String {
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    s.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_start_matches('\n')
        .to_string()
        + "\n"
}

/// Every file under `dir` (but `skip`) with its size and modification time.
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p == skip {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.extend(snapshot(&p, skip));
        }
        out.insert(p, (m.len(), m.modified().unwrap()));
    }
    out
}

/// Runs a process's `label` block in a fresh work folder with `inputs` staged as symlinks
/// (name in the work folder, file), like a Nextflow task; checks the declared outputs.
fn run_task(
    base: &Path,
    p: &Process,
    label: &str,
    task: &str,
    inputs: &[(String, PathBuf)],
    vars: &BTreeMap<&str, String>,
) -> PathBuf {
    let work = base.join("work").join(task);
    std::fs::create_dir_all(&work).unwrap();
    for (name, file) in inputs {
        let at = work.join(name);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(file, at).unwrap();
    }
    let script = p.shell(label, vars);
    std::fs::write(work.join(".command.sh"), &script).unwrap();
    let before = snapshot(base, &work);
    let o = Command::new("bash")
        .args(["-euo", "pipefail", ".command.sh"])
        .current_dir(&work)
        .env(
            "PATH",
            format!(
                "{}:{}",
                base.join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} {label} failed:\n{script}\n{}",
        p.name,
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        snapshot(base, &work),
        before,
        "{} wrote outside its work folder",
        p.name
    );
    for (pattern, optional) in p.outputs(vars) {
        let found = Command::new("bash")
            .args(["-c", &format!("compgen -G '{pattern}'")])
            .current_dir(&work)
            .output()
            .unwrap();
        assert!(
            optional || found.status.success(),
            "{} {label}: no output matches {pattern}",
            p.name
        );
    }
    let versions = std::fs::read_to_string(work.join("versions.yml")).unwrap();
    assert_eq!(
        versions,
        format!(
            "\"{}\":\n    callvar: {}\n",
            p.name,
            env!("CARGO_PKG_VERSION")
        )
    );
    work
}

fn vcf_lines(path: &Path) -> Vec<String> {
    let mut t = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut t)
        .unwrap();
    t.lines()
        .filter(|l| !l.starts_with("##callvarCommand="))
        .map(String::from)
        .collect()
}

#[test]
fn nextflow_modules_run_as_staged_tasks_and_merge_to_one_run() {
    let base = common::tmpdir("workflows", "nextflow");
    std::fs::create_dir_all(base.join("bin")).unwrap();
    std::os::unix::fs::symlink(BIN, base.join("bin/callvar")).unwrap();
    let (shards, call, merge) = (module("shards"), module("call"), module("merge"));
    let input = |n: &str| (n.to_string(), PathBuf::from(td(n)));
    let reference = [
        input("ref.fa.gz"),
        input("ref.fa.gz.fai"),
        input("ref.fa.gz.gzi"),
    ];
    let reads = [input("na12878.bam"), input("na12878.bam.bai")];
    let vars = |pairs: &[(&'static str, &str)]| -> BTreeMap<&'static str, String> {
        let mut m: BTreeMap<&str, String> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        m.insert("fasta", "ref.fa.gz".into());
        m.insert("reads", "na12878.bam".into());
        m.insert("meta.id", "NA12878".into());
        m
    };
    // CALLVAR_SHARDS
    let args = format!("-n 3 --chunk-size 1000 --regions {REGION}");
    let staged: Vec<_> = reference.iter().chain(&reads).cloned().collect();
    let v = vars(&[
        ("args", args.as_str()),
        ("task.process", shards.name.as_str()),
    ]);
    let plan_dir = run_task(&base, &shards, "script", "shards", &staged, &v).join("shards");
    let beds: Vec<PathBuf> = (1..=3)
        .map(|k| plan_dir.join(format!("shard-000{k}.bed")))
        .collect();
    assert!(beds.iter().all(|b| b.is_file()) && !plan_dir.join("shard-0004.bed").exists());
    // CALLVAR_CALL per shard, on CPU (no task.accelerator), with a gVCF
    let gpu_path = "def device = task.accelerator ? '--device cuda' : '--device cpu'";
    assert!(call.section("script").contains(gpu_path));
    let mut outs = Vec::new();
    for bed in &beds {
        let stem = bed.file_stem().unwrap().to_str().unwrap();
        let prefix = format!("NA12878.{stem}");
        let mut staged = staged.clone();
        staged.push((format!("{stem}.bed"), bed.clone()));
        let (gvcf, bed_name) = (format!("--gvcf {prefix}.g.vcf.gz"), format!("{stem}.bed"));
        let v = vars(&[
            ("bed", bed_name.as_str()),
            ("bed.baseName", stem),
            ("prefix", prefix.as_str()),
            ("device", "--device cpu"),
            ("gvcf", gvcf.as_str()),
            ("task.cpus", "1"),
            ("args", "--chunk-size 1000"),
            ("task.process", call.name.as_str()),
        ]);
        let w = run_task(&base, &call, "script", &format!("call-{stem}"), &staged, &v);
        outs.push((
            w.join(format!("{prefix}.vcf.gz")),
            w.join(format!("{prefix}.g.vcf.gz")),
        ));
    }
    // CALLVAR_MERGE: shards staged as shards/NAME, plan as plan.tsv, in any order
    let mut merged = Vec::new();
    for (gvcf, prefix) in [(false, "NA12878"), (true, "NA12878.g")] {
        let mut staged: Vec<_> = reference.to_vec();
        staged.push(("plan.tsv".into(), plan_dir.join("plan.tsv")));
        let mut names = Vec::new();
        for (vcf, g) in outs.iter().rev() {
            let f = if gvcf { g } else { vcf };
            let name = format!("shards/{}", f.file_name().unwrap().to_str().unwrap());
            staged.push((name.clone(), f.clone()));
            names.push(name);
        }
        let vcfs = names.join(" ");
        let v = vars(&[
            ("plan", "plan.tsv"),
            ("vcfs", vcfs.as_str()),
            ("prefix", prefix),
            ("args", if gvcf { "--gvcf" } else { "" }),
            ("task.process", merge.name.as_str()),
        ]);
        let w = run_task(
            &base,
            &merge,
            "script",
            &format!("merge-{prefix}"),
            &staged,
            &v,
        );
        merged.push(w.join(format!("{prefix}.vcf.gz")));
    }
    // one run over the same regions
    let (single, gsingle) = (base.join("single.vcf.gz"), base.join("single.g.vcf.gz"));
    let o = Command::new(BIN)
        .args([
            "call",
            "--ref",
            &td("ref.fa.gz"),
            "--reads",
            &td("na12878.bam"),
        ])
        .args(["--regions", REGION, "--chunk-size", "1000", "-q", "-o"])
        .arg(&single)
        .arg("--gvcf")
        .arg(&gsingle)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(vcf_lines(&merged[0]), vcf_lines(&single));
    assert_eq!(vcf_lines(&merged[1]), vcf_lines(&gsingle));
    assert!(
        vcf_lines(&single)
            .iter()
            .filter(|l| !l.starts_with('#'))
            .count()
            > 10
    );
    // the stubs make every declared output
    for (p, extra) in [
        (&shards, vec![]),
        (&call, vec![("bed", "s.bed"), ("bed.baseName", "s")]),
        (&merge, vec![]),
    ] {
        let prefix = if p.name == "CALLVAR_CALL" {
            "NA12878.s"
        } else {
            "NA12878"
        };
        let mut pairs = vec![("prefix", prefix), ("task.process", p.name.as_str())];
        pairs.extend(extra);
        let v = vars(&pairs);
        run_task(&base, p, "stub", &format!("stub-{}", p.name), &[], &v);
    }
}

#[test]
fn nextflow_files_are_well_formed_dsl2() {
    let nf = root().join("workflows/nextflow");
    let main = std::fs::read_to_string(nf.join("main.nf")).unwrap();
    let config = std::fs::read_to_string(nf.join("nextflow.config")).unwrap();
    for (name, text) in [("main.nf", &main), ("nextflow.config", &config)] {
        assert_eq!(
            text.matches('{').count(),
            text.matches('}').count(),
            "{name}"
        );
    }
    assert!(main.contains("nextflow.enable.dsl = 2"));
    for m in ["shards", "call", "merge"] {
        let p = module(m);
        let t = &p.text;
        assert_eq!(t.matches('{').count(), t.matches('}').count(), "{m}");
        assert!(main.contains(&format!("from './modules/callvar/{m}/main'")));
        for part in [
            "tag ",
            "label 'process_",
            "input:",
            "output:",
            "when:",
            "script:",
            "stub:",
        ] {
            assert!(t.contains(part), "{m}: no {part}");
        }
        assert!(p.section("output").contains("emit: versions"));
        // every `.out.NAME` the workflow uses is emitted
        for used in main.split(&format!("{}.out.", p.name)).skip(1) {
            let emit: String = used.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(
                p.section("output").contains(&format!("emit: {emit}")),
                "{m}: {emit}"
            );
        }
        let meta =
            std::fs::read_to_string(nf.join(format!("modules/callvar/{m}/meta.yml"))).unwrap();
        assert!(
            meta.starts_with(&format!("name: \"{}\"", p.name.to_lowercase())),
            "{m}"
        );
        for key in ["\ninput:", "\noutput:", "\ntools:", "versions.yml"] {
            assert!(meta.contains(key), "{m} meta.yml: {key}");
        }
        assert!(
            config.contains(&format!("'{}", p.name)),
            "{m}: not configured"
        );
    }
}
