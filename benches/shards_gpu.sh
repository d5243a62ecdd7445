#!/usr/bin/env bash
# Shards on a GPU (for a machine with one): testdata/ cut into one shard per 1005 bp chunk
# (a border inside the deletion at chr20:10,004,769), every shard called with --device cuda
# (the Nextflow module's path when task.accelerator is set), merged, and compared with one
# --device cuda run (every line but ##callvarCommand); then CUDA against CPU records, and a
# merge mixing a CPU shard with CUDA shards, which must be refused (##callvarDevice).
# Where the binary's rpath has no libtorch: LD_LIBRARY_PATH=$(python3 -c 'import torch,os;
# print(os.path.dirname(torch.__file__))')/lib bash benches/shards_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=${CALLVAR:-./target/release/callvar}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
R=testdata/ref.fa.gz BAM=testdata/na12878.bam REG=chr20:10000001-10021000
"$B" shards --ref $R --reads $BAM -n 100 --chunk-size 1005 --regions $REG --output-dir "$T/plan"
for b in "$T"/plan/shard-*.bed; do
  n=$(basename "$b" .bed)
  "$B" call --ref $R --reads $BAM --regions-file "$b" --chunk-size 1005 --device cuda -q \
    -o "$T/$n.vcf.gz" --gvcf "$T/$n.g.vcf.gz"
done
for d in cuda cpu; do
  "$B" call --ref $R --reads $BAM --regions $REG --chunk-size 1005 --device $d --threads 4 -q \
    -o "$T/$d.vcf.gz" --gvcf "$T/$d.g.vcf.gz"
done
"$B" merge --ref $R --plan "$T/plan/plan.tsv" -o "$T/m.vcf.gz" "$T"/shard-*[0-9].vcf.gz
"$B" merge --gvcf --ref $R --plan "$T/plan/plan.tsv" -o "$T/m.g.vcf.gz" "$T"/shard-*.g.vcf.gz
body() { zcat "$1" | grep -v '^##callvarCommand'; }
cmp <(body "$T/m.vcf.gz") <(body "$T/cuda.vcf.gz") && echo "cuda shards merged = one cuda run (VCF)"
cmp <(body "$T/m.g.vcf.gz") <(body "$T/cuda.g.vcf.gz") && echo "cuda shards merged = one cuda run (gVCF)"
recs() { zcat "$1" | grep -v '^#'; }
echo "records: cuda $(recs "$T/cuda.vcf.gz" | wc -l), cpu $(recs "$T/cpu.vcf.gz" | wc -l)," \
  "cuda lines not in cpu: $(diff <(recs "$T/cuda.vcf.gz") <(recs "$T/cpu.vcf.gz") | grep -c '^<' || true)"
"$B" call --ref $R --reads $BAM --regions-file "$T/plan/shard-0001.bed" --chunk-size 1005 \
  --device cpu -q -o "$T/cpu1.vcf.gz"
if "$B" merge --ref $R --plan "$T/plan/plan.tsv" -o "$T/mix.vcf.gz" "$T/cpu1.vcf.gz" \
    $(ls "$T"/shard-*[0-9].vcf.gz | grep -v shard-0001); then
  echo "a CPU shard among CUDA shards was merged"; exit 1
fi
echo "mixed-device merge refused"
