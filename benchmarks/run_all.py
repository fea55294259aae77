"""Run every benchmark and print their tables; write them as Markdown to benchmarks/out/.

Usage::

    python -m benchmarks.run_all           # the full run recorded in benchmarks/RESULTS.md
    python -m benchmarks.run_all --quick   # a short run: stride 16 timings, stride-2 memory cut

``make bench`` and ``make bench-quick`` run these. The peers need installing once, apart from
the project's environment: ``python -m benchmarks.bench_peers --install`` (skipped, with the
reason, when they are missing). On a machine with a GPU the same scripts run there (larger
automatic batches, XLA for TensorFlow) and say "GPU" in the note column.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

from benchmarks import bench_engine, bench_memory, bench_peers, bench_widget, common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (>= 3)")
    args = parser.parse_args()
    flags = ["--quick"] if args.quick else []
    flags += ["--repeats", str(max(3, args.repeats))]
    started = time.time()
    info = {"date": datetime.datetime.now().isoformat(timespec="minutes")}
    info.update(common.machine())
    info.update(common.versions())
    print(json.dumps(info))

    engine_rows, engine_notes = bench_engine.main(flags)
    peer_rows, peer_notes = bench_peers.main(flags)
    memory = bench_memory.main(["--quick"] if args.quick else [])
    widget = bench_widget.main(["--quick"] if args.quick else [])

    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    lines = [
        f"# Benchmark run {info['date']} ({'quick' if args.quick else 'full'})",
        "",
        "```",
        json.dumps(info, indent=1),
        "```",
        "",
        "## Engine vs floor",
        "",
        common.markdown_table(engine_rows),
        "",
        *[f"- {n}" for n in engine_notes],
        "",
        "## Peers",
        "",
        common.markdown_table(peer_rows),
        "",
        *[f"- {n}" for n in peer_notes],
        "",
        "## Memory",
        "",
        "```",
        json.dumps(memory, indent=1),
        "```",
        "",
        "## Widget transport",
        "",
        "```",
        json.dumps(widget, indent=1),
        "```",
        "",
        f"Total benchmark time: {time.time() - started:.0f} s",
    ]
    path = out / ("quick.md" if args.quick else "full.md")
    path.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
