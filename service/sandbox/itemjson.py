"""Leads, contacts, tasks, call notes and incoming requests written straight to JSON bytes for account files (the
large account has ~1 M).

Same idea as eventjson: one %-template per account with the shared parts baked in, instead of a dict per record
(render.lead / contact / task / note) serialised afterwards. Templates are bytes, not str: bytes % is a third faster
than str % (more so once a Cyrillic name makes the str two bytes a character), and the text needs no encoding after.
The bytes are exactly orjson's rendering of those dicts (tests/sandbox/test_accountfile.py); a record with a field of
an unexpected type (the control API passes JSON values through as they come) falls back to the dict.
"""
from __future__ import annotations

import itertools

import orjson

from . import render, render_account

TASK = ('{"id":%d,"created_by":%d,"updated_by":%d,"created_at":%d,"updated_at":%d,"responsible_user_id":%d,'
        '"group_id":%d,"entity_id":%d,"entity_type":%s,"duration":%d,"is_completed":%s,"task_type_id":%d,'
        '"text":%s,"result":%s,"complete_till":%d,"account_id":ACCOUNT,"_links":{"self":{"href":"BASE/api/v4/tasks/%d"}}}')
NOTE = ('{"id":%d,"entity_id":%d,"created_by":%d,"updated_by":%d,"created_at":%d,"updated_at":%d,'
        '"responsible_user_id":%d,"group_id":%d,"note_type":%s,"params":{"uniq":%s,"duration":%d,"source":%s,'
        '"link":null,"phone":%s,"call_responsible":%s},"account_id":ACCOUNT,'
        '"_links":{"self":{"href":"BASE/api/v4/leads/%d/notes/%d"}}}')
BOOL = {True: b"true", False: b"false"}


def _bake(template: str, world, base: str) -> bytes:
    """The template with this account's id and base URL (escaped for JSON, then for %), as UTF-8."""
    href = orjson.dumps(base).decode()[1:-1].replace("%", "%%")
    return template.replace("ACCOUNT", str(world.account["id"])).replace("BASE", href).encode()


class Strings(dict):
    """JSON bytes of strings, remembered (task texts, sources and users repeat across records)."""

    def __missing__(self, value) -> bytes:
        text = orjson.dumps(value)
        if len(self) < 100_000:
            self[value] = text
        return text


def chunks(texts, size: int = 1000):
    """Texts (bytes) joined by commas, `size` at a time."""
    texts = iter(texts)
    while part := list(itertools.islice(texts, size)):
        yield b",".join(part)


def tasks_text(world, items, base: str):
    """JSON bytes of each task, in order."""
    template, strings = _bake(TASK, world, base), Strings()
    for t in items:
        ints = (t.id, t.created_by, t.updated_by, t.created_at, t.updated_at, t.responsible_user_id, t.group_id,
                t.entity_id, t.duration, t.task_type_id, t.complete_till)
        if set(map(type, ints)) != {int} or type(t.is_completed) is not bool or type(t.text) is not str \
                or type(t.entity_type) is not str or not (t.result_text is None or type(t.result_text) is str):
            yield orjson.dumps(render.task(world, t, base))
            continue
        result = b'{"text":%s}' % strings[t.result_text] if t.result_text else b"[]"
        yield template % (t.id, t.created_by, t.updated_by, t.created_at, t.updated_at, t.responsible_user_id,
                          t.group_id, t.entity_id, strings[t.entity_type], t.duration, BOOL[t.is_completed],
                          t.task_type_id, strings[t.text], result, t.complete_till, t.id)


def notes_text(world, items, base: str):
    """JSON bytes of each call note, in order."""
    template, strings = _bake(NOTE, world, base), Strings()
    names = {uid: orjson.dumps(user.name) for uid, user in world.users.items()}
    for n in items:
        ints = (n.id, n.entity_id, n.created_by, n.created_at, n.responsible_user_id, n.group_id, n.duration)
        texts = (n.note_type, n.uniq, n.source, n.phone)
        if set(map(type, ints)) != {int} or set(map(type, texts)) != {str} or n.link is not None:
            yield orjson.dumps(render.note(world, n, base))
            continue
        # call_out names the responsible user by id, call_in by name (render.note).
        caller = b"%d" % n.responsible_user_id if n.note_type == "call_out" \
            else names.get(n.responsible_user_id, b'""')
        yield template % (n.id, n.entity_id, n.created_by, n.created_by, n.created_at, n.created_at,
                          n.responsible_user_id, n.group_id, strings[n.note_type], orjson.dumps(n.uniq),
                          n.duration, strings[n.source], orjson.dumps(n.phone), caller, n.entity_id, n.id)


