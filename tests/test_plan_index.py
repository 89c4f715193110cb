"""The speed work of issue 14 changes no output: the generated mapper and the on-disk index against the
reference implementations they replace."""

from __future__ import annotations

import os
import random
from pathlib import Path

import orjson
import pytest

from provisioning import CsvSource, plan_run
from provisioning.core.errors import ProfileError, RowError, SourceError
from provisioning.core.mapping.mapper import UserMapper
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.ordering import NO_MANAGER, manager_levels, send_order
from tests.support import minimal_profile

PROJECT = Path(__file__).resolve().parent.parent
PROFILES = sorted(p for p in (PROJECT / "mappings").glob("*.json") if "schema" not in p.name)
SAMPLES = sorted((PROJECT / "samples").rglob("*.csv"))


def _outcome(function: object, record: object) -> object:
    try:
        return orjson.dumps(function(record))  # type: ignore[operator]
    except RowError as error:
        return ("rejected", error.reason, error.field, error.value)


def test_the_generated_mapping_is_the_reference_mapping_byte_for_byte() -> None:
    profiles = 0
    for profile_path in PROFILES:
        profiles += _compare_on_samples(profile_path) > 0
    assert profiles >= 2  # the CSV profiles (the connector profiles read JSON, covered by their own tests)


def _compare_on_samples(profile_path: Path) -> int:
    profile = load_profile(str(profile_path))
    compared = 0
    for sample in SAMPLES:
        source = CsvSource(sample)
        try:
            mapper = UserMapper(profile, source)
        except (SourceError, ProfileError):
            continue  # the profile's columns are not in this sample
        for _, record in source.records():
            if isinstance(record, RowError):
                continue
            assert _outcome(mapper.map, record) == _outcome(mapper.mapped, record), (profile_path.name, sample)
            compared += 1
    return compared


def test_trimmed_defaults_and_untrimmed_columns_map_alike() -> None:
    profile = minimal_profile(displayName={"source": "name", "default": "(none)"}, title={"source": "name"})
    data = "id,user,status,name\n 1 , u1 ,Active,  \n2,u2,Active, Ann \n,u3,Active,x\n"
    source = CsvSource(data.encode())
    mapper = UserMapper(profile, source)
    for _, record in source.records():
        assert _outcome(mapper.map, record) == _outcome(mapper.mapped, record)


def _random_org(rng: random.Random, count: int) -> list[str]:
    """Workers with managers drawn at random: chains, duplicates, look-alike ids, self-managers, cycles."""
    rows = ["id,user,status,boss"]
    for i in range(count):
        ident = str(rng.randrange(count + count // 10))  # some ids twice
        if rng.random() < 0.05:
            ident = ident + " "  # the same id once folded
        boss = rng.choice(["", str(rng.randrange(count + 5)), ident])
        rows.append(f"{ident},u{i},Active,{boss}")
    return rows


@pytest.mark.parametrize("policy", ["reject", "first", "last"])
@pytest.mark.parametrize("seed", range(6))
def test_the_sqlite_index_orders_like_the_in_memory_levels(policy: str, seed: int) -> None:
    rng = random.Random(seed)
    rows = _random_org(rng, 300)
    profile = minimal_profile(enterprise={"manager": "boss"}).model_copy(update={"duplicates": policy})
    rejects: list[object] = []
    plan = plan_run(CsvSource("\n".join(rows).encode()), profile, on_reject=rejects.append)
    sent = [op["data"]["externalId"] for body in plan.requests() for op in orjson.loads(body.body)["Operations"]]

    # The reference: the earlier in-memory index, written out plainly.
    records = [row.split(",") for row in rows[1:]]
    keys = [r[0].strip().lower() for r in records]
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    keep = bytearray(b"\x01") * len(records)
    stands_for: dict[str, int] = {}
    for key, found in by_key.items():
        if len(found) == 1:
            stands_for[key] = found[0]
        elif policy == "reject":
            stands_for[key] = -1
            for i in found:
                keep[i] = 0
        else:
            kept = found[0] if policy == "first" else found[-1]
            stands_for[key] = kept
            for i in found:
                keep[i] = int(i == kept)
    manager_of = [NO_MANAGER] * len(records)
    for i, record in enumerate(records):
        boss = record[3].strip().lower()
        if not boss or not keep[i]:
            continue
        manager = stands_for.get(boss, -1)
        if manager != -1 and boss != keys[i]:
            manager_of[i] = manager
    levels, cycles = manager_levels(manager_of)
    expected = [records[i][0].strip() for i in send_order(levels, keep)]

    assert sent == expected
    assert plan.summary.managers["cycles"] == len(cycles)
    assert plan.summary.managers["levels"] == (max(levels[i] for i in send_order(levels, keep)) + 1 if any(keep) else 0)
    listed = plan.summary.managers["cyclesListed"]
    assert listed == [[records[i][0].strip() for i in cycle] for cycle in cycles[:20]]


def test_the_index_leaves_no_file_behind(tmp_path: Path) -> None:
    rows = "id,user,status,boss\n" + "".join(f"{i},u{i},Active,{i // 10}\n" for i in range(1, 200))
    plan = plan_run(CsvSource(rows.encode()), minimal_profile(enterprise={"manager": "boss"}),
                    on_reject=lambda reject: None, spool_dir=str(tmp_path))  # fmt: skip
    assert sum(1 for _ in plan.requests()) == 4
    assert os.listdir(tmp_path) == []
    plan = plan_run(CsvSource(rows.encode()), minimal_profile(), on_reject=lambda reject: None, spool_dir=str(tmp_path))
    plan.close()
    assert os.listdir(tmp_path) == []
