"""A hostile-input corpus, made here, through the CLI and the HTTP API: every input ends with
``rows = operations + rejected`` against an independent count of the records it holds, the documented
exit status or a 4xx JSON answer, and never a traceback. Plus look-alike ids, and every HTTP route's
parameters under Hypothesis: 4xx JSON or success, never 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.entra import EntraEmulator
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.csv_source import CsvSource
from tests.azurite import StorageSandbox
from tests.functions_support import SMALL_PROFILE, FunctionHost, small_host
from tests.support import ROOT

HEADER = "WorkerID,WorkerStatus,WorkerType,UserID,FirstName,LastName,FullName,ManagerID"


def row(i: int, name: str | None = None) -> str:
    return f"{1000 + i},Active,Employee,u{i}@contoso.com,F{i},L{i},{name or f'F{i} L{i}'},"


def csv_of(rows: list[str], *, newline: str = "\n") -> bytes:
    return (newline.join([HEADER, *rows]) + newline).encode()


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    content_type: str
    records: int | None
    """The records the input holds, counted by construction; None: the whole input is unusable."""
    suffix: str = ".csv"


def _corpus() -> list[Case]:
    plain = [row(i) for i in range(500)]
    unclosed = list(plain)
    unclosed[2] = '2,u2@x.com,Active,,"Bob,u2@x.com,D'
    late = [row(i) for i in range(4000)]
    late[5] = '1005,Active,Employee,u5@contoso.com,"open,L5,F5 L5,'  # past 128 KiB of lines after it
    ragged = [row(0), row(1) + ",extra", "1002,Active", row(3)]
    multiline = [row(0), '1001,Active,Employee,u1@contoso.com,F1,L1,"F1\nsecond line",', row(2)]
    huge = [row(0), row(1, name='"' + "x" * 200_000 + '"'), row(2)]
    formula = [row(0, name='=HYPERLINK("http://evil")'), "1001,Active,Employee,,+cmd,-x,@SUM(1),"]
    blank = [row(0), "", row(1), "   ", row(2)]
    lookalikes = [row(0), "abc,Active,Employee,a@contoso.com,A,B,A B,", "ABC,Active,Employee,b@contoso.com,A,B,A B,"]
    json_lines = b"".join(json.dumps({"WorkerID": str(i), "UserID": f"j{i}@contoso.com"}).encode() + b"\n"
                          for i in range(7)) + b"{not json}\n" + b'"a string"\n'  # fmt: skip
    deep = ("[" + '{"a":' * 2000 + '{"WorkerID": "1"}' + "}" * 2000 + "]").encode()
    return [
        Case("plain", csv_of(plain), "text/csv", 500),
        Case("crlf with a BOM", b"\xef\xbb\xbf" + csv_of(plain[:20], newline="\r\n"), "text/csv", 20),
        Case("utf-16 with a BOM", csv_of(plain[:20]).decode().encode("utf-16"), "text/csv", 20),
        Case("unclosed quote on line 3", csv_of(unclosed), "text/csv", 500),
        Case("unclosed quote with 128 KiB after it", csv_of(late), "text/csv", 4000),
        Case("ragged rows", csv_of(ragged), "text/csv", 4),
        Case("a quoted field over two lines", csv_of(multiline), "text/csv", 3),
        Case("a 200,000-character field", csv_of(huge), "text/csv", 3),
        Case("formula cells", csv_of(formula), "text/csv", 2),
        Case("blank lines", csv_of(blank), "text/csv", 3),
        Case("look-alike ids", csv_of(lookalikes), "text/csv", 3),
        Case("cp1252 without its name", csv_of([row(0, name="Zoë Noël")]).decode().encode("cp1252"), "text/csv", None),
        Case("NUL bytes", csv_of(plain[:3]).replace(b"F1", b"F\x001"), "text/csv", None),
        Case("header only", (HEADER + "\n").encode(), "text/csv", None),
        Case("empty", b"", "text/csv", None),
        Case("JSON lines with bad lines", json_lines, "application/x-ndjson", 9, ".jsonl"),
        Case("JSON nested 2,000 deep", deep, "application/json", None, ".json"),
        Case("JSON lines of one string", b'"workers"', "application/json", 1, ".json"),
    ]


CORPUS = _corpus()


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "small.json"
    path.write_text(json.dumps(SMALL_PROFILE))
    return path


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_the_cli_counts_every_record_and_exits_as_documented(case: Case, profile_file: Path, tmp_path: Path) -> None:
    source = tmp_path / f"input{case.suffix}"
    source.write_bytes(case.data)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "provisioning", "preview", str(source), "--mapping", str(profile_file),
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    if case.records is None:
        assert result.returncode == 2 and result.stderr.startswith("error: "), result.stdout + result.stderr
        return
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == case.records
    assert summary["rows"] == summary["operations"] + summary["rejected"]
    assert result.returncode == (1 if summary["rejected"] else 0)


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch, HR_PROFILE_ROUTES="", ENTRA_BATCH_SIZE="50")


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_http_counts_every_record_or_answers_4xx_json(case: Case, host: FunctionHost) -> None:
    status, body, _ = host.http(
        "preview", "POST", "http://x/api/preview", case.data, {"Content-Type": case.content_type}, {"mapping": "small"}
    )
    if case.records is None:
        assert 400 <= status < 500 and body["error"]["code"] and body["error"]["message"], body
        return
    assert status == 200, body
    summary = body["summary"]
    assert summary["rows"] == case.records == summary["operations"] + summary["rejected"]


def test_the_unclosed_quote_is_named_at_the_line_where_it_opened() -> None:
    rejects: list[Reject] = []
    plan = plan_run(CsvSource(CORPUS[3].data), load_profile_from(SMALL_PROFILE), on_reject=rejects.append)
    assert (plan.summary.rows, plan.summary.operations, plan.summary.rejected) == (500, 499, 1)
    (reject,) = rejects
    assert reject.line == 4 and "a quoted field opens on this line and is never closed" in reject.reason


def load_profile_from(document: dict) -> object:
    from provisioning.core.mapping.profiles import parse_profile

    return parse_profile(document, origin="test")


# ---- look-alike ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ABC", "abc"),
        ("1001", "1001\u200b"),  # a zero-width space
        ("1001", "\uff11001"),  # a full-width digit one
        ("A77", "\u041077"),  # Cyrillic capital A
        ("K9", "\u212a9"),  # the Kelvin sign
        ("1001", " 1001\u00a0"),  # surrounding (no-break) spaces
    ],
)
def test_ids_entra_would_take_for_one_person_are_duplicates(first: str, second: str) -> None:
    rows = [f"{first},Active,Employee,a@contoso.com,A,B,A B,", f"{second},Active,Employee,b@contoso.com,C,D,C D,"]
    rejects: list[Reject] = []
    plan = plan_run(CsvSource(csv_of(rows)), load_profile_from(SMALL_PROFILE), on_reject=rejects.append)
    assert plan.summary.operations == 0 and plan.summary.rejected == 2, "neither goes: they would overwrite"
    assert all("appears on lines 2, 3" in r.reason for r in rejects)
    assert plan.summary.duplicates["externalIds"] == 1


def test_look_alike_managers_resolve_and_ids_are_sent_as_written() -> None:
    rows = ["MGR1,Active,Employee,m@contoso.com,M,M,M M,", "r1,Active,Employee,r@contoso.com,R,R,R R,mgr1"]
    plan = plan_run(CsvSource(csv_of(rows)), load_profile_from(SMALL_PROFILE), on_reject=lambda r: None)
    assert plan.summary.managers["inRun"] == 1 and plan.summary.managers["levels"] == 2
    sent = [json.loads(r.body)["Operations"] for r in plan.requests()]
    assert [op["data"]["externalId"] for ops in sent for op in ops] == ["MGR1", "r1"]


def test_the_bundled_profile_counts_the_sample_as_before() -> None:
    plan = plan_run(
        CsvSource(ROOT / "samples" / "workers.csv"), load_profile("microsoft-sample"), on_reject=list().append
    )
    assert (plan.summary.rows, plan.summary.operations, plan.summary.rejected) == (281, 278, 3)


# ---- every HTTP route: 4xx JSON or success, never 500 -------------------------------------------------------


BAD_PARAMS = [
    ("preview", {"mapping": "small", "encoding": "rot13"}, b"a,b\n1,2\n", "text/csv"),
    ("preview", {"mapping": "x" * 2000}, b"a\n1\n", "text/csv"),
    ("preview", {"mapping": "host.json"}, b"a\n1\n", "text/csv"),
    ("preview", {"mapping": "../host"}, b"a\n1\n", "text/csv"),
    ("get_logs", {"since": "0001-01-01T00:00:00+14:00"}, b"", ""),
    ("get_logs", {"since": "9999-12-31T23:59:59-14:00"}, b"", ""),
    ("suggest_mapping", {}, json.dumps([{"a": {"b": {"c": [{"d": 1}] * 3}}}] * 2).encode(), "application/json"),
    ("suggest_mapping", {}, ("[" * 3000 + "]" * 3000).encode(), "application/json"),
    ("suggest_mapping", {}, ('{"a":' * 900 + "1" + "}" * 900).encode(), "application/json"),
    ("list_runs", {"limit": "99999999999999999999"}, b"", ""),
    ("provision", {"mapping": "small", "source": "../../etc"}, b"WorkerID\n1\n", "text/csv"),
]


@pytest.mark.parametrize(("function", "params", "body", "content_type"), BAD_PARAMS)
def test_bad_parameters_answer_a_4xx_with_a_json_reason(
    host: FunctionHost, function: str, params: dict, body: bytes, content_type: str
) -> None:
    method = "GET" if function in ("get_logs", "list_runs") else "POST"
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer, _ = host.http(function, method, "http://x/api/x", body, headers, params)
    assert status < 500, answer
    if status >= 400:
        assert answer["error"]["code"] and answer["error"]["message"]


ROUTE_FUNCTIONS = {
    "preview": ("POST", {}),
    "provision": ("POST", {}),
    "list_runs": ("GET", {}),
    "get_run": ("GET", {"runId"}),
    "get_run_results": ("GET", {"runId"}),
    "approve_run": ("POST", {"runId"}),
    "retry_run": ("POST", {"runId"}),
    "get_logs": ("GET", {}),
    "get_usage": ("GET", {}),
    "suggest_mapping": ("POST", {}),
    "list_connectors": ("GET", {}),
    "test_connector": ("POST", {"id"}),
    "health": ("GET", {}),
}

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
_params = st.dictionaries(
    st.sampled_from(["mapping", "dryRun", "source", "limit", "since", "encoding", "name", "x"]), _text, max_size=4
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _text.map(str.encode),
    st.just(b"WorkerID,UserID\n1,a@contoso.com\n"),
    st.recursive(st.none() | st.booleans() | st.integers() | _text, lambda c: st.lists(c) | st.dictionaries(_text, c),
                 max_leaves=20).map(lambda v: json.dumps(v).encode()),
)  # fmt: skip
_types = st.sampled_from(
    ["", "text/csv", "application/json", "application/x-ndjson", "text/plain; charset=utf-8", "image/png", "x"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    function=st.sampled_from(sorted(ROUTE_FUNCTIONS)),
    params=_params,
    body=_bodies,
    content_type=_types,
    route_value=st.one_of(_text, st.just("20261128T120000Z-abcdef"), st.just("workday")),
)
def test_every_route_answers_4xx_json_or_success_never_500(
    host: FunctionHost, function: str, params: dict, body: bytes, content_type: str, route_value: str
) -> None:
    method, route_keys = ROUTE_FUNCTIONS[function]
    params = {**params, "mapping": params.get("mapping", "small")} if function in ("preview", "provision") else params
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer, _ = host.http(
        function, method, "http://x/api/x", body, headers, params, {k: route_value for k in route_keys}
    )
    assert status < 500, (function, params, answer)
    assert isinstance(answer, dict)
    if status >= 400:
        assert set(answer) == {"error"} and answer["error"]["code"] and answer["error"]["message"]


def test_a_large_preview_answers_a_bounded_set_in_memory_near_the_body_size(host: FunctionHost) -> None:
    import tracemalloc

    body = csv_of([row(i) for i in range(60_000)])  # about 4 MB
    tracemalloc.start()
    try:
        status, answer, _ = host.http(
            "preview", "POST", "http://x/api/preview", body, {"Content-Type": "text/csv"}, {"mapping": "small"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200 and answer["summary"]["requests"] == 1200
    assert len(answer["requests"]) == 20 and answer["requestsTruncated"] is True
    assert peak < 4 * len(body), f"peak {peak:,} bytes for a {len(body):,}-byte body"
