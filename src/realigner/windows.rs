//! Active windows: the stretches of a chunk worth reassembling. A reference position is
//! active when at least [`MIN_EVIDENCE`] reads show, there, an indel (anchored at it or
//! deleting it), a soft clip (the read's first or last aligned base), or a mismatch of
//! quality ≥ [`MISMATCH_QUAL`] that sits in a cluster (the read has [`CLUSTER_MISMATCHES`]
//! or more such mismatches within [`CLUSTER_SPAN`] bp: a misaligned read's signature, unlike
//! an isolated SNV). Active positions closer than two flanks are merged, each merged stretch
//! is padded with [`FLANK`] bp of reference on each side, and a window longer than
//! [`MAX_WINDOW`] is dropped (its reads keep the aligner's alignments).
use crate::reads::Read;
use crate::reference::RefWindow;

/// Reads that must show evidence at a position to make it active.
pub const MIN_EVIDENCE: u32 = 2;
/// Base quality a mismatch needs to count.
pub const MISMATCH_QUAL: u8 = 20;
/// Mismatches of one read within [`CLUSTER_SPAN`] bp that make a cluster.
pub const CLUSTER_MISMATCHES: usize = 3;
pub const CLUSTER_SPAN: u64 = 20;
/// Reference bases added on each side of the active positions (the seed's 25 bp flanks).
pub const FLANK: u64 = 25;
/// Longest window assembled, flanks included.
pub const MAX_WINDOW: u64 = 400;

/// A window `[start, end)` of reference positions to reassemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

