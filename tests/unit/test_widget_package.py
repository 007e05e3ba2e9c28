"""widget.zip as amoCRM takes it (FACTS §3): manifest at the root, script, i18n for every manifest string, images."""
import json
import re
import struct
import zipfile

import pytest

from service import widget_package

API = "https://pulse.example.com"
IMAGES = {"logo_main.png": (400, 272), "logo_small.png": (108, 108), "logo.png": (130, 100),
          "logo_medium.png": (240, 84), "logo_min.png": (84, 84)}
LOCATIONS = {"lcard-1", "llist-1", "advanced_settings"}
KEY_LITERAL = re.compile(r"'((?:common|card|list|panel|widget|advanced)\.[a-z0-9_]+)'")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = widget_package.build_zip(tmp_path_factory.mktemp("widget") / "widget.zip", API + "/")
    with zipfile.ZipFile(path) as zipped:
        yield zipped


def read_json(archive, name):
    return json.loads(archive.read(name).decode("utf-8"))


def png_size(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def flat_keys(doc: dict, prefix: str = "") -> set:
    keys = set()
    for key, value in doc.items():
        keys |= flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def manifest_strings(manifest: dict) -> set:
    """The i18n keys the manifest names: widget texts, the advanced page's title, settings field names."""
    widget = manifest["widget"]
    keys = {widget[k] for k in ("name", "description", "short_description")}
    keys |= {widget["advanced"]["title"]} if "advanced" in widget else set()
    keys |= {field["name"] for field in manifest.get("settings", {}).values()}
    return keys


def test_the_archive_holds_the_manifest_at_its_root_beside_script_i18n_and_images(archive):
    names = set(archive.namelist())
    assert {"manifest.json", "script.js", "i18n/ru.json", "i18n/en.json"} <= names
    assert {f"images/{name}" for name in IMAGES} <= names
    assert not [n for n in names if n.startswith("/") or ".." in n or n.split("/")[-1].startswith(".")]


def test_the_version_comes_from_the_manifest_alone(archive):
    manifest = read_json(archive, "manifest.json")
    assert manifest["widget"]["version"] == widget_package.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["widget"]["version"])
    assert manifest["widget"]["interface_version"] == 2 and manifest["widget"]["installation"] is True


def test_the_widget_lives_in_the_card_the_list_and_the_advanced_settings_page(archive):
    manifest = read_json(archive, "manifest.json")
    assert set(manifest["locations"]) == LOCATIONS
    assert "advanced" in manifest["widget"]  # the advanced_settings page needs its title


@pytest.mark.parametrize("name,size", sorted(IMAGES.items()))
def test_images_have_amocrm_sizes_and_weigh_at_most_300_kb(archive, name, size):
    data = archive.read(f"images/{name}")
    assert png_size(data) == size and len(data) <= 300 * 1024


def test_every_manifest_string_has_a_text_in_every_locale(archive):
    manifest = read_json(archive, "manifest.json")
    assert manifest["widget"]["locale"] == ["ru", "en"]
    for lang in manifest["widget"]["locale"]:
        keys = flat_keys(read_json(archive, f"i18n/{lang}.json"))
        assert manifest_strings(manifest) - keys == set(), lang


def test_every_i18n_key_the_script_uses_exists_in_both_locales(archive):
    used = set(KEY_LITERAL.findall(archive.read("script.js").decode("utf-8")))
    assert len(used) > 100
    ru, en = flat_keys(read_json(archive, "i18n/ru.json")), flat_keys(read_json(archive, "i18n/en.json"))
    assert used - ru == set() and used - en == set()
    assert ru == en, ru ^ en


def test_the_script_calls_our_api_and_nothing_else(archive):
    script = archive.read("script.js").decode("utf-8")
    assert widget_package.API_PLACEHOLDER not in script
    assert f"var API_BASE = '{API}';" in script
    urls = set(re.findall(r"https?://[^'\"\s)]+", script))
    assert urls == {API, "http://www.w3.org/2000/svg"}  # no CDN: charts are inline SVG

