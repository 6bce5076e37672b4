"""create_app(settings) -> Starlette: the one place that wires everything together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from opentelemetry.trace import TracerProvider
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute

from sales_api.documents.ticket_pdf import PdfTicketRenderer
from sales_api.domain.caller import Caller
from sales_api.domain.clock import Clock, SystemClock
from sales_api.domain.live import EventHub
from sales_api.domain.outbox import MessageSender
from sales_api.domain.payments import PaymentProvider
from sales_api.domain.services.idempotency import forget_old_keys
from sales_api.domain.services.lifecycle import expire_orders
from sales_api.domain.services.outbox import run_outbox_worker
from sales_api.domain.services.reconciler import reconcile_captures, reconcile_credits
from sales_api.domain.services.tickets import ticket_pdf
from sales_api.domain.services.webhooks import DeliveryPlan, UrlRules, run_webhook_worker
from sales_api.messaging.senders import DirectorySender, RoutingSender, SmtpSender
from sales_api.messaging.webhooks import HttpWebhookSender
from sales_api.persistence.availability import DatabaseStatus, database_unavailable
from sales_api.persistence.database import create_engine, is_sqlite, refresh_statistics
from sales_api.persistence.event_dispatch import EventDispatch, NotificationListener
from sales_api.persistence.outbox_repository import SqlOutbox
from sales_api.persistence.readiness import readiness_check
from sales_api.persistence.reference_data import SqlReferenceData
from sales_api.persistence.ticket_keys import SqlTicketKeys
from sales_api.persistence.tracing import StatementSpans, trace_statements
from sales_api.persistence.unit_of_work import SqlUnitOfWorkFactory
from sales_api.persistence.webhooks_repository import SqlWebhookOutbox
from sales_api.provider.ledger import FileLedger
from sales_api.provider.simulator import SimulatedPaymentProvider
from sales_api.provider.time_limit import TimeLimitedProvider
from sales_api.queries.reader import Reader
from sales_api.queries.source import read_source
from sales_api.schema.budgets import CostBudgets
from sales_api.schema.build import build_schema
from sales_api.schema.context import SalesContext
from sales_api.schema.operations import DocumentCache
from sales_api.schema.runner import GraphQLRunner, PersistedQueries
from sales_api.schema.streams import Refused, SubscriptionRunner
from sales_api.schema.versions import without_beta
from sales_api.settings import Settings
from sales_api.web.correlation import CorrelationMiddleware
from sales_api.web.explorer import DemoToken, ExplorerAssets, assets_path
from sales_api.web.graphql_view import SalesGraphQLView
from sales_api.web.health import live_endpoint, ready_endpoint
from sales_api.web.issuer import DevIssuer, load_or_create_key
from sales_api.web.metrics import MetricsMiddleware, SalesMetrics, metrics_endpoint
from sales_api.web.oauth import jwks_endpoint, token_endpoint
from sales_api.web.simulator_routes import ledger_endpoint
from sales_api.web.subscriptions import SubscriptionEndpoint
from sales_api.web.ticket_routes import ticket_keys_endpoint, ticket_pdf_endpoint
from sales_api.web.ticket_signing import JoseTicketSigner
from sales_api.web.tokens import HttpKeySource, KeySource, StaticKeySource, TokenVerifier
from sales_api.web.tracing import TracingMiddleware, otlp_tracer_provider
from sales_api.web.unavailable import UnavailableMiddleware

GRAPHQL_PATH = "/sales/v1/graphql"
BETA_GRAPHQL_PATH = "/sales/v1beta/graphql"
CORS_METHODS = ("GET", "POST", "OPTIONS")
CORS_HEADERS = (
    "Authorization",
    "Entur-POS",
    "Entur-Distribution-Channel",
    "correlationId",
    "Content-Type",
)
log = logging.getLogger("sales_api.app")


def create_dev_issuer(settings: Settings) -> DevIssuer:
    return DevIssuer(
        load_or_create_key(settings.issuer_key_file),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        organisation_claim=settings.auth_organisation_claim,
        lifetime_seconds=settings.token_lifetime_seconds,
    )


async def sweep_expired_orders(
    uow_factory: SqlUnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    every_seconds: float,
) -> None:
    """Resets expired DRAFT orders in the background. Several processes may sweep at once:
    each order is reset under its row lock, once."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await expire_orders(uow_factory, provider, clock)
            await forget_old_keys(uow_factory, clock)
        except Exception:
            log.exception("expiry sweep failed; trying again next round")


