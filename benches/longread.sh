#!/usr/bin/env bash
# Long-read benchmark, two tables:
#  1. accuracy on the real HG002 PacBio Revio HiFi dev set (GRCh38 chr20:9.0-9.1 Mb, GIAB
#     v4.2.1 truth and BED) and on simulated held-out HiFi and ONT samples (25 kb reads, below):
#     callvar with the platform's model (its card's preset), the Illumina model for
#     reference, bcftools (`mpileup -X pacbio-ccs|ont | call -mv`) and freebayes (defaults),
#     each scored with `callvar eval` inside the BED;
#  2. pileup speed against read length: the same 1 Mb (GRCh38 chr20:6-7 Mb, HG002 truth, a
#     region no model trains on) simulated at 30x as 150 bp reads, 25 kb HiFi-like reads and
#     25 kb ONT-like reads (benches/simulate_longread.sh, made on first use under $LRSIM),
#     called with `callvar call -v --threads 1 --model pacbio-hifi`; the
#     reads+candidates+tensors stage time per Mb and per candidate.
#   usage: benches/longread.sh [accuracy|speed]   (default: both)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench}/longread; mkdir -p "$OUT"
LRSIM=${LRSIM:-${XDG_CACHE_HOME:-$HOME/.cache}/callvar/longread-speed}
D=../shared/data
want=${1:-all}

SREGION=chr20:6000000-7000000
simulate() { # name length_mean length_sd length_min mapper [platform]
  [ -f "$LRSIM/$1/reads.bam" ] && return
  echo "simulating $1 into $LRSIM/$1" >&2
  mkdir -p "$LRSIM/$1"
  [ -f "$LRSIM/r25k/ref.fa.fai" ] && cp "$LRSIM/r25k/ref.fa" "$LRSIM/r25k/ref.fa.fai" "$LRSIM/$1/"
  benches/simulate_longread.sh $D/grch38/GRCh38.chr20_1-10M.fa.gz \
    $D/grch38/HG002_GRCh38_v4.2.1.chr20_1-10M.vcf.gz $SREGION "$LRSIM/$1" --depth 30 \
    --length-mean "$2" --length-sd "$3" --length-min "$4" --mapper "$5" --platform "${6:-hifi}" \
    --seed 11 --sample SPEED >&2
}

if [ "$want" = all ] || [ "$want" = accuracy ]; then
  printf "%-12s %-26s %6s %6s %6s %7s %7s %7s %6s %6s %6s %7s %7s %7s %7s %7s %8s\n" dataset caller \
    SNP_TP SNP_FN SNP_FP SNP_P SNP_R SNP_F1 IND_TP IND_FN IND_FP IND_P IND_R IND_F1 wall_s cpu_s peak_MB
  score() { # dataset caller vcf
    local j; j=$($CALLVAR eval --ref "$REF" --truth "$TRUTH" --calls "$3" --confident "$BED" --json)
    python3 - "$1" "$2" "$WALL" "$CPU" "$RSS_MB" "$j" <<'PY'
import json, sys
name, caller, wall, cpu, rss, j = sys.argv[1:]
m = json.loads(j); s, i = m["SNP"], m["INDEL"]
print(f"{name:<12} {caller:<26} {s['tp']:>6} {s['fn']:>6} {s['fp']:>6} {s['precision']:>7.4f} {s['recall']:>7.4f} {s['f1']:>7.4f} "
      f"{i['tp']:>6} {i['fn']:>6} {i['fp']:>6} {i['precision']:>7.4f} {i['recall']:>7.4f} {i['f1']:>7.4f} {wall:>7} {cpu:>7} {rss:>8}")
PY
  }
  # dataset name, reference, reads, truth, BED, region: the real dev set, then a simulated
  # held-out HiFi sample (25 kb reads, 30x, a region no model trains on)
  simulate r25k 25000 2500 20000 map-hifi
  simulate o25k 25000 5000 15000 map-ont ont
  while read -r name REF READS TRUTH BED REGION MODEL XCONF; do
    d=$OUT/$name; mkdir -p "$d"
    timed "$CALLVAR" call --ref "$REF" --reads "$READS" --regions "$REGION" --threads 2 --quiet \
      --model "$MODEL" -o "$d/callvar_lr.vcf.gz"
    score "$name" "callvar --model $MODEL" "$d/callvar_lr.vcf.gz"
    timed "$CALLVAR" call --ref "$REF" --reads "$READS" --regions "$REGION" --threads 2 --quiet \
      -o "$d/callvar_illumina.vcf.gz"
    score "$name" "callvar (illumina-wgs)" "$d/callvar_illumina.vcf.gz"
    timed bash -c "bcftools mpileup -X $XCONF -f '$REF' -r '$REGION' '$READS' 2>/dev/null | bcftools call -mv -Oz -o '$d/bcftools.vcf.gz' 2>/dev/null"
    score "$name" "bcftools -X $XCONF" "$d/bcftools.vcf.gz"
    if [[ $REF == *.gz ]]; then [ -f "$d/ref.fa" ] || { zcat "$REF" > "$d/ref.fa"; samtools faidx "$d/ref.fa"; }; FREF=$d/ref.fa; else FREF=$REF; fi
    # freebayes slows down enormously on noisy long reads: stopped after FREEBAYES_TIMEOUT s
    rm -f "$d/freebayes.stopped"
    timed bash -c "timeout ${FREEBAYES_TIMEOUT:-600} freebayes -f '$FREF' -r '$REGION' '$READS' > '$d/freebayes.vcf' 2>/dev/null || touch '$d/freebayes.stopped'"
    if [ ! -f "$d/freebayes.stopped" ]; then
      score "$name" "freebayes" "$d/freebayes.vcf"
    else
      printf "%-12s %-26s stopped after %s s (FREEBAYES_TIMEOUT)\n" "$name" freebayes "${FREEBAYES_TIMEOUT:-600}"
    fi
  done <<TSV
