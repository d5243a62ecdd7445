#!/usr/bin/env bash
# Rebuilds the default model, models/illumina-wgs, from scratch: simulates six training
# samples with ../shared/scripts/simulate_sample.sh (real GRCh38/GRCh37 sequence and GIAB
# truth variants, ART Illumina reads, bwa mem; @PG lines dropped so the BAMs are the same on
# every rerun), none inside the reserved evaluation regions,
# then runs `callvar train` on them. About an hour on 2 cores.
#   usage: benches/train_default_model.sh [WORKDIR]   (default /tmp/callvar-train)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/callvar-train}
S=../shared/scripts/simulate_sample.sh
D=../shared/data
mkdir -p "$W"
# HG001 truth names its contig 20; the hg19 reference names it chr20
if [ ! -f "$W/hg001_chr20.vcf.gz" ]; then
  printf '20\tchr20\n' > "$W/chrmap.txt"
  bcftools annotate --rename-chrs "$W/chrmap.txt" -Oz -o "$W/hg001_chr20.vcf.gz" $D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz
  tabix -p vcf "$W/hg001_chr20.vcf.gz"
fi
sim() { # name ref truth region depth readlen profile seed [folder whose bwa index to reuse]
  [ -f "$W/$1/reads.bam" ] && return
  mkdir -p "$W/$1"
  if [ -n "${9:-}" ] && [ -f "$W/$9/ref.fa.bwt" ]; then cp "$W/$9"/ref.fa.* "$W/$1/"; fi
  "$S" "$2" "$3" "$4" "$W/$1" --depth "$5" --readlen "$6" --profile "$7" --seed "$8" --sample "${1^^}"
  # simulate_sample.sh's @PG lines name its temporary folder: without them the BAM (and the
  # SHA-256 the model card records for it) is the same on every rerun
  samtools view -H "$W/$1/reads.bam" | grep -v '^@PG' > "$W/$1/header.sam"
  samtools reheader --no-PG "$W/$1/header.sam" "$W/$1/reads.bam" > "$W/$1/reads.portable.bam"
  mv "$W/$1/reads.portable.bam" "$W/$1/reads.bam"
  rm "$W/$1/header.sam"
  samtools index "$W/$1/reads.bam"
}
G38=$D/grch38/GRCh38.chr20_1-10M.fa.gz; T38=$D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz
HS37=$D/grch37/hs37d5_chr20_1_1000000.fa.gz; T37=$D/grch37/HG001_GRCh37_GIAB_v3.3.2.chr20.vcf.gz
HG19=$D/grch37/ucsc.hg19.chr20.unittest.fasta.gz; T19=$W/hg001_chr20.vcf.gz
sim t1 $G38 $T38 chr20:500000-2500000 30 150 HS25 1
sim t2 $G38 $T38 chr20:2500000-4400000 18 100 HS20 2 t1
sim t3 $HS37 $T37 20:100000-990000 55 125 HS25 3
sim t4 $HG19 $T19 chr20:10200000-11090000 40 100 HS20 4
sim t5 $HG19 $T19 chr20:10200000-11090000 25 150 HS25 5 t4
sim t6 $G38 $T38 chr20:500000-4400000 45 150 HSXt 6 t1
export LIBTORCH_USE_PYTORCH=1 PATH="${XDG_CACHE_HOME:-$HOME/.cache}/callvar/torch-2.11.0/bin:$PATH"
cargo build --release --quiet
args=()
for t in t1 t2 t3 t4 t5 t6; do
  args+=(--ref "$W/$t/ref.fa" --reads "$W/$t/reads.bam" --truth "$W/$t/truth.vcf.gz" --confident "$W/$t/confident.bed")
done
./target/release/callvar train "${args[@]}" \
  --exclude $D/reserved.GRCh37.bed --exclude $D/reserved.GRCh38.bed \
  --min-snv-fraction 0.05 --min-indel-fraction 0.03 \
  --epochs 20 --threads 2 --seed 1 --model-version 1 --output models/illumina-wgs
