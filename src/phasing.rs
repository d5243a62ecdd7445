//! Read-backed phasing of heterozygous calls (long reads): which allele of each
//! heterozygous site lies on the same haplotype as which allele of its neighbours, learnt
//! from the reads that cover several of them. It yields phased GT (`0|1`, `1|0`, `1|2`) and
//! FORMAT/PS, the 1-based position of the phase set's first variant (as WhatsHap writes it);
//! a heterozygous call left unphased stays `0/1` without PS.
//!
//! **Evidence.** In each chunk's worker, [`observe`] records for every candidate the allele
//! each covering read shows there, with a Phred weight: the base quality at the anchor, no
//! more than the read's MAPQ, capped at [`SNV_CAP`] (at sites with an indel allele, at
//! [`INDEL_CAP`]: repeat-length errors are the common long-read error). [`het_site`] keeps,
//! for a filter-passing diploid heterozygous call, the reads showing one of its two alleles.
//!
//! **Algorithm.** A greedy maximum-likelihood extension of blocks in genome order, one pass
//! (the read-allele evidence of WhatsHap and HapCUT, decided site by site). Each read of the
//! current block holds the log-odds that it comes from the block's haplotype 1, the sum of
//! `±ln((1-ε)/ε)` over the block's sites it covers (ε = 10^(-weight/10)). For the next
//! site, the log-likelihood of each orientation (first GT allele on haplotype 1, or second) is
//! summed over its reads, each read a mixture of the two haplotypes weighted by its
//! log-odds. Then:
//! - the better orientation is at least [`MIN_LOG_ODDS`] more likely and at most
//!   [`MAX_CONFLICT`] of the linking reads (those with a confident haplotype, log-odds
//!   beyond ±[`LINKED`]) disagree with it: the site joins the block with it, and its reads'
//!   log-odds grow;
//! - otherwise, with [`WELL_LINKED`] linking reads or more, the site itself is suspect (a
//!   false heterozygous call, a collapsed duplication, an indel in a repeat that reads
//!   garble): it stays unphased and the block goes on past it; unless the site is an SNV
//!   and the block has fewer than [`TRUSTED`] sites: then the block is the suspect one (it
//!   may rest on false calls, typically indels in repeats) and the SNV starts a new block;
//! - with fewer, nothing links the site to the block well enough (a stretch without
//!   heterozygous sites that few reads span): an SNV starts a new block; an indel site
//!   stays unphased (false heterozygous indels are the common false call in long reads, and
//!   a block must not rest on one).
//!
//! A block also ends when none of its reads reaches further. A block of one site is no phase
//! set: that site stays unphased.
//!
//! **Not for tensors.** Phasing comes after genotyping and does not choose the pileup
//! tensors' rows by haplotype (DeepVariant's long-read layout): the network pools over rows,
//! so only which reads fill the 47 rows of a deeper site could matter, and a
//! haplotype-balanced choice (measured once) changed nothing on 70x simulated HiFi and added
//! a false indel on the real HiFi dev set.
//!
//! **Determinism.** [`Phaser`] runs in the ordered output stage, over the chunks in genome
//! order, so blocks cross chunk borders and do not depend on `--threads` or the chunk grid:
//! a site's evidence is every read covering it, whichever chunk it falls in. Sums run over a
//! site's reads in read-key order. The stage holds a chunk back while the phase of one of
//! its sites is still open (a block's first site waits for a second, or for its reads to end).
use crate::candidates::{ReadSupports, Support};
use crate::genotype::{Call, Filter, Ploidy};
use crate::reads::Read;
use std::collections::HashMap;

/// Highest weight (Phred) of a read's base at an SNV site.
pub const SNV_CAP: u8 = 30;
/// Highest weight (Phred) of a read's allele at a site with an indel allele.
pub const INDEL_CAP: u8 = 15;
/// A read links a site to the block when its log-odds of being on one haplotype is at least
/// this (odds 10:1).
pub const LINKED: f64 = std::f64::consts::LN_10;
/// Natural-log likelihood ratio an orientation needs to join the block (odds 100:1).
pub const MIN_LOG_ODDS: f64 = 2.0 * std::f64::consts::LN_10;
/// Largest fraction of the linking reads that may disagree with a joining site's
/// orientation.
pub const MAX_CONFLICT: f64 = 0.2;
/// Linking reads from which a site that does not join is suspect (left unphased, the block
/// going on past it); with fewer, the link is too thin and the block ends there.
pub const WELL_LINKED: usize = 4;
/// Sites a block needs before it outweighs a conflicting SNV: a younger block may rest on
/// false heterozygous calls, and the SNV starts a new one instead.
pub const TRUSTED: usize = 3;

