"""Typed search attributes that ops staff filter on in the Temporal Web UI. No personal data here:
the visibility store keeps these values unencrypted."""

from temporalio.common import SearchAttributeKey

DOSSIER_STATUS = SearchAttributeKey.for_keyword("DossierStatus")
LEAD_AGENCY = SearchAttributeKey.for_keyword("LeadAgency")
PROCEDURE = SearchAttributeKey.for_keyword("ProcedureCode")
AWAITING_AGENCIES = SearchAttributeKey.for_keyword_list("AwaitingAgencies")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
LATE = SearchAttributeKey.for_bool("Late")

ALL = (DOSSIER_STATUS, LEAD_AGENCY, PROCEDURE, AWAITING_AGENCIES, DUE_AT, LATE)
