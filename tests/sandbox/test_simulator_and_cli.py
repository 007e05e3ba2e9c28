"""Live simulator, CLI, generator realism and the loopback-only default."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import pathlib

import requests

from service.sandbox.records import LOST, WON
from service.sandbox.simulator import Simulator

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_simulator_actions_record_events_and_send_webhooks(world, state, receiver):
    world.subscribe(receiver.url + "/hooks/x", ["status_lead", "add_task", "update_task", "note_lead", "add_lead",
                                               "responsible_lead", "update_lead", "add_contact"])
    before = len(world.events)
    simulator = Simulator(world, rate=1, seed=5)
    names = {simulator.act() for _ in range(60)}
    assert {"move", "call", "incoming"} <= names
    assert len(world.events) > before
    assert state.sender.wait_idle(10) and receiver.requests


def test_simulator_runs_at_a_rate_and_stops(world, client):
    before = len(world.events)
    assert client.post("/_sandbox/simulator", json={"rate": 40}).get_json()["running"] is True
    time.sleep(0.5)
    assert client.post("/_sandbox/simulator", json={"rate": 0}).get_json()["running"] is False
    assert len(world.events) > before


def test_control_actions_mutate_the_world(world, client):
    lead = next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (WON, LOST))
    response = client.post("/_sandbox/actions", json={"action": "move_lead", "args": {"lead_id": lead.id, "status_id": WON}})
    assert response.status_code == 200 and world.leads[lead.id].status_id == WON


def test_generated_account_looks_like_a_real_one(small_world_template):
    w = small_world_template
    assert 2 <= len(w.pipelines) <= 3
    for pipeline in w.pipelines.values():
        ids = [s.id for s in pipeline.statuses]
        assert WON in ids and LOST in ids and 5 <= len(ids) - 3 <= 8
    assert any(s.name == "Принимают решение" for p in w.pipelines.values() for s in p.statuses)
    lost = [x for x in w.leads.values() if x.status_id == LOST]
    assert lost and all(x.loss_reason_id in w.loss_reasons for x in lost)
    open_leads = [x for x in w.leads.values() if not x.is_deleted and x.status_id not in (WON, LOST)]
    assert any(x.closest_task_at is None for x in open_leads)
    assert any(x.closest_task_at and x.closest_task_at < 1767225600 for x in open_leads)
    assert {u.category for u in w.unsorted.values()} == {"forms", "sip", "chats", "mail"}
    assert {n.note_type for n in w.notes.values()} == {"call_in", "call_out"}
    assert min(row[0] for row in w.events) < 1767225600 - 365 * 86400
    assert max(row[0] for row in w.events) <= 1767225600


def test_cli_generate_prints_an_account_file():
    out = subprocess.run([sys.executable, "-m", "service.sandbox", "generate", "--size", "small", "--seed", "2",
                          "--now", "1767225600"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    document = json.loads(out.stdout)
    assert document["format"] == "deal-pulse-sandbox/1" and len(document["leads"]) == 500


def test_cli_serve_binds_loopback_and_answers(tmp_path):
    account = ROOT / "tests" / "data" / "scenario_small.json"
    proc = subprocess.Popen([sys.executable, "-m", "service.sandbox", "serve", "--account", str(account), "--port", "0",
                             "--token", "cli-token"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("http://127.0.0.1:")
        response = requests.get(info["url"] + "/api/v4/account", headers={"Authorization": "Bearer cli-token"}, timeout=5)
        assert response.status_code == 200 and response.json()["subdomain"] == "scenario"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_simulated_requests_wait_for_their_first_call_then_get_it():
    """Issue 21: the simulator's new clients wait (some long enough for the hint), then their manager calls."""
    from service.sandbox.generator import generate
    from service.sandbox.simulator import Simulator

    world = generate("small", seed=3, leads=40, managers=3)
    clock = [world.now()]
    world.now = lambda: clock[0]
    sim = Simulator(world, rate=1, seed=5)
    for _ in range(400):
        sim.incoming()
    waits = sorted(at - clock[0] for at in sim.first_calls.values())
    assert len(waits) < 400  # some are never called back
    assert waits[0] < 300 and waits[-1] > 15 * 60  # some within minutes, some past a 15-minute limit
    lead_id, at = next(iter(sim.first_calls.items()))
    clock[0] = at
    assert sim.act() == "first_call" and lead_id not in sim.first_calls
    [note] = [n for n in world.notes.values() if n.entity_id == lead_id]
    assert note.note_type == "call_out" and note.created_by == world.leads[lead_id].responsible_user_id


def test_generated_history_answers_most_clients_fast_and_some_never():
    from service.sandbox.generator import generate

    world = generate("small", seed=4, leads=300, managers=4)
    first = {}
    for note in world.notes.values():
        if note.note_type == "call_out":
            first[note.entity_id] = min(first.get(note.entity_id, note.created_at), note.created_at)
    delays = [first[lead.id] - lead.created_at for lead in world.leads.values() if lead.id in first]
    fast = sum(1 for d in delays if d <= 300)
    assert fast > len(delays) * 0.25 and len(first) < len(world.leads)
