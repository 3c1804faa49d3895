"""Records in: CSV and JSON rows into validated, pseudonymised records."""

from radassure.ingest.contract import ACQ_PREFIX, CONTRACTS, KINDS, ColumnSpec, contract_for
from radassure.ingest.pseudonym import Pseudonymiser, new_secret
from radassure.ingest.reader import CsvSource, Header, check_header
from radassure.ingest.records import (
    ReferenceRecord,
    ResultBatch,
    ResultRecord,
    StudyRecord,
    parse_bool,
    parse_time,
    validate_references,
    validate_results,
    validate_studies,
)

__all__ = [
    "ACQ_PREFIX",
    "CONTRACTS",
    "KINDS",
    "ColumnSpec",
    "CsvSource",
    "Header",
    "Pseudonymiser",
    "ReferenceRecord",
    "ResultBatch",
    "ResultRecord",
    "StudyRecord",
    "check_header",
    "contract_for",
    "new_secret",
    "parse_bool",
    "parse_time",
    "validate_references",
    "validate_results",
    "validate_studies",
]
