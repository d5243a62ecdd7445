#!/usr/bin/env bash
# GPU throughput: callvar on the held-out 30x sample (5.2 Mb) on CPU and on CUDA at several
# --batch-size values, printing Mb/s and the peak GPU memory (nvidia-smi, polled every
# 100 ms). Run on a machine with a GPU; THREADS (default: all cores) feed the GPU.
#   usage: benches/gpu.sh [DEVICE]      (default: cuda; e.g. cuda:0,cuda:1)
source "$(dirname "$0")/common.sh"
ensure_sim
DEVICE=${1:-cuda}
REGION=${REGION:-chr20:4600000-9800000}
MB=5.2
THREADS=${THREADS:-$(nproc)}
OUT=${OUT:-/tmp/callvar-bench}/gpu; mkdir -p "$OUT"
command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: no GPU here" >&2; exit 1; }
printf "%-28s %8s %8s %10s\n" run wall_s Mb_per_s gpu_peak_MB
peak_gpu() { # CMD...: runs CMD while polling GPU memory; sets PEAK (MiB above idle)
  local idle; idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | sort -n | tail -1)
  local log; log=$(mktemp)
  ( while :; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits >> "$log"; sleep 0.1; done ) &
  local poller=$!
  "$@"; kill "$poller"; wait "$poller" 2>/dev/null || true
  PEAK=$(( $(sort -n "$log" | tail -1) - idle )); rm -f "$log"
}
timed "$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" \
  --threads "$THREADS" --device cpu --quiet -o "$OUT/cpu.vcf.gz"
printf "%-28s %8s %8.2f %10s\n" "cpu --threads $THREADS" "$WALL" "$(echo "$MB / $WALL" | bc -l)" -
for b in 64 256 1024 4096; do
  peak_gpu timed "$CALLVAR" call --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --regions "$REGION" \
    --threads "$THREADS" --device "$DEVICE" --batch-size "$b" --quiet -o "$OUT/gpu$b.vcf.gz"
  printf "%-28s %8s %8.2f %10s\n" "$DEVICE --batch-size $b" "$WALL" "$(echo "$MB / $WALL" | bc -l)" "$PEAK"
  cmp <(bcftools view -H "$OUT/cpu.vcf.gz") <(bcftools view -H "$OUT/gpu$b.vcf.gz") >/dev/null \
    || echo "  note: records differ from the CPU run (floating-point differences across devices)"
done
