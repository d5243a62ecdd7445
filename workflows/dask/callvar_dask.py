#!/usr/bin/env python3
"""Run `callvar call` for one sample on a Dask cluster, shard by shard.

1. `callvar shards` plans N shards of about equal work (BEDs + plan.tsv) in WORKDIR/plan.
2. Each shard is one Dask task: `callvar call --regions-file shard-NNNN.bed` on a worker,
   written into a private attempt folder and moved into WORKDIR/shards/ only when callvar
   succeeded. A task that fails is retried (--retries); a task whose worker dies is
   rescheduled on another worker by the scheduler; the callvar process of a dead worker is
   stopped with it (parent-death signal), so it never finishes into the shared folder.
3. `callvar merge` joins the shard outputs (VCF, and gVCF with --gvcf) into the output,
   identical to one `callvar call` over the same regions but for `##callvarCommand`.

Every path is made absolute: WORKDIR and the inputs must be on a filesystem every worker
sees at the same path. Shard outputs already in WORKDIR/shards/ are reused (a rerun after
a failure only calls what is missing). Progress goes to stderr, one line per shard.
Exit status: 0 success, 1 a shard failed after its retries (or planning/merging failed).

    callvar_dask.py --ref REF.fa.gz --reads S.bam --output S.vcf.gz [--gvcf S.g.vcf.gz] \\
        --workdir /shared/S.work [--shards 64] [--chunk-size 100000] [--regions ...] \\
        [--scheduler tcp://HOST:8786 | --local-workers 2] [--threads-per-task 1] \\
        [--retries 2] [--callvar PATH] [-- EXTRA callvar call FLAGS, e.g. --device cuda]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

PR_SET_PDEATHSIG = 1


def log(msg):
    print(f"callvar-dask: {msg}", file=sys.stderr, flush=True)


def read_plan(path):
    """(chunk_size, [(shard_number, bed_path)]) from a plan.tsv written by `callvar shards`."""
    chunk_size, shards = None, []
    base = os.path.dirname(path)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#chunk_size="):
                chunk_size = int(line.split("=", 1)[1])
            elif line and not line.startswith("#"):
                fields = line.split("\t")
                shards.append((int(fields[0]), os.path.join(base, fields[1])))
    if chunk_size is None or not shards:
        raise SystemExit(f"callvar-dask: error: {path}: not a complete shard plan")
    return chunk_size, shards


def _stop_with_parent():
    """In the child, before exec: SIGTERM when the worker process dies."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def callvar_env():
    """The environment for callvar: without the MALLOC_TRIM_THRESHOLD_=65536 that Dask's
    nanny puts in its own and its workers' environment (distributed.nanny.pre-spawn-environ).
    Inherited, it makes glibc hand memory back to the kernel after nearly every free: a
    1.3 Mb shard of 30x reads took 2.4 instead of 1.6 CPU seconds (sys time 1.1 s, not 0.3)."""
    return {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}


def outputs(shards_dir, bed, gvcf):
    """Where a shard's VCF (and gVCF) go, with their indexes."""
    stem = os.path.basename(bed)[: -len(".bed")]
    files = [f"{stem}.vcf.gz", f"{stem}.vcf.gz.tbi"]
    if gvcf:
        files += [f"{stem}.g.vcf.gz", f"{stem}.g.vcf.gz.tbi"]
    return stem, [os.path.join(shards_dir, f) for f in files]


