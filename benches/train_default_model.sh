#!/usr/bin/env bash
# Rebuilds the default model, models/illumina-wgs, from scratch: simulates three training
# samples with ../shared/scripts/simulate_sample.sh (real GRCh38/GRCh37 sequence and GIAB
# truth variants, ART Illumina reads, bwa mem), none inside the reserved evaluation regions,
# then runs `callvar train` on them. About 25 minutes on 2 cores.
#   usage: benches/train_default_model.sh [WORKDIR]   (default /tmp/callvar-train)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/callvar-train}
S=../shared/scripts/simulate_sample.sh
D=../shared/data
mkdir -p "$W"
sim() { # name ref truth region depth readlen profile seed
  [ -f "$W/$1/reads.bam" ] && return
  mkdir -p "$W/$1"
  if [ "$2" = grch38 ] && [ -f "$W/t1/ref.fa.bwt" ]; then cp "$W"/t1/ref.fa.* "$W/$1/"; fi
  local ref truth
  if [ "$2" = grch38 ]; then ref=$D/grch38/GRCh38.chr20_1-10M.fa.gz; truth=$D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz
  else ref=$D/grch37/hs37d5_chr20_1_1000000.fa.gz; truth=$D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz; fi
  "$S" "$ref" "$truth" "$3" "$W/$1" --depth "$4" --readlen "$5" --profile "$6" --seed "$7" --sample "${1^^}"
}
sim t1 grch38 chr20:500000-2500000 30 150 HS25 1
sim t2 grch38 chr20:2500000-4400000 18 100 HS20 2
sim t3 grch37 20:100000-990000 55 125 HS25 3
export LIBTORCH_USE_PYTORCH=1 PATH="${XDG_CACHE_HOME:-$HOME/.cache}/callvar/torch-2.11.0/bin:$PATH"
cargo build --release --quiet
args=()
for t in t1 t2 t3; do
  args+=(--ref "$W/$t/ref.fa" --reads "$W/$t/reads.bam" --truth "$W/$t/truth.vcf.gz" --confident "$W/$t/confident.bed")
done
./target/release/callvar train "${args[@]}" \
  --exclude $D/reserved.GRCh37.bed --exclude $D/reserved.GRCh38.bed \
  --min-snv-fraction 0.05 --min-indel-fraction 0.03 \
  --epochs 20 --threads 2 --seed 1 --model-version 1 --output models/illumina-wgs
