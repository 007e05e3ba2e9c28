"""The mirror's bucket hashes on a real Redis (issue 22): round trips across bucket boundaries, compact encoding."""
from dataclasses import asdict

from service.model import Call, IncomingLead, Lead, StageChange, Task
from service.store.keys import BUCKETS, bucket_key

N = BUCKETS["leads"]
IDS = [0, 1, N - 1, N, N + 1, 20_000_000 + 2 * N - 1, 20_000_000 + 2 * N]  # both sides of bucket boundaries


def test_leads_round_trip_across_buckets_and_stream_whole(deps, account):
    leads = [Lead(i, 1, 2, 3, price=i, name=f"Сделка {i}", closed_at=i or None) for i in IDS]
    deps.store.save_leads(account.id, leads)
    assert deps.store.get_leads(account.id, IDS + [5]) == {lead.id: lead for lead in leads}
    assert sorted(deps.store.all_leads(account.id), key=lambda lead: lead.id) == leads
    assert deps.redis.hget(bucket_key(account.id, "leads", N), N) is not None
    assert deps.redis.hget(bucket_key(account.id, "leads", N), 0) is not None  # N and 0 share bucket 0
    assert deps.redis.hget(bucket_key(account.id, "leads", N - 1), N) is None


def test_tasks_round_trip_by_id_and_by_lead_and_deletes_leave_the_others(deps, account):
    tasks = [Task(i, lead_id=7 + i % 2, responsible_user_id=3, complete_till=100, text="Позвонить") for i in IDS]
    deps.store.save_tasks(account.id, tasks)
    assert deps.store.get_tasks(account.id, IDS) == {t.id: t for t in tasks}
    deps.store.delete_tasks(account.id, tasks[:2])
    assert deps.store.tasks_of(account.id, [7, 8]) == {7: [t for t in tasks[2:] if t.lead_id == 7],
                                                       8: [t for t in tasks[2:] if t.lead_id == 8]}
    assert sorted(t.id for t in deps.store.all_tasks(account.id)) == IDS[2:]


def test_the_task_index_adds_once_removes_anywhere_in_the_list_and_forgets_empty_leads(deps, account):
    deps.store.index_tasks(account.id, "+", [(5, 30), (5, 3), (5, 300), (5, 3), (N + 5, 3)])
    assert deps.redis.hget(bucket_key(account.id, "lead_tasks", 5), 5) == b"30,3,300"
    deps.store.index_tasks(account.id, "-", [(5, 3), (5, 31)])  # 3 is not taken out of 30 or 300
    assert deps.redis.hget(bucket_key(account.id, "lead_tasks", 5), 5) == b"30,300"
    deps.store.index_tasks(account.id, "-", [(5, 300), (5, 30)])
    assert deps.redis.hexists(bucket_key(account.id, "lead_tasks", 5), 5) is False
    assert deps.redis.hget(bucket_key(account.id, "lead_tasks", N + 5), N + 5) == b"3"


def test_a_stored_row_missing_later_fields_reads_them_as_unknown(deps, account):
    deps.redis.hset(bucket_key(account.id, "leads", 9), 9, "[1,2,3]")  # written before price and the rest existed
    lead = deps.store.get_leads(account.id, [9])[9]
    assert (lead.id, lead.pipeline_id, lead.closed_at, lead.loss_reason_id, lead.price) == (9, 1, None, None, 0)


def test_timelines_of_leads_in_different_buckets_keep_apart(deps, account):
    facts = [StageChange(i, 10 * k, 1, k) for i in IDS for k in (2, 1)]
    deps.store.add_timeline(account.id, "history", facts)
    got = deps.store.timelines(account.id, "history", IDS)
    assert got == {i: [StageChange(i, 10, 1, 1), StageChange(i, 20, 1, 2)] for i in IDS}
    assert sorted(deps.store.timeline_leads(account.id, "history")) == IDS
    deps.store.add_timeline(account.id, "calls", [Call(N, 5, 1, "out")])
    assert deps.store.timelines(account.id, "calls", [0, N]) == {0: [], N: [Call(N, 5, 1, "out")]}


def test_last_note_times_only_move_forward_in_every_bucket(deps, account):
    deps.store.touch_activity(account.id, {i: 100 for i in IDS})
    deps.store.touch_activity(account.id, {i: 50 + 100 * (i % 2) for i in IDS})
    assert deps.store.last_note_at(account.id, IDS + [5]) == {i: 150 if i % 2 else 100 for i in IDS}


def test_cards_round_trip_and_scan_across_buckets(deps, account):
    cards = {i: {"lead_id": i, "as_of": 5, "hints": [{"code": "no_open_task", "text": {"ru": "Нет задач"}}]}
             for i in IDS}
    deps.store.save_cards(account.id, cards)
    deps.store.save_card(account.id, 3, {"lead_id": 3, "as_of": 6, "hints": []})
    assert deps.store.read_card(account.id, N) == cards[N]
    assert dict(deps.store.scan_cards(account.id)) == {**cards, 3: {"lead_id": 3, "as_of": 6, "hints": []}}
    docs, leads = deps.store.widget.cards_and_leads(account.id, [N, 5])
    assert (docs, leads) == ([cards[N], None], [None, None])


def test_buckets_stay_compact_on_the_embedded_server(deps, account):
    deps.store.save_tasks(account.id, [Task(BUCKETS["tasks"] * k, 1, 2, 3, text="т" * 300) for k in range(500)])
    deps.store.add_timeline(account.id, "calls", [Call(1, at, 60, "in", 7) for at in range(100)])
    compact = {b"ziplist", b"listpack"}
    assert deps.redis.object("encoding", bucket_key(account.id, "tasks", 0)) in compact
    assert deps.redis.object("encoding", bucket_key(account.id, "timeline", 1, "calls")) in compact


def test_incoming_requests_by_text_id_round_trip_across_buckets(deps, account):
    requests = {uid: IncomingLead(uid, 100 + n, "forms", "Форма", lead_id=n or None, accepted=n % 2 == 1 or None)
                for n, uid in enumerate(["01312df4", "a" * 32, "12345", "Заявка"])}
    deps.store.save_records(account.id, "incoming", requests)
    assert deps.store.all_records(account.id, "incoming") == requests
    assert deps.store.get_records(account.id, "incoming", ["12345", "nope"]) == {"12345": asdict(requests["12345"])}
    assert len({bucket_key(account.id, "incoming", uid) for uid in requests}) > 1


def test_lead_ids_reads_the_buckets_field_names_not_every_lead(deps, account):
    """A fresh-panel update asks which leads its shards hold: the ids only, not every lead's row (HGETALL)."""
    deps.store.save_leads(account.id, [Lead(i, 1, 2, 3, name=f"Сделка {i}") for i in IDS])
    before = deps.store.redis.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)
    assert sorted(deps.store.lead_ids(account.id)) == sorted(IDS)
    assert deps.store.redis.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0) == before
