#!/usr/bin/env bash
# Shards on real reads: (1) shard balance: `callvar shards -n 16` plans, then each shard is
# called alone and timed; the slowest shard against the mean, for wall time (process start
# included) and for compute (the -v stage times summed), beside the plan's own estimate;
# (2) the Dask runner with 2 local workers against one `callvar call --threads 2`, same
# regions and chunk grid, outputs compared (every line but ##callvarCommand); wall time and
# CPU time (user + sys, the runner's cluster and callvar processes included) of each.
# Data (env): BAM, REF, REGION (default: the real NA12878 Illumina slice in ../shared, 100 kb),
# CHUNK (grid, default 2000), SHARDS_DASK (default 8), REPEAT (runs per shard, the fastest
# kept, default 3). Needs python3 with dask.distributed.
source "$(dirname "$0")/common.sh"
BAM=${BAM:-../shared/data/na12878_illumina/NA12878_S1.chr20.10_10p1mb.bam}
REF=${REF:-../shared/data/grch37/ucsc.hg19.chr20.unittest.fasta.gz}
REGION=${REGION:-chr20:10000001-10100000}
CHUNK=${CHUNK:-2000}
SHARDS_DASK=${SHARDS_DASK:-8}
REPEAT=${REPEAT:-3}
OUT=${OUT:-/tmp/callvar-bench}/shards; rm -rf "$OUT"; mkdir -p "$OUT"
now() { date +%s.%N; }
echo "data: $BAM $REGION, --chunk-size $CHUNK; $(nproc) cores"

# (1) balance of 16 shards
"$CALLVAR" shards --ref "$REF" --reads "$BAM" -n 16 --regions "$REGION" --chunk-size "$CHUNK" \
  --output-dir "$OUT/plan"
printf "%-16s %10s %8s %10s\n" shard est_work wall_s compute_s > "$OUT/balance.tsv"
tail -n +6 "$OUT/plan/plan.tsv" | while IFS=$'\t' read -r id bed chunks bp work regions; do
  wall=999999; compute=999999
  for _ in $(seq "$REPEAT"); do
    t0=$(now)
    "$CALLVAR" call --ref "$REF" --reads "$BAM" --regions-file "$OUT/plan/$bed" --chunk-size "$CHUNK" \
      --threads 1 --device cpu -v -o "$OUT/$bed.vcf.gz" 2> "$OUT/$bed.log"
    t1=$(now)
    w=$(echo "$t1 - $t0" | bc)
    c=$(awk '/stage/ {s += $(NF-4)} END {printf "%.3f", s}' "$OUT/$bed.log")
    wall=$(echo "if ($w < $wall) $w else $wall" | bc); compute=$(echo "if ($c < $compute) $c else $compute" | bc)
  done
  printf "%-16s %10s %8.3f %10.3f\n" "$bed" "$work" "$wall" "$compute" >> "$OUT/balance.tsv"
done
cat "$OUT/balance.tsv"
awk 'NR > 1 { for (k = 2; k <= 4; k++) { s[k] += $k; if ($k > m[k]) m[k] = $k } n++ }
  END { printf "slowest/mean of %d shards: estimated work %.2f, wall %.2f, compute %.2f\n",
        n, m[2] / (s[2] / n), m[3] / (s[3] / n), m[4] / (s[4] / n) }' "$OUT/balance.tsv"

# (2) Dask, 2 local workers, against one run with 2 threads
t0=$(now)
/usr/bin/time -f "%U %S" -o "$OUT/single.cpu" "$CALLVAR" call --ref "$REF" --reads "$BAM" \
  --regions "$REGION" --chunk-size "$CHUNK" --threads 2 --device cpu -q -o "$OUT/single.vcf.gz"
t1=$(now)
/usr/bin/time -f "%U %S" -o "$OUT/dask.cpu" python3 workflows/dask/callvar_dask.py --ref "$REF" --reads "$BAM" --regions "$REGION" \
  --chunk-size "$CHUNK" --shards "$SHARDS_DASK" --local-workers 2 --callvar "$CALLVAR" \
  --workdir "$OUT/dask" --output "$OUT/dask.vcf.gz" -- --device cpu 2> "$OUT/dask.log"
t2=$(now)
grep -v "^[0-9-]* [0-9:,]* - distributed" "$OUT/dask.log" | tail -n 1
same=$(cmp -s <(zcat "$OUT/single.vcf.gz" | grep -v '^##callvarCommand') \
              <(zcat "$OUT/dask.vcf.gz" | grep -v '^##callvarCommand') && echo identical || echo DIFFERENT)
cpu() { awk '{printf "%.2f", $1 + $2}' "$1"; }
printf "one callvar call --threads 2: %.2f s wall, %s CPU-s; Dask, 2 workers, %s shards: %.2f s wall, %s CPU-s (cluster, plan, calls, merge); records %s\n" \
  "$(echo "$t1 - $t0" | bc)" "$(cpu "$OUT/single.cpu")" "$SHARDS_DASK" "$(echo "$t2 - $t1" | bc)" "$(cpu "$OUT/dask.cpu")" "$same"
