#!/usr/bin/env bash
# gVCF cost on the held-out 30x sample (5.2 Mb): runtime of `call` with and without
# --gvcf, and the gVCF's size against bcftools' gVCF (`bcftools call -m --gvcf`) with the
# same band list (bcftools bands on depth, callvar on GQ).
source "$(dirname "$0")/common.sh"
ensure_sim
REGION=${REGION:-chr20:4600000-9800000}
BANDS=0,1,2,3,5,7,10,15,20,30,40,50,60
OUT=${OUT:-/tmp/callvar-bench}/gvcf; mkdir -p "$OUT"
# best of three runs each, alternating, so both see the same machine state
best() { # name cmd...: sets BEST_WALL BEST_CPU BEST_RSS to the fastest of 3 runs
  BEST_WALL=""; for _ in 1 2 3; do timed "$@"
    if [ -z "$BEST_WALL" ] || awk -v a="$WALL" -v b="$BEST_WALL" 'BEGIN{exit !(a<b)}'; then BEST_WALL=$WALL BEST_CPU=$CPU BEST_RSS=$RSS_MB; fi
  done
}
printf "%-36s %8s %8s %9s %12s\n" command wall_s cpu_s peak_MB size_bytes
best "$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" --threads 2 --quiet -o "$OUT/plain.vcf.gz"
W1=$BEST_WALL; printf "%-36s %8s %8s %9s %12s\n" "callvar call (best of 3)" "$BEST_WALL" "$BEST_CPU" "$BEST_RSS" "$(stat -c %s "$OUT/plain.vcf.gz")"
best "$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" --threads 2 --quiet -o "$OUT/g.vcf.gz" --gvcf "$OUT/sample.g.vcf.gz" --gvcf-gq-bands $BANDS
W2=$BEST_WALL; G=$(stat -c %s "$OUT/sample.g.vcf.gz")
WALL=$BEST_WALL CPU=$BEST_CPU RSS_MB=$BEST_RSS
printf "%-36s %8s %8s %9s %12s\n" "callvar call --gvcf (best of 3)" "$WALL" "$CPU" "$RSS_MB" "$G"
timed bash -c "bcftools mpileup -a FORMAT/DP -f '$SIM/ref.fa' -r '$REGION' '$SIM/reads.bam' 2>/dev/null | bcftools call -m --gvcf $BANDS -Oz -o '$OUT/bcftools.g.vcf.gz' 2>/dev/null"
B=$(stat -c %s "$OUT/bcftools.g.vcf.gz")
printf "%-36s %8s %8s %9s %12s\n" "bcftools mpileup | call -m --gvcf" "$WALL" "$CPU" "$RSS_MB" "$B"
awk -v a="$W1" -v b="$W2" -v g="$G" -v c="$B" 'BEGIN{printf "gVCF runtime overhead: %+.0f%%; gVCF size vs bcftools: %.2fx\n", (b/a-1)*100, g/c}'
