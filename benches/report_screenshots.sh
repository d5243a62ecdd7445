#!/usr/bin/env bash
# Renders the HTML reports in a real browser (headless Chromium) so a person can look at
# them: a call report with clinical regions (testdata/ with a 2 kb coverage hole and a
# MAPQ-3 patch made here, as tests/clinical.rs does) and an eval report with a stratum and a
# gate, plus any report given as an argument. Writes OUT/*.png (1200 px wide).
#   bash benches/report_screenshots.sh [more.html ...]
# Needs chromium (Debian: apt-get install -y chromium); not part of `make test`.
source "$(dirname "$0")/common.sh"
command -v chromium >/dev/null || { echo "needs chromium: apt-get install -y chromium" >&2; exit 1; }
OUT=${OUT:-/tmp/callvar-bench}/screenshots; mkdir -p "$OUT"
samtools view -h testdata/na12878.bam | awk -F'\t' -v OFS='\t' '/^@/ { print; next }
  $4 >= 10004900 && $4 < 10007000 { next } $4 >= 10012000 && $4 < 10013000 { $5 = 3 } { print }' \
  | samtools view -b -o "$OUT/hole.bam" - && samtools index "$OUT/hole.bam"
printf 'chr20\t10001000\t10003000\tGENE_A_ex1\nchr20\t10004000\t10008000\tGENE_B_ex2\nchr20\t10011500\t10013500\tGENE_C_ex3\nchr20\t10019500\t10020500\tGENE_D_ex4\n' > "$OUT/clinical.bed"
printf 'chr20\t10000000\t10005000\tfirst_5kb\n' > "$OUT/first5kb.bed"
"$CALLVAR" call --ref testdata/ref.fa.gz --reads "$OUT/hole.bam" --regions chr20:10000000-10020000 \
  -o "$OUT/calls.vcf.gz" --clinical-regions "$OUT/clinical.bed" --report "$OUT/call.html" \
  --manifest "$OUT/run.json" --threads 2 --quiet
"$CALLVAR" eval --ref testdata/ref.fa.gz --truth testdata/truth.vcf.gz --calls "$OUT/calls.vcf.gz" \
  --confident testdata/confident.bed --stratify "first5kb=$OUT/first5kb.bed" \
  --min-f1 SNP=0.95,INDEL=0.5 --report "$OUT/eval.html" > /dev/null || [ $? = 3 ] # the hole fails the gate
for html in "$OUT/call.html" "$OUT/eval.html" "$@"; do
  [ -f "$html" ] || { echo "$html: not found" >&2; exit 1; }
  png="$OUT/$(basename "${html%.html}").png"
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --screenshot="$png" --window-size=1200,2600 \
    "file://$(realpath "$html")" > /dev/null 2>&1
  echo "$png"
done
