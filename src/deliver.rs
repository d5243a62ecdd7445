//! What a `call` run delivers beside its VCF: the clinical gates' results with the
//! not-callable BED (`--clinical-regions`), the HTML report (`--report`) and the manifest
//! (`--manifest`). A [`Delivery`] is set up before the first record is written (the
//! manifest's inputs hashed, so the header can name them), is fed every chunk in genome
//! order by the VCF writer's loop, and is finished once the VCF is: it renders each side
//! file and writes it under a temporary name, for `call` to commit together with the VCF.
use crate::clinical::{self, ChunkClinical, Gates, Tally};
use crate::genotype::Call;
use crate::manifest::{self, ManifestJob};
use crate::reads::Alignments;
use crate::region::Region;
use crate::report::call::{self as report, CallStats};
use crate::side_output::{SideFile, Written};
use crate::vcf::{self, Finished, Provenance};
use anyhow::Result;
use serde_json::Value;
use std::time::Instant;

/// The side outputs asked for, each optional.
pub struct Extras<'a> {
    pub clinical: Option<(&'a Gates, SideFile)>,
    pub report: Option<SideFile>,
    pub manifest: Option<ManifestJob<'a>>,
}

/// A run's side outputs in progress.
pub struct Delivery<'a> {
    clinical: Option<(&'a Gates, SideFile, Tally)>,
    report: Option<(SideFile, CallStats)>,
    /// The manifest job and its hashed inputs part.
    manifest: Option<(ManifestJob<'a>, Value)>,
    digest: Option<String>,
    /// Seconds spent hashing the manifest's inputs.
    pub inputs_seconds: f64,
}

/// What the finished run tells the side outputs.
pub struct RunFacts<'a> {
    pub provenance: &'a Provenance,
    pub alignments: &'a Alignments,
    pub regions: &'a [Region],
    pub output: &'a str,
    pub gvcf_output: Option<&'a str>,
    pub records: u64,
    pub pass: u64,
    pub vcf: &'a Finished,
    pub gvcf: Option<&'a Finished>,
}

