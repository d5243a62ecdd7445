#!/usr/bin/env bash
# Rebuilds models/pacbio-hifi from scratch: simulates five PacBio HiFi-like training samples
# with benches/simulate_longread.sh (real GRCh38/GRCh37 sequence and GIAB truth variants
# written into two haplotypes, homopolymer-heavy HiFi errors, minimap2 map-hifi), none inside
# the reserved evaluation regions, then runs `callvar train --preset hifi` on them with both
# reserved BEDs excluded. Depth (15-60x), read length (10-20 kb mean) and error level
# (--noise 0.7-2.0: batch-to-batch noise augmentation) differ between samples. 9 minutes
# on 2 cores shared with other jobs (simulation ~3.5, training ~5.5), 23 under heavy load.
#   usage: benches/train_hifi_model.sh [WORKDIR]   (default /tmp/callvar-train-hifi)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/callvar-train-hifi}
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
  nice "$S" "$2" "$3" "$4" "$W/$1" --platform hifi --depth "$5" --length-mean "$6" \
    --length-sd $(($6 / 4)) --noise "$7" --seed "$8" --sample "${1^^}"
}
G38=$D/grch38/GRCh38.chr20_1-10M.fa.gz; T38=$D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz
HS37=$D/grch37/hs37d5_chr20_1_1000000.fa.gz; T37=$D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz
HG19=$D/grch37/ucsc.hg19.chr20.unittest.fasta.gz; T19=$W/hg001_chr20.vcf.gz
sim h1 $G38 $T38 chr20:500000-2500000 30 15000 1.0 1
sim h2 $G38 $T38 chr20:2500000-4400000 20 20000 1.5 2 h1
sim h3 $HS37 $T37 20:100000-990000 45 12000 0.7 3
sim h4 $HG19 $T19 chr20:10200000-11090000 60 18000 1.2 4
sim h5 $G38 $T38 chr20:500000-2500000 15 10000 2.0 5 h1
export LIBTORCH_USE_PYTORCH=1 PATH="${XDG_CACHE_HOME:-$HOME/.cache}/callvar/torch-2.11.0/bin:$PATH"
cargo build --release --quiet
args=()
for t in h1 h2 h3 h4 h5; do
  args+=(--ref "$W/$t/ref.fa" --reads "$W/$t/reads.bam" --truth "$W/$t/truth.vcf.gz" --confident "$W/$t/confident.bed")
done
# Lower thresholds than the preset's when training: more near-threshold negatives
# (homopolymer stutter) to learn from, 40% of the hom-ref ones kept (a stable hash) to keep
# training short. The card records the hifi preset for `call`.
nice ./target/release/callvar train "${args[@]}" --preset hifi \
  --exclude $D/reserved.GRCh37.bed --exclude $D/reserved.GRCh38.bed \
  --min-snv-fraction 0.06 --min-indel-fraction 0.06 --repeat-indel-fraction 0 \
  --homref-fraction 0.4 --epochs 8 --threads 2 --seed 1 --model-version 1 --output models/pacbio-hifi
