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
