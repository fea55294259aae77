"""Two Ray nodes on one machine, one store: which node's actors swept which images.

Starts a Ray head (``ray start --head --num-cpus=1``) and a second node that joins it
(``ray start --address=... --num-cpus=1``), both bound to 127.0.0.1, with token
authentication on; with ``--pin`` (and ``taskset``) each node's processes are also pinned to
their own CPU core (on a busy 2-core machine that can push a node's start-up past Ray's fixed
30 s). Then, with ``RAY_ADDRESS`` pointing at the head, it sweeps a small image set with
``backend="ray"`` and two actors (one per node) into one store, and prints how many images each
node and process swept, the sweep's wall time against the same sweep run locally (the floor,
measured in this run), and the largest difference between the two stores' maps. With
``--kill-one`` one actor kills itself (SIGKILL) in the middle of its first
block: the table then shows the dead process, its restarted successor, and still every image
once. Finally it stops the two nodes: only the processes it started (found by its own temporary
folder), never another Ray on the machine.

Run: ``python -m benchmarks.bench_ray_cluster [--images 40] [--size 32] [--port 6391]
[--kill-one] [--pin]``
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RAY = Path(sys.executable).with_name("ray")
HOST = "127.0.0.1"


def ray_start(args, env, core):
    """``ray start ...``, pinned to one core when taskset exists; raises with Ray's output."""
    command = [str(RAY), "start", *args]
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.monotonic() - started


