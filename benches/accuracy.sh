#!/usr/bin/env bash
# Accuracy benchmark: for each dataset in benches/datasets.tsv, runs callvar, bcftools
# mpileup|call, freebayes (and takes DeepVariant's published output where there is one),
# scores every call set with `callvar eval` inside the confident BED, and prints one table.
#   usage: benches/accuracy.sh [DATASET...]     (default: all)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench}
mkdir -p "$OUT"
want=("$@")
printf "%-16s %-10s %6s %6s %6s %7s %7s %7s %7s %7s %7s %8s %8s %8s\n" dataset caller \
  SNP_TP SNP_FN SNP_FP SNP_P SNP_R SNP_F1 IND_P IND_R IND_F1 wall_s cpu_s peak_MB
score() { # name caller vcf wall cpu rss
  local j; j=$($CALLVAR eval --ref "$REF" --truth "$TRUTH" --calls "$3" --confident "$BED" --json)
  python3 - "$1" "$2" "$4" "$5" "$6" "$j" <<'PY'
import json, sys
name, caller, wall, cpu, rss, j = sys.argv[1:]
m = json.loads(j); s, i = m["SNP"], m["INDEL"]
print(f"{name:<16} {caller:<10} {s['tp']:>6} {s['fn']:>6} {s['fp']:>6} {s['precision']:>7.4f} {s['recall']:>7.4f} {s['f1']:>7.4f} {i['precision']:>7.4f} {i['recall']:>7.4f} {i['f1']:>7.4f} {wall:>8} {cpu:>8} {rss:>8}")
PY
}
grep -v '^#' benches/datasets.tsv | while IFS=$'\t' read -r name ref reads truth bed region dv; do
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  [[ $reads == *'$SIM'* ]] && ensure_sim
  REF=$(eval echo "$ref"); READS=$(eval echo "$reads"); TRUTH=$(eval echo "$truth"); BED=$(eval echo "$bed")
  d=$OUT/$name; mkdir -p "$d"
  timed "$CALLVAR" call --ref "$REF" --reads "$READS" --regions "$region" --threads 2 --quiet -o "$d/callvar.vcf.gz"
  score "$name" callvar "$d/callvar.vcf.gz" "$WALL" "$CPU" "$RSS_MB"
  timed bash -c "bcftools mpileup -f '$REF' -r '$region' '$READS' 2>/dev/null | bcftools call -mv -Oz -o '$d/bcftools.vcf.gz' 2>/dev/null"
  score "$name" bcftools "$d/bcftools.vcf.gz" "$WALL" "$CPU" "$RSS_MB"
  if [[ $REF == *.gz ]]; then [ -f "$d/ref.fa" ] || { zcat "$REF" > "$d/ref.fa"; samtools faidx "$d/ref.fa"; }; FREF=$d/ref.fa; else FREF=$REF; fi
  timed bash -c "freebayes -f '$FREF' -r '$region' '$READS' > '$d/freebayes.vcf' 2>/dev/null"
  score "$name" freebayes "$d/freebayes.vcf" "$WALL" "$CPU" "$RSS_MB"
  if [ "$dv" != - ]; then
    # DeepVariant's published calls cover chr20:10,000,000-10,010,000; scored on that window
    # of the confident BED only (its compute was not measured here).
    awk 'BEGIN{OFS="\t"} $2 < 10010000 {if ($3 > 10010000) $3 = 10010000; print}' "$BED" > "$d/dv_window.bed"
    BED=$d/dv_window.bed
    score "$name" deepvariant "$dv" - - -
    timed "$CALLVAR" call --ref "$REF" --reads "$READS" --regions chr20:10000000-10010000 --threads 2 --quiet -o "$d/callvar_dvwin.vcf.gz"
    score "$name/dv-win" callvar "$d/callvar_dvwin.vcf.gz" "$WALL" "$CPU" "$RSS_MB"
  fi
done
