"""Canonical form, hashing and normalization: the one definition every store relies on."""

import dataclasses
import json
import math

from mcp_guard.audit.chain import GENESIS, SealedRecord, canonical_json, is_intact, link_hash, normalized, seal
from mcp_guard.audit.redact import Redactor

from .helpers import make_record


def test_canonical_json_is_sorted_compact_ascii_and_includes_seq():
    record = make_record(1, arguments={"b": "é", "a": [1, 2.5]})
    text = canonical_json(record, 7)
    assert text == json.dumps({**json.loads(text)}, sort_keys=True, separators=(",", ":"))
    assert '"seq":7' in text and "\\u00e9" in text and ", " not in text and ": " not in text


def test_seal_links_each_record_to_the_one_before():
    rows = seal(GENESIS, [make_record(n) for n in (1, 2, 3)])
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS.hash and rows[1].prev_hash == rows[0].hash
    assert all(is_intact(row) for row in rows)
    assert rows[2].hash == link_hash(rows[1].hash, rows[2].record, 3)


def test_the_hash_covers_the_seq():
    record = make_record(1)
    assert link_hash(GENESIS.hash, record, 1) != link_hash(GENESIS.hash, record, 2)


def test_normalized_records_hash_the_same_after_a_json_round_trip():
    raw = make_record(1)
    raw = dataclasses.replace(raw, cost=1, time=2, roles=["admin"], arguments={1: b"x", "bad": "\ud800", "n": math.inf})
    record = normalized(raw)
    assert record.cost == 1.0 and isinstance(record.cost, float) and record.roles == ("admin",)
    assert record.arguments == {"1": "b'x'", "bad": "?", "n": math.inf}
    (row,) = seal(GENESIS, [record])
    assert SealedRecord.from_dict(json.loads(json.dumps(row.as_dict()))) == row


def test_redaction_is_case_insensitive_at_any_depth_and_leaves_other_keys():
    redact = Redactor(["Password", "token"])
    record = make_record(1, arguments={"TOKEN": 5, "a": [{"b": {"password": ["x"]}}], "tokens": "kept"})
    assert redact(record).arguments == {
        "TOKEN": "[redacted]",
        "a": [{"b": {"password": "[redacted]"}}],
        "tokens": "kept",
    }


def test_short_secrets_are_not_masked_inside_error_messages():
    redact = Redactor(["pin"])
    record = make_record(1, arguments={"pin": "12"}, error="value 12 is too short; 12 digits wanted")
    assert redact(record).error == record.error
