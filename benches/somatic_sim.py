#!/usr/bin/env python3
"""Builds the genomes of a simulated tumour for benches/simulate_somatic.sh.

usage: somatic_sim.py REGION.fa START GERMLINE.vcf SEED N_SNV N_INDEL OUTDIR

Germline (HG002 truth, already trimmed to non-overlapping diploid records) goes into hap1
and hap2. Somatic SNVs and indels are drawn at random positions (fixed seed; no N, at least
10 bp from any germline variant or other somatic variant, indels outside homopolymers longer
than 8) and each is given a target allele fraction from LEVELS. They all sit on hap1 of the
tumour, in nested lineages: lineage k carries every somatic variant whose level is >= LEVELS[k];
its share of hap1 reads is 2*(LEVELS[k] - LEVELS[k+1]), so a variant at level v is carried
by a fraction 2v of hap1 reads, i.e. v of all tumour reads. Writes OUTDIR/hap2.fa,
OUTDIR/lineage_K.fa with OUTDIR/lineages.tsv (file, share of hap1 depth) and
OUTDIR/somatic.vcf (INFO VAF, the target fraction; GT 0/1).
"""
import random
import re
import sys

LEVELS = [0.50, 0.40, 0.30, 0.20, 0.15, 0.10, 0.07, 0.05, 0.03, 0.02, 0.01]

fa, start, germ, seed, n_snv, n_indel, out = sys.argv[1:]
start, seed, n_snv, n_indel = int(start), int(seed), int(n_snv), int(n_indel)
seq = "".join(l.strip() for l in open(fa) if not l.startswith(">")).upper()
chrom = [l[1:].split()[0] for l in open(fa) if l.startswith(">")][0]
rng = random.Random(seed)

germline = []  # (offset, ref, [alleles per haplotype])
for line in open(germ):
    if line.startswith("#"):
        continue
    t = line.rstrip("\n").split("\t")
    alleles = [t[3]] + t[4].split(",")
    gt = [alleles[int(a)] for a in re.split(r"[/|]", t[9])]
    germline.append((int(t[1]) - start, t[3], gt))

busy = bytearray(len(seq))
def block(a, b):
    for i in range(max(0, a), min(len(seq), b)):
        busy[i] = 1
for off, ref, _ in germline:
    block(off - 10, off + len(ref) + 10)
block(0, 300)
block(len(seq) - 300, len(seq))

def homopolymer(i):
    j = i
    while j < len(seq) and seq[j] == seq[i]:
        j += 1
    return j - i

somatic = []  # (offset, ref, alt, level)
def draw(kind):
    while True:
        i = rng.randrange(len(seq) - 40)
        if busy[i] or "N" in seq[i:i + 30]:
            continue
        if kind == "snv":
            ref = seq[i]
            alt = rng.choice([b for b in "ACGT" if b != ref])
        elif kind == "del":
            n = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 8, 12])
            if homopolymer(i + 1) > 8:
                continue
            ref, alt = seq[i:i + n + 1], seq[i]
        else:
            n = rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 9])
            if homopolymer(i + 1) > 8:
                continue
            ins = "".join(rng.choice("ACGT") for _ in range(n))
            ref, alt = seq[i], seq[i] + ins
        block(i - 10, i + len(ref) + 10)
        return (i, ref, alt, rng.choice(LEVELS))

for _ in range(n_snv):
    somatic.append(draw("snv"))
for k in range(n_indel):
    somatic.append(draw("del" if k % 2 == 0 else "ins"))
somatic.sort()

def build(variants, path, name):
    """Writes the region with (offset, ref, alt) variants applied."""
    parts, cur = [], 0
    for off, ref, alt in sorted(variants):
        assert seq[off:off + len(ref)] == ref.upper(), (off, ref)
        parts.append(seq[cur:off]); parts.append(alt); cur = off + len(ref)
    parts.append(seq[cur:])
    s = "".join(parts)
    with open(path, "w") as o:
        o.write(f">{name}\n")
        for i in range(0, len(s), 60):
            o.write(s[i:i + 60] + "\n")

hap = [[(off, ref, gt[h]) for off, ref, gt in germline if gt[h] != ref] for h in (0, 1)]
build(hap[1], f"{out}/hap2.fa", "hap2")
with open(f"{out}/lineages.tsv", "w") as tsv:
    levels = LEVELS + [0.0]
    for k, lv in enumerate(LEVELS):
        carried = [(o, r, a) for o, r, a, v in somatic if v >= lv]
        build(hap[0] + carried, f"{out}/lineage_{k}.fa", f"lineage{k}")
        tsv.write(f"lineage_{k}.fa\t{2 * (lv - levels[k + 1]):.4f}\n")

with open(f"{out}/somatic.vcf", "w") as o:
    o.write("##fileformat=VCFv4.2\n")
    o.write(f"##contig=<ID={chrom}>\n")
    o.write('##INFO=<ID=VAF,Number=A,Type=Float,Description="Simulated allele fraction in the tumour">\n')
    o.write('##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Somatic variant">\n')
    o.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
    o.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n")
    for off, ref, alt, v in somatic:
        o.write(f"{chrom}\t{start + off}\t.\t{ref}\t{alt}\t.\tPASS\tSOMATIC;VAF={v}\tGT\t0/1\n")
print(f"somatic: {n_snv} SNVs, {n_indel} indels; {len(germline)} germline records", file=sys.stderr)
