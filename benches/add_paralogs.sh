#!/usr/bin/env bash
# Adds synthetic-paralog reads to a simulated sample: the whole-genome artefact where reads
# from a diverged copy of a segment that the reference lacks map onto the segment with a few
# mismatches, so the copy's differences look like heterozygous variants at a low allele
# fraction. Picks COPIES segments of the region (seeded; lengths LENGTH/2-3*LENGTH/2, no N),
# writes a diverged copy of each (substitutions at DIVERGENCE per base, 1-3 bp indels at an
# eighth of that, half of the copies reverse-complemented), simulates ART reads from the
# copies at DEPTH (default: half the sample's depth, one extra haploid copy: the copies'
# alleles then show at allele fraction ~1/3), maps them with bwa mem under the sample's read
# group and merges them into the sample's reads. The truth VCF and confident BED stay as
# they are: the paralog reads carry no variant of the sample. Headers carry no @PG lines
# (they name temporary folders), so the same arguments give byte-identical BAMs.
#   usage: add_paralogs.sh SAMPLE_DIR REGION OUT_DIR [--copies 150] [--length 3000]
#            [--divergence 0.02] [--depth 15] [--readlen 150] [--profile HS25] [--seed 1]
#   SAMPLE_DIR: from ../shared/scripts/simulate_sample.sh (ref.fa with bwa index, reads.bam,
#   truth.vcf.gz, confident.bed). Writes OUT_DIR/{reads.bam,.bai, ref.fa (+ indexes, linked),
#   truth.vcf.gz, confident.bed, paralogs.fa, paralogs.bed (the source segments), README}.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,18p' "$0"; exit 2; }
SRC=$1 REGION=$2 OUT=$3; shift 3
COPIES=150 LENGTH=3000 DIV=0.02 DEPTH=15 RL=150 PROF=HS25 SEED=1
while [ $# -gt 0 ]; do case $1 in
  --copies) COPIES=$2;; --length) LENGTH=$2;; --divergence) DIV=$2;; --depth) DEPTH=$2;;
  --readlen) RL=$2;; --profile) PROF=$2;; --seed) SEED=$2;;
  *) echo "unknown option $1" >&2; exit 2;; esac; shift 2; done
for t in samtools bwa art_illumina python3; do
  command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done
mkdir -p "$OUT"; W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
for f in "$SRC"/ref.fa*; do ln -f "$f" "$OUT/" 2>/dev/null || cp "$f" "$OUT/"; done
cp "$SRC/truth.vcf.gz" "$SRC/truth.vcf.gz.tbi" "$SRC/confident.bed" "$OUT/"
RG=$(samtools view -H "$SRC/reads.bam" | grep -m1 '^@RG' | sed 's/\t/\\t/g')
[ -n "$RG" ] || { echo "$SRC/reads.bam: no @RG line" >&2; exit 1; }
samtools faidx "$OUT/ref.fa" "$REGION" > "$W/region.fa"
python3 - "$W/region.fa" "$REGION" "$COPIES" "$LENGTH" "$DIV" "$SEED" "$OUT/paralogs.fa" "$OUT/paralogs.bed" <<'PY'
import random, re, sys
fa, region, copies, length, div, seed, out_fa, out_bed = sys.argv[1:]
copies, length, div = int(copies), int(length), float(div)
chrom, start = re.match(r"(.+):([0-9,]+)-", region).groups()
start = int(start.replace(",", "")) - 1
seq = "".join(l.strip() for l in open(fa) if not l.startswith(">")).upper()
rng = random.Random(int(seed))
comp = str.maketrans("ACGT", "TGCA")
segments = []
for tries in range(copies * 50):
    if len(segments) == copies:
        break
    n = rng.randint(length // 2, length * 3 // 2)
    s = rng.randrange(0, len(seq) - n)
    if "N" in seq[s:s + n] or any(s < e and b < s + n for b, e in segments):
        continue
    segments.append((s, s + n))
segments.sort()
with open(out_fa, "w") as fo, open(out_bed, "w") as fb:
    for k, (s, e) in enumerate(segments):
        out = []
        for base in seq[s:e]:
            r = rng.random()
            if r < div:
                out.append(rng.choice([b for b in "ACGT" if b != base]))
            elif r < div * 1.0625:  # deletion of this base (half of the indels)
                continue
            elif r < div * 1.125:  # insertion after this base
                out.append(base + "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 3))))
            else:
                out.append(base)
        copy = "".join(out)
        if rng.random() < 0.5:
            copy = copy.translate(comp)[::-1]
        fo.write(f">paralog{k + 1}\n")
        for i in range(0, len(copy), 60):
            fo.write(copy[i:i + 60] + "\n")
        fb.write(f"{chrom}\t{start + s}\t{start + e}\tparalog{k + 1}\n")
print(f"{len(segments)} paralog copies, {sum(e - s for s, e in segments)} bp", file=sys.stderr)
PY
art_illumina -q -ss "$PROF" -i "$OUT/paralogs.fa" -p -l "$RL" -f "$DEPTH" -m 400 -s 60 \
  -rs "$SEED" -na -o "$W/p_" >/dev/null 2>&1
# -K: a fixed batch size keeps bwa's output independent of its thread count
bwa mem -t 2 -K 10000000 -R "$RG" "$OUT/ref.fa" "$W/p_1.fq" "$W/p_2.fq" 2>/dev/null \
  | samtools sort -@ 2 --no-PG -o "$W/paralogs.bam" -
samtools merge -@ 2 --no-PG -f -o "$W/merged.bam" "$SRC/reads.bam" "$W/paralogs.bam"
samtools view -H "$W/merged.bam" | grep -v '^@PG' > "$W/header.sam"
samtools reheader --no-PG "$W/header.sam" "$W/merged.bam" > "$OUT/reads.bam"
samtools index "$OUT/reads.bam"
cat > "$OUT/README" <<EOF
$(basename "$SRC") plus synthetic-paralog reads: add_paralogs.sh SAMPLE $REGION OUT --copies $COPIES --length $LENGTH --divergence $DIV --depth $DEPTH --readlen $RL --profile $PROF --seed $SEED
paralog reads: $(samtools view -c "$W/paralogs.bam"), of which mapped: $(samtools view -c -F 4 "$W/paralogs.bam")
EOF
cat "$OUT/README"
