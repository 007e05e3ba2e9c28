"""PHP-style form keys decode generically into nested groups."""
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from service.amocrm.form import FormError, items_of, parse_php_form


def test_nested_keys_become_nested_groups():
    form = parse_php_form(b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B1%5D%5Bid%5D=2&account%5Bid%5D=5")
    assert form == {"leads": {"status": {"0": {"id": "1"}, "1": {"id": "2"}}}, "account": {"id": "5"}}


def test_items_come_in_numeric_order():
    assert [k for k, _ in items_of({"10": {}, "2": {}, "0": {}})] == ["0", "2", "10"]


def test_empty_brackets_append():
    assert parse_php_form(b"tags%5B%5D=a&tags%5B%5D=b") == {"tags": {"0": "a", "1": "b"}}


@pytest.mark.parametrize("body, message", [
    (b"a%5Bb=1", "malformed key"),
    (b"a=1&a%5Bb%5D=2", "both a value and a group"),
    (b"a%5Bb%5D=2&a=1", "both a value and a group"),
    (b"a" + b"%5Bx%5D" * 9 + b"=1", "deeper than"),
    (b"\xff", "not UTF-8"),
    (b"novalue", "not form-encoded"),
])
def test_malformed_forms_name_the_problem(body, message):
    with pytest.raises(FormError, match=message):
        parse_php_form(body)


VALUE_SCRAPS = st.sampled_from(["a", "+", "%20", "%2B", "%26", "%3D", "=", "%", "%zz", "%C2%B2", "%E2%82", "ü",
                                "[", "]", "%5B", "%5b", "%5D"])
KEY_SCRAPS = st.sampled_from(["a", "b", "+", "%20", "%2B", "%26", "%3D", "%", "%zz", "%C2%B2", "%E2%82", "ü"])


@settings(max_examples=300, deadline=None, database=None)
@given(pairs=st.lists(st.tuples(st.lists(KEY_SCRAPS, min_size=1, max_size=6), st.lists(VALUE_SCRAPS, max_size=6)),
                      max_size=6))
def test_flat_keys_and_values_decode_as_parse_qsl_does(pairs):
    body = "&".join("".join(key) + "=" + "".join(value) for key, value in pairs)
    assert parse_php_form(body.encode()) == dict(parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body)))