/// The active windows of `reads` that overlap `[lo, hi)` (the chunk), in order, each inside
/// the reference window `refw`.
pub fn find(reads: &[Read], refw: &RefWindow, lo: u64, hi: u64) -> Vec<Window> {
    let (ws, we) = (refw.start, refw.start + refw.seq.len() as u64);
    // evidence twice as far out as a window can reach: a run of active positions that
    // overlaps [lo, hi) and touches the span's edge is longer than MAX_WINDOW either way
    let span_lo = lo.saturating_sub(2 * MAX_WINDOW).max(ws);
    let span_hi = (hi + 2 * MAX_WINDOW).min(we);
    if span_lo >= span_hi {
        return Vec::new();
    }
    let n = (span_hi - span_lo) as usize;
    let mut evidence = vec![0u32; n];
    let mut mark = |p: u64| {
        if (span_lo..span_hi).contains(&p) {
            evidence[(p - span_lo) as usize] += 1;
        }
    };
    let mut mismatches: Vec<u64> = Vec::new();
    for r in reads {
        if r.end <= span_lo || r.start >= span_hi {
            continue;
        }
        for d in &r.indels {
            mark(d.anchor);
            if let crate::cigar::IndelKind::Del(len) = d.kind {
                (d.anchor + 1..=d.anchor + len as u64).for_each(&mut mark);
            }
        }
        if r.clips[0] > 0 {
            mark(r.start);
        }
        if r.clips[1] > 0 {
            mark(r.end.saturating_sub(1));
        }
        mismatches.clear();
        for b in &r.blocks {
            for i in 0..b.len as u64 {
                let p = b.ref_start + i;
                let q = (b.read_start as u64 + i) as usize;
                let base = r.seq[q];
                if base != refw.base(p)
                    && base != b'N'
                    && r.qual.get(q).is_some_and(|&x| x >= MISMATCH_QUAL)
                {
                    mismatches.push(p);
                }
            }
        }
        // every mismatch that belongs to a cluster of CLUSTER_MISMATCHES within CLUSTER_SPAN
        let mut in_cluster = vec![false; mismatches.len()];
        for i in 0..mismatches.len() {
            let j = i + CLUSTER_MISMATCHES - 1;
            if j < mismatches.len() && mismatches[j] - mismatches[i] < CLUSTER_SPAN {
                in_cluster[i..=j].iter_mut().for_each(|c| *c = true);
            }
        }
        for (p, _) in mismatches.iter().zip(&in_cluster).filter(|(_, &c)| c) {
            mark(*p);
        }
    }
    let mut out: Vec<Window> = Vec::new();
    let mut current: Option<Window> = None;
    for (i, &e) in evidence.iter().enumerate() {
        if e < MIN_EVIDENCE {
            continue;
        }
        let p = span_lo + i as u64;
        let w = Window {
            start: p.saturating_sub(FLANK).max(ws),
            end: (p + 1 + FLANK).min(we),
        };
        current = match current {
            Some(c) if w.start <= c.end => Some(Window {
                start: c.start,
                end: w.end,
            }),
            Some(c) => {
                out.push(c);
                Some(w)
            }
            None => Some(w),
        };
    }
    out.extend(current);
    out.retain(|w| w.end - w.start <= MAX_WINDOW && w.end > lo && w.start < hi);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cigar::{Block, Indel, IndelKind};

    fn read(
        start: u64,
        seq: &[u8],
        blocks: Vec<Block>,
        indels: Vec<Indel>,
        clips: [u32; 2],
    ) -> Read {
        let end = blocks.last().map_or(start, |b| b.ref_start + b.len as u64);
        Read {
            key: start,
            start,
            end,
            mapq: 60,
            reverse: false,
            seq: seq.to_vec(),
            qual: vec![30; seq.len()],
            blocks,
            indels,
            clips,
        }
    }

    fn refw() -> RefWindow {
        RefWindow {
            start: 1000,
            seq: b"ACGT".repeat(100),
        }
    }

    fn whole(start: u64, len: u32) -> Vec<Block> {
        vec![Block {
            ref_start: start,
            read_start: 0,
            len,
        }]
    }

    #[test]
    fn two_reads_with_an_indel_make_a_padded_window() {
        let r = refw();
        let mut seq = r.slice(1100, 1120);
        seq.extend(r.slice(1122, 1150));
        let del = |key| {
            let mut x = read(
                1100,
                &seq,
                vec![
                    Block {
                        ref_start: 1100,
                        read_start: 0,
                        len: 20,
                    },
                    Block {
                        ref_start: 1122,
                        read_start: 20,
                        len: 28,
                    },
                ],
                vec![Indel {
                    anchor: 1119,
                    kind: IndelKind::Del(2),
                    qual: 30,
                }],
                [0, 0],
            );
            x.key = key;
            x
        };
        assert!(find(&[del(1)], &r, 1000, 1400).is_empty());
        let w = find(&[del(1), del(2)], &r, 1000, 1400);
        assert_eq!(
            w,
            vec![Window {
                start: 1119 - FLANK,
                end: 1121 + 1 + FLANK
            }]
        );
        // outside the chunk: not this chunk's window
        assert!(find(&[del(1), del(2)], &r, 1200, 1400).is_empty());
    }

    #[test]
    fn clips_count_but_isolated_mismatches_do_not() {
        let r = refw();
        let mut seq = r.slice(1200, 1250);
        seq[10] = b'N';
        seq[30] = if seq[30] == b'A' { b'C' } else { b'A' }; // one SNV: not a cluster
        let snv = |k| {
            let mut x = read(1200, &seq, whole(1200, 50), vec![], [0, 0]);
            x.key = k;
            x
        };
        assert!(find(&[snv(1), snv(2), snv(3)], &r, 1000, 1400).is_empty());
        let clipped = |k| {
            let mut x = read(1200, &seq, whole(1200, 50), vec![], [0, 5]);
            x.key = k;
            x
        };
        let w = find(&[clipped(1), clipped(2)], &r, 1000, 1400);
        assert_eq!(
            w,
            vec![Window {
                start: 1249 - FLANK,
                end: 1250 + FLANK
            }]
        );
        // three mismatches within 20 bp in each of two reads: a cluster
        let mut messy = r.slice(1200, 1250);
        for p in [20, 25, 30] {
            messy[p] = if messy[p] == b'A' { b'C' } else { b'A' };
        }
        let m = |k| {
            let mut x = read(1200, &messy, whole(1200, 50), vec![], [0, 0]);
            x.key = k;
            x
        };
        let w = find(&[m(1), m(2)], &r, 1000, 1400);
        assert_eq!(
            w,
            vec![Window {
                start: 1220 - FLANK,
                end: 1231 + FLANK
            }]
        );
    }
}
