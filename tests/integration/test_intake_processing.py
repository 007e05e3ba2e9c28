"""Processing never loses an event: applied, recognised as a duplicate, or dead-lettered — nothing else."""
from datetime import datetime, timezone
from urllib.parse import urlencode

from rq.registry import ScheduledJobRegistry

from service.services import intake
from service.services.hook_urls import hook_secret

FORM = "application/x-www-form-urlencoded"
ACCOUNT_PAIRS = [("account[subdomain]", "unirock"), ("account[id]", "16700680")]


def post(client, settings, pairs, request_id=None):
    headers = {"X-Amocrm-Requestid": request_id} if request_id else {}
    return client.post(f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}",
                       data=urlencode(ACCOUNT_PAIRS + pairs), content_type=FORM, headers=headers)


def lead_pairs(action, lead_id, status, at, **extra):
    base = {"id": lead_id, "status_id": status, "pipeline_id": 10, "updated_at": at, "created_at": 1000,
            "responsible_user_id": 5, "price": 100, **extra}
    return [(f"leads[{action}][0][{k}]", str(v)) for k, v in base.items()]


def task_pairs(action, task_id, lead_id, due, status=0, at=2000):
    fields = {"id": task_id, "element_id": lead_id, "element_type": 2, "complete_till": due, "status": status,
              "last_modified": at, "responsible_user_id": 5, "text": "Call back"}
    return [(f"task[{action}][0][{k}]", str(v)) for k, v in fields.items()]


def test_retried_delivery_is_recognised_as_a_duplicate(client, settings, account, deps, run_worker):
    for _ in range(3):
        assert post(client, settings, lead_pairs("add", 1, 100, 1500), request_id="req-1").status_code == 204
    run_worker()
    assert deps.store.counters(account.id) == {"applied": 1, "duplicates": 2}


def test_status_moves_build_the_stage_history(client, settings, account, deps, run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    post(client, settings, lead_pairs("status", 1, 101, 2000, old_status_id=100))
    post(client, settings, lead_pairs("status", 1, 102, 3000, old_status_id=101))
    post(client, settings, lead_pairs("status", 1, 102, 3000, old_status_id=101))  # a duplicate without request id
    run_worker()
    history = deps.store.timelines(account.id, "history", [1])[1]
    assert [(c.old_status_id, c.status_id, c.at) for c in history] == [(100, 101, 2000), (101, 102, 3000)]


def test_pipeline_move_is_recorded_with_both_pipelines(client, settings, account, deps, run_worker):
    post(client, settings, lead_pairs("status", 1, 200, 2000, pipeline_id=20, old_status_id=100,
                                      old_pipeline_id=10)[:2] + lead_pairs("status", 1, 200, 2000)[2:3]
         + [("leads[status][0][pipeline_id]", "20"), ("leads[status][0][old_pipeline_id]", "10"),
            ("leads[status][0][old_status_id]", "100")])
    run_worker()
    [move] = deps.store.timelines(account.id, "history", [1])[1]
    assert (move.old_pipeline_id, move.old_status_id, move.pipeline_id, move.status_id) == (10, 100, 20, 200)


def test_tasks_calls_contacts_and_incoming_requests_reach_the_mirror(client, settings, account, deps, run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500) + task_pairs("add", 7, 1, 5000))
    post(client, settings, [("leads[note][0][note][id]", "9"), ("leads[note][0][note][element_id]", "1"),
                            ("leads[note][0][note][note_type]", "11"), ("leads[note][0][note][created_at]", "2500"),
                            ("leads[note][0][note][text]", '{"DURATION": 95}')])
    post(client, settings, [("contacts[add][0][id]", "3"), ("contacts[add][0][type]", "contact"),
                            ("contacts[add][0][responsible_user_id]", "5"), ("contacts[add][0][created_at]", "1600"),
                            ("unsorted[add][0][uid]", "u1"), ("unsorted[add][0][category]", "forms"),
                            ("unsorted[add][0][created_at]", "1400")])
    post(client, settings, [("unsorted[delete][0][uid]", "u1"), ("unsorted[delete][0][action]", "accept"),
                            ("unsorted[delete][0][accept_result][leads][0]", "1")])
    run_worker()
    assert deps.store.tasks_of(account.id, [1])[1][0].complete_till == 5000
    [call] = deps.store.timelines(account.id, "calls", [1])[1]
    assert (call.direction, call.duration, call.at) == ("out", 95, 2500)
    assert deps.store.last_note_at(account.id, [1]) == {1: 2500}
    assert deps.store.all_records(account.id, "contacts")[3]["responsible_user_id"] == 5
    incoming = deps.store.all_records(account.id, "incoming")["u1"]
    assert (incoming.category, incoming.lead_id, incoming.accepted) == ("forms", 1, True)


