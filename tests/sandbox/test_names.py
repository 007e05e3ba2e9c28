"""The sandbox's people: a woman's surname agrees with her first name."""
from service.sandbox.generator import generate
from service.sandbox.names import FEMALE, surname


def test_a_surname_takes_the_first_names_gender():
    assert [surname("Иванов", "Анна"), surname("Киселёв", "Ольга"), surname("Никитин", "Мария"),
            surname("Иванов", "Никита"), surname("Громов", "Павел")] == ["Иванова", "Киселёва", "Никитина",
                                                                       "Иванов", "Громов"]


def test_no_generated_woman_has_a_mans_surname():
    world = generate("small", seed=7, now=1767225600)
    people = [user.name for user in world.users.values()] + [contact.name for contact in world.contacts.values()]
    for name in people:
        words = name.split()
        if len(words) == 2 and (set(words) & FEMALE):
            assert not any(word.endswith(("ов", "ев", "ёв", "ин")) for word in words), name
