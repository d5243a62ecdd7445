//! CIGAR decoding and indel normalisation: turns each read's CIGAR into aligned blocks and
//! indel events, and moves every indel to its leftmost equivalent position against the
//! reference (the VCF normalisation rule), so the same indel placed differently by the
//! aligner in different reads is counted, scored and written at one site. Also normalises
//! alleles from VCF records (truth sets) the same way, so candidates and truth compare like
//! for like.
use crate::reference::RefWindow;

/// A run of read bases aligned to consecutive reference bases (CIGAR M, = or X).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub ref_start: u64,
    pub read_start: u32,
    pub len: u32,
}

/// An insertion of bases, or a deletion of reference bases.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndelKind {
    Ins(Vec<u8>),
    Del(u32),
}

/// An indel in a read. `anchor` is the reference base just before the event (the VCF POS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indel {
    pub anchor: u64,
    pub kind: IndelKind,
    /// Base quality evidence: the lowest quality of the inserted bases, or of the two bases
    /// flanking a deletion.
    pub qual: u8,
}

/// One CIGAR operation, reduced to what alignment needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// M, = or X.
    Match(u32),
    Ins(u32),
    Del(u32),
    /// N: a reference skip (spliced read), no evidence either way.
    Skip(u32),
    /// S: read bases not aligned.
    SoftClip(u32),
}

enum Seg {
    Block(Block),
    Indel(Indel),
    Gap,
}

/// Builds blocks and left-aligned indels for a read starting at reference `start`.
pub fn align_read(
    start: u64,
    ops: &[Op],
    seq: &[u8],
    qual: &[u8],
    refw: &RefWindow,
) -> (Vec<Block>, Vec<Indel>) {
    let mut segs: Vec<Seg> = Vec::with_capacity(ops.len());
    let (mut rp, mut qp) = (start, 0u32);
    let q_at = |i: u32| qual.get(i as usize).copied().unwrap_or(0);
    for op in ops {
        match *op {
            Op::Match(n) => {
                segs.push(Seg::Block(Block {
                    ref_start: rp,
                    read_start: qp,
                    len: n,
                }));
                rp += n as u64;
                qp += n;
            }
            Op::Ins(n) => {
                let s = seq[qp as usize..(qp + n) as usize].to_vec();
                let q = (qp..qp + n).map(q_at).min().unwrap_or(0);
                segs.push(Seg::Indel(Indel {
                    anchor: rp.wrapping_sub(1),
                    kind: IndelKind::Ins(s),
                    qual: q,
                }));
                qp += n;
            }
            Op::Del(n) => {
                let q = q_at(qp.saturating_sub(1)).min(q_at(qp));
                segs.push(Seg::Indel(Indel {
                    anchor: rp.wrapping_sub(1),
                    kind: IndelKind::Del(n),
                    qual: q,
                }));
                rp += n as u64;
            }
            Op::Skip(n) => {
                segs.push(Seg::Gap);
                rp += n as u64;
            }
            Op::SoftClip(n) => {
                segs.push(Seg::Gap);
                qp += n;
            }
        }
    }
    // Left-align each indel that sits between two aligned blocks, shifting the blocks with it.
    for i in 1..segs.len().saturating_sub(1) {
        let (Seg::Block(prev), Seg::Indel(_), Seg::Block(_)) =
            (&segs[i - 1], &segs[i], &segs[i + 1])
        else {
            continue;
        };
        let min_anchor = prev.ref_start; // keep at least one aligned base before the event
        let Seg::Indel(indel) = &mut segs[i] else {
            unreachable!()
        };
        let shift = left_align(indel, min_anchor, refw);
        if shift == 0 {
            continue;
        }
        if let Seg::Block(p) = &mut segs[i - 1] {
            p.len -= shift as u32;
        }
        if let Seg::Block(n) = &mut segs[i + 1] {
            n.ref_start -= shift;
            n.read_start -= shift as u32;
            n.len += shift as u32;
        }
    }
    let mut blocks = Vec::new();
    let mut indels = Vec::new();
    for s in segs {
        match s {
            Seg::Block(b) if b.len > 0 => blocks.push(b),
            Seg::Indel(d) if d.anchor != u64::MAX => indels.push(d),
            _ => {}
        }
    }
    (blocks, indels)
}