/// One read's allele at a candidate site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Obs {
    /// The read's key (stable hash of name and mate): the same read in every chunk.
    pub read: u64,
    /// End (exclusive) of the read's alignment: past it the read links nothing.
    pub end: u64,
    /// VCF allele index (0 = REF).
    pub allele: usize,
    /// Phred weight of the observation.
    pub weight: u8,
}

/// Every read's allele at a candidate (reads in key order).
pub fn observe(reads: &[Read], supports: &ReadSupports, pos: u64, has_indel: bool) -> Vec<Obs> {
    let cap = if has_indel { INDEL_CAP } else { SNV_CAP };
    let mut obs: Vec<Obs> = supports
        .iter()
        .filter_map(|&(i, s)| {
            let allele = match s? {
                Support::Ref => 0,
                Support::Alt(k) => k + 1,
                Support::Other => return None,
            };
            let r = &reads[i];
            let q = r.base_at(pos).map_or(cap, |(_, q)| q);
            Some(Obs {
                read: r.key,
                end: r.end,
                allele,
                weight: q.min(r.mapq).min(cap),
            })
        })
        .collect();
    obs.sort_by_key(|o| (o.read, o.allele));
    obs
}

/// A read's allele at a heterozygous site: `second` when it is the second GT allele.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteObs {
    pub read: u64,
    pub end: u64,
    pub second: bool,
    pub weight: u8,
}

/// A heterozygous call to phase: its 0-based position, whether it is an SNV (no indel
/// allele), and the reads showing its alleles.
#[derive(Clone, Debug, PartialEq)]
pub struct HetSite {
    pub pos: u64,
    pub snv: bool,
    pub obs: Vec<SiteObs>,
}

/// The site to phase for `call`, if it is a filter-passing diploid heterozygous call.
pub fn het_site(call: &Call, obs: &[Obs]) -> Option<HetSite> {
    let g = &call.genotype;
    if g.ploidy != Ploidy::Diploid || g.filter != Filter::Pass || g.alleles.len() != 2 {
        return None;
    }
    let (a, b) = (g.alleles[0], g.alleles[1]);
    if a == b {
        return None;
    }
    let obs = obs
        .iter()
        .filter(|o| o.allele == a || o.allele == b)
        .map(|o| SiteObs {
            read: o.read,
            end: o.end,
            second: o.allele == b,
            weight: o.weight,
        })
        .collect();
    Some(HetSite {
        pos: call.candidate.pos.0,
        snv: !call.candidate.alts.iter().any(|a| a.is_indel()),
        obs,
    })
}

/// A site's phase: its phase set (0-based position of the set's first site) and whether
/// haplotype 1 carries the second GT allele (`1|0` for a `0/1` call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    pub set: u64,
    pub swapped: bool,
}

impl Phase {
    /// The GT alleles in haplotype order.
    pub fn order(&self, alleles: &[usize]) -> Vec<usize> {
        let mut v = alleles.to_vec();
        if self.swapped {
            v.reverse();
        }
        v
    }
}

/// The block being extended.
struct Block {
    /// 0-based position of its first site.
    set: u64,
    /// Caller's id of its first site (its phase is open while the block has one site).
    first: usize,
    sites: usize,
}

/// What the block knows of one read.
struct ReadState {
    /// ln P(haplotype 1) / P(haplotype 2).
    log_odds: f64,
    end: u64,
}

/// The streaming phaser: feed it heterozygous sites in genome order with [`Phaser::add`],
/// and [`Phaser::advance`] past stretches with no more sites; it answers with the phases that
/// became final, by the ids the caller gave the sites. A site never given a phase is
/// unphased.
#[derive(Default)]
pub struct Phaser {
    contig: String,
    block: Option<Block>,
    reads: HashMap<u64, ReadState>,
}

/// ln((1-ε)/ε) and ε for a Phred weight (ε at most 1/2).
fn error(weight: u8) -> (f64, f64) {
    let e = 10f64.powf(-(weight as f64) / 10.0).min(0.5);
    (((1.0 - e) / e).ln(), e)
}

impl Phaser {
    /// The id of the site whose phase is still open (the only site of the current block).
    pub fn open(&self) -> Option<usize> {
        self.block
            .as_ref()
            .filter(|b| b.sites == 1)
            .map(|b| b.first)
    }

