"""Query limits: documents too big, too deep, too costly or with too many mutations are
refused before anything runs, with `extensions.code = "QUERY_TOO_COMPLEX"`.

The measures themselves are in `measures.py`. Tokens are limited while parsing and depth and
aliases by the validation rules below, both once per document (operations.py); mutations
and cost just before execution, when the chosen operation and its variables are known
(runner.py). The limits and their settings are listed in docs/limits.md.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationRule,
)
from graphql.language.visitor import SKIP, VisitorAction

from sales_api.schema.measures import alias_count, operation_depths

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# A fragment bomb may cost 2^200; `extensions.cost` reports at most this (the largest integer
# a JSON reader in JavaScript keeps exact, and well inside orjson's 64 bits).
MAX_REPORTED_COST = 2**53 - 1


def too_complex(message: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": QUERY_TOO_COMPLEX})


def _name(operation: OperationDefinitionNode) -> str:
    return f"Operation '{operation.name.value}'" if operation.name else "The operation"


def document_rules(*, max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as validation rules. Made once per schema: the validation
    cache is keyed by the rules, so rules made per request would never hit it."""

    class DocumentLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: object) -> VisitorAction:
            for operation, depth in operation_depths(node):
                if depth > max_depth:
                    self.report_error(
                        too_complex(
                            f"{_name(operation)} nests fields {depth} deep; "
                            f"the maximum depth is {max_depth}",
                            operation,
                        )
                    )
            aliases = alias_count(node)
            if aliases > max_aliases:
                self.report_error(
                    too_complex(
                        f"The document has {aliases} aliases (a fragment's counted each time "
                        f"it is used); at most {max_aliases} are allowed"
                    )
                )
            return SKIP

    return [DocumentLimits]
