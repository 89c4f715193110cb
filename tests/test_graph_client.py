"""The upload client against the Graph emulator over real HTTP: throttling, faults, tokens, bad batches."""

from __future__ import annotations

import httpx
import orjson

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning.core.plan.bulk import BulkRequest, operation, request_body
from tests.entra_support import CountingCredential, FakeSleep, client_for

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def request(number: int, ids: list[str], level: int = 0) -> BulkRequest:
    ops = [
        operation({"schemas": [USER], "externalId": i, "userName": f"u{i}@contoso.com", "active": True}) for i in ids
    ]
    return BulkRequest(number, request_body(ops), ids, level, level)


def test_an_accepted_upload(graph: EntraEmulator) -> None:
    with client_for(graph) as client:
        outcome = client.upload(request(1, ["1", "2"]))
    assert (outcome.status, outcome.http_status, outcome.attempts) == ("accepted", 202, 1)
    assert set(graph.directory()) == {"1", "2"}


class FaultEveryNewRequest(httpx.HTTPTransport):
    """Before each request body it has not seen, tells the emulator to answer the next two calls 429."""

    def __init__(self, emulator: EntraEmulator, statuses: list[int], retry_after: float | None) -> None:
        super().__init__()
        self._emulator, self._statuses, self._retry_after = emulator, statuses, retry_after
        self._seen: set[bytes] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.url.path.endswith("/bulkUpload") and body not in self._seen:
            self._seen.add(body)
            self._emulator.inject_faults(self._statuses, retry_after=self._retry_after)
        return super().handle_request(request)


def test_throttling_storm_every_call_429_twice_then_202(graph: EntraEmulator) -> None:
    sleep = FakeSleep()
    transport = FaultEveryNewRequest(graph, [429, 429], retry_after=2)
    with client_for(graph, sleep=sleep, transport=transport) as client:
        outcomes = [client.upload(request(n, [f"{n}-{i}" for i in range(3)])) for n in range(1, 6)]
    assert [o.status for o in outcomes] == ["accepted"] * 5
    assert [o.attempts for o in outcomes] == [3] * 5
    assert all(o.retried_statuses == [429, 429] for o in outcomes)
    assert sleep.calls and all(1.9 <= s <= 2.0 for s in sleep.calls), "Retry-After honoured, through the pacer"
    assert graph.accepted_upload_count == 5
    assert len(graph.directory()) == 15


def test_429_without_retry_after_backs_off_exponentially(graph: EntraEmulator) -> None:
    sleep = FakeSleep()
    graph.inject_faults([429, 429, 429])
    with client_for(graph, sleep=sleep) as client:
        outcome = client.upload(request(1, ["a"]))
    assert outcome.status == "accepted" and outcome.attempts == 4
    assert len(sleep.calls) == 3
    assert 0.5 <= sleep.calls[0] <= 1 and 1 <= sleep.calls[1] <= 2 and 2 <= sleep.calls[2] <= 4


def test_5xx_faults_are_retried_and_a_lasting_one_fails_only_its_batch(graph: EntraEmulator) -> None:
    graph.inject_faults([503, 500, 502])
    with client_for(graph, max_attempts=3) as client:
        outcomes = [client.upload(r) for r in (request(1, ["a"]), request(2, ["b"]), request(3, ["c"]))]
    assert [(o.status, o.attempts) for o in outcomes] == [("failed", 3), ("accepted", 1), ("accepted", 1)]
    assert outcomes[0].http_status == 502 and outcomes[0].error_code == "badGateway"
    assert set(graph.directory()) == {"b", "c"}


def test_token_expiry_mid_run_refreshes_once(graph: EntraEmulator) -> None:
    credential = CountingCredential()
    with client_for(graph, credential=credential) as client:
        first = client.upload(request(1, ["a"]))
        graph.revoke_token("token-1")
        second = client.upload(request(2, ["b"]))
    assert first.status == second.status == "accepted"
    assert credential.issued == ["token-1", "token-2"]
    assert [r.status for r in graph.uploads()] == [202, 401, 202]


def test_a_token_that_stays_bad_fails_its_batch_without_looping(graph: EntraEmulator) -> None:
    class Stubborn(CountingCredential):
        def get_token(self, *scopes, **kwargs):  # type: ignore[no-untyped-def]
            self.issued.append("same")
            from azure.core.credentials import AccessToken

            return AccessToken("same", 2**31)

    graph.revoke_token("same")
    with client_for(graph, credential=Stubborn()) as client:
        outcome = client.upload(request(1, ["a"]))
    assert (outcome.status, outcome.http_status, outcome.error_code) == ("failed", 401, "InvalidAuthenticationToken")
    assert [r.status for r in graph.uploads()] == [401, 401], "one refresh, then reported"


def test_a_400_batch_is_reported_with_graphs_error_and_the_rest_is_sent(graph: EntraEmulator) -> None:
    bad_body = orjson.loads(request(2, ["x"]).body)
    bad_body["Operations"][0]["method"] = "PATCH"
    bad = BulkRequest(2, orjson.dumps(bad_body), ["x"])
    with client_for(graph) as client:
        outcomes = [client.upload(r) for r in (request(1, ["a"]), bad, request(3, ["c"]))]
    assert [o.status for o in outcomes] == ["accepted", "failed", "accepted"]
    assert outcomes[1].http_status == 400 and outcomes[1].attempts == 1
    assert outcomes[1].error_code == "BadRequest" and "PATCH" in outcomes[1].error
    assert set(graph.directory()) == {"a", "c"}


def test_a_credential_that_gives_no_token_fails_the_request_as_fatal_and_raises_nothing(
    graph: EntraEmulator,
) -> None:
    class Revoked(CountingCredential):
        def get_token(self, *scopes, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("AADSTS7000222: the provided client secret keys are expired\nTrace ID: x")

    with client_for(graph, credential=Revoked()) as client:
        outcome = client.upload(request(1, ["a"]))
    assert (outcome.status, outcome.error_code, outcome.fatal) == ("failed", "CredentialUnavailable", True)
    assert "AADSTS7000222" in outcome.error and "Trace ID" not in outcome.error, "one line of the reason"
    assert graph.upload_count == 0


def test_a_deadline_stops_the_retrying_and_says_the_request_may_go_again(graph: EntraEmulator) -> None:
    clock = [0.0]
    graph.inject_faults([503] * 5, retry_after=20)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with client_for(graph, sleep=sleep, clock=lambda: clock[0]) as client:  # time moves only when it sleeps
        outcome = client.upload(request(1, ["a"]), deadline=45.0)
    assert outcome.status == "failed" and outcome.gave_up_at_deadline and not outcome.fatal
    assert outcome.attempts == 3, "two 20 s waits fit in 45 s, a third would not"


def test_job_status_schema_and_logs_calls(graph: EntraEmulator) -> None:
    with client_for(graph) as client:
        assert client.job_status() == "Active"
        graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Paused")
        assert client.job_status() == "Paused"
        schema = client.get_schema()
        assert {"directories", "synchronizationRules"} <= set(schema)
        client.put_schema(schema)
        assert graph.schema_put_count() == 1


def test_log_pages_are_followed_through_next_links(graph: EntraEmulator) -> None:
    with client_for(graph) as client:
        for n in range(1, 6):
            client.upload(request(n, [f"{n}-{i}" for i in range(50)]))
        pages = list(client.provisioning_logs({"$filter": f"jobid eq '{DEFAULT_JOB}'", "$top": "40"}))
    assert len(pages) >= 7
    ids = [e["sourceIdentity"]["id"] for page in pages for e in page]
    assert len(ids) == len(set(ids)) == 250
