//! Haplotype matching, the way RTG vcfeval does it.
//!
//! Each variant replays its alleles onto two haplotypes with the padding base removed (the
//! leading base that REF and every ALT share), so an anchor base never makes two variants
//! overlap: an insertion whose anchor lies inside a deletion can follow that deletion on one
//! haplotype, and two abutting deletions can share one. A haplotype takes an allele only at
//! or after the end of the last allele it took; as in vcfeval, the REF allele of a
//! heterozygous variant holds its span on its haplotype, and a missing allele (`.`, `*`)
//! takes nothing.
//!
//! A path search walks the truth and call variants of a contig together in position order.
//! Each path leaves each variant out or puts it on the haplotypes in one of its phasings;
//! both sides write their haplotypes base by base (reference between the variants), and a
//! path dies as soon as its sides write different bases, or as soon as the bases one side
//! has written ahead disagree with the reference the other side must copy next (which keeps
//! a long deletion on one side from breeding paths). Paths in the same state (how far each
//! side has read the reference on each haplotype, and the bases one side has written that
//! the other has not yet matched) have the same future, so only the best of them is kept:
//! the one with the most variants included (truth plus calls), then the one whose truth and
//! call counts since it was last in step differ least, then the one in step most recently.
//! A region closes where a single path remains and it is in step (all sides at the same
//! reference position with nothing unmatched); so regions grow with the reach of their
//! variants (an indel shifting through a repeat keeps its region open), a dense region is
//! searched as a whole rather than split, and only beyond [`MAX_PATHS`] open paths are the
//! ones furthest out of step dropped. As in vcfeval, variants of one side included between
//! two points where the path is in step, with none of the other side included there, do
//! not count as matched (two calls that cancel out match nothing).
use super::metrics::VarType;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Open paths kept at most; beyond this the paths furthest out of step are dropped.
pub const MAX_PATHS: usize = 5000;
/// Reference bases one side writes at a time while the other side catches up.
const CHUNK: u64 = 64;

const TRUTH: usize = 0;
const CALLS: usize = 1;

/// One allele as it replays: the reference bases `[start, end)` become `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allele {
    pub start: u64,
    pub end: u64,
    pub seq: Vec<u8>,
}

/// A genotyped variant ready for matching.
#[derive(Clone, Debug)]
pub struct Var {
    /// Span of its alleles (padding base removed), 0-based half-open.
    pub start: u64,
    pub end: u64,
    /// Alleles by VCF index (0 = REF); `None` for `*`, which replays nothing.
    pub alleles: Vec<Option<Allele>>,
    /// The genotype's allele indices; `None` (`.`) leaves that haplotype as it is.
    pub gt: [Option<usize>; 2],
    pub kind: VarType,
    pub score: f64,
    /// The record's `INFO/TIER` (callvar's confidence tier), if it has one.
    pub tier: Option<u8>,
    /// Index into the source file's records.
    pub record: usize,
}

impl Var {
    /// Allele indices per haplotype for each way to place the variant: both phasings of a
    /// heterozygous genotype; with `squash`, one haplotype carrying each ALT allele.
    fn orientations(&self, squash: bool) -> Vec<[Option<usize>; 2]> {
        let [a, b] = self.gt;
        if squash {
            let mut alts: Vec<[Option<usize>; 2]> = Vec::new();
            for x in [a, b].into_iter().flatten().filter(|&x| x > 0) {
                if !alts.contains(&[Some(x), None]) {
                    alts.push([Some(x), None]);
                }
            }
            alts
        } else if a == b {
            vec![[a, b]]
        } else {
            vec![[a, b], [b, a]]
        }
    }
}

/// One haplotype as both sides have written it so far.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Hap {
    /// Reference read by each side (truth, calls) up to here.
    pos: [u64; 2],
    /// Bases side `ahead` has written that the other side has not written yet.
    lead: VecDeque<u8>,
    ahead: usize,
}

impl Hap {
    fn new(pos: u64) -> Self {
        Hap {
            pos: [pos, pos],
            lead: VecDeque::new(),
            ahead: TRUTH,
        }
    }

