import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { expressApp, lib } from "../fixtures/apps.js";
import { request, sandbox } from "../helpers.js";

async function startServe(box, args = []) {
  const proc = box.spawn(["serve", "app.ts", ...args]);
  await proc.waitFor(/ready in \d+ ms/);
  return proc;
}

const padApp = `
import express from "express";
import leftPad from "left-pad";
import { App } from "nodal";
export const app = new App("web-test");
const web = express();
web.get("/", (_req, res) => { res.json({ reply: leftPad("v2", 4, "_") }); });
export const api = app.webApp({}, () => web);
`;

/** What \`npm install left-pad\` leaves in the app's folder: the package first, then package.json and the lockfile. */
const installed = {
  "node_modules/left-pad/package.json": JSON.stringify({ name: "left-pad", version: "1.3.0", main: "index.js" }),
  "node_modules/left-pad/index.js": `module.exports = (s, n, c = " ") => String(s).padStart(n, c);\n`,
};
const saved = {
  "package.json": JSON.stringify({ dependencies: { "left-pad": "^1.3.0" } }, null, 2),
  "package-lock.json": JSON.stringify({ lockfileVersion: 3, packages: { "node_modules/left-pad": { version: "1.3.0" } } }, null, 2),
};

test("an import of a package that is not installed says `npm install NAME`; installing it reloads", async (t) => {
  const box = sandbox(t, { "app.ts": expressApp("v1"), "lib.ts": lib("") });
  const proc = await startServe(box);
  const url = proc.stdout.match(/api\s+(http:\/\/\S+)/)[1];
  const mark = proc.output.length;
  box.write({ "app.ts": padApp });
  await proc.waitFor(/reload failed \(still serving v1; changed: app\.ts\)/, { from: mark });
  await proc.waitFor(/Install it in the app's folder: npm install left-pad/, { from: mark });
  assert.match(proc.output.slice(mark), /Could not resolve "left-pad": the package "left-pad" is not installed/);
  assert.doesNotMatch(proc.output, /mark the path .* as external/);
  assert.deepEqual(JSON.parse((await request(url)).body), { reply: "v1" });

  box.write(installed);
  box.write(saved);
  // Usually one reload names both files; on a loaded machine the lockfile's write may come
  // after the quiet period, and is then a round of its own (an identical build).
  await proc.waitFor(/reloaded v2 in \d+ ms \(changed: (package-lock\.json, )?package\.json\)/);
  assert.deepEqual(JSON.parse((await request(url)).body), { reply: "__v2" });
});

test("a missing package at the first build is a user error with the install command", async (t) => {
  const box = sandbox(t, { "sub/app.ts": padApp });
  const res = await box.run(["serve", "sub/app.ts"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /Could not resolve "left-pad": the package "left-pad" is not installed/);
  assert.match(res.stderr, /Install it in the app's folder: cd sub && npm install left-pad/);
  assert.doesNotMatch(res.stderr, /This looks like a bug/);
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test("serve --port N when the file pins port: one line says the file's port wins", async (t) => {
  const pinned = await freePort();
  const flag = await freePort();
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("pinned");
export const hello = app.webEndpoint({ port: ${pinned} }, () => ({ hi: true }));
`,
  });
  const proc = await startServe(box, ["--port", String(flag)]);
  const notes = proc.output.match(/--port .*/g);
  assert.deepEqual(notes, [`--port ${flag} is ignored: hello pins port: ${pinned} in app.ts, and the file's port wins`]);
  assert.match(proc.stdout, new RegExp(`hello\\s+http://127\\.0\\.0\\.1:${pinned}\\n`));
  assert.deepEqual(JSON.parse((await request(`http://127.0.0.1:${pinned}/`)).body), { hi: true });

  // Without the flag, or with the same port, nothing is said.
  const same = sandbox(t, { "app.ts": `import { App } from "nodal";\nexport const app = new App("pinned2");\nexport const hello = app.webEndpoint({}, () => ({ hi: true }));\n` });
  const plain = await startServe(same, ["--port", String(flag)]);
  assert.doesNotMatch(plain.output, /is ignored/);
});
