"""Process plumbing: processes, clock, supervisor, embedded Redis, demo, packaging, migrations."""