    /// Side `s` writes `bases`; false when they disagree with what the other side wrote.
    fn write(&mut self, s: usize, bases: &[u8]) -> bool {
        if self.lead.is_empty() {
            self.ahead = s;
        }
        if self.ahead == s {
            self.lead.extend(bases);
            return true;
        }
        let k = bases.len().min(self.lead.len());
        if !self.lead.iter().take(k).eq(bases[..k].iter()) {
            return false;
        }
        self.lead.drain(..k);
        if bases.len() > k {
            self.lead.extend(&bases[k..]);
            self.ahead = s;
        }
        true
    }

    /// Both sides copy the reference up to `x` where they have not read past it; false
    /// when they disagree.
    fn fill(&mut self, seq: &[u8], x: u64) -> bool {
        loop {
            if self.lead.is_empty() && self.pos[0] == self.pos[1] {
                if self.pos[0] < x {
                    self.pos = [x, x];
                }
                return true;
            }
            // the side behind writes first, so disagreements show early
            let behind = if self.lead.is_empty() {
                usize::from(self.pos[1] < self.pos[0])
            } else {
                1 - self.ahead
            };
            let s = if self.pos[behind] < x {
                behind
            } else if self.pos[1 - behind] < x {
                1 - behind
            } else {
                return true;
            };
            let to = x.min(self.pos[s] + CHUNK);
            if !self.write(s, &seq[self.pos[s] as usize..to as usize]) {
                return false;
            }
            self.pos[s] = to;
        }
    }

    /// Side `s` replays `a`; false when it starts before the end of what this haplotype
    /// already took, or writes bases the other side disagrees with.
    fn take(&mut self, seq: &[u8], s: usize, a: &Allele) -> bool {
        if a.start < self.pos[s] {
            return false;
        }
        let from = self.pos[s] as usize;
        if !self.write(s, &seq[from..a.start as usize]) || !self.write(s, &a.seq) {
            return false;
        }
        self.pos[s] = a.end;
        true
    }

    /// Whether the bases written ahead can still be matched: the side behind writes the
    /// reference from where it stands up to its next variant (`next` gives, per side, the
    /// first variant start at or after a position), so the lead must begin with that.
    fn can_catch_up(&self, seq: &[u8], next: impl Fn(usize, u64) -> u64) -> bool {
        if self.lead.is_empty() {
            return true;
        }
        let s = 1 - self.ahead;
        let from = self.pos[s];
        let to = next(s, from).min(from + self.lead.len() as u64);
        self.lead
            .iter()
            .zip(&seq[from as usize..to as usize])
            .all(|(a, b)| a == b)
    }

    /// How far out of step the sides are.
    fn lag(&self) -> u64 {
        self.lead.len() as u64 + self.pos[0].abs_diff(self.pos[1])
    }
}

/// What a path did, newest first.
enum Event {
    /// Included variant `.1` of side `.0`.
    Take(usize, usize),
    /// The path was in step here.
    Sync,
}

struct Step {
    event: Event,
    prev: Option<Rc<Step>>,
}

impl Drop for Step {
    /// Unlinks the steps this one alone holds one by one: a long trail must not recurse.
    fn drop(&mut self) {
        let mut prev = self.prev.take();
        while let Some(step) = prev {
            prev = match Rc::try_unwrap(step) {
                Ok(mut step) => step.prev.take(),
                Err(_) => None,
            };
        }
    }
}

#[derive(Clone)]
struct Path {
    /// Haplotypes, kept sorted: swapping them on both sides at once changes nothing.
    haps: Vec<Hap>,
    /// Variants included per side since the region opened, and since the last sync.
    included: [u32; 2],
    since_sync: [u32; 2],
    last_sync: u64,
    trail: Option<Rc<Step>>,
}

impl Path {
    fn new(ploidy: usize, pos: u64) -> Self {
        Path {
            haps: vec![Hap::new(pos); ploidy],
            included: [0, 0],
            since_sync: [0, 0],
            last_sync: pos,
            trail: None,
        }
    }

