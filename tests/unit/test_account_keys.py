"""Every account key carries the account's Redis Cluster hash tag; the untagged form is only the migration's."""
from redis.crc import key_slot

from service.store.keys import account_key, legacy_account_prefix


def test_account_keys_are_hash_tagged_by_the_account_id():
    assert account_key(42, "timeline", "history") == "acct:{42}:timeline:history"
    assert account_key("42", "inbox") == "acct:{42}:inbox"
    assert {key_slot(account_key(42, part).encode()) for part in ("inbox", "leads", "cards", "lock:drain")} == \
        {key_slot(b"42")}


def test_the_old_untagged_prefix_is_kept_for_the_migration_only():
    assert legacy_account_prefix(42) == "acct:42:"
