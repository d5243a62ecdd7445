//! Pairwise alignment for the realigner: affine-gap dynamic programming (Gotoh) of a query
//! (a read segment or a haplotype) against a target (a haplotype or the reference window),
//! each end either anchored (the alignment must start or end at the sequence's edge) or free
//! (the target's flank is skipped at no cost and the query's bases left over are soft-clipped
//! at a flat [`CLIP`] penalty), and the ungapped fast path tried before it.

/// Score of an aligned pair of equal bases.
pub const MATCH: i32 = 2;
/// Score of an aligned pair of different bases (or an N).
pub const MISMATCH: i32 = -4;
/// Cost of opening a gap (charged once, on top of [`EXTEND`] per gap base).
pub const OPEN: i32 = 5;
/// Cost of each gap base.
pub const EXTEND: i32 = 1;
/// Cost of soft-clipping the query's bases at a free end (any number of them).
pub const CLIP: i32 = 8;

/// One step of an alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A query base against a target base.
    Match,
    /// A query base with no target base.
    Ins,
    /// A target base with no query base.
    Del,
    /// A query base left unaligned at a free end.
    Clip,
}

/// Which ends of the alignment are free (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ends {
    pub left_free: bool,
    pub right_free: bool,
}

/// An alignment of a query against a target: the target position of its first step and the
/// steps (every query base appears once, as Match, Ins or Clip).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alignment {
    pub score: i32,
    pub target_start: usize,
    pub steps: Vec<Step>,
}

fn pair(a: u8, b: u8) -> i32 {
    if a == b && a != b'N' {
        MATCH
    } else {
        MISMATCH
    }
}

/// The ungapped alignment of `query` placed at the target position `ends` allow: from the
/// target's start when the left end is anchored, else ending at the target's end when the
/// right end is anchored (both anchored: only when the lengths agree). `None` when no
/// ungapped placement fits.
pub fn ungapped(query: &[u8], target: &[u8], ends: Ends) -> Option<Alignment> {
    let (n, m) = (query.len(), target.len());
    let offset = match (ends.left_free, ends.right_free) {
        (false, false) if n == m => 0,
        (false, true) if n <= m => 0,
        (true, false) if n <= m => m - n,
        _ => return None,
    };
    let score = query
        .iter()
        .zip(&target[offset..])
        .map(|(&a, &b)| pair(a, b))
        .sum();
    Some(Alignment {
        score,
        target_start: offset,
        steps: vec![Step::Match; n],
    })
}

