"""`migrate-encoding`: a mirror written in the old format (one hash per family, named JSON fields) reads the same
after its conversion to the compact encodings (issue 22)."""
import json
from dataclasses import asdict

from service.__main__ import main
from service.model import Call, IncomingLead, Lead, StageChange, Task
from service.ops.migrate_encoding import convert_account
from service.store.first_contact import FirstContactStore
from service.store.keys import account_key

LEADS = [Lead(i, 1, 2, 3, price=100 * i, name=f"Сделка {i}", updated_at=50, date_fields=((7, 9),)) for i in (1, 300)]
TASKS = [Task(10, 1, 3, 500, text="Позвонить"), Task(11, 300, 3, 600, is_completed=True, completed_at=601)]
INCOMING = IncomingLead("01312df4", 1781442907, "forms", "Форма на сайте", lead_id=1, accepted=True)
CARD = {"lead_id": 1, "as_of": 5, "hints": [{"code": "no_open_task", "text": {"ru": "Нет задач", "en": "No tasks"}}]}


def old_row(fact) -> str:
    return json.dumps(asdict(fact), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_old_mirror(redis, account_id):
    """What the code before the compact encodings stored."""
    key = lambda *parts: account_key(account_id, *parts)  # noqa: E731
    redis.hset(key("leads"), mapping={lead.id: json.dumps(asdict(lead)) for lead in LEADS})
    redis.hset(key("tasks"), mapping={t.id: json.dumps(asdict(t), sort_keys=True) for t in TASKS})
    for t in TASKS:
        redis.sadd(key("tasks_of", t.lead_id), t.id)
    redis.hset(key("cards"), 1, json.dumps(CARD, ensure_ascii=False))
    redis.hset(key("incoming"), INCOMING.id, json.dumps(asdict(INCOMING), sort_keys=True, ensure_ascii=False))
    redis.hset(key("last_note_at"), mapping={1: 700, 300: 800})
    redis.hset(key("touches"), 1, json.dumps({"call:3": 90, "task:3": 95}))
    redis.hset(key("lead_requests"), 300, json.dumps({"at": 80, "source": "Форма"}, ensure_ascii=False))
    history = [StageChange(1, 10, 1, 2, 1, 1), StageChange(1, 20, 1, 3, 1, 2)]
    redis.hset(key("timeline", "history"), 1, "".join(old_row(f) + "\n" for f in history))
    redis.hset(key("timeline", "calls"), 300, old_row(Call(300, 5, 60, "in\n", 3)) + "\n")
    redis.hset(key("timeline", "responsible"), 1, '{"at":1,"lead_id":1,"old_user_id":null,"user_id":3}\n')
    return history


def reads(store, account_id):
    return (store.get_leads(account_id, [1, 300]), store.tasks_of(account_id, [1, 300]),
            store.read_card(account_id, 1), store.last_note_at(account_id, [1, 300]),
            store.timelines(account_id, "history", [1, 300]), store.timelines(account_id, "calls", [1, 300]),
            store.all_records(account_id, "incoming"), FirstContactStore(store.redis).all_touches(account_id),
            FirstContactStore(store.redis).all_requests(account_id))


def test_an_old_mirror_reads_the_same_after_conversion_and_its_old_hashes_are_gone(deps, account):
    history = write_old_mirror(deps.redis, account.id)
    done = convert_account(deps.store, account.id)
    assert done.records == {"leads": 2, "tasks": 2, "incoming": 1, "cards": 1, "last_note_at": 2,
                            "timeline:history": 1, "timeline:calls": 1, "touches": 1, "lead_requests": 1,
                            "tasks_of": 2}
    assert reads(deps.store, account.id) == (
        {lead.id: lead for lead in LEADS}, {1: [TASKS[0]], 300: [TASKS[1]]}, CARD, {1: 700, 300: 800},
        {1: history, 300: []}, {1: [], 300: [Call(300, 5, 60, "in\n", 3)]}, {INCOMING.id: INCOMING},
        {1: {"call:3": 90, "task:3": 95}}, {300: {"at": 80, "source": "Форма"}})
    left = {k.decode() for k in deps.redis.scan_iter(match=account_key(account.id, "*"))}
    assert not left & {account_key(account.id, *name.split(":")) for name in done.deleted}
    assert account_key(account.id, "timeline", "responsible") not in left
    assert not any(":tasks_of:" in key for key in left)


def test_a_second_run_changes_nothing_and_newer_mirror_data_wins(deps, account):
    write_old_mirror(deps.redis, account.id)
    deps.store.save_leads(account.id, [Lead(1, 1, 9, 3, updated_at=60)])  # a webhook applied before the conversion
    convert_account(deps.store, account.id)
    before = reads(deps.store, account.id)
    assert convert_account(deps.store, account.id).records == {}
    assert reads(deps.store, account.id) == before and before[0][1].status_id == 9


def test_the_command_converts_every_installed_account(deps, account, capsys):
    write_old_mirror(deps.redis, account.id)
    assert main(["migrate-encoding", "--all"]) == 0
    assert f"account {account.id}: leads 2, tasks 2" in capsys.readouterr().out
    assert deps.store.read_card(account.id, 1) == CARD