CONTACT = ('{"id":%d,"name":%s,"first_name":%s,"last_name":%s,"responsible_user_id":%d,"group_id":%d,'
           '"created_by":%d,"updated_by":%d,"created_at":%d,"updated_at":%d,"closest_task_at":null,"is_deleted":%s,'
           '"is_unsorted":false,"custom_fields_values":%s,"account_id":ACCOUNT,'
           '"_links":{"self":{"href":"BASE/api/v4/contacts/%d"}},"_embedded":{"tags":[],"companies":[],"leads":[%s]}}')
PHONE = ('[{"field_id":%s,"field_name":"Телефон","field_code":"PHONE","field_type":"multitext",'
         '"values":[{"value":%s,"enum_id":1,"enum_code":"WORK"}]}]')
LEAD_LINK = '{"id":%d,"_links":{"self":{"href":"BASE/api/v4/leads/%d"}}}'


def contacts_text(world, items, base: str):
    """JSON bytes of each contact with its leads (render.contact with leads), in order."""
    template, strings = _bake(CONTACT, world, base), Strings()
    field_id = orjson.dumps(world.account.get("phone_field_id", 1)).decode().replace("%", "%%")
    phone = PHONE.replace("%s", field_id, 1).encode()
    lead_link = _bake(LEAD_LINK, world, base)
    for c in items:
        ints = (c.id, c.responsible_user_id, c.group_id, c.created_by, c.created_at, c.updated_at, *c.lead_ids)
        if set(map(type, ints)) != {int} or type(c.name) is not str or type(c.phone) is not str \
                or type(c.is_deleted) is not bool:
            yield orjson.dumps(render.contact(world, c, base, frozenset({"leads"})))
            continue
        first, _, last = c.name.partition(" ")
        fields = phone % orjson.dumps(c.phone) if c.phone else b"null"
        leads = b",".join([lead_link % (lid, lid) for lid in c.lead_ids])
        yield template % (c.id, strings[c.name], strings[first], strings[last], c.responsible_user_id, c.group_id,
                          c.created_by, c.created_by, c.created_at, c.updated_at, BOOL[c.is_deleted], fields, c.id,
                          leads)


LEAD = ('{"id":%d,"name":%s,"price":%d,"responsible_user_id":%d,"group_id":%d,"status_id":%d,"pipeline_id":%d,'
        '"loss_reason_id":%s,"source_id":%s,"created_by":%d,"updated_by":%d,"created_at":%d,"updated_at":%d,'
        '"closed_at":%s,"closest_task_at":%s,"is_deleted":%s,"custom_fields_values":%s,"score":null,'
        '"account_id":ACCOUNT,"_links":{"self":{"href":"BASE/api/v4/leads/%d"}},'
        '"_embedded":{"tags":[],%s"companies":[],"contacts":[%s]}}')
CONTACT_LINK = '{"id":%d,"is_main":%s,"_links":{"self":{"href":"BASE/api/v4/contacts/%d"}}}'
CLOSE_DATE = ('[{"field_id":%s,"field_name":%s,"field_code":null,"field_type":"date","values":[{"value":%%d}]}]')
OPTIONAL = {int, type(None)}