def call_shard(callvar, common, bed, chunk_size, threads, shards_dir, attempts_dir, gvcf):
    """Runs on a worker: calls one shard into an attempt folder, then moves it into place.

    The attempt folder is named SHARD.HOST.PID.RANDOM; it is removed on success, and left
    with a FAILED file (callvar's stderr) when callvar fails, or as it is when the worker
    dies, so the runner can count retried attempts."""
    started = time.time()
    stem, finals = outputs(shards_dir, bed, gvcf)
    attempt = os.path.join(
        attempts_dir, f"{stem}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    )
    os.makedirs(attempt)
    vcf = os.path.join(attempt, f"{stem}.vcf.gz")
    cmd = [callvar, "call", *common, "--regions-file", bed, "--chunk-size", str(chunk_size),
           "--threads", str(threads), "--output", vcf, "--quiet"]
    if gvcf:
        cmd += ["--gvcf", os.path.join(attempt, f"{stem}.g.vcf.gz")]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=callvar_env(), preexec_fn=_stop_with_parent)
    if p.returncode != 0:
        with open(os.path.join(attempt, "FAILED"), "w") as f:
            f.write(p.stderr)
        last = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"{stem}: callvar call exited {p.returncode}: {last}")
    # the VCF last: a shard whose outputs are all in place is complete
    for final in reversed(finals):
        os.replace(os.path.join(attempt, os.path.basename(final)), final)
    shutil.rmtree(attempt)
    try:
        from distributed import get_worker

        where = get_worker().address
    except ValueError:
        where = socket.gethostname()
    return stem, where, time.time() - started


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="callvar on Dask: shards -> call per shard on workers -> merge",
        epilog="Arguments after `--` go to every `callvar call` (e.g. -- --device cuda --min-qual 5).",
    )
    ap.add_argument("--ref", required=True, help="reference FASTA (with .fai, .gzi)")
    ap.add_argument("--reads", required=True, help="indexed BAM or CRAM")
    ap.add_argument("--output", required=True, help="merged VCF (.vcf.gz)")
    ap.add_argument("--gvcf", help="also write a merged gVCF (.g.vcf.gz)")
    ap.add_argument("--workdir", required=True,
                    help="shared folder for the plan, shard outputs and attempts")
    ap.add_argument("--shards", type=int, default=16, help="number of shards (default 16)")
    ap.add_argument("--chunk-size", type=int, default=100000,
                    help="chunk grid, as callvar's --chunk-size (default 100000)")
    ap.add_argument("--regions", help="regions to call, as `callvar call --regions`")
    ap.add_argument("--regions-file", help="BED of regions, as `callvar call --regions-file`")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    ap.add_argument("--local-workers", type=int, default=2,
                    help="workers of the local cluster when no --scheduler (default 2)")
    ap.add_argument("--threads-per-task", type=int, default=1, help="callvar call --threads per shard")
    ap.add_argument("--retries", type=int, default=2, help="retries of a failed shard (default 2)")
    ap.add_argument("--callvar", default=shutil.which("callvar") or "callvar",
                    help="callvar binary, the same path on every worker")
    ap.add_argument("--keep-attempts", action="store_true",
                    help="keep WORKDIR/attempts (failed and lost attempts) after success")
    if "--" in argv:
        k = argv.index("--")
        args, extra = ap.parse_args(argv[:k]), argv[k + 1:]
    else:
        args, extra = ap.parse_args(argv), []
    return args, extra