    fn push(&mut self, event: Event) {
        self.trail = Some(Rc::new(Step {
            event,
            prev: self.trail.take(),
        }));
    }

    /// In step: nothing unmatched and every side at the same position (`x`, past `reach`,
    /// the furthest end of the variants seen).
    fn in_sync(&self, x: u64, reach: u64) -> bool {
        x >= reach
            && self
                .haps
                .iter()
                .all(|h| h.lead.is_empty() && h.pos == [x, x])
    }

    fn lag(&self) -> u64 {
        self.haps.iter().map(Hap::lag).sum()
    }

    /// vcfeval's preference: most variants included, then the least imbalance between
    /// the sides since the last sync, then the latest sync.
    fn better_than(&self, other: &Path) -> bool {
        let rank = |p: &Path| {
            (
                p.included[0] + p.included[1],
                std::cmp::Reverse(p.since_sync[0].abs_diff(p.since_sync[1])),
                p.last_sync,
            )
        };
        rank(self) > rank(other)
    }
}

/// Open paths, at most one per state.
#[derive(Default)]
struct Paths {
    list: Vec<Path>,
    index: HashMap<Vec<Hap>, usize>,
}

impl Paths {
    fn add(&mut self, p: Path) {
        match self.index.get(&p.haps) {
            Some(&i) => {
                if p.better_than(&self.list[i]) {
                    self.list[i] = p;
                }
            }
            None => {
                self.index.insert(p.haps.clone(), self.list.len());
                self.list.push(p);
            }
        }
    }

    fn into_vec(self) -> Vec<Path> {
        self.list
    }
}

/// Which variants matched: per side, the region (sync segment) each matched in.
pub type Matches = [Vec<Option<usize>>; 2];

struct Search<'a> {
    seq: &'a [u8],
    sides: [&'a [&'a Var]; 2],
    /// Variant starts per side, sorted.
    starts: [Vec<u64>; 2],
    squash: bool,
    out: Matches,
    segments: usize,
}

