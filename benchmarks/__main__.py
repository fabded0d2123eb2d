"""Run the benchmarks: ``python -m benchmarks [levels] [--quick]``."""

from __future__ import annotations

import argparse
import sys

from benchmarks import levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("which", nargs="*", help="benchmarks to run: levels (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small run (for a smoke test)")
    args = parser.parse_args(argv)
    which = args.which or ["levels"]
    unknown = set(which) - {"levels"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (have: levels)")
    failed = False
    if "levels" in which:
        result = levels.run(chats=2_000, ticks=50, naive_ticks=5) if args.quick else levels.run()
        text = levels.report(result)
        print(text)
        failed |= "FAIL" in text and not args.quick
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
