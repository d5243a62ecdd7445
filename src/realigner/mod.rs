//! Local haplotype assembly and read realignment, between reads and candidates (`call
//! --realign`; DeepVariant's realigner and GATK HaplotypeCaller are the models). For each
//! active window of a chunk ([`windows`]): a de Bruijn graph of the reference window and the
//! reads' bases in it ([`graph`]; k starts at 21 and grows while the reference repeats a
//! k-mer or the graph has a cycle) gives up to [`MAX_HAPLOTYPES`] haplotypes besides the
//! reference; each is aligned to the reference window with left-aligned indels, and each read
//! overlapping the window to its best haplotype ([`align`]: ungapped first, affine-gap
//! alignment when that is not provably best). A read whose best haplotype is not the
//! reference, or whose own alignment has an indel or soft clip in the window, gets that
//! alignment lifted back to reference coordinates in place of the aligner's inside the
//! window; its bases outside the window keep the aligner's placement. A read that prefers
//! the reference and already agrees with it is left as it was, so its tensor rows do not
//! change. All work is bounded (window length, reads a window, haplotypes, graph steps) and
//! ordered by position and read key, so output does not depend on threads.
mod align;
mod graph;
mod windows;

use crate::cigar::{self, AltAllele, Op};
use crate::reads::Read;
use crate::reference::RefWindow;
use align::{Alignment, Ends, Step};
use graph::{Graph, GraphConfig};
use windows::Window;

/// k-mer sizes tried in turn (the first one the window accepts is used).
pub const K_SIZES: [usize; 6] = [21, 25, 31, 41, 51, 63];
/// Haplotypes kept from a graph besides the reference.
pub const MAX_HAPLOTYPES: usize = 8;
/// Partial paths a graph walk may expand.
pub const MAX_GRAPH_STEPS: usize = 2_000;
/// Reads an edge off the reference needs to stay in the graph.
pub const MIN_EDGE_COUNT: u32 = 2;
/// A window overlapped by more reads than this is left alone (collapsed repeats).
pub const MAX_READS: usize = 400;
/// A haplotype differing from the reference by more variants than this is dropped.
pub const MAX_HAPLOTYPE_VARIANTS: usize = 8;

/// How far past a chunk the reads overlapping it are followed: every window such a read
/// touches up to this far out is realigned with the chunk, so the read's whole alignment
/// (which the tiers' mismatch density reads) is the same in every chunking. Short reads end
/// well inside it; past it (long reads with `--realign`) a read keeps its own alignment.
pub const READ_REACH: u64 = 1_000;

/// Reads overlapping a chunk widened by this much on each side are what realigning the
/// chunk needs: every window that reaches into the chunk's reads lies within
/// [`READ_REACH`] + [`windows::MAX_WINDOW`] of it, and the evidence that bounds such a
/// window within twice that (so a chunk's result does not depend on where its neighbours
/// start).
pub const FETCH_MARGIN: u64 = 2 * windows::MAX_WINDOW + READ_REACH;

/// What realigning a chunk did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealignCounts {
    /// Active windows found.
    pub windows: u64,
    /// Windows whose graph gave a haplotype besides the reference.
    pub assembled: u64,
    /// Reads whose alignment changed.
    pub reads_changed: u64,
}

/// A haplotype aligned to its window: the reference position of each base (`None` for
/// inserted bases), and its variants against the reference (left-aligned).
#[derive(Clone, Debug, PartialEq)]
struct Haplotype {
    seq: Vec<u8>,
    ref_of: Vec<Option<u64>>,
    variants: Vec<(u64, AltAllele)>,
}