/// Moves `indel` left while the haplotype it spells stays the same, never past `min_anchor`.
/// Returns how many bases it moved.
pub fn left_align(indel: &mut Indel, min_anchor: u64, refw: &RefWindow) -> u64 {
    let start = indel.anchor;
    match &mut indel.kind {
        IndelKind::Del(len) => {
            let len = *len as u64;
            // deleted bases are anchor+1 ..= anchor+len; shifting left by one is allowed when
            // the base before the deletion equals its last deleted base
            while indel.anchor > min_anchor {
                let a = refw.base(indel.anchor);
                if a == b'N' || a != refw.base(indel.anchor + len) {
                    break;
                }
                indel.anchor -= 1;
            }
        }
        IndelKind::Ins(seq) => {
            while indel.anchor > min_anchor {
                let a = refw.base(indel.anchor);
                if a == b'N' || seq.last() != Some(&a) {
                    break;
                }
                seq.rotate_right(1);
                indel.anchor -= 1;
            }
        }
    }
    start - indel.anchor
}

/// End (exclusive) of the reference stretch a left-aligned indel anchored at `anchor` could
/// be moved right across without changing the haplotype: the mirror of [`left_align`]. For
/// an SNV, the base after the anchor.
pub fn repeat_end(anchor: u64, allele: &AltAllele, refw: &RefWindow) -> u64 {
    const MAX_SHIFT: u64 = 1000;
    let mut a = anchor;
    match allele {
        AltAllele::Snv(_) => anchor + 1,
        AltAllele::Del(n) => {
            let n = *n as u64;
            while a < anchor + MAX_SHIFT
                && refw.base(a + 1) != b'N'
                && refw.base(a + 1) == refw.base(a + 1 + n)
            {
                a += 1;
            }
            a + 1 + n
        }
        AltAllele::Ins(seq) => {
            let mut s = seq.clone();
            while a < anchor + MAX_SHIFT
                && refw.base(a + 1) != b'N'
                && s.first() == Some(&refw.base(a + 1))
            {
                s.rotate_left(1);
                a += 1;
            }
            a + 1
        }
    }
}

/// A variant allele in its normal form: a single-base substitution at `pos`, or an indel
/// anchored at `pos` (the base before the event), left-aligned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AltAllele {
    Snv(u8),
    Ins(Vec<u8>),
    Del(u32),
}

impl AltAllele {
    pub fn is_indel(&self) -> bool {
        !matches!(self, AltAllele::Snv(_))
    }

    /// Reference bases this allele spans from its anchor (1 for SNVs and insertions).
    pub fn ref_span(&self) -> u64 {
        match self {
            AltAllele::Del(n) => 1 + *n as u64,
            _ => 1,
        }
    }
}

impl From<IndelKind> for AltAllele {
    fn from(k: IndelKind) -> Self {
        match k {
            IndelKind::Ins(s) => AltAllele::Ins(s),
            IndelKind::Del(n) => AltAllele::Del(n),
        }
    }
}

