#!/usr/bin/env bash
# Cost of the clinical outputs on the held-out 30x sample (5.2 Mb): `call` wall time alone,
# with --manifest, with --report, with both, and with --clinical-regions (an exon-like BED:
# 200 bp every 25 kb, 208 regions), plus the size of each file. Runs alternate so every
# variant sees the same machine state; the median wall and CPU (user+sys) seconds of ROUNDS
# runs are reported (default 5), and, from one `-v` run with everything on, the seconds
# each added stage took inside callvar (immune to other load on the machine).
source "$(dirname "$0")/common.sh"
ensure_sim
REGION=${REGION:-chr20:4600000-9800000}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-/tmp/callvar-bench}/clinical; mkdir -p "$OUT"
awk 'BEGIN { for (s = 4600000; s + 200 <= 9800000; s += 25000) printf "chr20\t%d\t%d\tex%d\n", s, s + 200, ++n }' > "$OUT/exons.bed"
base=("$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" --threads 2)
declare -A extra=(
  [plain]=""
  [manifest]="--manifest $OUT/manifest.run.json"
  [report]="--report $OUT/report.html"
  [both]="--manifest $OUT/both.run.json --report $OUT/both.html"
  [clinical]="--clinical-regions $OUT/exons.bed --not-callable $OUT/not_callable.bed"
)
names=(plain manifest report both clinical)
declare -A walls cpus
for ((r = 1; r <= ROUNDS; r++)); do
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    timed "${base[@]}" --quiet -o "$OUT/$n.vcf.gz" ${extra[$n]}
    walls[$n]+="$WALL "
    cpus[$n]+="$CPU "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
P=$(median <<<"${walls[plain]}"); PC=$(median <<<"${cpus[plain]}")
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
printf "%-10s %8s %8s %8s %8s   %s\n" variant wall_s "+wall" cpu_s "+cpu" "wall runs (s)"
for n in "${names[@]}"; do
  M=$(median <<<"${walls[$n]}"); C=$(median <<<"${cpus[$n]}")
  printf "%-10s %8s %8s %8s %8s   %s\n" "$n" "$M" "$(pct "$M" "$P")" "$C" "$(pct "$C" "$PC")" "${walls[$n]}"
done
echo "inside callvar (-v, everything on):"
# shellcheck disable=SC2086
"${base[@]}" -o "$OUT/v.vcf.gz" --manifest "$OUT/v.run.json" --report "$OUT/v.html" ${extra[clinical]} -v 2>&1 \
  | grep -E "stage|step|records" | sed 's/^/  /' 
echo "sizes (bytes):"
stat -c "  %n %s" "$OUT/plain.vcf.gz" "$OUT/manifest.run.json" "$OUT/report.html" "$OUT/not_callable.bed"
