"""Thin RQ entrypoints: ids in, one service call, exceptions reach RQ."""
from service import bootstrap, services


def drain_inbox(account_id: int) -> int:
    """Apply the account's stored webhooks."""
    return services.drain_inbox(bootstrap.worker_deps(), account_id)
