//! Pileup tensors: one per (candidate, alternate allele), the network's whole view of a site.
//!
//! Layout (version [`LAYOUT_VERSION`]): `u8` values, channel-major `[C][H][W]` with
//! `C = CHANNELS.len()` (9), `H = HEIGHT` (48) rows and `W = WIDTH` (33) columns. Column
//! `CENTRE` (16) is the candidate's anchor position; column `j` is reference position
//! `anchor - 16 + j`. Row 0 is the reference sequence; rows 1.. are reads covering the anchor,
//! at most `HEIGHT - 1`, chosen by a stable hash of read name and position when deeper
//! (deterministic downsampling) and ordered by the allele they carry (this alt, reference,
//! another alt, other), then by alignment start and name hash. Empty rows and columns a read
//! does not reach are all zero. The model reads each value as `v / 255`.
//! The channels are listed, with their encodings, in the single registry [`CHANNELS`].
use crate::candidates::{Candidate, Support};
use crate::cigar::IndelKind;
use crate::reads::{stable_hash, Read};
use crate::reference::RefWindow;

/// Version of the layout above; models record it and `call` refuses a mismatch.
pub const LAYOUT_VERSION: u32 = 2;
pub const HEIGHT: usize = 48;
pub const WIDTH: usize = 33;
pub const CENTRE: usize = WIDTH / 2;

/// One input channel: its name and how values are encoded.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ChannelSpec {
    pub name: &'static str,
    pub encoding: &'static str,
}

/// The channel registry: index in this list = channel index in the tensor.
pub const CHANNELS: [ChannelSpec; 9] = [
    ChannelSpec { name: "base", encoding: "A=63 C=127 G=191 T=255, N or none=0" },
    ChannelSpec { name: "base_quality", encoding: "min(Q,40)*255/40; reference row 255" },
    ChannelSpec { name: "mapping_quality", encoding: "min(MAPQ,60)*255/60 wherever the read is aligned (bases and deletions); reference row 255" },
    ChannelSpec { name: "strand", encoding: "forward=255 reverse=127 wherever the read is aligned" },
    ChannelSpec { name: "supports_allele", encoding: "whole row: 255 carries this alt allele, 170 another candidate alt, 85 the reference, 0 uninformative or another allele" },
    ChannelSpec { name: "differs_from_ref", encoding: "255 where the read base differs from the reference base" },
    ChannelSpec { name: "insertion", encoding: "at the base before an insertion: min(length,10)*25" },
    ChannelSpec { name: "deletion", encoding: "255 on each deleted reference position" },
    ChannelSpec { name: "soft_clip", encoding: "at a read's first/last aligned base when soft-clipped there: min(clipped bases,10)*25" },
];
const BASE: usize = 0;
const BQ: usize = 1;
const MQ: usize = 2;
const STRAND: usize = 3;
const SUPPORT: usize = 4;
const DIFF: usize = 5;
const INS: usize = 6;
const DEL: usize = 7;
const CLIP: usize = 8;

/// Values per tensor.
pub const SIZE: usize = CHANNELS.len() * HEIGHT * WIDTH;

/// A pileup tensor for one alternate allele of a candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct PileupTensor {
    pub data: Vec<u8>,
}

fn encode_base(b: u8) -> u8 {
    match b {
        b'A' => 63,
        b'C' => 127,
        b'G' => 191,
        b'T' => 255,
        _ => 0,
    }
}

/// The reads shown for a candidate: at most `HEIGHT - 1` of `covering`, chosen by a stable
/// hash so the choice does not depend on chunking or file order.
pub fn select_rows(
    reads: &[Read],
    covering: &[(usize, Option<Support>)],
    pos: u64,
) -> Vec<(usize, Option<Support>)> {
    let mut rows = covering.to_vec();
    if rows.len() > HEIGHT - 1 {
        let key = |i: usize| stable_hash(&reads[i].key.to_le_bytes(), pos);
        rows.sort_by_key(|&(i, _)| (key(i), reads[i].key));
        rows.truncate(HEIGHT - 1);
    }
    rows
}