impl Search<'_> {
    /// Start of side `s`'s first variant at or after `pos` (the contig's end if none).
    fn next_start(&self, s: usize, pos: u64) -> u64 {
        let v = &self.starts[s];
        v.get(v.partition_point(|&x| x < pos))
            .copied()
            .unwrap_or(self.seq.len() as u64)
    }

    /// Whether every haplotype of `p` can still come back in step.
    fn viable(&self, p: &Path) -> bool {
        p.haps
            .iter()
            .all(|h| h.can_catch_up(self.seq, |s, pos| self.next_start(s, pos)))
    }

    /// Fills every path up to `x`, drops those whose sides disagree, marks the ones in
    /// step and merges equal states.
    fn advance(&self, live: Vec<Path>, x: u64, reach: u64) -> Vec<Path> {
        let mut next = Paths::default();
        for mut p in live {
            if !p.haps.iter_mut().all(|h| h.fill(self.seq, x)) || !self.viable(&p) {
                continue;
            }
            p.haps.sort();
            if p.in_sync(x, reach) {
                if !matches!(
                    p.trail.as_deref(),
                    Some(Step {
                        event: Event::Sync,
                        ..
                    })
                ) {
                    p.push(Event::Sync);
                }
                p.since_sync = [0, 0];
                p.last_sync = x;
            }
            next.add(p);
        }
        next.into_vec()
    }

    /// The paths that leave variant `idx` of side `side` out or include it in each phase.
    fn branch(&self, p: Path, side: usize, idx: usize, into: &mut Paths) {
        let v = self.sides[side][idx];
        for orient in v.orientations(self.squash) {
            let mut c = p.clone();
            let fits = c.haps.iter_mut().zip(orient).all(|(h, a)| {
                match a.and_then(|a| v.alleles.get(a)).and_then(Option::as_ref) {
                    Some(allele) => h.take(self.seq, side, allele),
                    None => true,
                }
            });
            if fits && self.viable(&c) {
                c.haps.sort();
                c.included[side] += 1;
                c.since_sync[side] += 1;
                c.push(Event::Take(side, idx));
                into.add(c);
            }
        }
        into.add(p);
    }

    /// Records what the path matched since the region opened and starts a new region.
    fn close(&mut self, p: &mut Path) {
        let mut events = Vec::new();
        let mut step = p.trail.take();
        while let Some(s) = step {
            events.push(match s.event {
                Event::Take(side, idx) => Some((side, idx)),
                Event::Sync => None,
            });
            step = s.prev.clone();
        }
        events.reverse();
        for segment in events.split(Option::is_none) {
            let taken: Vec<(usize, usize)> = segment.iter().flatten().copied().collect();
            if taken.iter().any(|t| t.0 == TRUTH) && taken.iter().any(|t| t.0 == CALLS) {
                for (side, idx) in taken {
                    self.out[side][idx] = Some(self.segments);
                }
                self.segments += 1;
            }
        }
        p.included = [0, 0];
    }

    fn run(mut self) -> Matches {
        let mut order: Vec<(u64, u64, usize, usize)> = Vec::new();
        for (side, vars) in self.sides.iter().enumerate() {
            order.extend(
                vars.iter()
                    .enumerate()
                    .map(|(i, v)| (v.start, v.end, side, i)),
            );
        }
        order.sort_unstable();
        let ploidy = if self.squash { 1 } else { 2 };
        let mut live = vec![Path::new(ploidy, 0)];
        let mut reach = 0;
        for &(x, end, side, idx) in &order {
            live = self.advance(live, x, reach);
            if live.is_empty() {
                // every open path was dropped: what was open stays unmatched
                live.push(Path::new(ploidy, x.max(reach)));
            }
            if let [p] = live.as_mut_slice() {
                if p.in_sync(x, reach) {
                    self.close(p);
                }
            }
            let mut next = Paths::default();
            for p in live {
                self.branch(p, side, idx, &mut next);
            }
            live = next.into_vec();
            if live.len() > MAX_PATHS {
                live.sort_by_key(|p| (p.lag(), std::cmp::Reverse(p.included[0] + p.included[1])));
                live.truncate(MAX_PATHS);
            }
            reach = reach.max(end);
        }
        let len = self.seq.len() as u64;
        let done = self.advance(live, len, reach);
        let best = done
            .into_iter()
            .filter(|p| p.in_sync(len, reach))
            .reduce(|a, b| if b.better_than(&a) { b } else { a });
        if let Some(mut p) = best {
            self.close(&mut p);
        }
        self.out
    }
}

