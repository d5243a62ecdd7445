#!/usr/bin/env bash
# Writes testdata/hifi/whatshap.vcf: WhatsHap's read-backed phasing of callvar's unphased
# calls on testdata/hifi (the real HiFi slice), the peer phasing tests/phasing.rs compares
# callvar's against. Needs `whatshap` (PyPI: pip install whatshap; 2.8 made the file).
#   usage: benches/make_phasing_fixture.sh [WHATSHAP]
set -euo pipefail
cd "$(dirname "$0")/.."
WHATSHAP=${1:-whatshap}
CALLVAR=${CALLVAR:-target/release/callvar}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$CALLVAR" call --ref testdata/hifi/ref.fa.gz --reads testdata/hifi/reads.bam \
  --regions chr20:9076000-9084000 --preset hifi --no-phase --quiet -o "$T/calls.vcf"
"$WHATSHAP" phase --ignore-read-groups --reference testdata/hifi/ref.fa.gz \
  -o "$T/phased.vcf" "$T/calls.vcf" testdata/hifi/reads.bam 2> "$T/log"
{
  echo "##fileformat=VCFv4.3"
  echo "##source=$("$WHATSHAP" --version | sed 's/^/whatshap /') phase --ignore-read-groups, on callvar --preset hifi --no-phase calls (benches/make_phasing_fixture.sh)"
  grep '^##FORMAT=<ID=\(GT\|PS\)' "$T/phased.vcf"
  grep -v '^##' "$T/phased.vcf" | cut -f1-10 | awk -F'\t' 'BEGIN{OFS="\t"} /^#/ {print; next} {
    n = split($9, k, ":"); split($10, v, ":"); gt = v[1]; ps = "."
    for (i = 1; i <= n; i++) if (k[i] == "PS") ps = v[i]
    $8 = "."; $9 = "GT:PS"; $10 = gt ":" ps; print }'
} > testdata/hifi/whatshap.vcf
echo "wrote testdata/hifi/whatshap.vcf: $(grep -vc '^#' testdata/hifi/whatshap.vcf) records, $(grep -v '^#' testdata/hifi/whatshap.vcf | grep -c '|') phased"
