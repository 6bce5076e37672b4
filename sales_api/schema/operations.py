"""GraphQL documents prepared once and kept: parsed, validated (with the depth and alias
limits), measured (root fields, mutations, the variables that size its pages) and checked
for text the database cannot store. A request finds its document here by its text and
pays for none of that again; what remains per request is what depends on the request
itself: its headers, its variables and the cost they give.

Bounded: at most `max_documents` documents and `max_characters` characters of them; the
least recently used go first. Documents that fail are kept too (a client repeating a
broken document costs a dictionary lookup).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
    VariableNode,
    Visitor,
    get_named_type,
    is_introspection_type,
    parse,
    specified_rules,
    visit,
)
from graphql.language.visitor import VisitorAction
from strawberry.schema.schema import validate_document

from sales_api.queries.selection import Selection
from sales_api.schema.limits import QUERY_TOO_COMPLEX, document_rules
from sales_api.schema.measures import PAGE_SIZE_ARGUMENT, operation_cost, operations, root_fields
from sales_api.schema.text_input import UNSTORABLE_MESSAGE, unstorable_literal

MAX_COSTS_PER_OPERATION = 64


@dataclass(slots=True)
class PreparedOperation:
    document: DocumentNode
    node: OperationDefinitionNode
    name: str | None
    kind: OperationType
    introspection_only: bool
    root_fields: int
    page_size_variables: tuple[str, ...]
    costs: dict[tuple[str, ...], int] = field(default_factory=dict)
    selections: dict[tuple[int, tuple[object, ...]], Selection] = field(default_factory=dict)
    """What the read side reads below a field, by field node and directive variables."""
    directive_variables: tuple[str, ...] = ()

    def cost(self, schema: GraphQLSchema, variables: dict[str, Any]) -> int:
        """The operation's cost for these variables (only perPage variables change it)."""
        key = tuple(repr(variables.get(name)) for name in self.page_size_variables)
        found = self.costs.get(key)
        if found is None:
            found = operation_cost(schema, self.document, self.node, variables)
            if len(self.costs) < MAX_COSTS_PER_OPERATION:
                self.costs[key] = found
        return found


@dataclass(slots=True)
class PreparedDocument:
    errors: list[GraphQLError]
    operations: list[PreparedOperation] = field(default_factory=list)
    text_problem: GraphQLError | None = None
    """A string literal the database could not store."""
    name: str | None = None
    """The name of the document's only operation (also when it failed validation)."""

    def operation(self, name: str | None) -> PreparedOperation | None:
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        return next((op for op in self.operations if op.name == name), None)


class NoIntrospection(ValidationRule):
    """Introspection refused, with one error for the document (graphql-core's own rule
    reports every introspection field: `__schema { queryType }` twice)."""

    def enter_field(self, node: FieldNode, *_args: object) -> VisitorAction:
        named = get_named_type(self.context.get_type())
        if named is not None and is_introspection_type(named):
            self.report_error(
                GraphQLError(
                    "GraphQL introspection is disabled, but the document asks for "
                    f"'{node.name.value}'.",
                    node,
                )
            )
            return BREAK
        return None


def is_introspection_only(operation: OperationDefinitionNode) -> bool:
    """True when every top-level field is __schema, __type or __typename."""
    for selection in operation.selection_set.selections:
        name = getattr(getattr(selection, "name", None), "value", None)
        if name is None or not name.startswith("__"):
            return False
    return True


class _VariableUses(Visitor):
    """Variables given as `perPage`, and variables that @skip or @include read."""

    def __init__(self) -> None:
        super().__init__()
        self.page_sizes: set[str] = set()
        self.directives: set[str] = set()
        self._in_directive = 0

    def enter_directive(self, node: Any, *_args: object) -> None:
        self._in_directive += 1

    def leave_directive(self, node: Any, *_args: object) -> None:
        self._in_directive -= 1

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        if isinstance(node.value, VariableNode):
            if self._in_directive:
                self.directives.add(node.value.name.value)
            elif node.name.value == PAGE_SIZE_ARGUMENT:
                self.page_sizes.add(node.value.name.value)


class DocumentCache:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_tokens: int,
        max_depth: int,
        max_aliases: int,
        introspection: bool,
        max_documents: int = 256,
        max_characters: int = 4_000_000,
    ) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        rules = [*specified_rules, *document_rules(max_depth=max_depth, max_aliases=max_aliases)]
        if not introspection:
            rules.append(NoIntrospection)
        self.rules = tuple(rules)
        self.max_documents = max_documents
        self.max_characters = max_characters
        self._documents: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._characters = 0
        self.hits = 0
        self.misses = 0

    def prepare(self, query: str) -> PreparedDocument:
        found = self._documents.get(query)
        if found is not None:
            self._documents.move_to_end(query)
            self.hits += 1
            return found
        self.misses += 1
        prepared = self._prepare(query)
        self._documents[query] = prepared
        self._characters += len(query)
        while self._documents and (
            len(self._documents) > self.max_documents or self._characters > self.max_characters
        ):
            evicted, _ = self._documents.popitem(last=False)
            self._characters -= len(evicted)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLSyntaxError as error:
            if f"Document contains more than {self.max_tokens} tokens" in error.message:
                error.extensions = {**(error.extensions or {}), "code": QUERY_TOO_COMPLEX}
            return PreparedDocument([error])
        nodes = operations(document)
        name = nodes[0].name.value if len(nodes) == 1 and nodes[0].name else None
        errors = validate_document(self.schema, document, self.rules)
        if errors:
            return PreparedDocument(list(errors), name=name)
        prepared = PreparedDocument([], name=name)
        literal = unstorable_literal(document)
        if literal is not None:
            prepared.text_problem = GraphQLError(
                UNSTORABLE_MESSAGE, literal, extensions={"code": "VALIDATION_FAILED"}
            )
        uses = _VariableUses()
        visit(document, uses)
        for node in nodes:
            prepared.operations.append(
                PreparedOperation(
                    document=document,
                    node=node,
                    name=node.name.value if node.name else None,
                    kind=node.operation,
                    introspection_only=is_introspection_only(node),
                    root_fields=len(root_fields(document, node)),
                    page_size_variables=tuple(sorted(uses.page_sizes)),
                    directive_variables=tuple(sorted(uses.directives)),
                )
            )
        return prepared
