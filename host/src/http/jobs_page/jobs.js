// The System Jobs page: lists jobs newest first with filters and paging, shows one job whole,
// and POSTs the operator's actions, all through the JSON API under /stepline/v1/jobs. Plain
// JavaScript, no build step; text is always set with textContent, never parsed as HTML.
"use strict";

const API = "/stepline/v1/jobs";
const STATUSES = ["any", "ready", "waiting", "in-progress", "canceling", "succeeded", "failed", "canceled"];
const main = document.getElementById("main");
const notice = document.getElementById("notice");
let refreshTimer = null;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, isError) {
  notice.textContent = text;
  notice.className = isError ? "error" : "";
  notice.hidden = !text;
}

// --- the API, with the key this tab was given -------------------------------------------------

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem("stepline-api-key");
  if (key) headers.Authorization = "Bearer " + key;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method || "GET", headers, body: options.body, credentials: "omit" });
  if (response.status === 401) throw new Unauthorized();
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || response.status + " " + response.statusText);
  return data;
}

function askForKey() {
  const form = document.getElementById("key-form");
  form.hidden = false;
  main.replaceChildren();
  document.getElementById("key").focus();
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("stepline-api-key", document.getElementById("key").value);
  document.getElementById("key").value = "";
  document.getElementById("key-form").hidden = true;
  route();
});

document.getElementById("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem("stepline-api-key");
  location.reload();
});

async function guarded(work) {
  try {
    await work();
    document.getElementById("forget-key").hidden = !sessionStorage.getItem("stepline-api-key");
  } catch (error) {
    if (error instanceof Unauthorized) askForKey();
    else say(error.message, true);
  }
}

// --- formatting -----------------------------------------------------------------------------

function when(iso) {
  if (!iso) return "";
  const t = new Date(iso);
  return el("time", { datetime: iso, title: iso }, t.toLocaleString());
}

function badge(status) {
  return el("span", { class: "status " + status, "data-status": status }, status);
}

function toIso(localValue) {
  return localValue ? new Date(localValue).toISOString() : "";
}

function toLocalInput(iso) {
  if (!iso) return "";
  const t = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

// --- the list -------------------------------------------------------------------------------

function listFilters() {
  const q = new URLSearchParams(location.search);
  return { status: q.get("status") || "any", step: q.get("step") || "", entity: q.get("entity") || "",
           from: q.get("from") || "", until: q.get("until") || "", after: q.get("after") || "" };
}

function showFilters(filters) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value && !(name === "status" && value === "any")) q.set(name, value);
  const search = q.toString();
  history.replaceState(null, "", "/jobs" + (search ? "?" + search : ""));
}

async function showList() {
  stopRefresh();
  const filters = listFilters();
  const status = el("select", { id: "status", name: "status" }, STATUSES.map((s) => el("option", { value: s, selected: s === filters.status }, s)));
  const step = el("input", { id: "step", name: "step", value: filters.step, placeholder: "any step" });
  const entity = el("input", { id: "entity", name: "entity", value: filters.entity, placeholder: "any table" });
  const from = el("input", { id: "from", name: "from", type: "datetime-local", value: toLocalInput(filters.from) });
  const until = el("input", { id: "until", name: "until", type: "datetime-local", value: toLocalInput(filters.until) });
  const auto = el("input", { id: "auto-refresh", type: "checkbox", checked: sessionStorage.getItem("stepline-auto") === "1" });
  const apply = () => {
    showFilters({ status: status.value, step: step.value.trim(), entity: entity.value.trim(), from: toIso(from.value), until: toIso(until.value), after: "" });
    showList();
  };
  status.addEventListener("change", apply);
  auto.addEventListener("change", () => { sessionStorage.setItem("stepline-auto", auto.checked ? "1" : "0"); showList(); });
  const form = el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
    el("label", {}, "Status", status), el("label", {}, "Step", step), el("label", {}, "Table", entity),
    el("label", {}, "Created from", from), el("label", {}, "Created before", until),
    el("button", { type: "submit", class: "primary" }, "Apply"),
    el("button", { type: "button", id: "refresh", onclick: () => showList() }, "Refresh"),
    el("label", {}, "Auto refresh", auto));
  const body = el("tbody", { id: "jobs" });
  const table = el("table", {}, el("thead", {}, el("tr", {}, ["Created", "Status", "Step", "Record", "Message", "Retries", "Next attempt / completed", "What happened"].map((h) => el("th", {}, h)))), body);
  const pager = el("div", { class: "pager" });
  main.replaceChildren(form, table, pager);

  await guarded(async () => {
    const q = new URLSearchParams({ limit: "50" });
    for (const name of ["status", "step", "entity", "from", "until", "after"]) if (filters[name] && !(name === "status" && filters[name] === "any")) q.set(name, filters[name]);
    const data = await api(API + "?" + q);
    say("");
    for (const job of data.jobs) {
      body.append(el("tr", { "data-id": job.id },
        el("td", {}, when(job.createdOn)),
        el("td", {}, badge(job.status)),
        el("td", {}, el("a", { href: "/jobs/" + job.id, class: "job-link" }, job.step)),
        el("td", {}, job.entity + " ", el("span", { class: "muted" }, job.recordId)),
        el("td", {}, job.message),
        el("td", {}, String(job.retryCount)),
        el("td", {}, when(job.completedOn || job.postponeUntil)),
        el("td", { class: "message" }, job.friendlyMessage || "")));
    }
    if (!data.jobs.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No jobs match.")));
    if (filters.after) pager.append(el("button", { type: "button", onclick: () => { showFilters({ ...filters, after: "" }); showList(); } }, "Newest"));
    if (data.next) pager.append(el("button", { type: "button", id: "older", onclick: () => { showFilters({ ...filters, after: data.next }); showList(); } }, "Older →"));
  });
  if (auto.checked) refreshTimer = setTimeout(showList, 5000);
}

