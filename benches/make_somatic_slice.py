#!/usr/bin/env python3
"""Makes the tumour/normal test slice in testdata/somatic/ from testdata/na12878.bam, the
BAMSurgeon way: real reads, with somatic mutations written into a chosen fraction of them.

usage: benches/make_somatic_slice.py   (from the repository root; needs samtools)

Reads of chr20:10,000,000-10,010,000 are split by a hash of their name (mates stay together):
one in three goes to the normal (SM NA12878-N), the rest to the tumour (SM NA12878-T).
At sites chosen on a fixed grid (at least 25 bp from every GIAB truth variant of
testdata/truth.vcf.gz), tumour reads whose name hashes below the site's allele fraction
carry the mutation: an SNV changes the base; a 2 bp deletion or a TG insertion rewrites
SEQ and CIGAR of reads aligned without clips or indels around it (the read keeps its length,
padded from the reference). Writes tumor.bam, normal.bam (+ .bai) and truth.vcf (INFO VAF:
the chosen fraction; the realised one varies with the reads at the site). Fixed: no
randomness beyond MD5 of names.
"""
import gzip
import hashlib
import os
import re
import subprocess

REGION = ("chr20", 10_000_000, 10_010_000)
OUT = "testdata/somatic"
VAFS = [0.4, 0.3, 0.2, 0.15]


def h(text):
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


ref_seq = "".join(run("samtools", "faidx", "testdata/ref.fa.gz",
                      f"{REGION[0]}:{REGION[1] - 200}-{REGION[2] + 400}").split("\n")[1:]).upper()
ref0 = REGION[1] - 201  # 0-based position of ref_seq[0]


def ref(p, n=1):
    return ref_seq[p - ref0:p - ref0 + n]


germline = []
with gzip.open("testdata/truth.vcf.gz", "rt") as f:
    for line in f:
        if not line.startswith("#"):
            t = line.split("\t")
            germline.append(int(t[1]) - 1)

sites = []  # (pos0 anchor, kind, ref, alt, vaf)
k = 0
for start in range(REGION[1] + 300, REGION[2] - 300, 700):
    p = start
    while any(abs(p - g) < 25 for g in germline) or "N" in ref(p - 5, 12):
        p += 7
    kind = "del" if k % 6 == 2 else "ins" if k % 6 == 5 else "snv"
    vaf = VAFS[k % len(VAFS)]
    if kind == "snv":
        r = ref(p)
        a = "ACGT"[("ACGT".index(r) + 1 + k % 3) % 4]
    elif kind == "del":
        r, a = ref(p, 3), ref(p)
    else:
        r, a = ref(p), ref(p) + "TG"
    sites.append((p, kind, r, a, vaf))
    k += 1

header = run("samtools", "view", "-H", "testdata/na12878.bam")
body = run("samtools", "view", "testdata/na12878.bam", "{}:{}-{}".format(*REGION)).splitlines()


def mutate(fields):
    """Writes every site's mutation into a tumour read that carries it."""
    name, pos, cigar, seq = fields[0], int(fields[3]) - 1, fields[5], fields[9]
    qual = fields[10]
    for p, kind, r, a, vaf in sites:
        if h(f"{name}:{p}") >= vaf:
            continue
        m = re.fullmatch(r"(\d+)M", cigar)
        if not m:
            if kind == "snv":
                # an SNV only needs the base: find it through the CIGAR
                q, rp = 0, pos
                for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar):
                    n = int(n)
                    if op in "M=X":
                        if rp <= p < rp + n:
                            i = q + p - rp
                            seq = seq[:i] + a + seq[i + 1:]
                            break
                        q, rp = q + n, rp + n
                    elif op in "IS":
                        q += n
                    elif op in "DN":
                        rp += n
            continue
        length = int(m.group(1))
        i = p - pos
        if kind == "snv":
            if 0 <= i < length:
                seq = seq[:i] + a + seq[i + 1:]
            continue
        if not (5 <= i < length - 8):
            continue  # indels only well inside the read
        if kind == "del":
            seq = seq[:i + 1] + seq[i + 3:] + ref(pos + length, 2)
            cigar = f"{i + 1}M2D{length - i - 1}M"
        else:
            seq = seq[:i + 1] + "TG" + seq[i + 1:length - 2]
            qual = qual[:i + 1] + "??" + qual[i + 1:length - 2]
            cigar = f"{i + 1}M2I{length - i - 3}M"
    fields[5], fields[9], fields[10] = cigar, seq, qual
    return fields


os.makedirs(OUT, exist_ok=True)
for sample, suffix in (("tumor", "T"), ("normal", "N")):
    hdr = header.replace("SM:NA12878", f"SM:NA12878-{suffix}")
    hdr += f"@CO\tsomatic test slice ({sample}): benches/make_somatic_slice.py\n"
    lines = []
    for line in body:
        f = line.split("\t")
        is_normal = h(f[0]) < 1 / 3
        if is_normal != (sample == "normal"):
            continue
        if sample == "tumor":
            f = mutate(f)
        lines.append("\t".join(f))
    sam = hdr + "\n".join(lines) + "\n"
    bam = f"{OUT}/{sample}.bam"
    subprocess.run(["samtools", "sort", "--no-PG", "-o", bam, "-"], input=sam, text=True, check=True)
    run("samtools", "index", bam)

with open(f"{OUT}/truth.vcf", "w") as o:
    o.write("##fileformat=VCFv4.2\n##contig=<ID=chr20,length=63025520>\n")
    o.write('##INFO=<ID=VAF,Number=A,Type=Float,Description="Fraction of tumour reads mutated">\n')
    o.write("##source=benches/make_somatic_slice.py\n")
    o.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for p, kind, r, a, vaf in sites:
        o.write(f"chr20\t{p + 1}\t.\t{r}\t{a}\t.\tPASS\tVAF={vaf}\n")
print(f"{len(sites)} somatic sites written into {OUT}/tumor.bam; normal: {OUT}/normal.bam")
