#!/usr/bin/env bash
# Contradictory PASS pairs (benches/contradictions.py: overlapping records whose genotypes
# cannot sit on two haplotypes) and eval scores on the two real dev sets.
#   usage: benches/overlaps.sh      (CALLVAR=path/to/callvar to score another build)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench/overlaps}
mkdir -p "$OUT"
D=../shared/data
while read -r name ref reads truth bed region; do
  $CALLVAR call --ref "$ref" --reads "$reads" --regions "$region" --threads 2 --quiet -o "$OUT/$name.vcf.gz"
  echo "== $name: contradictory PASS pairs: $(python3 benches/contradictions.py "$OUT/$name.vcf.gz" | head -1)"
  python3 benches/contradictions.py "$OUT/$name.vcf.gz" | tail -n +2
  $CALLVAR eval --ref "$ref" --truth "$truth" --confident "$bed" --calls "$OUT/$name.vcf.gz"
done <<EOF
hg002_hifi $D/grch38/GRCh38.chr20_1-10M.fa.gz $D/hg002_hifi/HG002.hifi_revio.GRCh38.chr20_9000000-9100000.bam $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.vcf.gz $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.bed chr20:9000000-9100000
na12878 $D/grch37/ucsc.hg19.chr20.unittest.fasta.gz $D/na12878_illumina/NA12878_S1.chr20.10_10p1mb.bam $D/na12878_illumina/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz $D/na12878_illumina/test_nist.b37_chr20_100kbp_at_10mb.bed chr20:10000000-10100000
EOF
