#!/usr/bin/env bash
# Read-backed phasing benchmark (`callvar call`, phasing on by default for long-read presets).
# Two tables:
#  1. phasing, scored by benches/phasing_eval.py: filter-passing heterozygous calls, how many
#     are phased (and which fraction), phase sets, their median span and N50, and the switch
#     errors of consecutive phased het SNP pairs against a phased truth;
#       - hg002_hifi: the real HG002 PacBio Revio HiFi dev set (GRCh38 chr20:9.0-9.1 Mb). Its
#         GIAB v4.2.1 truth is NOT phased (every GT is `/`, no PS), so switches are counted
#         against a peer instead: WhatsHap (`whatshap phase`) phasing callvar's own
#         --no-phase calls from the same reads (row `callvar vs whatshap`); WhatsHap's own
#         phasing statistics are shown beside it; inside the BED;
#       - sim_hifi_25k / sim_ont_25k: the simulated held-out 30x HiFi-like and ONT-like samples
#         of benches/longread.sh (GRCh38 chr20:6-7 Mb), and sim_hifi_70x: 70x HiFi-like 18 kb
#         reads over chr20:7.0-7.4 Mb (held out too; deeper than the tensor's 47 read rows).
#         benches/simulate_longread.sh puts a truth GT's first allele on haplotype 1, so the
#         truth is phased as a whole contig (--truth-phase order); inside the confident BED.
#  2. accuracy with and without phasing on the dev set (`callvar eval`, inside the BED): the
#     calls must not change, only their GT separator and PS.
# WhatsHap rows need `whatshap` on PATH or WHATSHAP=/path/to/whatshap (PyPI: pip install
# whatshap); without it they are skipped.
#   usage: benches/phasing.sh
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench}/phasing; mkdir -p "$OUT"
LRSIM=${LRSIM:-${XDG_CACHE_HOME:-$HOME/.cache}/callvar/longread-speed}
WHATSHAP=${WHATSHAP:-$(command -v whatshap || true)}
D=../shared/data
EVAL=benches/phasing_eval.py

SREGION=chr20:6000000-7000000
simulate() { # name length_mean length_sd length_min mapper platform region depth seed sample
  [ -f "$LRSIM/$1/reads.bam" ] && return
  echo "simulating $1 into $LRSIM/$1" >&2
  mkdir -p "$LRSIM/$1"
  benches/simulate_longread.sh $D/grch38/GRCh38.chr20_1-10M.fa.gz \
    $D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz "$7" "$LRSIM/$1" --depth "$8" \
    --length-mean "$2" --length-sd "$3" --length-min "$4" --mapper "$5" --platform "$6" \
    --seed "$9" --sample "${10}" >&2
}
# the first two exactly as benches/longread.sh makes them (shared under $LRSIM)
simulate r25k 25000 2500 20000 map-hifi hifi $SREGION 30 11 SPEED
simulate o25k 25000 5000 15000 map-ont ont $SREGION 30 11 SPEED
DREGION=chr20:7000000-7400000
simulate h70x 18000 4500 8000 map-hifi hifi $DREGION 70 21 DEEP

HREF=$D/grch38/GRCh38.chr20_1-10M.fa.gz
HREADS=$D/hg002_hifi/HG002.hifi_revio.GRCh38.chr20_9000000-9100000.bam
HTRUTH=$D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.vcf.gz
HBED=$D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.bed
HREGION=chr20:9000000-9100000

call() { # out.vcf.gz ref reads region model [flags...]
  local o=$1 r=$2 b=$3 g=$4 m=$5; shift 5
  timed "$CALLVAR" call --ref "$r" --reads "$b" --regions "$g" --threads 2 --quiet --model "$m" \
    "$@" -o "$o"
}
whatshap_phase() { # calls.vcf.gz ref reads out.vcf
  [ -n "$WHATSHAP" ] || return 1
  local ref=$2
  if [[ $ref == *.gz ]]; then
    [ -f "$OUT/ref.fa.fai" ] || { zcat "$ref" > "$OUT/ref.fa"; samtools faidx "$OUT/ref.fa"; }
    ref=$OUT/ref.fa
  fi
  timed "$WHATSHAP" phase --ignore-read-groups --reference "$ref" -o "$4" "$1" "$3" 2> "$4.log"
}

echo "## phasing (switch errors: consecutive phased het SNP pairs of one block)"
python3 $EVAL --header
d=$OUT/hg002_hifi; mkdir -p "$d"
call "$d/phased.vcf.gz" "$HREF" "$HREADS" "$HREGION" pacbio-hifi
PHASE_WALL=$WALL
python3 $EVAL "$d/phased.vcf.gz" --bed "$HBED" --name "hg002_hifi callvar"
call "$d/unphased.vcf.gz" "$HREF" "$HREADS" "$HREGION" pacbio-hifi --no-phase
NOPHASE_WALL=$WALL
if whatshap_phase "$d/unphased.vcf.gz" "$HREF" "$HREADS" "$d/whatshap.vcf"; then
  python3 $EVAL "$d/whatshap.vcf" --bed "$HBED" --name "hg002_hifi whatshap"
  python3 $EVAL "$d/phased.vcf.gz" --truth "$d/whatshap.vcf" --bed "$HBED" \
    --name "hg002_hifi callvar vs whatshap"
else
  echo "hg002_hifi whatshap: skipped (no whatshap; set WHATSHAP)"
fi
while read -r name dir model region; do
  s=$LRSIM/$dir; d=$OUT/$name; mkdir -p "$d"
  call "$d/phased.vcf.gz" "$s/ref.fa" "$s/reads.bam" "$region" "$model"
  python3 $EVAL "$d/phased.vcf.gz" --truth "$s/truth.vcf.gz" --truth-phase order \
    --bed "$s/confident.bed" --name "$name callvar"
  call "$d/unphased.vcf.gz" "$s/ref.fa" "$s/reads.bam" "$region" "$model" --no-phase
  if whatshap_phase "$d/unphased.vcf.gz" "$s/ref.fa" "$s/reads.bam" "$d/whatshap.vcf"; then
    python3 $EVAL "$d/whatshap.vcf" --truth "$s/truth.vcf.gz" --truth-phase order \
      --bed "$s/confident.bed" --name "$name whatshap"
  fi
done <<TSV
sim_hifi_25k r25k pacbio-hifi $SREGION
sim_ont_25k o25k ont-r10 $SREGION
sim_hifi_70x h70x pacbio-hifi $DREGION
TSV

echo
echo "## accuracy on hg002_hifi with and without phasing (callvar eval inside the BED)"
printf "%-32s %6s %6s %6s %7s %6s %6s %6s %7s %7s\n" run SNP_TP SNP_FN SNP_FP SNP_F1 IND_TP IND_FN IND_FP IND_F1 wall_s
for run in phased unphased; do
  j=$($CALLVAR eval --ref "$HREF" --truth "$HTRUTH" --calls "$OUT/hg002_hifi/$run.vcf.gz" --confident "$HBED" --json)
  wall=$NOPHASE_WALL; [ $run = phased ] && wall=$PHASE_WALL
  python3 - "$run" "$wall" "$j" <<'PY'
import json, sys
run, wall, j = sys.argv[1:]
m = json.loads(j); s, i = m["SNP"], m["INDEL"]
print(f"{'callvar --preset hifi ' + ('' if run == 'phased' else '--no-phase'):<32} {s['tp']:>6} {s['fn']:>6} {s['fp']:>6} {s['f1']:>7.4f} "
      f"{i['tp']:>6} {i['fn']:>6} {i['fp']:>6} {i['f1']:>7.4f} {wall:>7}")
PY
done
