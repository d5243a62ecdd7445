#!/usr/bin/env bash
# Somatic benchmark: a simulated tumour (150x) / normal (40x) pair of a window no setting was
# tuned on (GRCh38 chr20:6.5-6.8 Mb, ART HSXt profile, seed 2; tuning used chr20:2.0-2.3 Mb,
# HS25, seed 1), made by benches/simulate_somatic.sh under $SOMSIM on first use (about
# 2 minutes): HG002 germline variants in both samples; 600 SNVs and 120 indels at allele
# fractions 1-50% in the tumour only. Scored with `callvar eval --somatic` inside the
# window's confident BED:
#  - callvar somatic, tumour-normal and tumour-only;
#  - freebayes --pooled-continuous in low-frequency mode (-F 0.01 -C 2, QUAL >= 20),
#    tumour calls minus normal calls (bcftools isec by allele), atomised with bcftools norm;
#  - germline PASS: HG002 germline alleles (in both samples) written PASS, of those in the
#    window;
#  - speed: wall time and peak memory of each run, and `callvar call` on the tumour alone;
#  - depth: a second pair at 500x / 60x (GRCh38 chr20:7.5-7.6 Mb, ART HSXn, seed 3, 200 SNVs
#    and 40 indels), tumour-normal, for recall at 1-2% and memory at 500x.
#   usage: benches/somatic.sh
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench}/somatic; mkdir -p "$OUT"
SOMSIM=${SOMSIM:-${XDG_CACHE_HOME:-$HOME/.cache}/callvar/somatic}
D=../shared/data
REF=$D/grch38/GRCh38.chr20_1-10M.fa.gz
WIN=chr20:6500000-6800000
PAIR=$SOMSIM/eval  # (not S: timed() sets S)
DEEP=$SOMSIM/deep
DWIN=chr20:7500000-7600000
GERM=$D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz
if [ ! -f "$PAIR/normal.bam" ]; then
  echo "simulating the tumour/normal pair into $PAIR" >&2
  nice -n 10 benches/simulate_somatic.sh $REF $GERM $WIN "$PAIR" --seed 2 --profile HSXt >&2
fi
if [ ! -f "$DEEP/normal.bam" ]; then
  echo "simulating the 500x tumour/normal pair into $DEEP" >&2
  nice -n 10 benches/simulate_somatic.sh $REF $GERM $DWIN "$DEEP" --seed 3 --profile HSXn \
    --tumor-depth 500 --normal-depth 60 --snvs 200 --indels 40 >&2
fi
printf "%-24s %5s %5s %5s %6s %6s %7s %7s %7s %8s %6s %6s %6s %9s %7s %7s\n" caller \
  SNV_TP SNV_FN SNV_FP SNV_P SNV_R R_ge10 R_ge5 R_ge2 R_2to5 IND_P IND_R IND_F1 germ_PASS wall_s peak_MB
score() { # caller vcf [pair]
  local j g p=${3:-$PAIR}
  j=$($CALLVAR eval --somatic --json --ref $REF --truth "$p/truth.vcf.gz" --calls "$2" --confident "$p/confident.bed")
  g=$($CALLVAR eval --somatic --json --ref $REF --truth "$p/germline.vcf.gz" --calls "$2" --confident "$p/confident.bed")
  python3 - "$1" "$WALL" "$RSS_MB" "$j" "$g" <<'PY'
import json, sys
name, wall, rss, j, g = sys.argv[1:]
m, g = json.loads(j), json.loads(g)
s, i = m["SNP"], m["INDEL"]
at = {b["vaf_min"]: b["recall"] for b in s["recall_at_least"]}
by = {b["vaf_min"]: b["recall"] for b in s["recall_by_vaf"]}
gp = g["SNP"]["tp"] + g["INDEL"]["tp"]
gt = gp + g["SNP"]["fn"] + g["INDEL"]["fn"]
print(f"{name:<24} {s['tp']:>6} {s['fn']:>5} {s['fp']:>5} {s['precision']:>6.4f} {s['recall']:>6.4f} "
      f"{at[0.1]:>7.4f} {at[0.05]:>7.4f} {at[0.02]:>7.4f} {by[0.02]:>8.4f} {i['precision']:>6.4f} "
      f"{i['recall']:>6.4f} {i['f1']:>6.4f} {gp:>4}/{gt:<4} {wall:>7} {rss:>7}")
PY
}
timed $CALLVAR somatic --ref $REF --tumor "$PAIR/tumor.bam" --normal "$PAIR/normal.bam" --regions $WIN \
  --threads 2 -q -o "$OUT/tn.vcf.gz"
score "callvar tumour-normal" "$OUT/tn.vcf.gz"
timed $CALLVAR somatic --ref $REF --tumor "$PAIR/tumor.bam" --regions $WIN --threads 2 -q -o "$OUT/to.vcf.gz"
score "callvar tumour-only" "$OUT/to.vcf.gz"
fb() { # bam out.vcf.gz
  freebayes -f "$SOMSIM/ref/ref.fa" -r $WIN --pooled-continuous -F 0.01 -C 2 "$1" \
    | bcftools view -i 'QUAL>=20' -Ou | bcftools norm -a -m -any -f "$SOMSIM/ref/ref.fa" -Ou 2>/dev/null \
    | bcftools sort -Oz -o "$2" 2>/dev/null
  tabix -f -p vcf "$2"
}
timed bash -c "$(declare -f fb); SOMSIM=$SOMSIM WIN=$WIN; fb '$PAIR/tumor.bam' '$OUT/fb_t.vcf.gz'; fb '$PAIR/normal.bam' '$OUT/fb_n.vcf.gz'"
bcftools isec -C -c none -w1 "$OUT/fb_t.vcf.gz" "$OUT/fb_n.vcf.gz" -Oz -o "$OUT/fb.vcf.gz" 2>/dev/null
score "freebayes T-minus-N" "$OUT/fb.vcf.gz"
timed $CALLVAR call --ref $REF --reads "$PAIR/tumor.bam" --regions $WIN --threads 2 --quiet -o "$OUT/call_tumor.vcf.gz"
printf "%-24s %s wall_s %s peak_MB %s\n" "callvar call (tumour)" "(germline caller, for speed only)" "$WALL" "$RSS_MB"
timed $CALLVAR somatic --ref $REF --tumor "$DEEP/tumor.bam" --normal "$DEEP/normal.bam" --regions $DWIN \
  --threads 2 -q -o "$OUT/deep.vcf.gz"
score "callvar T-N 500x/60x" "$OUT/deep.vcf.gz" "$DEEP"
