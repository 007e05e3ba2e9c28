"""Funnel measurements from spells: who entered which stage, where they were lost, honest stage-to-stage steps."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from service.model import CLOSED_STATUSES, LOST, WON, Lead, Pipeline
from service.insights.rates import Rate, pooled, rate
from service.insights.spells import Spell


@dataclass(frozen=True)
class Step:
    """Of the deals that entered `from_status` in the period, how many later entered `to_status` itself."""

    from_status: int
    to_status: int
    rate: Rate


@dataclass(frozen=True)
class StageLosses:
    """Deals lost straight from one stage in the period."""

    status_id: int
    count: int
    amount: float
    top_reasons: tuple  # ((loss_reason name, count), ...) most frequent first


def first_entries(spells: Iterable[Spell], user_of: Optional[Mapping[int, int]] = None,
                  user_id: Optional[int] = None) -> dict[int, dict[int, int]]:
    """lead_id -> {status_id: first time it entered}, closed statuses included; optionally one manager's."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for lead_id, _, status_id, entered_at, left_at, next_status_id in spells:  # unpacked: one spell per stay
        if user_id is not None and user_of.get(lead_id) != user_id:
            continue
        entries = out[lead_id]
        if entries.get(status_id, entered_at + 1) > entered_at:
            entries[status_id] = entered_at
        if next_status_id in (WON, LOST) and left_at is not None:
            entries[next_status_id] = left_at
    return out


def funnel_stages(pipeline: Pipeline) -> list:
    """The pipeline's working stages in funnel order; won and lost are outcomes, not stages."""
    return [s for s in sorted(pipeline.stages, key=lambda s: s.sort) if s.id not in CLOSED_STATUSES]


def steps(entries: Mapping[int, Mapping[int, int]], pipeline: Pipeline, start: int, end: int,
          prior: Optional[Mapping[tuple, float]] = None, strength: float = 20.0) -> list[Step]:
    """Consecutive-stage conversion; a deal that skips the next stage does not count as passing it."""
    order = [s.id for s in funnel_stages(pipeline)] + [WON]
    counts = {pair: [0, 0] for pair in zip(order, order[1:])}
    step_from = {a: (b, counts[(a, b)]) for a, b in counts}
    for times in entries.values():
        for a, entered in times.items():  # a deal's few statuses, not every step of the pipeline
            if a in step_from and start <= entered < end:
                b, pair = step_from[a]
                pair[1] += 1
                pair[0] += times.get(b, -1) >= entered
    base = pooled(counts.values())
    return [Step(a, b, rate(w, n, (prior or {}).get((a, b), base), strength)) for (a, b), (w, n) in counts.items()]


def losses_by_stage(spells: Iterable[Spell], leads: Mapping[int, Lead], start: int, end: int,
                    loss_reasons: Mapping[int, str], user_id: Optional[int] = None) -> dict[int, StageLosses]:
    """Per stage: deals whose move to "lost" happened in [start, end), their sum and top loss reasons."""
    count, amount, reasons = Counter(), Counter(), defaultdict(Counter)
    for s in spells:
        if s.next_status_id != LOST or s.left_at is None or not start <= s.left_at < end:
            continue
        lead = leads.get(s.lead_id)
        if lead is None or (user_id is not None and lead.responsible_user_id != user_id):
            continue
        count[s.status_id] += 1
        amount[s.status_id] += lead.price
        if lead.loss_reason_id is not None:
            reasons[s.status_id][loss_reasons.get(lead.loss_reason_id, str(lead.loss_reason_id))] += 1
    return {st: StageLosses(st, count[st], amount[st], tuple(reasons[st].most_common(3))) for st in count}


def worst_loss_stage(losses: Mapping[int, StageLosses]) -> Optional[StageLosses]:
    """The stage that lost the most deals (then the most money)."""
    return max(losses.values(), key=lambda x: (x.count, x.amount), default=None)