/// A VCF allele pair reduced to normal-form alleles. MNPs become one SNV per differing base;
/// a complex replacement (different lengths, neither a prefix of the other after trimming)
/// is returned as `Err((start, end))`, the reference span it covers, so callers can treat
/// that span as unlabelable.
pub fn normalize(
    pos: u64,
    reference: &[u8],
    alt: &[u8],
    refw: &RefWindow,
) -> Result<Vec<(u64, AltAllele)>, (u64, u64)> {
    let (mut pos, mut r, mut a) = (
        pos,
        reference.to_ascii_uppercase(),
        alt.to_ascii_uppercase(),
    );
    // trim shared suffix, then shared prefix (keeping one anchor base for indels)
    while r.len() > 1 && a.len() > 1 && r.last() == a.last() {
        r.pop();
        a.pop();
    }
    if r.len() == a.len() {
        let mut out = Vec::new();
        for (i, (x, y)) in r.iter().zip(a.iter()).enumerate() {
            if x != y {
                out.push((pos + i as u64, AltAllele::Snv(*y)));
            }
        }
        return Ok(out);
    }
    while r.len() > 1 && a.len() > 1 && r[0] == a[0] {
        r.remove(0);
        a.remove(0);
        pos += 1;
    }
    let span = (pos, pos + r.len() as u64);
    let kind = if r.len() == 1 && a.len() > 1 && a[0] == r[0] {
        IndelKind::Ins(a[1..].to_vec())
    } else if a.len() == 1 && r.len() > 1 && r[0] == a[0] {
        IndelKind::Del((r.len() - 1) as u32)
    } else {
        return Err(span);
    };
    let mut indel = Indel {
        anchor: pos,
        kind,
        qual: 0,
    };
    left_align(&mut indel, refw.start, refw);
    Ok(vec![(indel.anchor, indel.kind.into())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(s: &str) -> RefWindow {
        RefWindow {
            start: 100,
            seq: s.as_bytes().to_vec(),
        }
    }

    #[test]
    fn deletion_in_homopolymer_moves_left() {
        // ref: G A A A A C ; read deletes the last A (anchor 103 = 4th base)
        let r = win("GAAAAC");
        let mut d = Indel {
            anchor: 103,
            kind: IndelKind::Del(1),
            qual: 30,
        };
        assert_eq!(left_align(&mut d, 100, &r), 3);
        assert_eq!(d.anchor, 100); // anchored on the G
    }

    #[test]
    fn insertion_in_tandem_repeat_moves_left() {
        // ref: T CA CA CA G ; insertion of "CA" after the last repeat unit
        let r = win("TCACACAG");
        let mut d = Indel {
            anchor: 106,
            kind: IndelKind::Ins(b"CA".to_vec()),
            qual: 30,
        };
        left_align(&mut d, 100, &r);
        assert_eq!(d.anchor, 100);
        assert_eq!(d.kind, IndelKind::Ins(b"CA".to_vec()));
    }

    #[test]
    fn read_blocks_follow_the_shift() {
        // ref GAAAACTT, read GAAACTT: aligner put the deletion at the 4th A (3M... as 4M1D3M)
        let r = win("GAAAACTT");
        let ops = [Op::Match(4), Op::Del(1), Op::Match(3)];
        let (blocks, indels) = align_read(100, &ops, b"GAAACTT", &[30; 7], &r);
        assert_eq!(indels.len(), 1);
        assert_eq!(indels[0].anchor, 100);
        assert_eq!(
            blocks[0],
            Block {
                ref_start: 100,
                read_start: 0,
                len: 1
            }
        );
        assert_eq!(
            blocks[1],
            Block {
                ref_start: 102,
                read_start: 1,
                len: 6
            }
        );
    }

    #[test]
    fn repeat_end_mirrors_left_alignment() {
        // G A A A A C: deleting one A anchored at the G can move right to the last A
        let r = win("GAAAAC");
        assert_eq!(repeat_end(100, &AltAllele::Del(1), &r), 105);
        // T CA CA CA G: inserting CA after the T can move to after the last A
        let r = win("TCACACAG");
        assert_eq!(repeat_end(100, &AltAllele::Ins(b"CA".to_vec()), &r), 107);
        assert_eq!(repeat_end(100, &AltAllele::Snv(b'A'), &r), 101);
    }

    #[test]
    fn normalizes_vcf_alleles() {
        let r = win("TCACACAGGT");
        // right-shifted insertion written with trailing context
        assert_eq!(
            normalize(106, b"AG", b"ACAG", &r),
            Ok(vec![(100, AltAllele::Ins(b"CA".to_vec()))])
        );
        // MNP split into SNVs
        assert_eq!(
            normalize(107, b"GG", b"TC", &r),
            Ok(vec![
                (107, AltAllele::Snv(b'T')),
                (108, AltAllele::Snv(b'C'))
            ])
        );
        assert_eq!(
            normalize(100, b"TCA", b"T", &r),
            Ok(vec![(100, AltAllele::Del(2))])
        );
        assert!(normalize(107, b"GGT", b"CA", &r).is_err());
    }
}