hg002_hifi $D/grch38/GRCh38.chr20_1-10M.fa.gz $D/hg002_hifi/HG002.hifi_revio.GRCh38.chr20_9000000-9100000.bam $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.vcf.gz $D/hg002_hifi/HG002_GRCh38_v4.2.1.chr20_9000000-9100000.bed chr20:9000000-9100000 pacbio-hifi pacbio-ccs
sim_hifi_25k $LRSIM/r25k/ref.fa $LRSIM/r25k/reads.bam $LRSIM/r25k/truth.vcf.gz $LRSIM/r25k/confident.bed $SREGION pacbio-hifi pacbio-ccs
sim_ont_25k $LRSIM/o25k/ref.fa $LRSIM/o25k/reads.bam $LRSIM/o25k/truth.vcf.gz $LRSIM/o25k/confident.bed $SREGION ont-r10 ont
TSV
fi

if [ "$want" = all ] || [ "$want" = speed ]; then
  simulate r25k 25000 2500 20000 map-hifi
  simulate r150 150 1 150 sr
  simulate o25k 25000 5000 15000 map-ont ont
  printf "%-14s %8s %10s %12s %10s %14s %10s\n" reads records pileup_s pileup_s/Mb model_s us/candidate wall_s
  for r in r150 r25k o25k; do
    "$CALLVAR" call --ref "$LRSIM/$r/ref.fa" --reads "$LRSIM/$r/reads.bam" --regions "$SREGION" \
      --threads 1 --device cpu --model pacbio-hifi -v -o "$OUT/speed_$r.vcf.gz" 2> "$OUT/speed_$r.log"
    python3 - "$r" "$OUT/speed_$r.log" <<'PY'
import re, sys
name, log = sys.argv[1:]
t = open(log).read()
records = int(re.search(r"callvar: (\d+) records", t).group(1))
wall = float(re.search(r"records .* in ([\d.]+) s", t).group(1))
stage = lambda s: float(re.search(rf"stage {re.escape(s)}: ([\d.]+) s", t).group(1))
p, m = stage("reads+candidates+tensors"), stage("model")
print(f"{name:<14} {records:>8} {p:>10.2f} {p / 1.0:>12.2f} {m:>10.2f} {p / max(records, 1) * 1e6:>14.0f} {wall:>10.1f}")
PY
  done
fi