def test_older_task_update_never_overwrites_a_newer_one(client, settings, account, deps, run_worker):
    post(client, settings, task_pairs("update", 7, 1, 5000, status=1, at=3000))
    post(client, settings, task_pairs("update", 7, 1, 5000, status=0, at=2000))
    run_worker()
    assert deps.store.tasks_of(account.id, [1])[1][0].is_completed


def test_deleted_task_leaves_the_deal(client, settings, account, deps, run_worker):
    post(client, settings, task_pairs("add", 7, 1, 5000))
    post(client, settings, [("task[delete][0][id]", "7"), ("task[delete][0][last_modified]", "2500")])
    run_worker()
    assert deps.store.tasks_of(account.id, [1]) == {1: []}


def test_poison_event_is_dead_lettered_and_replayable(client, settings, account, deps, run_worker, monkeypatch):
    def explode(deps, account_id, events):
        if events:
            raise RuntimeError("mirror write failed")
        return set()

    monkeypatch.setattr(intake, "_apply_leads", explode)
    post(client, settings, lead_pairs("add", 1, 100, 1500), request_id="req-9")
    post(client, settings, task_pairs("add", 7, 2, 5000))
    run_worker()
    [letter] = deps.store.dead_letters(account.id)
    assert letter["error"] == "RuntimeError: mirror write failed" and "leads%5Badd%5D" in letter["body"]
    assert deps.store.counters(account.id) == {"applied": 1, "dead_lettered": 1}
    assert deps.store.tasks_of(account.id, [2])[2]  # the next event was not blocked
    monkeypatch.undo()
    assert intake.replay_dead_letters(deps, account.id) == 1
    run_worker()
    assert deps.store.dead_letters(account.id) == []
    assert 1 in deps.store.get_leads(account.id, [1])


def test_an_open_task_schedules_its_overdue_check(client, settings, account, deps, run_worker):
    due = int(deps.clock()) + 3600
    post(client, settings, lead_pairs("add", 1, 100, 1500) + task_pairs("add", 7, 1, due))
    run_worker()
    registry = ScheduledJobRegistry(queue=deps.queues["insights"])
    [job_id] = [j for j in registry.get_job_ids() if not j.startswith("fresh-recompute-")]  # beside the panel's
    assert job_id == f"recheck-16700680-1-{due}"
    assert registry.get_scheduled_time(job_id) == datetime.fromtimestamp(due + 1, timezone.utc).replace(microsecond=0)


def test_overdue_appears_when_the_recheck_runs_without_any_webhook(client, settings, account, deps, run_worker):
    from service import jobs

    due = int(deps.clock()) - 7200  # already due when the webhook is applied: no schedule needed
    post(client, settings, lead_pairs("add", 1, 100, int(deps.clock())) + task_pairs("add", 7, 1, due))
    run_worker()
    jobs.recheck_leads(account.id, [1])
    assert "overdue_task" in {h["code"] for h in deps.store.read_card(account.id, 1)["hints"]}


def test_a_burst_of_updates_to_one_lead_is_one_drain(client, settings, account, deps, run_worker):
    for i in range(100):
        post(client, settings, lead_pairs("update", 1, 100, 1500 + i, price=i))
    assert deps.queues["webhooks"].count == 1
    run_worker()
    assert deps.store.get_leads(account.id, [1])[1].price == 99
    assert deps.store.counters(account.id) == {"applied": 100}


def test_a_hand_over_takes_the_deal_from_the_old_group_at_once(client, settings, deps, run_worker):
    """A `responsible_lead` webhook carries no group_id: the old group kept the deal until the next reconcile."""
    from service.model import User
    from tests.support.api import GROUP, MASHA_DEAL, call, install_world
    install_world(deps)
    assert call(client, settings, "GET", f"/leads/{MASHA_DEAL.id}/hints", GROUP).status_code == 200  # Masha's deal, group 20
    deps.store.save_users(16700680, [User(9, "Nina New", leads_view="M", group_id=30)])
    handed = [(f"leads[responsible][0][{k}]", str(v)) for k, v in {
        "id": MASHA_DEAL.id, "status_id": MASHA_DEAL.status_id, "pipeline_id": MASHA_DEAL.pipeline_id,
        "responsible_user_id": 9, "old_responsible_user_id": MASHA_DEAL.responsible_user_id,
        "updated_at": 1_760_000_100}.items()]
    assert post(client, settings, handed).status_code == 204
    run_worker()
    assert deps.store.get_leads(16700680, [MASHA_DEAL.id])[MASHA_DEAL.id].group_id == 30
    assert call(client, settings, "GET", f"/leads/{MASHA_DEAL.id}/hints", GROUP).status_code == 403


