"""The panel's cube cut to what one caller may see of it: amoCRM's per-stage view rights (`status_rights`) hide a
stage's deals from a user, or all of them but their own or their group's, even when their general right is "all"
(real/api11). The card and the attention lists honour them deal by deal (services/widget/access.py); the panel's
figures are sums over (stage, manager) rows, so the same rule drops the rows of the stages and managers hidden."""
from __future__ import annotations

from typing import Callable, NamedTuple

from service.model import LOST, WON

STAGED = ("entries", "exits", "losses", "loss_reasons")  # [day, pipeline, status, user, ...]
CURRENT = ("open", "censored")  # [pipeline, status, user, ...]
CLOSED = {"won": WON, "lost": LOST}  # deals [day, pipeline, user, kind, ...] and recent [at, pipeline, user, kind, ...]

MaySee = Callable[[int, int, int], bool]  # (pipeline, status, user) -> visible


class Rights(NamedTuple):
    """One caller's view of the account's deals, stage by stage."""

    may_see: MaySee  # a row of this stage and manager
    shown: Callable[[int, int], bool]  # the stage at all
    stages: tuple  # the (pipeline, status) pairs with an entry of their own

    def sees_all_of(self, user: int) -> bool:
        """True when no stage hides any deal of `user`'s: figures summed over all their deals may be shown."""
        return all(self.may_see(pipeline, status, user) for pipeline, status in self.stages)


def stage_rule(views: dict, general: str, user_id: int, group: frozenset) -> Rights:
    """The rights from {(pipeline, status): A|G|M|D} and the general right: A every manager's deals, G the caller's
    group's and their own, M their own, D none (the stage is not shown)."""
    seen = {"G": group | {user_id}, "M": frozenset({user_id}), "D": frozenset()}

    def may_see(pipeline: int, status: int, user: int) -> bool:
        view = views.get((pipeline, status), general)
        return view == "A" or user in seen.get(view, ())

    return Rights(may_see, lambda pipeline, status: views.get((pipeline, status), general) != "D", tuple(views))


def visible_part(part: dict, rights: Rights) -> dict:
    """`part` (one pipeline's cube) without the rows the caller may not see and without the stages hidden from them.

    A won or lost deal stands in amoCRM's closed stage 142 or 143, so its right there decides; a deal's creation,
    calls and stage moves name no stage in the cube and follow the general right. A stage followed by a hidden one
    loses its conversion rows too: how many went on would count deals of the hidden stage, and with that stage
    dropped the step would read as one to the stage after it."""
    may_see, shown = rights.may_see, rights.shown
    before_hidden = {(p["id"], a) for p in part["pipelines"]
                     for a, b in zip([s["id"] for s in p["stages"]], [s["id"] for s in p["stages"][1:]] + [WON])
                     if not shown(p["id"], b)}
    out = dict(part)
    for table in STAGED:
        out[table] = [r for r in part[table] if may_see(r[1], r[2], r[3])]
    out["entries"] = [r for r in out["entries"] if (r[1], r[2]) not in before_hidden]
    for table in CURRENT:
        out[table] = [r for r in part[table] if may_see(r[0], r[1], r[2])]
    for table in ("deals", "recent"):
        out[table] = [r for r in part[table] if may_see(r[1], CLOSED.get(r[3], -1), r[2])]
    out["pipelines"] = [{**p, "stages": [s for s in p["stages"] if shown(p["id"], s["id"])]}
                        for p in part["pipelines"]]
    return out
