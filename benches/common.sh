# Shared by the bench scripts: environment, the held-out simulated sample, and timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LIBTORCH_USE_PYTORCH=1 PATH="${XDG_CACHE_HOME:-$HOME/.cache}/callvar/torch-2.11.0/bin:$PATH"
CALLVAR=${CALLVAR:-./target/release/callvar}
[ -x "$CALLVAR" ] || cargo build --release --quiet
# The held-out 30x 150 bp sample: GRCh38 chr20:4.6-9.8 Mb (5.2 Mb), never used in training
# (the default model trains on chr20:0.5-4.4 Mb and GRCh37 20:0.1-0.99 Mb).
SIM=${SIM:-${XDG_CACHE_HOME:-$HOME/.cache}/callvar/bench30x}
ensure_sim() {
  [ -f "$SIM/reads.bam" ] && return
  echo "simulating the held-out 30x sample into $SIM (about 15 minutes)" >&2
  ../shared/scripts/simulate_sample.sh ../shared/data/grch38/GRCh38.chr20_1-10M.fa.gz \
    ../shared/data/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz chr20:4600000-9800000 "$SIM" \
    --depth 30 --readlen 150 --profile HS25 --seed 7 --sample BENCH >&2
}
# timed OUTFILE CMD...: runs CMD under /usr/bin/time; sets WALL CPU RSS_MB.
timed() {
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@"
  read -r WALL U S KB < "$tf"; rm -f "$tf"
  CPU=$(awk -v u="$U" -v s="$S" 'BEGIN{printf "%.1f", u+s}')
  RSS_MB=$(awk -v k="$KB" 'BEGIN{printf "%.0f", k/1024}')
}
