#!/usr/bin/env python3
"""Long-read simulation helpers for benches/simulate_longread.sh (standard library only).

  longread_sim.py truth IN.vcf OUT.vcf SAMPLE
      keeps diploid records carrying an alt allele, drops records overlapping an earlier one
      (so both haplotypes can be built exactly), writes GT-only PASS records
  longread_sim.py haplotypes TRUTH.vcf REGION.fa START OUTDIR
      writes OUTDIR/hap1.fa and hap2.fa (an unphased het: first allele on hap1)
  longread_sim.py reads HAP1.fa HAP2.fa OUT.fq --platform hifi|ont --depth D --seed S
      [--length-mean N] [--length-sd N] [--length-min N] [--length-max N] [--noise X]
      [--prefix NAME]
      simulates reads (half the depth from each haplotype) with the platform's error model

Error model (all draws from one random.Random(seed), so a seed gives the same reads):
  * read lengths: log-normal with the given mean and sd, clipped to [min, max];
    start uniform on the haplotype; strand 50/50; errors applied in read orientation
  * homopolymer length errors: a run of k >= 3 identical bases is read one base shorter or
    longer (sometimes two) with probability min(cap, noise * site * a * k^2); `site` is a
    per-run factor (log-normal, fixed per haplotype position) so some runs stutter more
    than others in every read, as in real data
  * random substitutions, insertions and deletions at per-base rates scaled by a per-read
    log-normal factor (read-to-read accuracy spread)
  * qualities: hifi uses PacBio Revio's binned values (3,10,17,22,27,35,40): Q40 for most
    bases, low at errors, and, as Revio does, a lowered QV on the first base (in read
    orientation) of most homopolymers, whether or not the read has their length right;
    ont uses continuous Phred values around Q22, lower at errors and in homopolymers
"""
import math
import random
import re
import sys

PLATFORMS = {
    # per-base random error rates, homopolymer coefficient a, cap, share of hp errors that
    # shorten the run, share of hp errors of two bases
    "hifi": dict(sub=3e-4, ins=1.5e-4, dele=1.5e-4, hp_a=0.0012, hp_cap=0.35,
                 hp_del=0.55, hp_two=0.05, read_sigma=0.6),
    "ont": dict(sub=8e-3, ins=3e-3, dele=6e-3, hp_a=0.004, hp_cap=0.6,
                hp_del=0.7, hp_two=0.15, read_sigma=0.5),
}
COMP = bytes.maketrans(b"ACGTN", b"TGCAN")
RUN = re.compile(rb"A{3,}|C{3,}|G{3,}|T{3,}")
REVIO_BINS = [3, 10, 17, 22, 27, 35, 40]


def read_fasta(path):
    with open(path, "rb") as f:
        return b"".join(l.strip() for l in f if not l.startswith(b">")).upper()


def write_fasta(path, name, seq):
    with open(path, "wb") as o:
        o.write(b">" + name.encode() + b"\n")
        for i in range(0, len(seq), 60):
            o.write(seq[i:i + 60] + b"\n")


def cmd_truth(src, dst, sample):
    last_chrom, last_end, kept, dropped = None, 0, 0, 0
    with open(src) as f, open(dst, "w") as o:
        for line in f:
            if line.startswith("##"):
                o.write(line)
                continue
            if line.startswith("#"):
                o.write("\t".join(line.rstrip("\n").split("\t")[:9] + [sample]) + "\n")
                continue
            t = line.rstrip("\n").split("\t")
            gt = t[9].split(":")[0]
            alleles = re.split(r"[/|]", gt)
            if len(alleles) != 2 or "." in alleles or alleles == ["0", "0"]:
                dropped += 1
                continue
            pos, end = int(t[1]), int(t[1]) + len(t[3]) - 1
            if t[0] == last_chrom and pos <= last_end:
                dropped += 1
                continue
            last_chrom, last_end = t[0], end
            sep = "|" if "|" in gt else "/"
            t[6], t[7], t[8], t[9] = "PASS", ".", "GT", sep.join(alleles)
            o.write("\t".join(t[:10]) + "\n")
            kept += 1
    print(f"truth records kept {kept}, dropped {dropped}", file=sys.stderr)


def cmd_haplotypes(vcf, fa, start, outdir):
    seq = read_fasta(fa)
    haps, cur = [[], []], [0, 0]
    for line in open(vcf):
        if line.startswith("#"):
            continue
        t = line.rstrip("\n").split("\t")
        pos, ref = int(t[1]) - start, t[3].encode().upper()
        alts = [ref] + [a.encode().upper() for a in t[4].split(",")]
        assert seq[pos:pos + len(ref)] == ref, (t[0], t[1], t[3])
        for h, a in enumerate(re.split(r"[/|]", t[9])):
            haps[h].append(seq[cur[h]:pos])
            haps[h].append(alts[int(a)])
            cur[h] = pos + len(ref)
    for h in (0, 1):
        haps[h].append(seq[cur[h]:])
        write_fasta(f"{outdir}/hap{h + 1}.fa", f"hap{h + 1}", b"".join(haps[h]))


def site_factors(hap, rng):
    """A stutter factor per homopolymer run start on the haplotype (forward coordinates)."""
    return {m.start(): math.exp(rng.gauss(0.0, 0.7)) for m in RUN.finditer(hap)}


def geometric_positions(rng, rate, n):
    """Positions in [0, n) hit by independent events of probability `rate` per base."""
    out, p = [], -1
    if rate <= 0:
        return out
    while True:
        p += 1 + int(rng.expovariate(rate))
        if p >= n:
            return out
        out.append(p)


def hifi_qual(rng, low):
    if low:
        return rng.choice((3, 3, 10, 10, 17, 17, 22, 27, 35, 40))
    return 40


