// templates/rest-api from `nodal init`, served with nodal and called over HTTP.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assertJSONError, call, createPrintedSecret, initTemplate, serve, volumeData } from "./common.js";

const KEY = "key-one-Zq9xT";
const OTHER = "key-two-Wm4pL";

test("rest-api: CRUD over a volume, 401 without a key, 400 naming the bad fields, 429 past the limit", async (t) => {
  const { box, file, stdout } = await initTemplate(t, "rest-api");
  await createPrintedSecret(box, stdout, "rest-api-keys", { API_KEYS: `${KEY},${OTHER}` });
  const { url } = await serve(box, file);
  const items = `${url}/items`;
  const onDisk = (id) => join(volumeData(box, "rest-api-data"), "items", `${id}.json`);

  assert.deepEqual((await call(`${url}/health`)).body, { status: "ok" }, "health is public");

  const missing = await call(items);
  assertJSONError(missing, 401, "no key");
  assert.match(missing.headers["www-authenticate"], /^Bearer/);
  assertJSONError(await call(items, { key: "not-a-key" }), 401, "wrong key");
  assertJSONError(await call(items, { method: "POST", json: { name: "x" } }), 401, "no key on POST");

  const bad = await call(items, { method: "POST", key: KEY, json: { name: "", quantity: -1, tags: "nope" } });
  assertJSONError(bad, 400, "invalid body");
  assert.deepEqual(bad.body.fields.map((f) => f.path).sort(), ["name", "quantity", "tags"]);
  assertJSONError(await call(items, { method: "POST", key: KEY, body: "{not json" }), 400, "malformed JSON");

  // Create, read, list, update, delete.
  const created = await call(items, { method: "POST", key: KEY, json: { name: "milk", quantity: 2, extra: "dropped" } });
  assert.equal(created.status, 201, created.text);
  const { id } = created.body;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(created.headers.location, `/items/${id}`);
  assert.deepEqual({ ...created.body, id: 0, createdAt: 0, updatedAt: 0 }, { name: "milk", quantity: 2, tags: [], id: 0, createdAt: 0, updatedAt: 0 });
  assert.deepEqual(JSON.parse(readFileSync(onDisk(id), "utf8")), created.body, "one JSON file per item in the volume");

  assert.deepEqual((await call(`${items}/${id}`, { key: KEY })).body, created.body);
  const second = await call(items, { method: "POST", key: OTHER, json: { name: "eggs", tags: ["fresh"] } });
  assert.equal(second.status, 201);
  const list = await call(items, { key: KEY });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((i) => i.name).sort(), ["eggs", "milk"]);

  const updated = await call(`${items}/${id}`, { method: "PUT", key: KEY, json: { name: "oat milk", quantity: 3 } });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.name, "oat milk");
  assert.equal(updated.body.createdAt, created.body.createdAt);
  assert.deepEqual(JSON.parse(readFileSync(onDisk(id), "utf8")), updated.body);
  const badUpdate = await call(`${items}/${id}`, { method: "PUT", key: KEY, json: { quantity: 1.5 } });
  assertJSONError(badUpdate, 400, "invalid update");
  assert.deepEqual(badUpdate.body.fields.map((f) => f.path).sort(), ["name", "quantity"]);

  const unknown = "00000000-0000-4000-8000-000000000000";
  assertJSONError(await call(`${items}/${unknown}`, { key: KEY }), 404, "unknown id");
  assertJSONError(await call(`${items}/${unknown}`, { method: "PUT", key: KEY, json: { name: "x" } }), 404, "PUT unknown id");
  assertJSONError(await call(`${items}/..%2F..%2Fvolume.json`, { key: KEY }), 404, "id that is a path");
  assertJSONError(await call(`${url}/nowhere`, { key: KEY }), 404, "unknown route");

  const deleted = await call(`${items}/${id}`, { method: "DELETE", key: KEY });
  assert.equal(deleted.status, 204);
  assert.ok(!existsSync(onDisk(id)));
  assertJSONError(await call(`${items}/${id}`, { key: KEY }), 404, "deleted");
  assertJSONError(await call(`${items}/${id}`, { method: "DELETE", key: KEY }), 404, "deleted twice");

  // 60 requests a minute per key: OTHER has made one; its 60th request passes, the 61st is 429.
  let status;
  for (let i = 2; i <= 60; i++) {
    status = (await call(items, { key: OTHER })).status;
    assert.equal(status, 200, `request ${i} of key two`);
  }
  const limited = await call(items, { key: OTHER });
  assertJSONError(limited, 429, "past the limit");
  assert.ok(Number(limited.headers["retry-after"]) > 0, "Retry-After");
  assert.equal((await call(items, { key: KEY })).status, 200, "the limit is per key: key one still passes");
});
