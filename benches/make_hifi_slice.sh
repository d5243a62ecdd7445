#!/usr/bin/env bash
# Makes testdata/hifi/: a small real PacBio HiFi slice for tests/longread.rs, from the HG002
# Revio dev set in ../shared/data/hg002_hifi, over WINDOW (GRCh38 chr20:9,076,000-9,084,000).
#   reads.bam   the reads overlapping WINDOW, cut to WINDOW +-1 kb (bases outside become
#               hard clips; sequence, qualities, flags, MAPQ and alignment kept; aux tags
#               other than RG dropped) so the file stays small
#   ref.fa.gz   GRCh38 chr20 (10 Mb, as the BAM header says) with every base outside
#               WINDOW +-2 kb replaced by N: bgzip shrinks it to a few kilobytes
#   truth.vcf.gz, confident.bed   GIAB v4.2.1 truth and benchmark regions inside WINDOW
# The window lies inside the reserved evaluation region: it is for tests, never training.
#   usage: benches/make_hifi_slice.sh
set -euo pipefail
cd "$(dirname "$0")/.."
D=../shared/data
WINDOW=chr20:9076000-9084000
LO=9076000 HI=9084000
O=testdata/hifi
mkdir -p $O
samtools view -h $D/hg002_hifi/HG002.hifi_revio.GRCh38.chr20_9000000-9100000.bam $WINDOW \
  | python3 -c '
import re, sys
lo, hi = int(sys.argv[1]) - 1000, int(sys.argv[2]) + 1000  # 0-based half-open
for line in sys.stdin:
    if line.startswith("@"):
        if not line.startswith("@PG"):
            sys.stdout.write(line)
        continue
    t = line.rstrip("\n").split("\t")
    pos, seq, qual = int(t[3]) - 1, t[9], t[10]
    ops = [(int(n), o) for n, o in re.findall(r"(\d+)([MIDNSHP=X])", t[5])]
    out, r, q, first_q, last_q, start = [], pos, 0, None, None, None
    for n, o in ops:
        if o in "M=X":
            a, b = max(r, lo), min(r + n, hi)
            if a < b:
                if start is None:
                    start, first_q = a, q + (a - r)
                out.append([b - a, o]); last_q = q + (b - r)
            r += n; q += n
        elif o in "DN":
            if start is not None and lo <= r < hi and r + n <= hi:
                out.append([n, o])
            r += n
        elif o == "I":
            if start is not None and lo <= r < hi:
                out.append([n, o]); last_q = q + n
            q += n
        elif o == "S":
            q += n
    while out and out[-1][1] in "IDN":
        if out[-1][1] == "I":
            last_q -= out[-1][0]
        out.pop()
    if start is None or not out:
        continue
    cigar = "".join(f"{n}{o}" for n, o in out)
    head, tail = first_q, len(seq) - last_q
    cigar = (f"{head}H" if head else "") + cigar + (f"{tail}H" if tail else "")
    rg = [x for x in t[11:] if x.startswith("RG:")]
    t[3], t[5], t[9], t[10] = str(start + 1), cigar, seq[first_q:last_q], qual[first_q:last_q]
    print("\t".join(t[:11] + rg))
' $LO $HI | samtools sort --no-PG -o $O/reads.bam -
samtools index $O/reads.bam
zcat $D/grch38/GRCh38.chr20_1-10M.fa.gz | python3 -c '
import sys
lo, hi = int(sys.argv[1]) - 2000, int(sys.argv[2]) + 2000
name = sys.stdin.readline()
seq = "".join(l.strip() for l in sys.stdin)
masked = "N" * lo + seq[lo:hi] + "N" * (len(seq) - hi)
sys.stdout.write(name)
for i in range(0, len(masked), 60):
    sys.stdout.write(masked[i:i + 60] + "\n")
' $LO $HI | bgzip -c > $O/ref.fa.gz
samtools faidx $O/ref.fa.gz
bcftools view --no-version -r $WINDOW $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.vcf.gz -Oz -o $O/truth.vcf.gz
tabix -f -p vcf $O/truth.vcf.gz
awk -v lo=$LO -v hi=$HI 'BEGIN{OFS="\t"} $3 > lo && $2 < hi {if ($2 < lo) $2 = lo; if ($3 > hi) $3 = hi; print}' \
  $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.bed > $O/confident.bed
echo "testdata/hifi: $(samtools view -c $O/reads.bam) reads, $(bcftools view -H $O/truth.vcf.gz | wc -l) truth records; $(du -ck $O/* | tail -1 | cut -f1) KB"
