#!/usr/bin/env bash
# Confidence tiers (INFO/TIER): fits the tier rule on the calibration samples and prints the
# per-tier table on held-out data.
#
# Split (as benches/calibrate.sh): the rule is chosen on the three calibration simulations of
# GRCh38 chr20:4.6-6.6 Mb minus the reserved 5.0-5.1 Mb (cal25x, cal35x, cal20x); it is
# checked on the held-out sample's other part (bench30x, chr20:6.6-9.8 Mb) and on the real
# GIAB windows of benches/datasets.tsv (evaluation data: never fitted on).
#   1. calls the calibration samples and labels every PASS call TP/FP with `callvar eval`;
#   2. fits the rule by coordinate descent over a fixed grid of thresholds: Tier 1 = PASS, GQ >=
#      g1 and no context flag; for lambda in 15..100 it maximises (Tier 1 TP - lambda * Tier 1
#      FP) and keeps the most precise rule whose Tier 1 holds >= 95% of the true calls; then
#      Tier 3 = GQ < g3 or >= k flags: the smallest Tier 3 (fewest TP) holding >= 80% of the
#      FP; prints the rule callvar's header carries (src/tiers.rs RULE) next to it;
#   3. calls the held-out data and prints `callvar eval`'s per-tier rows (TP, FP, precision,
#      share of the true calls in Tier 1).
#   usage: benches/tiers.sh
source "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/callvar-bench/tiers}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/callvar
RESERVED=../shared/data/reserved.GRCh38.bed
mkdir -p "$OUT"
CAL=(cal25x cal35x cal20x)
for name in "${CAL[@]}"; do
  [ -f "$CACHE/$name/reads.bam" ] || { echo "missing $CACHE/$name: run benches/calibrate.sh first" >&2; exit 1; }
done
ensure_sim
C=$CACHE/cal25x
bedtools subtract -a "$C/confident.bed" -b "$RESERVED" > "$OUT/calibration.bed"

echo "== 1. calibration calls (GRCh38 chr20:4.6-6.6 Mb minus 5.0-5.1 Mb, 3 samples), labelled"
for name in "${CAL[@]}"; do
  d=$CACHE/$name
  cmd=($CALLVAR call --ref "$d/ref.fa" --reads "$d/reads.bam" --regions-file "$OUT/calibration.bed"
       --threads 2 --quiet -o "$OUT/$name.vcf.gz")
  echo "${cmd[*]}"; "${cmd[@]}"
  $CALLVAR eval --ref "$d/ref.fa" --truth "$d/truth.vcf.gz" --confident "$OUT/calibration.bed" \
    --calls "$OUT/$name.vcf.gz" --output-dir "$OUT/eval_$name" > "$OUT/eval_$name.txt"
done

echo
echo "== 2. the rule, fitted on the calibration calls"
python3 - "$OUT" "${CAL[@]}" <<'PY'
import sys
out, names = sys.argv[1], sys.argv[2:]
def load(path, label):
    rows = []
    for l in open(path):
        if l.startswith('#'):
            continue
        f = l.rstrip('\n').split('\t')
        info = dict(kv.split('=', 1) for kv in f[7].split(';') if '=' in kv)
        fmt = dict(zip(f[8].split(':'), f[9].split(':')))
        ab = float(info['AB']) if 'AB' in info else None
        rows.append((label, f[6] == 'PASS', int(fmt['GQ']), int(info['RPT']), float(info['MQ']),
                     float(info['MQ20']), float(info['AMM']), float(info['DPR']), ab, float(info['FS'])))
    return rows
R = []
for n in names:
    R += load(f"{out}/eval_{n}/tp.vcf", 1) + load(f"{out}/eval_{n}/fp.vcf", 0)
NTP = sum(r[0] for r in R); NFP = len(R) - NTP
GRID = {
    'repeat': [8, 10, 12, 15, 20, 25, 30, 40, 1000],
    'min_mq': [0, 30, 35, 40, 45, 50, 55],
    'max_mq20': [0.05, 0.1, 0.15, 0.2, 0.3, 1.01],
    'amm': [1.5, 2.0, 2.5, 3.0, 4.0, 1000],
    'dpr_lo': [0, 0.3, 0.4, 0.5],
    'dpr_hi': [1.5, 1.6, 1.8, 2.0, 1000],
    'ab_lo': [0, 0.15, 0.2, 0.25, 0.3],
    'ab_hi': [0.75, 0.8, 0.85, 0.9, 1.01],
    'fs': [20, 30, 40, 60, 1000],
    'gq1': list(range(0, 27)),
}
def nflags(r, p):
    _, _, gq, rpt, mq, mq20, amm, dpr, ab, fs = r
    return ((rpt > p['repeat']) + (mq < p['min_mq'] or mq20 > p['max_mq20']) + (amm > p['amm'])
            + (dpr < p['dpr_lo'] or dpr > p['dpr_hi'])
            + (ab is not None and (ab < p['ab_lo'] or ab > p['ab_hi'])) + (fs > p['fs']))
def tier1(p):
    tp = fp = 0
    for r in R:
        if r[1] and r[2] >= p['gq1'] and nflags(r, p) == 0:
            tp += r[0]; fp += 1 - r[0]
    return tp, fp
