"""Canonical form, hashing and normalization: the one definition every store relies on."""

import collections
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


def _copied_stored_form(record, redactor):
    """The stored form as it was made before the uncopied shortcuts: a redacted copy, then normalised copy."""
    arguments = redactor._redact(record.arguments, [])
    copy = dataclasses.replace(record, arguments=arguments)
    plain = dataclasses.replace(
        copy, time=float(copy.time), cost=float(copy.cost), duration_ms=float(copy.duration_ms), roles=tuple(copy.roles)
    )
    forced = json.loads(json.dumps(plain.as_dict(), default=str, ensure_ascii=False).encode("utf-8", "replace"))
    return {**forced, "roles": tuple(forced["roles"])}


def test_a_record_with_nothing_to_redact_or_normalise_is_stored_as_it_is():
    record = make_record(1, arguments={"text": "hello", "nested": {"n": [1, 2.5, None, True]}})
    redactor = Redactor(["password", "token"])
    assert redactor(record) is record
    assert normalized(record) is record


def test_uncopied_stored_forms_equal_the_copied_ones():
    """Tuples, dict subclasses and wrongly typed fields take the copying paths; every shape ends equal."""
    redactor = Redactor(["password"])
    shapes = [
        {"text": "hello"},
        {"items": (1, 2), "deep": [{"a": (3,)}]},
        collections.OrderedDict(b=1, a=2),
        {"password": 7, "other": "x"},
        {"list": [{"Password": "hunter22"}]},
        {"odd": {1, 2}},
    ]
    for arguments in shapes:
        for raw in (make_record(1, arguments=arguments), dataclasses.replace(make_record(2), cost=1, roles=["r"])):
            if raw.arguments is not arguments:
                raw = dataclasses.replace(raw, arguments=arguments)
            stored = normalized(redactor(raw))
            assert {**stored.as_dict(), "roles": stored.roles} == _copied_stored_form(raw, redactor), arguments
