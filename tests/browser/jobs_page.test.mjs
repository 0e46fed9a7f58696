// The System Jobs page in a real browser (Debian's Chromium, headless, driven by playwright-core):
// the page asks for the API key, lists the jobs, filters the failed ones, opens one, and after
// the cause is fixed its Retry button makes it run again until it shows Succeeded.
//
// Environment (set by CTest): STEPLINE (the executable), SERVICE_PLUGIN_DIR (the test plug-ins);
// STEPLINE_JOBS_SCREENSHOT, when set, is where to save a picture of the list (and, beside it
// with "-job" added, of the job's page): docs/jobs-page.png is made so.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const stepline = process.env.STEPLINE;
const plugins = process.env.SERVICE_PLUGIN_DIR;
const key = "browser-test-key-0123456789abcdef";

// Run after the test however it ends (a timed-out test's body goes on running): the host and the
// browser are stopped by their process, the folders removed.
const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** Starts `stepline serve` on a free loopback port; resolves with its address and process. */
async function serve(folder) {
  const gate = join(folder, "gate");
  writeFileSync(gate, "closed\n");
  writeFileSync(join(folder, "stepline.yaml"), `host:
  plugin_folder: ${plugins}
  data_folder: data
http:
  listen: 127.0.0.1:0
  api_keys:
    - name: operator
      key: \${env:BROWSER_TEST_KEY}
plugins:
  - file: service_plugins.so
steps:
  - name: Check the gate
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler: {plugin: Tests.Gate}
    configuration: ${gate}
`);
  const log = join(folder, "serve.log");
  const child = spawn(stepline, ["serve", "-c", join(folder, "stepline.yaml")], {
    cwd: folder, env: { ...process.env, BROWSER_TEST_KEY: key }, stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error("stepline serve did not listen in 90 s:\n" + output)), 90000);
    const look = () => {
      const m = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(deadline); resolve(m[1]); } else setTimeout(look, 50);
    };
    child.on("exit", (code) => reject(new Error(`stepline serve exited with ${code}:\n${output}`)));
    look();
  });
  writeFileSync(log, output);
  return { url, child, gate, output: () => output };
}

async function call(url, path, options = {}) {
  const response = await fetch(url + path, {
    ...options, headers: { Authorization: "Bearer " + key, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function until(what, check, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("gave up waiting for " + what);
}

test("filter Failed, open the job, fix the cause, Retry: it ends Succeeded", { timeout: 270000 }, async () => {
  assert.ok(stepline && plugins, "STEPLINE and SERVICE_PLUGIN_DIR must be set (CTest sets them)");
  const folder = mkdtempSync(join(tmpdir(), "stepline-browser-"));
  const profile = mkdtempSync(join(tmpdir(), "stepline-chromium-"));
  cleanups.push(async () => {
    rmSync(folder, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  const host = await serve(folder);
  cleanups.push(async () => {
    if (host.child.exitCode !== null) return;
    host.child.kill("SIGTERM");
    await new Promise((r) => (host.child.exitCode !== null ? r() : host.child.on("exit", r)));
  });
  // Two accounts: both jobs fail while the gate is closed.
  for (const name of ["Contoso", "Fabrikam"]) {
    const r = await call(host.url, "/api/data/v9.2/accounts", { method: "POST", body: JSON.stringify({ name }) });
    assert.equal(r.status, 204);
  }
  await until("two failed jobs", async () => (await call(host.url, "/stepline/v1/jobs?status=failed")).body.jobs.length === 2);

  // A first start on a fresh machine builds Chromium's caches: give it time.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: 180000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(60000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));

  await page.goto(host.url + "/jobs");
  // The host has API keys: the page asks for one.
  await page.waitForSelector("#key-form:not([hidden])");
  await page.fill("#key", key);
  await page.click("#key-form button[type=submit]");
  await page.waitForSelector("#jobs tr[data-id]");
  assert.equal(await page.locator("#jobs tr[data-id]").count(), 2);

  await page.selectOption("#status", "failed");
  await page.waitForURL(/status=failed/);
  await page.waitForSelector("#jobs tr[data-id]");
  const statuses = await page.locator("#jobs .status").allTextContents();
  assert.deepEqual(statuses, ["failed", "failed"]);

  await page.locator("#jobs a.job-link").first().click();
  await page.waitForSelector("#friendly-message");
  assert.match(await page.textContent("#friendly-message"), /the gate is closed/);
  assert.match(await page.textContent("#context"), /"messageName": "Create"/);
  assert.equal(await page.isEnabled("#action-retry"), true);
  assert.equal(await page.isEnabled("#action-resume"), false);

  // The operator fixes the cause, then retries.
  rmSync(host.gate);
  await page.click("#action-retry");
  await page.waitForSelector('h2 .status[data-status="succeeded"]', { timeout: 60000 });
  assert.match(await page.textContent("#notice"), /retry: the job is now ready/);
  assert.equal(await page.isEnabled("#action-retry"), false);
  const screenshots = process.env.STEPLINE_JOBS_SCREENSHOT;
  if (screenshots) await page.screenshot({ path: screenshots.replace(/\.png$/, "-job.png"), fullPage: true });

  // Back on the list, that one is no longer among the failed.
  await page.goto(host.url + "/jobs?status=failed");
  await page.waitForSelector("#jobs tr[data-id]");
  assert.equal(await page.locator("#jobs tr[data-id]").count(), 1);
  if (screenshots) {
    await page.goto(host.url + "/jobs");
    await page.waitForSelector('#jobs .status[data-status="succeeded"]');
    await page.screenshot({ path: screenshots });
  }
  assert.deepEqual(problems, []);
});
