import assert from "node:assert/strict";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----";
const QUOTED = 'pa"ss\\word-Zq9';

const app = `
import express from "express";
import { App, Secret } from "nodal";
export const app = new App("msk");
const web = express();
web.get("/leak", (_req, res) => {
  console.log(process.env.PEM);
  console.log(JSON.stringify({ pem: process.env.PEM, password: process.env.PASSWORD }));
  console.log("done leaking");
  res.json({ ok: true });
});
export const api = app.webApp({ secrets: [Secret.fromDotenv(".env")] }, () => web);
`;

test("a multi-line secret (a PEM key) and the JSON-escaped form of a value never reach the log", async (t) => {
  const box = sandbox(t, { "app.ts": app, ".env": `PEM="${PEM}"\nPASSWORD='${QUOTED}'\n` });
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  const { urls } = JSON.parse(res.stdout);
  assert.equal((await request(`${urls.api}/leak`)).status, 200);
  const lines = await waitUntil(
    async () => {
      const out = (await box.run(["app", "logs", "msk", "--function", "api", "--json"])).stdout;
      return out.includes("done leaking") && out.trim().split("\n").map((l) => JSON.parse(l).line);
    },
    { what: "the printed lines" },
  );
  const printed = lines.slice(0, lines.indexOf("done leaking"));
  // Each line of the key on its own (its armour lines too), and the whole key inside JSON.
  assert.deepEqual(printed, ["***", "***", "***", "***", '{"pem":"***","password":"***"}']);
  const all = lines.join("\n");
  for (const secret of ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", QUOTED, JSON.stringify(QUOTED).slice(1, -1), "pa\\\"ss"]) {
    assert.ok(!all.includes(secret), `${secret} in the log`);
  }
});

const early = (token) => `
import { App, Secret } from "nodal";
export const app = new App("early");
const keys = Secret.fromName("early-keys");
console.log("top level sees " + process.env.EARLY_TOKEN);
export const api = app.webApp({ secrets: [keys] }, () => {
  console.log("factory sees " + process.env.EARLY_TOKEN);
  return (_req, res) => res.end("ok");
});
export const version = "${token}";
`;

test("lines printed before a version is live (module top level, web factory) are masked: first deploy, redeploy, after a rotation", async (t) => {
  const box = sandbox(t, { "app.ts": early("v1") });
  assert.equal((await box.run(["secret", "create", "early-keys", "EARLY_TOKEN=tok-first-5f1c"])).code, 0);
  const first = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.equal(first.code, 0, first.stderr);
  box.write({ "app.ts": early("v2") });
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  assert.equal((await box.run(["secret", "create", "early-keys", "EARLY_TOKEN=tok-second-8a2d", "--force"])).code, 0);
  const rolled = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.match(rolled.stdout, /rolled over/);
  // A rotation then `app rollover`: the new version is first loaded with the live workers'
  // environment (the old value) — that value is masked too, though no longer stored.
  assert.equal((await box.run(["secret", "create", "early-keys", "EARLY_TOKEN=tok-third-c4e7", "--force"])).code, 0);
  assert.equal((await box.run(["app", "rollover", "early"], { timeoutMs: 60_000 })).code, 0);
  // And a version that fails to load after reading a secret: masked with every stored value.
  box.write({ "app.ts": early("v3") + `\nthrow new Error("no: " + process.env.EARLY_TOKEN);\n` });
  const failed = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.equal(failed.code, 1);
  const logs = (await box.run(["app", "logs", "early", "-n", "1000"])).stdout;
  // v1, v2 and both rollovers each load the app with its secrets (v3 too, before it throws).
  assert.ok((logs.match(/top level sees \*\*\*/g) ?? []).length >= 5, logs);
  assert.ok((logs.match(/factory sees \*\*\*/g) ?? []).length >= 4, logs);
  assert.doesNotMatch(logs, /tok-first-5f1c|tok-second-8a2d|tok-third-c4e7/);
});

const pinned = `
import { App, Secret } from "nodal";
export const app = new App("pinned");
console.log("top level sees " + process.env.PIN_TOKEN);
export const api = app.webEndpoint({ secrets: [Secret.fromName("pin-keys")] }, async (q) => {
  if (q.crash) process.exit(3);
  console.log("handler sees " + process.env.PIN_TOKEN);
  return { token: process.env.PIN_TOKEN };
});
`;

test("after a rotation without a rollover, a restarted worker keeps its version's value, and masks it", async (t) => {
  const box = sandbox(t, { "app.ts": pinned });
  assert.equal((await box.run(["secret", "create", "pin-keys", "PIN_TOKEN=pin-old-93b1"])).code, 0);
  const dep = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  const url = JSON.parse(dep.stdout).urls.api;
  assert.equal((await box.run(["secret", "create", "pin-keys", "PIN_TOKEN=pin-new-07d4", "--force"])).code, 0);
  await request(`${url}/?crash=1`).catch(() => {});
  await waitUntil(
    async () => {
      const s = JSON.parse((await box.run(["app", "show", "pinned", "--json"])).stdout);
      return s.restarts.api === 1 && s.health.api.state === "ready";
    },
    { timeoutMs: 20_000, what: "the crashed worker restarted" },
  );
  // The version runs with the value it went live with until a rollover.
  assert.deepEqual(JSON.parse((await request(url)).body), { token: "pin-old-93b1" });
  const logs = await waitUntil(
    async () => {
      const out = (await box.run(["app", "logs", "pinned", "-n", "1000"])).stdout;
      return (out.match(/handler sees/g) ?? []).length >= 1 && (out.match(/top level sees/g) ?? []).length >= 3 && out;
    },
    { what: "the restarted worker's lines" },
  );
  assert.doesNotMatch(logs, /pin-old-93b1|pin-new-07d4/);
  assert.match(logs, /handler sees \*\*\*/);
});
