"""Plain settings of the insight core: every limit a supervisor may tune, with its default."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

DAY = 86400
HOUR = 3600


@dataclass(frozen=True)
class StageOverride:
    """A supervisor's own time limit for one stage, in days."""

    warn_days: float
    crit_days: Optional[float] = None

    @property
    def critical_days(self) -> float:
        """The critical limit; half again the warning limit when not set."""
        return self.crit_days if self.crit_days is not None else self.warn_days * 1.5


OverrideValue = Union[StageOverride, float, int]


@dataclass(frozen=True)
class InsightSettings:
    """Tunable limits of the insight catalogue (defaults follow DESIGN.md)."""

    window_days: int = 180
    min_exits: int = 20
    default_warn_days: float = 14.0
    default_crit_days: float = 21.0
    no_activity_days: float = 7.0
    overdue_warning_hours: float = 1.0
    overdue_critical_hours: float = 24.0
    close_date_critical_days: float = 7.0
    close_date_field_id: Optional[int] = None  # the lead date field holding the planned close date (None: none)
    close_date_field_type: str = "date"  # its amoCRM type: a "date" passes when its day ends, a "date_time" at once
    plan_impact_warning_share: float = 0.25
    prior_strength: float = 20.0
    forecast_sims: int = 1000
    plan_sims: int = 400
    seed: int = 0
    # status_id (or (pipeline_id, status_id)) -> override; status ids are unique within an account
    stage_overrides: Mapping[object, OverrideValue] = field(default_factory=dict)


def as_override(value: OverrideValue) -> StageOverride:
    """Accept a bare number of warning days as well as a StageOverride."""
    return value if isinstance(value, StageOverride) else StageOverride(float(value))
