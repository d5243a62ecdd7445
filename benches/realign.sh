#!/usr/bin/env bash
# Local assembly and realignment (`call --realign` / `--no-realign`): accuracy and time with
# and without it on the real NA12878 Illumina window, the real HG002 HiFi window
# (--preset hifi) and the held-out 30x simulated sample (5.2 Mb), scored with `callvar eval`
# inside each confident BED. `same` counts the records identical in both runs (the realigner
# leaves reads that agree with the reference alone, so most sites do not move); `realign_s`
# and `pileup_s` are the stage times from `-v`, summed over the 2 threads; bcftools' wall time
# on the same region is the speed yardstick (BCFTOOLS=0 skips it).
#   usage: benches/realign.sh [DATASET...]     (default: all in benches/datasets.tsv)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench/realign}
mkdir -p "$OUT"
want=("$@")
printf "%-16s %-10s %6s %5s %5s %7s %6s %5s %5s %7s %6s %7s %9s %8s %6s\n" dataset realign \
  SNP_TP SNP_FN SNP_FP SNP_F1 IND_TP IND_FN IND_FP IND_F1 same wall_s realign_s pileup_s bcf_x
grep -v '^#' benches/datasets.tsv | while IFS=$'\t' read -r name ref reads truth bed region _; do
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  [[ $reads == *'$SIM'* ]] && ensure_sim
  REF=$(eval echo "$ref"); READS=$(eval echo "$reads"); TRUTH=$(eval echo "$truth"); BED=$(eval echo "$bed")
  preset=(); [[ $name == *hifi* ]] && preset=(--preset hifi)
  d=$OUT/$name; mkdir -p "$d"
  BCF_WALL=
  if [ "${BCFTOOLS:-1}" != 0 ]; then
    timed bash -c "bcftools mpileup -f '$REF' -r '$region' '$READS' 2>/dev/null | bcftools call -mv -Oz -o '$d/bcftools.vcf.gz' 2>/dev/null"
    BCF_WALL=$WALL
  fi
  for mode in no-realign realign; do
    timed "$CALLVAR" call --ref "$REF" --reads "$READS" --regions "$region" --threads 2 -v \
      "${preset[@]}" --$mode -o "$d/$mode.vcf.gz" 2> "$d/$mode.log"
    echo "# $CALLVAR call --ref $REF --reads $READS --regions $region --threads 2 -v ${preset[*]} --$mode -o $d/$mode.vcf.gz" >&2
    j=$($CALLVAR eval --ref "$REF" --truth "$TRUTH" --calls "$d/$mode.vcf.gz" --confident "$BED" --json)
    same=$(comm -12 <(zcat "$d/no-realign.vcf.gz" | grep -v '^#' | sort) <(zcat "$d/$mode.vcf.gz" | grep -v '^#' | sort) | wc -l)
    total=$(zcat "$d/$mode.vcf.gz" | grep -vc '^#')
    stage() { awk -v s="stage $1:" 'index($0, s) {print $4}' "$d/$mode.log"; }
    python3 - "$name" "$mode" "$j" "$same/$total" "$WALL" "$(stage realign)" "$(stage reads+candidates+tensors)" "$BCF_WALL" <<'PY'
import json, sys
name, mode, j, same, wall, rs, ps, bcf = sys.argv[1:]
m = json.loads(j); s, i = m["SNP"], m["INDEL"]
x = f"{float(wall) / float(bcf):.2f}" if bcf else "-"
print(f"{name:<16} {mode:<10} {s['tp']:>6} {s['fn']:>5} {s['fp']:>5} {s['f1']:>7.4f} {i['tp']:>6} {i['fn']:>5} {i['fp']:>5} {i['f1']:>7.4f} {same:>6} {wall:>7} {rs:>9} {ps:>8} {x:>6}")
PY
    grep 'realign:' "$d/$mode.log" | grep -v stage >&2 || true
  done
done