// --- one job ------------------------------------------------------------------------------------

function field(list, name, value) {
  list.append(el("dt", {}, name), el("dd", {}, value === null || value === undefined || value === "" ? el("span", { class: "muted" }, "—") : value));
}

async function showJob(id) {
  stopRefresh();
  await guarded(async () => {
    const job = await api(API + "/" + encodeURIComponent(id));
    const fields = el("dl", { class: "fields", id: "fields" });
    field(fields, "Status", badge(job.status));
    field(fields, "Id", job.id);
    field(fields, "Step", job.step + " (" + job.stepId + ")");
    field(fields, "Endpoint", job.endpoint);
    field(fields, "Message", job.message);
    field(fields, "Record", job.entity + " " + job.recordId);
    field(fields, "Correlation id", job.correlationId);
    field(fields, "Depth", job.depth);
    field(fields, "Sequence", job.sequence);
    field(fields, "Ordering key", job.orderingKey);
    field(fields, "Created", when(job.createdOn));
    field(fields, "Started", when(job.startedOn));
    field(fields, "Completed", when(job.completedOn));
    field(fields, "Postponed until", when(job.postponeUntil));
    field(fields, "Retries", job.retryCount);
    field(fields, "Host deaths", job.crashCount);
    field(fields, "Execution time", job.executionTimeMs === null ? null : job.executionTimeMs + " ms");
    field(fields, "Lease", job.leaseOwner ? job.leaseOwner + " until " + job.leaseUntil : null);
    field(fields, "State / status code", job.stateCode + " / " + job.statusCode);

    const error = el("section", { id: "error" }, el("h2", {}, "What happened"),
      el("p", { id: "friendly-message" }, job.friendlyMessage || el("span", { class: "muted" }, "Nothing went wrong.")),
      job.errorMessage ? el("pre", { id: "error-message" }, job.errorMessage + (job.errorCode !== null ? "\n(error code " + job.errorCode + ", 0x" + (job.errorCode >>> 0).toString(16) + ")" : "")) : null);

    const s = job.retrySchedule;
    const schedule = el("section", { id: "schedule" }, el("h2", {}, "Retry schedule"),
      el("p", {}, `Policy (${s.source}): ${s.maxAttempts} attempts in all, waits from ${s.baseDelay} doubling up to ${s.maxDelay}, ±${Math.round(s.jitter * 100)} % jitter. Retries so far: ${s.retriesSoFar}.`),
      s.nextAttemptAt ? el("p", {}, "Next attempt: ", when(s.nextAttemptAt)) : null,
      s.upcoming.length ? el("p", { class: "muted" }, "If it keeps failing, the waits before the next retries: " + s.upcoming.map((u) => u.wait).join(", ") + ".") : null);

    const postponeUntil = el("input", { id: "postpone-until", placeholder: "30m or 2026-05-01T08:00:00Z" });
    const action = (name, label) => el("button", { type: "button", id: "action-" + name, class: name === "retry" ? "primary" : "", disabled: !job.actions.includes(name),
      onclick: () => act(job.id, name, name === "postpone" ? { until: postponeUntil.value.trim() } : {}) }, label);
    const actions = el("div", { class: "actions" }, action("retry", "Retry"), action("resume", "Resume"), action("cancel", "Cancel"), postponeUntil, action("postpone", "Postpone"),
      el("button", { type: "button", id: "refresh", onclick: () => showJob(id) }, "Refresh"));

    const context = el("section", {}, el("h2", {}, "Context (secrets masked)"), el("pre", { id: "context" }, job.contextProblem ? job.contextProblem : JSON.stringify(job.context, null, 2)));
    const trace = job.trace ? el("section", {}, el("h2", {}, "Trace"), el("pre", { id: "trace" }, job.trace)) : null;
    const parts = [el("p", {}, el("a", { href: "/jobs" }, "← All jobs")), el("h2", {}, job.step, " ", badge(job.status)), actions, fields, error, schedule, context, trace];
    main.replaceChildren(...parts.filter((part) => part !== null));
    // A job that is not done yet changes by itself: look again shortly.
    if (!["succeeded", "failed", "canceled"].includes(job.status)) refreshTimer = setTimeout(() => showJob(id), 1000);
  });
}

async function act(id, name, body) {
  await guarded(async () => {
    const result = await api(API + "/" + encodeURIComponent(id) + "/" + name, { method: "POST", body: JSON.stringify(body) });
    say(`${name}: the job is now ${result.status}.`);
    await showJob(id);
  });
}

function stopRefresh() {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

function route() {
  const match = location.pathname.match(/^\/jobs\/([0-9a-fA-F-]{4,})$/);
  if (match) showJob(match[1]);
  else showList();
}

route();
