//! The de Bruijn graph of one active window: nodes are k-mers, edges (k+1)-mers, built from
//! the reference window and the reads' bases in it, pruned by read support, and walked to
//! enumerate candidate haplotypes best first. As in DeepVariant's realigner, a `k` at which
//! the reference window repeats a k-mer, or the pruned graph has a cycle, is refused and the
//! caller tries a larger one.
use crate::reference::base_index;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// The largest k a graph can use (k-mers are packed two bits a base into a `u128`).
pub const MAX_K: usize = 63;

/// What to keep when building a graph.
#[derive(Clone, Copy, Debug)]
pub struct GraphConfig {
    pub k: usize,
    /// Read (k+1)-mers with a base below this quality (or an N) are not counted.
    pub min_base_qual: u8,
    /// Reads an edge off the reference path needs to be kept.
    pub min_edge_count: u32,
}

#[derive(Clone, Debug)]
struct Edge {
    to: u32,
    count: u32,
    on_ref: bool,
}

/// A pruned, acyclic de Bruijn graph whose every node lies on a path from the reference
/// window's first k-mer (the source) to its last (the sink).
#[derive(Debug)]
pub struct Graph {
    /// Each node's last base (a path spells its first k-mer, then one base a node).
    last: Vec<u8>,
    first_kmer: Vec<u8>,
    out: Vec<Vec<Edge>>,
    source: u32,
    sink: u32,
}

/// Packs `kmer` (ACGT only, at most [`MAX_K`] bases).
fn pack(kmer: &[u8]) -> Option<u128> {
    kmer.iter()
        .try_fold(1u128, |acc, &b| Some((acc << 2) | base_index(b)? as u128))
}

/// Node ids by packed k-mer, assigned in first-seen order.
struct Nodes {
    ids: HashMap<u128, u32>,
}

impl Nodes {
    fn id(&mut self, g: &mut Graph, key: u128, last: u8) -> u32 {
        *self.ids.entry(key).or_insert_with(|| {
            g.last.push(last);
            g.out.push(Vec::new());
            (g.last.len() - 1) as u32
        })
    }
}

impl Graph {
    /// Builds the graph of `reference` (the window's bases) and `reads` (bases and qualities
    /// of each read's stretch in the window). `None` when `cfg.k` does not suit the window:
    /// k is outside 3..=[`MAX_K`], the reference is shorter than k + 1, holds a non-ACGT base
    /// or a repeated k-mer, or the pruned graph has a cycle.
    pub fn build(reference: &[u8], reads: &[(&[u8], &[u8])], cfg: &GraphConfig) -> Option<Graph> {
        let k = cfg.k;
        if !(3..=MAX_K).contains(&k) || reference.len() <= k {
            return None;
        }
        let mut g = Graph {
            last: Vec::new(),
            first_kmer: reference[..k].to_vec(),
            out: Vec::new(),
            source: 0,
            sink: 0,
        };
        let mut nodes = Nodes {
            ids: HashMap::new(),
        };
        let mut prev: Option<u32> = None;
        for w in reference.windows(k) {
            let key = pack(w)?;
            let before = nodes.ids.len();
            let id = nodes.id(&mut g, key, w[k - 1]);
            if nodes.ids.len() == before {
                return None; // a repeated k-mer in the reference
            }
            if let Some(p) = prev {
                g.out[p as usize].push(Edge {
                    to: id,
                    count: 0,
                    on_ref: true,
                });
            }
            prev = Some(id);
        }
        g.sink = prev?;
        for &(seq, qual) in reads {
            let mut prev: Option<u32> = None;
            let mut run = 0;
            for (j, &b) in seq.iter().enumerate() {
                let good =
                    base_index(b).is_some() && qual.get(j).is_some_and(|&q| q >= cfg.min_base_qual);
                if !good {
                    // a low-quality or N base breaks the read's path until k good bases follow
                    run = 0;
                    prev = None;
                    continue;
                }
                run += 1;
                if run < k {
                    continue;
                }
                let w = &seq[j + 1 - k..=j];
                let Some(key) = pack(w) else { continue };
                let id = nodes.id(&mut g, key, b);
                if let Some(p) = prev {
                    let edges = &mut g.out[p as usize];
                    match edges.iter_mut().find(|e| e.to == id) {
                        Some(e) => e.count += 1,
                        None => edges.push(Edge {
                            to: id,
                            count: 1,
                            on_ref: false,
                        }),
                    }
                }
                prev = Some(id);
            }
        }
        g.prune(cfg.min_edge_count);
        g.is_acyclic().then_some(g)
    }