/// The best alignment of `query` against `target` under the affine-gap scores above.
/// Deterministic: ties prefer a match over a gap at each step of the traceback (gaps end up
/// leftmost) and, at a free right end, the end reached first in row-major order.
pub fn align(query: &[u8], target: &[u8], ends: Ends) -> Alignment {
    const NEG: i32 = i32::MIN / 4;
    let (n, m) = (query.len(), target.len());
    let w = m + 1;
    let at = |i: usize, j: usize| i * w + j;
    // h: best ending at (i, j); e: ending in a deletion (target base); f: in an insertion
    let mut h = vec![NEG; (n + 1) * w];
    let mut e = vec![NEG; (n + 1) * w];
    let mut f = vec![NEG; (n + 1) * w];
    let start = |i: usize, j: usize| -> i32 {
        match (ends.left_free, i, j) {
            (_, 0, 0) => 0,
            (true, 0, _) => 0,
            (true, _, _) => -CLIP,
            (false, _, _) => NEG,
        }
    };
    for i in 0..=n {
        for j in 0..=m {
            let k = at(i, j);
            if j > 0 {
                e[k] = (e[k - 1] - EXTEND).max(h[k - 1] - OPEN - EXTEND);
            }
            if i > 0 {
                f[k] = (f[k - w] - EXTEND).max(h[k - w] - OPEN - EXTEND);
            }
            let diag = if i > 0 && j > 0 {
                h[k - w - 1] + pair(query[i - 1], target[j - 1])
            } else {
                NEG
            };
            h[k] = diag.max(e[k]).max(f[k]).max(start(i, j));
        }
    }
    // where the alignment ends, and the clipped query bases after it
    let (mut i, mut j, score) = if ends.right_free {
        let mut best = (n, m, NEG);
        for i in 0..=n {
            let pen = if i < n { CLIP } else { 0 };
            for j in 0..=m {
                let s = h[at(i, j)] - pen;
                if s > best.2 || (s == best.2 && i == n && best.0 < n) {
                    best = (i, j, s);
                }
            }
        }
        best
    } else {
        (n, m, h[at(n, m)])
    };
    let mut steps = vec![Step::Clip; n - i];
    // 0: in h, 1: in e (deletion), 2: in f (insertion)
    let mut state = 0;
    loop {
        let k = at(i, j);
        match state {
            0 => {
                if i > 0 && j > 0 && h[k] == h[k - w - 1] + pair(query[i - 1], target[j - 1]) {
                    steps.push(Step::Match);
                    i -= 1;
                    j -= 1;
                } else if j > 0 && h[k] == e[k] {
                    state = 1;
                } else if i > 0 && h[k] == f[k] {
                    state = 2;
                } else {
                    // the alignment starts here: query bases before it are clipped
                    steps.extend(std::iter::repeat_n(Step::Clip, i));
                    break;
                }
            }
            1 => {
                steps.push(Step::Del);
                state = if e[k] == h[k - 1] - OPEN - EXTEND {
                    0
                } else {
                    1
                };
                j -= 1;
            }
            _ => {
                steps.push(Step::Ins);
                state = if f[k] == h[k - w] - OPEN - EXTEND {
                    0
                } else {
                    2
                };
                i -= 1;
            }
        }
    }
    steps.reverse();
    Alignment {
        score,
        target_start: j,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANCHORED: Ends = Ends {
        left_free: false,
        right_free: false,
    };

    fn cigar(a: &Alignment) -> String {
        let mut out = String::new();
        let mut run: Option<(char, usize)> = None;
        for s in &a.steps {
            let c = match s {
                Step::Match => 'M',
                Step::Ins => 'I',
                Step::Del => 'D',
                Step::Clip => 'S',
            };
            match &mut run {
                Some((rc, n)) if *rc == c => *n += 1,
                _ => {
                    if let Some((rc, n)) = run {
                        out += &format!("{n}{rc}");
                    }
                    run = Some((c, 1));
                }
            }
        }
        if let Some((rc, n)) = run {
            out += &format!("{n}{rc}");
        }
        out
    }

    #[test]
    fn global_alignment_places_a_deletion_and_an_insertion() {
        let target = b"ACGTACGTTTGCAGGCATCA";
        let del = b"ACGTACGTGCAGGCATCA"; // two of the three Ts deleted: placed leftmost
        let a = align(del, target, ANCHORED);
        assert_eq!(cigar(&a), "7M2D11M");
        assert_eq!(a.score, 18 * MATCH - OPEN - 2 * EXTEND);
        let ins = b"ACGTACGTTTCCGCAGGCATCA"; // CC inserted
        let a = align(ins, target, ANCHORED);
        assert_eq!(cigar(&a), "10M2I10M");
    }

    #[test]
    fn gaps_in_a_repeat_are_placed_leftmost() {
        // one A of the homopolymer deleted: the gap goes before the run's first A
        let a = align(b"CGTAAAGC", b"CGTAAAAGC", ANCHORED);
        assert_eq!(cigar(&a), "3M1D5M");
    }

    #[test]
    fn free_ends_skip_the_target_and_clip_junk() {
        let target = b"TTTTTACGTACGGATCCAGTTTTT";
        // the read lies inside the target: target flanks are free
        let a = align(
            b"ACGTACGGATCCAG",
            target,
            Ends {
                left_free: true,
                right_free: true,
            },
        );
        assert_eq!((a.target_start, cigar(&a).as_str()), (5, "14M"));
        // junk at the free left end is clipped rather than aligned with mismatches
        let a = align(
            b"GGGGGGACGTACGGATCCAGTTTTT",
            target,
            Ends {
                left_free: true,
                right_free: false,
            },
        );
        assert_eq!(cigar(&a), "6S19M");
        assert_eq!(a.target_start, 5);
    }

    #[test]
    fn ungapped_placement_follows_the_anchor() {
        let t = b"ACGTACGT";
        let left = Ends {
            left_free: false,
            right_free: true,
        };
        let right = Ends {
            left_free: true,
            right_free: false,
        };
        assert_eq!(
            ungapped(b"ACGA", t, left).map(|a| a.score),
            Some(3 * MATCH + MISMATCH)
        );
        let a = ungapped(b"ACGT", t, right).expect("fits");
        assert_eq!((a.target_start, a.score), (4, 4 * MATCH));
        assert!(ungapped(b"ACG", t, ANCHORED).is_none());
    }
}