    /// Moves to `pos` on `contig`, where the next site can be: reads ending at or before it
    /// are forgotten, and the block ends when none of its reads is left (or on another
    /// contig).
    pub fn advance(&mut self, contig: &str, pos: u64) {
        if contig != self.contig {
            self.contig = contig.to_string();
            self.end_block();
            return;
        }
        self.reads.retain(|_, r| r.end > pos);
        if self.reads.is_empty() {
            self.block = None;
        }
    }

    /// Ends the current block (at the end of the input).
    pub fn end_block(&mut self) {
        self.block = None;
        self.reads.clear();
    }

    /// The next site on `contig`, in genome order, with the caller's `id`: the phases that
    /// this makes final (the site's own, and the block's first site's when the site is the
    /// block's second).
    pub fn add(&mut self, id: usize, contig: &str, site: &HetSite) -> Vec<(usize, Phase)> {
        self.advance(contig, site.pos);
        // log-likelihoods of [first allele on haplotype 1, second allele on haplotype 1]
        let mut ll = [0.0f64; 2];
        let mut linking = Vec::new();
        for o in &site.obs {
            let (_, e) = error(o.weight);
            let lo = self.reads.get(&o.read).map_or(0.0, |r| r.log_odds);
            let p1 = 1.0 / (1.0 + (-lo).exp());
            // probability of the read's allele if haplotype 1 carries the first allele
            let (h1, h2) = if o.second { (e, 1.0 - e) } else { (1.0 - e, e) };
            ll[0] += (p1 * h1 + (1.0 - p1) * h2).ln();
            ll[1] += (p1 * h2 + (1.0 - p1) * h1).ln();
            if lo.abs() >= LINKED {
                // true when the read's haplotype 1 carries the first allele
                linking.push((lo > 0.0) != o.second);
            }
        }
        let swapped = ll[1] > ll[0];
        let disagree = linking.iter().filter(|&&first| first == swapped).count();
        let joins = (ll[0] - ll[1]).abs() >= MIN_LOG_ODDS
            && disagree as f64 <= MAX_CONFLICT * linking.len() as f64;
        let block = match self.block.as_mut() {
            Some(b) if joins => b,
            Some(b) if linking.len() >= WELL_LINKED && !(site.snv && b.sites < TRUSTED) => {
                return Vec::new()
            }
            _ if !site.snv => return Vec::new(),
            _ => {
                // nothing links the site to a block well enough: it starts one
                self.end_block();
                self.block = Some(Block {
                    set: site.pos,
                    first: id,
                    sites: 1,
                });
                self.learn(site, false);
                return Vec::new();
            }
        };
        block.sites += 1;
        let set = block.set;
        let mut out = Vec::new();
        if block.sites == 2 {
            out.push((
                block.first,
                Phase {
                    set,
                    swapped: false,
                },
            ));
        }
        out.push((id, Phase { set, swapped }));
        self.learn(site, swapped);
        out
    }

