"""Benchmark: time to generate sandbox accounts (prints figures; never part of the test suite).

Usage: python bench/sandbox_generate.py [size ...]   (default: large)
Also pages every lead of each account through the API (limit 250) and checks each comes once.
       python bench/sandbox_generate.py --small-accounts 200
Generates that many small accounts (seeds 1..N) in one process and prints the CPU per account, with and without
writing each account file (the many-tenant fixtures of issue 22).
"""
from __future__ import annotations

import io
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from service.sandbox import accountfile  # noqa: E402
from service.sandbox.generator import generate  # noqa: E402


def main(sizes: list[str]) -> None:
    """Generate each size once and print time and counts."""
    for size in sizes:
        started = time.perf_counter()
        world = generate(size, seed=1, now=1767225600)
        elapsed = time.perf_counter() - started
        print(f"{size}: {elapsed:.1f} s  users={len(world.users)} leads={len(world.leads)} "
              f"contacts={len(world.contacts)} tasks={len(world.tasks)} notes={len(world.notes)} "
              f"unsorted={len(world.unsorted)} events={len(world.events)}", flush=True)
        page_leads(world)


def page_leads(world) -> None:
    """Follow _links.next over all leads and one events page; print time and the uniqueness check."""
    from service.sandbox.app import create_sandbox_app, sandbox_state
    world.settings["rate_limit"]["per_second"] = 10 ** 9
    app = create_sandbox_app(world, start_webhooks=False)
    headers = {"Authorization": "Bearer " + sandbox_state(app).tokens.new_pair()["access_token"]}
    client, url, ids, started = app.test_client(), "/api/v4/leads?limit=250&order[updated_at]=asc", [], time.perf_counter()
    while url:
        response = client.get(url, headers=headers)
        if response.status_code == 204:
            break
        body = response.get_json()
        ids += [lead["id"] for lead in body["_embedded"]["leads"]]
        url = body["_links"].get("next", {}).get("href", "").replace("http://localhost", "")
    expected = sum(1 for lead in world.leads.values() if not lead.is_deleted)
    events = client.get("/api/v4/events?limit=250", headers=headers).get_json()["_embedded"]["events"]
    print(f"  paged {len(ids)} leads in {time.perf_counter() - started:.1f} s; each once: "
          f"{len(ids) == len(set(ids)) == expected}; events page size at limit=250: {len(events)}", flush=True)


def many_small(count: int) -> None:
    """CPU seconds per small account: generated only, then generated and written as an account file."""
    started = time.process_time()
    worlds = [generate("small", seed=seed, now=1767225600) for seed in range(1, count + 1)]
    generated = time.process_time() - started
    started, size = time.process_time(), 0
    for world in worlds:
        out = io.BytesIO()
        accountfile.write(world, out)
        size += out.tell()
    written = time.process_time() - started
    print(f"{count} small accounts: generate {generated * 1000 / count:.1f} ms CPU each, write "
          f"{written * 1000 / count:.1f} ms CPU each ({size / count / 1e6:.2f} MB each), "
          f"{generated + written:.1f} s CPU in all", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--small-accounts"]:
        many_small(int(sys.argv[2]))
    else:
        main(sys.argv[1:] or ["large"])
