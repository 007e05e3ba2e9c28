"""insights/panel_rights: the cube rows a caller's per-stage amoCRM rights hide are not counted."""
from service.insights.panel_rights import stage_rule, visible_part

ME, MATE, STRANGER = 1, 2, 3
PART = {"pipelines": [{"id": 7, "name": "Sales", "main": True, "stages": [{"id": 71, "name": "A"},
                                                                        {"id": 72, "name": "B"},
                                                                        {"id": 73, "name": "C"}]}],
        "entries": [[1, 7, 71, ME, 1, 1], [1, 7, 72, MATE, 1, 0], [1, 7, 73, STRANGER, 1, 0]],
        "exits": [[1, 7, 71, STRANGER, 2.0, 1]], "losses": [[1, 7, 72, STRANGER, 1, 100]], "loss_reasons": [],
        "open": [[7, 71, ME, 1, 10, 0, 0, 1], [7, 72, MATE, 1, 20, 0, 0, 0], [7, 72, STRANGER, 1, 30, 0, 0, 0]],
        "censored": [[7, 73, STRANGER, 5.0, 1]],
        "deals": [[1, 7, STRANGER, "created", 1, 5], [1, 7, STRANGER, "won", 1, 50], [1, 7, MATE, "lost", 1, 60]],
        "recent": [[9, 7, STRANGER, "won", 50], [9, 7, STRANGER, "move", 0]], "calls": [[1, 7, STRANGER, 1, 60]],
        "contacts": [[1, MATE, 2], [1, STRANGER, 3]], "incoming": [[1, "form", 4, 1]],
        "users": [{"id": u, "name": str(u), "group_id": 0, "is_admin": False} for u in (ME, MATE, STRANGER)]}


def cut(views, general="A"):
    return visible_part(PART, stage_rule(views, general, ME, frozenset({MATE})))


def test_own_group_and_hidden_stages():
    part = cut({(7, 71): "M", (7, 72): "G", (7, 73): "D", (7, 142): "D", (7, 143): "G"})
    assert [s["id"] for s in part["pipelines"][0]["stages"]] == [71, 72]
    assert part["entries"] == [[1, 7, 71, ME, 1, 1]]  # 72 leads on to the hidden 73: its conversion would tell
    assert part["open"] == [[7, 71, ME, 1, 10, 0, 0, 1], [7, 72, MATE, 1, 20, 0, 0, 0]]
    assert part["exits"] == part["losses"] == part["censored"] == []
    assert part["deals"] == [[1, 7, STRANGER, "created", 1, 5], [1, 7, MATE, "lost", 1, 60]]  # won: 142 is D
    assert part["recent"] == [[9, 7, STRANGER, "move", 0]]
    assert part["calls"] == PART["calls"]  # calls name no stage: the general right (A) decides


def test_without_entries_the_general_right_decides():
    assert cut({}) == {**PART, "pipelines": PART["pipelines"]}
    assert cut({}, general="M")["open"] == [[7, 71, ME, 1, 10, 0, 0, 1]]


def test_a_manager_is_seen_whole_only_when_no_stage_hides_their_deals():
    rights = stage_rule({(7, 71): "M", (7, 72): "G"}, "A", ME, frozenset({MATE}))
    assert rights.sees_all_of(ME) and not rights.sees_all_of(MATE) and not rights.sees_all_of(STRANGER)
    assert stage_rule({(7, 71): "A"}, "A", ME, frozenset()).sees_all_of(STRANGER)


def test_the_general_right_cuts_managers_calls_contacts_and_the_accounts_requests():
    """A chosen supervisor with G (their group: MATE) or M sees only those managers' rows, whichever table."""
    group = cut({}, general="G")
    assert group["open"] == [[7, 71, ME, 1, 10, 0, 0, 1], [7, 72, MATE, 1, 20, 0, 0, 0]]
    assert group["entries"] == [[1, 7, 71, ME, 1, 1], [1, 7, 72, MATE, 1, 0]]
    assert group["deals"] == [[1, 7, MATE, "lost", 1, 60]] and group["recent"] == []
    assert group["calls"] == [] and group["contacts"] == [[1, MATE, 2]] and group["incoming"] == []
    assert [u["id"] for u in group["users"]] == [ME, MATE]
    own = cut({}, general="M")
    assert own["contacts"] == [] and [u["id"] for u in own["users"]] == [ME]
    rights = stage_rule({}, "G", ME, frozenset({MATE}))
    assert rights.sees_all_of(MATE) and not rights.sees_all_of(STRANGER) and not rights.whole
    assert not stage_rule({(7, 71): "A"}, "M", ME, frozenset()).sees_all_of(STRANGER)  # one stage A is not all


def test_losses_follow_the_lost_stage_right_as_lost_deals_do():
    """A lost deal stands in 143: a caller amoCRM hides 143 from sees neither it in `deals` nor its loss (count,
    sum, reason) in the stage it was lost from."""
    part = visible_part({**PART, "loss_reasons": [[1, 7, 72, STRANGER, "price"]]},
                        stage_rule({(7, 143): "D"}, "A", ME, frozenset({MATE})))
    assert [r for r in part["deals"] if r[3] == "lost"] == []
    assert part["losses"] == [] and part["loss_reasons"] == []
    shown = visible_part(PART, stage_rule({(7, 143): "G"}, "A", ME, frozenset({MATE})))
    assert shown["losses"] == [] and cut({})["losses"] == PART["losses"]  # STRANGER's loss: outside the group
