"""The README's configuration table names every variable config.py reads, and the two commands."""
from service.config import ENV_NAMES
from service.ops.redis_server import ROOT


def test_every_setting_is_in_the_readme_configuration_table():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in ENV_NAMES.values() if f"| `{name}` |" not in readme]
    assert missing == []


def test_the_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
