"""Run the benchmarks: ``python -m benchmarks [levels] [delivery] [engine] [bot] [stream] [--quick] [--latency-ms MS]``.

Prints a table per benchmark and writes what was measured to ``benchmarks/results.json`` (keys
of the benchmarks not run this time are kept from the last run).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import levels

BENCHMARKS = ("levels", "delivery", "engine", "bot", "stream")
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("which", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small run (for a smoke test)")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="delivery: fake Bot API time per request (default 50)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON (default %(default)s)")
    args = parser.parse_args(argv)
    which = args.which or list(BENCHMARKS)
    unknown = set(which) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (have: {', '.join(BENCHMARKS)})")
    failed = False
    results: dict[str, Any] = {}
    if "levels" in which:
        result = levels.run(chats=2_000, ticks=50, naive_ticks=5) if args.quick else levels.run()
        text = levels.report(result)
        print(text, flush=True)
        failed |= "FAIL" in text and not args.quick
        results |= {
            "level_index_p99_ms": round(result["indexed_p99_ms"], 3),
            "level_index_speedup_vs_loop": round(result["speedup_median"]),
        }
    if "delivery" in which:
        from benchmarks import delivery  # needs the dev extras (aiohttp) for the fake Bot API

        latency = args.latency_ms / 1000
        if args.quick:
            result = delivery.run(chats=300, baseline_chats=150, sequential_chats=40, latency=latency, chart_chats=150)
        else:
            result = delivery.run(latency=latency)
        text = delivery.report(result)
        print(text, flush=True)
        failed |= "FAIL" in text and not args.quick
        smooth = result["smooth"]
        results |= {
            "fanout_msgs_per_s": round(smooth.rate, 1),
            "fanout_max_in_1s": smooth.max_per_second,
            "fanout_lost": smooth.lost,
            "fanout_duplicates": smooth.duplicated,
            "fanout_chart_msgs_per_s": round(result["chart"].rate, 1),
        }
    if "engine" in which:
        from benchmarks import engine

        result = engine.run(sizes=(500, 2_000), ticks=20) if args.quick else engine.run()
        print(engine.report(result), flush=True)
        results |= result
    if "bot" in which:
        from benchmarks import bot

        result = bot.run(chats=2_000, seconds=2, replay_from="2025-12-15") if args.quick else bot.run()
        print(bot.report(result), flush=True)
        results |= {k: v for k, v in result.items() if not k.startswith("_")}
    if "stream" in which:
        from benchmarks import stream

        result = stream.run(chats=200, crossings=3, polled=1, poll_seconds=5) if args.quick else stream.run()
        print(stream.report(result), flush=True)
        results |= {k: v for k, v in result.items() if not k.startswith("_")}
    write_results(results, quick=args.quick, path=args.results)
    return 1 if failed else 0


def write_results(results: dict[str, Any], *, quick: bool, path: Path = RESULTS) -> None:
    """Merge ``results`` into ``path`` (JSON), with when and where they were measured."""
    try:
        kept = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        kept = {}
    kept |= results
    kept["measured"] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "quick": quick,
    }
    path.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
