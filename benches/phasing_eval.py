#!/usr/bin/env python3
"""Scores read-backed phasing in a VCF (callvar's, or any with GT `a|b` and FORMAT/PS).

  phasing_eval.py CALLS.vcf[.gz] [--truth T.vcf[.gz] --truth-phase ps|order] [--bed B.bed]
                  [--name NAME]
  phasing_eval.py --header        (the table's header line)

Prints one table row: the filter-passing heterozygous calls (inside --bed when given), how
many are phased and which fraction, the phase sets (blocks), their median span and N50 (bp,
first to last phased variant), and, against a phased truth, the switch errors of the phased
heterozygous SNPs: for consecutive pairs of phased het SNPs of one block that are both
heterozygous with the same alleles in the truth and phased in one truth phase set, a switch is a
pair whose relative orientation differs from the truth's; all_pairs and all_switches count the
same over every phased heterozygous call (indels and multi-allelic sites too).

--truth-phase ps: the truth's `|` genotypes, grouped by its FORMAT/PS (a `|` genotype without
PS is in one set per contig). --truth-phase order: every heterozygous truth genotype's allele
order is its phase, one set per contig (benches/simulate_longread.sh puts a truth GT's first
allele on haplotype 1).
"""
import gzip
import statistics
import sys


def records(path):
    op = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with op(path, "rt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            t = line.rstrip("\n").split("\t")
            keys, vals = t[8].split(":"), t[9].split(":")
            s = dict(zip(keys, vals))
            yield t[0], int(t[1]), t[3], t[4].split(","), t[6], s


def read_bed(path):
    bed = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith(("#", "track", "browser")):
                c, s, e = line.split("\t")[:3]
                bed.setdefault(c, []).append((int(s), int(e)))
    return bed


def in_bed(bed, c, pos1):
    return bed is None or any(s < pos1 <= e for s, e in bed.get(c, []))


def split_gt(gt):
    sep = "|" if "|" in gt else "/"
    return sep, gt.split(sep)


def alleles_of(ref, alts, gt):
    seqs = [ref] + alts
    out = []
    for a in gt:
        if not a.isdigit() or int(a) >= len(seqs):
            return None
        out.append(seqs[int(a)])
    return out


def is_snp(ref, hap):
    return len(ref) == 1 and all(len(a) == 1 for a in hap)


def main(argv):
    args = {"--truth": None, "--truth-phase": "ps", "--bed": None, "--name": None}
    flags, pos = set(), []
    i = 0
    while i < len(argv):
        if argv[i] in args:
            args[argv[i]] = argv[i + 1]
            i += 2
        elif argv[i].startswith("--"):
            flags.add(argv[i])
            i += 1
        else:
            pos.append(argv[i])
            i += 1
    if "--header" in flags:
        print(f"{'dataset/caller':<32} {'het_calls':>9} {'phased':>7} {'frac':>6} {'blocks':>6} "
              f"{'median_bp':>9} {'N50_bp':>8} {'snp_pairs':>9} {'switches':>8} {'switch_err':>10} "
              f"{'all_pairs':>9} {'all_switches':>12}")
    if not pos:
        return
    calls = pos[0]
    bed = read_bed(args["--bed"]) if args["--bed"] else None
    hets, phased, blocks = 0, [], {}
    for c, p, ref, alts, filt, s in records(calls):
        if filt not in ("PASS", ".") or not in_bed(bed, c, p):
            continue
        sep, gt = split_gt(s.get("GT", "."))
        if len(gt) != 2 or gt[0] == gt[1] or "." in gt:
            continue
        hets += 1
        if sep == "|" and s.get("PS", ".") != ".":
            hap = alleles_of(ref, alts, gt)
            ps = (c, int(s["PS"]))
            phased.append((c, p, ref, hap, ps))
            lo, hi = blocks.get(ps, (p, p))
            blocks[ps] = (min(lo, p), max(hi, p))
    spans = sorted((hi - lo + 1 for lo, hi in blocks.values()), reverse=True)
    n50, acc = 0, 0
    for sp in spans:
        acc += sp
        if acc * 2 >= sum(spans):
            n50 = sp
            break
    median = statistics.median(spans) if spans else 0
    pairs = switches = all_pairs = all_switches = "-"
    if args["--truth"]:
        truth = {}
        for c, p, ref, alts, filt, s in records(args["--truth"]):
            sep, gt = split_gt(s.get("GT", "."))
            if len(gt) != 2 or gt[0] == gt[1] or "." in gt:
                continue
            if args["--truth-phase"] == "order":
                tset = c
            elif sep == "|":
                tset = (c, s.get("PS", "."))
            else:
                continue
            hap = alleles_of(ref, alts, gt)
            if hap:
                truth[(c, p, ref)] = (hap, tset)
        def count(snps_only):
            n = sw = 0
            prev = None  # (call block, truth set, orientation)
            for c, p, ref, hap, ps in phased:
                t = truth.get((c, p, ref))
                if (snps_only and not is_snp(ref, hap)) or t is None or sorted(t[0]) != sorted(hap):
                    continue
                cur = (ps, t[1], t[0] == hap)
                if prev is not None and prev[0] == cur[0] and prev[1] == cur[1]:
                    n += 1
                    sw += prev[2] != cur[2]
                prev = cur
            return n, sw
        pairs, switches = count(True)
        all_pairs, all_switches = count(False)
    name = args["--name"] or calls
    rate = f"{switches / pairs:.4f}" if isinstance(pairs, int) and pairs else "-"
    frac = f"{len(phased) / hets:.4f}" if hets else "-"
    print(f"{name:<32} {hets:>9} {len(phased):>7} {frac:>6} {len(spans):>6} {median:>9.0f} "
          f"{n50:>8} {pairs:>9} {switches:>8} {rate:>10} {all_pairs:>9} {all_switches:>12}")


if __name__ == "__main__":
    main(sys.argv[1:])
