#!/usr/bin/env bash
# Precision under synthetic paralogs (issue 8's hard case): the held-out 30x sample (GRCh38
# chr20:4.6-9.8 Mb, benches/common.sh) plus reads from diverged copies of segments of
# chr20:6.6-9.8 Mb that the reference lacks (benches/add_paralogs.sh: COPIES copies of about
# 3 kb, DIVERGENCE substitutions per base, one extra haploid copy, seed 3), made once under
# $PARA. callvar, bcftools and freebayes call chr20:6.6-9.8 Mb (a window no model trains or
# calibrates on); `callvar eval` scores each inside it, overall and within the paralogs'
# source segments (stratum `paralogs`). The same table for the sample without the paralog
# reads shows what they cost.
#   usage: benches/paralogs.sh        (env: COPIES=40 DIVERGENCE=0.01)
source "$(dirname "$0")/common.sh"
COPIES=${COPIES:-40}; DIVERGENCE=${DIVERGENCE:-0.01}
PARA=${PARA:-${XDG_CACHE_HOME:-$HOME/.cache}/callvar/paralog30x-$COPIES-$DIVERGENCE}
OUT=${OUT:-/tmp/callvar-bench}/paralogs-$COPIES-$DIVERGENCE; mkdir -p "$OUT"
REGION=chr20:6600001-9800000
ensure_sim
[ -f "$PARA/reads.bam" ] || benches/add_paralogs.sh "$SIM" "$REGION" "$PARA" --copies "$COPIES" \
  --divergence "$DIVERGENCE" --seed 3 >&2
printf "chr20\t6600000\t9800000\n" > "$OUT/window.bed"
cut -f1-3 "$PARA/paralogs.bed" > "$OUT/paralogs.bed"
echo "sample: $(head -1 "$PARA/README")"
printf "%-10s %-10s %-9s %6s %6s %6s %7s %7s %7s %7s %7s\n" sample caller stratum \
  SNP_TP SNP_FN SNP_FP SNP_P SNP_F1 IND_P IND_R IND_F1
for sample in plain paralogs; do
  if [ $sample = plain ]; then D=$SIM; else D=$PARA; fi
  d=$OUT/$sample; mkdir -p "$d"
  $CALLVAR call --ref "$D/ref.fa" --reads "$D/reads.bam" --regions "$REGION" --threads 2 -q -o "$d/callvar.vcf.gz"
  bcftools mpileup -f "$D/ref.fa" -r "$REGION" "$D/reads.bam" 2>/dev/null | bcftools call -mv -Oz -o "$d/bcftools.vcf.gz" 2>/dev/null
  freebayes -f "$D/ref.fa" -r "$REGION" "$D/reads.bam" > "$d/freebayes.vcf" 2>/dev/null
  for caller in callvar bcftools freebayes; do
    vcf=$d/$caller.vcf.gz; [ $caller = freebayes ] && vcf=$d/freebayes.vcf
    $CALLVAR eval --ref "$D/ref.fa" --truth "$D/truth.vcf.gz" --calls "$vcf" --confident "$OUT/window.bed" \
      --stratify paralogs="$OUT/paralogs.bed" --json | python3 -c '
import json, sys
m = json.load(sys.stdin); sample, caller = sys.argv[1:]
for stratum, v in [("all", m)] + sorted(m.get("strata", {}).items()):
    s, i = v["SNP"], v["INDEL"]
    row = [s["tp"], s["fn"], s["fp"], s["precision"], s["f1"], i["precision"], i["recall"], i["f1"]]
    print("%-10s %-10s %-9s %6d %6d %6d %7.4f %7.4f %7.4f %7.4f %7.4f" % (sample, caller, stratum, *row))
' "$sample" "$caller"
  done
done
