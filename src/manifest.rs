//! The run manifest (`call --manifest run.json`): one JSON document that says exactly what
//! produced a VCF, for audit and for re-running it.
//!
//! `inputs` is everything fixed before the first record is written and that decides the
//! records: the software (callvar version and commit, libtorch and CUDA), the command line
//! and every effective parameter (given or default, from clap), the device, the model (card
//! and weights SHA-256), the reference (file MD5 and size, `.fai`/`.gzi` SHA-256, the
//! sequence MD5 of each called contig — `samtools dict`'s M5 — or of every contig with
//! `--hash-inputs`), each reads file (size, SHA-256 of its header text and of its index; of
//! the whole file only with `--hash-inputs`) and every other input file (regions BED,
//! clinical BED). `model_card` is the card itself, `run` when, where and how it went (host,
//! times, counts), and `outputs` the size and SHA-256 of every file written.
//!
//! The VCF header carries `##callvarManifestSHA256=`, the SHA-256 of the `inputs` part in
//! canonical form (compact JSON, keys sorted, no floating-point numbers), also stored as
//! `inputs_sha256`. That breaks the circle (the manifest holds the VCF's checksum, so the
//! VCF cannot hold the manifest's): the VCF names the inputs that made it, and the
//! manifest, found by that digest, names the VCF by its checksum. Host and times stay
//! outside the digest, so the same inputs give the same VCF wherever they run. Check:
//! `python3 -c 'import json,hashlib,sys; i=json.load(open(sys.argv[1]))["inputs"];
//! print(hashlib.sha256(json.dumps(i,sort_keys=True,separators=(",",":"),ensure_ascii=False).encode()).hexdigest())' run.json`.
use crate::model::{Model, ModelCard};
use crate::reads::Alignments;
use crate::reference::{file_digest, hex, RefReader, Reference};
use crate::side_output::{SideFile, Written};
use anyhow::{Context, Result};
use md5::{Digest as _, Md5};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Bases fetched at a time when hashing a contig: memory stays small on a 250 Mb contig.
const MD5_WINDOW: u64 = 1 << 20;

/// What the `inputs` part is built from.
pub struct InputFacts<'a> {
    pub command_line: &'a str,
    /// Every flag of the command with its effective value and where it came from.
    pub parameters: Value,
    /// Values resolved at run time (device, sample, regions).
    pub resolved: Value,
    pub model: &'a Model,
    pub reference: &'a Reference,
    pub alignments: &'a Alignments,
    /// Contigs whose sequence MD5 is recorded (the called ones, or all with `--hash-inputs`).
    pub contigs: Vec<String>,
    /// Other input files, by flag.
    pub files: Vec<(&'static str, PathBuf)>,
    /// Also hash the reads and reference files whole.
    pub hash_inputs: bool,
}

fn size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len())
}

/// Path as given, absolute path, size and SHA-256 of a small file.
fn file_entry(path: &Path) -> Result<Value> {
    Ok(json!({
        "path": path.display().to_string(),
        "absolute_path": crate::output::absolute(path),
        "bytes": size(path)?,
        "sha256": file_digest::<Sha256>(path)?,
    }))
}

/// MD5 of each contig's upper-case sequence, as `samtools dict` writes it in `M5`: contigs
/// in parallel on the current rayon pool (each worker thread with one reader, opened once),
/// each streamed in windows so memory stays small.
pub fn contig_md5s(reference: &Reference, contigs: &[String]) -> Result<HashMap<String, String>> {
    let threads = rayon::current_num_threads();
    let readers: Vec<Mutex<RefReader>> = (0..threads)
        .map(|_| reference.reader().map(Mutex::new))
        .collect::<Result<_>>()?;
    contigs
        .par_iter()
        .map(|c| {
            let len = reference
                .contig_len(c)
                .with_context(|| format!("contig '{c}' not in the reference"))?;
            let i = rayon::current_thread_index().unwrap_or(0) % readers.len();
            let reader = readers[i].lock().unwrap_or_else(|p| p.into_inner());
            let mut h = Md5::new();
            let mut at = 0;
            while at < len {
                let end = (at + MD5_WINDOW).min(len);
                h.update(reader.fetch(c, at, end)?);
                at = end;
            }
            Ok((c.clone(), hex(&h.finalize())))
        })
        .collect()
}

