"""widget.zip as amoCRM takes it (FACTS §3): manifest at the root, script.js and its modules, i18n, images."""
import json
import posixpath
import re
import struct
import zipfile

import pytest

from service.ops import widget_package

API = "https://pulse.example.com"
IMAGES = {"logo_main.png": (400, 272), "logo_small.png": (108, 108), "logo.png": (130, 100),
          "logo_medium.png": (240, 84), "logo_min.png": (84, 84)}
LOCATIONS = {"lcard-1", "widget_page", "advanced_settings"}
DEFINE = re.compile(r"define\(\[([^\]]*)\]")
MODULE_ID = re.compile(r"'([^']+)'")
KEY_LITERAL = re.compile(r"'((?:common|card|list|panel|widget|advanced|menu)\.[a-z0-9_]+)'")
SUPPORT = ("https://help.pulse.example.com", "help@pulse.example.com")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = widget_package.build_zip(tmp_path_factory.mktemp("widget") / "widget.zip", API + "/", *SUPPORT)
    with zipfile.ZipFile(path) as zipped:
        yield zipped


def read_json(archive, name):
    return json.loads(archive.read(name).decode("utf-8"))


def png_size(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def scripts(archive) -> dict:
    """Every JS file in the archive by name, its text as amoCRM would load it."""
    return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".js")}


def module_ids(script: str) -> list:
    """The ids an AMD module names in its define([...])."""
    found = DEFINE.search(re.sub(r"/\*.*?\*/", "", script, flags=re.S))  # not a define() quoted in a comment
    assert found, "not an AMD module"
    return MODULE_ID.findall(found.group(1))


def reached_from_entry(archive) -> set:
    """The archive's files script.js loads, itself included: './x.js' resolved beside the module that names it."""
    seen, todo = set(), ["script.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for module_id in module_ids(archive.read(name).decode("utf-8")):
            if module_id != "jquery":
                path, _, query = module_id.partition("?")
                assert path.startswith("./") and path.endswith(".js"), (name, module_id)
                assert query == f"v={widget_package.version()}", (name, module_id)  # no stale cached module
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), path)))
    return seen


def flat_keys(doc: dict, prefix: str = "") -> set:
    keys = set()
    for key, value in doc.items():
        keys |= flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def manifest_strings(manifest: dict) -> set:
    """The i18n keys the manifest names: widget texts, the advanced page's title, left-menu titles, settings."""
    widget = manifest["widget"]
    keys = {widget[k] for k in ("name", "description", "short_description")}
    keys |= {manifest["advanced"]["title"]} if "advanced" in manifest else set()
    for section in manifest.get("left_menu", {}).values():
        keys |= {section["title"]} if "title" in section else set()
        keys |= {item["title"] for item in section.get("submenu", {}).values()}
    keys |= {field["name"] for field in manifest.get("settings", {}).values()}
    return keys


def test_the_archive_holds_the_manifest_at_its_root_beside_script_i18n_and_images(archive):
    names = set(archive.namelist())
    assert {"manifest.json", "script.js", "i18n/ru.json", "i18n/en.json"} <= names
    assert {f"images/{name}" for name in IMAGES} <= names
    assert not [n for n in names if n.startswith("/") or ".." in n or n.split("/")[-1].startswith(".")]


def test_every_file_script_js_loads_is_in_the_archive_and_every_widget_script_is_loaded(archive):
    names = set(archive.namelist())
    loaded = reached_from_entry(archive)  # fails on an id that names no file of the archive (KeyError)
    assert loaded <= names
    assert loaded == set(scripts(archive)) == set(widget_package.scripts())  # no file shipped that nothing loads
    assert len(loaded) > 5 and {"card.js", "attention.js", "panel.js", "charts.js", "format.js"} <= loaded


def test_a_module_id_naming_no_file_is_caught(tmp_path):
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("script.js", widget_package.versioned("define(['jquery', './card.js'], function ($, c) {});"))
    with zipfile.ZipFile(path) as zipped, pytest.raises(KeyError, match="card.js"):
        reached_from_entry(zipped)