    /// Drops edges off the reference with fewer than `min_count` reads, then every edge that
    /// no longer lies on a source-to-sink path.
    fn prune(&mut self, min_count: u32) {
        for edges in &mut self.out {
            edges.retain(|e| e.on_ref || e.count >= min_count);
        }
        let n = self.out.len();
        let mut forward = vec![false; n];
        let mut stack = vec![self.source];
        forward[self.source as usize] = true;
        while let Some(v) = stack.pop() {
            for e in &self.out[v as usize] {
                if !forward[e.to as usize] {
                    forward[e.to as usize] = true;
                    stack.push(e.to);
                }
            }
        }
        let mut incoming: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (v, edges) in self.out.iter().enumerate() {
            for e in edges {
                incoming[e.to as usize].push(v as u32);
            }
        }
        let mut backward = vec![false; n];
        let mut stack = vec![self.sink];
        backward[self.sink as usize] = true;
        while let Some(v) = stack.pop() {
            for &u in &incoming[v as usize] {
                if !backward[u as usize] {
                    backward[u as usize] = true;
                    stack.push(u);
                }
            }
        }
        for (v, edges) in self.out.iter_mut().enumerate() {
            if !(forward[v] && backward[v]) {
                edges.clear();
            } else {
                edges.retain(|e| forward[e.to as usize] && backward[e.to as usize]);
            }
        }
    }

