"""Generated accounts are byte for byte what they were: the seeded random stream and the file writer both fixed.

Tests, benches and fixtures compare against accounts generated from a seed; a speed-up of the generator or the
writer that changed one draw or one byte would silently move every figure measured on them."""
from __future__ import annotations

import hashlib
import pathlib
import subprocess
import sys

import pytest

from service.sandbox import accountfile
from service.sandbox.generator import generate

NOW = 1767225600  # 2026-01-01 00:00 UTC
ROOT = pathlib.Path(__file__).resolve().parents[2]
# sha256 and length of accountfile.write's output, recorded from the generator of main at e938598.
GOLDEN = {
    ("small", 7, None, None): ("ff1f6b463c1ece18e7fe8d1ff1c3fcb75f2fac32b551a8717dceafd503c6bf54", 6285684),
    ("small", 3, 40, 3): ("76e89e9aa0e38723544b8cdbad05edf1f676f91f82ca7e120a106bb40e7c5786", 550598),
    ("small", 4, 300, 4): ("2c1c11c38577ee0fc7a1a2e7dc33d89c9e650c5e7b047549703bd9ad877f77f8", 3848950),
}


class Digest:
    """A binary stream that only hashes what is written to it."""

    def __init__(self):
        self.hash, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)


@pytest.mark.parametrize("size, seed, leads, managers", sorted(GOLDEN, key=str))
def test_a_generated_account_file_is_byte_for_byte_the_recorded_one(size, seed, leads, managers):
    world = generate(size, seed=seed, now=NOW, leads=leads, managers=managers)
    out = Digest()
    accountfile.write(world, out)
    assert (out.hash.hexdigest(), out.size) == GOLDEN[size, seed, leads, managers]


def test_the_cli_prints_the_same_file():
    """The command line generates with the GC off and leaves through os._exit once the file is flushed."""
    out = subprocess.run([sys.executable, "-m", "service.sandbox", "generate", "--size", "small", "--seed", "7",
                          "--now", str(NOW)], cwd=ROOT, capture_output=True, check=True, timeout=120)
    assert out.stdout.endswith(b"}\n")
    assert (hashlib.sha256(out.stdout[:-1]).hexdigest(), len(out.stdout) - 1) == GOLDEN["small", 7, None, None]


def test_the_world_fixture_is_a_copy_of_the_generated_account(world):
    """Sandbox tests get their account from a pickled template; it must be the generated one, byte for byte."""
    out = Digest()
    accountfile.write(world, out)
    assert (out.hash.hexdigest(), out.size) == GOLDEN["small", 7, None, None]
