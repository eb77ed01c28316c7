// templates/encrypted-storage from `nodal init`, served with nodal: no plaintext on disk,
// tampering refused, key rotation with `nodal run app.ts::rotate`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assertJSONError, call, createPrintedSecret, initTemplate, serve, volumeData } from "./common.js";

const API_KEY = "enc-api-key-4Rt8";
const PLAINTEXT = "4242-4242-PLAINTEXT-Qx7";
const newKey = () => randomBytes(32).toString("base64");

/** Every file under `dir`, with its content. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath ?? e.path, e.name), text: readFileSync(join(e.parentPath ?? e.path, e.name), "utf8") }));
}

/** The JSON result `nodal run` printed last (after the function's own output lines). */
function result(stdout) {
  const lines = stdout.split("\n");
  return JSON.parse(lines.slice(lines.lastIndexOf("{")).join("\n"));
}

test("encrypted-storage: ciphertext at rest, tampering is an error response, rotate re-encrypts", async (t) => {
  const { box, file, stdout } = await initTemplate(t, "encrypted-storage");
  const key1 = newKey();
  await createPrintedSecret(box, stdout, "encrypted-storage-keys", { API_KEYS: API_KEY, ENCRYPTION_KEY: key1 });
  const { url } = await serve(box, file);
  const records = `${url}/records`;
  const data = volumeData(box, "encrypted-storage-data");
  const fileOf = (id) => join(data, "records", `${id}.json`);

  assertJSONError(await call(`${records}/alice`), 401, "no key");
  const alice = { card: PLAINTEXT, owner: "alice", n: 1 };
  const put = await call(`${records}/alice`, { method: "PUT", key: API_KEY, json: alice });
  assert.equal(put.status, 201, put.text);
  assert.equal((await call(`${records}/alice`, { method: "PUT", key: API_KEY, json: { ...alice, n: 2 } })).status, 200);
  assert.equal((await call(`${records}/bob`, { method: "PUT", key: API_KEY, json: { card: "bob-card-Zz1" } })).status, 201);
  const got = await call(`${records}/alice`, { key: API_KEY });
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.data, { ...alice, n: 2 });
  assert.deepEqual((await call(records, { key: API_KEY })).body.records.map((r) => r.id).sort(), ["alice", "bob"]);
  assertJSONError(await call(`${records}/carol`, { key: API_KEY }), 404, "unknown record");
  assertJSONError(await call(`${records}/a.b`, { method: "PUT", key: API_KEY, json: {} }), 400, "bad id");
  assertJSONError(await call(`${records}/x`, { method: "PUT", key: API_KEY, json: [1, 2] }), 400, "not an object");

  // On disk: tokens only.
  const onDisk = filesUnder(data);
  assert.equal(onDisk.length, 2);
  for (const { path, text } of onDisk) {
    for (const clear of [PLAINTEXT, "4242", "card", "owner", "bob-card"]) assert.ok(!text.includes(clear), `${path} contains "${clear}":\n${text}`);
  }
  const stored = JSON.parse(readFileSync(fileOf("alice"), "utf8"));
  assert.match(stored.data, /^v1\./);

  // Tampered: one character of the ciphertext changed. An error, not garbage.
  const parts = stored.data.split(".");
  parts[3] = (parts[3][0] === "A" ? "B" : "A") + parts[3].slice(1);
  writeFileSync(fileOf("alice"), JSON.stringify({ ...stored, data: parts.join(".") }));
  const tampered = await call(`${records}/alice`, { key: API_KEY });
  assertJSONError(tampered, 500, "tampered record");
  assert.match(tampered.body.error, /cannot be decrypted/);
  assert.equal(tampered.body.data, undefined);
  // Moved: bob's (valid) token in alice's file is refused too: the id is sealed inside.
  const bob = JSON.parse(readFileSync(fileOf("bob"), "utf8"));
  writeFileSync(fileOf("alice"), JSON.stringify({ ...stored, data: bob.data }));
  const moved = await call(`${records}/alice`, { key: API_KEY });
  assertJSONError(moved, 500, "another record's token");
  assert.doesNotMatch(moved.text, /bob-card/);
  writeFileSync(fileOf("alice"), JSON.stringify(stored));
  assert.deepEqual((await call(`${records}/alice`, { key: API_KEY })).body.data, { ...alice, n: 2 });

  // Rotation: a new key, the old one still readable; rotate; then the new key alone reads everything.
  const key2 = newKey();
  const secret = (values) => box.run(["secret", "create", "encrypted-storage-keys", ...Object.entries(values).map(([k, v]) => `${k}=${v}`), "--force"]);
  assert.equal((await secret({ API_KEYS: API_KEY, ENCRYPTION_KEY: key2, ENCRYPTION_KEYS_OLD: `${newKey()}, ${key1}` })).code, 0);
  const rotated = await box.run(["run", `${file}::rotate`]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.deepEqual(result(rotated.stdout), { rotated: 2, unchanged: 0, unreadable: [] });
  assert.notEqual(JSON.parse(readFileSync(fileOf("alice"), "utf8")).data, stored.data);
  assert.equal(JSON.parse(readFileSync(fileOf("alice"), "utf8")).updatedAt, stored.updatedAt);

  assert.equal((await secret({ API_KEYS: API_KEY, ENCRYPTION_KEY: key2 })).code, 0);
  const again = await box.run(["run", `${file}::rotate`]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(result(again.stdout), { rotated: 0, unchanged: 2, unreadable: [] });

  // A record no key opens is reported, not touched.
  writeFileSync(fileOf("bob"), JSON.stringify({ ...bob, data: parts.join(".") }));
  const unreadable = await box.run(["run", `${file}::rotate`]);
  assert.deepEqual(result(unreadable.stdout), { rotated: 0, unchanged: 1, unreadable: ["bob"] });
  for (const { text } of filesUnder(data)) assert.ok(!text.includes(PLAINTEXT));
});
