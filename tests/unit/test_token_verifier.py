"""TokenVerifier with a fake key source (counting fetches) and a fake monotonic clock."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from sales_api.web.tokens import InvalidToken, TokenVerifier, VerifiedToken

ISSUER = "https://issuer.example"
AUDIENCE = "sales-api"
ORG_CLAIM = "https://entur.io/organisationID"
INTERVAL = 60.0
RETRY = 5.0
MAX_AGE = 600.0  # the verifier's default


def new_key(kid: str) -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    return ECKey.import_key({**key.as_dict(private=True), "kid": kid})


KEY_A = new_key("key-a")
KEY_B = new_key("key-b")


class FakeKeySource:
    """Serves `keys` as a JWKS; counts fetches; fails while `failing` is set. A fetch
    takes `delay` real seconds and `clock_seconds` on `clock`, when given."""

    def __init__(self, *keys: ECKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        self.delay = 0.0
        self.clock: FakeClock | None = None
        self.clock_seconds = 0.0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.clock is not None:
            self.clock.advance(self.clock_seconds)
        if self.failing:
            raise ConnectionError("issuer down")
        return {"keys": [key.as_dict(private=False) for key in self.keys]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_verifier(
    source: FakeKeySource, clock: FakeClock, algorithms: tuple[str, ...] = ("ES256", "RS256")
) -> TokenVerifier:
    return TokenVerifier(
        source,
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=algorithms,
        organisation_claim=ORG_CLAIM,
        leeway=30,
        refetch_interval=INTERVAL,
        retry_interval=RETRY,
        monotonic=clock,
    )


def token(
    key: ECKey,
    *,
    kid: str | None = None,
    organisation: Any = 7,
    **claims: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "client_id": "client-1",
        ORG_CLAIM: organisation,
        "permissions": ["sales:read"],
    }
    body.update(claims)
    return jwt.encode({"alg": "ES256", "kid": kid or key.kid}, body, key)


def b64url_json(value: Any) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source() -> FakeKeySource:
    return FakeKeySource(KEY_A)


@pytest.fixture
def verifier(source: FakeKeySource, clock: FakeClock) -> TokenVerifier:
    return make_verifier(source, clock)


# ------------------------------------------------------------------ the good case


async def test_a_good_token_gives_the_identity(verifier: TokenVerifier) -> None:
    verified = await verifier.verify(token(KEY_A, permissions=["sales:read", "sales:write"]))
    assert verified == VerifiedToken(7, "client-1", frozenset({"sales:read", "sales:write"}))


async def test_a_numeric_string_organisation_and_space_separated_permissions(
    verifier: TokenVerifier,
) -> None:
    verified = await verifier.verify(token(KEY_A, organisation="12", permissions="a b"))
    assert verified.organisation_id == 12
    assert verified.permissions == frozenset({"a", "b"})


@pytest.mark.parametrize("organisation", [1, "1", 2147483647, "2147483647", "007"])
async def test_an_organisation_is_an_integer_from_1_to_2147483647(
    verifier: TokenVerifier, organisation: int | str
) -> None:
    verified = await verifier.verify(token(KEY_A, organisation=organisation))
    assert verified.organisation_id == int(organisation)


@pytest.mark.parametrize(
    "organisation",
    [
        2147483648,  # an INTEGER's overflow on PostgreSQL
        2**63,
        "2147483648",
        0,
        -1,
        "\u0661",  # an Arabic-Indic digit one, which int() reads as 1
        "1_0",  # int() reads 10
        " 2 ",  # int() reads 2
        "+3",
        "12345678901",
        1.0,
        True,
        None,
        "",
    ],
)
async def test_any_other_organisation_claim_is_refused(
    verifier: TokenVerifier, organisation: object
) -> None:
    with pytest.raises(InvalidToken, match="organisation"):
        await verifier.verify(token(KEY_A, organisation=organisation))


async def test_client_id_falls_back_to_azp_then_sub(verifier: TokenVerifier) -> None:
    assert (await verifier.verify(token(KEY_A, client_id=None, azp="x"))).client_id == "x"
    assert (await verifier.verify(token(KEY_A, client_id=None, sub="s"))).client_id == "s"


# ------------------------------------------------------------------ caching


async def test_keys_are_fetched_once_and_cached(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    assert source.fetches == 0  # nothing is fetched before the first token
    for _ in range(5):
        await verifier.verify(token(KEY_A))
        clock.advance(INTERVAL * 1.5)  # a known kid needs no re-fetch while the keys are fresh
    assert source.fetches == 1
    assert verifier.fetch_count == 1


async def test_keys_older_than_the_max_age_are_fetched_again_once(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    clock.advance(MAX_AGE)
    await asyncio.gather(*(verifier.verify(token(KEY_A)) for _ in range(10)))
    assert source.fetches == 2


async def test_a_withdrawn_key_is_refused_once_the_keys_are_old(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    source.keys = [KEY_A, KEY_B]
    await verifier.verify(token(KEY_B))
    source.keys = [KEY_A]  # the issuer withdraws key B
    clock.advance(MAX_AGE - 1)
    await verifier.verify(token(KEY_B))  # still in hand, and not yet old
    clock.advance(1)
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_B))
    assert (await verifier.verify(token(KEY_A))).organisation_id == 7


async def test_a_failed_refresh_of_old_keys_keeps_them(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    source.failing = True
    clock.advance(MAX_AGE)
    assert (await verifier.verify(token(KEY_A))).organisation_id == 7
    assert source.fetches == 2


async def test_concurrent_first_use_fetches_once(
    verifier: TokenVerifier, source: FakeKeySource
) -> None:
    source.delay = 0.01
    results = await asyncio.gather(*(verifier.verify(token(KEY_A)) for _ in range(20)))
    assert {r.organisation_id for r in results} == {7}
    assert source.fetches == 1


async def test_many_unknown_kids_within_the_interval_cause_one_fetch(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    assert source.fetches == 1
    # Just fetched: unknown kids are refused from the cache, without asking the issuer.
    for i in range(10):
        with pytest.raises(InvalidToken, match="kid"):
            await verifier.verify(token(KEY_A, kid=f"forged-{i}"))
    assert source.fetches == 1

    clock.advance(INTERVAL + 1)
    for i in range(50):
        with pytest.raises(InvalidToken, match="kid"):
            await verifier.verify(token(KEY_A, kid=f"forged-{i}"))
        clock.advance(INTERVAL / 100)  # 50 tokens spread over half an interval
    assert source.fetches == 2

    clock.advance(INTERVAL)
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_A, kid="forged-again"))
    assert source.fetches == 3
    # the known key still works throughout, without a fetch
    await verifier.verify(token(KEY_A))
    assert source.fetches == 3


async def test_unknown_kid_on_first_use_does_not_fetch_twice(
    verifier: TokenVerifier, source: FakeKeySource
) -> None:
    with pytest.raises(InvalidToken, match="kid"):
        await verifier.verify(token(KEY_A, kid="forged"))
    assert source.fetches == 1


async def test_concurrent_unknown_kids_after_the_interval_cause_one_fetch(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    clock.advance(INTERVAL + 1)
    source.delay = 0.01
    results = await asyncio.gather(
        *(verifier.verify(token(KEY_A, kid=f"forged-{i}")) for i in range(20)),
        return_exceptions=True,
    )
    assert all(isinstance(r, InvalidToken) for r in results)
    assert source.fetches == 2


# ------------------------------------------------------------------ key rotation


async def test_a_rotated_key_is_picked_up_after_one_refetch(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    source.keys = [KEY_A, KEY_B]  # the issuer publishes a new key
    clock.advance(INTERVAL + 1)
    verified = await verifier.verify(token(KEY_B, organisation=9))
    assert verified.organisation_id == 9
    assert source.fetches == 2
    # both keys now come from the cache
    await verifier.verify(token(KEY_A))
    await verifier.verify(token(KEY_B))
    assert source.fetches == 2


async def test_a_key_rotated_within_the_interval_waits_for_it(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    source.keys = [KEY_B]
    clock.advance(INTERVAL / 2)
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_B))
    assert source.fetches == 1
    clock.advance(INTERVAL / 2 + 1)
    assert (await verifier.verify(token(KEY_B))).organisation_id == 7
    assert source.fetches == 2


async def test_a_key_withdrawn_by_the_issuer_is_refused_after_the_refetch(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    source.keys = [KEY_B]
    clock.advance(INTERVAL + 1)
    await verifier.verify(token(KEY_B))  # triggers the re-fetch
    with pytest.raises(InvalidToken, match="kid"):
        await verifier.verify(token(KEY_A))


# ------------------------------------------------------------------ failing fetches


async def test_a_failing_fetch_on_first_use_is_invalid_token(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    source.failing = True
    with pytest.raises(InvalidToken, match="could not be fetched"):
        await verifier.verify(token(KEY_A))
    assert source.fetches == 1
    # once the issuer answers again, the same token is accepted after the retry interval
    source.failing = False
    clock.advance(RETRY)
    assert (await verifier.verify(token(KEY_A))).organisation_id == 7
    assert source.fetches == 2


async def test_an_unreachable_issuer_is_retried_once_per_retry_interval(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    source.failing = True
    for i in range(10):
        with pytest.raises(InvalidToken, match="could not be fetched"):
            await verifier.verify(token(KEY_A, kid=f"any-{i}"))
        clock.advance(RETRY / 20)
    assert source.fetches == 1
    clock.advance(RETRY)
    with pytest.raises(InvalidToken, match="could not be fetched"):
        await verifier.verify(token(KEY_A))
    assert source.fetches == 2


async def test_requests_waiting_on_a_failing_first_fetch_do_not_each_fetch_again(
    verifier: TokenVerifier, source: FakeKeySource
) -> None:
    source.failing = True
    source.delay = 0.01
    results = await asyncio.gather(
        *(verifier.verify(token(KEY_A)) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, InvalidToken) for r in results), results
    assert source.fetches == 1


async def test_a_slow_failing_fetch_counts_the_retry_interval_from_its_end(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    source.failing = True
    source.clock = clock
    source.clock_seconds = RETRY * 2  # e.g. a connect timeout longer than the interval
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_A))
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_A))
    assert source.fetches == 1


async def test_a_bad_jwks_document_on_first_use_is_invalid_token(clock: FakeClock) -> None:
    class BrokenSource:
        async def fetch(self) -> dict[str, Any]:
            return {"keys": [{"kty": "nonsense"}]}

    verifier = TokenVerifier(
        BrokenSource(),
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["ES256"],
        organisation_claim=ORG_CLAIM,
        monotonic=clock,
    )
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_A))


async def test_a_failing_refetch_keeps_the_cached_keys(
    verifier: TokenVerifier, source: FakeKeySource, clock: FakeClock
) -> None:
    await verifier.verify(token(KEY_A))
    source.failing = True
    clock.advance(INTERVAL + 1)
    with pytest.raises(InvalidToken, match="kid"):
        await verifier.verify(token(KEY_B))
    assert source.fetches == 2
    assert (await verifier.verify(token(KEY_A))).organisation_id == 7
    # and the failed attempt counts for the interval: no hammering a failing issuer
    with pytest.raises(InvalidToken):
        await verifier.verify(token(KEY_B))
    assert source.fetches == 2


# ------------------------------------------------------------------ refused before any key lookup


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: str = "c2ln") -> str:
    return f"{b64url_json(header)}.{b64url_json(claims)}.{signature}"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "key-a"},
        {"alg": "HS256", "kid": "key-a"},
        {"alg": "HS512", "kid": "key-a"},
        {"alg": "ES384", "kid": "key-a"},  # a real algorithm, but not on this allow-list
        {"alg": "es256", "kid": "key-a"},
        {"alg": "", "kid": "key-a"},
        {"alg": None, "kid": "key-a"},
        {"alg": ["ES256"], "kid": "key-a"},
        {"kid": "key-a"},
        {"alg": "ES256"},
        {"alg": "ES256", "kid": ""},
        {"alg": "ES256", "kid": 1},
        {"alg": "ES256", "kid": "k" * 201},
    ],
)
async def test_disallowed_algorithm_or_missing_kid_is_refused_without_a_fetch(
    verifier: TokenVerifier, source: FakeKeySource, header: dict[str, Any]
) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(raw_token(header, {"iss": ISSUER, "aud": AUDIENCE}))
    assert source.fetches == 0
    assert verifier.fetch_count == 0


@pytest.mark.parametrize(
    "value",
    ["", "abc", "a.b", "a.b.c", "a.b.c.d", "!!!.e30.e30", "W10.e30.e30", "x" * 9000, "é.e30.e30"],
)
async def test_malformed_tokens_are_refused_without_a_fetch(
    verifier: TokenVerifier, source: FakeKeySource, value: str
) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(value)
    assert source.fetches == 0


async def test_a_good_token_with_a_disallowed_algorithm_is_refused(clock: FakeClock) -> None:
    source = FakeKeySource(KEY_A)
    verifier = make_verifier(source, clock, algorithms=("RS256",))
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token(KEY_A))
    assert source.fetches == 0


# ------------------------------------------------------------------ claims


async def test_a_forged_signature_with_a_known_kid_is_refused(verifier: TokenVerifier) -> None:
    impostor = new_key("key-a")
    with pytest.raises(InvalidToken):
        await verifier.verify(token(impostor))


@dataclass(frozen=True)
class SecondsAgo:
    """A time claim relative to when the test runs, not to when it was collected (a long
    run reached a `nbf` 600 s "ahead" after more than 600 s)."""

    seconds: int


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": SecondsAgo(31 + 60)},
        {"exp": None},
        {"nbf": SecondsAgo(-600)},
        {"iss": "https://other.example"},
        {"iss": None},
        {"aud": "other"},
        {"aud": None},
    ],
)
async def test_bad_registered_claims_are_refused(
    verifier: TokenVerifier, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    full: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now - 3600,
        "nbf": now - 3600,
        "exp": now + 300,
        ORG_CLAIM: 7,
    }
    # the control: these claims as they stand are accepted
    good = jwt.encode({"alg": "ES256", "kid": KEY_A.kid}, full, KEY_A)
    assert (await verifier.verify(good)).organisation_id == 7
    for name, value in claims.items():
        if isinstance(value, SecondsAgo):
            value = now - value.seconds
        if value is None:
            full.pop(name)
        else:
            full[name] = value
    bad = jwt.encode({"alg": "ES256", "kid": KEY_A.kid}, full, KEY_A)
    with pytest.raises(InvalidToken):
        await verifier.verify(bad)


@pytest.mark.parametrize("organisation", [None, True, False, 1.0, "x", "", [7]])
async def test_a_missing_or_bad_organisation_is_refused(
    verifier: TokenVerifier, organisation: Any
) -> None:
    with pytest.raises(InvalidToken, match="organisation"):
        await verifier.verify(token(KEY_A, organisation=organisation))
