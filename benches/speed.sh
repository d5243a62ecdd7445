#!/usr/bin/env bash
# Speed benchmark on CPU: callvar call --threads 2 against bcftools mpileup|call on the
# held-out 30x 150 bp sample (5.2 Mb), side by side in one run; prints wall, CPU, peak memory
# and the wall-time ratio.
source "$(dirname "$0")/common.sh"
ensure_sim
REGION=${REGION:-chr20:4600000-9800000}
OUT=${OUT:-/tmp/callvar-bench}/speed; mkdir -p "$OUT"
printf "%-34s %8s %8s %9s\n" command wall_s cpu_s peak_MB
timed "$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" --threads 2 --device cpu --quiet -o "$OUT/callvar.vcf.gz"
CW=$WALL; printf "%-34s %8s %8s %9s\n" "callvar call --threads 2 (cpu)" "$WALL" "$CPU" "$RSS_MB"
timed bash -c "bcftools mpileup -f '$SIM/ref.fa' -r '$REGION' '$SIM/reads.bam' 2>/dev/null | bcftools call -mv -Oz -o '$OUT/bcftools.vcf.gz' 2>/dev/null"
BW=$WALL; printf "%-34s %8s %8s %9s\n" "bcftools mpileup | call -mv" "$WALL" "$CPU" "$RSS_MB"
awk -v c="$CW" -v b="$BW" 'BEGIN{printf "wall-time ratio callvar/bcftools: %.2f\n", c/b}'
