// templates/multi-tenant from `nodal init`, served with nodal: no id string lets one tenant
// reach another's notes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request } from "../helpers.js";
import { assertJSONError, call, createPrintedSecret, initTemplate, serve, volumeData } from "./common.js";

const A = "tenant-a-key-7Hq2";
const B = "tenant-b-key-Lp9w";
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

test("multi-tenant: each API key sees only its own notes, whatever the id", async (t) => {
  const { box, file, stdout } = await initTemplate(t, "multi-tenant");
  await createPrintedSecret(box, stdout, "multi-tenant-keys", { API_KEYS: `${A},${B}` });
  const { url } = await serve(box, file);
  const notes = `${url}/notes`;

  assertJSONError(await call(notes), 401, "no key");
  const a1 = await call(notes, { method: "POST", key: A, json: { title: "A's plan", body: "secret of A" } });
  assert.equal(a1.status, 201, a1.text);
  const a2 = await call(notes, { method: "POST", key: A, json: { title: "A's other" } });
  const b1 = await call(notes, { method: "POST", key: B, json: { title: "B's plan", body: "secret of B" } });
  assert.equal(b1.status, 201, b1.text);
  const bad = await call(notes, { method: "POST", key: B, json: { body: 1 } });
  assertJSONError(bad, 400, "invalid note");
  assert.deepEqual(bad.body.fields.map((f) => f.path).sort(), ["body", "title"]);

  const listA = (await call(notes, { key: A })).body.notes.map((n) => n.id).sort();
  assert.deepEqual(listA, [a1.body.id, a2.body.id].sort());
  assert.deepEqual((await call(notes, { key: B })).body.notes.map((n) => n.id), [b1.body.id]);
  assert.equal((await call(`${notes}/${a1.body.id}`, { key: A })).body.body, "secret of A");

  // The notes live in hashed per-tenant folders: tenants/aa/bb/sha256(tenant id), the tenant id
  // being the key's public id (the first 12 hex characters of its sha256).
  const tenantA = (await call(`${url}/me`, { key: A })).body.tenant;
  assert.equal(tenantA, sha256(A).slice(0, 12));
  const hashA = sha256(tenantA);
  const dirA = join(volumeData(box, "multi-tenant-data"), "tenants", hashA.slice(0, 2), hashA.slice(2, 4), hashA);
  assert.ok(existsSync(join(dirA, "notes", `${a1.body.id}.json`)));
  assert.equal(readdirSync(join(volumeData(box, "multi-tenant-data"), "tenants")).length, 2, "two tenant trees");

  // B tries to reach A's note: by its id, and by paths that climb to it from B's folder.
  const hashB = sha256(sha256(B).slice(0, 12));
  const climb = `../../../../${hashA.slice(0, 2)}/${hashA.slice(2, 4)}/${hashA}/notes/${a1.body.id}`;
  assert.notEqual(hashA, hashB);
  const attempts = [
    a1.body.id,
    `${a1.body.id}.json`,
    encodeURIComponent(climb),
    encodeURIComponent(`${climb}.json`),
    encodeURIComponent(`../${a1.body.id}`),
    "..%2Fx",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2f%2e%2e",
    "..",
    encodeURIComponent("/etc/passwd"),
    `${a1.body.id}%00`,
    encodeURIComponent(A),
    tenantA,
  ];
  for (const id of attempts) {
    for (const method of ["GET", "DELETE"]) {
      const res = await call(`${notes}/${id}`, { method, key: B });
      assertJSONError(res, 404, `${method} /notes/${id} as B`);
      assert.doesNotMatch(res.text, /secret of A|A's/, `${method} /notes/${id} leaked A's note`);
    }
  }
  // Raw paths with dot segments, sent as they are (no client-side normalisation).
  for (const path of [`/notes/../notes/${a1.body.id}`, `/notes/${climb}`, `/notes/./${a1.body.id}`]) {
    const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${B}` } });
    assert.notEqual(res.status, 200, `GET ${path} as B: ${res.body}`);
    assert.doesNotMatch(res.body, /secret of A|A's/, `GET ${path} leaked A's note`);
  }
  // A's notes are all still there, and B's delete of its own works.
  assert.equal((await call(notes, { key: A })).body.notes.length, 2);
  assert.equal((await call(`${notes}/${b1.body.id}`, { method: "DELETE", key: B })).status, 204);
  assert.deepEqual((await call(notes, { key: B })).body.notes, []);
  assert.equal((await call(notes, { key: A })).body.notes.length, 2);
});
