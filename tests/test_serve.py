"""``serve`` and the mapping page's routes: the Function App's own HTTP functions on loopback, on local folders
and the embedded Graph emulator, through a whole flow (upload, suggest, validate, preview, save, send, retry)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.hrms import HrmsEmulator
from tests.serve_support import serving
from tests.support import ROOT

SAMPLE = ROOT / "samples" / "workers.csv"


@pytest.fixture
def base(tmp_path: Path) -> Any:
    with serving(tmp_path, CONNECTORS_ALLOW_LOOPBACK_HTTP="true") as url:
        yield url


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _profile() -> dict[str, Any]:
    return json.loads((ROOT / "mappings" / "microsoft-sample.json").read_text())


def _wait(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = _json(client.get(f"/api/runs/{run_id}"), 200)
        ended = record["status"] not in ("planning", "sending", "sent")
        if ended or (record["status"] == "sent" and (record.get("results") or {}).get("complete")):
            return dict(record)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end")


def test_the_whole_flow_on_local_folders_and_the_embedded_emulator(base: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        upload = _json(client.post("/api/uploads", params={"name": "workers.csv"}, content=SAMPLE.read_bytes(),
                                   headers={"Content-Type": "text/csv"}), 201)  # fmt: skip
        assert (upload["format"], upload["encoding"], upload["delimiter"], upload["rows"]) == ("csv", "utf-8", ",", 281)
        uid = upload["uploadId"]
        rows = _json(client.get(f"/api/uploads/{uid}/rows", params={"offset": 10, "limit": 3}), 200)
        assert len(rows["rows"]) == 3 and rows["total"] == 281 and "WorkerID" in rows["rows"][0]
        suggestion = _json(client.post(f"/api/uploads/{uid}/suggest"), 200)
        assert suggestion["profile"]["attributes"]["externalId"] == "WorkerID"

        profile = _profile()
        checked = _json(client.post(f"/api/uploads/{uid}/validate", json={"profile": profile}), 200)
        assert checked["summary"]["rejected"] == 3 and {r["line"] for r in checked["rejects"]} == {19, 44, 103}
        bad = _json(client.post(f"/api/uploads/{uid}/validate", json={"profile": {"attributes": {}}}), 400)
        assert bad["error"]["code"] == "InvalidProfile" and "externalId" in bad["error"]["message"]
        page = _json(client.post(f"/api/uploads/{uid}/preview", params={"offset": 5, "limit": 5},
                                 json={"profile": profile}), 200)  # fmt: skip
        assert page["total"] == 6 and len(page["requests"]) == 1, "the last of six requests"
        assert page["requests"][0]["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]

        assert _json(client.put("/api/mappings/mine", json=profile), 201)["saved"]
        assert _json(client.put("/api/mappings/mine", json=profile), 409)["error"]["code"] == "Exists"
        assert _json(client.put("/api/mappings/mine", params={"overwrite": "true"}, json=profile), 200)
        assert (tmp_path / "config" / "mine.json").is_file(), "CONFIG_DIR stands for the config container"
        assert {"name": "mine", "origin": "saved"} in _json(client.get("/api/mappings"), 200)["mappings"]
        assert _json(client.get("/api/mappings/mine"), 200)["attributes"]["externalId"] == "WorkerID"
        assert _json(client.put("/api/mappings/bad%20name!", json=profile), 400)["error"]["code"] == "InvalidName"

        started = _json(client.post(f"/api/uploads/{uid}/provision", params={"mapping": "mine"}), 202)
        record = _wait(client, started["runId"])
        assert record["status"] == "completed", record["message"]
        assert record["results"]["failed"] == ["10119"], "the sample's UPN clash"
        retried = _json(client.post(f"/api/runs/{started['runId']}/retry"), 202)
        assert retried["retryOf"] == started["runId"]
        assert _wait(client, retried["runId"])["counts"]["operations"] == 1


def test_the_page_and_its_files_come_from_the_app(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/ui/app.css").headers["content-type"].startswith("text/css")
        assert _json(client.get("/ui/secrets.txt"), 404)["error"]["code"] == "NotFound"
        assert _json(client.get("/api/no/such/route"), 404)["error"]["code"] == "NotFound"
        assert _json(client.delete("/api/runs"), 405)["error"]["code"] == "MethodNotAllowed"
        groups = _json(client.get("/api/entra-targets"), 200)["groups"]
        assert any("employeeHireDate" in g["attributes"] for g in groups)


def test_uploads_refuse_what_they_cannot_read_with_a_json_reason(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        assert _json(client.post("/api/uploads", content=b"x", headers={"Content-Type": "image/png"}), 415)
        assert _json(client.post("/api/uploads", content=b"", headers={"Content-Type": "text/csv"}), 400)
        assert _json(client.post("/api/uploads", content=b"\xff\xfe\x00bad", headers={"Content-Type": "text/csv"}), 400)
        assert _json(client.get("/api/uploads/" + "0" * 32 + "/rows"), 404)["error"]["code"] == "UnknownUpload"
        assert _json(client.get("/api/uploads/../../etc/rows"), 404)


def test_an_hr_connector_job_is_tested_and_sampled_without_its_secret(tmp_path: Path) -> None:
    with HrmsEmulator("custom-rest", workers=12, auth="apikey") as hr:
        jobs = tmp_path / "config" / "connectors"
        jobs.mkdir(parents=True)
        config = {**hr.config, "path": "/all/people", "authType": "apikey-header"}
        (jobs / "people.json").write_text(json.dumps({"connector": "custom-rest", "profile": "custom-rest",
                                                      "config": config}))  # fmt: skip
        with serving(tmp_path, CONNECTORS_ALLOW_LOOPBACK_HTTP="true") as url, httpx.Client(base_url=url) as client:
            listed = _json(client.get("/api/connector-jobs"), 200)
            assert listed == {"jobs": [{"name": "people", "connector": "custom-rest", "enabled": True,
                                        "profile": "custom-rest"}]}  # fmt: skip
            tested = _json(client.post("/api/connectors/custom-rest/test", json={"job": "people"}), 200)
            assert tested["ok"], tested
            sample = _json(client.post("/api/connector-jobs/people/sample", params={"limit": 5}), 201)
            assert sample["rows"] == 5 and sample["format"] == "jsonl" and "workerId" in sample["fields"]
            text = json.dumps([listed, tested, sample])
            assert hr.config["apiKey"] not in text, "the page never sees a secret"


def test_outcomes_come_a_page_at_a_time_filtered_on_the_server(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        upload = _json(client.post("/api/uploads", content=SAMPLE.read_bytes(), headers={"Content-Type": "text/csv"}),
                       201)  # fmt: skip
        started = _json(client.post(f"/api/uploads/{upload['uploadId']}/provision",
                                    params={"mapping": "microsoft-sample"}), 202)  # fmt: skip
        _wait(client, started["runId"])
        page = _json(client.get(f"/api/runs/{started['runId']}/results", params={"limit": 10}), 200)
        assert (len(page["outcomes"]), page["total"], page["offset"]) == (10, 278, 0)
        failed = _json(client.get(f"/api/runs/{started['runId']}/results", params={"status": "failure"}), 200)
        assert [o["externalId"] for o in failed["outcomes"]] == ["10119"]
        found = _json(client.get(f"/api/runs/{started['runId']}/results", params={"search": "1023"}), 200)
        assert "10230" in [o["externalId"] for o in found["outcomes"]]
