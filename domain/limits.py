"""The limits of what a request may carry, once for the API, the workflow's updates and signals,
and the catalogue: every text bounded in length and storable by both databases, every list and
number bounded.

Each limit is a type annotation (`Text(...)`, `Items(...)`, `Number(...)`) on the command models,
so the check runs wherever a model is validated (the API's bodies, the workflow's decoding of an
update or a signal) and the served OpenAPI shows the number (`maxLength`, `maxItems`, `minimum`,
`maximum`). A value beyond a limit is refused with a pydantic error of its own type, which is
the stable code of the API's problem document (`LIMIT_CODES`).

Why these numbers: each text is a few times the longest real one (the catalogue's longest
procedure name is 284 characters, its longest document name 180), and the largest valid body,
every letter escaped as `\\uXXXX` (6 bytes, as Python's `json.dumps` sends Vietnamese), stays
under `BODY_MAX_BYTES`, so the body cap refuses no valid request
(tests/unit/test_limits.py proves it model by model).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

BODY_MAX_BYTES = 64 * 1024  # the request body cap of the whole API (413 payload_too_large)

# Lengths, in characters (code points).
CODE_MAX = 64  # agency, procedure and dossier codes (the paths' cap too)
SHORT_MAX = 32  # phone numbers, identity numbers, unit identifiers
REF_MAX = 100  # references: document numbers, signature and application references
NAME_MAX = 200  # people's names, user ids
TITLE_MAX = 500  # names of agencies and procedures, addresses
DOCUMENT_MAX = 300  # one document's name
EMAIL_MAX = 254  # RFC 5321's longest path
URL_MAX = 2000
REASON_MAX = 2000  # reasons, causes of lateness, a result's summary
LONG_TEXT_MAX = 6000  # a consultation's content, an agency's opinion

# Lists, in items.
AGENCIES_MAX = 30  # agencies consulted at once (Đồng Nai has about 40 in all)
DOCUMENTS_MAX = 25  # documents named at once (the catalogue's procedures list at most 8)
ROLES_MAX = 5  # there are five roles

# Working days of a procedure: both databases hold them; ten years is beyond any procedure.
DAYS_MIN, DAYS_MAX = 1, 3650

# The stable codes of the API's problem documents, as the error types of these checks.
TEXT_TOO_LONG = "text_too_long"
FORBIDDEN_CHARACTER = "forbidden_character"
TOO_MANY_ITEMS = "too_many_items"
NUMBER_OUT_OF_RANGE = "number_out_of_range"
LIMIT_CODES = frozenset({TEXT_TOO_LONG, FORBIDDEN_CHARACTER, TOO_MANY_ITEMS, NUMBER_OUT_OF_RANGE})

# No text keeps a control character (PostgreSQL refuses NUL) but, in multi-line texts, line
# breaks and tabs; nor a lone surrogate (no UTF-8 encodes it: neither database takes it).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


# The same, as the JSON Schema `pattern` of the OpenAPI document (surrogates cannot be said);
# path and query parameters may hold whitespace (api.boundary).
_ALLOWED = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
_ALLOWED_IN_LINES = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
PARAMETER_PATTERN = _ALLOWED_IN_LINES


def forbidden_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of `text` that no text may hold, if any."""
    found = (_FORBIDDEN_IN_LINES if multiline else _FORBIDDEN).search(text)
    return found.group() if found else None


# The validation context of what was accepted before these limits, or under other ones: a
# running dossier's history and the state it carries through continue-as-new must still decode
# (or the dossier would never replay again), so the limits are not applied to them.
AS_RECORDED: dict[str, Any] = {"limits": "as_recorded"}


def _checked(check: Callable[[Any], None]) -> core_schema.WithInfoValidatorFunction:
    def validator(value: Any, info: core_schema.ValidationInfo) -> Any:
        if info.context is None or info.context.get("limits") != AS_RECORDED["limits"]:
            check(value)
        return value

    return validator


class _Limit:
    """A limit as a type annotation: pydantic runs `check` after the type's own validation,
    except on what is read as recorded (`AS_RECORDED`)."""

    def check(self, value: Any) -> None:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(_checked(self.check), handler(source))


@dataclass(frozen=True)
class Text(_Limit):
    """A text of at most `max_length` characters without control characters (but line breaks
    and tabs when `multiline`) or lone surrogates."""

    max_length: int
    multiline: bool = False

    def check(self, text: str) -> None:
        if len(text) > self.max_length:
            raise PydanticCustomError(
                TEXT_TOO_LONG,
                "at most {max_length} characters, got {length}",
                {"max_length": self.max_length, "length": len(text)},
            )
        char = forbidden_character(text, multiline=self.multiline)
        if char is not None:
            raise PydanticCustomError(
                FORBIDDEN_CHARACTER,
                "the character U+{codepoint} is not allowed here",
                {"codepoint": f"{ord(char):04X}"},
            )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        allowed = _ALLOWED_IN_LINES if self.multiline else _ALLOWED
        return {**handler(schema), "maxLength": self.max_length, "pattern": allowed}


@dataclass(frozen=True)
class Items(_Limit):
    """A list of at most `max_items` items."""

    max_items: int

    def check(self, items: Sized) -> None:
        if len(items) > self.max_items:
            raise PydanticCustomError(
                TOO_MANY_ITEMS,
                "at most {max_items} items, got {count}",
                {"max_items": self.max_items, "count": len(items)},
            )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "maxItems": self.max_items}


@dataclass(frozen=True)
class Number(_Limit):
    """An integer from `minimum` to `maximum`, both included."""

    minimum: int
    maximum: int

    def check(self, number: int) -> None:
        if not self.minimum <= number <= self.maximum:
            raise PydanticCustomError(
                NUMBER_OUT_OF_RANGE,
                "must be from {minimum} to {maximum}",
                {"minimum": self.minimum, "maximum": self.maximum},
            )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class NullIsMissing:
    """`null` is taken as the field's empty value (`""`, `[]`), so that a required field sent
    as `null` is refused by its rule with its own code (`content_required`...), as when it is
    left out or empty."""

    empty: Callable[[], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def missing_as_empty(value: Any) -> Any:
            return self.empty() if value is None else value

        return core_schema.no_info_before_validator_function(missing_as_empty, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


# The texts of the commands and the catalogue, by what they hold.
Code = Annotated[str, Text(CODE_MAX)]
Short = Annotated[str, Text(SHORT_MAX)]
Ref = Annotated[str, Text(REF_MAX)]
Name = Annotated[str, Text(NAME_MAX)]
Title = Annotated[str, Text(TITLE_MAX)]
DocumentName = Annotated[str, Text(DOCUMENT_MAX)]
Email = Annotated[str, Text(EMAIL_MAX)]
Url = Annotated[str, Text(URL_MAX)]
Reason = Annotated[str, Text(REASON_MAX, multiline=True)]
LongText = Annotated[str, Text(LONG_TEXT_MAX, multiline=True)]
Days = Annotated[int, Number(DAYS_MIN, DAYS_MAX)]
AgencyCodes = Annotated[list[Code], Items(AGENCIES_MAX)]
DocumentNames = Annotated[list[DocumentName], Items(DOCUMENTS_MAX)]

# A required field with a rule of its own: `null`, empty or left out, its rule refuses it.
Required = NullIsMissing(str)
RequiredList = NullIsMissing(list)