/// SHA-256 of the reads file's header text (SAM header as stored).
fn header_sha256(path: &Path) -> Result<String> {
    use rust_htslib::bam::Read as _;
    let r = rust_htslib::bam::Reader::from_path(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read header: {e}", path.display()))?;
    Ok(hex(&Sha256::digest(r.header().as_bytes())))
}

/// A manifest to write at the end of a `call` run.
pub struct ManifestJob<'a> {
    pub file: SideFile,
    pub facts: InputFacts<'a>,
    pub started: SystemTime,
}

/// Builds the `inputs` part; `reference_md5` is the file MD5 already computed for the VCF
/// header, `device` the device(s) used. Contig MD5s are computed on the current rayon pool.
pub fn inputs(f: &InputFacts, reference_md5: &str, device: &str) -> Result<Value> {
    let r = f.reference;
    let md5s = contig_md5s(r, &f.contigs)?;
    let contigs: Vec<Value> = r
        .contigs
        .iter()
        .map(|(name, len)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert("length".into(), json!(len));
            if let Some(md5) = md5s.get(name) {
                m.insert("md5".into(), json!(md5));
            }
            Value::Object(m)
        })
        .collect();
    let mut reference = json!({
        "path": r.path.display().to_string(),
        "absolute_path": crate::output::absolute(&r.path),
        "bytes": size(&r.path)?,
        "md5": reference_md5,
        "index_files": r
            .index_files()
            .iter()
            .filter(|p| p.is_file())
            .map(|p| file_entry(p))
            .collect::<Result<Vec<_>>>()?,
        "contigs": contigs,
    });
    if f.hash_inputs {
        reference["sha256"] = json!(file_digest::<Sha256>(&r.path)?);
    }
    let a = f.alignments;
    let mut reads = json!({
        "path": a.path.display().to_string(),
        "absolute_path": crate::output::absolute(&a.path),
        "bytes": size(&a.path)?,
        "header_sha256": header_sha256(&a.path)?,
        "index": file_entry(&a.index)?,
    });
    if f.hash_inputs {
        reads["sha256"] = json!(file_digest::<Sha256>(&a.path)?);
    }
    let m = f.model;
    let card_text = if m.source == "embedded" {
        crate::model::embedded(&m.card.name)
            .map(|(_, card)| card.as_bytes().to_vec())
            .with_context(|| format!("model {}: not built into this binary", m.card.name))?
    } else {
        let p = Path::new(&m.source).join("card.json");
        std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?
    };
    let mut files = Map::new();
    for (flag, p) in &f.files {
        files.insert(flag.to_string(), file_entry(p)?);
    }
    Ok(json!({
        "software": {
            "name": "callvar",
            "version": env!("CARGO_PKG_VERSION"),
            "commit": crate::version::GIT_COMMIT,
            "libtorch": crate::version::LIBTORCH_VERSION,
            "cuda": crate::model::cuda_summary(),
        },
        "command_line": f.command_line,
        "parameters": f.parameters,
        "resolved": f.resolved,
        "device": device,
        "model": {
            "name": m.card.name,
            "version": m.card.version,
            "source": m.source,
            "card_sha256": hex(&Sha256::digest(&card_text)),
            "weights_sha256": m.card.weights_sha256,
            "tensor_layout_version": m.card.tensor_layout_version,
        },
        "reference": reference,
        "reads": [reads],
        "files": files,
    }))
}

/// Compact JSON with object keys sorted: the form the digest is taken over.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// SHA-256 of the canonical `inputs` part.
pub fn digest(inputs: &Value) -> String {
    hex(&Sha256::digest(canonical(inputs).as_bytes()))
}

