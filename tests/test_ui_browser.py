"""The mapping page in a real browser: Debian's Chromium driven by Playwright, against ``python -m provisioning
serve`` on loopback (its own folders, the embedded Graph emulator, an HR emulator for the connector job).

Every test checks that each request the page made exists in openapi.json and went nowhere but the page's own
server, and that the page raised no script error. Screenshots of each step go to out/screenshots/.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui_support import (
    CHROMIUM,
    MICROSOFT_2_RECORDS,
    OPENAPI,
    WORKERS,
    RequestLog,
    Server,
    axe_violations,
    focus_is_visible,
    launch,
    screenshot,
    serving,
    tab_to,
    wait_text,
)

if not CHROMIUM.exists():
    pytest.skip(
        f"the browser tests need Debian's Chromium at {CHROMIUM} (apt install chromium)", allow_module_level=True
    )
try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:
    pytest.skip("the browser tests need the playwright package (requirements-dev.txt)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
JOB = "oracle-people"
WIDE: Any = {"width": 1280, "height": 900}
NARROW: Any = {"width": 390, "height": 844}
_shared_absent = pytest.mark.skipif(
    not MICROSOFT_2_RECORDS.exists(),
    reason=f"Microsoft's CSV2SCIM sample is read from {MICROSOFT_2_RECORDS}: ../shared is only in the dev workspace",
)


def needs_shared(test: Any) -> Any:
    """Reads Microsoft's sample from ../shared (the ``fixtures`` marker), skipped with the reason when absent."""
    return pytest.mark.fixtures(_shared_absent(test))


# ---- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hr() -> Iterator[Any]:
    from emulators.hrms import HrmsEmulator

    with HrmsEmulator("oracle-hcm", workers=12) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hr: Any) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ui")
    jobs = folder / "config" / "connectors"
    jobs.mkdir(parents=True)
    job = {"connector": "oracle-hcm", "enabled": True, "profile": "oracle-hcm", "config": hr.config}
    (jobs / f"{JOB}.json").write_text(json.dumps(job), encoding="utf-8")
    with serving(folder) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Session:
    """A page on the server, with what it asked for and what went wrong in it."""

    def __init__(self, page: Page, server: Server, log: RequestLog) -> None:
        self.page = page
        self.server = server
        self.log = log
        self.errors: list[str] = []
        self.bodies: list[str] = []

    def open(self, viewport: Any = None) -> Page:
        if viewport:
            self.page.set_viewport_size(viewport)
        self.page.goto(self.server.base + "/")
        self.page.wait_for_selector("#mapping .attr", state="attached")
        return self.page