impl Haplotype {
    fn new(seq: Vec<u8>, w: Window, refw: &RefWindow) -> Haplotype {
        let reference = refw.slice_ref(w.start, w.end);
        let anchored = Ends {
            left_free: false,
            right_free: false,
        };
        let a = align::align(&seq, reference, anchored);
        let ops = ops_of(&a.steps);
        let qual = vec![60; seq.len()];
        let (blocks, indels) = cigar::align_read(w.start, &ops, &seq, &qual, refw);
        let mut ref_of = vec![None; seq.len()];
        let mut variants = Vec::new();
        for b in &blocks {
            for i in 0..b.len {
                let (q, p) = ((b.read_start + i) as usize, b.ref_start + i as u64);
                ref_of[q] = Some(p);
                if seq[q] != refw.base(p) {
                    variants.push((p, AltAllele::Snv(seq[q])));
                }
            }
        }
        variants.extend(indels.into_iter().map(|d| (d.anchor, d.kind.into())));
        variants.sort();
        Haplotype {
            seq,
            ref_of,
            variants,
        }
    }

    fn has_indel(&self) -> bool {
        self.variants.iter().any(|(_, a)| a.is_indel())
    }
}

/// Run-length encodes alignment steps into CIGAR operations.
fn ops_of(steps: &[Step]) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    for s in steps {
        let (same, new) = match (ops.last_mut(), s) {
            (Some(Op::Match(n)), Step::Match)
            | (Some(Op::Ins(n)), Step::Ins)
            | (Some(Op::Del(n)), Step::Del)
            | (Some(Op::SoftClip(n)), Step::Clip) => {
                *n += 1;
                (true, Op::Match(0))
            }
            (_, Step::Match) => (false, Op::Match(1)),
            (_, Step::Ins) => (false, Op::Ins(1)),
            (_, Step::Del) => (false, Op::Del(1)),
            (_, Step::Clip) => (false, Op::SoftClip(1)),
        };
        if !same {
            ops.push(new);
        }
    }
    ops
}

/// A read's stretch inside a window: read bases `[qs, qe)`, and whether each end is free
/// (the read starts or ends inside the window) or anchored at the window's edge.
#[derive(Clone, Copy, Debug)]
struct Segment {
    qs: usize,
    qe: usize,
    ends: Ends,
}

/// The read offset of the base aligned to reference `pos`.
fn offset_at(r: &Read, pos: u64) -> Option<usize> {
    let i = r
        .blocks
        .partition_point(|b| b.ref_start + b.len as u64 <= pos);
    let b = r.blocks.get(i).filter(|b| b.ref_start <= pos)?;
    Some((b.read_start as u64 + pos - b.ref_start) as usize)
}

fn segment(r: &Read, w: Window) -> Option<Segment> {
    let left_free = r.start >= w.start;
    let right_free = r.end <= w.end;
    let qs = if left_free { 0 } else { offset_at(r, w.start)? };
    let qe = if right_free {
        r.seq.len()
    } else {
        offset_at(r, w.end - 1)? + 1
    };
    (qs < qe).then_some(Segment {
        qs,
        qe,
        ends: Ends {
            left_free,
            right_free,
        },
    })
}

/// A read's whole alignment as steps with the reference position of each Match and Del.
/// `None` for reads this stage leaves alone: a reference skip or an adjacent insertion and
/// deletion between two blocks.
fn steps_of(r: &Read) -> Option<Vec<(Step, u64)>> {
    const MAX_DEL: u64 = 1000;
    let first = r.blocks.first()?;
    let mut out: Vec<(Step, u64)> = Vec::with_capacity(r.seq.len() + 8);
    out.extend((0..first.read_start).map(|_| (Step::Clip, first.ref_start)));
    let mut prev: Option<&cigar::Block> = None;
    for b in &r.blocks {
        if let Some(p) = prev {
            let (pe, qe) = (p.ref_start + p.len as u64, p.read_start + p.len);
            let (Some(dr), Some(dq)) = (b.ref_start.checked_sub(pe), b.read_start.checked_sub(qe))
            else {
                return None;
            };
            if (dr > 0 && dq > 0) || dr > MAX_DEL {
                return None;
            }
            out.extend((pe..b.ref_start).map(|x| (Step::Del, x)));
            out.extend((0..dq).map(|_| (Step::Ins, pe)));
        }
        out.extend((0..b.len as u64).map(|i| (Step::Match, b.ref_start + i)));
        prev = Some(b);
    }
    let last = prev?;
    let end = last.read_start + last.len;
    out.extend((end..r.seq.len() as u32).map(|_| (Step::Clip, last.ref_start)));
    Some(out)
}

