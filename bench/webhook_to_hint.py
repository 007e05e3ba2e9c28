"""Webhook received → card hint readable, against a running `make run`. Prints latency percentiles."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from service import bootstrap
from service.services import hook_urls  # noqa: E402
from service.__main__ import _settings  # noqa: E402
from service.model import Account  # noqa: E402
from tests.support.samples import webhook_bodies  # noqa: E402
from tests.support.tokens import mint_token  # noqa: E402

ACCOUNT = Account(int(time.time()) % 1_000_000 + 9_000_000, "bench")  # a fresh account each run
LEAD = 30052055


def one_round(base: str, hook: str, settings, stamp: int) -> float:
    """Post a status change stamped `stamp`; poll the card until it shows it; seconds elapsed."""
    status = str(17944876 + stamp % 2).encode()  # a real move each round
    body = (webhook_bodies("status_lead_modern.txt")[0].replace(b"1744532990", str(stamp).encode())
            .replace(b"%5Bstatus_id%5D=17944876", b"%5Bstatus_id%5D=" + status)
            .replace(b"16700680", str(ACCOUNT.id).encode()).replace(b"unirock", b"bench"))
    started = time.perf_counter()
    answer = requests.post(hook, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer.raise_for_status()
    while time.perf_counter() - started < 10:
        card = requests.get(f"{base}/api/v1/leads/{LEAD}/hints",
                            headers={"X-Auth-Token": mint_token(settings, ACCOUNT)}).json()
        if card["hints"] and card["hints"][0]["evidence"]["days_in_stage"] == round((time.time() - stamp) / 86400, 1):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError("hint did not update within 10 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    settings = _settings()
    deps = bootstrap.build(settings)
    hook_urls.register_account(deps, ACCOUNT)
    hook = hook_urls.hook_url(deps, ACCOUNT.id)
    now = int(time.time())
    timings = sorted(one_round(settings.base_url, hook, settings, now - 20 * 86400 - 8641 * (args.rounds - i)) for i in range(args.rounds))
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"webhook → hint: n={len(timings)} median={statistics.median(timings)*1000:.1f} ms "
          f"p95={p95*1000:.1f} ms max={timings[-1]*1000:.1f} ms (target: visible within 1000 ms)")


if __name__ == "__main__":
    main()
