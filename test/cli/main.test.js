import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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

test("--version prints the package's version and nothing else", async (t) => {
  const { nodal } = inProcess(t);
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.deepEqual(await nodal(["--version"]), { code: 0, stdout: `${version}\n`, stderr: "" });
});

test("bad option values are usage errors: exit 2, the option, what it takes, the pointer to --help", async (t) => {
  const { nodal } = inProcess(t);
  const usage = (line) => ({ code: 2, stdout: "", stderr: `${line}\n(run \`nodal --help\` for usage)\n` });
  assert.deepEqual(await nodal(["start", "app.ts", "--port", "abc"]), usage("error: option '--port <port>' argument 'abc' is invalid. A port is an integer from 1 to 65535."));
  assert.deepEqual(
    await nodal(["app", "logs", "nosuch", "--source", "bogus"]),
    usage("error: option '--source <stream>' argument 'bogus' is invalid. Allowed choices are stdout, stderr, system."),
  );
  assert.deepEqual(
    await nodal(["app", "logs", "nosuch", "--since", "yesterday-ish"]),
    usage("error: option '--since <time>' argument 'yesterday-ish' is invalid. Use 30m, 2h, 1d or an ISO-8601 time like 2026-01-31T12:00:00Z."),
  );
  assert.deepEqual(await nodal(["app", "run", "nodouble"]), usage('error: expected NAME::FUNCTION, got "nodouble" (e.g. `nodal app run my-app::square --input 3`)'));
});

test("what does not exist is the user's error: exit 1, an Error line and a Hint saying what to do, nothing stored", async (t) => {
  const { nodal } = inProcess(t);
  const user = (error, hint) => ({ code: 1, stdout: "", stderr: `Error: ${error}\n${hint ? `Hint: ${hint}\n` : ""}` });
  const noFile = user("app file missing.ts does not exist", "check the path, or scaffold an app with `nodal init rest-api`");
  assert.deepEqual(await nodal(["deploy", "missing.ts"]), noFile);
  assert.deepEqual(await nodal(["run", "missing.ts"]), noFile);
  const noApp = user('no app named "nosuch"', "deploy one with `nodal deploy app.ts`");
  assert.deepEqual(await nodal(["app", "stop", "nosuch"]), noApp);
  assert.deepEqual(await nodal(["app", "run", "nosuch::fn"]), noApp);
  assert.deepEqual(await nodal(["app", "history", "nosuch"]), user('no deployed app named "nosuch"', "`nodal app list` shows the apps; `nodal deploy FILE` creates versions"));
  assert.deepEqual(await nodal(["app", "rollback", "nosuch", "1"]), user('no deployed app named "nosuch"', "`nodal app list` shows the apps"));
  assert.deepEqual(await nodal(["volume", "get", "nosuch", "x"]), user('volume "nosuch" does not exist', "create it with `nodal volume create nosuch`, or see `nodal volume list`"));
  assert.deepEqual(await nodal(["secret", "delete", "nosuch"]), user('secret "nosuch" does not exist', "see the stored secrets with `nodal secret list`"));
  assert.deepEqual(await nodal(["volume", "create", ".."]), user('invalid volume name "..": use 1 to 64 characters from a-z, A-Z, 0-9, ".", "_" and "-", not only dots'));
  assert.deepEqual(await nodal(["secret", "create", "s", "NOEQUALS"]), user("argument 1 after the secret name is not KEY=VALUE", "write KEY=VALUE, e.g. `nodal secret create s API_KEY=…`"));
  assert.deepEqual(await nodal(["secret", "create", "s", "1KEY=v"]), user('invalid key "1KEY" on the command line: use letters, digits and "_", not starting with a digit', "e.g. API_KEY=…"));
  // None of them wrote anything: no app, volume or secret.
  assert.deepEqual(await nodal(["app", "list", "--json"]), { code: 0, stdout: "[]\n", stderr: "" });
  assert.equal((await nodal(["volume", "list"])).stdout, "No volumes yet. Create one with `nodal volume create NAME`.\n");
  assert.deepEqual(JSON.parse((await nodal(["secret", "list", "--json"])).stdout), []);
});
