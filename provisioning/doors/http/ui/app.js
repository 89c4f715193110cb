/* The mapping wizard: plain DOM, no framework, nothing fetched but this app's own API.
 *
 * Worker values and server messages are only ever written as text (textContent), never as HTML.
 * Every table shows one page the server cut (rows, requests, outcomes) or at most one page of what it sent.
 */
"use strict";

(() => {
  // ---- what the profile schema requires (mappings/profile.schema.json; a browser test keeps them equal) ----
  const CORE = ["externalId", "userName", "active", "displayName", "nickName", "title", "userType",
    "preferredLanguage", "locale", "timezone", "profileUrl"];
  const NAME = ["givenName", "familyName", "middleName", "honorificPrefix", "honorificSuffix", "formatted"];
  const EMAIL = ["value", "type", "primary", "display"];
  const PHONE = ["value", "type", "primary"];
  const ADDRESS = ["type", "streetAddress", "locality", "region", "postalCode", "country", "formatted", "primary"];
  const ENTERPRISE = ["employeeNumber", "costCenter", "organization", "division", "department", "manager"];
  const OPS = ["trim", "lower", "upper", "foldDiacritics", "replace", "lookup", "equals", "date"];
  const SCHEMA = {
    required: {
      profile: ["attributes"], UserRules: ["externalId"], EmailRules: ["value"], PhoneNumberRules: ["value"],
      Extension: ["namespace", "attributes"], Replace: ["op", "pattern"], Lookup: ["op", "table"],
      Equals: ["op", "value"], DateFormat: ["op"],
    },
    enums: {
      duplicates: ["reject", "first", "last"], ifEmpty: ["omit", "empty"],
      type: ["String", "DateTime", "Integer", "Boolean"], output: ["dateTime", "date", "generalizedTime"],
      preHire: ["disable", "hold", "send"], missing: ["ignore", "disable"],
    },
    ops: OPS,
    properties: {
      UserRules: [...CORE, "name", "emails", "phoneNumbers", "addresses", "enterprise", "extensions"],
      NameRules: NAME, EmailRules: EMAIL, PhoneNumberRules: PHONE, AddressRules: ADDRESS, EnterpriseRules: ENTERPRISE,
      ValueRule: ["source", "constant", "template", "transforms", "default", "ifEmpty"],
      ExtensionAttribute: ["source", "constant", "template", "transforms", "default", "ifEmpty", "type", "target"],
    },
    activateDaysBefore: [0, 365],
  };
  const OP_LABELS = {
    trim: "trim spaces", lower: "lower case", upper: "upper case", foldDiacritics: "fold diacritics (Zoë to Zoe)",
    replace: "replace (regular expression)", lookup: "lookup table", equals: "equals (true or false)",
    date: "date with a time zone",
  };
  const HINTS = {
    externalId: "the worker's id in the HR system (Entra matches it to employeeId)",
    userName: "the user principal name",
    active: "enabled or disabled",
    manager: "the manager's externalId",
  };
  const BOOLISH = new Set(["active", "primary"]);
  const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
  const ROWS_PAGE = 25;
  const REQUESTS_PAGE = 5;
  const REJECTS_PAGE = 25;
  const BATCHES_PAGE = 20;
  const OUTCOMES_PAGE = 50;
  const POLL_MS = 2000;
  const POLL_MAX = 300;
  const ENDED = new Set(["completed", "failed", "dry-run", "held"]);
  const DEFAULT_NAMESPACE = "urn:ietf:params:scim:schemas:extension:hr:1.0:User";
  const STEPS = ["source", "map", "validate", "preview", "save", "send", "runs"];

  // ---- small DOM helpers ----------------------------------------------------------------------------
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k === "value") el.value = v;
      else if (k === "checked" || k === "selected" || k === "hidden") el[k] = Boolean(v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const opt = (value, label, selected) => h("option", { value, selected }, label);
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;
  const enc = encodeURIComponent;
  const show = (el, on) => { el.hidden = !on; };
  const idPart = (s) => String(s).replace(/[^A-Za-z0-9_-]/g, (c) => "_" + c.charCodeAt(0).toString(16));

  function say(message, kind) {
    const box = $("#status");
    box.className = "status" + (kind ? " " + kind : "");
    box.textContent = message || "";
  }

  function setEnabled(button, on, why) {
    button.setAttribute("aria-disabled", on ? "false" : "true");
    if (why && !on) button.title = why; else button.removeAttribute("title");
  }
  const enabled = (button) => button.getAttribute("aria-disabled") !== "true" && !button.dataset.busy;

  /** Runs an action for a button: ignored while it runs or while the button is disabled (aria-disabled keeps
   * focus on the button, which a disabled attribute would drop). */
  function action(button, fn) {
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      if (!enabled(button)) return;
      button.dataset.busy = "1";
      button.setAttribute("aria-busy", "true");
      try {
        await fn(event);
      } catch (err) {
        report(err);
      } finally {
        delete button.dataset.busy;
        button.removeAttribute("aria-busy");
      }
    });
  }

  function report(err) {
    if (err instanceof ApiFailure) say(err.describe(), "bad");
    else { say("Something went wrong in the page: " + (err && err.message), "bad"); console.error(err); }
  }

  // ---- the API ---------------------------------------------------------------------------------------
  /** "/api/ui" (the Function App) and "/" (serve) both reach the API at "/api", under any prefix a proxy adds. */
  function apiBase() {
    const path = window.location.pathname;
    const at = path.indexOf("/api/ui");
    const prefix = at >= 0 ? path.slice(0, at) : path.replace(/\/[^/]*$/, "");
    return prefix + "/api";
  }
  const API = apiBase();
  const KEY_STORE = "provisioning.functionKey";

  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
    describe() {
      return this.status ? `${this.message} (HTTP ${this.status}${this.code ? ", " + this.code : ""})` : this.message;
    }
  }

  const state = {
    step: "source",
    key: sessionStorage.getItem(KEY_STORE) || "",
    keyPrompt: null,
    upload: null,
    rowsOffset: 0,
    jobs: null,
    profile: { attributes: {} },
    open: new Set(),
    modes: new Map(),
    targets: null,
    mappings: null,
    validatedFor: null,
    validation: null,
    rejectsPage: 0,
    previewFor: null,
    previewOffset: 0,
    previewTotal: 0,
    savedName: null,
    savedJson: null,
    runId: null,
    run: null,
    pollTimer: null,
    polls: 0,
    batchesPage: 0,
    outcomes: null,
    outcomesOffset: 0,
    lifecycleOpen: false,
  };

  async function api(method, path, options = {}, retried = false) {
    const query = options.query
      ? "?" + new URLSearchParams(Object.entries(options.query).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString()
      : "";
    const headers = { Accept: "application/json" };
    let body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers["Content-Type"] = options.type;
      body = options.body;
    }
    if (state.key) headers["x-functions-key"] = state.key;
    let response;
    try {
      response = await fetch(API + path + (query === "?" ? "" : query), { method, headers, body, credentials: "same-origin", cache: "no-store" });
    } catch (err) {
      throw new ApiFailure(0, "NetworkError", "The server could not be reached: " + err.message);
    }
    if (response.status === 401 && !retried) {
      const sentKey = state.key;
      const key = await askForKey(sentKey);
      if (key) return api(method, path, options, true);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      let message = error.message || `The server answered ${response.status}`;
      if (response.status === 401) message = "The API needs a valid function key: " + (error.message || "none was accepted");
      if (error.incidentId) message += ` (incident ${error.incidentId})`;
      throw new ApiFailure(response.status, error.code || "", message);
    }
    return { status: response.status, data, headers: response.headers };
  }

  /** One dialog for every call that met a 401 at the same time; the key stays in this tab (sessionStorage). */
  function askForKey(sentKey) {
    if (state.key && state.key !== sentKey) return Promise.resolve(state.key); // another call just got one
    if (state.keyPrompt) return state.keyPrompt;
    const dialog = $("#key-dialog");
    const input = $("#key-input");
    const back = document.activeElement;
    input.value = "";
    state.keyPrompt = new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        const key = dialog.returnValue === "ok" ? input.value.trim() : "";
        input.value = "";
        state.keyPrompt = null;
        if (key) {
          state.key = key;
          sessionStorage.setItem(KEY_STORE, key);
        }
        if (back && back.focus) back.focus();
        resolve(key);
      }, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      input.focus();
    });
    return state.keyPrompt;
  }

  function confirmDialog(title, text, okLabel) {
    const dialog = $("#confirm-dialog");
    $("#confirm-title").textContent = title;
    $("#confirm-text").textContent = text;
    $("#confirm-ok").textContent = okLabel || "OK";
    const back = document.activeElement;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        if (back && back.focus) back.focus();
        resolve(dialog.returnValue === "ok");
      }, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      $("#confirm-cancel").focus();
    });
  }

  // ---- steps -----------------------------------------------------------------------------------------
  function go(step, { focus = true } = {}) {
    if (!STEPS.includes(step)) return;
    state.step = step;
    say("");
    for (const panel of $$("[data-panel]")) show(panel, panel.dataset.panel === step);
    for (const button of $$("nav [data-step]")) {
      if (button.dataset.step === step) button.setAttribute("aria-current", step === "runs" ? "page" : "step");
      else button.removeAttribute("aria-current");
    }
    if (focus) $(`#h-${step}`).focus();
    if (history.replaceState) history.replaceState(null, "", "#" + step);
    const enter = { source: enterSource, map: enterMap, validate: enterValidate, preview: enterPreview, save: enterSave, send: enterSend, runs: enterRuns }[step];
    Promise.resolve(enter()).catch(report);
  }

  function markDone() {
    const done = {
      source: Boolean(state.upload),
      map: problems(state.profile).length === 0 && Object.keys(state.profile.attributes || {}).length > 0,
      validate: state.validatedFor === profileText() && Boolean(state.validation),
      preview: state.previewFor === profileText(),
      save: state.savedJson === profileText(),
      send: Boolean(state.run && ENDED.has(state.run.status) && state.run.status !== "held"),
    };
    for (const button of $$("#steps [data-step]")) {
      const on = Boolean(done[button.dataset.step]);
      button.classList.toggle("done", on);
      let mark = button.querySelector(".done-mark");
      if (!mark) { mark = h("span", { class: "vh done-mark" }); button.append(mark); }
      mark.textContent = on ? " (done)" : "";
    }
    const context = [];
    if (state.upload) context.push(`Source: ${state.upload.name} (${plural(state.upload.rows, "row")})`);
    if (state.savedName) context.push(`Mapping: ${state.savedName}${state.savedJson === profileText() ? "" : " (changed since saved)"}`);
    $("#context").textContent = context.join(". ");
  }

  // ---- 1. Source -------------------------------------------------------------------------------------
  function contentType(name, given) {
    const lower = name.toLowerCase();
    if (lower.endsWith(".json")) return "application/json";
    if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "application/x-ndjson";
    if (lower.endsWith(".csv") || lower.endsWith(".txt")) return "text/csv";
    return ["text/csv", "application/json", "application/x-ndjson"].includes(given) ? given : "text/csv";
  }

  async function uploadFile() {
    const file = $("#upload-file").files[0];
    if (!file) {
      say("Choose a file first.", "bad");
      $("#upload-file").focus();
      return;
    }
    say(`Uploading ${file.name}...`);
    const { data } = await api("POST", "/uploads", { query: { name: file.name }, body: file, type: contentType(file.name, file.type) });
    await useUpload(data, `Uploaded ${data.name}`);
  }

  async function useUpload(upload, what) {
    state.upload = upload;
    state.rowsOffset = 0;
    state.validatedFor = null;
    state.previewFor = null;
    state.validation = null;
    const delimiter = upload.delimiter === "\t" ? "tab" : upload.delimiter;
    const facts = [
      ["File", upload.name], ["Format", (upload.format || "").toUpperCase()], ["Encoding", upload.encoding || "-"],
      ["Delimiter", upload.format === "csv" ? JSON.stringify(delimiter || ",") : "-"], ["Rows", upload.rows],
      ["Fields", (upload.fields || []).length],
    ];
    $("#upload-facts").replaceChildren(...facts.map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: String(v ?? "-") }))));
    show($("#upload-info"), true);
    await loadRows();
    say(`${what}: ${(upload.format || "").toUpperCase()}, ${plural(upload.rows, "row")}, ${plural((upload.fields || []).length, "field")}.`, "good");
    markDone();
  }

  /** A table head; labels written "#Label" are numeric columns (right-aligned like their cells). */
  const head = (labels) => h("thead", {}, h("tr", {}, labels.map((t) => (t.startsWith("#") && t.length > 1
    ? h("th", { scope: "col", class: "num" }, t.slice(1)) : h("th", { scope: "col", class: t === "#" ? "num" : undefined }, t)))));

  const cell = (value) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

  async function loadRows() {
    const upload = state.upload;
    const { data } = await api("GET", `/uploads/${enc(upload.uploadId)}/rows`, { query: { offset: state.rowsOffset, limit: ROWS_PAGE } });
    const rows = data.rows || [];
    const fields = [...(upload.fields || [])];
    for (const row of rows) for (const k of Object.keys(row)) if (!fields.includes(k)) fields.push(k);
    const total = data.total ?? upload.rows;
    const first = rows.length ? data.offset + 1 : 0;
    $("#rows-caption").textContent = `Rows ${first} to ${data.offset + rows.length} of ${total}`;
    const table = $("#rows-table");
    table.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "#"), fields.map((f) => h("th", { scope: "col" }, f)))),
      h("tbody", {}, rows.map((row, i) => h("tr", {}, h("td", { class: "num" }, String(data.offset + i + 1)), fields.map((f) => h("td", {}, cell(row[f])))))),
    );
    setEnabled($("#rows-prev"), state.rowsOffset > 0);
    setEnabled($("#rows-next"), data.offset + rows.length < total);
  }

  async function loadJobs() {
    const select = $("#hr-job");
    try {
      const { data } = await api("GET", "/connector-jobs");
      state.jobs = data.jobs || [];
    } catch (err) {
      state.jobs = [];
      select.replaceChildren(opt("", "(connector jobs could not be listed)"));
      $("#hr-hint").textContent = err.describe ? err.describe() : String(err);
      setEnabled($("#hr-test"), false);
      setEnabled($("#hr-fetch"), false);
      return;
    }
    if (!state.jobs.length) {
      select.replaceChildren(opt("", "(no connector jobs configured)"));
    } else {
      select.replaceChildren(...state.jobs.map((j) => opt(j.name, `${j.name} (${j.connector}${j.enabled === false ? ", disabled" : ""})`)));
    }
    setEnabled($("#hr-test"), state.jobs.length > 0, "No connector job is configured");
    setEnabled($("#hr-fetch"), state.jobs.length > 0, "No connector job is configured");
  }

  const currentJob = () => (state.jobs || []).find((j) => j.name === $("#hr-job").value);

  async function testJob() {
    const job = currentJob();
    if (!job) return;
    say(`Testing ${job.name}...`);
    const { data } = await api("POST", `/connectors/${enc(job.connector)}/test`, { json: { job: job.name } });
    const verdict = $("#hr-report-ok");
    verdict.textContent = data.ok ? `${job.name}: every check passed` : `${job.name}: some checks failed`;
    verdict.className = "verdict " + (data.ok ? "ok" : "bad");
    $("#hr-report-lines").replaceChildren(...(data.report || []).map((line) => h("li", {}, line)));
    show($("#hr-report"), true);
    say(verdict.textContent, data.ok ? "good" : "bad");
  }

  async function fetchSample() {
    const job = currentJob();
    if (!job) return;
    const limit = Math.max(1, Math.min(1000, parseInt($("#hr-limit").value, 10) || 200));
    say(`Fetching up to ${limit} records from ${job.name}...`);
    const { data } = await api("POST", `/connector-jobs/${enc(job.name)}/sample`, { query: { limit } });
    await useUpload(data, `Fetched a sample from ${job.name}`);
    if (job.profile) {
      try {
        await loadMapping(job.profile, true);
        setNotes([`The job's mapping profile ${job.profile} was loaded; Auto-map replaces it with a suggestion.`]);
      } catch (err) {
        setNotes([`The job's mapping profile ${job.profile} could not be loaded: ${err.message}`]);
      }
    }
  }

  function enterSource() {
    if (state.jobs === null) return loadJobs();
    return undefined;
  }

  // ---- 2. Map: the profile -------------------------------------------------------------------------
  const profileText = () => JSON.stringify(state.profile);
  const getAt = (obj, path) => path.reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);

  function setAt(obj, path, value) {
    let o = obj;
    for (let i = 0; i < path.length - 1; i++) {
      if (o[path[i]] === null || typeof o[path[i]] !== "object") o[path[i]] = typeof path[i + 1] === "number" ? [] : {};
      o = o[path[i]];
    }
    o[path[path.length - 1]] = value;
  }

  function deleteAt(obj, path) {
    const parent = getAt(obj, path.slice(0, -1));
    if (!parent || typeof parent !== "object") return;
    delete parent[path[path.length - 1]];
    const last = path[path.length - 2];
    if ((last === "name" || last === "enterprise") && path.length === 3 && Object.keys(parent).length === 0) deleteAt(obj, path.slice(0, -1));
  }

  function norm(rule) {
    if (rule === undefined || rule === null) return {};
    if (typeof rule === "string") return { source: rule };
    return JSON.parse(JSON.stringify(rule));
  }

  const RULE_KEYS = ["source", "constant", "template", "transforms", "default", "ifEmpty", "type", "target"];

  /** A rule as the profile writes it: a bare field name where that is all it is. */
  function compact(rule, isExtension) {
    const out = {};
    for (const k of RULE_KEYS) {
      const v = rule[k];
      if (v === undefined || v === null || v === "") continue;
      if (k === "transforms" && (!Array.isArray(v) || !v.length)) continue;
      if (k === "ifEmpty" && v === "omit") continue;
      out[k] = v;
    }
    for (const [k, v] of Object.entries(rule)) if (!RULE_KEYS.includes(k) && v !== undefined) out[k] = v;
    const keys = Object.keys(out);
    if (isExtension) return out;
    if (!keys.length) return undefined;
    if (keys.length === 1 && keys[0] === "source") return out.source;
    return out;
  }

  function writeRule(path, rule, isExtension) {
    const value = compact(rule, isExtension);
    if (value === undefined) deleteAt(state.profile, path);
    else setAt(state.profile, path, value);
    profileChanged();
  }

  const ruleKind = (rule) => (rule.template !== undefined && rule.template !== null ? "template"
    : rule.constant !== undefined && rule.constant !== null ? "constant" : "source");
  /** A row's mode: its rule's, or the one just picked for a rule that has no value yet (an empty template). */
  const rowKind = (id, rule) => (hasValue(rule) || rule.source ? ruleKind(rule) : state.modes.get(id) || ruleKind(rule));

  function coerce(text, kind) {
    if (kind === "bool" && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === "true";
    if (kind === "int" && /^-?\d+$/.test(text.trim())) return parseInt(text.trim(), 10);
    return text;
  }

  const lookupValue = (text) => (/^(true|false)$/.test(text.trim()) ? text.trim() === "true" : text);

  function summarize(rule) {
    const parts = [];
    const kind = ruleKind(rule);
    if (kind === "constant") parts.push(`constant ${JSON.stringify(rule.constant)}`);
    else if (kind === "template") parts.push(`template ${rule.template}`);
    if (rule.transforms && rule.transforms.length) parts.push(rule.transforms.map((t) => t.op + (t.op === "lookup" ? ` (${Object.keys(t.table || {}).length})` : "")).join(", then "));
    if (rule.default !== undefined && rule.default !== null) parts.push(`default ${JSON.stringify(rule.default)}`);
    if (rule.ifEmpty === "empty") parts.push('empty sent as ""');
    return parts.join("; ");
  }

  // ---- client-side checks (the server checks everything again on Validate) ----
  function hasValue(rule) {
    if (rule === undefined || rule === null) return false;
    if (typeof rule === "string") return rule.trim() !== "";
    return Boolean((rule.source && String(rule.source).trim()) || (rule.template && String(rule.template).trim())
      || (rule.constant !== undefined && rule.constant !== null && rule.constant !== ""));
  }

  function problems(profile) {
    const out = [];
    const a = profile.attributes;
    if (!a || typeof a !== "object") return ["attributes is required"];
    const checkRule = (rule, where, extension) => {
      if (rule === undefined || rule === null || typeof rule === "string") return;
      const allowed = SCHEMA.properties[extension ? "ExtensionAttribute" : "ValueRule"];
      for (const k of Object.keys(rule)) if (!allowed.includes(k)) out.push(`${where}: ${k} is not a rule field`);
      const given = ["source", "constant", "template"].filter((k) => rule[k] !== undefined && rule[k] !== null);
      if (given.length > 1) out.push(`${where}: give one of ${given.join(", ")}, not several`);
      if (rule.ifEmpty !== undefined && !SCHEMA.enums.ifEmpty.includes(rule.ifEmpty)) out.push(`${where}.ifEmpty must be one of ${SCHEMA.enums.ifEmpty.join(", ")}`);
      (rule.transforms || []).forEach((t, i) => {
        const at = `${where}.transforms[${i}]`;
        if (!t || !OPS.includes(t.op)) { out.push(`${at}: op must be one of ${OPS.join(", ")}`); return; }
        const def = { replace: "Replace", lookup: "Lookup", equals: "Equals", date: "DateFormat" }[t.op];
        for (const k of (def ? SCHEMA.required[def] : ["op"])) {
          const v = t[k];
          if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) out.push(`${at} (${t.op}): ${k} is required`);
        }
        if (t.op === "lookup" && t.table && !Object.keys(t.table).length) out.push(`${at} (lookup): the table needs at least one row`);
        if (t.op === "date" && t.output && !SCHEMA.enums.output.includes(t.output)) out.push(`${at} (date): output must be one of ${SCHEMA.enums.output.join(", ")}`);
      });
    };
    for (const k of SCHEMA.required.UserRules) if (!hasValue(a[k])) out.push(`attributes.${k} is required: ${HINTS[k] || "map it"}`);
    if (!profile.updatesOnly && !hasValue(a.userName)) out.push("attributes.userName is required unless the profile is updates only");
    if (!hasValue(a.active)) out.push('attributes.active is required: map it or set the constant true (an omitted active has been reported to disable accounts)');
    for (const k of CORE) checkRule(a[k], `attributes.${k}`);
    for (const [group, keys] of [["name", NAME], ["enterprise", ENTERPRISE]]) {
      if (a[group]) for (const k of keys) checkRule(a[group][k], `attributes.${group}.${k}`);
    }
    for (const [list, keys, def] of [["emails", EMAIL, "EmailRules"], ["phoneNumbers", PHONE, "PhoneNumberRules"], ["addresses", ADDRESS, "AddressRules"]]) {
      (a[list] || []).forEach((entry, i) => {
        for (const k of SCHEMA.required[def] || []) if (!hasValue(entry[k])) out.push(`attributes.${list}[${i}].${k} is required`);
        for (const k of keys) checkRule(entry[k], `attributes.${list}[${i}].${k}`);
      });
    }
    (a.extensions || []).forEach((ext, i) => {
      const at = `attributes.extensions[${i}]`;
      if (!ext.namespace || !String(ext.namespace).trim()) out.push(`${at}.namespace is required (a URN such as ${DEFAULT_NAMESPACE})`);
      else if (!/^urn:/i.test(ext.namespace)) out.push(`${at}.namespace must be a URN (urn:...)`);
      const attrs = ext.attributes || {};
      if (!Object.keys(attrs).length) out.push(`${at}.attributes needs at least one attribute`);
      for (const [name, rule] of Object.entries(attrs)) {
        const where = `${at}.attributes.${name || "(no name)"}`;
        if (!name.trim()) out.push(`${at}: an attribute has no name`);
        if (!hasValue(rule)) out.push(`${where} needs a source field, a constant or a template`);
        if (rule && rule.type && !SCHEMA.enums.type.includes(rule.type)) out.push(`${where}.type must be one of ${SCHEMA.enums.type.join(", ")}`);
        checkRule(rule, where, true);
      }
    });
    if (profile.duplicates && !SCHEMA.enums.duplicates.includes(profile.duplicates)) out.push(`duplicates must be one of ${SCHEMA.enums.duplicates.join(", ")}`);
    const lc = profile.lifecycle;
    if (lc) {
      if (lc.preHire && !SCHEMA.enums.preHire.includes(lc.preHire)) out.push(`lifecycle.preHire must be one of ${SCHEMA.enums.preHire.join(", ")}`);
      if (lc.missing && !SCHEMA.enums.missing.includes(lc.missing)) out.push(`lifecycle.missing must be one of ${SCHEMA.enums.missing.join(", ")}`);
      const [lo, hi] = SCHEMA.activateDaysBefore;
      if (lc.activateDaysBefore !== undefined && !(Number.isInteger(lc.activateDaysBefore) && lc.activateDaysBefore >= lo && lc.activateDaysBefore <= hi)) out.push(`lifecycle.activateDaysBefore must be a whole number from ${lo} to ${hi}`);
      checkRule(lc.hireDate, "lifecycle.hireDate");
      checkRule(lc.leaveDate, "lifecycle.leaveDate");
    }
    return out;
  }

  function profileChanged() {
    refreshJson();
    markDone();
  }

  function refreshJson() {
    $("#profile-json").textContent = JSON.stringify(state.profile, null, 2);
    const found = problems(state.profile);
    const box = $("#profile-problems");
    box.classList.toggle("fine", !found.length);
    if (!found.length) box.replaceChildren(h("p", {}, "Nothing missing for the schema. Validate checks every row on the server."));
    else box.replaceChildren(h("p", {}, h("strong", {}, plural(found.length, "problem") + " in the profile:")), h("ul", {}, found.map((p) => h("li", {}, p))));
  }

  function setNotes(notes) {
    $("#map-notes").replaceChildren(...(notes || []).map((n) => h("li", {}, n)));
  }

  const fields = () => (state.upload && state.upload.fields) || [];

  function sourceSelect(id, rule) {
    const kind = rowKind(id.replace(/-src$/, ""), rule);
    const current = kind === "source" ? rule.source || "" : "__" + kind;
    const list = fields();
    const select = h("select", { id, "data-act": "source", "aria-describedby": id.replace(/-src$/, "-sum") });
    select.append(opt("", "(none)", current === ""), opt("__constant", "(constant value)", current === "__constant"), opt("__template", "(template)", current === "__template"));
    const group = h("optgroup", { label: list.length ? "Fields of the source" : "No source yet" });
    for (const f of list) group.append(opt(f, f, current === f));
    if (current && !current.startsWith("__") && !list.includes(current)) group.append(opt(current, `${current} (not in this source)`, true));
    select.append(group);
    return select;
  }

  /** One SCIM attribute: its source field, a summary, and an editor (constant, template, transforms, empty values). */
  function attrRow(path, label, opts = {}) {
    const id = opts.id || "m-" + path.slice(1).map(idPart).join("-");
    const rule = norm(getAt(state.profile, path));
    const open = state.open.has(id);
    const row = h("div", { class: "attr", "data-path": JSON.stringify(path), "data-id": id, "data-kind": opts.kind || "", "data-ext": opts.ext ? "1" : "" });
    const required = opts.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null;
    row.append(
      h("label", { class: "attr-name", for: id + "-src" }, label, required, opts.required ? h("span", { class: "vh" }, " (required)") : null),
      sourceSelect(id + "-src", rule),
      h("span", { class: "summary", id: id + "-sum" }, summarize(rule)),
      h("button", { type: "button", class: "small", "data-act": "toggle", "aria-expanded": open ? "true" : "false", "aria-controls": id + "-ed", id: id + "-opt" },
        "Options", h("span", { class: "vh" }, " for " + label)),
    );
    const editor = h("div", { class: "editor", id: id + "-ed", hidden: !open });
    if (open) fillEditor(editor, id, rule, label, opts);
    row.append(editor);
    return row;
  }

  function fillEditor(editor, id, rule, label, opts) {
    const kind = rowKind(id, rule);
    const valueKind = opts.kind || "";
    editor.replaceChildren(
      h("div", { class: "modes", role: "group", "aria-labelledby": id + "-modes" },
        h("span", { class: "modes-label", id: id + "-modes" }, `Where ${label} comes from:`),
        ["source", "constant", "template"].map((m) => h("button", { type: "button", class: "small", "data-act": "mode", "data-mode": m, id: `${id}-mode-${m}`, "aria-pressed": kind === m ? "true" : "false" },
          { source: "A source field", constant: "A constant", template: "A template" }[m]))),
      h("div", { class: "grid2" },
        h("div", { "data-show": "constant", hidden: kind !== "constant" },
          h("label", { for: id + "-const" }, "Constant value"),
          h("input", { type: "text", id: id + "-const", "data-act": "constant", value: rule.constant === undefined || rule.constant === null ? "" : String(rule.constant), "aria-describedby": id + "-const-hint", spellcheck: "false" }),
          h("p", { class: "hint", id: id + "-const-hint" }, valueKind === "bool" ? "true or false" : valueKind === "int" ? "a whole number" : "sent as written")),
        h("div", { "data-show": "template", hidden: kind !== "template" },
          h("label", { for: id + "-tpl" }, "Template"),
          h("input", { type: "text", id: id + "-tpl", "data-act": "template", value: rule.template || "", "aria-describedby": id + "-tpl-hint", spellcheck: "false" }),
          h("p", { class: "hint", id: id + "-tpl-hint" }, "Fields in braces: {FirstName}.{LastName}"))),
      h("fieldset", {},
        h("legend", {}, "Transforms, in order"),
        h("ol", { class: "transforms" }, (rule.transforms || []).map((t, i) => transformItem(id, t, i, (rule.transforms || []).length))),
        h("div", { class: "toolbar" },
          h("label", { for: id + "-tfop" }, "Add a transform"),
          h("select", { id: id + "-tfop", "data-role": "tf-op" }, OPS.map((op) => opt(op, OP_LABELS[op]))),
          h("button", { type: "button", class: "small", "data-act": "tf-add", id: id + "-tfadd" }, "Add", h("span", { class: "vh" }, " a transform to " + label)))),
      h("div", { class: "grid2" },
        h("div", {},
          h("label", { for: id + "-def" }, "Default, when the value is empty"),
          h("input", { type: "text", id: id + "-def", "data-act": "default", value: rule.default === undefined || rule.default === null ? "" : String(rule.default), spellcheck: "false" })),
        h("div", {},
          h("label", { for: id + "-empty" }, "An empty value"),
          h("select", { id: id + "-empty", "data-act": "ifEmpty" },
            opt("omit", "is left out of the request", rule.ifEmpty !== "empty"),
            opt("empty", 'is sent as ""', rule.ifEmpty === "empty")))),
    );
  }

  function transformItem(id, t, i, count) {
    const tid = `${id}-tf${i}`;
    const field = (k, label, value, extra = {}) => h("div", {},
      h("label", { for: `${tid}-${k}` }, label),
      h("input", { type: "text", id: `${tid}-${k}`, "data-k": k, value: value ?? "", spellcheck: "false", ...extra }));
    const check = (k, label, on) => h("div", { class: "check" },
      h("input", { type: "checkbox", id: `${tid}-${k}`, "data-k": k, checked: on }), h("label", { for: `${tid}-${k}` }, label));
    const body = [];
    if (t.op === "replace") {
      body.push(field("pattern", "Pattern (regular expression)", t.pattern), field("replacement", "Replacement", t.replacement));
    } else if (t.op === "lookup") {
      const entries = Object.entries(t.table || {});
      if (!entries.length) entries.push(["", ""]);
      body.push(h("div", {},
        h("table", { class: "lookup", "data-role": "lookup" },
          h("caption", { class: "vh" }, "Lookup table"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "HR value"), h("th", { scope: "col" }, "Sent as"), h("th", { scope: "col" }, h("span", { class: "vh" }, "Remove")))),
          h("tbody", {}, entries.map(([k, v], r) => lookupRow(tid, r, k, v)))),
        h("button", { type: "button", class: "small", "data-act": "lk-add" }, "Add a row", h("span", { class: "vh" }, " to the lookup table"))));
      body.push(h("div", { class: "tf-fields" }, field("default", "Other values become", t.default === undefined || t.default === null ? "" : String(t.default)),
        check("ignoreCase", "Ignore case", t.ignoreCase !== false)));
    } else if (t.op === "equals") {
      body.push(h("div", { class: "tf-fields" }, field("value", "True when the value is (comma between several)", Array.isArray(t.value) ? t.value.join(", ") : t.value),
        check("ignoreCase", "Ignore case", t.ignoreCase === true)));
    } else if (t.op === "date") {
      body.push(h("div", { class: "tf-fields" },
        h("div", {},
          h("label", { for: `${tid}-formats` }, "Input formats, one a line (ISO 8601 is always read)"),
          h("textarea", { id: `${tid}-formats`, "data-k": "formats", rows: "2", spellcheck: "false" }, (t.formats || []).join("\n"))),
        field("timeZone", "Time zone", t.timeZone || "UTC", { list: "tz-list" }),
        h("div", {},
          h("label", { for: `${tid}-output` }, "Written as"),
          h("select", { id: `${tid}-output`, "data-k": "output" },
            opt("dateTime", "date and time with offset (Entra)", !t.output || t.output === "dateTime"),
            opt("date", "date only", t.output === "date"),
            opt("generalizedTime", "AD generalized time (UTC)", t.output === "generalizedTime")))));
    } else {
      body.push(h("p", { class: "hint" }, "No settings."));
    }
    return h("li", { "data-i": String(i), "data-op": t.op },
      h("div", { class: "tf-head" },
        h("strong", {}, t.op), h("span", { class: "hint" }, OP_LABELS[t.op] || ""),
        h("span", { class: "buttons" },
          h("button", { type: "button", class: "small", "data-act": "tf-up", "aria-disabled": i === 0 ? "true" : "false" }, "Up", h("span", { class: "vh" }, ` (move ${t.op} up)`)),
          h("button", { type: "button", class: "small", "data-act": "tf-down", "aria-disabled": i === count - 1 ? "true" : "false" }, "Down", h("span", { class: "vh" }, ` (move ${t.op} down)`)),
          h("button", { type: "button", class: "small danger", "data-act": "tf-remove", id: `${tid}-rm` }, "Remove", h("span", { class: "vh" }, ` the ${t.op} transform`)))),
      body);
  }

  function lookupRow(tid, r, key, value) {
    return h("tr", {},
      h("td", {}, h("input", { type: "text", "data-lk": "key", value: key, "aria-label": `HR value ${r + 1}`, spellcheck: "false" })),
      h("td", {}, h("input", { type: "text", "data-lk": "value", value: value === undefined ? "" : String(value), "aria-label": `Sent as ${r + 1}`, spellcheck: "false" })),
      h("td", {}, h("button", { type: "button", class: "small danger", "data-act": "lk-remove" }, "Remove", h("span", { class: "vh" }, ` row ${r + 1}`))));
  }

  function readTransform(li) {
    const op = li.dataset.op;
    const t = { op };
    const val = (k) => { const el = li.querySelector(`[data-k="${k}"]`); return el ? el.value : undefined; };
    const on = (k) => { const el = li.querySelector(`[data-k="${k}"]`); return el ? el.checked : undefined; };
    if (op === "replace") {
      t.pattern = val("pattern");
      if (val("replacement")) t.replacement = val("replacement");
    } else if (op === "lookup") {
      const table = {};
      for (const tr of $$("tbody tr", li)) {
        const key = tr.querySelector('[data-lk="key"]').value;
        if (key !== "") table[key] = lookupValue(tr.querySelector('[data-lk="value"]').value);
      }
      t.table = table;
      const d = val("default");
      if (d) t.default = lookupValue(d);
      if (on("ignoreCase") === false) t.ignoreCase = false;
    } else if (op === "equals") {
      const values = (val("value") || "").split(",").map((s) => s.trim()).filter(Boolean);
      t.value = values.length === 1 ? values[0] : values;
      if (on("ignoreCase")) t.ignoreCase = true;
    } else if (op === "date") {
      const formats = (val("formats") || "").split("\n").map((s) => s.trim()).filter(Boolean);
      if (formats.length) t.formats = formats;
      t.timeZone = (val("timeZone") || "").trim() || "UTC";
      if (val("output") && val("output") !== "dateTime") t.output = val("output");
    }
    return t;
  }

  function newTransform(op) {
    if (op === "replace") return { op, pattern: "\\s+", replacement: "" };
    if (op === "lookup") return { op, table: {} };
    if (op === "equals") return { op, value: "Active" };
    if (op === "date") return { op, timeZone: "UTC" };
    return { op };
  }

  function settingsFromProfile() {
    const p = state.profile;
    $("#p-name").value = p.name || "";
    $("#p-upn").value = p.upnDomain || "";
    $("#p-dup").value = p.duplicates || "reject";
    $("#p-updates").checked = Boolean(p.updatesOnly);
  }

  function group(title, ...children) {
    return h("div", { class: "group" }, h("h3", {}, title), children);
  }

  function targetControl(xi, ai, target) {
    const sid = `x${xi}-a${ai}-target`;
    const groups = (state.targets && state.targets.groups) || [];
    const known = groups.some((g) => (g.attributes || []).includes(target));
    const other = Boolean(target) && !known;
    const select = h("select", { id: sid, "data-act": "ext-target-sel" }, opt("", "(none)", !target));
    for (const g of groups) select.append(h("optgroup", { label: g.name }, (g.attributes || []).map((a) => opt(a, a, a === target))));
    select.append(opt("__other", "Other: type its name", other));
    return h("div", {},
      h("label", { for: sid }, "Target Entra attribute"),
      select,
      h("div", { "data-show": "other", hidden: !other },
        h("label", { for: sid + "-other" }, "Target attribute name"),
        h("input", { type: "text", id: sid + "-other", "data-act": "ext-target", value: other ? target : "", spellcheck: "false", placeholder: "extensionAttribute5" })));
  }

  /** The target drop-downs again, once the list of Entra attributes has come (nothing else is redrawn). */
  function refreshTargets() {
    for (const box of $$("#mapping [data-a]")) {
      const select = box.querySelector('[data-act="ext-target-sel"]');
      if (!select) continue;
      const { ext, name, xi, ai } = extOf(select);
      const had = document.activeElement && document.activeElement.id;
      select.parentElement.replaceWith(targetControl(xi, ai, norm(ext.attributes[name]).target || ""));
      if (had && !document.activeElement.id) { const el = document.getElementById(had); if (el) el.focus(); }
    }
  }

  function renderMap(focusId) {
    const p = state.profile;
    if (!p.attributes || typeof p.attributes !== "object") p.attributes = {};
    const a = p.attributes;
    const kindOf = (key) => (BOOLISH.has(key) ? "bool" : "");
    const root = $("#mapping");
    const blocks = [];
    blocks.push(group("Core attributes", CORE.map((k) => attrRow(["attributes", k], k, { required: ["externalId", "userName", "active"].includes(k), kind: kindOf(k) }))));
    blocks.push(group("Name", NAME.map((k) => attrRow(["attributes", "name", k], "name." + k))));
    for (const [list, title, noun, keys] of [["emails", "Emails", "email", EMAIL], ["phoneNumbers", "Phone numbers", "phone number", PHONE], ["addresses", "Addresses", "address", ADDRESS]]) {
      const entries = Array.isArray(a[list]) ? a[list] : [];
      blocks.push(group(title,
        entries.map((_, i) => h("div", { class: "entry" },
          h("div", { class: "entry-head" },
            h("h4", {}, `${noun[0].toUpperCase() + noun.slice(1)} ${i + 1}`),
            h("button", { type: "button", class: "small danger", "data-act": "entry-remove", "data-list": list, "data-i": String(i), id: `m-${list}-${i}-rm` }, "Remove", h("span", { class: "vh" }, ` ${noun} ${i + 1}`))),
          keys.map((k) => attrRow(["attributes", list, i, k], `${list}[${i}].${k}`, { required: k === "value" && list !== "addresses", kind: kindOf(k) })))),
        h("button", { type: "button", "data-act": "entry-add", "data-list": list, id: `m-${list}-add` }, `Add ${noun === "address" ? "an" : "a"} ${noun}`)));
    }
    blocks.push(group("Enterprise extension", ENTERPRISE.map((k) => attrRow(["attributes", "enterprise", k], "enterprise." + k))));
    const extensions = Array.isArray(a.extensions) ? a.extensions : [];
    blocks.push(group("Custom extension attributes",
      h("p", { class: "hint" }, "Attributes Entra's standard schema lacks (a hire date, a job code): they are added to the job's schema by schema sync, then mapped to the Entra attribute you pick."),
      extensions.map((ext, xi) => h("div", { class: "entry", "data-x": String(xi) },
        h("div", { class: "entry-head" },
          h("h4", {}, `Extension ${xi + 1}`),
          h("button", { type: "button", class: "small danger", "data-act": "ext-remove", "data-x": String(xi), id: `x${xi}-rm` }, "Remove", h("span", { class: "vh" }, ` extension ${xi + 1} and its attributes`))),
        h("div", { class: "ns" },
          h("label", { for: `x${xi}-ns` }, "Namespace (URN)"),
          h("input", { type: "text", id: `x${xi}-ns`, "data-act": "ext-ns", "data-x": String(xi), value: ext.namespace || "", spellcheck: "false" })),
        Object.entries(ext.attributes || {}).map(([name, rule], ai) => {
          const r = norm(rule);
          const aid = `x${xi}-a${ai}`;
          const kind = r.type === "Boolean" ? "bool" : r.type === "Integer" ? "int" : "";
          return h("div", { class: "entry", "data-x": String(xi), "data-a": name },
            h("div", { class: "entry-head" },
              h("h4", {}, `Custom attribute ${name || ai + 1}`),
              h("button", { type: "button", class: "small danger", "data-act": "ext-attr-remove", id: `${aid}-rm` }, "Remove", h("span", { class: "vh" }, ` the custom attribute ${name}`))),
            h("div", { class: "ext-fields" },
              h("div", {}, h("label", { for: `${aid}-name` }, "Attribute name"),
                h("input", { type: "text", id: `${aid}-name`, "data-act": "ext-name", value: name, spellcheck: "false" })),
              h("div", {}, h("label", { for: `${aid}-type` }, "Type"),
                h("select", { id: `${aid}-type`, "data-act": "ext-type" }, SCHEMA.enums.type.map((t) => opt(t, t, (r.type || "String") === t)))),
              targetControl(xi, ai, r.target || "")),
            attrRow(["attributes", "extensions", xi, "attributes", name], name || `attribute ${ai + 1}`, { id: aid, ext: true, kind }));
        }),
        h("button", { type: "button", "data-act": "ext-attr-add", "data-x": String(xi), id: `x${xi}-add` }, "Add a custom attribute", h("span", { class: "vh" }, ` to extension ${xi + 1}`)))),
      h("button", { type: "button", "data-act": "ext-add", id: "x-add" }, extensions.length ? "Add another extension" : "Add a custom attribute")));
    blocks.push(lifecycleBlock());
    root.replaceChildren(...blocks);
    settingsFromProfile();
    refreshJson();
    markDone();
    if (focusId) {
      const el = document.getElementById(focusId);
      if (el) el.focus();
    }
  }

  function lifecycleBlock() {
    const lc = state.profile.lifecycle;
    const on = Boolean(lc);
    const details = h("details", { class: "box", id: "lc-details", open: state.lifecycleOpen || undefined },
      h("summary", {}, "Joiners and leavers by date (lifecycle)"),
      h("p", { class: "hint" }, "HR systems report pre-hires as active: with dates, a pre-hire is created disabled or held back, and a leaver is disabled from the day after the last day."),
      h("div", { class: "check" }, h("input", { type: "checkbox", id: "lc-on", "data-act": "lc-on", checked: on }), h("label", { for: "lc-on" }, "Decide active by the hire and leave dates")));
    if (on) {
      const sel = (id, key, label, values) => h("div", {}, h("label", { for: id }, label),
        h("select", { id, "data-act": "lc", "data-k": key }, values.map(([v, l]) => opt(v, l, (lc[key] || values[0][0]) === v))));
      details.append(
        attrRow(["lifecycle", "hireDate"], "hireDate"),
        attrRow(["lifecycle", "leaveDate"], "leaveDate"),
        h("div", { class: "grid2" },
          sel("lc-prehire", "preHire", "A pre-hire (first day ahead)", [["disable", "is created disabled"], ["hold", "is held back until then"], ["send", "is sent as the status says"]]),
          h("div", {}, h("label", { for: "lc-days" }, "Enabled this many days before the first day"),
            h("input", { type: "number", id: "lc-days", min: "0", max: "365", "data-act": "lc", "data-k": "activateDaysBefore", value: String(lc.activateDaysBefore ?? 0), inputmode: "numeric" })),
          sel("lc-missing", "missing", "A worker missing from a full source", [["ignore", "is left alone"], ["disable", "is sent disabled"]]),
          h("div", {}, h("label", { for: "lc-tz" }, "Time zone of today"),
            h("input", { type: "text", id: "lc-tz", list: "tz-list", "data-act": "lc", "data-k": "timeZone", value: lc.timeZone || "UTC", spellcheck: "false" })),
          h("div", { class: "check" }, h("input", { type: "checkbox", id: "lc-until", "data-act": "lc", "data-k": "activeUntilLeaveDate", checked: Boolean(lc.activeUntilLeaveDate) }),
            h("label", { for: "lc-until" }, "Active until the leave date, whatever the status says"))));
    }
    details.addEventListener("toggle", () => { state.lifecycleOpen = details.open; });
    return details;
  }

  function rowOf(el) {
    const row = el.closest(".attr");
    if (!row) return null;
    return { row, path: JSON.parse(row.dataset.path), id: row.dataset.id, ext: row.dataset.ext === "1", kind: row.dataset.kind };
  }

  function refreshRow(r, rule) {
    const sum = document.getElementById(r.id + "-sum");
    if (sum) sum.textContent = summarize(rule);
  }

  function reopenEditor(r, focusSelector) {
    const rule = norm(getAt(state.profile, r.path));
    const editor = document.getElementById(r.id + "-ed");
    const label = r.row.querySelector(".attr-name").firstChild.textContent;
    fillEditor(editor, r.id, rule, label, { kind: r.kind, ext: r.ext });
    refreshRow(r, rule);
    const select = document.getElementById(r.id + "-src");
    const kind = rowKind(r.id, rule);
    select.value = kind === "source" ? rule.source || "" : "__" + kind;
    if (focusSelector) {
      const el = editor.querySelector(focusSelector) || document.getElementById(focusSelector);
      if (el) el.focus();
    }
  }

  function setMode(r, mode) {
    state.modes.set(r.id, mode);
    const rule = norm(getAt(state.profile, r.path));
    const editor = document.getElementById(r.id + "-ed");
    if (mode === "source") {
      delete rule.constant;
      delete rule.template;
      const value = document.getElementById(r.id + "-src").value;
      rule.source = value.startsWith("__") ? undefined : value;
    } else if (mode === "constant") {
      delete rule.source;
      delete rule.template;
      const input = editor.querySelector('[data-act="constant"]');
      rule.constant = coerce(input ? input.value : "", r.kind);
      if (rule.constant === "") rule.constant = r.kind === "bool" ? true : "";
    } else {
      delete rule.source;
      delete rule.constant;
      const input = editor.querySelector('[data-act="template"]');
      rule.template = input ? input.value : "";
    }
    writeRule(r.path, rule, r.ext);
    for (const box of $$("[data-show]", editor)) if (box.dataset.show === "constant" || box.dataset.show === "template") show(box, box.dataset.show === mode);
    for (const button of $$('[data-act="mode"]', editor)) button.setAttribute("aria-pressed", button.dataset.mode === mode ? "true" : "false");
    const select = document.getElementById(r.id + "-src");
    if (mode !== "source") select.value = "__" + mode;
    const constInput = editor.querySelector('[data-act="constant"]');
    if (mode === "constant" && constInput && constInput.value === "" && rule.constant !== "") constInput.value = String(rule.constant);
    refreshRow(r, rule);
  }

  function openEditor(r, on, focus) {
    const button = document.getElementById(r.id + "-opt");
    const editor = document.getElementById(r.id + "-ed");
    if (on) {
      state.open.add(r.id);
      if (!editor.childElementCount) reopenEditor(r);
    } else state.open.delete(r.id);
    editor.hidden = !on;
    button.setAttribute("aria-expanded", on ? "true" : "false");
    if (focus) { const el = editor.querySelector(focus); if (el) el.focus(); }
  }

  function onMapInput(event) {
    const el = event.target;
    const act = el.dataset.act;
    if (el.closest("#lc-details") && act === "lc") return lifecycleInput(el, event.type);
    if (el.dataset.k || el.dataset.lk) {
      const li = el.closest("li[data-i]");
      const r = rowOf(el);
      if (!li || !r) return undefined;
      const rule = norm(getAt(state.profile, r.path));
      rule.transforms = rule.transforms || [];
      rule.transforms[Number(li.dataset.i)] = readTransform(li);
      writeRule(r.path, rule, r.ext);
      refreshRow(r, rule);
      return undefined;
    }
    if (act === "ext-ns") {
      const ext = state.profile.attributes.extensions[Number(el.dataset.x)];
      ext.namespace = el.value.trim();
      return profileChanged();
    }
    if (act === "ext-target") return extTarget(el, el.value.trim());
    const r = rowOf(el);
    if (!r) return undefined;
    const rule = norm(getAt(state.profile, r.path));
    if (act === "constant") {
      rule.constant = coerce(el.value, r.kind);
      delete rule.source; delete rule.template;
    } else if (act === "template") {
      rule.template = el.value;
      delete rule.source; delete rule.constant;
    } else if (act === "default") {
      rule.default = el.value === "" ? undefined : coerce(el.value, r.kind);
    } else return undefined;
    writeRule(r.path, rule, r.ext);
    refreshRow(r, rule);
    return undefined;
  }

  function onMapChange(event) {
    const el = event.target;
    const act = el.dataset.act;
    if (act === "lc" || act === "lc-on") return lifecycleInput(el, "change");
    if (act === "ext-name") return renameExtAttr(el);
    if (act === "ext-type") {
      const { ext, name } = extOf(el);
      const rule = norm(ext.attributes[name]);
      rule.type = el.value;
      ext.attributes[name] = compact(rule, true);
      return renderMap(el.id);
    }
    if (act === "ext-target-sel") {
      const box = el.parentElement.querySelector('[data-show="other"]');
      show(box, el.value === "__other");
      if (el.value === "__other") return extTarget(el, box.querySelector("input").value.trim());
      return extTarget(el, el.value);
    }
    if (el.dataset.k || el.dataset.lk || act === "ext-ns" || act === "ext-target" || act === "constant" || act === "template" || act === "default") return onMapInput(event);
    const r = rowOf(el);
    if (!r) return undefined;
    if (act === "source") {
      if (el.value === "__constant" || el.value === "__template") {
        const mode = el.value.slice(2);
        state.modes.set(r.id, mode);
        openEditor(r, true);
        setMode(r, mode);
        return undefined;
      }
      const rule = norm(getAt(state.profile, r.path));
      delete rule.constant;
      delete rule.template;
      rule.source = el.value || undefined;
      if (!el.value && !r.ext) {
        writeRule(r.path, {}, false);
        if (state.open.has(r.id)) reopenEditor(r);
        refreshRow(r, {});
        return undefined;
      }
      writeRule(r.path, rule, r.ext);
      if (state.open.has(r.id)) {
        for (const button of $$(`#${r.id}-ed [data-act="mode"]`)) button.setAttribute("aria-pressed", button.dataset.mode === "source" ? "true" : "false");
        for (const box of $$(`#${r.id}-ed [data-show]`)) show(box, false);
      }
      refreshRow(r, rule);
      return undefined;
    }
    if (act === "ifEmpty") {
      const rule = norm(getAt(state.profile, r.path));
      rule.ifEmpty = el.value;
      writeRule(r.path, rule, r.ext);
      refreshRow(r, rule);
    }
    return undefined;
  }

  function onMapClick(event) {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    event.preventDefault();
    if (button.getAttribute("aria-disabled") === "true") return;
    const act = button.dataset.act;
    const a = state.profile.attributes;
    if (act === "entry-add") {
      const list = button.dataset.list;
      a[list] = Array.isArray(a[list]) ? a[list] : [];
      a[list].push(list === "phoneNumbers" || list === "emails" || list === "addresses" ? { type: { constant: "work" } } : {});
      profileChanged();
      return renderMap(`m-${list}-${a[list].length - 1}-${list === "addresses" ? "streetAddress" : "value"}-src`);
    }
    if (act === "entry-remove") {
      const list = button.dataset.list;
      a[list].splice(Number(button.dataset.i), 1);
      if (!a[list].length) delete a[list];
      profileChanged();
      return renderMap(`m-${list}-add`);
    }
    if (act === "ext-add") {
      a.extensions = Array.isArray(a.extensions) ? a.extensions : [];
      const namespace = a.extensions.length ? "" : DEFAULT_NAMESPACE;
      a.extensions.push({ namespace, attributes: { [freshName({})]: { type: "String" } } });
      profileChanged();
      const xi = a.extensions.length - 1;
      return renderMap(namespace ? `x${xi}-a0-name` : `x${xi}-ns`);
    }
    if (act === "ext-remove") {
      a.extensions.splice(Number(button.dataset.x), 1);
      if (!a.extensions.length) delete a.extensions;
      profileChanged();
      return renderMap("x-add");
    }
    if (act === "ext-attr-add") {
      const xi = Number(button.dataset.x);
      const ext = a.extensions[xi];
      ext.attributes = ext.attributes || {};
      ext.attributes[freshName(ext.attributes)] = { type: "String" };
      profileChanged();
      return renderMap(`x${xi}-a${Object.keys(ext.attributes).length - 1}-name`);
    }
    if (act === "ext-attr-remove") {
      const { ext, name, xi } = extOf(button);
      delete ext.attributes[name];
      profileChanged();
      return renderMap(`x${xi}-add`);
    }
    const r = rowOf(button);
    if (!r) return undefined;
    if (act === "toggle") return openEditor(r, button.getAttribute("aria-expanded") !== "true");
    if (act === "mode") return setMode(r, button.dataset.mode);
    const rule = norm(getAt(state.profile, r.path));
    const transforms = rule.transforms || [];
    const li = button.closest("li[data-i]");
    const i = li ? Number(li.dataset.i) : -1;
    if (act === "tf-add") {
      const op = document.getElementById(r.id + "-tfop").value;
      transforms.push(newTransform(op));
      rule.transforms = transforms;
      writeRule(r.path, rule, r.ext);
      return reopenEditor(r, `li[data-i="${transforms.length - 1}"] input, li[data-i="${transforms.length - 1}"] select, li[data-i="${transforms.length - 1}"] textarea, li[data-i="${transforms.length - 1}"] button`);
    }
    if (act === "tf-remove") {
      transforms.splice(i, 1);
      rule.transforms = transforms;
      writeRule(r.path, rule, r.ext);
      return reopenEditor(r, transforms.length ? `li[data-i="${Math.min(i, transforms.length - 1)}"] [data-act="tf-remove"]` : `#${r.id}-tfop`);
    }
    if (act === "tf-up" || act === "tf-down") {
      const j = act === "tf-up" ? i - 1 : i + 1;
      if (j < 0 || j >= transforms.length) return undefined;
      [transforms[i], transforms[j]] = [transforms[j], transforms[i]];
      rule.transforms = transforms;
      writeRule(r.path, rule, r.ext);
      return reopenEditor(r, `li[data-i="${j}"] [data-act="${act}"]`);
    }
    if (act === "lk-add") {
      const tbody = li.querySelector("tbody");
      const n = tbody.rows.length;
      const tr = lookupRow(`${r.id}-tf${i}`, n, "", "");
      tbody.append(tr);
      tr.querySelector("input").focus();
      return undefined;
    }
    if (act === "lk-remove") {
      const tr = button.closest("tr");
      const next = tr.nextElementSibling || tr.previousElementSibling;
      tr.remove();
      rule.transforms[i] = readTransform(li);
      writeRule(r.path, rule, r.ext);
      refreshRow(r, rule);
      const target = next ? next.querySelector("input") : li.querySelector('[data-act="lk-add"]');
      if (target) target.focus();
    }
    return undefined;
  }

  function freshName(attributes) {
    let n = Object.keys(attributes).length + 1;
    while (attributes[`Attribute${n}`]) n += 1;
    return `Attribute${n}`;
  }

  function extOf(el) {
    const box = el.closest("[data-a]");
    const xi = Number(box.dataset.x);
    const ext = state.profile.attributes.extensions[xi];
    return { ext, name: box.dataset.a, xi, ai: Object.keys(ext.attributes).indexOf(box.dataset.a) };
  }

  function extTarget(el, target) {
    const { ext, name } = extOf(el);
    const rule = norm(ext.attributes[name]);
    rule.target = target || undefined;
    ext.attributes[name] = compact(rule, true);
    profileChanged();
  }

  function renameExtAttr(el) {
    const { ext, name, xi, ai } = extOf(el);
    const fresh = el.value.trim();
    if (fresh === name) return;
    if (!fresh || Object.prototype.hasOwnProperty.call(ext.attributes, fresh)) {
      say(fresh ? `Extension ${xi + 1} already has an attribute named ${fresh}.` : "An attribute needs a name.", "bad");
      el.value = name;
      return;
    }
    const oldId = `x${xi}-a${ai}`;
    ext.attributes = Object.fromEntries(Object.entries(ext.attributes).map(([k, v]) => [k === name ? fresh : k, v]));
    profileChanged();
    renderMap(oldId + "-name");
  }

  function lifecycleInput(el, type) {
    const p = state.profile;
    if (el.dataset.act === "lc-on") {
      if (el.checked) p.lifecycle = p.lifecycle || { preHire: "disable", activateDaysBefore: 0, missing: "ignore", timeZone: "UTC" };
      else delete p.lifecycle;
      profileChanged();
      return renderMap("lc-on");
    }
    const key = el.dataset.k;
    if (!p.lifecycle) return undefined;
    if (el.type === "checkbox") p.lifecycle[key] = el.checked;
    else if (key === "activateDaysBefore") p.lifecycle[key] = el.value === "" ? 0 : Number(el.value);
    else if (type === "change" || el.tagName !== "SELECT") p.lifecycle[key] = el.value.trim();
    profileChanged();
    return undefined;
  }

  function settingsInput(event) {
    const p = state.profile;
    const el = event.target;
    if (el.id === "p-name") { if (el.value.trim()) p.name = el.value.trim(); else delete p.name; }
    else if (el.id === "p-upn") { if (el.value.trim()) p.upnDomain = el.value.trim(); else delete p.upnDomain; }
    else if (el.id === "p-dup") { if (el.value === "reject") delete p.duplicates; else p.duplicates = el.value; }
    else if (el.id === "p-updates") { if (el.checked) p.updatesOnly = true; else delete p.updatesOnly; }
    else return;
    profileChanged();
  }

  function loadTargets() {
    if (!state.targetsLoading) state.targetsLoading = fetchTargets();
    return state.targetsLoading;
  }

  async function fetchTargets() {
    try {
      const { data } = await api("GET", "/entra-targets");
      state.targets = data;
    } catch (err) {
      state.targets = { groups: [] };
      setNotes([`The Entra attribute list could not be read (${err.message}): type target names instead.`]);
    }
  }

  async function loadMappingList() {
    const select = $("#load-name");
    try {
      const { data } = await api("GET", "/mappings");
      state.mappings = data.mappings || [];
    } catch (err) {
      state.mappings = [];
      select.replaceChildren(opt("", "(mappings could not be listed)"));
      return;
    }
    const chosen = select.value;
    select.replaceChildren(...(state.mappings.length ? state.mappings.map((m) => opt(m.name, `${m.name} (${m.origin})`, m.name === chosen)) : [opt("", "(none saved)")]));
  }

  /** A profile as a person writes it: a bundled one comes back with every default spelled out
   * (``"transforms": []``, ``"ifEmpty": "omit"``, empty lists); the rules mean the same either way. */
  function tidy(profile) {
    const a = profile.attributes;
    if (!a || typeof a !== "object") return profile;
    const fix = (obj, key, isExtension) => {
      if (!obj || !(key in obj)) return;
      const value = obj[key] === null ? undefined : compact(norm(obj[key]), isExtension);
      if (value === undefined) delete obj[key];
      else obj[key] = value;
    };
    for (const k of CORE) fix(a, k);
    for (const [group, keys] of [["name", NAME], ["enterprise", ENTERPRISE]]) {
      if (a[group] === null) delete a[group];
      if (!a[group]) continue;
      for (const k of keys) fix(a[group], k);
      if (!Object.keys(a[group]).length) delete a[group];
    }
    for (const [list, keys] of [["emails", EMAIL], ["phoneNumbers", PHONE], ["addresses", ADDRESS]]) {
      if (!Array.isArray(a[list])) continue;
      for (const entry of a[list]) for (const k of keys) fix(entry, k);
      if (!a[list].length) delete a[list];
    }
    if (Array.isArray(a.extensions)) {
      for (const ext of a.extensions) for (const name of Object.keys(ext.attributes || {})) fix(ext.attributes, name, true);
      if (!a.extensions.length) delete a.extensions;
    }
    if (profile.lifecycle === null) delete profile.lifecycle;
    if (profile.lifecycle) for (const k of ["hireDate", "leaveDate"]) fix(profile.lifecycle, k);
    return profile;
  }

  async function loadMapping(name, quiet) {
    const { data } = await api("GET", `/mappings/${enc(name)}`);
    state.profile = tidy(data && typeof data === "object" ? data : { attributes: {} });
    state.savedName = name;
    state.savedJson = profileText();
    state.open.clear();
    state.modes.clear();
    $("#save-name").value = name;
    renderMap();
    if (!quiet) say(`Loaded the mapping ${name}.`, "good");
  }

  async function autoMap() {
    if (!state.upload) {
      say("Upload a file or fetch a sample first: auto-map reads its fields.", "bad");
      return;
    }
    const { data } = await api("POST", `/uploads/${enc(state.upload.uploadId)}/suggest`);
    const before = state.profile;
    const suggested = data.profile || { attributes: {} };
    if (before.upnDomain && !suggested.upnDomain) suggested.upnDomain = before.upnDomain;
    state.profile = suggested;
    state.open.clear();
    state.modes.clear();
    const notes = [...(data.notes || [])];
    if (Array.isArray(data.unmatched) && data.unmatched.length) notes.push(`Not mapped: ${data.unmatched.join(", ")}`);
    setNotes(notes);
    renderMap();
    const mapped = Object.keys(suggested.attributes || {}).length;
    say(`Auto-map filled the profile from ${plural(fields().length, "field")} (${plural(mapped, "attribute group")}). Review it before use.`, "good");
  }

  function enterMap() {
    $(".need-upload").hidden = Boolean(state.upload);
    const work = [];
    work.push(loadTargets().then(refreshTargets));
    if (state.mappings === null) work.push(loadMappingList());
    if (!$("#mapping").childElementCount) renderMap();
    return Promise.all(work);
  }

  // ---- 3. Validate ---------------------------------------------------------------------------------
  function fact(label, value) {
    return h("div", {}, h("dt", {}, label), h("dd", {}, String(value ?? 0)));
  }

  function describeDuplicates(d) {
    if (!d || !d.externalIds) return "No two rows share an externalId.";
    const lines = (d.lines || []).slice(0, 20).join(", ") + ((d.lines || []).length > 20 ? ", ..." : "");
    const base = `${plural(d.externalIds, "externalId")} ${d.externalIds === 1 ? "appears" : "appear"} on more than one row (${plural(d.rows, "row")} in all). `;
    if (d.policy === "reject") return base + `The profile rejects every one of them (${plural(d.notSent, "row")} not sent${lines ? ": lines " + lines : ""}), since sending them would let different people overwrite each other in Entra.`;
    return base + `The profile keeps the ${d.policy} row of each and leaves out the other ${plural(d.notSent, "row")}${lines ? " (lines " + lines + ")" : ""}.`;
  }

  function describeManagers(m) {
    if (!m || !Object.keys(m).length) return ["No manager is mapped."];
    const out = [];
    if (m.inRun) out.push(`${plural(m.inRun, "worker")} ${m.inRun === 1 ? "has" : "have"} a manager in this source: managers are sent first, in ${plural(m.levels || 0, "level")} (top managers, then their reports, and so on), so each reference can be resolved.`);
    else out.push("No worker that is sent has a manager in this source.");
    if (m.outsideRun) out.push(`${plural(m.outsideRun, "worker")} ${m.outsideRun === 1 ? "names" : "name"} a manager who is not in this source: Entra links them only if that manager was provisioned before; otherwise the reference stays unresolved until the manager arrives.`);
    if (m.selfManaged) out.push(`${plural(m.selfManaged, "worker")} ${m.selfManaged === 1 ? "names themself" : "name themselves"} as manager.`);
    if (m.cycles) {
      out.push(`${plural(m.cycles, "manager cycle")}: people who, through their managers, report to themselves. Each cycle is broken at its first worker, who is sent first, as if at the top.`);
      for (const c of m.cyclesListed || []) out.push(`Cycle broken at ${c[0]}: ${[...c, c[0]].join(" reports to ")}.`);
    } else out.push("No manager cycles.");
    return out;
  }

  async function runValidation() {
    const errBox = $("#validate-error");
    errBox.hidden = true;
    if (!state.upload) {
      errBox.textContent = "Upload a file or fetch a sample first (step 1).";
      errBox.hidden = false;
      return;
    }
    const local = problems(state.profile);
    say("Validating every row...");
    const sent = profileText();
    let data;
    try {
      ({ data } = await api("POST", `/uploads/${enc(state.upload.uploadId)}/validate`, { json: { profile: state.profile } }));
    } catch (err) {
      if (!(err instanceof ApiFailure) || err.status !== 400) throw err;
      errBox.replaceChildren(h("p", {}, h("strong", {}, "The server refused the profile: "), err.message),
        ...(local.length ? [h("ul", {}, local.map((p) => h("li", {}, p)))] : []));
      errBox.hidden = false;
      $("#validate-result").hidden = true;
      state.validatedFor = null;
      say("The profile is not valid: see below, then fix it in step 2.", "bad");
      markDone();
      return;
    }
    state.validation = data;
    state.validatedFor = sent;
    state.rejectsPage = 0;
    const s = data.summary || {};
    $("#validate-counts").replaceChildren(fact("Rows", s.rows), fact("Operations", s.operations), fact("Rejected", s.rejected),
      fact("Requests", s.requests), ...(s.unchanged ? [fact("Unchanged", s.unchanged)] : []), ...(s.blankLines ? [fact("Blank lines", s.blankLines)] : []));
    $("#validate-dups").textContent = describeDuplicates(s.duplicates);
    $("#validate-managers").replaceChildren(...describeManagers(s.managers).map((line) => h("li", {}, line)));
    const lc = s.lifecycle;
    $("#validate-lifecycle").replaceChildren(...(lc && Object.keys(lc).length ? [h("h3", {}, "Lifecycle"),
      h("p", {}, `${plural(lc.preHires || 0, "pre-hire")} sent disabled, ${lc.deferred || 0} held back, ${plural(lc.leavers || 0, "leaver")} past their last day sent disabled, ${lc.vanished || 0} missing from the source sent disabled${lc.nextChange ? `; the next date-driven change is on ${lc.nextChange}` : ""}.`)] : []));
    renderRejects();
    $("#validate-result").hidden = false;
    say(`${plural(s.rows || 0, "row")}: ${plural(s.operations || 0, "operation")} in ${plural(s.requests || 0, "request")}, ${s.rejected || 0} rejected.`, s.rejected ? "" : "good");
    markDone();
  }

  function renderRejects() {
    const rejects = (state.validation && state.validation.rejects) || [];
    const start = state.rejectsPage * REJECTS_PAGE;
    const page = rejects.slice(start, start + REJECTS_PAGE);
    const more = state.validation.rejectsTruncated ? " (the first ones; the server lists at most 1,000)" : "";
    $("#rejects-caption").textContent = rejects.length
      ? `Rejected rows ${start + 1} to ${start + page.length} of ${rejects.length}${more}` : "Rejected rows: none";
    $("#rejects-table").replaceChildren(
      head(["#Line", "externalId", "Field", "Value", "Reason"]),
      h("tbody", {}, page.length ? page.map((r) => h("tr", {}, h("td", { class: "num" }, String(r.line)), h("td", {}, r.externalId || ""), h("td", {}, r.field || ""), h("td", {}, cell(r.value)), h("td", {}, r.reason || "")))
        : h("tr", {}, h("td", { colspan: "5", class: "empty" }, "Every row maps to a valid user."))));
    setEnabled($("#rejects-prev"), state.rejectsPage > 0);
    setEnabled($("#rejects-next"), start + REJECTS_PAGE < rejects.length);
  }

  function enterValidate() {
    if (state.upload && state.validatedFor !== profileText()) return runValidation();
    if (!state.upload) {
      $("#validate-error").textContent = "Upload a file or fetch a sample first (step 1).";
      $("#validate-error").hidden = false;
    }
    return undefined;
  }

  // ---- 4. Preview ----------------------------------------------------------------------------------
  async function loadPreview() {
    const errBox = $("#preview-error");
    errBox.hidden = true;
    if (!state.upload) {
      errBox.textContent = "Upload a file or fetch a sample first (step 1).";
      errBox.hidden = false;
      return;
    }
    let data;
    try {
      ({ data } = await api("POST", `/uploads/${enc(state.upload.uploadId)}/preview`, { query: { offset: state.previewOffset, limit: REQUESTS_PAGE }, json: { profile: state.profile } }));
    } catch (err) {
      if (!(err instanceof ApiFailure) || err.status !== 400) throw err;
      errBox.textContent = "The server refused the profile: " + err.message;
      errBox.hidden = false;
      $("#preview-list").replaceChildren();
      return;
    }
    state.previewFor = profileText();
    const requests = data.requests || [];
    const offset = data.offset ?? state.previewOffset;
    state.previewTotal = data.total ?? requests.length;
    $("#preview-caption").textContent = requests.length ? `Requests ${offset + 1} to ${offset + requests.length} of ${state.previewTotal}` : "Requests: none (nothing to send)";
    $("#preview-list").replaceChildren(...requests.map((body, i) => {
      const n = offset + i + 1;
      const ops = Array.isArray(body.Operations) ? body.Operations.length : 0;
      const text = JSON.stringify(body, null, 2);
      const fileName = `bulk-${String(n).padStart(4, "0")}.json`;
      return h("article", { class: "request", "aria-labelledby": `req-${n}` },
        h("div", { class: "table-head" },
          h("h4", { id: `req-${n}` }, `Request ${n} of ${state.previewTotal}: ${plural(ops, "operation")}`),
          h("div", { class: "buttons" },
            h("button", { type: "button", class: "small", "data-copy": String(i) }, "Copy", h("span", { class: "vh" }, ` request ${n}`)),
            h("button", { type: "button", class: "small", "data-download": fileName, "data-i": String(i) }, "Download", h("span", { class: "vh" }, ` request ${n} as ${fileName}`)))),
        h("pre", { class: "json", tabindex: "0", "aria-label": `Request ${n} as JSON` }, text));
    }));
    state.previewPage = requests;
    setEnabled($("#preview-prev"), offset > 0);
    setEnabled($("#preview-next"), offset + requests.length < state.previewTotal);
    markDone();
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = h("textarea", { class: "vh", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    }
  }

  async function onPreviewClick(event) {
    const button = event.target.closest("button");
    if (!button) return;
    const requests = state.previewPage || [];
    if (button.dataset.copy !== undefined) {
      const body = requests[Number(button.dataset.copy)];
      const ok = await copyText(JSON.stringify(body, null, 2));
      say(ok ? "The request was copied to the clipboard." : "The browser did not allow copying: select the text instead.", ok ? "good" : "bad");
    } else if (button.dataset.download) {
      const body = requests[Number(button.dataset.i)];
      const url = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
      const link = h("a", { href: url, download: button.dataset.download, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say(`Downloading ${button.dataset.download}.`, "good");
    }
  }

  async function schemaSync() {
    const box = $("#schema-result");
    box.replaceChildren(h("p", {}, "Reading the job's schema..."));
    try {
      const { data } = await api("POST", "/mappings/schema-sync", { json: { profile: state.profile } });
      const changes = data.changes || [];
      box.replaceChildren(
        h("p", {}, changes.length ? `A schema sync would make ${plural(changes.length, "change")} (dry run: nothing was written):` : "Nothing to change: the job's schema already has what this profile needs."),
        ...(changes.length ? [h("ul", { class: "report" }, changes.map((c) => h("li", { class: "mono" }, c)))] : []));
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      box.replaceChildren(h("p", { class: "error" }, "The job's schema could not be read: " + err.describe()));
    }
  }

  function enterPreview() {
    if (state.previewFor !== profileText()) {
      state.previewOffset = 0;
      return loadPreview();
    }
    return undefined;
  }

  // ---- 5. Save -------------------------------------------------------------------------------------
  function enterSave() {
    const input = $("#save-name");
    if (!input.value) input.value = (state.savedName || state.profile.name || "").replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  }

  function checkName() {
    const input = $("#save-name");
    const name = input.value.trim();
    const bad = !NAME_RE.test(name);
    input.setAttribute("aria-invalid", bad ? "true" : "false");
    $("#save-error").textContent = bad ? (name ? "Use only letters, digits, - and _ (1 to 64)." : "Give the mapping a name.") : "";
    return bad ? null : name;
  }

  async function save() {
    const name = checkName();
    if (!name) { $("#save-name").focus(); return; }
    const found = problems(state.profile);
    if (found.length) say(`Saving with ${plural(found.length, "problem")} the server may refuse: ${found[0]}`);
    const profile = { ...state.profile, name };
    const put = (overwrite) => api("PUT", `/mappings/${enc(name)}`, { query: { overwrite: String(overwrite) }, json: profile });
    let result;
    try {
      result = await put(false);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 409) {
        const yes = await confirmDialog("Overwrite the mapping?", `A mapping named ${name} exists already. Overwrite it with this one? Runs, dropped files and scheduled pulls that use ${name} will use the new one.`, "Overwrite");
        if (!yes) { say(`Not saved: ${name} was left as it was.`); return; }
        result = await put(true);
      } else if (err instanceof ApiFailure && err.status === 400) {
        $("#save-error").textContent = err.message;
        $("#save-name").setAttribute("aria-invalid", "true");
        say("Not saved: " + err.message, "bad");
        return;
      } else throw err;
    }
    state.profile = profile;
    state.savedName = name;
    state.savedJson = profileText();
    settingsFromProfile();
    refreshJson();
    state.mappings = null;
    loadMappingList().catch(() => {});
    say(result.status === 201 ? `Saved the new mapping ${name}.` : `Overwrote the mapping ${name}.`, "good");
    markDone();
  }

  // ---- 6. Send and results -------------------------------------------------------------------------
  function sendReadiness() {
    if (!state.upload) return "Upload a file or fetch a sample first (step 1).";
    if (!state.savedName) return "Save the mapping first (step 5): a run uses a saved mapping by its name.";
    if (state.savedJson !== profileText()) return `The mapping changed since it was saved as ${state.savedName}: save it again (step 5) first.`;
    return "";
  }

  function enterSend() {
    const why = sendReadiness();
    $("#send-ready").textContent = why || `Ready: ${plural(state.upload.rows, "row")} from ${state.upload.name}, with the mapping ${state.savedName}. Safety stops may hold the run for approval.`;
    setEnabled($("#send-button"), !why, why);
  }

  async function send() {
    const why = sendReadiness();
    if (why) { say(why, "bad"); return; }
    const yes = await confirmDialog("Send to Entra?", `Send the ${plural(state.upload.rows, "row")} of ${state.upload.name} to Entra with the mapping ${state.savedName}? Accounts are created, updated, enabled or disabled.`, "Send");
    if (!yes) return;
    const { data } = await api("POST", `/uploads/${enc(state.upload.uploadId)}/provision`, { query: { mapping: state.savedName } });
    say(`Run ${data.runId} started: ${data.status}${data.message ? ", " + data.message : ""}.`);
    watchRun(data.runId);
  }

  function stopPolling() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  function watchRun(runId) {
    stopPolling();
    state.runId = runId;
    state.run = null;
    state.polls = 0;
    state.batchesPage = 0;
    state.outcomes = null;
    state.outcomesOffset = 0;
    $("#results-status").value = "";
    $("#results-search").value = "";
    show($("#run-view"), true);
    $("#run-title").textContent = `Run ${runId}`;
    return poll();
  }

  async function poll() {
    const runId = state.runId;
    stopPolling();
    let data;
    try {
      ({ data } = await api("GET", `/runs/${enc(runId)}`));
    } catch (err) {
      report(err);
      const gone = err instanceof ApiFailure && err.status === 404;
      if (!gone && state.runId === runId && state.polls++ < POLL_MAX) state.pollTimer = setTimeout(poll, POLL_MS * 2);
      return;
    }
    if (state.runId !== runId) return;
    const before = state.run && state.run.status;
    state.run = data;
    renderRun();
    const ended = ENDED.has(data.status);
    if (!ended && state.polls++ < POLL_MAX) state.pollTimer = setTimeout(poll, POLL_MS);
    if (ended && before !== data.status && data.status === "held") {
      say(`Run ${runId} is held: nothing was sent. Approve it below if the change is expected.`, "bad");
    } else if (ended && before !== data.status) {
      say(`Run ${runId}: ${data.status}${data.message ? ": " + data.message : ""}`, data.status === "completed" ? "good" : data.status === "held" || data.status === "failed" ? "bad" : "");
    }
    if ((ended || (data.results && data.results.complete)) && data.results && (state.outcomes === null || before !== data.status)) await loadOutcomes();
    markDone();
  }

  function badge(status) {
    const kind = { completed: "good", "dry-run": "good", failed: "bad", held: "warn" }[status] || "busy";
    return h("span", { class: "badge " + kind }, status);
  }

  function renderRun() {
    const run = state.run;
    const counts = run.counts || {};
    const batches = run.batches || [];
    const answered = batches.filter((b) => b.status !== "pending").length;
    $("#run-state").replaceChildren(badge(run.status), " ", run.status === "held" ? "Nothing was sent." : run.message || "",
      run.retryOf ? h("span", { class: "hint" }, ` (a retry of ${run.retryOf})`) : "");
    const held = run.status === "held";
    show($("#run-held"), held);
    if (held) $("#run-held-why").textContent = `${(run.message || "Held by a safety stop.").replace(/\.?$/, ".")} Approve it only if the change is expected.`;
    $("#run-warnings").replaceChildren(...(run.warnings || []).map((w) => h("li", {}, w)));
    $("#run-counts").replaceChildren(
      fact("Rows", counts.rows), fact("Operations", counts.operations), fact("Rejected", counts.rejected),
      fact("Unchanged", counts.unchanged), fact("Requests answered", `${answered} of ${batches.length}`),
      fact("Records accepted", counts.accepted), fact("Records in failed requests", counts.failed));
    renderBatches();
    const results = run.results;
    show($("#results"), Boolean(results));
    if (results) {
      const parts = [];
      for (const [act, statuses] of Object.entries(results.counts || {})) parts.push(`${act}: ${Object.entries(statuses).map(([s, n]) => `${n} ${s}`).join(", ")}`);
      const pending = (results.pending || []).length;
      const unresolved = (results.managerUnresolved || []).length;
      $("#results-summary").textContent = [
        results.complete ? "Every record sent has an entry in the provisioning logs." : `${plural(pending, "record")} without an entry in the provisioning logs yet.`,
        parts.length ? parts.join("; ") + "." : "",
        unresolved ? `${plural(unresolved, "record")} provisioned with the manager not resolved yet (sent again next run).` : "",
      ].filter(Boolean).join(" ");
    }
    const failedIds = (results && results.failed ? results.failed.length : 0) + batches.filter((b) => b.status === "failed").length;
    const canRetry = ["completed", "failed", "sent"].includes(run.status) && (failedIds > 0 || (counts.failed || 0) > 0);
    show($("#retry-button"), canRetry);
  }

  function renderBatches() {
    const batches = (state.run && state.run.batches) || [];
    const start = state.batchesPage * BATCHES_PAGE;
    const page = batches.slice(start, start + BATCHES_PAGE);
    $("#batches-caption").textContent = batches.length ? `Requests ${start + 1} to ${start + page.length} of ${batches.length}` : "Requests: none yet";
    $("#batches-table").replaceChildren(
      head(["#", "Status", "#HTTP", "#Records", "Error"]),
      h("tbody", {}, page.length ? page.map((b) => h("tr", { class: b.status === "failed" ? "failed" : "" },
        h("td", { class: "num" }, String(b.number)), h("td", {}, b.status), h("td", { class: "num" }, b.httpStatus ? String(b.httpStatus) : ""),
        h("td", { class: "num" }, String((b.externalIds || []).length)), h("td", {}, [b.errorCode, b.error].filter(Boolean).join(": "))))
        : h("tr", {}, h("td", { colspan: "5", class: "empty" }, state.run && state.run.status === "held" ? "Held: nothing sent." : "Nothing sent yet."))));
    show($("#batches-prev").parentElement, batches.length > BATCHES_PAGE);
    setEnabled($("#batches-prev"), state.batchesPage > 0);
    setEnabled($("#batches-next"), start + BATCHES_PAGE < batches.length);
  }

  /** Per-worker outcomes: the server filters (status, search) and pages when it can; else one page is cut here. */
  async function loadOutcomes() {
    const runId = state.runId;
    const status = $("#results-status").value;
    const search = $("#results-search").value.trim();
    const { status: http, data } = await api("GET", `/runs/${enc(runId)}/results`, { query: { status, search, offset: state.outcomesOffset, limit: OUTCOMES_PAGE } });
    if (state.runId !== runId) return;
    let rows;
    let total;
    let offset = state.outcomesOffset;
    if (http === 202) {
      rows = [];
      total = 0;
    } else if (Array.isArray(data.outcomes)) {
      rows = data.outcomes;
      total = data.total ?? rows.length;
      offset = data.offset ?? offset;
      if (data.offset === undefined) { rows = rows.slice(offset, offset + OUTCOMES_PAGE); }
    } else {
      const results = data.results || {};
      let all = Object.entries(results.outcomes || {}).map(([id, o]) => ({ externalId: id, ...o }));
      all = all.concat((results.pending || []).map((id) => ({ externalId: id, status: "pending" })));
      if (status) all = all.filter((o) => o.status === status);
      if (search) all = all.filter((o) => String(o.externalId).toLowerCase().includes(search.toLowerCase()));
      total = all.length;
      rows = all.slice(offset, offset + OUTCOMES_PAGE);
    }
    state.outcomes = { rows, total, offset };
    $("#outcomes-caption").textContent = rows.length ? `Outcomes ${offset + 1} to ${offset + rows.length} of ${total}` : (http === 202 ? "Outcomes: no results from the provisioning logs yet" : "Outcomes: none match");
    $("#outcomes-table").replaceChildren(
      head(["externalId", "Action", "Status", "Error", "Reason", "User principal name"]),
      h("tbody", {}, rows.length ? rows.map((o) => {
        const unresolved = o.unresolved && Object.keys(o.unresolved).length ? `manager ${Object.values(o.unresolved).join(", ")} not resolved` : "";
        return h("tr", { class: o.status === "failure" ? "failed" : "" },
          h("td", {}, o.externalId || ""), h("td", {}, o.action || ""), h("td", {}, o.status || ""),
          h("td", {}, o.errorCode || ""), h("td", {}, [o.reason, unresolved].filter(Boolean).join("; ")), h("td", {}, o.userPrincipalName || ""));
      }) : h("tr", {}, h("td", { colspan: "6", class: "empty" }, "No outcome to show."))));
    setEnabled($("#outcomes-prev"), offset > 0);
    setEnabled($("#outcomes-next"), offset + rows.length < total);
  }

  async function approve() {
    const run = state.run;
    if (!run || run.status !== "held") return;
    const yes = await confirmDialog("Approve the held run?", `Run ${run.runId} was held: ${run.message || "a safety stop"}. Send it anyway?`, "Approve and send");
    if (!yes) return;
    const { data } = await api("POST", `/runs/${enc(run.runId)}/approve`);
    say(`Run ${run.runId} approved: ${data.status || "sending"}.`);
    state.polls = 0;
    await poll();
  }

  async function retry() {
    const run = state.run;
    if (!run) return;
    const { data } = await api("POST", `/runs/${enc(run.runId)}/retry`);
    say(`Retrying the failed records of ${run.runId} as run ${data.runId}.`);
    await watchRun(data.runId);
    $("#run-title").focus();
  }

  async function enterRuns() {
    const { data } = await api("GET", "/runs", { query: { limit: 50 } });
    const runs = data.runs || [];
    $("#runs-table").replaceChildren(
      head(["Run", "Started", "Trigger", "Source", "Mapping", "Status", "#Rows", "#Operations", "#Rejected", "#Accepted", "#Failed"]),
      h("tbody", {}, runs.length ? runs.map((r) => {
        const c = r.counts || {};
        return h("tr", {},
          h("td", {}, h("button", { type: "button", class: "small", "data-run": r.runId }, r.runId, h("span", { class: "vh" }, " (open)"))),
          h("td", {}, (r.createdAt || "").replace("T", " ").replace(/\.\d+Z$/, "Z")), h("td", {}, r.trigger || ""), h("td", {}, r.source || ""),
          h("td", {}, r.profile || ""), h("td", {}, badge(r.status || "")),
          ...["rows", "operations", "rejected", "accepted", "failed"].map((k) => h("td", { class: "num" }, String(c[k] ?? 0))));
      }) : h("tr", {}, h("td", { colspan: "11", class: "empty" }, "No run yet."))));
  }

  // ---- wiring ------------------------------------------------------------------------------------------
  function timeZones() {
    let zones = [];
    try { zones = Intl.supportedValuesOf("timeZone"); } catch { zones = []; }
    if (!zones.includes("UTC")) zones.unshift("UTC");
    document.body.append(h("datalist", { id: "tz-list" }, zones.map((z) => h("option", { value: z }))));
  }

  function pager(prev, next, move) {
    action($(prev), () => move(-1));
    action($(next), () => move(1));
  }

  function init() {
    timeZones();
    for (const button of $$("dialog .dialog-cancel")) button.addEventListener("click", () => button.closest("dialog").close("cancel"));
    loadTargets().catch(() => {});
    for (const button of $$("nav [data-step]")) button.addEventListener("click", () => go(button.dataset.step));
    for (const button of $$("[data-go]")) button.addEventListener("click", () => go(button.dataset.go));
    $("#upload-form").addEventListener("submit", (e) => { e.preventDefault(); $("#upload-button").click(); });
    action($("#upload-button"), uploadFile);
    $("#hr-form").addEventListener("submit", (e) => { e.preventDefault(); $("#hr-fetch").click(); });
    action($("#hr-test"), testJob);
    action($("#hr-fetch"), fetchSample);
    pager("#rows-prev", "#rows-next", (d) => { state.rowsOffset = Math.max(0, state.rowsOffset + d * ROWS_PAGE); return loadRows(); });

    action($("#automap"), autoMap);
    action($("#load-button"), () => { const name = $("#load-name").value; return name ? loadMapping(name) : undefined; });
    const mapping = $("#mapping");
    mapping.addEventListener("input", (e) => { if (e.target.tagName !== "SELECT" && e.target.type !== "checkbox" && e.target.type !== "radio" && e.target.dataset.act !== "ext-name") onMapInput(e); });
    mapping.addEventListener("change", onMapChange);
    mapping.addEventListener("click", onMapClick);
    for (const id of ["#p-name", "#p-upn"]) $(id).addEventListener("input", settingsInput);
    for (const id of ["#p-dup", "#p-updates"]) $(id).addEventListener("change", settingsInput);

    action($("#validate-button"), runValidation);
    pager("#rejects-prev", "#rejects-next", (d) => { state.rejectsPage = Math.max(0, state.rejectsPage + d); renderRejects(); });

    pager("#preview-prev", "#preview-next", (d) => { state.previewOffset = Math.max(0, state.previewOffset + d * REQUESTS_PAGE); return loadPreview(); });
    $("#preview-list").addEventListener("click", (e) => { onPreviewClick(e).catch(report); });
    action($("#schema-sync"), schemaSync);

    $("#save-form").addEventListener("submit", (e) => { e.preventDefault(); $("#save-button").click(); });
    $("#save-name").addEventListener("input", () => { if ($("#save-name").getAttribute("aria-invalid") === "true") checkName(); });
    action($("#save-button"), save);

    action($("#send-button"), send);
    action($("#run-refresh"), () => { state.polls = 0; return poll(); });
    action($("#approve-button"), approve);
    action($("#retry-button"), retry);
    pager("#batches-prev", "#batches-next", (d) => { state.batchesPage = Math.max(0, state.batchesPage + d); renderBatches(); });
    pager("#outcomes-prev", "#outcomes-next", (d) => { state.outcomesOffset = Math.max(0, state.outcomesOffset + d * OUTCOMES_PAGE); return loadOutcomes(); });
    $("#results-form").addEventListener("submit", (e) => { e.preventDefault(); state.outcomesOffset = 0; loadOutcomes().catch(report); });
    action($("#runs-refresh"), enterRuns);
    $("#runs-table").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-run]");
      if (!button) return;
      go("send", { focus: false });
      watchRun(button.dataset.run).then(() => $("#run-title").focus()).catch(report);
    });
    $("#run-title").setAttribute("tabindex", "-1");

    const first = (window.location.hash || "").slice(1);
    renderMap();
    go(STEPS.includes(first) ? first : "source", { focus: false });
    markDone();
  }

  // For the browser tests: the schema facts above, and the client-side checks.
  window.ProvisioningUI = { SCHEMA, problems, apiBase: API };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
