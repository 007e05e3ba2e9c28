"""A sync run's documents (progress, cursors)."""
from __future__ import annotations

import json

from service.store.keys import account_key


class SyncDocuments:
    """A sync run's documents (progress, cursors)."""

    def save_sync(self, account_id: int, name: str, document: dict) -> None:
        """Write one sync document: progress, checkpoint or watermarks."""
        self.redis.set(account_key(account_id, "sync", name), json.dumps(document))

    def get_sync(self, account_id: int, name: str) -> dict:
        """One sync document ({} when absent)."""
        return json.loads(self.redis.get(account_key(account_id, "sync", name)) or "{}")

    def delete_sync(self, account_id: int, name: str) -> None:
        """Forget one sync document (a finished run's checkpoint)."""
        self.redis.delete(account_key(account_id, "sync", name))