def our_processes(temp_dir):
    """This script's Ray processes: those whose command line names its temp folder, and their
    children (Ray's workers rename themselves, so they are found as children)."""
    import psutil

    mine = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(temp_dir in part for part in proc.info["cmdline"] or []):
                mine[proc.pid] = proc
                mine.update((c.pid, c) for c in proc.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    mine.pop(os.getpid(), None)
    return list(mine.values())


def listening(temp_dir):
    """``address:port (process)`` for every TCP socket that this script's Ray processes and
    this process (its Ray driver) listen on."""
    import psutil

    found = set()
    for proc in [*our_processes(temp_dir), psutil.Process()]:
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add(f"{conn.laddr.ip}:{conn.laddr.port} ({_name(proc)})")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sorted(found)


def _name(proc):
    """A process's name; a Python process by its script or module."""
    name = proc.name()
    if name.startswith("python"):
        args = [a for a in proc.cmdline()[1:] if not a.startswith("-") or a == "-m"]
        script = args[1] if args[:1] == ["-m"] and len(args) > 1 else (args or [name])[0]
        return f"python {Path(script).name}"
    return name


def stop_cluster(temp_dir):
    """Stop only this script's Ray (never another Ray on the machine): SIGTERM, then SIGKILL."""
    import psutil

    mine = our_processes(temp_dir)
    for proc in mine:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(mine, timeout=10)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return len(mine)


class Tally(logging.Handler):
    """Catches the per-worker tally that the Ray backend logs at the end of a sweep."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.workers = {}

    def emit(self, record):
        self.workers = getattr(record, "ray_workers", None) or self.workers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40, help="images to sweep")
    parser.add_argument("--size", type=int, default=32, help="image height and width")
    parser.add_argument("--port", type=int, default=6391, help="the head's GCS port")
    parser.add_argument("--kill-one", action="store_true", help="one actor dies mid-block")
    parser.add_argument("--pin", action="store_true", help="pin each node to its own core")
    args = parser.parse_args()

    import numpy as np

    import occlusion_widget as ow
    from tests.helpers.models_dataset import BandModel, DiesOnce, images

    work = Path(tempfile.mkdtemp(prefix="owraycluster-"))
    temp_dir = str(work / "ray")
    env = dict(os.environ)
    # The nodes' workers unpickle the test model (tests.helpers): give them the checkout.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Token authentication for the nodes and this driver alike (~/.ray/auth_token, made by the
    # head when missing): said explicitly, since a joining node does not assume it.
    env["RAY_AUTH_MODE"] = os.environ["RAY_AUTH_MODE"] = "token"
    common = ["--num-cpus=1", f"--node-ip-address={HOST}", "--disable-usage-stats"]
    head_only = ["--include-dashboard=false"]
    data = images(args.images, size=args.size, seed=1)
    labels = [i % 3 for i in range(args.images)]
    # Stride 1 (625 positions an image at 32x32): enough work that the later of the two actors
    # to start still finds blocks to sweep.
    params = {"patch_size": 8, "stride": 1, "batch_size": 64, "progress": False}
    cores = os.cpu_count() or 1
    tally = Tally()
    logger = logging.getLogger("occlusion_widget.ray")
    try:
        head = ["--head", f"--port={args.port}", *head_only, *common, f"--temp-dir={temp_dir}"]
        try:
            head_s = ray_start(head, env, 0 if args.pin else None)
        except RuntimeError as error:  # on a loaded machine Ray's fixed 30 s can run out
            print(f"the head did not start ({str(error).splitlines()[-1]}); once more")
            stop_cluster(temp_dir)
            head_s = ray_start(head, env, 0 if args.pin else None)
        address = f"{HOST}:{args.port}"
        node_s = ray_start([f"--address={address}", *common], env, 1 % cores if args.pin else None)
        print(f"head started in {head_s:.1f} s, second node joined in {node_s:.1f} s")
        print(f"listening after start: {', '.join(listening(temp_dir))}")

        started = time.monotonic()
        local = ow.sweep_dataset(BandModel(), data, labels=labels, store=work / "local", **params)
        local_s = time.monotonic() - started

        os.environ["RAY_ADDRESS"] = address
        logger.addHandler(tally)
        logger.setLevel(logging.INFO)
        model = DiesOnce(work / "killed", at_call=3) if args.kill_one else BandModel()
        started = time.monotonic()
        swept = ow.sweep_dataset(
            model,
            data,
            labels=labels,
            store=work / "cluster",
            backend="ray",
            # This driver binds to 127.0.0.1 too (by default Ray picks the machine's address).
            ray_options={
                "num_actors": 2,
                "images_per_block": 2,
                "init": {"_node_ip_address": HOST},
            },
            **params,
        )
        cluster_s = time.monotonic() - started
        print(f"listening after the sweep: {', '.join(listening(temp_dir))}")

        import pandas as pd
        import ray

        nodes = {
            n["NodeID"][:8]: ("head" if "node:__internal_head__" in n["Resources"] else "worker")
            for n in ray.nodes()
            if n["Alive"]
        }
        ray.shutdown()
        print(f"\nnodes: {', '.join(f'{k} ({v})' for k, v in sorted(nodes.items()))}")
        print("\n| node | role | process | images |\n|---|---|---|---|")
        per_node = collections.Counter()
        for worker, count in sorted(tally.workers.items()):
            node, pid = worker.split(":")
            per_node[node] += count
            print(f"| {node} | {nodes.get(node, '?')} | {pid} | {count} |")
        killed = work / "killed"
        if killed.exists():
            print(f"\nkilled (SIGKILL, mid-block): process {killed.read_text()}")
        raw = pd.read_parquet(work / "cluster" / "table")
        ids = sorted(raw["id"], key=int)
        gap = max(
            float(np.abs(swept.result(i).probabilities - local.result(i).probabilities).max())
            for i in local.table["id"]
        )
        print(
            f"\nimages: {len(data)}; rows in the store's Parquet: {len(raw)}, distinct ids: "
            f"{len(set(ids))}, all done: {bool((raw['status'] == 'done').all())}"
        )
        print(f"nodes that swept images: {len(per_node)} of {len(nodes)}")
        print(f"max |cluster - local| over every map: {gap:.1e}")
        print(
            f"local sweep (the floor) {local_s:.1f} s; two-node Ray sweep {cluster_s:.1f} s "
            f"(x{cluster_s / local_s:.1f}; actor start-up included)"
        )
    finally:
        logger.removeHandler(tally)
        stopped = stop_cluster(temp_dir)
        print(f"stopped {stopped} Ray processes of this run")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
