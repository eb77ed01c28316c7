import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";
import { assertUserError } from "./asserts.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----";

test("secret create --from-dotenv: a PEM key in quotes is stored whole", async (t) => {
  const box = sandbox(t, { ".env": `# keys\nPEM="${PEM}"\nAPI_KEY=sk-live-abc\n` });
  const res = await box.run(["secret", "create", "keys", "--from-dotenv", ".env"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /Created secret "keys" with keys API_KEY, PEM/);
  assert.ok(!res.stdout.includes("MIIEvQ"));
  const stored = JSON.parse(readFileSync(join(box.home, "secrets", "keys.json"), "utf8")).values;
  assert.deepEqual(stored, { PEM, API_KEY: "sk-live-abc" });
});

test("secret create --from-dotenv: a bad line is named by file and line number, its content never printed", async (t) => {
  const box = sandbox(t, {
    "pasted.env": "API_KEY=abc\nsk-live-PASTEDVALUE\nDB_URL=postgres://u:pw@h/db\n",
    "open.env": 'OK=1\nPEM="-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n',
  });
  const pasted = await box.run(["secret", "create", "keys", "--from-dotenv", "pasted.env"]);
  assertUserError(pasted, /pasted\.env: line 2 is not KEY=VALUE/);
  const open = await box.run(["secret", "create", "keys", "--from-dotenv", "open.env"]);
  assertUserError(open, /open\.env: line 2 opens a " quote that is never closed/);
  for (const res of [pasted, open]) {
    assert.doesNotMatch(res.stdout + res.stderr, /PASTEDVALUE|postgres|MIIEvQ|DB_URL/);
  }
});