    /// Whether the graph (what remains reachable from the source) has no cycle.
    fn is_acyclic(&self) -> bool {
        // iterative depth-first search with three colours
        let n = self.out.len();
        let mut colour = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
        let mut stack: Vec<(u32, usize)> = vec![(self.source, 0)];
        colour[self.source as usize] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(e) = self.out[v as usize].get(*next) {
                *next += 1;
                match colour[e.to as usize] {
                    1 => return false,
                    0 => {
                        colour[e.to as usize] = 1;
                        stack.push((e.to, 0));
                    }
                    _ => {}
                }
            } else {
                colour[v as usize] = 2;
                stack.pop();
            }
        }
        true
    }

    /// Nodes kept (on a source-to-sink path).
    #[cfg(test)]
    fn kept_nodes(&self) -> usize {
        let mut seen = vec![false; self.out.len()];
        seen[self.source as usize] = true;
        for e in self.out.iter().flatten() {
            seen[e.to as usize] = true;
        }
        seen.iter().filter(|&&s| s).count()
    }

    /// Up to `max` source-to-sink paths, best first, spelled as sequences. A path's score is
    /// the sum over its edges of ln(edge weight / the weights leaving its node), an edge's
    /// weight being its reads (a reference edge no read supports counts as half a read); ties
    /// go to the path that is lexicographically smaller. At most `max_steps` partial paths
    /// are expanded, so the work is bounded however branchy the graph.
    pub fn haplotypes(&self, max: usize, max_steps: usize) -> Vec<Vec<u8>> {
        #[derive(PartialEq)]
        struct Partial {
            score: f64,
            seq: Vec<u8>,
            node: u32,
        }
        impl Eq for Partial {}
        impl Ord for Partial {
            fn cmp(&self, o: &Self) -> Ordering {
                self.score
                    .total_cmp(&o.score)
                    .then_with(|| o.seq.cmp(&self.seq))
            }
        }
        impl PartialOrd for Partial {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        let weight = |e: &Edge| e.count as f64 + if e.count == 0 { 0.5 } else { 0.0 };
        let mut heap = BinaryHeap::new();
        heap.push(Partial {
            score: 0.0,
            seq: self.first_kmer.clone(),
            node: self.source,
        });
        let mut out = Vec::new();
        let mut steps = 0;
        while let Some(p) = heap.pop() {
            if p.node == self.sink {
                out.push(p.seq);
                if out.len() == max {
                    break;
                }
                continue;
            }
            steps += 1;
            if steps > max_steps {
                break;
            }
            let edges = &self.out[p.node as usize];
            let total: f64 = edges.iter().map(weight).sum();
            for e in edges {
                let mut seq = p.seq.clone();
                seq.push(self.last[e.to as usize]);
                heap.push(Partial {
                    score: p.score + (weight(e) / total).ln(),
                    seq,
                    node: e.to,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &[u8] = b"GATTACAGGCTTACGATCGGATCCATGCAAGT";

    fn cfg(k: usize) -> GraphConfig {
        GraphConfig {
            k,
            min_base_qual: 10,
            min_edge_count: 2,
        }
    }

    fn reads<'a>(seqs: &'a [Vec<u8>], qual: &'a [u8]) -> Vec<(&'a [u8], &'a [u8])> {
        seqs.iter()
            .map(|s| (s.as_slice(), &qual[..s.len()]))
            .collect()
    }

    #[test]
    fn reference_alone_gives_the_reference() {
        let g = Graph::build(REF, &[], &cfg(7)).expect("no repeat at k=7");
        assert_eq!(g.haplotypes(4, 100), vec![REF.to_vec()]);
    }

    #[test]
    fn supported_variant_is_kept_and_a_single_read_error_pruned() {
        let mut alt = REF.to_vec();
        alt[15] = b'T'; // SNV
        let mut err = REF.to_vec();
        err[25] = b'A';
        let seqs = vec![alt.clone(), alt.clone(), alt.clone(), err, REF.to_vec()];
        let qual = [30u8; 64];
        let g = Graph::build(REF, &reads(&seqs, &qual), &cfg(7)).expect("acyclic");
        let haps = g.haplotypes(8, 1000);
        // the alt path carries 3 of 4 reads at the fork: best first
        assert_eq!(haps, vec![alt, REF.to_vec()]);
        // the error read's bubble (1 read) is pruned away entirely
        assert_eq!(g.kept_nodes(), REF.len() - 7 + 1 + 7);
    }

    #[test]
    fn low_quality_bases_do_not_make_edges() {
        let mut alt = REF.to_vec();
        alt[15] = b'T';
        let mut qual = vec![30u8; REF.len()];
        qual[15] = 5;
        let seqs = [alt.clone(), alt.clone(), alt];
        let r: Vec<(&[u8], &[u8])> = seqs
            .iter()
            .map(|s| (s.as_slice(), qual.as_slice()))
            .collect();
        let g = Graph::build(REF, &r, &cfg(7)).expect("acyclic");
        assert_eq!(g.haplotypes(8, 1000), vec![REF.to_vec()]);
    }

    #[test]
    fn repeated_kmers_need_a_larger_k() {
        // a tandem repeat: ACGTACG appears twice at k=7, so k=7 is refused; reads with one
        // more repeat unit would also make a cycle at small k
        let reference = b"TTGCAACGTACGTACGGGATCCT";
        assert!(Graph::build(reference, &[], &cfg(5)).is_none());
        assert!(Graph::build(reference, &[], &cfg(9)).is_some());
        let ins = b"TTGCAACGTACGTACGTACGGGATCCT".to_vec();
        let seqs = vec![ins.clone(), ins.clone()];
        let qual = [30u8; 64];
        // k=9 accepts the reference, but the reads' extra unit loops back: a cycle
        assert!(Graph::build(reference, &reads(&seqs, &qual), &cfg(9)).is_none());
        let g = Graph::build(reference, &reads(&seqs, &qual), &cfg(13)).expect("acyclic at 13");
        assert_eq!(g.haplotypes(4, 100), vec![ins, reference.to_vec()]);
    }

    #[test]
    fn enumeration_is_bounded() {
        // three independent SNVs, each on half the reads: 8 paths in all
        let mut seqs = Vec::new();
        for m in 0..8u32 {
            let mut s = REF.to_vec();
            for (bit, pos) in [(1, 8), (2, 16), (4, 24)] {
                if m & bit != 0 {
                    s[pos] = if s[pos] == b'A' { b'C' } else { b'A' };
                }
            }
            seqs.push(s.clone());
            seqs.push(s);
        }
        let qual = [30u8; 64];
        let g = Graph::build(REF, &reads(&seqs, &qual), &cfg(7)).expect("acyclic");
        assert_eq!(g.haplotypes(100, 10_000).len(), 8);
        assert_eq!(g.haplotypes(3, 10_000).len(), 3);
        assert!(g.haplotypes(100, 2).len() < 8);
    }
}
