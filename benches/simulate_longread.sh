#!/usr/bin/env bash
# Simulates a long-read diploid sample from a real reference and a real truth VCF: the
# long-read analogue of ../shared/scripts/simulate_sample.sh.
#
# The truth variants are written into two haplotypes, reads are drawn from them with
# benches/longread_sim.py (PacBio HiFi-like or Oxford Nanopore R10-like error model: errors
# concentrated in homopolymers, platform qualities) and mapped with minimap2 (map-hifi or
# map-ont) to the whole reference, sorted and indexed. The sample genome is fully known, so
# the confident BED is the region minus reference N runs (1 kb trimmed at their edges).
#
# usage: simulate_longread.sh REF.fa[.gz] TRUTH.vcf.gz REGION OUTDIR [options]
#   --platform hifi|ont  error model and minimap2 preset (default hifi)
#   --depth N            total fold coverage (default 30; half from each haplotype)
#   --length-mean N      mean read length (default 15000 for hifi, 20000 for ont)
#   --length-sd N        read length sd (default 4000 for hifi, 10000 for ont)
#   --length-min N       shortest read (default 1000)
#   --mapper PRESET      minimap2 preset (default map-hifi for hifi, map-ont for ont; sr for
#                        short reads)
#   --noise X            scales every error rate (batch-to-batch variation; default 1.0)
#   --seed N             random seed (default 1)
#   --sample NAME        read-group sample name (default SIM)
#   --threads N          minimap2/samtools threads (default 2)
# Needs: samtools bcftools tabix minimap2 python3 (Debian packages).
# Writes OUTDIR/{ref.fa,ref.fa.fai,reads.bam,reads.bam.bai,truth.vcf.gz,truth.vcf.gz.tbi,
# confident.bed,README}: the same arguments give the same files, byte for byte (no folder or
# date is recorded in them; README records the command with file names only).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,24p' "$0"; exit 2; }
REF=$1 TRUTH=$2 REGION=$3 OUT=$4; shift 4
PLATFORM=hifi DEPTH=30 LMEAN="" LSD="" LMIN=1000 MAPPER="" NOISE=1.0 SEED=1 SAMPLE=SIM THREADS=2
while [ $# -gt 0 ]; do case $1 in
  --platform) PLATFORM=$2;; --depth) DEPTH=$2;; --length-mean) LMEAN=$2;; --length-sd) LSD=$2;;
  --length-min) LMIN=$2;; --mapper) MAPPER=$2;;
  --noise) NOISE=$2;; --seed) SEED=$2;; --sample) SAMPLE=$2;; --threads) THREADS=$2;;
  *) echo "unknown option $1" >&2; exit 2;; esac; shift 2; done
case $PLATFORM in
  hifi) PRESET=map-hifi PL=PACBIO; LMEAN=${LMEAN:-15000} LSD=${LSD:-4000};;
  ont) PRESET=map-ont PL=ONT; LMEAN=${LMEAN:-20000} LSD=${LSD:-10000};;
  *) echo "--platform must be hifi or ont" >&2; exit 2;;
esac
PRESET=${MAPPER:-$PRESET}
for t in samtools bcftools tabix bgzip minimap2 python3; do
  command -v $t >/dev/null || { echo "missing tool: $t (apt-get install samtools bcftools tabix minimap2)" >&2; exit 2; }
done
SIM="$(cd "$(dirname "$0")" && pwd)/longread_sim.py"
mkdir -p "$OUT"; W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
CHROM=${REGION%%:*}
# Whole reference (all contigs) for mapping, so reads can mismap as in real data.
if [ ! -f "$OUT/ref.fa.fai" ]; then
  if [[ $REF == *.gz ]]; then zcat "$REF" > "$OUT/ref.fa"; else cp "$REF" "$OUT/ref.fa"; fi
  samtools faidx "$OUT/ref.fa"
fi
# Truth: PASS records in the region with a diploid genotype carrying an alt allele,
# without records overlapping an earlier one (as simulate_sample.sh).
bcftools view --no-version -f PASS,. -r "$REGION" "$TRUTH" -Ou \
  | bcftools norm --no-version -f "$OUT/ref.fa" -m -any -Ou 2>/dev/null \
  | bcftools norm --no-version -m +any -Ov 2>/dev/null > "$W/in.vcf"
python3 "$SIM" truth "$W/in.vcf" "$W/truth.vcf" "$SAMPLE"
bgzip -c "$W/truth.vcf" > "$OUT/truth.vcf.gz"; tabix -f -p vcf "$OUT/truth.vcf.gz"
samtools faidx "$OUT/ref.fa" "$REGION" | sed "1s/.*/>$CHROM/" > "$W/region.fa"
START=$(echo "$REGION" | sed -E 's/.*:([0-9,]+)-.*/\1/; s/,//g')
python3 "$SIM" haplotypes "$W/truth.vcf" "$W/region.fa" "$START" "$W"
python3 "$SIM" reads "$W/hap1.fa" "$W/hap2.fa" "$W/reads.fq" --platform "$PLATFORM" \
  --depth "$DEPTH" --seed "$SEED" --length-mean "$LMEAN" --length-sd "$LSD" --length-min "$LMIN" \
  --noise "$NOISE" --prefix "$SAMPLE"
# Run where the inputs have bare names: the BAM header (minimap2's @PG line) then names no
# folder, so the same options and seed give the same file, byte for byte, anywhere.
ln -s "$(cd "$OUT" && pwd)/ref.fa" "$W/ref.fa"
(cd "$W" && minimap2 -ax "$PRESET" -t "$THREADS" -R "@RG\tID:${SAMPLE}\tSM:${SAMPLE}\tPL:${PL}" ref.fa reads.fq 2>/dev/null) \
  | samtools sort --no-PG -@ "$THREADS" -o "$OUT/reads.bam" -
samtools index "$OUT/reads.bam"
# Confident regions: the simulated window minus runs of N, 1 kb trimmed at each edge.
python3 - "$W/region.fa" "$CHROM" "$START" > "$OUT/confident.bed" <<'PY'
import re, sys
seq = "".join(l.strip() for l in open(sys.argv[1]) if not l.startswith(">"))
chrom, start = sys.argv[2], int(sys.argv[3])
for m in re.finditer(r"[^Nn]+", seq):
    a, b = m.start() + 1000, m.end() - 1000
    if b > a: print(f"{chrom}\t{start - 1 + a}\t{start - 1 + b}")
PY
cat > "$OUT/README" <<TXT
simulated with: simulate_longread.sh $(basename "$REF") $(basename "$TRUTH") $REGION OUT --platform $PLATFORM --depth $DEPTH --length-mean $LMEAN --length-sd $LSD --length-min $LMIN --mapper $PRESET --noise $NOISE --seed $SEED --sample $SAMPLE
truth records: $(bcftools view -H "$OUT/truth.vcf.gz" | wc -l); confident bases: $(awk '{s+=$3-$2} END {print s}' "$OUT/confident.bed")
TXT
cat "$OUT/README"
