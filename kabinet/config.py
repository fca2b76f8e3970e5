"""Every setting of kabinet, read once from ``KABINET_*`` environment variables (or ``.env``)."""

from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class TrustedDocuments(StrEnum):
    """Which operations run: any document, or only those of the approved manifests."""

    OFF = "off"
    ALLOW = "allow"
    REQUIRE = "require"


class Fault(StrEnum):
    """Points where a test makes the process exit at once (kabinet/faults.py)."""

    AFTER_STATUS_UPDATE = "after-status-update"


def _comma_separated(value: str) -> list[str]:
    """The items of a list as people write it in an environment variable."""
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(BaseSettings):
    """Configuration; each field is the variable ``KABINET_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="KABINET_", env_file=".env", extra="ignore")

    env: Environment = Field(Environment.DEVELOPMENT, description="development or production")
    host: str = Field("127.0.0.1", description="Address `kabinet serve` listens on.")
    port: int = Field(8000, description="Port `kabinet serve` listens on.")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base of the links in emails and of file URLs (no trailing slash); unset, "
        "the address `kabinet serve` listens on (`http://<host>:<port>`, 127.0.0.1 for a "
        "wildcard host).",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed for CORS and WebSocket; default: the public URL.",
    )
    graphiql: bool | None = Field(
        None,
        description="Serve GraphiQL at /graphql; default on in development, off in production.",
    )
    trusted_documents: TrustedDocuments | None = Field(
        None,
        description="Operations by id from the approved manifests (GraphQL over HTTP's "
        "`documentId`, Apollo's `persistedQuery`): `off` (ids refused), `allow` (ids and full "
        "documents run), `require` (only ids run; a full document is refused, except from "
        "staff while GraphiQL is on); default `require` in production (only the company's own "
        "apps call the API, so nothing else need run there), `allow` in development.",
    )
    trusted_documents_manifests: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Paths of more approved-document manifests (graphql-codegen's "
        "`persisted-documents.json`: id -> document), e.g. each frontend's, besides the API "
        "guide's own (`kabinet/trusted-documents.json`, always approved).",
    )
    introspection: bool = Field(
        True, description="Answer introspection queries (GraphiQL and codegen need them)."
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        description="Largest request body other than an upload (a GraphQL JSON POST); "
        "larger ones get 413. Uploads have their own limit: 10 files of 10 MB plus this.",
    )
    body_timeout_seconds: float = Field(
        30.0,
        description="A request body must arrive within this many seconds, plus one second for "
        "every KABINET_BODY_MIN_BYTES_PER_SECOND bytes received; a slower one gets 408.",
    )
    body_min_bytes_per_second: int = Field(
        16 * 1024,
        description="The slowest upload speed allowed past KABINET_BODY_TIMEOUT_SECONDS "
        "(16 KiB/s, about 128 kbit/s).",
    )
    keepalive_timeout_seconds: int = Field(
        5,
        description="`kabinet serve` closes a connection idle this long between requests. "
        "Behind a proxy, keep the proxy's idle upstream timeout shorter.",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Comma-separated addresses (or networks, or *) of the load balancers whose "
        "X-Forwarded-For / X-Forwarded-Proto `kabinet serve` trusts for the client's address "
        "and scheme; unset = no proxy headers are trusted.",
    )
    log_format: LogFormat | None = Field(
        None, description="json or text; default json in production, text in development."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    metrics_token: str | None = Field(
        None, description="If set, /metrics asks for `Authorization: Bearer <token>`."
    )

    data_dir: Path = Field(Path("./var"), description="Where the embedded database keeps its file.")
    mongodb_uri: str | None = Field(None, description="A real MongoDB; unset = embedded database.")
    database: str = Field("kabinet", description="Database name.")
    embedded_host: str = Field("127.0.0.1", description="Address of the embedded database server.")
    embedded_port: int = Field(
        0, description="Port of the embedded database server; 0 picks a free one."
    )
    write_concern_timeout_ms: int = Field(
        10_000,
        gt=0,
        description="Every write waits until a majority of the replica set has it "
        "(write concern `majority`), at most this long; past it the write is reported "
        "failed, though it may have been applied.",
    )

    smtp_host: str | None = Field(
        None,
        description="SMTP server; unset = emails go to the log (in production: wait unsent).",
    )
    smtp_port: int = Field(587, description="SMTP port.")
    smtp_from: str = Field("Kabinet <no-reply@localhost>", description="Sender of emails.")
    smtp_username: str | None = Field(None, description="SMTP user name.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_tls: SmtpSecurity = Field(SmtpSecurity.STARTTLS, description="none, starttls or tls.")
    smtp_timeout_seconds: float = Field(15.0, description="SMTP connect and command timeout.")

    sms_gateway_url: str | None = Field(
        None, description="SMS gateway; unset = SMS go to the log (in production: wait unsent)."
    )
    sms_gateway_token: str | None = Field(None, description="Bearer token for the SMS gateway.")
    sms_gateway_timeout_seconds: float = Field(10.0, description="SMS gateway request timeout.")

    events_poll_seconds: float = Field(
        1.0, description="How often request events are polled where change streams are missing."
    )
    ws_max_sockets_per_account: int = Field(
        10, description="Open WebSockets one account may hold in one API process (4429 beyond)."
    )
    ws_max_sockets_per_ip: int = Field(
        50, description="Open WebSockets one client address may hold in one API process."
    )
    ws_max_subscriptions_per_account: int = Field(
        50, description="Live subscriptions one account may hold in one API process."
    )
    ws_max_subscriptions_per_ip: int = Field(
        200, description="Live subscriptions one client address may hold in one API process."
    )
    ws_subscriber_backlog: int = Field(
        100,
        description="Events queued for one subscription while its socket cannot take more; one "
        "more closes the socket with 4413 (the client reconnects with `since`).",
        ge=1,
    )
    ws_session_check_seconds: float = Field(
        5.0,
        description="How often each process checks, in one query for all its WebSockets, that "
        "their sessions still live (ended in another process: the socket closes with 4403).",
    )
    sse_keep_alive_seconds: float = Field(
        12.0,
        description="How long an event stream (`/graphql/stream`) may stay silent before it "
        "gets a comment line, so that proxies do not cut it as idle.",
        gt=0,
    )
    rate_limits: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Overrides of the rate limits, e.g. `login:account=10/15m,register:ip=20/1h` "
        "(names and defaults in docs/architecture.md).",
    )
    password_hashing_threads: int | None = Field(
        None,
        ge=1,
        description="Threads that hash passwords (argon2id, 64 MiB each) at a low priority; "
        "default one per core but one, so sign-ins queue instead of starving the server.",
    )
    session_ttl_days: int = Field(30, description="A session ends after this many idle days.")
    email_confirmation_ttl_hours: int = Field(24, description="Lifetime of a confirmation link.")
    password_reset_ttl_minutes: int = Field(60, description="Lifetime of a password reset link.")
    outbox_poll_seconds: float = Field(
        2.0, description="How often the outbox sender looks for work."
    )
    outbox_max_attempts: int = Field(12, description="Delivery attempts before a message is dead.")
    outbox_retry_base_seconds: float = Field(
        5.0, description="First retry delay, doubled each time."
    )
    outbox_sent_retention_days: int = Field(
        30,
        gt=0,
        description="A sent email or SMS (its text removed once sent) is deleted this many "
        "days after it was sent; messages waiting or given up on (dead) are kept.",
    )
    test_fault: Fault | None = Field(
        None,
        description="Tests only: the process exits at once at this point "
        "(after-status-update: right after a request's status is written), to test recovery. "
        "Refused when KABINET_ENV=production.",
    )

    @model_validator(mode="after")
    def _no_faults_in_production(self) -> Self:
        if self.production and self.test_fault is not None:
            raise ValueError("KABINET_TEST_FAULT is for tests and cannot be set in production")
        return self

    @model_validator(mode="before")
    @classmethod
    def _public_url_from_address(cls, values: object) -> object:
        """Without a public URL the links point where the server listens, so changing
        only the port does not leave emailed links pointing at the default one."""
        if not isinstance(values, dict) or values.get("public_url"):
            return values
        fields = cls.model_fields
        host = str(values.get("host") or fields["host"].default)
        port = values.get("port") or fields["port"].default
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return {**values, "public_url": f"http://{host}:{port}"}

    contact_centre_phone: str = Field(
        "+38 044 364 85 10",
        description="The contact centre's around-the-clock phone, printed on card PDFs.",
    )
    card_link_ttl_days: int = Field(
        90,
        gt=0,
        description="The link in a card PDF's QR code (the `/verify-card/...` page a clinic "
        "opens) works this many days after the PDF was downloaded.",
    )

    file_link_ttl_seconds: int = Field(
        900,
        ge=60,
        description="A signed download link (`Attachment.url`, `Policy.cardPdfUrl`) opens "
        "without a header for at most this long, and at least half of it; the links of "
        "one half are alike, so a page's images stay cached.",
    )

    orphan_file_grace_minutes: int = Field(
        60,
        description="Uploaded files that no request or comment refers to this long after "
        "the upload (the server stopped mid-upload) are deleted; the sweep runs this often.",
    )

    # Targets of the contact centre per request kind (issue 16): minutes from filing to
    # the first response (leaving SUBMITTED) and to the outcome (SCHEDULED, APPROVED or
    # closed), in elapsed time: the contact centre works around the clock, so a "working
    # day" is 24 hours. Time waiting in NEEDS_INFO for the member does not count.
    queue_count_limit: int = Field(
        1000,
        gt=0,
        description="`queueCounts` counts up to this many requests per number (a number equal to "
        "it means at least that many), so a dashboard's cost does not grow with a backlog.",
    )
    due_callback_response_minutes: int = Field(
        30, gt=0, description="A callback is answered (leaves SUBMITTED) within this many minutes."
    )
    due_callback_outcome_minutes: int = Field(
        240, gt=0, description="A callback reaches its outcome within this many minutes."
    )
    due_appointment_response_minutes: int = Field(
        60, gt=0, description="A doctor's appointment request is answered within this many minutes."
    )
    due_appointment_outcome_minutes: int = Field(
        1440,
        gt=0,
        description="A doctor's appointment is scheduled within this many minutes (one working "
        "day: the contact centre works around the clock).",
    )
    due_medications_response_minutes: int = Field(
        60, gt=0, description="A medications request is answered within this many minutes."
    )
    due_medications_outcome_minutes: int = Field(
        1440,
        gt=0,
        description="A medications request reaches its outcome within this many minutes.",
    )
    due_lab_tests_response_minutes: int = Field(
        60, gt=0, description="A lab tests request is answered within this many minutes."
    )
    due_lab_tests_outcome_minutes: int = Field(
        1440, gt=0, description="Lab tests are scheduled within this many minutes."
    )
    due_reimbursement_response_minutes: int = Field(
        1440, gt=0, description="A reimbursement claim is answered within this many minutes."
    )
    due_reimbursement_outcome_minutes: int = Field(
        14400,
        gt=0,
        description="A reimbursement claim is decided within this many minutes (ten days).",
    )
    overdue_check_seconds: float = Field(
        30.0,
        gt=0,
        description="How often each process looks for requests past their due time, to "
        "announce each on `requestQueueUpdated` once.",
    )

    @model_validator(mode="after")
    def _outcomes_after_responses(self) -> Self:
        for field in type(self).model_fields:
            if not (field.startswith("due_") and field.endswith("_response_minutes")):
                continue
            kind = field.removeprefix("due_").removesuffix("_response_minutes")
            response, outcome = getattr(self, field), getattr(self, f"due_{kind}_outcome_minutes")
            if outcome < response:
                raise ValueError(
                    f"KABINET_DUE_{kind.upper()}_OUTCOME_MINUTES ({outcome}) is shorter than "
                    f"KABINET_DUE_{kind.upper()}_RESPONSE_MINUTES ({response}): the outcome "
                    "cannot be due before the first response"
                )
        return self

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept a comma-separated list, as people write it in an environment variable."""
        if isinstance(value, str):
            return [origin.rstrip("/") for origin in _comma_separated(value)]
        return value

    @field_validator("trusted_documents_manifests", mode="before")
    @classmethod
    def _split_manifests(cls, value: object) -> object:
        return _comma_separated(value) if isinstance(value, str) else value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _split_rate_limits(cls, value: object) -> object:
        """`scope=hits/window` pairs, comma-separated."""
        if isinstance(value, str):
            pairs = (pair.partition("=") for pair in value.split(",") if pair.strip())
            return {scope.strip(): limit.strip() for scope, _, limit in pairs}
        return value

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(days=self.session_ttl_days)

    @property
    def card_link_ttl(self) -> timedelta:
        return timedelta(days=self.card_link_ttl_days)

    @property
    def file_link_ttl(self) -> timedelta:
        return timedelta(seconds=self.file_link_ttl_seconds)

    @property
    def outbox_sent_retention(self) -> timedelta:
        return timedelta(days=self.outbox_sent_retention_days)

    @property
    def orphan_file_grace(self) -> timedelta:
        return timedelta(minutes=self.orphan_file_grace_minutes)

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production

    @property
    def trusted_documents_mode(self) -> TrustedDocuments:
        if self.trusted_documents is not None:
            return self.trusted_documents
        return TrustedDocuments.REQUIRE if self.production else TrustedDocuments.ALLOW

    @cached_property
    def origins(self) -> list[str]:
        """Browser origins for CORS and WebSocket: the configured ones, else the public
        URL's own origin (its scheme, host and port, without a path)."""
        public = urlsplit(self.public_url)
        return self.allowed_origins or [f"{public.scheme}://{public.netloc}"]
