// Shared steps of the template tests: `nodal init` a template into a sandbox the way a new
// user would, create the secret it asks for, serve it, and call it over HTTP.
import assert from "node:assert/strict";
import { join } from "node:path";
import { request, sandbox } from "../helpers.js";

/** `nodal init TEMPLATE app` in a fresh sandbox: { box, dir, file, stdout }. */
export async function initTemplate(t, template) {
  const box = sandbox(t);
  const res = await box.run(["init", template, "app"]);
  assert.equal(res.code, 0, `nodal init ${template} app\n${res.stdout}${res.stderr}`);
  return { box, dir: join(box.dir, "app"), file: "app/app.ts", stdout: res.stdout };
}

/**
 * The `nodal secret create NAME K=… …` line that init printed, as { name, keys }; the test then
 * runs it with values of its own (the printed one takes them from the shell).
 */
export function printedSecret(stdout) {
  const m = /^ {2}nodal secret create (\S+) (.+)$/m.exec(stdout);
  assert.ok(m, `init printed no \`nodal secret create\` line:\n${stdout}`);
  return { name: m[1], keys: m[2].trim().split(/\s+/).map((pair) => pair.split("=")[0]) };
}

/** Creates the secret init asked for, after checking it asks for exactly `values`' keys. */
export async function createPrintedSecret(box, stdout, expectedName, values) {
  const { name, keys } = printedSecret(stdout);
  assert.equal(name, expectedName);
  assert.deepEqual(keys.sort(), Object.keys(values).sort());
  const res = await box.run(["secret", "create", name, ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
  assert.equal(res.code, 0, res.stderr);
}

/** `nodal serve FILE [FLAGS]` until ready: { proc, url } of its web function `api`. */
export async function serve(box, file, flags = []) {
  const proc = box.spawn(["serve", file, ...flags]);
  const [, url] = await proc.waitFor(/^ {2}api\s+(http:\/\/127\.0\.0\.1:\d+)$/m, { timeoutMs: 30_000 });
  await proc.waitFor(/ready in \d+ ms/, { timeoutMs: 30_000 });
  return { proc, url };
}

/** An HTTP call with an optional Bearer key and JSON body: { status, headers, body (parsed when JSON), text }. */
export async function call(url, { method = "GET", key, json, body, headers = {} } = {}) {
  const res = await request(url, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(json === undefined && body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: json === undefined ? body : JSON.stringify(json),
  });
  let parsed;
  try {
    parsed = res.body === "" ? undefined : JSON.parse(res.body);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text: res.body };
}

/** Asserts a JSON error response with this status. */
export function assertJSONError(res, status, what = "") {
  assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status} ${res.text}`);
  assert.match(res.headers["content-type"] ?? "", /^application\/json/, `${what}: JSON error`);
  assert.equal(typeof res.body?.error, "string", `${what}: { error } body, got ${res.text}`);
}

/** The data directory of a volume in the sandbox's NODAL_HOME. */
export const volumeData = (box, name) => join(box.home, "volumes", name, "data");
