//! Platform presets: the read filters and candidate thresholds that suit one kind of
//! sequencing data (`illumina`, PacBio `hifi`, Oxford Nanopore `ont`), as one value.
//!
//! [`PileupSettings`] is the single validated configuration the pileup stages use: `call`
//! and `train` resolve it once from, in increasing priority, the Illumina defaults, the model
//! card's settings (a card trained for a platform carries its preset), `--preset`, and the
//! flags given explicitly. Every default lives here; the command line only overrides.
use crate::candidates::CandidateConfig;
use crate::reads::ReadFilter;
use serde::{Deserialize, Serialize};

/// A sequencing platform with its own thresholds and default model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Short reads (the default): illumina-wgs model.
    Illumina,
    /// PacBio HiFi (CCS): homopolymer-length errors expected; pacbio-hifi model.
    Hifi,
    /// Oxford Nanopore (R10): more errors, mostly in homopolymers; ont-r10 model.
    Ont,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Illumina => "illumina",
            Preset::Hifi => "hifi",
            Preset::Ont => "ont",
        }
    }

    /// The model `--preset` selects when `--model` is not given.
    pub fn default_model(self) -> &'static str {
        match self {
            Preset::Illumina => crate::model::DEFAULT_MODEL,
            Preset::Hifi => "pacbio-hifi",
            Preset::Ont => "ont-r10",
        }
    }

    /// The preset's read filters and candidate thresholds.
    pub fn settings(self) -> PileupSettings {
        let illumina = PileupSettings {
            preset: self.name().to_string(),
            min_mapq: 5,
            min_base_qual: 10,
            min_alt_count: 2,
            min_snv_fraction: 0.10,
            min_indel_fraction: 0.06,
            repeat_indel_fraction: 0.0,
            keep_supplementary: false,
            keep_duplicates: false,
        };
        match self {
            Preset::Illumina => illumina,
            // Long reads: one read in 8 or more must carry an indel for a candidate, and
            // more inside repeats, where homopolymer-length errors pile up (up to a fifth
            // of the reads in a 15-base run): +0.01 per repeat base beyond 3, up to
            // REPEAT_FRACTION_CAP.
            Preset::Hifi => PileupSettings {
                min_snv_fraction: 0.12,
                min_indel_fraction: 0.12,
                repeat_indel_fraction: 0.01,
                ..illumina
            },
            // Nanopore: a few percent of random errors as well, and more homopolymer ones
            Preset::Ont => PileupSettings {
                min_snv_fraction: 0.15,
                min_indel_fraction: 0.15,
                repeat_indel_fraction: 0.015,
                ..illumina
            },
        }
    }
}

/// Read filters and candidate thresholds, resolved and validated: what the pileup stages
/// use, and what a model card records for `call` (`preset` names where they came from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PileupSettings {
    /// The preset these settings start from.
    pub preset: String,
    pub min_mapq: u8,
    pub min_base_qual: u8,
    pub min_alt_count: u32,
    pub min_snv_fraction: f32,
    pub min_indel_fraction: f32,
    /// Added to `min_indel_fraction` per base of repeat (beyond 3) the indel could slide
    /// across; 0 turns repeat-aware thresholds off.
    pub repeat_indel_fraction: f32,
    pub keep_supplementary: bool,
    pub keep_duplicates: bool,
}

impl PileupSettings {
    /// Checks ranges (the flags' parsers check them too; a model card could hold anything).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("min_snv_fraction", self.min_snv_fraction),
            ("min_indel_fraction", self.min_indel_fraction),
            ("repeat_indel_fraction", self.repeat_indel_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} {v} is not a fraction between 0 and 1"));
            }
        }
        if self.min_alt_count == 0 {
            return Err("min_alt_count must be at least 1".into());
        }
        Ok(())
    }

    pub fn read_filter(&self) -> ReadFilter {
        ReadFilter {
            min_mapq: self.min_mapq,
            keep_supplementary: self.keep_supplementary,
            keep_duplicates: self.keep_duplicates,
        }
    }

    pub fn candidate_config(&self) -> CandidateConfig {
        CandidateConfig {
            min_base_qual: self.min_base_qual,
            min_alt_count: self.min_alt_count,
            min_snv_fraction: self.min_snv_fraction,
            min_indel_fraction: self.min_indel_fraction,
            repeat_indel_fraction: self.repeat_indel_fraction,
        }
    }

    /// Settings for long reads (preset hifi or ont): `call` phases by default.
    pub fn long_reads(&self) -> bool {
        self.preset == Preset::Hifi.name() || self.preset == Preset::Ont.name()
    }

    /// One line for `call -v` and the VCF header: the preset and every value.
    pub fn describe(&self) -> String {
        format!(
            "preset={},min_mapq={},min_base_qual={},min_alt_count={},min_snv_fraction={},min_indel_fraction={},repeat_indel_fraction={},keep_supplementary={},keep_duplicates={}",
            self.preset,
            self.min_mapq,
            self.min_base_qual,
            self.min_alt_count,
            self.min_snv_fraction,
            self.min_indel_fraction,
            self.repeat_indel_fraction,
            self.keep_supplementary,
            self.keep_duplicates
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_differ_where_platforms_do() {
        let (i, h) = (Preset::Illumina.settings(), Preset::Hifi.settings());
        assert_eq!(i.min_indel_fraction, 0.06);
        assert_eq!(i.repeat_indel_fraction, 0.0);
        assert_eq!(h.min_indel_fraction, 0.12);
        assert_eq!(h.repeat_indel_fraction, 0.01);
        assert_eq!((h.min_mapq, h.preset.as_str()), (5, "hifi"));
        assert_eq!(Preset::Hifi.default_model(), "pacbio-hifi");
        assert!(h.long_reads() && Preset::Ont.settings().long_reads() && !i.long_reads());
        for p in [Preset::Illumina, Preset::Hifi, Preset::Ont] {
            assert_eq!(p.settings().validate(), Ok(()));
        }
        let bad = PileupSettings {
            min_snv_fraction: 1.5,
            ..h
        };
        assert_eq!(
            bad.validate(),
            Err("min_snv_fraction 1.5 is not a fraction between 0 and 1".into())
        );
    }
}
