#!/usr/bin/env bash
# Simulate a tumour/normal pair from a real reference and a real germline truth VCF.
#
# Germline: the truth records (HG002) of the region, in both samples. Somatic: SNVs and indels
# spiked into nested clone genomes by benches/somatic_sim.py (fixed seed), so the tumour's
# allele fractions are 1-50% (truth INFO VAF). Reads: ART paired-end from each genome at its
# share of the depth (tumour: hap2 at half the depth, the lineages of hap1 splitting the other
# half; normal: hap1 and hap2 at half its depth each), mapped with bwa mem (-K fixed, so the
# output does not depend on threads), sorted, indexed. Every random choice has a fixed seed.
#
# usage: simulate_somatic.sh REF.fa.gz GERMLINE.vcf.gz REGION OUTDIR [options]
#   --tumor-depth N (150)  --normal-depth N (40)  --readlen N (150)  --profile P (HS25)
#   --seed N (1)  --snvs N (600)  --indels N (120)  --threads N (2)
# Writes OUTDIR/{tumor.bam,normal.bam,truth.vcf.gz (somatic, INFO VAF),germline.vcf.gz,
# confident.bed,README}; the bwa index of the reference is kept in OUTDIR/../ref/.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,16p' "$0"; exit 2; }
REF=$1 GERM=$2 REGION=$3 OUT=$4; shift 4
TD=150 ND=40 RL=150 PROF=HS25 SEED=1 NSNV=600 NIND=120 THREADS=2
while [ $# -gt 0 ]; do case $1 in
  --tumor-depth) TD=$2;; --normal-depth) ND=$2;; --readlen) RL=$2;; --profile) PROF=$2;;
  --seed) SEED=$2;; --snvs) NSNV=$2;; --indels) NIND=$2;; --threads) THREADS=$2;;
  *) echo "unknown option $1" >&2; exit 2;; esac; shift 2; done
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd); W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
RDIR=$(dirname "$OUT")/ref
mkdir -p "$RDIR"
if [ ! -f "$RDIR/ref.fa.bwt" ]; then
  zcat -f "$REF" > "$RDIR/ref.fa"; samtools faidx "$RDIR/ref.fa"; bwa index "$RDIR/ref.fa" 2>/dev/null
fi
CHROM=${REGION%%:*}
START=$(echo "$REGION" | sed -E 's/.*:([0-9,]+)-.*/\1/; s/,//g')
# germline: PASS diploid records with an alt allele, none overlapping the one before
bcftools view -f PASS,. -r "$REGION" "$GERM" -Ou | bcftools norm -f "$RDIR/ref.fa" -m -any -Ou 2>/dev/null \
  | bcftools norm -m +any -Ov 2>/dev/null | python3 -c '
import re, sys
last_end = 0
for line in sys.stdin:
    if line.startswith("##"): print(line, end=""); continue
    t = line.rstrip("\n").split("\t")
    if line.startswith("#"): print("\t".join(t[:9] + ["GERMLINE"])); continue
    a = re.split(r"[/|]", t[9].split(":")[0])
    pos = int(t[1])
    if len(a) != 2 or "." in a or a == ["0", "0"] or pos <= last_end: continue
    last_end = pos + len(t[3]) - 1
    t[6], t[7], t[8], t[9] = "PASS", ".", "GT", "/".join(a)
    print("\t".join(t[:10]))' > "$W/germline.vcf"
bgzip -c "$W/germline.vcf" > "$OUT/germline.vcf.gz"; tabix -f -p vcf "$OUT/germline.vcf.gz"
samtools faidx "$RDIR/ref.fa" "$REGION" | sed "1s/.*/>$CHROM/" > "$W/region.fa"
python3 "$HERE/somatic_sim.py" "$W/region.fa" "$START" "$W/germline.vcf" "$SEED" "$NSNV" "$NIND" "$W"
bcftools sort -Oz -o "$OUT/truth.vcf.gz" "$W/somatic.vcf" 2>/dev/null; tabix -f -p vcf "$OUT/truth.vcf.gz"
art() { # fasta depth seed prefix
  art_illumina -q -ss "$PROF" -i "$1" -p -l "$RL" -f "$2" -m 350 -s 50 -rs "$3" -na -o "$4" >/dev/null 2>&1
}
n=0
for s in tumor normal; do : > "$W/${s}_1.fq"; : > "$W/${s}_2.fq"; done
add() { cat "${1}1.fq" >> "$W/${2}_1.fq"; cat "${1}2.fq" >> "$W/${2}_2.fq"; }
art "$W/hap2.fa" "$(python3 -c "print($TD/2)")" $((SEED * 100 + 1)) "$W/t_h2_"; add "$W/t_h2_" tumor
while IFS=$'\t' read -r fa share; do
  n=$((n + 1))
  d=$(python3 -c "print(round($TD / 2 * $share, 4))")
  art "$W/$fa" "$d" $((SEED * 100 + 10 + n)) "$W/t_l${n}_"; add "$W/t_l${n}_" tumor
done < "$W/lineages.tsv"
# the normal: germline only (lineage 0 holds level-0.5 somatic variants, so hap1 is rebuilt)
python3 - "$W/region.fa" "$START" "$W/germline.vcf" "$W/hap1.fa" <<'PY'
import re, sys
fa, start, vcf, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
seq = "".join(l.strip() for l in open(fa) if not l.startswith(">")).upper()
parts, cur = [], 0
for line in open(vcf):
    if line.startswith("#"): continue
    t = line.rstrip("\n").split("\t")
    alleles = [t[3]] + t[4].split(",")
    a = alleles[int(re.split(r"[/|]", t[9])[0])]
    off = int(t[1]) - start
    parts += [seq[cur:off], a]; cur = off + len(t[3])
parts.append(seq[cur:])
s = "".join(parts)
open(out, "w").write(">hap1\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n")
PY
for h in 1 2; do art "$W/hap$h.fa" "$(python3 -c "print($ND/2)")" $((SEED * 100 + 50 + h)) "$W/n_h${h}_"; add "$W/n_h${h}_" normal; done
for s in tumor normal; do
  S=$(echo $s | tr a-z A-Z)
  bwa mem -K 10000000 -t "$THREADS" -R "@RG\tID:${S}\tSM:${S}\tPL:ILLUMINA" "$RDIR/ref.fa" "$W/${s}_1.fq" "$W/${s}_2.fq" 2>/dev/null \
    | samtools sort -@ "$THREADS" -o "$OUT/$s.bam" - 2>/dev/null
  samtools index "$OUT/$s.bam"
done
python3 - "$W/region.fa" "$CHROM" "$START" > "$OUT/confident.bed" <<'PY'
import re, sys
seq = "".join(l.strip() for l in open(sys.argv[1]) if not l.startswith(">"))
chrom, start = sys.argv[2], int(sys.argv[3])
for m in re.finditer(r"[^Nn]+", seq):
    a, b = m.start() + 300, m.end() - 300
    if b > a: print(f"{chrom}\t{start - 1 + a}\t{start - 1 + b}")
PY
cat > "$OUT/README" <<TXT
simulated with: simulate_somatic.sh $(basename "$REF") $(basename "$GERM") $REGION OUT --tumor-depth $TD --normal-depth $ND --readlen $RL --profile $PROF --seed $SEED --snvs $NSNV --indels $NIND
somatic truth records: $(bcftools view -H "$OUT/truth.vcf.gz" | wc -l); germline: $(bcftools view -H "$OUT/germline.vcf.gz" | wc -l)
TXT
cat "$OUT/README"