/// Replaces `r`'s alignment by `steps` (leading and trailing insertions become soft clips,
/// deletions there are dropped, and a jump in reference position between aligned bases is a
/// deletion). Returns false, leaving the read as it was, when the steps are not a valid
/// alignment of the whole read.
fn apply(r: &mut Read, steps: &[(Step, u64)], refw: &RefWindow) -> bool {
    let aligned = |s: &&(Step, u64)| s.0 == Step::Match;
    let (Some(first), Some(last)) = (
        steps.iter().position(|s| aligned(&s)),
        steps.iter().rposition(|s| aligned(&s)),
    ) else {
        return false;
    };
    let mut flat: Vec<Step> = Vec::with_capacity(steps.len() + 8);
    let mut expect = steps[first].1;
    let start = expect;
    for (i, &(s, p)) in steps.iter().enumerate() {
        if i < first || i > last {
            if s != Step::Del {
                flat.push(Step::Clip);
            }
            continue;
        }
        match s {
            Step::Match | Step::Del => {
                if p < expect {
                    return false;
                }
                flat.extend((expect..p).map(|_| Step::Del));
                flat.push(s);
                expect = p + 1;
            }
            Step::Ins => flat.push(Step::Ins),
            Step::Clip => return false,
        }
    }
    if flat.iter().filter(|s| **s != Step::Del).count() != r.seq.len() {
        return false;
    }
    let ops = ops_of(&flat);
    let (blocks, indels) = cigar::align_read(start, &ops, &r.seq, &r.qual, refw);
    let clip = |op: Option<&Op>| match op {
        Some(Op::SoftClip(n)) => *n,
        _ => 0,
    };
    r.start = start;
    r.end = expect;
    r.clips = [clip(ops.first()), clip(ops.last())];
    r.blocks = blocks;
    r.indels = indels;
    true
}

/// Whether `r`'s own alignment shows an indel, or a soft clip, inside `w`.
fn has_event(r: &Read, w: Window) -> bool {
    r.indels
        .iter()
        .any(|d| d.anchor + 1 >= w.start && d.anchor < w.end)
        || (r.clips[0] > 0 && r.start >= w.start)
        || (r.clips[1] > 0 && r.end <= w.end)
}

/// The read's best alignment among the haplotypes: (haplotype index, alignment); ties go to
/// the lower index (the reference first).
fn best_alignment(query: &[u8], haps: &[Haplotype], ends: Ends) -> (usize, Alignment) {
    let bound = query.len() as i32 * align::MATCH - align::OPEN - align::EXTEND;
    let mut best: Option<(usize, Alignment)> = None;
    for (h, hap) in haps.iter().enumerate() {
        if let Some(a) = align::ungapped(query, &hap.seq, ends) {
            if best.as_ref().is_none_or(|(_, b)| a.score > b.score) {
                best = Some((h, a));
            }
        }
    }
    // no gapped alignment scores above the bound: an ungapped one at or above it is the best
    if let Some(b) = best.filter(|(_, a)| a.score >= bound) {
        return b;
    }
    let mut best: Option<(usize, Alignment)> = None;
    for (h, hap) in haps.iter().enumerate() {
        let a = align::align(query, &hap.seq, ends);
        if best.as_ref().is_none_or(|(_, b)| a.score > b.score) {
            best = Some((h, a));
        }
    }
    best.unwrap_or_else(|| (0, align::align(query, &[], ends)))
}

/// Lifts a read segment's alignment to haplotype `hap` into reference coordinates.
fn lift(a: &Alignment, hap: &Haplotype) -> Vec<(Step, u64)> {
    let mut j = a.target_start;
    let mut out = Vec::with_capacity(a.steps.len());
    let mut last = hap.ref_of.iter().flatten().next().copied().unwrap_or(0);
    for &s in &a.steps {
        match s {
            Step::Match | Step::Del => {
                match hap.ref_of.get(j).copied().flatten() {
                    Some(p) => {
                        out.push((s, p));
                        last = p;
                    }
                    // a haplotype base inserted against the reference
                    None if s == Step::Match => out.push((Step::Ins, last)),
                    None => {}
                }
                j += 1;
            }
            Step::Ins => out.push((Step::Ins, last)),
            Step::Clip => out.push((Step::Clip, last)),
        }
    }
    out
}