async def reconcile_payments(
    uow_factory: SqlUnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    settings: Settings,
) -> None:
    """Settles PENDING captures in the background by asking the provider, every
    SALES_PSP_RECONCILE_SECONDS; safe in several processes at once."""
    answer_within = timedelta(seconds=settings.psp_timeout_seconds + 1)
    while True:
        await asyncio.sleep(settings.psp_reconcile_seconds)
        try:
            await reconcile_captures(uow_factory, provider, clock, answer_within=answer_within)
            await reconcile_credits(uow_factory, provider, clock, answer_within=answer_within)
        except Exception:
            log.exception("reconciling payments failed; trying again next round")


async def keep_statistics(engine: AsyncEngine, every_seconds: float = 3600) -> None:
    """The planner's statistics at start and then hourly, as the tables grow (SQLite)."""
    while True:
        try:
            await refresh_statistics(engine)
        except Exception:
            log.warning("the database's statistics were not refreshed", exc_info=True)
        await asyncio.sleep(every_seconds)


def tune_garbage_collection(settings: Settings) -> None:
    """Full collections walked every object the process ever loaded (the schema, the
    catalogue, SQLAlchemy's metadata) and paused requests for milliseconds; frozen after
    start-up, they walk only what requests made. Fewer, larger young collections, as a
    request makes thousands of short-lived dicts."""
    gc.set_threshold(*settings.gc_thresholds)
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()


