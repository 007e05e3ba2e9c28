"""PHP-style form keys decode generically into nested groups."""
import pytest

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