impl<'a> Delivery<'a> {
    /// Hashes the manifest's inputs (on the current rayon pool) and starts the tallies;
    /// `regions` are the called regions (clinical bases outside them are `not_called`).
    pub fn start(
        extras: Extras<'a>,
        provenance: &Provenance,
        regions: &[Region],
    ) -> Result<Delivery<'a>> {
        let t = Instant::now();
        let manifest = match extras.manifest {
            Some(m) => {
                let inputs =
                    manifest::inputs(&m.facts, &provenance.reference_md5, &provenance.device)?;
                Some((m, inputs))
            }
            None => None,
        };
        let digest = manifest.as_ref().map(|(_, i)| manifest::digest(i));
        let clinical = extras.clinical.map(|(g, bed)| {
            let tally = Tally::new(g, g.not_called(regions, &provenance.contigs));
            (g, bed, tally)
        });
        Ok(Delivery {
            clinical,
            report: extras.report.map(|f| (f, CallStats::default())),
            manifest,
            digest,
            inputs_seconds: t.elapsed().as_secs_f64(),
        })
    }

    /// The clinical gates, if any.
    pub fn gates(&self) -> Option<&'a Gates> {
        self.clinical.as_ref().map(|c| c.0)
    }

    /// Whether chunks should count their depth histogram (for the report).
    pub fn wants_depth_histogram(&self) -> bool {
        self.report.is_some()
    }

    /// Adds what the header must declare: FILTER `ClinicalGate`, `##callvarManifestSHA256`.
    pub fn extend_header(&self, h: &mut noodles_vcf::Header) -> Result<()> {
        let filters: Vec<(&str, String)> = self
            .gates()
            .map(|g| (clinical::FILTER_ID, g.filter_description()))
            .into_iter()
            .collect();
        let lines: Vec<(&str, String)> = self
            .digest
            .iter()
            .map(|d| ("callvarManifestSHA256", d.clone()))
            .collect();
        vcf::extend_header(h, &filters, &lines)
    }

    /// Adds a chunk: its calls, its depth histogram and its clinical results (which of
    /// the calls are gated among them).
    pub fn add_chunk(
        &mut self,
        calls: &[Call],
        depth_hist: &[u64],
        clinical: Option<ChunkClinical>,
    ) {
        if let Some((_, stats)) = self.report.as_mut() {
            for (i, c) in calls.iter().enumerate() {
                let gate = clinical
                    .as_ref()
                    .is_some_and(|k| k.gated[i])
                    .then_some(clinical::FILTER_ID);
                stats.add_call(c, &vcf::filters_of(c, gate).join(";"));
            }
            stats.add_depth(depth_hist);
        }
        if let (Some((_, _, tally)), Some(c)) = (self.clinical.as_mut(), clinical) {
            tally.add(c);
        }
    }

    /// Renders and writes every side output under its temporary name; returns them (to
    /// commit with the VCF) and the summary lines for stderr.
    pub fn finish(self, run: &RunFacts) -> Result<(Vec<Written>, Vec<String>)> {
        let mut written = Vec::new();
        let mut notes = Vec::new();
        let view = self
            .clinical
            .as_ref()
            .map(|(gates, bed, tally)| report::ClinicalView {
                gates,
                tally,
                bed: &bed.shown,
            });
        if let Some(c) = &view {
            notes.push(c.tally.summary(c.gates, c.bed));
        }
        let html = self.report.as_ref().map(|(_, stats)| {
            let meta = report::Meta {
                sample: run.provenance.sample.clone(),
                provenance: report_provenance(run, self.digest.as_deref()),
                records: run.records,
                pass: run.pass,
            };
            report::render(stats, &meta, view.as_ref())
        });
        let counts = serde_json::json!({
            "records": run.records,
            "pass": run.pass,
            "clinical_gated_calls": self.clinical.as_ref().map(|c| c.2.gated_calls),
            "not_callable_bp": self.clinical.as_ref().map(|c| c.2.hole_bp()),
        });
        if let Some((gates, bed, tally)) = self.clinical {
            written.push(bed.write(tally.bed(gates, &run.provenance.contigs).as_bytes())?);
        }
        if let (Some((file, _)), Some(html)) = (self.report, html) {
            written.push(file.write(html.as_bytes())?);
        }
        if let Some((m, inputs)) = self.manifest {
            let mut outputs = manifest::finished_entries("--output", run.output, run.vcf.files())?;
            if let (Some(g), Some(f)) = (run.gvcf_output, run.gvcf) {
                outputs.extend(manifest::finished_entries("--gvcf", g, f.files())?);
            }
            outputs.extend(written.iter().map(manifest::written_entry));
            let doc = manifest::document(
                inputs,
                &m.facts.model.card,
                manifest::run_section(m.started, counts),
                outputs,
            )?;
            written.push(m.file.write(doc.as_bytes())?);
        }
        Ok((written, notes))
    }
}

/// The provenance rows of the report.
fn report_provenance(run: &RunFacts, manifest_digest: Option<&str>) -> Vec<(&'static str, String)> {
    let p = run.provenance;
    let bp: u64 = run.regions.iter().map(Region::len).sum();
    let n = run.regions.len();
    let mut rows = vec![
        ("sample", p.sample.clone()),
        ("callvar", crate::version::SHORT.to_string()),
        ("command", p.command_line.clone()),
        ("reads", run.alignments.path.display().to_string()),
        (
            "reference",
            format!("{} (MD5 {})", p.reference_path, p.reference_md5),
        ),
        (
            "model",
            format!(
                "{} version {} (weights SHA-256 {})",
                p.model_name, p.model_version, p.model_sha256
            ),
        ),
        ("device", p.device.clone()),
        (
            "regions",
            format!(
                "{n} region{}, {} bp",
                if n == 1 { "" } else { "s" },
                crate::report::svg::num(bp as f64)
            ),
        ),
        ("VCF", run.output.to_string()),
    ];
    if let Some(d) = manifest_digest {
        rows.push(("manifest inputs SHA-256", d.to_string()));
    }
    rows
}
