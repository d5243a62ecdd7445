#!/usr/bin/env python3
"""End-to-end test of callvar_dask.py on real reads (testdata/), run by tests/workflows.rs.

A local Dask cluster of 2 worker processes (LocalCluster(n_workers=2, processes=True));
the runner is pointed at it with --scheduler. callvar is reached through a wrapper that
makes the first attempt of shard 2 fail (callvar's own error path: a missing input) and
holds every `call` for 1 s, and this script kills (SIGKILL) a worker while it runs a shard.
The run must still succeed, report one failed and one lost attempt, and write a VCF and a
gVCF identical to one `callvar call --threads 2` over the same regions, except for the
##callvarCommand line.

    CALLVAR=target/release/callvar python3 test_callvar_dask.py TESTDATA_DIR SCRATCH_DIR
"""
import gzip
import os
import signal
import subprocess
import sys
import time

REGION = "chr20:10000001-10020000"
HERE = os.path.dirname(os.path.abspath(__file__))


def comparable(path):
    with gzip.open(path, "rt") as f:
        return [line for line in f if not line.startswith("##callvarCommand=")]


def main():
    from distributed import Client, LocalCluster

    callvar = os.path.abspath(os.environ["CALLVAR"])
    td, scratch = (os.path.abspath(p) for p in sys.argv[1:3])
    os.makedirs(scratch, exist_ok=True)
    mark = os.path.join(scratch, "failed-once")
    wrapper = os.path.join(scratch, "callvar-wrapper")
    with open(wrapper, "w") as f:
        f.write(f"""#!/bin/sh
if [ "$1" = call ]; then
  case "$*" in *shard-0002.bed*)
    [ -e {mark} ] || {{ touch {mark}; exec {callvar} call --ref /nonexistent.fa --reads x.bam -o x.vcf; }};;
  esac
  sleep 1
fi
exec {callvar} "$@"
""")
    os.chmod(wrapper, 0o755)
    ref, bam = os.path.join(td, "ref.fa.gz"), os.path.join(td, "na12878.bam")
    work = os.path.join(scratch, "work")
    out, gout = os.path.join(scratch, "merged.vcf.gz"), os.path.join(scratch, "merged.g.vcf.gz")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2, pids
        started = time.time()
        runner = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "callvar_dask.py"), "--ref", ref, "--reads", bam,
             "--output", out, "--gvcf", gout, "--workdir", work, "--shards", "6",
             "--chunk-size", "1000", "--regions", REGION, "--scheduler", cluster.scheduler_address,
             "--callvar", wrapper, "--retries", "2"],
            stderr=subprocess.PIPE, text=True)
        # kill the first worker seen running a shard other than 2: its attempt folder
        # (SHARD.HOST.PID.RANDOM) names the worker's pid; the wrapper holds it for 1 s
        attempts, killed = os.path.join(work, "attempts"), None
        while killed is None and runner.poll() is None and time.time() - started < 240:
            for a in sorted(os.listdir(attempts)) if os.path.isdir(attempts) else []:
                pid = int(a.split(".")[-2])
                if pid in pids and not a.startswith("shard-0002."):
                    time.sleep(0.2)
                    os.kill(pid, signal.SIGKILL)
                    killed = a
                    break
            time.sleep(0.02)
        _, err = runner.communicate(timeout=300)
        wall = time.time() - started
    sys.stderr.write(err)
    assert runner.returncode == 0, f"runner exited {runner.returncode}"
    assert killed, "no worker was killed while running a shard"
    assert "2 attempts retried (1 failed, 1 lost with their worker)" in err, err
    assert err.count(" done on ") == 6, err
    single, gsingle = os.path.join(scratch, "single.vcf.gz"), os.path.join(scratch, "single.g.vcf.gz")
    subprocess.run([callvar, "call", "--ref", ref, "--reads", bam, "--regions", REGION,
                    "--chunk-size", "1000", "--threads", "2", "-o", single, "--gvcf", gsingle,
                    "-q"], check=True)
    for merged, one in ((out, single), (gout, gsingle)):
        a, b = comparable(merged), comparable(one)
        assert a == b, f"{merged} differs from {one}"
        assert sum(not line.startswith("#") for line in a) > 100, merged
    print(f"dask: 6 shards on 2 workers, worker running {killed.split('.')[0]} killed, "
          f"one injected failure; {wall:.1f} s; VCF and gVCF identical to one run")


if __name__ == "__main__":
    main()
