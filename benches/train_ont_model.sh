#!/usr/bin/env bash
# Rebuilds models/ont-r10 from scratch: simulates four Oxford Nanopore R10-like training
# samples with benches/simulate_longread.sh --platform ont (real GRCh38/GRCh37 sequence and
# GIAB truth variants written into two haplotypes; about 97% accuracy, errors concentrated in
# homopolymers, more the longer the run; minimap2 map-ont), none inside the reserved
# evaluation regions, then runs `callvar train --preset ont` on them with both reserved BEDs
# excluded. Depth (20-45x), read length and error level (--noise 0.7-1.4) differ between
# samples. No real ONT data is at hand: the model is checked on simulated data only. 23
# minutes in all on 2 cores shared with other jobs.
#   usage: benches/train_ont_model.sh [WORKDIR]   (default /tmp/callvar-train-ont)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/callvar-train-ont}
S=benches/simulate_longread.sh
D=../shared/data
mkdir -p "$W"
# HG001 truth names its contig 20; the hg19 reference names it chr20
if [ ! -f "$W/hg001_chr20.vcf.gz" ]; then
  printf '20\tchr20\n' > "$W/chrmap.txt"
  bcftools annotate --rename-chrs "$W/chrmap.txt" -Oz -o "$W/hg001_chr20.vcf.gz" $D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz
  tabix -p vcf "$W/hg001_chr20.vcf.gz"
fi
sim() { # name ref truth region depth length_mean noise seed [folder whose ref.fa to reuse]
  [ -f "$W/$1/reads.bam" ] && return
  mkdir -p "$W/$1"
  if [ -n "${9:-}" ] && [ -f "$W/$9/ref.fa.fai" ]; then cp "$W/$9"/ref.fa "$W/$9"/ref.fa.fai "$W/$1/"; fi
  nice "$S" "$2" "$3" "$4" "$W/$1" --platform ont --depth "$5" --length-mean "$6" \
    --length-sd $(($6 / 2)) --noise "$7" --seed "$8" --sample "${1^^}"
}
G38=$D/grch38/GRCh38.chr20_1-10M.fa.gz; T38=$D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz
HS37=$D/grch37/hs37d5_chr20_1_1000000.fa.gz; T37=$D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz
HG19=$D/grch37/ucsc.hg19.chr20.unittest.fasta.gz; T19=$W/hg001_chr20.vcf.gz
sim o1 $G38 $T38 chr20:500000-2500000 30 20000 1.0 21
sim o2 $G38 $T38 chr20:2500000-4400000 20 25000 1.4 22 o1
sim o3 $HS37 $T37 20:100000-990000 45 15000 0.7 23
sim o4 $HG19 $T19 chr20:10200000-11090000 40 20000 1.2 24
export LIBTORCH_USE_PYTORCH=1 PATH="${XDG_CACHE_HOME:-$HOME/.cache}/callvar/torch-2.11.0/bin:$PATH"
cargo build --release --quiet
args=()
for t in o1 o2 o3 o4; do
  args+=(--ref "$W/$t/ref.fa" --reads "$W/$t/reads.bam" --truth "$W/$t/truth.vcf.gz" --confident "$W/$t/confident.bed")
done
# Lower thresholds than the preset's when training: more near-threshold negatives
# (homopolymer errors) to learn from, 40% of the hom-ref ones kept (a stable hash) to keep
# training short. The card records the ont preset for `call`.
nice ./target/release/callvar train "${args[@]}" --preset ont \
  --exclude $D/reserved.GRCh37.bed --exclude $D/reserved.GRCh38.bed \
  --min-snv-fraction 0.08 --min-indel-fraction 0.08 --repeat-indel-fraction 0 \
  --homref-fraction 0.4 --epochs 8 --threads 2 --seed 1 --model-version 1 --output models/ont-r10
