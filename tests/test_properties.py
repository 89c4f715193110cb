"""Property tests: the invariants hold for any input, not just the examples."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning import CsvSource, Reject, plan_run
from provisioning.core.mapping.profile import ENTERPRISE_SCHEMA
from tests.support import minimal_profile, operations, run_plan

IDS = st.sampled_from([str(i) for i in range(40)])
ROW = st.tuples(
    IDS, st.sampled_from(["u", ""]), st.sampled_from(["Active", "Gone"]), st.one_of(st.just(""), IDS, st.just("999"))
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, min_size=1, max_size=180),
    policy=st.sampled_from(["reject", "first", "last"]),
    batch=st.integers(min_value=1, max_value=50),
)
def test_every_row_ends_as_one_operation_or_one_reject_and_managers_come_first(
    rows: list[tuple[str, str, str, str]], policy: str, batch: int
) -> None:
    text = "id,user,status,boss\n" + "".join(f"{i},{u}{i},{s},{b}\n" if u else f"{i},,{s},{b}\n" for i, u, s, b in rows)
    profile = minimal_profile(enterprise={"manager": "boss"}).model_copy(update={"duplicates": policy})
    plan, rejects, bodies = run_plan(text, profile, batch_size=batch)
    ops = operations(bodies)

    assert plan.summary.rows == len(rows) == len(ops) + len(rejects)
    assert all(len(body["Operations"]) <= batch for body in bodies)
    assert all(len(body["Operations"]) == batch for body in bodies[:-1])
    rejected_lines = {r.line for r in rejects}
    assert len(rejected_lines) == len(rejects), "a row was rejected twice"
    accepted = [rows[line - 2][0] for line in range(2, len(rows) + 2) if line not in rejected_lines]
    sent = [op["data"]["externalId"] for op in ops]
    assert sorted(sent) == sorted(accepted)
    assert len(set(sent)) == len(sent)
    assert len({op["bulkId"] for op in ops}) == len(ops)
    position = {external_id: i for i, external_id in enumerate(sent)}
    in_cycles = {i for cycle in plan.summary.managers["cyclesListed"] for i in cycle}
    for i, op in enumerate(ops):
        manager = op["data"].get(ENTERPRISE_SCHEMA, {}).get("manager", {}).get("value")
        me = op["data"]["externalId"]
        if manager in position and manager != me and me not in in_cycles:
            assert position[manager] < i


FIELD = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
HEADER_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÅÉ_", min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    header=st.lists(HEADER_NAME, min_size=2, max_size=5, unique=True),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_round_trip(header: list[str], data: st.DataObject, delimiter: str, encoding: str, line_end: str) -> None:
    rows = data.draw(st.lists(st.lists(FIELD, min_size=len(header), max_size=len(header)), min_size=1, max_size=8))
    rows = [r for r in rows if any(r)] or [["x"] * len(header)]
    buffer = io.StringIO()
    # csv.writer leaves a lone "\r" unquoted when the line end is "\n": quote everything then.
    quoting = csv.QUOTE_ALL if any("\r" in f for r in rows for f in r) else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    raw = buffer.getvalue().encode(encoding)
    source = CsvSource(raw, delimiter=delimiter)
    assert source.fields == header
    assert [r for _, r in source.records()] == rows


def test_totality_with_rejects_sink() -> None:
    seen: list[Reject] = []
    plan = plan_run(CsvSource(b"id,user,status\n1,a,Active\n,b,Active\n"), minimal_profile(), on_reject=seen.append)
    assert plan.summary.rows == plan.summary.operations + len(seen) == 2
    plan.close()