@pytest.fixture
def session(browser: Browser, server: Server, tmp_path: Path) -> Iterator[Session]:
    context = browser.new_context(viewport=WIDE, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log = RequestLog(server.base)
    found = Session(page, server, log)
    page.on("request", log.record)
    page.on("pageerror", lambda error: found.errors.append(f"page error: {error}"))

    def keep(response: Any) -> None:
        if "/api/" in response.url and "json" in (response.headers.get("content-type") or ""):
            with contextlib.suppress(Exception):  # a body the browser dropped (a navigation): not this test's concern
                found.bodies.append(response.text())

    page.on("response", keep)
    yield found
    context.close()
    assert not found.errors, found.errors
    assert not log.problems(), log.problems()


# ---- helpers ------------------------------------------------------------------------------------------


def step(page: Page, name: str) -> None:
    page.click(f'nav [data-step="{name}"]')
    page.wait_for_selector(f'[data-panel="{name}"]:not([hidden])')


def upload(page: Page, path: Path) -> None:
    step(page, "source")
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    wait_text(page, "#status", r"^Uploaded ")


def profile_json(page: Page) -> dict[str, Any]:
    return json.loads(page.inner_text("#profile-json"))


def no_serious_violations(page: Page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe on {where}:\n" + "\n".join(found)


def wait_run(page: Page, pattern: str = r"^(completed|failed|held)", timeout: float = 30_000) -> str:
    wait_text(page, "#run-state .badge", pattern, timeout)
    return page.inner_text("#run-state .badge")


def with_bad_row(source: Path, target: Path) -> Path:
    """Microsoft's two records and a third worker with no UserID (the userName): one reject."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
    header, first = rows[0], rows[1]
    bad = dict(zip(header, first, strict=True))
    bad.update(WorkerID="1999", UserID="", FirstName="Nomen", LastName="Nescio", FullName="Nomen Nescio")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([*rows, [bad[h] for h in header]])
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


def leavers(target: Path, disabled: int = 80) -> Path:
    """samples/workers.csv with the first ``disabled`` workers made Inactive: a run the safety stop holds."""
    rows = list(csv.reader(io.StringIO(WORKERS.read_text(encoding="utf-8"))))
    for row in rows[1 : disabled + 1]:
        if len(row) == len(rows[0]):
            row[1] = "Inactive"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


def last_number(text: str) -> int:
    found = re.search(r"of (\d+)$", text)
    assert found, text
    return int(found[1])


def many_workers(target: Path, copies: int = 36) -> Path:
    """samples/workers.csv written ``copies`` times over with fresh ids (and managers): about 10,000 rows."""
    rows = list(csv.reader(io.StringIO(WORKERS.read_text(encoding="utf-8"))))
    header = rows[0]
    at = {name: header.index(name) for name in ("WorkerID", "ManagerID", "UserID")}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for copy in range(copies):
        for row in rows[1:]:
            row = list(row)
            for name in ("WorkerID", "ManagerID"):
                if len(row) == len(header) and row[at[name]].isdigit():
                    row[at[name]] = str(int(row[at[name]]) + copy * 100_000)
            if len(row) == len(header) and row[at["UserID"]]:
                row[at["UserID"]] += f"x{copy}"
            writer.writerow(row)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


# ---- the tests ----------------------------------------------------------------------------------------


def test_the_page_knows_the_profile_schema(session: Session) -> None:
    """The client-side checks use the schema's required fields, enums and properties: kept equal here."""
    page = session.open()
    facts = page.evaluate("() => window.ProvisioningUI.SCHEMA")
    schema = json.loads((ROOT / "mappings" / "profile.schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert facts["required"]["profile"] == schema["required"]
    for name, required in facts["required"].items():
        if name != "profile":
            assert sorted(required) == sorted(defs[name].get("required", [])), name
    for name, properties in facts["properties"].items():
        assert properties == list(defs[name]["properties"]), name
    rule = defs["ValueRule"]["properties"]
    transform_refs = rule["transforms"]["items"]["discriminator"]["mapping"]
    assert sorted(facts["ops"]) == sorted(transform_refs)
    assert facts["enums"]["ifEmpty"] == rule["ifEmpty"]["enum"]
    assert facts["enums"]["type"] == defs["ExtensionAttribute"]["properties"]["type"]["enum"]
    assert facts["enums"]["duplicates"] == schema["properties"]["duplicates"]["enum"]
    assert facts["enums"]["output"] == defs["DateFormat"]["properties"]["output"]["enum"]
    assert facts["enums"]["preHire"] == defs["Lifecycle"]["properties"]["preHire"]["enum"]
    assert facts["enums"]["missing"] == defs["Lifecycle"]["properties"]["missing"]["enum"]
    days = defs["Lifecycle"]["properties"]["activateDaysBefore"]
    assert facts["activateDaysBefore"] == [days["minimum"], days["maximum"]]
    assert page.evaluate("() => window.ProvisioningUI.apiBase") == "/api"
    # as the Function App serves it, at /api/ui with its files at /api/ui/{file}
    page.goto(session.server.base + "/api/ui")
    page.wait_for_selector("#mapping .attr", state="attached")
    assert page.evaluate("() => window.ProvisioningUI.apiBase") == "/api"
    assert page.evaluate("() => getComputedStyle(document.querySelector('.top')).display") == "block"
    page.wait_for_selector(f'#hr-job option[value="{JOB}"]', state="attached")


@needs_shared
def test_the_wizard_from_microsofts_sample_to_results(session: Session, tmp_path: Path) -> None:
    page = session.open()
    no_serious_violations(page, "the empty page")

    # 1. Source: what was detected, and a page of rows.
    upload(page, with_bad_row(MICROSOFT_2_RECORDS, tmp_path / "csv-with-2-records.csv"))
    facts = page.inner_text("#upload-facts")
    for expected in ("CSV", "utf-8", '","', "3", "24"):
        assert expected in facts
    assert page.inner_text("#rows-caption") == "Rows 1 to 3 of 3"
    assert page.locator("#rows-table tbody tr").count() == 3
    assert "Ginnie" in page.inner_text("#rows-table")
    screenshot(page, "01-source")
    no_serious_violations(page, "the source step")

    # 2. Map: auto-map, then a changed mapping, a template, a transform and a custom attribute.
    step(page, "map")
    page.click("#automap")
    wait_text(page, "#status", "^Auto-map filled")
    assert page.input_value("#m-externalId-src") == "WorkerID"
    assert profile_json(page)["attributes"]["userName"] == "UserID"
    page.fill("#p-upn", "contoso.com")
    page.select_option("#m-nickName-src", "UserID")
    page.click("#m-nickName-opt")
    page.select_option("#m-nickName-tfop", "lower")
    page.click("#m-nickName-tfadd")
    page.select_option("#m-displayName-src", "__template")
    page.fill("#m-displayName-tpl", "{FirstName} {LastName}")
    # the lookup table of active, as auto-map wrote it, shown as a two-column table
    page.click("#m-active-opt")
    assert page.locator('#m-active-ed [data-lk="key"]').count() >= 10
    assert page.input_value('#m-active-ed [data-lk="key"] >> nth=0') != ""
    page.click('#m-active-ed [data-act="lk-add"]')
    page.locator('#m-active-ed [data-lk="key"]').last.fill("Contractor")
    page.locator('#m-active-ed [data-lk="value"]').last.fill("false")
    assert profile_json(page)["attributes"]["active"]["transforms"][0]["table"]["Contractor"] is False
    page.select_option("#m-nickName-empty", "empty")
    # the custom extension auto-map made (HireDate) gets a second attribute
    page.click("#x0-add")
    page.fill("#x0-a1-name", "JobCode")
    page.press("#x0-a1-name", "Tab")
    page.select_option("#x0-a1-src", "Custom01")
    page.select_option("#x0-a1-target", "extensionAttribute1")
    attributes = profile_json(page)["attributes"]
    assert attributes["nickName"] == {"source": "UserID", "transforms": [{"op": "lower"}], "ifEmpty": "empty"}
    assert attributes["displayName"] == {"template": "{FirstName} {LastName}"}
    assert attributes["extensions"][0]["attributes"]["JobCode"] == {
        "source": "Custom01",
        "type": "String",
        "target": "extensionAttribute1",
    }
    assert profile_json(page)["upnDomain"] == "contoso.com"
    # a missing required attribute is named on the page before the server is asked
    page.select_option("#m-externalId-src", "")
    wait_text(page, "#profile-problems", "attributes.externalId is required")
    page.select_option("#m-externalId-src", "WorkerID")
    wait_text(page, "#profile-problems", "Nothing missing")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "02-map", full_page=False)
    page.locator("#x0-a1-name").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, 200)")
    screenshot(page, "02b-map-custom-attribute", full_page=False)
    no_serious_violations(page, "the map step, with editors open")

    # 3. Validate: a profile the server refuses shows its message; then the counts and the reject.
    page.click("#x0-a0-opt")
    page.fill("#x0-a0-tf0-timeZone", "Mars/Olympus")
    step(page, "validate")
    wait_text(page, "#validate-error", "unknown time zone 'Mars/Olympus'")
    assert "HireDate" in page.inner_text("#validate-error")
    step(page, "map")
    page.fill("#x0-a0-tf0-timeZone", "America/Chicago")
    step(page, "validate")
    page.wait_for_selector("#validate-result:not([hidden])")
    counts = page.inner_text("#validate-counts")
    assert re.search(r"Rows\s+3", counts) and re.search(r"Rejected\s+1", counts), counts
    rejects = page.inner_text("#rejects-table")
    assert "1999" in rejects and "userName" in rejects and "4" in rejects
    assert "No two rows share an externalId" in page.inner_text("#validate-dups")
    assert "manager who is not in this source" in page.inner_text("#validate-managers")
    screenshot(page, "03-validate")
    no_serious_violations(page, "the validate step")

    # 4. Preview: the exact request, copied and downloaded; the schema-sync dry run.
    step(page, "preview")
    page.wait_for_selector("#preview-list pre")
    assert page.inner_text("#preview-caption") == "Requests 1 to 1 of 1"
    body = json.loads(page.inner_text("#preview-list pre"))
    operations = body["Operations"]
    assert [op["data"]["externalId"] for op in operations] == ["1222", "1513"]
    first = operations[0]["data"]
    assert first["userName"] == "EMP1222@contoso.com" and first["displayName"] == "Talya Fleeta"
    assert first["nickName"] == "emp1222"
    extension = first["urn:ietf:params:scim:schemas:extension:hr:1.0:User"]
    assert extension["JobCode"] == "T1001" and extension["HireDate"].startswith("2013-01-01T00:00:00-06:00")
    page.click('#preview-list [data-copy="0"]')
    wait_text(page, "#status", "copied")
    assert json.loads(page.evaluate("() => navigator.clipboard.readText()")) == body
    with page.expect_download() as download:
        page.click("#preview-list [data-download]")
    assert download.value.suggested_filename == "bulk-0001.json"
    assert json.loads(Path(download.value.path()).read_text(encoding="utf-8")) == body
    page.click("#schema-sync")
    wait_text(page, "#schema-result", "JobCode")
    assert "dry run" in page.inner_text("#schema-result")
    screenshot(page, "04-preview")
    no_serious_violations(page, "the preview step")

    # 5. Save: a bad name is refused on the page; a second save asks before overwriting.
    step(page, "save")
    page.fill("#save-name", "not a name!")
    page.click("#save-button")
    wait_text(page, "#save-error", "letters, digits")
    assert page.get_attribute("#save-name", "aria-invalid") == "true"
    page.fill("#save-name", "ms-two-records")
    page.click("#save-button")
    wait_text(page, "#status", "^Saved the new mapping ms-two-records")
    page.click("#save-button")
    page.wait_for_selector("#confirm-dialog[open]")
    assert "ms-two-records exists" in page.inner_text("#confirm-text")
    screenshot(page, "05-save-overwrite", full_page=False)
    page.click("#confirm-ok")
    wait_text(page, "#status", "^Overwrote the mapping ms-two-records")
    saved = session.server.api("GET", "/mappings/ms-two-records")
    assert saved["attributes"]["extensions"][0]["attributes"]["JobCode"]["target"] == "extensionAttribute1"

    # 6. Send, follow the run, see the per-worker outcomes.
    step(page, "send")
    assert "Ready" in page.inner_text("#send-ready")
    page.click("#send-button")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-ok")
    assert wait_run(page) == "completed"
    counts = page.inner_text("#run-counts")
    assert re.search(r"Requests answered\s+1 of 1", counts) and re.search(r"Records accepted\s+2", counts), counts
    page.wait_for_selector("#results:not([hidden])")
    wait_text(page, "#outcomes-caption", "of 2$")
    outcomes = page.inner_text("#outcomes-table")
    assert "1222" in outcomes and "1513" in outcomes and "create" in outcomes and "success" in outcomes
    screenshot(page, "06-results")
    no_serious_violations(page, "the results step")

    # the runs view lists it, with its counts
    step(page, "runs")
    run_id = page.inner_text("#run-title").removeprefix("Run ")
    wait_text(page, "#runs-table", re.escape(run_id))
    row = page.locator("#runs-table tr", has_text=run_id)
    assert "completed" in row.inner_text() and "ms-two-records" in row.inner_text()
    screenshot(page, "07-runs")
    no_serious_violations(page, "the runs view")
    used = session.log.templates()
    for operation in (
        "POST /api/uploads",
        "GET /api/uploads/{uploadId}/rows",
        "POST /api/uploads/{uploadId}/suggest",
        "POST /api/uploads/{uploadId}/validate",
        "POST /api/uploads/{uploadId}/preview",
        "POST /api/mappings/schema-sync",
        "PUT /api/mappings/{name}",
        "POST /api/uploads/{uploadId}/provision",
        "GET /api/runs/{runId}",
        "GET /api/runs/{runId}/results",
        "GET /api/runs",
        "GET /api/entra-targets",
    ):
        assert operation in used, (operation, sorted(used))


def test_the_map_editors_write_the_profile(session: Session) -> None:
    """Entries, transforms in order, a typed-in target, the lifecycle: each edit is in the JSON at once."""
    page = session.open()
    upload(page, WORKERS)
    step(page, "map")
    # an email entry, added and mapped, then a second one removed
    page.click("#m-emails-add")
    page.select_option("#m-emails-0-value-src", "UserID")
    page.click("#m-emails-add")
    assert len(profile_json(page)["attributes"]["emails"]) == 2
    page.click("#m-emails-1-rm")
    assert profile_json(page)["attributes"]["emails"] == [{"type": {"constant": "work"}, "value": "UserID"}]
    # transforms: replace with its settings, then trim moved before it
    page.select_option("#m-displayName-src", "FullName")
    page.click("#m-displayName-opt")
    page.select_option("#m-displayName-tfop", "replace")
    page.click("#m-displayName-tfadd")
    page.fill("#m-displayName-tf0-pattern", "[0-9]")
    page.fill("#m-displayName-tf0-replacement", "#")
    page.select_option("#m-displayName-tfop", "trim")
    page.click("#m-displayName-tfadd")
    page.click('#m-displayName-ed li[data-i="1"] [data-act="tf-up"]')
    assert profile_json(page)["attributes"]["displayName"] == {
        "source": "FullName",
        "transforms": [{"op": "trim"}, {"op": "replace", "pattern": "[0-9]", "replacement": "#"}],
    }
    page.click('#m-displayName-ed li[data-i="0"] [data-act="tf-remove"]')
    page.fill("#m-displayName-def", "(no name)")
    assert profile_json(page)["attributes"]["displayName"]["default"] == "(no name)"
    # a constant for active, written as a boolean
    page.select_option("#m-active-src", "__constant")
    page.fill("#m-active-const", "true")
    assert profile_json(page)["attributes"]["active"] == {"constant": True}
    # a custom attribute with a target typed in, as an Integer
    page.click("#x-add")
    page.fill("#x0-a0-name", "Grade")
    page.press("#x0-a0-name", "Tab")
    page.select_option("#x0-a0-type", "Integer")
    page.select_option("#x0-a0-src", "Custom02")
    page.select_option("#x0-a0-target", "__other")
    page.fill("#x0-a0-target-other", "extensionAttribute15")
    extension = profile_json(page)["attributes"]["extensions"][0]
    assert extension["namespace"].startswith("urn:ietf:params:scim:schemas:extension:")
    assert extension["attributes"] == {
        "Grade": {"source": "Custom02", "type": "Integer", "target": "extensionAttribute15"}
    }
    # the lifecycle: on, a hire date, pre-hires held back
    page.click("#lc-details summary")
    page.check("#lc-on")
    page.select_option("#m-hireDate-src", "HireDate")
    page.select_option("#lc-prehire", "hold")
    page.fill("#lc-days", "3")
    lifecycle = profile_json(page)["lifecycle"]
    assert lifecycle["hireDate"] == "HireDate" and lifecycle["preHire"] == "hold"
    assert lifecycle["activateDaysBefore"] == 3
    problems = page.inner_text("#profile-problems")
    assert "2 problems" in problems and "attributes.externalId is required: the worker's id" in problems
    assert "attributes.userName is required unless" in problems
    page.uncheck("#lc-on")
    assert "lifecycle" not in profile_json(page)


def test_results_filter_search_and_retry_of_the_failed_record(session: Session) -> None:
    """samples/workers.csv: 10119's userName clashes in the emulator (a failure), 10230's manager is outside."""
    page = session.open()
    upload(page, WORKERS)
    step(page, "map")
    page.wait_for_selector('#load-name option[value="microsoft-sample"]', state="attached")
    page.select_option("#load-name", "microsoft-sample")
    page.click("#load-button")
    wait_text(page, "#status", "^Loaded the mapping microsoft-sample")
    loaded = profile_json(page)["attributes"]
    assert loaded["externalId"] == "WorkerID", "shown as written, not with every default spelled out"
    assert loaded["extensions"][0]["attributes"]["JobCode"] == {
        "source": "Custom01",
        "type": "String",
        "target": "extensionAttribute1",
    }
    step(page, "send")
    page.click("#send-button")
    page.click("#confirm-ok")
    assert wait_run(page) == "completed"
    wait_text(page, "#outcomes-caption", "of 278$")
    assert page.locator("#outcomes-table tbody tr").count() == 50, "one page of outcomes at a time"
    assert "manager not resolved" in page.inner_text("#results-summary")
    page.select_option("#results-status", "failure")
    page.click("#results-form button[type=submit]")
    wait_text(page, "#outcomes-caption", "of 1$")
    failed = page.inner_text("#outcomes-table tbody")
    assert "10119" in failed and "AzureActiveDirectoryDuplicateUserPrincipalName" in failed
    page.select_option("#results-status", "")
    page.fill("#results-search", "10230")
    page.press("#results-search", "Enter")
    wait_text(page, "#outcomes-table tbody", "10230")
    assert "manager 19999 not resolved" in page.inner_text("#outcomes-table tbody")
    first_run = page.inner_text("#run-title").removeprefix("Run ")

    page.click("#retry-button")
    wait_text(page, "#run-state", re.escape(f"a retry of {first_run}"))
    wait_run(page)
    assert page.inner_text("#run-title") != f"Run {first_run}"
    counts = page.inner_text("#run-counts")
    assert re.search(r"Operations\s+1\b", counts), counts
    wait_text(page, "#outcomes-table tbody", "10119")
    screenshot(page, "08-retry")


def test_a_held_run_is_approved_on_the_page(session: Session, tmp_path: Path) -> None:
    """A second file that disables 80 of 278 workers is held by the safety stop; Approve sends it."""
    server = session.server
    saved = server.api("GET", "/mappings/microsoft-sample")
    server.api("PUT", "/mappings/approve-feed?overwrite=true", saved)
    first = server.api("POST", "/uploads?name=workers.csv", WORKERS.read_bytes(), "text/csv")
    started = server.api("POST", f"/uploads/{first['uploadId']}/provision?mapping=approve-feed")
    assert server.wait_for_run(started["runId"])["status"] == "completed"

    page = session.open()
    upload(page, leavers(tmp_path / "leavers.csv"))
    step(page, "map")
    page.wait_for_selector('#load-name option[value="approve-feed"]', state="attached")
    page.select_option("#load-name", "approve-feed")
    page.click("#load-button")
    wait_text(page, "#status", "^Loaded")
    step(page, "send")
    page.click("#send-button")
    page.click("#confirm-ok")
    assert wait_run(page) == "held"
    why = page.inner_text("#run-held-why")
    assert "safety stop" in why and "disable" in why
    assert re.search(r"Requests answered\s+0 of [1-9]", page.inner_text("#run-counts"))
    assert "pending" in page.inner_text("#batches-table")
    screenshot(page, "09-held")
    no_serious_violations(page, "a held run")
    page.click("#approve-button")
    page.click("#confirm-ok")
    assert wait_run(page, r"^(completed|failed)$") == "completed"
    counts = page.inner_text("#run-counts")
    operations = re.search(r"Operations\s+(\d+)", counts)
    assert operations and int(operations[1]) > 70, counts
    assert re.search(rf"Records accepted\s+{operations[1]}\b", counts), counts


def test_an_hr_connector_job_tested_and_sampled(session: Session, hr: Any) -> None:
    page = session.open()
    page.wait_for_selector(f'#hr-job option[value="{JOB}"]', state="attached")
    page.click("#hr-test")
    wait_text(page, "#hr-report-ok", "every check passed")
    assert page.locator("#hr-report-lines li").count() >= 3
    page.fill("#hr-limit", "5")
    page.click("#hr-fetch")
    wait_text(page, "#status", f"^Fetched a sample from {JOB}")
    facts = page.inner_text("#upload-facts")
    assert "JSONL" in facts and re.search(r"Rows\s+5", facts), facts
    wait_text(page, "#map-notes", "oracle-hcm was loaded")
    screenshot(page, "10-hr-connector")
    step(page, "validate")
    page.wait_for_selector("#validate-result:not([hidden])")
    assert re.search(r"Rows\s+5", page.inner_text("#validate-counts"))
    # the job's credentials never reach the page
    secrets = [v for k, v in hr.config.items() if k not in ("baseUrl", "username")]
    assert secrets and not [s for s in secrets for body in session.bodies if s in body]
    assert not [s for s in secrets if s in page.content()]


def test_a_function_key_is_asked_once_and_sent_on_every_call(session: Session) -> None:
    """As in Azure without App Service authentication: the API answers 401 until the key comes."""
    page = session.page
    key = "test-function-key"
    refused: list[str] = []

    def gate(route: Any) -> None:
        if route.request.headers.get("x-functions-key") == key:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.fulfill(
                status=401,
                content_type="application/json",
                body=json.dumps({"error": {"code": "Unauthorized", "message": "a function key is needed"}}),
            )

    page.route(re.compile(r".*/api/.*"), gate)
    page.goto(session.server.base + "/")
    page.wait_for_selector("#key-dialog[open]")
    assert page.evaluate("() => document.activeElement.id") == "key-input"
    screenshot(page, "11-function-key", full_page=False)
    no_serious_violations(page, "the function key dialog")
    page.fill("#key-input", key)
    page.press("#key-input", "Enter")
    page.wait_for_selector(f'#hr-job option[value="{JOB}"]', state="attached")
    assert page.evaluate("() => sessionStorage.getItem('provisioning.functionKey')") == key
    asked = len(refused)
    step(page, "map")
    page.wait_for_selector('#load-name option[value="microsoft-sample"]', state="attached")
    step(page, "runs")
    page.wait_for_selector("#runs-table tbody tr")
    assert len(refused) == asked, "once given, the key goes with every call"
    assert page.locator("#key-dialog[open]").count() == 0


def choose_by_keyboard(page: Page, path: Path) -> None:
    """Opens the focused file input's chooser from the keyboard. Under load Chromium sometimes lets the first
    key press go without a chooser, so a second press (Enter, which also opens it) is allowed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for key in ("Space", "Enter", "Space"):
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press(key)
        except PlaywrightTimeout:
            continue
        chooser.value.set_files(str(path))
        return
    raise AssertionError("the file input never opened its chooser from the keyboard")


@needs_shared
def test_the_whole_flow_by_keyboard_alone(session: Session) -> None:
    """Tab, Enter and Space (and typing into text fields): upload, auto-map, validate, preview, save, send."""
    page = session.open()
    keyboard = page.keyboard
    tab_to(page, "#upload-file")
    choose_by_keyboard(page, MICROSOFT_2_RECORDS)
    tab_to(page, "#upload-button")
    keyboard.press("Enter")
    wait_text(page, "#status", "^Uploaded ")
    tab_to(page, '[data-panel="source"] [data-go="map"]')
    keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "h-map"
    tab_to(page, "#automap")
    keyboard.press("Space")
    wait_text(page, "#status", "^Auto-map filled")
    tab_to(page, "#p-upn")
    keyboard.type("contoso.com")
    # an editor opened and a constant set, by keyboard
    tab_to(page, "#m-userType-opt")
    keyboard.press("Enter")
    tab_to(page, "#m-userType-mode-constant")
    keyboard.press("Space")
    tab_to(page, "#m-userType-const")
    keyboard.type("Employee")
    assert profile_json(page)["attributes"]["userType"] == {"constant": "Employee"}
    tab_to(page, '[data-panel="map"] [data-go="validate"]')
    keyboard.press("Enter")
    page.wait_for_selector("#validate-result:not([hidden])")
    assert re.search(r"Rejected\s+0", page.inner_text("#validate-counts"))
    tab_to(page, '[data-panel="validate"] [data-go="preview"]')
    keyboard.press("Enter")
    page.wait_for_selector("#preview-list pre")
    tab_to(page, '[data-panel="preview"] [data-go="save"]')
    keyboard.press("Enter")
    tab_to(page, "#save-name")
    keyboard.type("keyboard-pass")
    keyboard.press("Enter")
    wait_text(page, "#status", "^Saved the new mapping keyboard-pass")
    tab_to(page, '[data-panel="save"] [data-go="send"]')
    keyboard.press("Enter")
    tab_to(page, "#send-button")
    keyboard.press("Enter")
    page.wait_for_selector("#confirm-dialog[open]")
    assert page.evaluate("() => document.activeElement.id") == "confirm-cancel"
    tab_to(page, "#confirm-ok")
    keyboard.press("Enter")
    assert wait_run(page) == "completed"
    wait_text(page, "#outcomes-caption", "of 2$")
    # the step list is reachable too: back to Source from the results
    tab_to(page, '#steps [data-step="source"]', limit=600)
    keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "h-source"
    assert focus_is_visible(page)


@needs_shared
def test_a_phone_sized_screen(session: Session) -> None:
    """390 px wide: one column, nothing wider than the screen but the scrolling tables, no serious axe finding."""
    page = session.open(NARROW)
    upload(page, MICROSOFT_2_RECORDS)
    step(page, "map")
    page.click("#automap")
    wait_text(page, "#status", "^Auto-map filled")
    page.click("#m-active-opt")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the page is {width} px wide on a {NARROW['width']} px screen"
    screenshot(page, "12-map-390px", full_page=False)
    no_serious_violations(page, "the map step at 390 px")
    step(page, "source")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"]
    screenshot(page, "13-source-390px", full_page=False)


def test_a_large_file_is_shown_a_page_at_a_time(session: Session, tmp_path: Path) -> None:
    """10,000 rows: the page holds one page of rows, rejects and requests, whatever the file's size."""
    page = session.open()
    upload(page, many_workers(tmp_path / "many.csv"))
    rows = last_number(page.inner_text("#rows-caption"))
    assert rows > 10_000
    assert page.locator("#rows-table tbody tr").count() == 25
    page.click("#rows-next")
    wait_text(page, "#rows-caption", f"^Rows 26 to 50 of {rows}$")
    step(page, "map")
    page.wait_for_selector('#load-name option[value="microsoft-sample"]', state="attached")
    page.select_option("#load-name", "microsoft-sample")
    page.click("#load-button")
    wait_text(page, "#status", "^Loaded")
    step(page, "validate")
    page.wait_for_selector("#validate-result:not([hidden])", timeout=30_000)
    assert page.locator("#rejects-table tbody tr").count() <= 25
    step(page, "preview")
    page.wait_for_selector("#preview-list pre", timeout=30_000)
    requests = last_number(page.inner_text("#preview-caption"))
    assert requests > 200 and page.locator("#preview-list pre").count() == 5
    page.click("#preview-next")
    wait_text(page, "#preview-caption", f"^Requests 6 to 10 of {requests}$", timeout=30_000)
    assert page.evaluate("() => document.getElementsByTagName('*').length") < 5_000


def test_every_api_call_of_the_page_is_in_the_openapi_document() -> None:
    """The page's calls, read from its script, against the spec (the other tests check the calls they made)."""
    script = (ROOT / "provisioning" / "doors" / "http" / "ui" / "app.js").read_text(encoding="utf-8")
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    calls = re.findall(r'api\("(GET|POST|PUT|DELETE)", [`"]([^`"]+)[`"]', script)
    assert len(calls) == len(re.findall(r"\bapi\(", script)) - 2, "every call is found (not the definition, its retry)"
    for method, path in calls:
        template = re.sub(r"\$\{enc\([^)]*\)\}", "{x}", path)
        pattern = re.compile("^" + re.sub(r"\\\{x\\\}", "[^/]+", re.escape(template)) + "$")
        assert any(
            pattern.match(re.sub(r"\{[^}]+\}", "p", known)) and method.lower() in ops for known, ops in spec.items()
        ), (method, path)