def run(args, extra, cluster):
    t0 = time.time()
    absp = os.path.abspath
    workdir = absp(args.workdir)
    plan_dir = os.path.join(workdir, "plan")
    shards_dir = os.path.join(workdir, "shards")
    attempts_dir = os.path.join(workdir, "attempts")
    shutil.rmtree(attempts_dir, ignore_errors=True)  # a previous run's, counted there
    for d in (shards_dir, attempts_dir):
        os.makedirs(d, exist_ok=True)
    plan = os.path.join(plan_dir, "plan.tsv")
    if os.path.exists(plan):
        log(f"reusing the plan in {plan_dir}")
    else:
        cmd = [args.callvar, "shards", "--ref", absp(args.ref), "--reads", absp(args.reads),
               "-n", str(args.shards), "--output-dir", plan_dir,
               "--chunk-size", str(args.chunk_size)]
        if args.regions:
            cmd += ["--regions", args.regions]
        if args.regions_file:
            cmd += ["--regions-file", absp(args.regions_file)]
        if subprocess.run(cmd, env=callvar_env()).returncode != 0:
            log("error: callvar shards failed")
            return 1
    chunk_size, shards = read_plan(plan)
    client = cluster.client()
    common = ["--ref", absp(args.ref), "--reads", absp(args.reads), *extra]
    gvcf = bool(args.gvcf)
    todo, done = [], 0
    for _, bed in shards:
        _, finals = outputs(shards_dir, bed, gvcf)
        if all(os.path.exists(f) for f in finals):
            done += 1
        else:
            todo.append(bed)
    workers = len(client.scheduler_info().get("workers", {}))
    log(f"{len(shards)} shards ({done} already done) on {workers} workers; chunk size {chunk_size}")
    from distributed import as_completed

    futures = [
        client.submit(call_shard, args.callvar, common, bed, chunk_size, args.threads_per_task,
                      shards_dir, attempts_dir, gvcf, key=f"callvar-{os.path.basename(bed)}-{uuid.uuid4().hex[:6]}",
                      retries=args.retries, pure=False)
        for bed in todo
    ]
    failed, busy = [], 0.0
    for fut in as_completed(futures):
        try:
            stem, where, secs = fut.result()
        except Exception as e:  # a shard that failed after its retries, or KilledWorker
            failed.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
            log(f"error: {failed[-1]}")
            continue
        done += 1
        busy += secs
        log(f"[{done}/{len(shards)}] {stem} done on {where} in {secs:.1f} s")
    # the workers are not needed any more: a local cluster shuts down while the merge runs
    cluster.release()
    attempts = sorted(os.listdir(attempts_dir))
    n_failed = sum(os.path.exists(os.path.join(attempts_dir, a, "FAILED")) for a in attempts)
    retried = f"{len(attempts)} attempts retried ({n_failed} failed, {len(attempts) - n_failed} lost with their worker)"
    if failed:
        log(f"error: {len(failed)} shards failed; {retried}; attempts kept in {attempts_dir}")
        return 1
    vcfs = [outputs(shards_dir, bed, gvcf)[1][0] for _, bed in shards]
    merges = [(absp(args.output), [], vcfs)]
    if gvcf:
        merges.append((absp(args.gvcf), ["--gvcf"], [outputs(shards_dir, b, True)[1][2] for _, b in shards]))
    for out, flag, inputs in merges:
        cmd = [args.callvar, "merge", "--ref", absp(args.ref), "--plan", plan, "--output", out,
               "--quiet", *flag, *inputs]
        if subprocess.run(cmd, env=callvar_env()).returncode != 0:
            log(f"error: callvar merge into {out} failed")
            return 1
    if not args.keep_attempts:
        shutil.rmtree(attempts_dir, ignore_errors=True)
    wrote = ", ".join(o for o, _, _ in merges)
    log(f"{len(shards)} shards in {time.time() - t0:.1f} s ({busy:.1f} s of task time); {retried}; wrote {wrote}")
    return 0


class Cluster:
    """The Dask client, ready when `client()` is called. A local cluster starts in a thread
    from the moment this is made, so its start-up (about 1.3 s for 2 worker processes)
    overlaps the shard planning; `release()` begins its shutdown in a thread so that it
    overlaps the merge, and `close()` waits for that shutdown."""

    def __init__(self, args):
        self._client = self._error = self._closer = None
        self._scheduler = args.scheduler
        if self._scheduler:
            self._starter = None
            return

        def start():
            from distributed import Client, LocalCluster

            try:
                self._local = LocalCluster(n_workers=args.local_workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
                self._client = Client(self._local)
            except Exception as e:  # reported to the caller of client()
                self._error = e

        self._local = None
        self._starter = threading.Thread(target=start, daemon=True)
        self._starter.start()

    def client(self):
        if self._starter is None:
            from distributed import Client

            if self._client is None:
                self._client = Client(self._scheduler)
            return self._client
        self._starter.join()
        if self._error is not None:
            raise SystemExit(f"callvar-dask: error: the local Dask cluster did not start: {self._error}")
        return self._client

    def _shutdown(self):
        if self._client is not None:
            self._client.close()
        if self._local is not None:
            self._local.close()

    def release(self):
        """Starts closing the client (and a local cluster) in the background."""
        if self._closer is None:
            if self._starter is not None:
                self._starter.join()
            self._closer = threading.Thread(target=self._shutdown, daemon=True)
            self._closer.start()

    def close(self):
        self.release()
        self._closer.join()


def main(argv=None):
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    cluster = Cluster(args)
    try:
        return run(args, extra, cluster)
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