/// UTC time as RFC 3339 (`2026-11-28T05:16:30Z`).
pub fn utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn first_line(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Where the run happened: host name, kernel, CPU model and count, user, folder, process.
fn host() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    json!({
        "hostname": first_line("/proc/sys/kernel/hostname"),
        "kernel": first_line("/proc/sys/kernel/osrelease"),
        "cpu": cpu,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "user": std::env::var("USER").ok(),
        "working_directory": std::env::current_dir().ok().map(|d| d.display().to_string()),
        "pid": std::process::id(),
    })
}

/// Entries for a finished VCF output (`files`: temporary name, final name), hashed before
/// they move into place; a streamed output (no files) is listed as a stream.
pub fn finished_entries<'p>(
    flag: &str,
    shown: &str,
    files: impl Iterator<Item = (&'p Path, &'p Path)>,
) -> Result<Vec<Value>> {
    let mut v = Vec::new();
    for (tmp, dest) in files {
        v.push(json!({
            "flag": flag,
            "path": dest.display().to_string(),
            "bytes": size(tmp)?,
            "sha256": file_digest::<Sha256>(tmp)?,
        }));
    }
    if v.is_empty() {
        v.push(json!({"flag": flag, "path": shown, "stream": true}));
    }
    Ok(v)
}

/// The entry of a side output (its final path; the name given for a stream).
pub fn written_entry(w: &Written) -> Value {
    let path = w
        .file
        .as_ref()
        .map_or(w.shown.clone(), |(_, d)| d.display().to_string());
    json!({"flag": w.flag, "path": path, "bytes": w.bytes, "sha256": w.sha256})
}

/// The `run` part: host, start and end time, wall seconds, and the run's `counts`.
pub fn run_section(started: SystemTime, counts: Value) -> Value {
    let end = SystemTime::now();
    json!({
        "host": host(),
        "start": utc(started),
        "end": utc(end),
        "wall_seconds": end
            .duration_since(started)
            .map(|d| d.as_millis() as f64 / 1000.0)
            .unwrap_or(0.0),
        "counts": counts,
    })
}

/// The whole manifest as pretty JSON; the model card is copied in whole (outside the
/// digested part: `inputs.model.card_sha256` pins it).
pub fn document(
    inputs: Value,
    card: &ModelCard,
    run: Value,
    outputs: Vec<Value>,
) -> Result<String> {
    let doc = json!({
        "callvar_manifest_version": 1,
        "inputs_sha256": digest(&inputs),
        "inputs": inputs,
        "model_card": card,
        "run": run,
        "outputs": outputs,
    });
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_at_every_level() {
        let v = json!({"b": [1, {"z": "é\"", "a": true}], "a": null});
        assert_eq!(canonical(&v), r#"{"a":null,"b":[1,{"a":true,"z":"é\""}]}"#);
        assert_eq!(digest(&json!({})), hex(&Sha256::digest(b"{}")));
    }

    #[test]
    fn contig_md5s_are_of_upper_case_sequence_per_contig() {
        let d = std::env::temp_dir().join(format!("callvar-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let fa = d.join("r.fa");
        std::fs::write(&fa, ">a\nACGTacgt\nAC\n>b x\nNNNN\n>c\ngattaca\n").unwrap();
        std::fs::write(
            d.join("r.fa.fai"),
            "a\t10\t3\t8\t9\nb\t4\t20\t4\t5\nc\t7\t28\t7\t8\n",
        )
        .unwrap();
        let r = Reference::open(&fa).unwrap();
        let names: Vec<String> = ["c", "a"].iter().map(|s| s.to_string()).collect();
        let m = contig_md5s(&r, &names).unwrap();
        // `samtools dict r.fa` gives these M5 values
        assert_eq!(m.len(), 2);
        assert_eq!(m["a"], "45aff2fecf7615d56bc0567dffab9fa8");
        assert_eq!(m["c"], "61966c86d7c3bb28fff946c52eefff0b");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn utc_times_are_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_843_123);
        assert_eq!(utc(t), "2026-11-28T05:18:43Z");
        assert_eq!(utc(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00Z");
    }
}