/// Matches one contig's truth and call variants (each sorted by position) over its
/// reference `seq`. With `squash`, one haplotype carrying one ALT allele per variant
/// (allele-only matching). Returns, per side, the region each matched variant matched in.
pub fn match_contig(seq: &[u8], truth: &[&Var], calls: &[&Var], squash: bool) -> Matches {
    let starts = [truth, calls].map(|vars| {
        let mut v: Vec<u64> = vars.iter().map(|v| v.start).collect();
        v.sort_unstable();
        v
    });
    Search {
        seq,
        sides: [truth, calls],
        starts,
        squash,
        out: [vec![None; truth.len()], vec![None; calls.len()]],
        segments: 0,
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcf::VcfRecord;

    //                 0         1         2         3
    //                 0123456789012345678901234567890123456789
    const SEQ: &str = "GATTACAGGCAAAAAAAGTCACACACAGTTGACCTGAGCT";

    /// A variant at 0-based `pos` as a VCF record spells it (`gt` like "0/1").
    fn var(pos: u64, r: &str, alts: &[&str], gt: &str) -> Var {
        let rec = VcfRecord {
            line: 1,
            contig: "c".into(),
            pos,
            reference: r.into(),
            alts: alts.iter().map(|a| a.to_string()).collect(),
            qual: Some(30.0),
            filter: "PASS".into(),
            gt: Some(gt.split(['/', '|']).map(|a| a.parse().ok()).collect()),
            gq: None,
            text: String::new(),
        };
        assert_eq!(
            &SEQ[pos as usize..pos as usize + r.len()],
            r,
            "REF of {rec:?}"
        );
        super::super::to_var(&rec, 0, SEQ.as_bytes(), false)
            .unwrap()
            .unwrap()
    }

    /// Which truth and call variants match, with genotypes or (`squash`) by allele only.
    fn matched(truth: &[Var], calls: &[Var], squash: bool) -> (Vec<bool>, Vec<bool>) {
        let t: Vec<&Var> = truth.iter().collect();
        let c: Vec<&Var> = calls.iter().collect();
        let [mt, mc] = match_contig(SEQ.as_bytes(), &t, &c, squash);
        (
            mt.iter().map(Option::is_some).collect(),
            mc.iter().map(Option::is_some).collect(),
        )
    }

    fn run(truth: &[Var], calls: &[Var]) -> (Vec<bool>, Vec<bool>) {
        matched(truth, calls, false)
    }

    #[test]
    fn shifted_deletion_in_homopolymer_matches() {
        // delete one A of the A run 10..=16: left (anchor C at 9) vs right (anchor A at 15)
        let truth = [var(9, "CA", &["C"], "0/1")];
        let calls = [var(15, "AA", &["A"], "0/1")];
        assert_eq!(run(&truth, &calls), (vec![true], vec![true]));
    }

    #[test]
    fn shifted_insertion_in_tandem_repeat_matches() {
        // insert one CA unit into the CACACACA at 19..=26
        let truth = [var(18, "T", &["TCA"], "1/1")];
        let calls = [var(25, "C", &["CAC"], "1/1")];
        assert_eq!(run(&truth, &calls), (vec![true], vec![true]));
    }

    #[test]
    fn mnp_matches_split_snps_on_one_haplotype() {
        let truth = [var(1, "AT", &["GC"], "0/1")];
        let calls = [var(1, "A", &["G"], "0/1"), var(2, "T", &["C"], "0/1")];
        assert_eq!(run(&truth, &calls), (vec![true], vec![true, true]));
    }

    #[test]
    fn fourteen_base_mnp_matches_its_snps() {
        // 17..31 GTCACACACAGTTG: every base changed on one haplotype
        let (r, alt) = ("GTCACACACAGTTG", "TGAGTGTGTGCAGC");
        let truth = [var(17, r, &[alt], "0/1")];
        let calls: Vec<Var> = (0..r.len())
            .map(|i| var(17 + i as u64, &r[i..=i], &[&alt[i..=i]], "0/1"))
            .collect();
        assert_eq!(run(&truth, &calls), (vec![true], vec![true; 14]));
        // and the other way round, with one SNP missing nothing matches
        assert_eq!(run(&calls, &truth), (vec![true; 14], vec![true]));
        assert_eq!(run(&truth, &calls[1..]), (vec![false], vec![false; 13]));
    }

    #[test]
    fn het_vs_hom_matches_by_allele_only() {
        let truth = [var(5, "C", &["T"], "0/1")];
        let calls = [var(5, "C", &["T"], "1/1")];
        assert_eq!(run(&truth, &calls), (vec![false], vec![false]));
        assert_eq!(matched(&truth, &calls, true), (vec![true], vec![true]));
    }

    #[test]
    fn multiallelic_het_matches_reordered_alts_not_one_of_them() {
        let truth = [var(5, "C", &["T", "G"], "1/2")];
        let calls = [var(5, "C", &["G", "T"], "1/2")];
        assert_eq!(run(&truth, &calls), (vec![true], vec![true]));
        let wrong = [var(5, "C", &["T"], "0/1")];
        assert_eq!(run(&truth, &wrong), (vec![false], vec![false]));
    }

    #[test]
    fn insertion_anchored_inside_a_deletion_follows_it_on_one_haplotype() {
        // delete 28..=30 (TTG, anchor G at 27) and insert CC after 30 (anchor G at 30, a
        // deleted base): one haplotype reads ...AG CC ACC..., which one record also spells
        let truth = [
            var(27, "GTTG", &["G"], "0/1"),
            var(30, "G", &["GCC"], "0/1"),
        ];
        let same_hap = [var(27, "GTTG", &["GCC"], "0/1")];
        assert_eq!(run(&truth, &same_hap), (vec![true, true], vec![true]));
        // on opposite haplotypes: the deletion on one, the insertion on the other
        let apart = [var(27, "GTTG", &["G", "GTTGCC"], "1/2")];
        assert_eq!(run(&truth, &apart), (vec![true, true], vec![true]));
    }

    #[test]
    fn abutting_deletions_share_a_haplotype() {
        // delete 19..=21 (CAC, anchor T at 18), then 22..=24 (ACA, anchor C at 21, deleted)
        let truth = [
            var(18, "TCAC", &["T"], "0/1"),
            var(21, "CACA", &["C"], "0/1"),
        ];
        let calls = [var(18, "TCACACA", &["T"], "0/1")];
        assert_eq!(run(&truth, &calls), (vec![true, true], vec![true]));
    }

    #[test]
    fn complex_record_matches_three_records_in_every_phasing() {
        // a = del A at 4 (anchor T at 3); b = del AGG 6..=8 (anchor C at 5);
        // c = ins TT after 8 (anchor G at 8, deleted by b)
        let truth = [
            var(3, "TA", &["T"], "0/1"),
            var(5, "CAGG", &["C"], "0/1"),
            var(8, "G", &["GTT"], "0/1"),
        ];
        // one record over 3..=8 (TACAGG) spelling each split of {a, b, c} onto two haplotypes
        for (alleles, gt) in [
            (vec!["TACTT", "TCAGG"], "1/2"), // {b, c} | {a}
            (vec!["TC", "TACAGGTT"], "1/2"), // {a, b} | {c}
            (vec!["TCAGGTT", "TAC"], "1/2"), // {a, c} | {b}
            (vec!["TCTT"], "0/1"),           // {a, b, c} | {}
        ] {
            let rec = var(3, "TACAGG", &alleles, gt);
            assert_eq!(
                run(&truth, std::slice::from_ref(&rec)),
                (vec![true; 3], vec![true]),
                "{alleles:?} {gt}"
            );
            assert_eq!(
                run(&[rec], &truth),
                (vec![true], vec![true; 3]),
                "{alleles:?}"
            );
        }
        // a phasing the record does not spell matches nothing
        let wrong = [var(3, "TACAGG", &["TACTT", "TCAGGTT"], "1/2")];
        assert_eq!(run(&truth, &wrong), (vec![false; 3], vec![false]));
    }

    #[test]
    fn ref_span_of_a_het_holds_its_haplotype_as_in_vcfeval() {
        // a SNP inside a heterozygous deletion's REF span cannot go on either haplotype
        let truth = [var(9, "CAAAA", &["C"], "0/1"), var(11, "A", &["G"], "0/1")];
        let calls = [var(9, "CAAAA", &["C", "CAGAA"], "1/2")];
        assert_eq!(run(&truth, &calls), (vec![false, false], vec![false]));
        // written as one record on each side, it matches
        assert_eq!(run(&calls, &calls), (vec![true], vec![true]));
    }

    #[test]
    fn calls_that_cancel_out_match_nothing() {
        // insert an A before the A run and delete one from its end: the reference again
        let truth = [var(33, "C", &["A"], "0/1")];
        let calls = [
            var(9, "C", &["CA"], "1/1"),
            var(15, "AA", &["A"], "1/1"),
            var(33, "C", &["A"], "0/1"),
        ];
        assert_eq!(run(&truth, &calls), (vec![true], vec![false, false, true]));
    }

    #[test]
    fn false_positive_and_negative_are_counted() {
        let truth = [var(5, "C", &["T"], "0/1")];
        let calls = [var(33, "C", &["A"], "0/1")];
        assert_eq!(run(&truth, &calls), (vec![false], vec![false]));
    }
}