def fit(lam):
    p = {'repeat': 1000, 'min_mq': 0, 'max_mq20': 1.01, 'amm': 1000, 'dpr_lo': 0, 'dpr_hi': 1000,
         'ab_lo': 0, 'ab_hi': 1.01, 'fs': 1000, 'gq1': 0}
    for _ in range(4):
        changed = False
        for k, vals in GRID.items():
            best = None
            for v in vals:
                q = dict(p); q[k] = v
                tp, fp = tier1(q)
                if best is None or tp - lam * fp > best[0]:
                    best = (tp - lam * fp, v)
            if best[1] != p[k]:
                p[k] = best[1]; changed = True
        if not changed:
            break
    return p
print(f"training: {NTP} true and {NFP} false PASS calls inside the calibration BED")
print(f"{'lambda':>7} {'T1 TP':>6} {'T1 FP':>5} {'T1 prec':>8} {'T1 share':>8}  thresholds")
chosen = None
for lam in (15, 25, 35, 50, 100):
    p = fit(lam)
    tp, fp = tier1(p)
    prec, share = tp / max(tp + fp, 1), tp / NTP
    print(f"{lam:>7} {tp:>6} {fp:>5} {prec:>8.4f} {share:>8.4f}  {p}")
    if share >= 0.95 and (chosen is None or prec > chosen[1]):
        chosen = (p, prec, lam)
p = chosen[0]
print(f"chosen Tier 1 rule (lambda {chosen[2]}): {p}")
print(f"{'g3':>3} {'k':>2} {'T3 TP':>6} {'T3 FP':>6} {'FP share':>8}")
best = None
for k in (1, 2, 3):
    for g3 in (3, 5, 8, 10, 12):
        t3 = [r for r in R if not r[1] or r[2] < g3 or nflags(r, p) >= k]
        tp = sum(r[0] for r in t3); fp = len(t3) - tp
        print(f"{g3:>3} {k:>2} {tp:>6} {fp:>6} {fp / NFP:>8.3f}")
        if fp / NFP >= 0.8 and (best is None or tp < best[0]):
            best = (tp, g3, k)
print(f"chosen Tier 3: GQ < {best[1]} or >= {best[2]} flags")
PY
echo "in use (VCF header, src/tiers.rs RULE):"
zcat "$OUT/${CAL[0]}.vcf.gz" | awk '/^##INFO=<ID=TIER,/ { sub(/.*Description="/, ""); sub(/">$/, ""); print }'

echo
echo "== 3. held-out: per-tier rows of callvar eval (TP/FP of each tier's PASS calls)"
heldout() { # name ref reads truth bed region [call flags...]
  local name=$1 ref=$2 reads=$3 truth=$4 bed=$5 region=$6; shift 6
  local cmd=($CALLVAR call --ref "$ref" --reads "$reads" --regions "$region" --threads 2 --quiet
             -o "$OUT/$name.vcf.gz" "$@")
  echo "-- $name: ${cmd[*]}"
  "${cmd[@]}"
  echo "   $CALLVAR eval --ref $ref --truth $truth --confident $bed --regions $region --calls $OUT/$name.vcf.gz"
  $CALLVAR eval --ref "$ref" --truth "$truth" --confident "$bed" --regions "$region" \
    --calls "$OUT/$name.vcf.gz" --json > "$OUT/$name.json"
  $CALLVAR eval --ref "$ref" --truth "$truth" --confident "$bed" --regions "$region" \
    --calls "$OUT/$name.vcf.gz" | sed -n '/^type/,$p'
}
heldout sim30x_6.6-9.8Mb "$SIM/ref.fa" "$SIM/reads.bam" "$SIM/truth.vcf.gz" "$SIM/confident.bed" \
  chr20:6600001-9800000
while IFS=$'\t' read -r name ref reads truth bed region _; do
  case $name in \#*|sim30x_heldout) continue ;; esac
  extra=(); [[ $name == *hifi* ]] && extra=(--model pacbio-hifi)
  heldout "$name" "$ref" "$reads" "$truth" "$bed" "$region" "${extra[@]}"
done < benches/datasets.tsv

echo
echo "== summary (ALL types; Tier 1 share = Tier 1 true calls / all true calls)"
python3 - "$OUT" sim30x_6.6-9.8Mb $(grep -v '^#' benches/datasets.tsv | cut -f1 | grep -v sim30x) <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
print(f"| sample | T1 TP | T1 FP | T1 prec | T2 TP | T2 FP | T2 prec | T3 TP | T3 FP | T3 prec | T1 share of TP | FP in T3 |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for n in names:
    rows = {r['tier']: r for r in json.load(open(f"{out}/{n}.json"))['tiers'] if r['type'] == 'ALL'}
    cells = []
    for t in (1, 2, 3):
        r = rows.get(t, {'tp_call': 0, 'fp': 0, 'precision': 0})
        prec = f"{r['precision']:.4f}" if r['tp_call'] + r['fp'] else "-"
        cells += [str(r['tp_call']), str(r['fp']), prec]
    fp = sum(r['fp'] for r in rows.values())
    share = rows[1]['tp_share_up_to'] if 1 in rows else 0
    t3 = f"{rows[3]['fp']}/{fp}" if 3 in rows else f"0/{fp}"
    print(f"| {n} | " + " | ".join(cells) + f" | {share:.4f} | {t3} |")
PY
