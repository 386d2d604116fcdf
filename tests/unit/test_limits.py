"""The limits of `domain.limits` as properties of the command models (issue 8), over any input
hypothesis makes up, every Unicode character included (controls, lone surrogates): what a model
accepts holds only texts both databases store, within their caps, and comes back equal through
JSON (as it travels to the workflow and its history); a control character anywhere in a text is
refused with `forbidden_character`; and the largest body each route accepts fits under the body
cap, so the cap refuses no valid request."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.app import create_app
from api.auth import Authenticator
from domain import commands, limits
from domain.catalogue import Agency
from domain.dossier import Applicant, Procedure

BODIES: list[type[BaseModel]] = [
    commands.ConsultationBody,
    commands.ReplyBody,
    commands.SosBody,
    commands.SupplementBody,
    commands.ResumeBody,
    commands.ApologyBody,
    commands.WithdrawalBody,
    commands.ConfirmationBody,
    commands.ResultBody,
    commands.HandoverBody,
    commands.Actor,
    Applicant,
    Procedure,
    Agency,
]

# Any character at all, and texts from empty to beyond the longest cap.
ANY_CHARACTER = st.characters(exclude_categories=())
PRINTABLE = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
TEXTS = st.one_of(  # printable ones twice as often, so that many inputs are accepted
    PRINTABLE,
    PRINTABLE,
    st.text(ANY_CHARACTER, max_size=30),
    st.builds(lambda c, n: c * n, ANY_CHARACTER, st.integers(0, limits.LONG_TEXT_MAX + 10)),
)
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolved(defs[schema["$ref"].split("/")[-1]], defs)
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    return _resolved(variants[0], defs) if variants else schema


def _values(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the JSON type a field's schema says, any content: limits are not assumed."""
    if any(variant.get("type") == "null" for variant in schema.get("anyOf", [])):
        return st.one_of(st.none(), _values(_resolved(schema, defs), defs))
    schema = _resolved(schema, defs)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("type") == "array":  # mostly short items, so that some lists are accepted
        items = st.one_of(PRINTABLE, _values(schema["items"], defs))
        return st.lists(items, max_size=limits.AGENCIES_MAX + 3)
    if schema.get("type") == "integer":
        return st.one_of(st.integers(1, 30), st.integers(-5, 4000), st.integers(-(2**80), 2**80))
    if schema.get("format") == "date-time":
        return st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    if schema.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    return TEXTS


def inputs(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    return st.fixed_dictionaries(
        {name: _values(field, defs) for name, field in schema["properties"].items()}
    )


def _texts_within_their_caps(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> None:
    schema = _resolved(schema, defs)
    if isinstance(value, str):
        if "maxLength" in schema:
            assert len(value) <= schema["maxLength"], schema
        else:  # not a text: a time, a date or one of a list of words
            assert "enum" in schema or schema.get("format") in ("date", "date-time"), schema
        assert limits.forbidden_character(value, multiline=True) is None
        value.encode("utf-8")  # no lone surrogate: both databases store it
    elif isinstance(value, list):
        assert len(value) <= schema["maxItems"], schema
        for item in value:
            _texts_within_their_caps(item, schema["items"], defs)
    elif isinstance(value, dict):
        for name, item in value.items():
            _texts_within_their_caps(item, schema["properties"][name], defs)
    elif isinstance(value, int) and not isinstance(value, bool):
        assert -(2**63) <= value < 2**63


@pytest.mark.parametrize("model", BODIES, ids=lambda m: m.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_accepted_command_holds_only_bounded_storable_text_and_survives_json(
    model: type[BaseModel], data: st.DataObject
) -> None:
    raw = data.draw(inputs(model))
    try:
        accepted = model.model_validate(raw)
    except ValidationError:
        return
    schema = model.model_json_schema()
    dumped = accepted.model_dump(mode="json")
    for name, value in dumped.items():
        _texts_within_their_caps(value, schema["properties"][name], schema.get("$defs", {}))
    assert model.model_validate_json(accepted.model_dump_json()) == accepted


# Each model with one valid input and its texts: (field, multi-line).
VALID: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, bool]]]] = {
    commands.ConsultationBody: (
        {"agencies": ["CAT"], "content": "Xin ý kiến", "deadline": "2030-01-02T10:00:00+07:00"},
        [("content", True)],
    ),
    commands.ReplyBody: ({"opinion": "Đồng ý", "late_reason": "Mưa"}, [("opinion", True)]),
    commands.SosBody: ({"action": "stop", "reason": "Chờ"}, [("reason", True)]),
    commands.WithdrawalBody: (
        {"reason": "Rút", "application_ref": "Đơn 12"},
        [("reason", True), ("application_ref", False)],
    ),
    commands.ResultBody: (
        {"outcome": "approved", "document_no": "7/GPXD", "summary": "Cấp phép"},
        [("document_no", False), ("summary", True)],
    ),
    commands.HandoverBody: ({"received_by": "Lê Văn A"}, [("received_by", False)]),
    Applicant: (
        {"name": "Lê Văn A", "phone": "0912345678", "address": "Biên Hòa"},
        [("name", False), ("phone", False), ("address", False)],
    ),
}
TEXT_FIELDS = [
    (model, field, lines) for model, (_, fields) in VALID.items() for field, lines in fields
]