def leads_text(world, items, base: str):
    """JSON bytes of each lead with contacts and loss reason (render.lead), in order."""
    template, strings, contact_link = _bake(LEAD, world, base), Strings(), _bake(CONTACT_LINK, world, base)
    field = world.close_date_field
    close_date = (CLOSE_DATE % tuple(orjson.dumps(v).decode().replace("%", "%%")
                                     for v in (field["id"], field["name"]))).encode()
    reasons = {rid: b'"loss_reason":[%s],' % orjson.dumps(render.loss_reason(r, base))
               for rid, r in world.loss_reasons.items()}
    for x in items:
        ints = (x.id, x.price, x.responsible_user_id, x.group_id, x.status_id, x.pipeline_id, x.created_by,
                x.updated_by, x.created_at, x.updated_at, *x.contact_ids)
        optional = (x.loss_reason_id, x.source_id, x.closed_at, x.closest_task_at, x.close_date)
        if set(map(type, ints)) != {int} or not set(map(type, optional)) <= OPTIONAL or x.tags \
                or type(x.name) is not str or type(x.is_deleted) is not bool:
            yield orjson.dumps(render.lead(world, x, base, frozenset({"contacts", "loss_reason"})))
            continue
        reason = reasons.get(x.loss_reason_id, b"") if x.status_id == render.LOST else b""
        contacts = b",".join([contact_link % (cid, b"true" if i == 0 else b"false", cid)
                              for i, cid in enumerate(x.contact_ids)])
        yield template % (
            x.id, strings[x.name], x.price, x.responsible_user_id, x.group_id, x.status_id, x.pipeline_id,
            _opt(x.loss_reason_id), _opt(x.source_id), x.created_by, x.updated_by, x.created_at, x.updated_at,
            _opt(x.closed_at), _opt(x.closest_task_at), BOOL[x.is_deleted],
            b"null" if x.close_date is None else close_date % x.close_date, x.id, reason, contacts)


def _opt(value) -> bytes:
    """An int or null."""
    return b"null" if value is None else b"%d" % value


UNSORTED = ('{"uid":%s,"source_uid":null,"source_name":%s,"category":%s,"pipeline_id":%d,"created_at":%d,'
            '"metadata":%s,"account_id":ACCOUNT,"_links":{"self":{"href":"BASE/api/v4/leads/unsorted/%s"}},'
            '"_embedded":{"contacts":[{"id":%d,"_links":{"self":{"href":"BASE/api/v4/contacts/%d"}}}],'
            '"leads":[{"id":%d,"_links":{"self":{"href":"BASE/api/v4/leads/%d"}}}],"companies":[]}}')
# render_account.unsorted_metadata per category; chats (and any other category) share the last one.
METADATA = {
    "sip": ('{"from":"%s","phone":%s,"called_at":%d,"duration":"%d","link":null,"service_code":"sandbox_pbx"}'),
    "forms": ('{"form_id":"1","form_name":%s,"form_page":"https://example.com","ip":"127.0.0.1","form_sent_at":%d,'
              '"referer":"https://example.com","visitor_uid":%s}'),
    "mail": ('{"from":{"email":"client@example.com","name":"Client"},"to":{"email":"sales@example.com",'
             '"name":"Sales"},"subject":"Заявка","received_at":%d,"thread_id":1,"message_id":1,'
             '"content_summary":"Заявка"}'),
    None: ('{"from":%s,"service_id":"sandbox","client":{"name":"Client","avatar":null},"origin":%s,'
           '"last_message_text":"Здравствуйте","source_name":%s}'),
}


def unsorted_text(world, items, base: str):
    """JSON bytes of each incoming request (render_account.unsorted), in order."""
    template, strings = _bake(UNSORTED, world, base), Strings()
    meta = {category: text.encode() for category, text in METADATA.items()}
    for u in items:
        ints = (u.pipeline_id, u.created_at, u.lead_id, u.contact_id, u.duration)
        texts = (u.uid, u.category, u.source_name, u.phone)
        digits = ("".join(ch for ch in u.phone if ch.isdigit()) or "0") if u.category == "sip" else ""
        # orjson refuses ints past 64 bits: such a phone keeps failing through the dict as it did
        if set(map(type, ints)) != {int} or set(map(type, texts)) != {str} or len(digits) > 18:
            yield orjson.dumps(render_account.unsorted(world, u, base))
            continue
        uid, source = orjson.dumps(u.uid), strings[u.source_name]
        yield template % (uid, source, strings[u.category], u.pipeline_id, u.created_at,
                          _metadata(u, meta, digits, uid, source), uid[1:-1], u.contact_id, u.contact_id,
                          u.lead_id, u.lead_id)


def _metadata(u, meta: dict, digits: str, uid: bytes, source: bytes) -> bytes:
    """The request's metadata object, as render_account.unsorted_metadata builds it."""
    if u.category == "sip":
        return meta["sip"] % (digits.encode(), str(int(digits)).encode(), u.created_at - u.duration, u.duration)
    if u.category == "forms":
        return meta["forms"] % (source, u.created_at, orjson.dumps(u.uid[:36]))
    if u.category == "mail":
        return meta["mail"] % u.created_at
    return meta[None] % (orjson.dumps(u.phone), source, source)
