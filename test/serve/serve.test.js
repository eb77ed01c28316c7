import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { expressApp, lib, endpoints } from "../fixtures/apps.js";
import { pidsWithHome, portIsFree, request, sandbox, waitUntil } from "../helpers.js";

async function startServe(t, files, args = []) {
  const box = sandbox(t, files);
  const proc = box.spawn(["serve", "app.ts", ...args]);
  await proc.waitFor(/ready in \d+ ms/);
  const urls = Object.fromEntries([...proc.stdout.matchAll(/^\s+(\S+)\s+(http:\/\/127\.0\.0\.1:\d+)$/gm)].map((m) => [m[1], m[2]]));
  return { box, proc, urls };
}

async function getJSON(url) {
  const res = await request(url);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body);
}

test("serve prints a URL per web function and answers GET", async (t) => {
  const { proc, urls, box } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  assert.match(urls.api, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1" });
  const list = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(list.length, 1);
  assert.equal(list[0].name, "web-test");
  assert.equal(list[0].state, "ephemeral");
  assert.equal(list[0].urls.api, urls.api);
  assert.ok(proc.stdout.includes("serving web-test"));
});

test("webEndpoint: GET gets the query, POST the JSON body, malformed JSON is a 400", async (t) => {
  const { urls } = await startServe(t, { "app.ts": endpoints });
  assert.deepEqual(await getJSON(`${urls.hello}/?name=Ada`), { hello: "Ada" });
  const post = await request(urls.echo, { method: "POST", body: { a: [1, 2] }, headers: { "content-type": "application/json" } });
  assert.equal(post.status, 200);
  assert.deepEqual(JSON.parse(post.body), { got: { a: [1, 2] } });
  const bad = await request(urls.echo, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error, /malformed JSON/);
  const wrongMethod = await request(urls.echo);
  assert.equal(wrongMethod.status, 405);
});

test("reloads on edits of the app file, an imported module and an atomic save; skips unchanged saves", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  let mark = proc.output.length;
  box.write({ "app.ts": expressApp("v2") });
  await proc.waitFor(/reloaded v2 in \d+ ms \(changed: app\.ts\)/, { from: mark });
  assert.deepEqual(await getJSON(urls.api), { reply: "v2" });

  mark = proc.output.length;
  box.write({ "lib.ts": lib("-lib") });
  await proc.waitFor(/reloaded v3 in \d+ ms \(changed: lib\.ts\)/, { from: mark });
  assert.deepEqual(await getJSON(urls.api), { reply: "v2-lib" });

  // An editor's atomic save: write a temp file, rename it over the original. Twice, since
  // watchers that follow the inode stop seeing the file after the first one.
  for (const v of ["v4", "v5"]) {
    mark = proc.output.length;
    writeFileSync(join(box.dir, "app.ts.tmp"), expressApp(v));
    renameSync(join(box.dir, "app.ts.tmp"), join(box.dir, "app.ts"));
    await proc.waitFor(new RegExp(`reloaded v${v.slice(1)} in \\d+ ms`), { from: mark });
    assert.deepEqual(await getJSON(urls.api), { reply: `${v}-lib` });
  }

  // Saving identical content reloads nothing. Seen and skipped, not missed: the edit of
  // lib.ts after it reloads alone (v6), and the next edit of app.ts (v7) comes after the
  // identical save's events (a file's events arrive in order), so a reload it caused would
  // have shown by then.
  mark = proc.output.length;
  const stdoutMark = proc.stdout.length;
  box.write({ "app.ts": expressApp("v5") });
  box.write({ "lib.ts": lib("-lib2") });
  await proc.waitFor(/reloaded v6 in \d+ ms \(changed: lib\.ts\)/, { from: mark });
  box.write({ "app.ts": expressApp("v7") });
  await proc.waitFor(/reloaded v7 in \d+ ms \(changed: app\.ts\)/, { from: mark });
  assert.deepEqual(proc.stdout.slice(stdoutMark).match(/reloaded v\d+|nothing to reload/g), ["reloaded v6", "reloaded v7"], proc.output);
  assert.deepEqual(await getJSON(urls.api), { reply: "v7-lib2" });
});

test("a file newly imported after an edit is watched too", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib(""), "extra.ts": `export const x = "-x1";\n` });
  box.write({ "lib.ts": `import { x } from "./extra";\nexport const suffix = () => x;\n` });
  await proc.waitFor(/reloaded v2/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1-x1" });
  box.write({ "extra.ts": `export const x = "-x2";\n` });
  await proc.waitFor(/reloaded v3 in \d+ ms \(changed: extra\.ts\)/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1-x2" });
});