/// Builds the tensor for alternate allele `alt` of `cand` from rows picked by [`select_rows`].
pub fn build(
    cand: &Candidate,
    alt: usize,
    reads: &[Read],
    rows: &[(usize, Option<Support>)],
    refw: &RefWindow,
) -> PileupTensor {
    let mut data = vec![0u8; SIZE];
    let at = |c: usize, r: usize, w: usize| (c * HEIGHT + r) * WIDTH + w;
    let w0 = cand.pos.0 as i64 - CENTRE as i64;
    let col = |p: u64| -> Option<usize> {
        let c = p as i64 - w0;
        (0..WIDTH as i64).contains(&c).then_some(c as usize)
    };
    for w in 0..WIDTH {
        let p = w0 + w as i64;
        let b = if p < 0 { b'N' } else { refw.base(p as u64) };
        data[at(BASE, 0, w)] = encode_base(b);
        data[at(BQ, 0, w)] = 255;
        data[at(MQ, 0, w)] = 255;
    }
    let rank = |s: Option<Support>| match s {
        Some(Support::Alt(k)) if k == alt => 0,
        Some(Support::Ref) => 1,
        Some(Support::Alt(_)) => 2,
        _ => 3,
    };
    let mut order = rows.to_vec();
    order.sort_by_key(|&(i, s)| (rank(s), reads[i].start, reads[i].key));
    let (lo, hi) = (w0.max(0) as u64, (w0 + WIDTH as i64) as u64);
    for (row, &(i, s)) in order.iter().enumerate() {
        let r = &reads[i];
        let row = row + 1;
        let mq = (r.mapq.min(60) as u32 * 255 / 60) as u8;
        let strand = if r.reverse { 127 } else { 255 };
        let support = match s {
            Some(Support::Alt(k)) if k == alt => 255,
            Some(Support::Alt(_)) => 170,
            Some(Support::Ref) => 85,
            _ => 0,
        };
        let mark = |data: &mut Vec<u8>, w: usize| {
            data[at(MQ, row, w)] = mq;
            data[at(STRAND, row, w)] = strand;
            data[at(SUPPORT, row, w)] = support;
        };
        // only the blocks and indels that can reach the window: the cost of a row does not
        // grow with the read's length
        let first = r
            .blocks
            .partition_point(|b| b.ref_start + b.len as u64 <= lo);
        for b in r.blocks[first..].iter().take_while(|b| b.ref_start < hi) {
            let (s, e) = (b.ref_start.max(lo), (b.ref_start + b.len as u64).min(hi));
            for p in s..e {
                let w = (p as i64 - w0) as usize;
                let q = (b.read_start as u64 + p - b.ref_start) as usize;
                let base = r.seq[q];
                data[at(BASE, row, w)] = encode_base(base);
                data[at(BQ, row, w)] =
                    (r.qual.get(q).copied().unwrap_or(0).min(40) as u32 * 255 / 40) as u8;
                if base != refw.base(p) {
                    data[at(DIFF, row, w)] = 255;
                }
                mark(&mut data, w);
            }
        }
        for (end, pos) in [(0, r.start), (1, r.end.saturating_sub(1))] {
            if let (true, Some(w)) = (r.clips[end] > 0, col(pos)) {
                data[at(CLIP, row, w)] = (r.clips[end].min(10) * 25) as u8;
            }
        }
        // an indel reaching the window is anchored at or after the last base of the block
        // before the window's first (indels and blocks alternate in reference order)
        let min_anchor = first
            .checked_sub(1)
            .map_or(0, |i| r.blocks[i].ref_start + r.blocks[i].len as u64 - 1);
        let from = r.indels.partition_point(|d| d.anchor < min_anchor);
        for d in r.indels[from..].iter().take_while(|d| d.anchor < hi) {
            match &d.kind {
                IndelKind::Ins(s) => {
                    if let Some(w) = col(d.anchor) {
                        data[at(INS, row, w)] = (s.len().min(10) * 25) as u8;
                    }
                }
                IndelKind::Del(n) => {
                    for p in (d.anchor + 1).max(lo)..=(d.anchor + *n as u64).min(hi - 1) {
                        if let Some(w) = col(p) {
                            data[at(DEL, row, w)] = 255;
                            mark(&mut data, w);
                        }
                    }
                }
            }
        }
    }
    PileupTensor { data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cigar::{AltAllele, Block, Indel};
    use crate::region::Pos0;

    fn read(start: u64, seq: &[u8], blocks: Vec<Block>, indels: Vec<Indel>, key: u64) -> Read {
        let end = blocks.last().map(|b| b.ref_start + b.len as u64).unwrap();
        Read {
            key,
            start,
            end,
            mapq: 60,
            reverse: false,
            seq: seq.to_vec(),
            qual: vec![30; seq.len()],
            blocks,
            indels,
            clips: [0, 3],
        }
    }

    #[test]
    fn encodes_reference_reads_and_indels() {
        let refw = RefWindow {
            start: 0,
            seq: b"ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT".to_vec(),
        };
        // read 1: SNV C>T at position 20; read 2: deletion of 21..22 anchored at 20
        let r1 = read(
            10,
            b"CGTACGTACGTACGTACGTA",
            vec![Block {
                ref_start: 10,
                read_start: 0,
                len: 20,
            }],
            vec![],
            1,
        );
        let mut s1 = r1.seq.clone();
        s1[10] = b'G'; // ref at 20 is A (20 % 4 == 0) -> read has G
        let r1 = Read { seq: s1, ..r1 };
        let r2 = read(
            15,
            b"TACGTAACGT",
            vec![
                Block {
                    ref_start: 15,
                    read_start: 0,
                    len: 6,
                },
                Block {
                    ref_start: 23,
                    read_start: 6,
                    len: 4,
                },
            ],
            vec![Indel {
                anchor: 20,
                kind: IndelKind::Del(2),
                qual: 30,
            }],
            2,
        );
        let reads = vec![r1, r2];
        let cand = Candidate {
            contig: "c".into(),
            pos: Pos0(20),
            alts: vec![AltAllele::Snv(b'G'), AltAllele::Del(2)],
            depth: 2,
            allele_depths: vec![0, 1, 1],
        };
        let rows = vec![(0, Some(Support::Alt(0))), (1, Some(Support::Alt(1)))];
        let t = build(&cand, 1, &reads, &rows, &refw);
        let at = |c: usize, r: usize, w: usize| t.data[(c * HEIGHT + r) * WIDTH + w];
        assert_eq!(t.data.len(), SIZE);
        assert_eq!(at(BASE, 0, CENTRE), 63); // reference A at the anchor
                                             // row 1 is the deletion read (carries alt 1), row 2 the SNV read
        assert_eq!(at(SUPPORT, 1, CENTRE), 255);
        assert_eq!(at(SUPPORT, 2, CENTRE), 170);
        assert_eq!(at(DEL, 1, CENTRE + 1), 255);
        assert_eq!(at(DEL, 1, CENTRE + 2), 255);
        assert_eq!(at(DEL, 1, CENTRE + 3), 0);
        assert_eq!(at(BASE, 1, CENTRE + 1), 0);
        assert_eq!(at(MQ, 1, CENTRE + 1), 255);
        assert_eq!(at(DIFF, 2, CENTRE), 255);
        assert_eq!(at(BASE, 2, CENTRE), 191);
        assert_eq!(at(MQ, 3, CENTRE), 0); // empty row
        assert_eq!(at(CLIP, 2, 29 - 20 + CENTRE), 75); // SNV read ends at 29, 3 bases clipped
        assert_eq!(at(CLIP, 2, 28 - 20 + CENTRE), 0);
    }

    #[test]
    fn downsampling_is_stable_and_bounded() {
        let reads: Vec<Read> = (0..100)
            .map(|k| {
                read(
                    50,
                    &[b'A'; 50],
                    vec![Block {
                        ref_start: 50,
                        read_start: 0,
                        len: 50,
                    }],
                    vec![],
                    k * 7919,
                )
            })
            .collect();
        let cov: Vec<_> = (0..100).map(|i| (i, Some(Support::Ref))).collect();
        let a = select_rows(&reads, &cov, 75);
        let mut rev = cov.clone();
        rev.reverse();
        let b = select_rows(&reads, &rev, 75);
        assert_eq!(a.len(), HEIGHT - 1);
        assert_eq!(a, b);
    }
}
