"""Run the benchmarks: ``python -m benchmarks [levels] [delivery] [--quick] [--latency-ms MS]``."""

from __future__ import annotations

import argparse
import sys

from benchmarks import levels

BENCHMARKS = ("levels", "delivery")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("which", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small run (for a smoke test)")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="delivery: fake Bot API time per request (default 50)"
    )
    args = parser.parse_args(argv)
    which = args.which or list(BENCHMARKS)
    unknown = set(which) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (have: {', '.join(BENCHMARKS)})")
    failed = False
    if "levels" in which:
        result = levels.run(chats=2_000, ticks=50, naive_ticks=5) if args.quick else levels.run()
        text = levels.report(result)
        print(text, flush=True)
        failed |= "FAIL" in text and not args.quick
    if "delivery" in which:
        from benchmarks import delivery  # needs the dev extras (aiohttp) for the fake Bot API

        latency = args.latency_ms / 1000
        if args.quick:
            result = delivery.run(chats=300, baseline_chats=150, sequential_chats=40, latency=latency)
        else:
            result = delivery.run(latency=latency)
        text = delivery.report(result)
        print(text, flush=True)
        failed |= "FAIL" in text and not args.quick
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