/// Realigns the reads (sorted by start, then key; left so: a read whose start moves is
/// put back in order) overlapping the active windows of `[lo, hi)` widened to the reads
/// that overlap it (at most [`READ_REACH`] each way). `min_base_qual`: read bases below it
/// add no k-mers to the graph.
pub fn realign_chunk(
    reads: &mut [Read],
    refw: &RefWindow,
    lo: u64,
    hi: u64,
    min_base_qual: u8,
) -> RealignCounts {
    let mut counts = RealignCounts::default();
    let (mut from, mut to) = (lo, hi);
    for r in reads.iter().filter(|r| r.start < hi && r.end > lo) {
        from = from.min(r.start.max(lo.saturating_sub(READ_REACH)));
        to = to.max(r.end.min(hi + READ_REACH));
    }
    let found = windows::find(reads, refw, from, to);
    counts.windows = found.len() as u64;
    let mut max_span = reads.iter().map(|r| r.end - r.start).max().unwrap_or(0);
    for w in found {
        let upto = reads.partition_point(|r| r.start < w.end);
        let from = reads[..upto].partition_point(|r| r.start + max_span <= w.start);
        let idx: Vec<usize> = (from..upto).filter(|&i| reads[i].end > w.start).collect();
        if idx.len() > MAX_READS {
            continue;
        }
        let segs: Vec<(usize, Segment)> = idx
            .iter()
            .filter_map(|&i| Some((i, segment(&reads[i], w)?)))
            .collect();
        let Some(haps) = assemble(reads, &segs, w, refw, min_base_qual) else {
            continue;
        };
        counts.assembled += 1;
        let mut moved = false;
        for &(i, seg) in &segs {
            let r = &reads[i];
            let event = has_event(r, w);
            let query = &r.seq[seg.qs..seg.qe];
            let (h, a) = best_alignment(query, &haps, seg.ends);
            if !event && !haps[h].has_indel() {
                continue; // agrees with the reference or an indel-free haplotype: no change
            }
            let Some(steps) = steps_of(r) else {
                continue;
            };
            let cut = |q: usize| {
                steps
                    .iter()
                    .scan(0usize, |qp, &(s, _)| {
                        let at = *qp;
                        if s != Step::Del {
                            *qp += 1;
                        }
                        Some((at, s))
                    })
                    .position(|(at, s)| at == q && s != Step::Del)
            };
            let (Some(a_idx), b_idx) = (cut(seg.qs), cut(seg.qe)) else {
                continue;
            };
            // the prefix ends where the segment's first base is; the suffix starts after its
            // last base (anchored ends) or is empty (free ends: the segment runs to the end)
            let prefix_end = if seg.ends.left_free { 0 } else { a_idx };
            let suffix_start = if seg.ends.right_free {
                steps.len()
            } else {
                b_idx.unwrap_or(steps.len())
            };
            let mut new_steps: Vec<(Step, u64)> = steps[..prefix_end].to_vec();
            new_steps.extend(lift(&a, &haps[h]));
            new_steps.extend_from_slice(&steps[suffix_start..]);
            let start = reads[i].start;
            let before = (
                reads[i].blocks.clone(),
                reads[i].indels.clone(),
                reads[i].clips,
            );
            if apply(&mut reads[i], &new_steps, refw)
                && (
                    reads[i].blocks.clone(),
                    reads[i].indels.clone(),
                    reads[i].clips,
                ) != before
            {
                counts.reads_changed += 1;
                moved |= reads[i].start != start;
                max_span = max_span.max(reads[i].end - reads[i].start);
            }
        }
        if moved {
            // keep the order the next window's search relies on
            reads.sort_by_key(|r| (r.start, r.key));
        }
    }
    counts
}

