//! Ploidy of each position: diploid, except on `--haploid-contigs` (chrX and chrY of a male
//! sample) outside the pseudo-autosomal regions of `--par-bed`, which are diploid. A
//! variant's ploidy is that of its anchor (VCF POS).
//!
//! Contig names are matched to the reference as given, or else with the `chr` prefix added
//! or removed (`X,Y` finds `chrX`, `chrY`, and the other way round), in `--haploid-contigs`
//! and in the PAR BED. A name or BED contig found in neither form is an error naming the
//! flag or file, as is a PAR BED none of whose regions lies on a haploid contig (a BED of
//! another build or naming would silently make chrX haploid end to end).
use crate::genotype::Ploidy;
use crate::region::{self, ContigList};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::path::Path;

/// Where the genome is haploid.
#[derive(Clone, Debug, Default)]
pub struct PloidyMap {
    /// Haploid contigs (reference names) with their diploid (PAR) intervals, sorted and
    /// merged, 0-based half-open.
    haploid: HashMap<String, Vec<(u64, u64)>>,
}

/// The reference's name for `name`: itself, or with `chr` added or removed.
fn reference_name(name: &str, contigs: &ContigList) -> Option<String> {
    let other = match name.strip_prefix("chr") {
        Some(rest) => rest.to_string(),
        None => format!("chr{name}"),
    };
    [name.to_string(), other]
        .into_iter()
        .find(|n| contigs.iter().any(|(c, _)| c == n))
}

impl PloidyMap {
    /// Everything diploid.
    pub fn diploid() -> Self {
        PloidyMap::default()
    }

    /// From `--haploid-contigs` names and an optional `--par-bed`.
    pub fn new(names: &[String], par_bed: Option<&Path>, contigs: &ContigList) -> Result<Self> {
        let mut haploid: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let Some(found) = reference_name(name, contigs) else {
                bail!("--haploid-contigs: '{name}' is not a reference contig (nor with the chr prefix added or removed)");
            };
            haploid.insert(found, Vec::new());
        }
        if let Some(bed) = par_bed {
            let mut on_haploid = false;
            for r in region::read_bed(bed)? {
                let Some(found) = reference_name(&r.contig, contigs) else {
                    bail!(
                        "{}: contig '{}' is not in the reference (nor with the chr prefix added or removed)",
                        bed.display(),
                        r.contig
                    );
                };
                if let Some(v) = haploid.get_mut(&found) {
                    v.push((r.start.0, r.end.0));
                    on_haploid = true;
                }
            }
            if !on_haploid {
                bail!(
                    "{}: --par-bed has no region on a --haploid-contigs contig",
                    bed.display()
                );
            }
        }
        for v in haploid.values_mut() {
            v.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
            for &(s, e) in v.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *v = merged;
        }
        Ok(PloidyMap { haploid })
    }

    /// The ploidy at a 0-based position.
    pub fn at(&self, contig: &str, pos: u64) -> Ploidy {
        match self.haploid.get(contig) {
            Some(par) if !par.iter().any(|&(s, e)| s <= pos && pos < e) => Ploidy::Haploid,
            _ => Ploidy::Diploid,
        }
    }

    /// The haploid stretches of `[start, end)` on `contig`, sorted `[start, end)` spans.
    pub fn haploid_spans(&self, contig: &str, start: u64, end: u64) -> Vec<(u64, u64)> {
        let Some(par) = self.haploid.get(contig) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut from = start;
        for &(s, e) in par {
            if e <= from || s >= end {
                continue;
            }
            if s > from {
                out.push((from, s));
            }
            from = from.max(e);
        }
        if from < end {
            out.push((from, end));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contigs() -> Vec<(String, u64)> {
        ["chr20", "chrX", "chrY"]
            .iter()
            .map(|c| (c.to_string(), 1000))
            .collect()
    }

    #[test]
    fn names_match_with_or_without_chr() {
        let m = PloidyMap::new(&["X".into(), "chrY".into()], None, &contigs()).unwrap();
        assert_eq!(m.at("chrX", 5), Ploidy::Haploid);
        assert_eq!(m.at("chrY", 5), Ploidy::Haploid);
        assert_eq!(m.at("chr20", 5), Ploidy::Diploid);
        let e = PloidyMap::new(&["chrQ".into()], None, &contigs()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--haploid-contigs: 'chrQ' is not a reference contig (nor with the chr prefix added or removed)"
        );
    }

    #[test]
    fn par_regions_are_diploid() {
        let dir = std::env::temp_dir().join(format!("callvar-ploidy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bed = dir.join("par.bed");
        std::fs::write(&bed, "X\t0\t100\nX\t900\t1000\nchr20\t0\t10\n").unwrap();
        let m = PloidyMap::new(&["chrX".into()], Some(&bed), &contigs()).unwrap();
        assert_eq!(m.at("chrX", 99), Ploidy::Diploid);
        assert_eq!(m.at("chrX", 100), Ploidy::Haploid);
        assert_eq!(m.at("chrX", 900), Ploidy::Diploid);
        assert_eq!(m.haploid_spans("chrX", 50, 950), vec![(100, 900)]);
        assert_eq!(m.haploid_spans("chrX", 200, 300), vec![(200, 300)]);
        assert_eq!(m.haploid_spans("chr20", 0, 100), vec![]);
        // a BED with nothing on the haploid contigs is refused
        std::fs::write(&bed, "chr20\t0\t10\n").unwrap();
        let e = PloidyMap::new(&["chrX".into()], Some(&bed), &contigs()).unwrap_err();
        assert!(e
            .to_string()
            .ends_with("--par-bed has no region on a --haploid-contigs contig"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