@pytest.mark.parametrize(
    ("model", "field", "multiline"),
    TEXT_FIELDS,
    ids=[f"{m.__name__}.{f}" for m, f, _ in TEXT_FIELDS],
)
@settings(max_examples=60, deadline=None)
@given(control=st.sampled_from(CONTROLS), where=st.floats(0, 1))
def test_a_control_character_in_a_text_is_refused(
    model: type[BaseModel], field: str, multiline: bool, control: str, where: float
) -> None:
    valid, _ = VALID[model]
    text = valid[field]
    at = int(where * len(text))
    tainted = {**valid, field: text[:at] + control + text[at:]}
    if multiline and control in "\n\r\t":
        assert getattr(model.model_validate(tainted), field) == tainted[field]
        return
    with pytest.raises(ValidationError) as refused:
        model.model_validate(tainted)
    [error] = refused.value.errors()
    assert (error["type"], error["loc"]) == ("forbidden_character", (field,))


def _largest(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The largest JSON value `schema` allows, with texts of Vietnamese letters (6 bytes each as
    `\\uXXXX`) where the pattern allows them; every text must have a cap."""
    schema = _resolved(schema, defs)
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v)))
    kind = schema.get("type")
    if kind == "object":
        return {name: _largest(f, defs) for name, f in schema["properties"].items()}
    if kind == "array":
        assert "maxItems" in schema, schema
        return [_largest(schema["items"], defs)] * schema["maxItems"]
    if kind == "integer":
        return schema.get("maximum", 2**63 - 1)
    if kind == "boolean":
        return False  # of bounded size by itself
    if schema.get("format") == "date-time":
        return "2030-12-31T23:59:59.999999+07:00"
    if schema.get("format") == "date":
        return "2030-12-31"
    assert kind == "string" and "maxLength" in schema, f"a text without a cap: {schema}"
    letter = "ệ" if re.match(schema.get("pattern", ""), "ệ") else "A"
    return letter * schema["maxLength"]


def request_bodies() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every request body of the served OpenAPI document: (operation, its schema, the $defs)."""
    document = create_app(authenticator=Authenticator.with_secret("x" * 32)).openapi()
    defs = document["components"]["schemas"]
    return [
        (
            f"{method.upper()} {path}",
            operation["requestBody"]["content"]["application/json"]["schema"],
            defs,
        )
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


@pytest.mark.parametrize(
    ("operation", "schema", "defs"), request_bodies(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_the_largest_valid_body_of_every_route_fits_under_the_body_cap(
    operation: str, schema: dict[str, Any], defs: dict[str, Any]
) -> None:
    body = _largest(schema, defs)
    size = len(json.dumps(body, ensure_ascii=True).encode())
    assert size <= limits.BODY_MAX_BYTES, (operation, size)