def test_module_ids_are_versioned_in_the_modules_define_only():
    script = "/* as define(['./app.js']) does */\ndefine(['jquery', './card.js'], function ($, card) { x('./no.js'); });"
    stamp = widget_package.version()
    assert widget_package.versioned(script) == script.replace("'./card.js'", f"'./card.js?v={stamp}'")


def test_the_version_comes_from_the_manifest_alone(archive):
    manifest = read_json(archive, "manifest.json")
    assert manifest["widget"]["version"] == widget_package.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["widget"]["version"])
    assert manifest["widget"]["interface_version"] == 2 and manifest["widget"]["installation"] is True


def test_the_widget_lives_in_the_card_a_stats_page_and_the_admins_settings_page(archive):
    manifest = read_json(archive, "manifest.json")
    assert set(manifest["locations"]) == LOCATIONS  # no standing llist-1 panel
    # amocrm.ru/developers/content/web_sdk/left_menu: subsections of amoCRM's Stats section, by submenu code
    assert set(manifest["left_menu"]) == {"stats"}
    assert set(manifest["left_menu"]["stats"]["submenu"]) == {"deal_pulse_attention", "deal_pulse_panel"}
    # the advanced_settings page's title is read at the root, beside widget (FACTS §3), never inside widget
    assert manifest["advanced"] == {"title": "advanced.title"} and "advanced" not in manifest["widget"]


def test_the_support_contact_comes_from_the_settings_and_no_placeholder_ships(archive):
    assert read_json(archive, "manifest.json")["widget"]["support"] == {"link": SUPPORT[0], "email": SUPPORT[1]}
    assert "support" not in json.loads(widget_package.MANIFEST.read_text())["widget"]
    assert ".example" not in widget_package.MANIFEST.read_text()


@pytest.mark.parametrize("api, support, allow_http, problem", [
    ("", SUPPORT, False, "https"), ("http://127.0.0.1:5000", SUPPORT, False, "--allow-http"),
    ("https://", SUPPORT, False, "no host"), (API, ("", ""), False, "SUPPORT_URL and/or SUPPORT_EMAIL"),
    (API, ("http://help.example.com", ""), False, "https link"), (API, ("", "nobody"), False, "not an e-mail"),
])
def test_a_package_that_would_not_work_is_refused(api, support, allow_http, problem):
    with pytest.raises(widget_package.PackageError, match=re.escape(problem)):
        widget_package.check_target(api, *support, allow_http=allow_http)


def test_a_local_preview_package_may_use_http_when_asked():
    widget_package.check_target("http://127.0.0.1:5000", "", "", allow_http=True)
    widget_package.check_target(API, "", SUPPORT[1])


def test_the_command_refuses_without_an_https_public_url(tmp_path, monkeypatch, capsys):
    from service.__main__ import main
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(SystemExit, match="PUBLIC_URL must be an https URL"):
        main(["widget", "--output", str(tmp_path / "w.zip")])
    assert not (tmp_path / "w.zip").exists()
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:5000")
    main(["widget", "--output", str(tmp_path / "w.zip"), "--allow-http"])
    assert (tmp_path / "w.zip").exists() and "API http://127.0.0.1:5000" in capsys.readouterr().out


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


def test_every_i18n_key_the_scripts_use_exists_in_both_locales(archive):
    used = set(KEY_LITERAL.findall("\n".join(scripts(archive).values())))
    assert len(used) > 100
    ru, en = flat_keys(read_json(archive, "i18n/ru.json")), flat_keys(read_json(archive, "i18n/en.json"))
    assert used - ru == set() and used - en == set()
    assert ru == en, ru ^ en


def test_the_scripts_call_our_api_and_nothing_else(archive):
    script = "\n".join(scripts(archive).values())
    assert widget_package.API_PLACEHOLDER not in script
    assert f"var API_BASE = '{API}';" in archive.read("script.js").decode("utf-8")
    urls = set(re.findall(r"https?://[^'\"\s)]+", script))
    assert urls == {API, "http://www.w3.org/2000/svg"}  # no CDN: charts are inline SVG



def test_the_scripts_use_no_undocumented_push_channel(archive):
    script = "\n".join(scripts(archive).values())
    assert "listenSocketChannel" not in script  # no amoCRM document shows it (FACTS §3): the card polls instead
    assert "visibilitychange" in script and "initMenuPage" in script and "advancedSettings" in script