/// The window's haplotypes, the reference first; `None` when no k suits the window or the
/// graph holds nothing besides the reference.
fn assemble(
    reads: &[Read],
    segs: &[(usize, Segment)],
    w: Window,
    refw: &RefWindow,
    min_base_qual: u8,
) -> Option<Vec<Haplotype>> {
    let reference = refw.slice_ref(w.start, w.end);
    let pieces: Vec<(&[u8], &[u8])> = segs
        .iter()
        .map(|&(i, s)| {
            let r = &reads[i];
            (
                &r.seq[s.qs..s.qe],
                &r.qual[s.qs.min(r.qual.len())..s.qe.min(r.qual.len())],
            )
        })
        .collect();
    let graph = K_SIZES.iter().find_map(|&k| {
        Graph::build(
            reference,
            &pieces,
            &GraphConfig {
                k,
                min_base_qual,
                min_edge_count: MIN_EDGE_COUNT,
            },
        )
    })?;
    let mut haps = vec![Haplotype::new(reference.to_vec(), w, refw)];
    for seq in graph.haplotypes(MAX_HAPLOTYPES + 1, MAX_GRAPH_STEPS) {
        if seq == reference {
            continue;
        }
        let h = Haplotype::new(seq, w, refw);
        if !h.variants.is_empty()
            && h.variants.len() <= MAX_HAPLOTYPE_VARIANTS
            && !haps.iter().any(|x| x.variants == h.variants)
        {
            haps.push(h);
        }
    }
    haps.truncate(MAX_HAPLOTYPES + 1);
    (haps.len() > 1).then_some(haps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cigar::IndelKind;

    /// A fixed pseudo-random reference (no repeats at k = 21).
    fn reference(n: usize) -> RefWindow {
        let mut x = 12345u64;
        let seq = (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"ACGT"[(x >> 62) as usize]
            })
            .collect();
        RefWindow { start: 10_000, seq }
    }

    fn read(key: u64, start: u64, ops: &[Op], seq: &[u8], refw: &RefWindow) -> Read {
        let qual = vec![30; seq.len()];
        let (blocks, indels) = cigar::align_read(start, ops, seq, &qual, refw);
        let end = blocks.last().map_or(start, |b| b.ref_start + b.len as u64);
        let clip = |op: Option<&Op>| match op {
            Some(Op::SoftClip(n)) => *n,
            _ => 0,
        };
        Read {
            key,
            start,
            end,
            mapq: 60,
            reverse: false,
            seq: seq.to_vec(),
            qual,
            blocks,
            indels,
            clips: [clip(ops.first()), clip(ops.last())],
        }
    }

    fn indels_in(r: &Read, lo: u64, hi: u64) -> Vec<(u64, IndelKind)> {
        r.indels
            .iter()
            .filter(|d| (lo..hi).contains(&d.anchor))
            .map(|d| (d.anchor, d.kind.clone()))
            .collect()
    }

    #[test]
    fn haplotype_variants_are_left_aligned() {
        let mut r = reference(200);
        // a homopolymer at 10_100..10_106 in the reference
        for p in 100..106 {
            r.seq[p] = b'A';
        }
        r.seq[99] = b'C';
        r.seq[106] = b'G';
        let w = Window {
            start: 10_050,
            end: 10_150,
        };
        let mut hap = r.slice(10_050, 10_150);
        hap.remove(55); // one A of the run deleted (any of them)
        hap[80] = if hap[80] == b'T' { b'G' } else { b'T' };
        let h = Haplotype::new(hap, w, &r);
        let snv = 10_050 + 81; // after the deletion, hap index 80 is reference 131
        assert_eq!(
            h.variants,
            vec![
                (10_099, AltAllele::Del(1)),
                (snv, AltAllele::Snv(h.seq[80]))
            ]
        );
        assert!(h.has_indel());
        assert_eq!(h.ref_of[48], Some(10_098));
        assert_eq!(h.ref_of[49], Some(10_099));
        assert_eq!(h.ref_of[50], Some(10_101));
    }

    #[test]
    fn clipped_reads_get_the_deletion_their_neighbours_show() {
        let r = reference(900);
        let (del_at, del_len) = (10_400u64, 6u64); // reference bases 10_401..=10_406 deleted
        let mut alt = r.slice(10_000, del_at + 1);
        alt.extend(r.slice(del_at + 1 + del_len, 10_900));
        let alt_pos = |p: u64| {
            if p <= del_at {
                p - 10_000
            } else {
                p - 10_000 - del_len
            }
        };
        let mut reads = Vec::new();
        // six reads spanning the deletion, aligned with it (100M6D50M style)
        for (k, s) in [10_300u64, 10_310, 10_320, 10_330, 10_340, 10_350]
            .iter()
            .enumerate()
        {
            let a = alt_pos(*s) as usize;
            let seq = &alt[a..a + 150];
            let left = (del_at + 1 - s) as u32;
            let ops = [
                Op::Match(left),
                Op::Del(del_len as u32),
                Op::Match(150 - left),
            ];
            reads.push(read(k as u64, *s, &ops, seq, &r));
        }
        // four reads ending 8-14 bases past the deletion: the aligner soft-clipped them
        let mut clipped = Vec::new();
        for (k, tail) in [8u64, 10, 12, 14].iter().enumerate() {
            let s = del_at + 1 + tail - 150;
            let a = alt_pos(s) as usize;
            let seq = &alt[a..a + 150];
            let ops = [Op::Match((150 - tail) as u32), Op::SoftClip(*tail as u32)];
            clipped.push(100 + k as u64);
            reads.push(read(100 + k as u64, s, &ops, seq, &r));
        }
        // reference reads across the site
        let mut plain = Vec::new();
        for (k, s) in [10_280u64, 10_330, 10_360].iter().enumerate() {
            let seq = r.slice(*s, s + 150);
            plain.push(read(200 + k as u64, *s, &[Op::Match(150)], &seq, &r));
        }
        reads.extend(plain.iter().cloned());
        reads.sort_by_key(|x| (x.start, x.key));
        let before = reads.clone();
        let counts = realign_chunk(&mut reads, &r, 10_000, 10_900, 10);
        assert_eq!((counts.windows, counts.assembled), (1, 1));
        assert_eq!(counts.reads_changed, 4);
        // the deletion as the aligned reads show it (left-aligned)
        let shown = before.iter().find(|x| x.key == 0).expect("read 0");
        let want = indels_in(shown, 10_000, 10_900);
        assert_eq!(want.len(), 1);
        assert_eq!(want[0].1, IndelKind::Del(del_len as u32));
        for x in &reads {
            let was = before.iter().find(|b| b.key == x.key).expect("same reads");
            if clipped.contains(&x.key) {
                assert_eq!(indels_in(x, 10_000, 10_900), want, "read {}", x.key);
                assert_eq!(x.clips, [0, 0]);
                assert_eq!(x.end, was.end + del_len + 8 + 2 * (x.key - 100));
            } else {
                // reads that already agreed with their haplotype are untouched
                assert_eq!(
                    (&x.blocks, &x.indels, x.clips),
                    (&was.blocks, &was.indels, was.clips)
                );
            }
        }
        // the same input realigns the same way
        let mut again = before.clone();
        realign_chunk(&mut again, &r, 10_000, 10_900, 10);
        let spans = |v: &[Read]| {
            v.iter()
                .map(|x| (x.key, x.blocks.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(spans(&again), spans(&reads));
    }

    #[test]
    fn lifting_maps_haplotype_insertions_to_read_insertions() {
        let r = reference(300);
        let w = Window {
            start: 10_100,
            end: 10_200,
        };
        let mut hap = r.slice(10_100, 10_200);
        hap.splice(50..50, b"GGG".iter().copied());
        let h = Haplotype::new(hap.clone(), w, &r);
        // a read segment matching the haplotype from its 10th base, ungapped
        let a = Alignment {
            score: 0,
            target_start: 10,
            steps: vec![Step::Match; 60],
        };
        let lifted = lift(&a, &h);
        let ins: Vec<usize> = lifted
            .iter()
            .enumerate()
            .filter(|(_, s)| s.0 == Step::Ins)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ins.len(), 3);
        assert_eq!(lifted[0], (Step::Match, 10_110));
        assert_eq!(lifted[59], (Step::Match, 10_110 + 59 - 3));
    }
}
