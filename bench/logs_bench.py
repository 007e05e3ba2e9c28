"""Bench: the log filter on hostile lines — long 404 paths that made the old patterns quadratic.

Run from the repo root: .venv/bin/python bench/logs_bench.py
Prints the CPU time of one `logs.redact` per shape and size. Linear patterns keep 1 KB → 4 KB at about 4× (the old
e-mail pattern: 28.8 ms at 4 KB, 190 ms at 8 KB); past MAX_REDACTED the input is cut, so 64 KB costs what 4 KB does.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import logs  # noqa: E402

SHAPES = {
    "email-ish run": lambda n: "GET /" + "a." * (n // 2) + " 404",
    "jwt-ish runs": lambda n: "GET /" + "eyJ-" * (n // 4) + " 404",
    "unclosed quotes": lambda n: "GET /" + 'name="' * (n // 6) + " 404",
    "phone-ish": lambda n: "GET /" + "8 " * (n // 2) + " 404",
    "percent-escaped": lambda n: "GET /" + "%5Bcode%5D=" * (n // 11) + " 404",
    "plain path": lambda n: "GET /" + "abcdefgh/" * (n // 9) + " 404",
}


def cpu_ms(text: str, rounds: int = 20, redact=logs.redact) -> float:
    """The CPU time of one redaction (best of `rounds`; the short-line cache is bypassed by the length)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        redact(text)
        best = min(best, time.process_time() - started)
    return best * 1000


def main() -> None:
    sizes = [1024, 4096, 8192, 65536]
    print(f"{'shape':<18}" + "".join(f"{s // 1024:>7} KB" for s in sizes) + "   4KB/1KB")
    for name, make in SHAPES.items():
        times = [cpu_ms(make(size)) for size in sizes]
        print(f"{name:<18}" + "".join(f"{t:>7.2f} ms" for t in times) + f"   {times[1] / max(times[0], 1e-6):6.1f}×")
    print("\nwithout the cap (the patterns alone): linear means 4× per 4× size")
    sizes = [4096, 16384, 65536]
    print(f"{'shape':<18}" + "".join(f"{s // 1024:>7} KB" for s in sizes) + "  64KB/16KB")
    for name, make in SHAPES.items():
        times = [cpu_ms(make(size), 5, logs._redact) for size in sizes]
        print(f"{name:<18}" + "".join(f"{t:>7.2f} ms" for t in times) + f"   {times[2] / max(times[1], 1e-6):6.1f}×")


if __name__ == "__main__":
    main()
