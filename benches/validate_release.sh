#!/usr/bin/env bash
# Continuous validation: the routine a lab runs on each callvar release or model update.
#
#   bash benches/validate_release.sh            # exit 0: release accepted
#   MODEL=models/new-model MIN_F1=SNP=0.99,INDEL=0.95 bash benches/validate_release.sh
#
# 1. records what is validated (`callvar --version`, the model card);
# 2. calls a GIAB sample (default: the NA12878 Illumina dev set, chr20:10,000,000-10,100,000,
#    GRCh37) with --manifest and --report;
# 3. calls it again with another --threads and checks the records are identical;
# 4. scores the calls against the GIAB truth inside its confident BED with
#    `callvar eval --min-f1 … --report`, whose exit status is the gate;
# 5. with BASELINE=DIR (a previous run's folder), prints F1 now against then.
# Everything lands in OUT (default /tmp/callvar-bench/validation/VERSION-COMMIT-TIME/; point
# it at the lab's archive): run.json, call.html, eval.html, eval.json, eval/ (TP/FP/FN VCFs,
# curves), calls.vcf.gz, version.txt.
# Exit status: 0 accepted; 3 an F1 below MIN_F1; 4 records differ between thread counts;
# 1 any other failure (missing input, callvar error).
source "$(dirname "$0")/common.sh"
DATA=${DATA:-../shared/data}
REF=${REF:-$DATA/grch37/ucsc.hg19.chr20.unittest.fasta.gz}
READS=${READS:-$DATA/na12878_illumina/NA12878_S1.chr20.10_10p1mb.bam}
TRUTH=${TRUTH:-$DATA/na12878_illumina/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz}
CONF=${CONF:-$DATA/na12878_illumina/test_nist.b37_chr20_100kbp_at_10mb.bed}
REGION=${REGION:-chr20:10000000-10100000}
# The bar: today's release scores 1.0 on both; one wrong SNP of 45 gives 0.989, one missed
# indel of 4 gives 0.857.
MIN_F1=${MIN_F1:-SNP=0.98,INDEL=0.85}
THREADS=${THREADS:-2}
MODEL=${MODEL:-}
for f in "$REF" "$READS" "$TRUTH" "$CONF"; do
  [ -e "$f" ] || { echo "validate_release: $f: not found" >&2; exit 1; }
done
version=$("$CALLVAR" -V | awk '{ print $2 "-" $3 }' | tr -d '()')
OUT=${OUT:-/tmp/callvar-bench/validation/$version-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
model=(); [ -n "$MODEL" ] && model=(--model "$MODEL")
"$CALLVAR" --version > "$OUT/version.txt"
call=("$CALLVAR" call --ref "$REF" --reads "$READS" --regions "$REGION" "${model[@]}" --quiet)
"${call[@]}" --threads "$THREADS" -o "$OUT/calls.vcf.gz" \
  --manifest "$OUT/run.json" --report "$OUT/call.html"
"${call[@]}" --threads 1 -o "$OUT/calls.threads1.vcf.gz"
if ! cmp -s <(bcftools view -H "$OUT/calls.vcf.gz") <(bcftools view -H "$OUT/calls.threads1.vcf.gz"); then
  echo "validate_release: records differ between --threads $THREADS and --threads 1" >&2
  exit 4
fi
rc=0
"$CALLVAR" eval --ref "$REF" --truth "$TRUTH" --calls "$OUT/calls.vcf.gz" --confident "$CONF" \
  --min-f1 "$MIN_F1" --report "$OUT/eval.html" --output-dir "$OUT/eval" --json \
  > "$OUT/eval.json" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || exit "$rc"
f1() { jq -r ".$2.f1" "$1/eval.json" | awk '{ printf "%.4f", $1 }'; }
printf "validated %s (model %s, manifest inputs %s)\n" "$version" \
  "$(jq -r '.inputs.model.name + " " + .inputs.model.version' "$OUT/run.json")" \
  "$(jq -r .inputs_sha256 "$OUT/run.json")"
printf "%-6s %8s %8s %8s %8s %8s\n" type TP FN FP F1 baseline
for t in SNP INDEL; do
  base=-; [ -n "${BASELINE:-}" ] && base=$(f1 "$BASELINE" "$t")
  printf "%-6s %8s %8s %8s %8s %8s\n" "$t" "$(jq -r ".$t.tp" "$OUT/eval.json")" \
    "$(jq -r ".$t.fn" "$OUT/eval.json")" "$(jq -r ".$t.fp" "$OUT/eval.json")" "$(f1 "$OUT" "$t")" "$base"
done
if [ "$rc" = 3 ]; then
  echo "validate_release: REJECTED: F1 below $MIN_F1 (see $OUT/eval.html)" >&2
else
  echo "validate_release: accepted (F1 >= $MIN_F1, records independent of --threads); reports in $OUT"
fi
exit "$rc"
