"""The Redis adapter: every key name and encoding of account data."""