def test_a_status_hook_arriving_after_a_later_update_sets_when_the_stage_was_entered(client, settings, account,
                                                                                      deps, run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    post(client, settings, lead_pairs("update", 1, 101, 3000))  # amoCRM sent the update before the move's status hook
    post(client, settings, lead_pairs("status", 1, 101, 2000, old_status_id=100))
    run_worker()
    [lead] = deps.store.get_leads(account.id, [1]).values()
    assert (lead.status_id, lead.stage_entered_at, lead.updated_at) == (101, 2000, 3000)


def test_a_move_overtaken_within_the_same_second_does_not_move_the_lead_back(client, settings, account, deps,
                                                                             run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    post(client, settings, lead_pairs("status", 1, 102, 2000, old_status_id=101))  # a robot moved it on at once
    post(client, settings, lead_pairs("status", 1, 101, 2000, old_status_id=100))  # the first move, late
    run_worker()
    [lead] = deps.store.get_leads(account.id, [1]).values()
    assert (lead.status_id, lead.stage_entered_at) == (102, 2000)
    history = deps.store.timelines(account.id, "history", [1])[1]
    assert [(c.old_status_id, c.status_id) for c in history] == [(100, 101), (101, 102)]


def test_a_move_into_lost_sets_closed_at_and_the_reason_carried(client, settings, account, deps, run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    post(client, settings, lead_pairs("status", 1, 143, 2000, old_status_id=100, loss_reason_id=9))
    run_worker()
    [lead] = deps.store.get_leads(account.id, [1]).values()
    assert (lead.closed_at, lead.loss_reason_id) == (2000, 9)


def test_a_delete_sticks_against_a_held_back_update(client, settings, account, deps, run_worker):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    deps.clock = lambda: 5000.0  # we store the delete at 5000: it happened then or before
    post(client, settings, [("leads[delete][0][id]", "1"), ("leads[delete][0][status_id]", "100"),
                            ("leads[delete][0][pipeline_id]", "10")])
    post(client, settings, lead_pairs("update", 1, 101, 4000))  # an update amoCRM held back, stamped before it
    run_worker()
    [lead] = deps.store.get_leads(account.id, [1]).values()
    assert (lead.is_deleted, lead.deleted_at) == (True, 5000)
    post(client, settings, lead_pairs("restore", 1, 101, 4500))
    run_worker()
    assert not deps.store.get_leads(account.id, [1])[1].is_deleted


def test_a_card_that_fails_to_compute_does_not_stall_the_inbox(client, settings, account, deps, run_worker,
                                                               monkeypatch, caplog):
    """The events are applied once and marked; the cards go to a recheck job RQ retries (review finding v3-5)."""
    real, calls = intake.recompute_cards, []

    def broken_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise ValueError("a card could not be computed")
        return real(*args)

    monkeypatch.setattr(intake, "recompute_cards", broken_once)
    post(client, settings, lead_pairs("add", 1, 100, 1500), request_id="req-1")
    post(client, settings, lead_pairs("status", 1, 101, 1600), request_id="req-2")
    run_worker()  # the drain, then the recheck it handed the cards to
    assert deps.store.inbox_length(account.id) == 0
    assert deps.store.counters(account.id) == {"applied": 2, "card_recompute_failed": 1}
    assert [(c.old_status_id, c.status_id) for c in deps.store.timelines(account.id, "history", [1])[1]] == \
        [(100, 101)]  # applied once
    assert deps.store.read_card(account.id, 1) is not None  # the retried recompute made the card
    assert "recomputing 1 cards after applying webhooks failed" in caplog.text
    post(client, settings, lead_pairs("status", 1, 102, 1700), request_id="req-3")
    run_worker()
    assert deps.store.counters(account.id)["applied"] == 3 and deps.store.inbox_length(account.id) == 0


def test_a_card_that_never_computes_fails_its_own_job_not_the_inbox(client, settings, account, deps, run_worker,
                                                                    monkeypatch):
    from rq.registry import FailedJobRegistry

    def broken(*args):
        raise ValueError("a card could not be computed")

    monkeypatch.setattr(intake, "recompute_cards", broken)
    monkeypatch.setattr("service.services.recompute.recompute_cards", broken)  # the recheck job's path too
    for n, status in enumerate((100, 101, 102)):
        post(client, settings, lead_pairs("add" if n == 0 else "status", 1, status, 1500 + n), request_id=f"r{n}")
        run_worker()
    assert deps.store.inbox_length(account.id) == 0 and deps.store.counters(account.id)["applied"] == 3
    assert deps.store.get_leads(account.id, [1])[1].status_id == 102
    waiting = ScheduledJobRegistry(queue=deps.queues["insights"]).get_job_ids()
    failed = FailedJobRegistry(queue=deps.queues["insights"]).get_job_ids()
    assert [j for j in waiting + failed if not j.startswith("fresh-recompute-")]  # retried by RQ, visible there
