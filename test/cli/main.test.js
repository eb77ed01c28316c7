import assert from "node:assert/strict";
import { test } from "node:test";
import { inProcess, withoutTimes } from "./in-process.js";

test("--help prints the usage on stdout and exits 0", async (t) => {
  const { nodal } = inProcess(t);
  const res = await nodal(["--help"]);
  assert.equal(res.code, 0);
  assert.equal(res.stderr, "");
  const lines = res.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 4), ["Usage: nodal [options] [command]", "", "Modal's serverless workflow on your own machine, for TypeScript", ""]);
  const commands = lines.slice(lines.indexOf("Commands:") + 1).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  for (const name of ["serve", "deploy", "run", "app", "volume", "secret"]) assert.ok(commands.includes(name), `${name} in ${commands}`);
});

test("an unknown command is a usage error: exit 2, commander's line and the pointer to --help", async (t) => {
  const { nodal } = inProcess(t);
  const res = await nodal(["bogus"]);
  assert.deepEqual(res, { code: 2, stdout: "", stderr: "error: unknown command 'bogus'\n(run `nodal --help` for usage)\n" });
});

test("app list on an empty home: one line saying how to start an app; --json is []", async (t) => {
  const { nodal } = inProcess(t);
  assert.deepEqual(await nodal(["app", "list"]), {
    code: 0,
    stdout: "No apps yet. Start one with `nodal serve app.ts` or `nodal deploy app.ts`.\n",
    stderr: "",
  });
  assert.deepEqual(await nodal(["app", "list", "--json"]), { code: 0, stdout: "[]\n", stderr: "" });
});

test("app show and app logs of an unknown app: the Error and Hint lines, exit 1", async (t) => {
  const { nodal } = inProcess(t);
  const expected = { code: 1, stdout: "", stderr: 'Error: no app named "nosuch"\nHint: deploy one with `nodal deploy app.ts`\n' };
  assert.deepEqual(await nodal(["app", "show", "nosuch"]), expected);
  assert.deepEqual(await nodal(["app", "logs", "nosuch"]), expected);
});

test("volume create then volume list", async (t) => {
  const { nodal } = inProcess(t);
  assert.deepEqual(await nodal(["volume", "list"]), { code: 0, stdout: "No volumes yet. Create one with `nodal volume create NAME`.\n", stderr: "" });
  assert.deepEqual(await nodal(["volume", "create", "data"]), {
    code: 0,
    stdout: [
      '✓ Created volume "data".',
      "",
      "Use it in an app:",
      '  const data = Volume.fromName("data");',
      '  app.function({ volumes: { "/data": data } }, async () => { /* data.path */ });',
      "",
    ].join("\n"),
    stderr: "",
  });
  const list = await nodal(["volume", "list"]);
  assert.deepEqual({ ...list, stdout: withoutTimes(list.stdout) }, {
    code: 0,
    stdout: "Name  Created              Files  Size\ndata  <time>  0      0 B\n",
    stderr: "",
  });
  const again = await nodal(["volume", "create", "data"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Error: volume "data" already exists\n/);
});

test("secret create then secret list show key names, never values", async (t) => {
  const { nodal } = inProcess(t);
  const created = await nodal(["secret", "create", "api-keys", "KEY=sk-live-123", "OTHER=hunter2"]);
  assert.deepEqual(created, {
    code: 0,
    stdout: [
      '✓ Created secret "api-keys" with keys KEY, OTHER',
      "",
      "Use it in an app:",
      '  app.function({ secrets: [Secret.fromName("api-keys")] }, async () => process.env.KEY);',
      "",
    ].join("\n"),
    stderr: "",
  });
  const list = await nodal(["secret", "list"]);
  assert.deepEqual({ ...list, stdout: withoutTimes(list.stdout) }, {
    code: 0,
    stdout: "Name      Keys        Created              Updated\napi-keys  KEY, OTHER  <time>  <time>\n",
    stderr: "",
  });
  const json = await nodal(["secret", "list", "--json"]);
  assert.equal(json.code, 0);
  for (const out of [created.stdout, list.stdout, json.stdout]) assert.doesNotMatch(out, /sk-live-123|hunter2/);
  assert.deepEqual(JSON.parse(json.stdout).map((s) => [s.name, s.keys]), [["api-keys", ["KEY", "OTHER"]]]);
});