test("a burst of 50 changed files is one reload", async (t) => {
  const files = { "app.ts": expressApp("v1").replace('import { suffix } from "./lib";', 'import { suffix } from "./lib";\nimport "./many";') };
  const many = [];
  for (let i = 0; i < 50; i++) {
    files[`m/f${i}.ts`] = `(globalThis as any).__sum = ((globalThis as any).__sum ?? 0) + ${i};\n`;
    many.push(`import "./m/f${i}";`);
  }
  files["many.ts"] = many.join("\n") + "\n";
  files["lib.ts"] = lib("");
  const { box, proc } = await startServe(t, files);
  assert.match(proc.output, /watching 53 file/);
  const burst = {};
  for (let i = 0; i < 50; i++) burst[`m/f${i}.ts`] = `(globalThis as any).__sum = ((globalThis as any).__sum ?? 0) + ${i + 100};\n`;
  box.write(burst);
  await proc.waitFor(/reloaded v2/);
  // Give a second reload every chance to show up before asserting it did not.
  box.write({ "lib.ts": lib("-after") });
  await proc.waitFor(/reloaded v3 in \d+ ms \(changed: lib\.ts\)/);
  assert.equal(proc.output.match(/reloaded v/g).length, 2, proc.output);
  assert.match(proc.output, /reloaded v2 in \d+ ms \(changed: m\/f0\.ts, m\/f1\.ts/);
});

test("a syntax error keeps the old version serving and names file and line; the fix is served", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  box.write({ "lib.ts": `export const suffix = () => (;\n` });
  await proc.waitFor(/reload failed \(still serving v1/);
  await proc.waitFor(/lib\.ts:1:\d+/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1" });
  box.write({ "lib.ts": lib("-fixed") });
  await proc.waitFor(/reloaded v2/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1-fixed" });
});

test("an error thrown while loading keeps the old version and shows the message", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  box.write({ "lib.ts": `throw new Error("lib exploded");\nexport const suffix = () => "";\n` });
  await proc.waitFor(/reload failed \(still serving v1[^]*lib exploded/);
  assert.match(proc.output, /lib\.ts:1/);
  assert.deepEqual(await getJSON(urls.api), { reply: "v1" });
});

test("a request loop across 5 reloads has no failed request", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  let failures = 0;
  let ok = 0;
  const seen = new Set();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        const res = await request(urls.api);
        if (res.status === 200) {
          ok++;
          seen.add(JSON.parse(res.body).reply);
        } else failures++;
      } catch (error) {
        failures++;
      }
    }
  })();
  for (let v = 2; v <= 6; v++) {
    box.write({ "app.ts": expressApp(`v${v}`) });
    await proc.waitFor(new RegExp(`reloaded v${v} in`));
    await waitUntil(() => seen.has(`v${v}`), { what: `v${v} served` });
  }
  stop = true;
  await loop;
  assert.equal(failures, 0);
  assert.ok(ok > 20, `only ${ok} requests`);
  assert.deepEqual([...seen].sort(), ["v1", "v2", "v3", "v4", "v5", "v6"]);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  test(`${sig} stops every process within 5 s, frees the port and marks the app stopped`, async (t) => {
    const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
    const port = Number(new URL(urls.api).port);
    assert.ok(pidsWithHome(box.home).length >= 2, "serve and its worker run");
    const started = Date.now();
    proc.signal(sig);
    const code = await proc.exit(10_000);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(code, sig === "SIGINT" ? 130 : 143);
    await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 3000, what: "no process left" });
    assert.ok(await portIsFree(port));
    const list = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
    assert.equal(list[0].state, "stopped");
    assert.ok(list[0].stoppedAt);
  });
}

test("an in-flight request finishes when serve stops", async (t) => {
  const { proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  const slow = request(`${urls.api}/slow`);
  await proc.waitFor(/slow request started/);
  proc.signal("SIGINT");
  const res = await slow;
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { slow: true });
  assert.equal(await proc.exit(10_000), 130);
});

test("--port pins the first web function; a pinned port in use is a clear error", async (t) => {
  const http = await import("node:http");
  const blocker = http.createServer(() => {});
  await new Promise((r) => blocker.listen(0, "127.0.0.1", r));
  t.after(() => blocker.close());
  const port = blocker.address().port;
  const box = sandbox(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  const res = await box.run(["serve", "app.ts", "--port", String(port)]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
  assert.match(res.stderr, /Hint: pass another --port/);
  assert.doesNotMatch(res.stderr, /\n\s+at /);
  assert.deepEqual(pidsWithHome(box.home), []);

  await new Promise((r) => blocker.close(r));
  const proc = box.spawn(["serve", "app.ts", "--port", String(port)]);
  await proc.waitFor(new RegExp(`api\\s+http://127\\.0\\.0\\.1:${port}`));
});

test("two saves 10 ms apart: the second one is served, not lost", async (t) => {
  const { box, proc, urls } = await startServe(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  box.write({ "lib.ts": lib("-first") });
  await new Promise((r) => setTimeout(r, 10));
  box.write({ "lib.ts": lib("-second") });
  await waitUntil(async () => (await getJSON(urls.api)).reply === "v1-second", { what: "the second save served" });
  assert.match(proc.output, /reloaded v\d in/);
});

test("a web request past the function's timeout gets a 504 and the worker keeps serving", async (t) => {
  const { urls } = await startServe(t, {
    "app.ts": `import express from "express";
import { App } from "nodal";
export const app = new App("slowweb");
const web = express();
web.get("/", (_req, res) => { res.json({ ok: true }); });
web.get("/hang", () => {});
export const api = app.webApp({ timeout: 1 }, () => web);
`,
  });
  const started = Date.now();
  const hung = await request(`${urls.api}/hang`, { timeoutMs: 10_000 });
  assert.equal(hung.status, 504);
  assert.match(JSON.parse(hung.body).error, /timed out after 1s/);
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(await getJSON(urls.api), { ok: true });
});
