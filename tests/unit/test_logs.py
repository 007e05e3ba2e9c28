"""Log lines are JSON with the request or job id, and never carry a token, a secret or a personal field."""
import io
import json
import logging

import pytest

from service import logs
from service.config import Settings

SECRETS = [
    ("widget token eyJhbGciOiJIUzI1NiJ9.eyJhY2NvdW50X2lkIjoxfQ.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
    ("Authorization: Bearer 9f8e7d6c5b4a.x-y", "9f8e7d6c5b4a"),
    ("POST /hooks/31000001/Zx9-secret_Part 200", "Zx9-secret_Part"),
    ("refused code=def50200a1b2c3d4e5f6a7b8c9d0e1f2a3b4 for referer", "def50200a1b2c3d4"),
    ('{"access_token": "at-123", "refresh_token": "rt-456"}', "at-123"),
    ('{"access_token": "at-123", "refresh_token": "rt-456"}', "rt-456"),
    ("client_secret=sandbox-secret&client_id=x", "sandbox-secret"),
    ("sealed gAAAAABnZ3x1c2VhbGVkLXNlY3JldC10b2tlbi1ieXRlcw==", "gAAAAABnZ3x1"),
    ("METRICS_TOKEN=metrics-token-value", "metrics-token-value"),
]
PERSONAL = [
    ("leads[add][0][name]=Иван+Петров&leads[add][0][price]=100", "Иван"),
    ("contacts[add][0][custom_fields][0][values][0][value]=ivan%40example.ru", "ivan%40example.ru"),
    ("call from +7 (916) 123-45-67", "123-45-67"),
    ("call from 89161234567", "89161234567"),
    ("write to ivan.petrov@example.ru", "ivan.petrov@example.ru"),
    ('{"name": "Иван Петров", "phone": "+79161234567"}', "Иван"),
]


@pytest.mark.parametrize("line, secret", SECRETS + PERSONAL)
def test_redaction_removes_credentials_and_personal_fields(line, secret):
    assert secret not in logs.redact(line)


@pytest.mark.parametrize("line", ["lead 20000006 moved at 1795770717 by user 5000001",
                                  "GET /api/v1/leads/30052055/hints 200", "queued service.jobs.drain_inbox"])
def test_redaction_keeps_ids_times_and_paths(line):
    assert logs.redact(line) == line


def capture(log_format="json"):
    stream = io.StringIO()
    logger = logging.getLogger("test.logs")
    logger.handlers = [logs.handler("worker", log_format, stream)]
    logger.propagate, logger.level = False, logging.INFO
    return logger, stream


def test_a_json_line_carries_level_logger_process_and_the_redacted_message():
    logger, stream = capture()
    logger.info("account %s token %s", 16700680, "Bearer abc.def", extra={"account_id": 16700680,
                                                                          "access_token": "x"})
    line = json.loads(stream.getvalue())
    assert line["level"] == "info" and line["logger"] == "test.logs" and line["process"] == "worker"
    assert line["msg"] == "account 16700680 token Bearer [redacted]"
    assert line["account_id"] == 16700680 and line["access_token"] == "[redacted]"


def test_a_traceback_is_redacted_too():
    logger, stream = capture()
    try:
        raise RuntimeError("refresh failed for def50200aaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    except RuntimeError:
        logger.exception("sync failed")
    line = json.loads(stream.getvalue())
    assert "RuntimeError" in line["exc"] and "def50200aaaa" not in line["exc"]


def test_text_format_for_people():
    logger, stream = capture("text")
    logger.warning("hello %s", "ivan@example.ru")
    assert stream.getvalue().rstrip().endswith("test.logs: hello [email]")
