"""The pure insight core: plain data and `now` in, plain data out; no Redis, clock, network or environment."""