# Revio puts a homopolymer's length uncertainty on the run's first base (in read
# orientation), in reads with and without a length error alike: QVs drawn from these.
HP_QV_ERROR = (3, 3, 10, 10, 17, 22, 27, 35)
HP_QV_OK = (3, 10, 17, 22, 27, 35, 35, 40)


def simulate_read(seg, sites, hap_start, reverse, cfg, noise, platform, rng):
    """Applies the error model to `seg` (haplotype bases, forward); returns (seq, qual)."""
    n = len(seg)
    read = seg.translate(COMP)[::-1] if reverse else seg
    # homopolymer edits: read-coordinate run start -> (run length, new length); and the
    # QV of the first base of runs without an edit (hifi)
    hp = {}
    run_qv = {}
    for m in RUN.finditer(read):
        k = m.end() - m.start()
        fwd = hap_start + (n - m.end() if reverse else m.start())
        p = min(cfg["hp_cap"], noise * sites.get(fwd, 1.0) * cfg["hp_a"] * k * k)
        if rng.random() < p:
            d = 2 if rng.random() < cfg["hp_two"] else 1
            hp[m.start()] = (k, max(1, k - d) if rng.random() < cfg["hp_del"] else k + d)
        elif platform == "hifi" and rng.random() < min(0.95, 0.12 * (k - 2)):
            run_qv[m.start()] = rng.choice(HP_QV_OK)
    f = math.exp(rng.gauss(0.0, cfg["read_sigma"])) * noise
    rate = (cfg["sub"] + cfg["ins"] + cfg["dele"]) * f
    events = {p: rng.random() * (cfg["sub"] + cfg["ins"] + cfg["dele"])
              for p in geometric_positions(rng, rate, n)}
    out, q = bytearray(), []
    ont = platform == "ont"

    def qual(low):
        if ont:
            return max(2, min(50, int(rng.gauss(8 if low else 22, 3 if low else 6))))
        return hifi_qual(rng, low)

    i = 0
    while i < n:
        if i in hp:
            k, new = hp[i]
            out += read[i:i + 1] * new
            if ont:
                q.extend(qual(True) for _ in range(new))
            else:
                run = [40] * new
                run[0] = rng.choice(HP_QV_ERROR)
                if new > k:
                    run[-1] = rng.choice(HP_QV_ERROR)
                q.extend(run)
            i += k
            continue
        b = read[i]
        e = events.get(i)
        if e is None:
            out.append(b)
            q.append(qual(False) if ont else run_qv.get(i, 40))
        elif e < cfg["sub"]:
            out.append(rng.choice([c for c in b"ACGT" if c != b]))
            q.append(qual(True))
        elif e < cfg["sub"] + cfg["ins"]:
            # inserted bases often copy their neighbour
            ins = b if rng.random() < 0.5 else rng.choice(b"ACGT")
            out += bytes((ins, b))
            q.extend([qual(True), qual(False) if ont else run_qv.get(i, 40)])
        elif q:
            q[-1] = min(q[-1], qual(True))  # a deletion lowers the base before it
        i += 1
    if not ont:
        # Revio-like background: a few percent of bases in each lower bin
        for p in geometric_positions(rng, 0.1, len(q)):
            q[p] = min(q[p], rng.choice((35, 35, 35, 35, 27, 27, 22, 17, 10)))
    return bytes(out), q


def cmd_reads(args):
    opts = {"--platform": "hifi", "--depth": "30", "--seed": "1", "--length-mean": "15000",
            "--length-sd": "4000", "--length-min": "1000", "--length-max": "30000",
            "--noise": "1.0", "--prefix": "sim"}
    h1, h2, out = args[:3]
    rest = args[3:]
    for k, v in zip(rest[::2], rest[1::2]):
        if k not in opts:
            sys.exit(f"unknown option {k}")
        opts[k] = v
    platform = opts["--platform"]
    if platform not in PLATFORMS:
        sys.exit(f"--platform must be one of {', '.join(PLATFORMS)}")
    cfg = PLATFORMS[platform]
    depth, noise = float(opts["--depth"]), float(opts["--noise"])
    mean, sd = float(opts["--length-mean"]), float(opts["--length-sd"])
    lmin, lmax = int(opts["--length-min"]), int(opts["--length-max"])
    rng = random.Random(int(opts["--seed"]))
    sigma2 = math.log(1 + (sd / mean) ** 2)
    mu = math.log(mean) - sigma2 / 2
    n_reads, n_bases = 0, 0
    with open(out, "wb") as o:
        for h, path in enumerate((h1, h2), start=1):
            hap = read_fasta(path)
            sites = site_factors(hap, rng)
            target = depth / 2 * len(hap)
            made = 0
            while made < target:
                length = int(min(lmax, max(lmin, rng.lognormvariate(mu, math.sqrt(sigma2)))))
                length = min(length, len(hap))
                start = rng.randrange(0, len(hap) - length + 1)
                reverse = rng.random() < 0.5
                seq, qual = simulate_read(hap[start:start + length], sites, start, reverse,
                                          cfg, noise, platform, rng)
                n_reads += 1
                o.write(b"@%s_h%d_%d\n%s\n+\n%s\n" % (
                    opts["--prefix"].encode(), h, n_reads, seq,
                    bytes(min(93, x) + 33 for x in qual)))
                made += length
                n_bases += len(seq)
    print(f"{n_reads} reads, {n_bases} bases", file=sys.stderr)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "truth":
        cmd_truth(*args)
    elif cmd == "haplotypes":
        cmd_haplotypes(args[0], args[1], int(args[2]), args[3])
    elif cmd == "reads":
        cmd_reads(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