    /// Adds a phased site's evidence to its reads' log-odds.
    fn learn(&mut self, site: &HetSite, swapped: bool) {
        for o in &site.obs {
            let (w, _) = error(o.weight);
            let on_first = o.second == swapped;
            let r = self.reads.entry(o.read).or_insert(ReadState {
                log_odds: 0.0,
                end: o.end,
            });
            r.log_odds += if on_first { w } else { -w };
            r.end = r.end.max(o.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site at `pos` from a read-allele row: one char per read, `0`/`1` the first or
    /// second allele, `.` not covering; reads end at 1000.
    fn site(pos: u64, row: &str) -> HetSite {
        HetSite {
            pos,
            snv: true,
            obs: row
                .chars()
                .enumerate()
                .filter(|&(_, c)| c != '.')
                .map(|(i, c)| SiteObs {
                    read: i as u64,
                    end: 1000,
                    second: c == '1',
                    weight: 30,
                })
                .collect(),
        }
    }

    fn run(rows: &[(u64, &str)]) -> Vec<Option<Phase>> {
        let mut p = Phaser::default();
        let mut out = vec![None; rows.len()];
        for (id, (pos, row)) in rows.iter().enumerate() {
            for (i, ph) in p.add(id, "c", &site(*pos, row)) {
                out[i] = Some(ph);
            }
        }
        out
    }

    fn ph(set: u64, swapped: bool) -> Option<Phase> {
        Some(Phase { set, swapped })
    }

    #[test]
    fn reads_agreeing_give_one_block_with_orientations() {
        // reads 0-3 on one haplotype, 4-7 on the other; site 2 has the alt on the other side
        let out = run(&[
            (10, "00001111"),
            (20, "00001111"),
            (30, "11110000"),
            (40, "0000111."),
        ]);
        assert_eq!(
            out,
            vec![ph(10, false), ph(10, false), ph(10, true), ph(10, false)]
        );
    }

    #[test]
    fn an_error_is_outvoted_and_a_conflict_left_unphased() {
        // one read error at site 2 does not switch it; site 3 splits the reads 2:2
        let out = run(&[
            (10, "00001111"),
            (20, "00001111"),
            (30, "00011111"),
            (40, "0101...."),
            (50, "00001111"),
        ]);
        assert_eq!(
            out,
            vec![
                ph(10, false),
                ph(10, false),
                ph(10, false),
                None,
                ph(10, false)
            ]
        );
    }

    #[test]
    fn no_linking_read_starts_a_new_block_and_singletons_stay_unphased() {
        // reads 0-3 cover sites 1-2, reads 4-7 sites 3-7
        let out = run(&[
            (10, "0011...."),
            (20, "1100...."),
            (30, "....0011"),
            (35, "....0011"),
            (38, "....1100"),
            (40, "....0101"),
            (45, "....0011"),
        ]);
        // site 6 conflicts with a block of three (2 of 4 reads disagree whichever way):
        // unphased; site 7 joins
        assert_eq!(
            out,
            vec![
                ph(10, false),
                ph(10, true),
                ph(30, false),
                ph(30, false),
                ph(30, true),
                None,
                ph(30, false)
            ]
        );
        let mut p = Phaser::default();
        assert!(p.add(0, "c", &site(10, "0011")).is_empty());
        assert_eq!(p.open(), Some(0));
        p.advance("c", 2000); // every read ended: the block is over
        assert_eq!(p.open(), None);
        assert!(p.add(1, "c", &site(2010, "0011")).is_empty());
        assert_eq!(p.open(), Some(1));
        p.advance("d", 0); // another contig
        assert_eq!(p.open(), None);
    }

    #[test]
    fn weak_evidence_is_unphased_when_well_linked_and_a_break_when_thin() {
        let weak = |s: &HetSite| HetSite {
            pos: s.pos,
            snv: true,
            obs: s.obs.iter().map(|o| SiteObs { weight: 1, ..*o }).collect(),
        };
        let mut p = Phaser::default();
        p.add(0, "c", &site(10, "0101"));
        p.add(1, "c", &site(12, "0101"));
        p.add(2, "c", &site(14, "0101"));
        // four linking reads, but bases at Q1 say nothing: unphased, the block goes on
        assert!(p.add(3, "c", &weak(&site(20, "0101"))).is_empty());
        let set = |swapped| Phase { set: 10, swapped };
        assert_eq!(p.add(4, "c", &site(30, "1010")), vec![(4, set(true))]);
        // two linking reads with weak evidence: too thin, a new block starts
        let mut p = Phaser::default();
        p.add(0, "c", &site(10, "01"));
        assert!(p.add(1, "c", &weak(&site(20, "01"))).is_empty());
        assert_eq!(p.open(), Some(1));
    }

    #[test]
    fn a_conflicting_snv_restarts_a_young_block_and_indels_start_none() {
        // sites 1-2 make a block of two; site 3 splits its reads: an SNV starts a new block
        let out = run(&[
            (10, "00001111"),
            (20, "00001111"),
            (30, "00110011"),
            (40, "00110011"),
        ]);
        assert_eq!(
            out,
            vec![ph(10, false), ph(10, false), ph(30, false), ph(30, false)]
        );
        // an indel neither restarts a block nor starts one
        let indel = |pos, row| HetSite {
            snv: false,
            ..site(pos, row)
        };
        let mut p = Phaser::default();
        p.add(0, "c", &site(10, "00001111"));
        p.add(1, "c", &site(20, "00001111"));
        assert!(p.add(2, "c", &indel(30, "00110011")).is_empty());
        assert!(p.add(3, "c", &indel(500, "........0011")).is_empty());
        assert_eq!(p.open(), None);
        assert_eq!(
            p.add(4, "c", &site(600, "00001111")),
            vec![(
                4,
                Phase {
                    set: 10,
                    swapped: false
                }
            )]
        );
    }

    #[test]
    fn phase_orders_alleles() {
        let p = Phase {
            set: 0,
            swapped: true,
        };
        assert_eq!(p.order(&[0, 1]), vec![1, 0]);
        assert_eq!(
            Phase {
                swapped: false,
                ..p
            }
            .order(&[1, 2]),
            vec![1, 2]
        );
    }
}
