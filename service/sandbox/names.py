"""People's names in the sandbox: a surname takes the first name's gender («Анна Иванова», not «Анна Иванов»)."""
from __future__ import annotations

FEMALE = frozenset({"Анна", "Мария", "Ольга", "Елена", "Наталья", "Татьяна", "Юлия", "Ксения", "Светлана", "Ирина"})


def surname(last: str, first: str) -> str:
    """`last` as a woman's surname when `first` is a woman's name (the -ов, -ев, -ёв, -ин surnames take -а)."""
    return last + "а" if first in FEMALE and last.endswith(("ов", "ев", "ёв", "ин")) else last