def default_sender(settings: Settings) -> MessageSender:
    """SMTP when SALES_SMTP_URL is set; else files in the outbox folder a user can open."""
    folder = DirectorySender(settings.outbox_dir)
    email: MessageSender = SmtpSender(settings.smtp_url) if settings.smtp_url else folder
    return RoutingSender(email=email, sms=folder)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    key_source: KeySource | None = None,
    payment_provider: PaymentProvider | None = None,
    message_sender: MessageSender | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The whole service. `clock`, `key_source` and `payment_provider` may be replaced.
    Tracing is on with `tracer_provider`, or with SALES_TRACING_OTLP_ENDPOINT."""
    clock = clock or SystemClock()
    simulator: SimulatedPaymentProvider | None = None
    if payment_provider is None:
        simulator = payment_provider = SimulatedPaymentProvider(
            FileLedger(settings.simulator_ledger_file),
            late_answer_seconds=settings.psp_timeout_seconds + 5,
        )
    provider = TimeLimitedProvider(payment_provider, settings.psp_timeout_seconds)
    engine = create_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    hub = EventHub()
    on_postgres = not is_sqlite(settings.database_url)
    dispatch = EventDispatch(hub, notify=on_postgres)
    uow_factory = SqlUnitOfWorkFactory(engine, dispatch)
    reads = read_source(engine, timeout=settings.database_timeout_seconds)
    own_tracer_provider = None
    if tracer_provider is None and settings.tracing_otlp_endpoint:
        tracer_provider = own_tracer_provider = otlp_tracer_provider(settings.tracing_otlp_endpoint)
    tracer = tracer_provider.get_tracer("sales_api") if tracer_provider is not None else None
    if tracer is not None:
        trace_statements(engine, tracer)
        reads.spans = StatementSpans(tracer, engine.dialect.name)
    database = DatabaseStatus()

    def unavailable(error: BaseException) -> bool:
        """The database did not answer in time (noted once per outage in the log)."""
        if database_unavailable(error):
            database.failed(error)
            return True
        return False

    event.listen(engine.sync_engine, "after_cursor_execute", lambda *_: database.answered())
    reads.answered.append(database.answered)
    reference = SqlReferenceData(engine)
    ticket_signer = JoseTicketSigner(SqlTicketKeys(engine), clock.now)
    ticket_renderer = PdfTicketRenderer()
    outbox = SqlOutbox.for_engine(engine, dispatch)
    sender = message_sender or default_sender(settings)
    metrics = SalesMetrics(outbox.backlog)
    dispatch.also_on_commit(metrics.events_committed)
    webhook_store = SqlWebhookOutbox(engine)
    webhook_sender = HttpWebhookSender(
        timeout=settings.webhook_timeout_seconds,
        allow_loopback=settings.webhook_allow_loopback,
        allow_private=settings.webhook_allow_private,
    )
    webhook_plan = DeliveryPlan(first_retry=timedelta(seconds=settings.webhook_retry_seconds))
    webhook_rules = UrlRules(
        allow_loopback=settings.webhook_allow_loopback,
        allow_private=settings.webhook_allow_private,
    )
    listener = NotificationListener(settings.database_url, hub) if on_postgres else None

    # Probes and metrics carry no token: the platform calls them, not a sales client.
    routes: list[Any] = [
        Route("/health/live", live_endpoint(), methods=["GET"]),
        Route("/health/ready", ready_endpoint(readiness_check(engine)), methods=["GET"]),
        Route("/metrics", metrics_endpoint(metrics), methods=["GET"]),
    ]
    issuer: DevIssuer | None = None
    if settings.builtin_issuer:
        issuer = create_dev_issuer(settings)
        routes.append(Route("/oauth/token", token_endpoint(issuer), methods=["POST"]))
        routes.append(Route("/.well-known/jwks.json", jwks_endpoint(issuer), methods=["GET"]))

    if key_source is None:
        if settings.auth_jwks_url:
            key_source = HttpKeySource(settings.auth_jwks_url)
        else:
            assert issuer is not None, "Settings guarantee an issuer or a JWKS URL"
            key_source = StaticKeySource(issuer.jwks)
    verifier = TokenVerifier(
        key_source,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        algorithms=settings.auth_algorithms,
        organisation_claim=settings.auth_organisation_claim,
        leeway=settings.auth_leeway_seconds,
        refetch_interval=settings.auth_jwks_refetch_seconds,
        max_age=settings.auth_jwks_max_age_seconds,
    )

    def context_factory(caller: Caller, *, streaming: bool = False) -> SalesContext:
        return SalesContext(
            caller=caller,
            uow_factory=uow_factory,
            clock=clock,
            # A subscription reads once per message and holds no connection in between.
            reader=Reader(reads, caller, single_use=streaming),
            reference=reference,
            payment_provider=provider,
            ticket_signer=ticket_signer,
            ticket_renderer=ticket_renderer,
            events=metrics,
            webhook_rules=webhook_rules,
            hub=hub,
            holds=settings.holds,
        )

    full_schema = build_schema()  # v1beta: all of v1 and the beta root fields
    schema = without_beta(full_schema)

    # One budget per client whichever version it calls.
    budgets = (
        CostBudgets(settings.client_cost_budget, settings.client_cost_refill_per_second)
        if settings.client_cost_budget
        else None
    )

    def graphql_runner(schema: Any) -> GraphQLRunner:
        return GraphQLRunner(
            schema,
            DocumentCache(
                schema._schema,
                max_tokens=settings.max_tokens,
                max_depth=settings.max_query_depth,
                max_aliases=settings.max_aliases,
                introspection=settings.introspection_enabled,
            ),
            context_factory,
            unavailable=unavailable,
            max_cost=settings.max_query_cost,
            max_mutations=settings.max_mutations,
            hide_suggestions=not settings.introspection_enabled,
            persisted=PersistedQueries.from_manifest(
                settings.persisted_queries_file,
                registered_only=settings.persisted_queries == "registered",
            ),
            budgets=budgets,
        )

    runner = graphql_runner(schema)
    view = SalesGraphQLView(
        runner.respond,
        verify_token=verifier.verify,
        graphiql=settings.graphiql_enabled,
        demo_token=DemoToken(settings.auth_audience) if issuer is not None else None,
        max_body_bytes=settings.max_body_bytes,
    )
    # First: nearly every request is GraphQL, and Starlette tries the routes in order.
    routes.insert(0, Route(GRAPHQL_PATH, view, methods=["GET", "POST"]))
    # v1beta (docs/versioning.md): POST only, its own document cache; the same everything
    # else. While nothing is beta it is v1 under another address.
    beta_runner = runner if full_schema is schema else graphql_runner(full_schema)
    beta_view = SalesGraphQLView(
        beta_runner.respond,
        verify_token=verifier.verify,
        graphiql=False,
        max_body_bytes=settings.max_body_bytes,
    )
    routes.insert(1, Route(BETA_GRAPHQL_PATH, beta_view, methods=["GET", "POST"]))
    subscriptions = SubscriptionRunner(runner)

    async def open_stream(payload: object, caller: Caller) -> Any:
        opened = await subscriptions.open(payload, context_factory(caller, streaming=True))
        return opened.errors if isinstance(opened, Refused) else opened

    routes.append(
        WebSocketRoute(
            GRAPHQL_PATH,
            SubscriptionEndpoint(
                open_stream,
                verify_token=verifier.verify,
                max_subscriptions=settings.max_subscriptions_per_connection,
                gauges=metrics,
            ),
        )
    )
    if settings.graphiql_enabled:
        routes.append(Mount(assets_path(GRAPHQL_PATH), ExplorerAssets()))

    async def pdf_of(caller: Caller, ticket_id: str) -> bytes | None:
        reader = Reader(reads, caller)
        try:
            return await ticket_pdf(reader, ticket_renderer, caller, ticket_id)
        finally:
            await reader.close()

    routes.append(
        Route(
            "/sales/v1/tickets/{ticket_id}.pdf",
            ticket_pdf_endpoint(verifier.verify, pdf_of),
            methods=["GET"],
        )
    )
    routes.append(Route("/.well-known/ticket-keys.json", ticket_keys_endpoint(ticket_signer.jwks)))
    if simulator is not None and not settings.production:
        routes.append(
            Route("/simulator/psp/ledger", ledger_endpoint(simulator.ledger.all), methods=["GET"])
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tune_garbage_collection(settings)
        statistics = asyncio.create_task(keep_statistics(engine))
        sweeper = asyncio.create_task(
            sweep_expired_orders(uow_factory, provider, clock, settings.expiry_sweep_seconds)
        )
        reconciler = asyncio.create_task(reconcile_payments(uow_factory, provider, clock, settings))
        stop_delivery = asyncio.Event()
        # Pending messages (from before a restart too) are delivered from the start.
        delivery = asyncio.create_task(run_outbox_worker(outbox, sender, clock, stop_delivery))
        webhooks = asyncio.create_task(
            run_webhook_worker(
                webhook_store,
                webhook_sender,
                clock,
                webhook_plan,
                stop_delivery,
                outcomes=metrics.webhook_attempt,
            )
        )
        if listener is not None:
            listener.start()
        try:
            yield
        finally:
            for task in (sweeper, reconciler, statistics):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            stop_delivery.set()  # the workers finish what they hold, then stop
            for task in (delivery, webhooks):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if listener is not None:
                await listener.stop()
            await webhook_sender.close()
            await reads.close()
            await engine.dispose()
            if own_tracer_provider is not None:
                # What is batched is sent, on a thread: a collector that does not answer
                # must not freeze the loop (the exporter gives up after its timeout).
                await asyncio.to_thread(own_tracer_provider.shutdown)

    app = Starlette(routes=routes, lifespan=lifespan)
    # Added innermost first: CORS is outermost, so a preflight is answered before anything
    # else (no token on a preflight); every other request is counted with its correlation id.
    app.add_middleware(UnavailableMiddleware, unavailable=unavailable)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(CorrelationMiddleware)
    if tracer is not None:
        app.add_middleware(TracingMiddleware, tracer=tracer)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=["correlationId"],
        )
    app.state.engine = engine
    app.state.settings = settings
    app.state.issuer = issuer
    app.state.verifier = verifier
    app.state.schema = schema
    app.state.runner = runner
    app.state.reads = reads
    app.state.uow_factory = uow_factory
    app.state.reference = reference
    app.state.ticket_signer = ticket_signer
    app.state.outbox = outbox
    app.state.sender = sender
    app.state.metrics = metrics
    app.state.database = database
    app.state.provider = provider
    app.state.hub = hub
    app.state.listener = listener
    app.state.webhook_store = webhook_store
    app.state.webhook_sender = webhook_sender
    app.state.webhook_plan = webhook_plan
    return app
