"""One-time setup of a Temporal namespace for motcua, shared by the local stack (`dev.run`) and
production deploys: registering the custom search attributes that ops staff filter on."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ALL


class SearchAttributeConflict(RuntimeError):
    """A search attribute already exists in the namespace with another type; Temporal cannot
    change the type of a registered attribute, so a person has to decide what to do."""


async def ensure_search_attributes(
    client: Client, namespace: str, keys: Iterable[SearchAttributeKey] = ALL
) -> list[str]:
    """Register the missing ones of `keys` in `namespace` and return their names.

    Idempotent: lists the registered attributes first and adds only the missing ones, and treats
    ALREADY_EXISTS (another process registering at the same moment) as success. Raises
    `SearchAttributeConflict` if a name is registered with a different type.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = {**listed.system_attributes, **listed.custom_attributes}
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in keys:
        wanted = IndexedValueType.ValueType(key.indexed_value_type.value)
        if key.name not in registered:
            missing[key.name] = wanted
        elif registered[key.name] != wanted:
            raise SearchAttributeConflict(
                f"search attribute {key.name} is registered in namespace {namespace!r} as "
                f"{IndexedValueType.Name(registered[key.name])}, motcua needs "
                f"{IndexedValueType.Name(wanted)}"
            )
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    return sorted(missing)
