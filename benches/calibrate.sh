#!/usr/bin/env bash
# Calibration of the default model's GQ and QUAL (temperature scaling), and the PASS threshold.
#
# Split: the default model trained on GRCh38 chr20:0.5-4.4 Mb (and GRCh37 windows); the README's
# held-out test sample is GRCh38 chr20:4.6-9.8 Mb (30x HS25 150 bp, seed 7). Calibration uses
# three new simulations of chr20:4.6-6.6 Mb (HG002 v4.2.1 truth; other seeds, depths, read
# lengths and ART profiles), minus the reserved 5.0-5.1 Mb window; the reliability test uses
# only the other part of the held-out sample, chr20:6.6-9.8 Mb.
#   1. fits the temperature (`callvar calibrate --output`) and prints the calibration split's
#      reliability tables before (T=1) and after;
#   2. prints the test part's tables before and after;
#   3. calls the calibration samples with --min-qual 0 and prints pooled precision, recall
#      and F1 per QUAL threshold (the --min-qual choice).
#   usage: benches/calibrate.sh        (MODEL_OUT=models/illumina-wgs rewrites the shipped card)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench/calibrate}
MODEL_OUT=${MODEL_OUT:-$OUT/model}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/callvar
RESERVED=../shared/data/reserved.GRCh38.bed
mkdir -p "$OUT"
# folder depth readlen profile seed sample-name
CAL_SAMPLES=("cal25x 25 150 HS25 11 CAL" "cal35x 35 150 HSXt 12 CAL35" "cal20x 20 100 HS20 13 CAL20")
for s in "${CAL_SAMPLES[@]}"; do
  read -r name depth rl prof seed sm <<<"$s"
  d=$CACHE/$name
  [ -f "$d/reads.bam" ] && continue
  echo "simulating calibration sample $name into $d (about 3 minutes)" >&2
  mkdir -p "$d"
  # reuse the held-out sample's bwa index of the same reference when there is one
  ensure_sim
  for f in amb ann bwt pac sa; do [ -f "$SIM/ref.fa.$f" ] && cp "$SIM/ref.fa.$f" "$d/"; done
  ../shared/scripts/simulate_sample.sh ../shared/data/grch38/GRCh38.chr20_1-10M.fa.gz \
    ../shared/data/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz chr20:4600000-6600000 "$d" \
    --depth "$depth" --readlen "$rl" --profile "$prof" --seed "$seed" --sample "$sm" >&2
done
ensure_sim
C=$CACHE/cal25x
reads=(); for s in "${CAL_SAMPLES[@]}"; do reads+=(--reads "$CACHE/${s%% *}/reads.bam"); done

echo "== 1. fit on the calibration split (GRCh38 chr20:4.6-6.6 Mb minus 5.0-5.1 Mb, 3 samples)"
$CALLVAR calibrate --ref "$C/ref.fa" "${reads[@]}" --truth "$C/truth.vcf.gz" \
  --confident "$C/confident.bed" --exclude "$RESERVED" --model models/illumina-wgs \
  --output "$MODEL_OUT" --threads 2

echo
echo "== 2. test part: held-out 30x sample, chr20:6.6-9.8 Mb"
$CALLVAR calibrate --ref "$SIM/ref.fa" --reads "$SIM/reads.bam" --truth "$SIM/truth.vcf.gz" \
  --confident "$SIM/confident.bed" --regions chr20:6600001-9800000 --model "$MODEL_OUT" --threads 2

echo
echo "== 3. PASS threshold: calibration samples called with --min-qual 0, pooled"
bedtools subtract -a "$C/confident.bed" -b "$RESERVED" > "$OUT/calibration.bed"
for s in "${CAL_SAMPLES[@]}"; do
  name=${s%% *}; d=$CACHE/$name
  $CALLVAR call --ref "$d/ref.fa" --reads "$d/reads.bam" --regions-file "$OUT/calibration.bed" \
    --model "$MODEL_OUT" --min-qual 0 --threads 2 --quiet -o "$OUT/$name.vcf.gz"
  $CALLVAR eval --ref "$d/ref.fa" --truth "$d/truth.vcf.gz" --confident "$OUT/calibration.bed" \
    --calls "$OUT/$name.vcf.gz" --output-dir "$OUT/eval_$name" > /dev/null
done
python3 - "$OUT" "${CAL_SAMPLES[@]%% *}" <<'PY'
import csv, sys
out, names = sys.argv[1], sys.argv[2:]
def curve(path):
    return [(float(r["QUAL"]), int(r["tp_baseline"]), int(r["tp_call"]), int(r["fp"]), int(r["fn"]))
            for r in csv.DictReader(open(path), delimiter="\t")]
def at(c, t):
    # counts for the calls with QUAL >= t: the curve's row with the smallest QUAL >= t
    rows = [r for r in c if r[0] >= t]
    return min(rows)[1:] if rows else (0, 0, 0, c[0][1] + c[0][4])
print(f"{'type':<6} {'min-qual':>8} {'TP':>6} {'FP':>5} {'FN':>5} {'prec':>7} {'recall':>7} {'F1':>7}")
for typ in ("snp", "indel"):
    cs = [curve(f"{out}/eval_{n}/{typ}_curve.tsv") for n in names]
    for t in (0, 2, 3, 4, 5, 7, 10, 15, 20):
        tb, tc, fp, fn = (sum(x) for x in zip(*(at(c, t) for c in cs)))
        p, r = tc / max(tc + fp, 1), tb / max(tb + fn, 1)
        print(f"{typ:<6} {t:>8} {tb:>6} {fp:>5} {fn:>5} {p:>7.4f} {r:>7.4f} {2 * p * r / max(p + r, 1e-9):>7.4f}")
PY
