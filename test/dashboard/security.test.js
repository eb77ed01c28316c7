import assert from "node:assert/strict";
import { statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";
import { app, deployShop, SECRET_VALUE, startDashboard } from "./dashboard.js";

test("dashboard security: token, cookie, Host, Origin, Bearer /metrics; no secret value in any API answer", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const url = await deployShop(box);
  const d = await startDashboard(box);
  const tokenFile = join(box.home, "dashboard.token");
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(readFileSync(tokenFile, "utf8").trim(), d.token);

  // No token: 401, for pages, APIs and /metrics alike.
  for (const path of ["/", "/apps/shop", "/api/apps", "/api/apps/shop", "/app.js", "/metrics"]) {
    assert.equal((await request(d.origin + path)).status, 401, path);
  }
  assert.equal((await request(`${d.origin}/api/apps?token=${"0".repeat(d.token.length)}`)).status, 401, "a wrong token");

  // The link's token sets an HttpOnly SameSite=Strict cookie, which then suffices.
  const page = await request(d.link);
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="\/app.js">/);
  const cookie = page.headers["set-cookie"][0];
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const jar = { cookie: cookie.split(";")[0] };
  assert.equal((await request(`${d.origin}/api/apps`, { headers: jar })).status, 200);

  // DNS rebinding: any Host but the bound address is refused, even with the token.
  for (const host of [`evil.example:${d.port}`, `localhost:${d.port}`, "127.0.0.1"]) {
    assert.equal((await request(`${d.origin}/api/apps`, { headers: { ...jar, host } })).status, 403, host);
  }

  // Actions: a POST from another origin (or with none) is refused before it runs.
  const run = `${d.origin}/api/apps/shop/run`;
  for (const origin of ["http://evil.example", `http://localhost:${d.port}`, undefined]) {
    const res = await request(run, { method: "POST", body: { function: "nightly" }, headers: { ...jar, ...(origin ? { origin } : {}) } });
    assert.equal(res.status, 403, String(origin));
  }
  const apps = await box.run(["app", "show", "shop", "--json"]);
  assert.equal(JSON.parse(apps.stdout).functions.find((f) => f.name === "nightly").lastRun, undefined, "no run happened");

  // /metrics takes the token only as a Bearer header.
  assert.equal((await request(`${d.origin}/metrics`, { headers: jar })).status, 401);
  await request(`${url}?item=book`);
  const metrics = await waitUntil(async () => {
    const res = await request(`${d.origin}/metrics`, { headers: { authorization: `Bearer ${d.token}` } });
    return res.status === 200 && /nodal_calls_total\{function="api",kind="web",outcome="success",app="shop"\} 1/.test(res.body) && res.body;
  }, { what: "the request in /metrics" });
  assert.match(metrics, /# TYPE nodal_call_duration_seconds summary/);

  // The app printed its secret's value: it reaches no API answer (nor the log stream).
  const ok = await request(run, { method: "POST", body: { function: "nightly" }, headers: { ...jar, origin: d.origin } });
  assert.deepEqual(JSON.parse(ok.body).ok, true);
  // Rollback runs the CLI's own `app rollback`: its user error comes back as the action's error.
  const rollback = await request(`${d.origin}/api/apps/shop/rollback`, { method: "POST", body: { version: 9 }, headers: { ...jar, origin: d.origin } });
  assert.equal(rollback.status, 200);
  assert.deepEqual(JSON.parse(rollback.body), { ok: false, error: 'Error: "shop" has no version v9\nHint: its versions: v1' });
  const answers = [];
  for (const path of ["/", "/apps/shop", "/api/apps", "/api/apps/shop", "/app.js", "/app.css"]) {
    const res = await request(d.origin + path, { headers: jar });
    assert.equal(res.status, 200, path);
    answers.push(res.body);
  }
  answers.push(metrics);
  answers.push(await firstEvents(`${d.origin}/api/apps/shop/events`, jar, /"nightly"/));
  answers.push(await firstEvents(`${d.origin}/api/apps/shop/logs`, jar, /request for book/));
  for (const body of answers) assert.ok(!body.includes(SECRET_VALUE), `a secret value in:\n${body.slice(0, 400)}`);
  assert.match(answers.at(-1), /key \*\*\*/, "the log line is there, masked");
});

/** The body of an event stream until `re` shows in it (bounded). */
async function firstEvents(url, headers, re) {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    let data = "";
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (d) => {
        data += d;
        if (re.test(data)) {
          clearTimeout(timer);
          req.destroy();
          resolve(data);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no ${re} in ${url} within 10 s:\n${data.slice(0, 400)}`));
    }, 10_000);
    req.on("error", () => {});
  });
}
