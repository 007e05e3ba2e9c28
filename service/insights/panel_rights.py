"""The panel's cube cut to what one caller may see of it: amoCRM's per-stage view rights (`status_rights`) hide a
stage's deals from a user, or all of them but their own or their group's, even when their general right is "all"
(real/api11). The card and the attention lists honour them deal by deal (services/widget/access.py); the panel's
figures are sums over (stage, manager) rows, so the same rule drops the rows of the stages and managers hidden.
The general right (`leads.view`) cuts the same way: a chosen supervisor with G sees their group's rows, with M their
own; only account admins see every row."""
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
    sees: Callable[[int], bool] = lambda user: True  # the general right: this manager's deals outside those stages
    whole: bool = True  # the general right is A: figures with no manager (incoming requests) may be shown

    def sees_all_of(self, user: int) -> bool:
        """True when no stage hides any deal of `user`'s: figures summed over all their deals may be shown."""
        return self.sees(user) and all(self.may_see(pipeline, status, user) for pipeline, status in self.stages)


def stage_rule(views: dict, general: str, user_id: int, group: frozenset) -> Rights:
    """The rights from {(pipeline, status): A|G|M|D} and the general right: A every manager's deals, G the caller's
    group's and their own, M their own, D none (the stage is not shown)."""
    seen = {"G": group | {user_id}, "M": frozenset({user_id}), "D": frozenset()}

    def may_see(pipeline: int, status: int, user: int) -> bool:
        view = views.get((pipeline, status), general)
        return view == "A" or user in seen.get(view, ())

    return Rights(may_see, lambda pipeline, status: views.get((pipeline, status), general) != "D", tuple(views),
                  lambda user: general == "A" or user in seen.get(general, ()), general == "A")


def visible_part(part: dict, rights: Rights) -> dict:
    """`part` (one pipeline's cube) without the rows the caller may not see and without the stages hidden from them.

    A won or lost deal stands in amoCRM's closed stage 142 or 143, so its right there decides (a loss also needs the
    stage it was lost from); a deal's creation,
    calls, contacts and stage moves name no stage in the cube and follow the general right (G their group, M their
    own), which also drops the users it hides; incoming requests have no manager and count only under A. A stage
    followed by a hidden one loses its conversion rows too: how many went on would count deals of the hidden stage,
    and with that stage dropped the step would read as one to the stage after it."""
    may_see, shown = rights.may_see, rights.shown
    before_hidden = {(p["id"], a) for p in part["pipelines"]
                     for a, b in zip([s["id"] for s in p["stages"]], [s["id"] for s in p["stages"][1:]] + [WON])
                     if not shown(p["id"], b)}
    out = dict(part)
    for table in STAGED:
        out[table] = [r for r in part[table] if may_see(r[1], r[2], r[3])]
    for table in ("losses", "loss_reasons"):  # the lost deal stands in 143 now: that stage's right hides it too
        out[table] = [r for r in out[table] if may_see(r[1], LOST, r[3])]
    out["entries"] = [r for r in out["entries"] if (r[1], r[2]) not in before_hidden]
    for table in CURRENT:
        out[table] = [r for r in part[table] if may_see(r[0], r[1], r[2])]
    for table in ("deals", "recent"):
        out[table] = [r for r in part[table] if may_see(r[1], CLOSED.get(r[3], -1), r[2])]
    out["calls"] = [r for r in part["calls"] if rights.sees(r[2])]  # [day, pipeline, user, ...]
    out["contacts"] = [r for r in part.get("contacts", []) if rights.sees(r[1])]  # [day, user, n]
    out["incoming"] = part.get("incoming", []) if rights.whole else []  # no manager yet: the account's whole
    out["users"] = [u for u in part["users"] if rights.sees(u["id"])]  # workload lists every user it names
    out["pipelines"] = [{**p, "stages": [s for s in p["stages"] if shown(p["id"], s["id"])]}
                        for p in part["pipelines"]]
    return out
