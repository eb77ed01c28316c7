import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox } from "../helpers.js";
import { browserPage } from "./browser.js";
import { app, deployShop, startDashboard } from "./dashboard.js";

const text = (page, testid) => page.locator(`[data-testid="${testid}"]`).innerText();

test("in Chromium: the apps page lists the app; a request moves its counters within a second; a printed line is in the live logs within 500 ms", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const url = await deployShop(box);
  const d = await startDashboard(box);
  const page = await browserPage(t);

  await page.goto(d.link);
  await page.locator('[data-testid="state-shop"]').waitFor({ timeout: 10_000 });
  assert.equal(await text(page, "state-shop"), "deployed");
  assert.equal(new URL(page.url()).search, "", "the token left the address bar");

  await page.click('a[href="/apps/shop"]');
  await page.locator('[data-testid="calls-api"]').waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="calls-api"]').textContent === "0", null, { timeout: 10_000 });
  await page.locator("#logs").waitFor();

  // The bounds are the product's promise: counters within a second, a printed line within 500 ms.
  assert.equal((await request(`${url}?item=lamp`)).status, 200);
  await page.waitForFunction(() => document.querySelector('[data-testid="calls-api"]').textContent === "1", null, { timeout: 1000 });
  // How many containers run, and why that many: the reason `app show` gives.
  await page.waitForFunction(() => /^1 \(\d+\.\d MB\) · stops after 60 s idle$/.test(document.querySelector('[data-testid="containers-api"]').textContent), null, { timeout: 10_000 });
  assert.match(await text(page, "containers-nightly"), /^\d+( \(\d+\.\d MB\))? · (stops after 60 s idle|starts on the first call)$/);

  assert.equal((await request(`${url}?item=desk`)).status, 200);
  await page.waitForFunction(() => document.getElementById("logs").textContent.includes("request for desk"), null, { timeout: 500 });
});

test("in Chromium: Run now records a run with its outcome; Rollback serves the previous version; a stopped app shows stopped; a screenshot is a non-blank PNG", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const url = await deployShop(box);
  box.write({ "app.ts": app.replace('version: "one"', 'version: "two"') });
  const second = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse((await request(url)).body).version, "two");
  const d = await startDashboard(box);
  const page = await browserPage(t);
  await page.goto(`${d.origin}/apps/shop?token=${d.token}`);
  await page.locator('[data-testid="run-nightly"]').waitFor({ timeout: 10_000 });
  assert.notEqual(await text(page, "next-nightly"), "–", "the next run is shown");

  await page.click('[data-testid="run-nightly"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="last-nightly"]').textContent.includes("success"), null, { timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="history-nightly"] span.success').count(), 1);
  const shown = JSON.parse((await box.run(["app", "show", "shop", "--json"])).stdout);
  assert.equal(shown.functions.find((f) => f.name === "nightly").lastRun.outcome, "success");
  assert.equal(shown.stats.schedules.nightly.length, 1);

  // The screenshot the README shows: the app page with a run, a request and its log lines.
  await request(`${url}?item=lamp`);
  await page.waitForFunction(() => document.getElementById("logs").textContent.includes("request for lamp"), null, { timeout: 5000 });
  const dir = mkdtempSync(join(tmpdir(), "nodal-shot-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "app.png");
  await page.screenshot({ path: file, fullPage: false });
  const png = readFileSync(file);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 1000], "the viewport's size");
  assert.ok(png.length > 20_000, `not blank: ${png.length} bytes`);
  if (process.env.NODAL_SCREENSHOT) (await import("node:fs")).copyFileSync(file, process.env.NODAL_SCREENSHOT);

  await page.click('[data-testid="rollback-1"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="note"]').textContent.includes("now v3"), null, { timeout: 60_000 });
  assert.equal(JSON.parse((await request(url)).body).version, "one");
  await page.waitForFunction(() => document.querySelector('[data-testid="version"]').textContent === "v3", null, { timeout: 5000 });

  assert.equal((await box.run(["app", "stop", "shop"])).code, 0);
  await page.waitForFunction(() => document.querySelector('[data-testid="state"]').textContent === "stopped", null, { timeout: 10_000 });
});
