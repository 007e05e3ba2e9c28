"""A card recompute marks its cards before it reads the mirror: a full recompute that starts in between must not
leave the card to the older read (review of 762c175, which put the mark after the reads in one pipeline)."""
from __future__ import annotations

from dataclasses import replace

from service.services import recompute
from service.store.codec import read_together
from tests.integration.test_first_contact import around_the_clock, codes, new_lead, post


def test_a_full_recompute_starting_between_a_card_read_and_its_mark_keeps_the_newer_mirror(
        client, settings, account, deps, run_worker, monkeypatch):
    around_the_clock(deps, account)
    now = int(deps.clock())
    post(client, settings, new_lead(8, now - 25 * 60))  # nobody answered for 25 minutes of a 15-minute limit
    run_worker()
    assert codes(deps, account, 8) == ["first_contact_overdue"]
    store, started = deps.store, {}

    # A pipeline is not a transaction: other clients' commands may run between its commands. Run each read on its
    # own so that a sync and the start of a full recompute can land right after the card's leads are read.
    monkeypatch.setattr(store, "read", lambda *reads: [read_together(store.redis, [r])[0] for r in reads])
    real_leads_read = store.leads_read

    def leads_read(account_id, ids):
        read = real_leads_read(account_id, ids)

        def decode(answers):
            held = read.decode(answers)
            if not started:  # a sync wins the deal, then a full recompute takes its card mark
                [lead] = store.get_leads(account.id, [8]).values()
                store.save_leads(account.id, [replace(lead, status_id=142, updated_at=now, closed_at=now)])
                started["seq"] = store.cards_seq(account.id)
            return held

        return read._replace(decode=decode)

    monkeypatch.setattr(store, "leads_read", leads_read)
    recompute.recompute_cards(deps, account.id, [8])  # a drain's or a recheck's card recompute
    monkeypatch.undo()

    monkeypatch.setattr(store, "cards_seq", lambda account_id: started["seq"])  # the mark it took in between
    recompute.recompute_account(deps, account.id)
    assert codes(deps, account, 8) == []  # the deal is won: no first-contact hint left on its card
