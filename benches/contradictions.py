#!/usr/bin/env python3
"""Counts pairs of PASS records whose genotypes contradict each other: records whose alleles
overlap (after trimming the shared padding base, an SNV changes its base, a deletion the
bases it removes, an insertion the point before the next base) and whose genotypes cannot be
placed on two haplotypes (one for a haploid GT) without two overlapping alleles on one.
Example: TA>T 0/1 next to a 1/1 SNV in the deleted base.

usage: benches/contradictions.py CALLS.vcf[.gz]   (prints the count, then each pair)
"""
import gzip
import re
import sys


def span(pos, ref, alt):
    """0-based [start, end) of the reference bases an allele changes; start == end: insertion."""
    p = 0
    while p < min(len(ref), len(alt)) and ref[p] == alt[p]:
        p += 1
    # trailing shared bases as well
    r, a = ref[p:], alt[p:]
    while r and a and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    start = pos - 1 + p
    return (start, start + len(r))


def clash(x, y):
    px, py = x[0] == x[1], y[0] == y[1]
    if px and py:
        return x[0] == y[0]
    if px:
        return y[0] < x[0] < y[1]
    if py:
        return x[0] < y[0] < x[1]
    return x[0] < y[1] and y[0] < x[1]


def compatible(a, b):
    """a, b: (gt list, spans by allele). Can both sit on two haplotypes?"""
    def orders(gt):
        if len(gt) == 1:
            return [[gt[0], None]]
        return [gt, gt[::-1]] if gt[0] != gt[1] else [gt]
    for oa in orders(a[0]):
        for ob in orders(b[0]):
            ok = True
            for h in (0, 1):
                x, y = oa[h], ob[h]
                if x and y and clash(a[1][x], b[1][y]):
                    ok = False
            if ok:
                return True
    return False


def main(path):
    opener = gzip.open if path.endswith(".gz") else open
    recs = []
    with opener(path, "rt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            t = line.rstrip("\n").split("\t")
            if t[6] != "PASS":
                continue
            gt = [int(a) for a in re.split(r"[/|]", t[9].split(":")[0]) if a != "."]
            alts = [a for a in t[4].split(",") if a != "<*>"]
            spans = [None] + [span(int(t[1]), t[3], a) for a in alts]
            recs.append((t[0], int(t[1]), t[3], t[4], t[9].split(":")[0], gt, spans))
    pairs = []
    for i, a in enumerate(recs):
        reach = max((s[1] for s in a[6] if s), default=a[1])
        for b in recs[i + 1:]:
            if b[0] != a[0] or b[1] - 1 > reach:
                break
            if not compatible((a[5], a[6]), (b[5], b[6])):
                pairs.append((a, b))
    print(len(pairs))
    for a, b in pairs:
        print(f"  {a[0]}:{a[1]} {a[2]}>{a[3]} {a[4]}  vs  {b[0]}:{b[1]} {b[2]}>{b[3]} {b[4]}")


if __name__ == "__main__":
    main(sys.argv[1])
