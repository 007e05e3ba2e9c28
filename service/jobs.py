"""Thin RQ entrypoints: ids in, one service call, exceptions reach RQ."""
from service import bootstrap, intake, services


def drain_inbox(account_id: int) -> dict:
    """Apply the account's stored webhooks."""
    return intake.drain_inbox(bootstrap.worker_deps(), account_id)


def recheck_leads(account_id: int, lead_ids: list[int]) -> None:
    """Recompute cards whose facts changed with time alone (a task fell due)."""
    services.recompute_cards(bootstrap.worker_deps(), account_id, lead_ids)
