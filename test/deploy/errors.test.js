// User errors found by whichever process loads the app (a worker, the supervisor) reach the
// user as themselves: the message, its hint, exit 1, never "this looks like a bug", nothing
// left running and nothing stored lost.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { pidsWithHome, sandbox, waitUntil } from "../helpers.js";

function assertUserError(res, re) {
  assert.equal(res.code, 1, `exit code; stderr:\n${res.stderr}`);
  assert.match(res.stderr, re);
  assert.doesNotMatch(res.stderr, /looks like a bug/);
  assert.doesNotMatch(res.stderr, /^\s+at /m, "no stack trace");
}

const header = `import { App, Cron, Volume, Secret } from "nodal";\nexport const app = new App("errs");\n`;

const cases = [
  {
    what: "a throw at import, with a code frame of the user's line",
    body: `function boom(): never {\n  throw new Error("kaboom at import");\n}\nboom();\nexport const f = app.function({}, async () => 1);\n`,
    re: /^Error: app\.ts:4:9: Error: kaboom at import\n {2}2 \| [^\n]*\n {2}3 \| function boom\(\): never \{\n> 4 \| {3}throw new Error\("kaboom at import"\);\n {4}\| {9}\^$/m,
  },
  { what: "a 7-field cron", body: `export const f = app.function({ schedule: new Cron("0 0 0 * * * *") }, async () => 1);\n`, re: /function "f" \(app\.ts:3:\d+\): schedule: .*expected 5 fields/ },
  ...[0, 65536, -1, 1.5].map((port) => ({
    what: `port: ${port}`,
    body: `export const web = app.webEndpoint({ port: ${port} }, async () => ({}));\n`,
    re: /function "web" \(app\.ts:3:\d+\): port must be an integer from 1 to 65535/,
    hint: true,
  })),
  {
    what: "a missing volume",
    body: `const v = Volume.fromName("nope-vol");\nexport const f = app.function({ volumes: { "/d": v } }, async () => 1);\n`,
    re: /app\.ts:3:\d+: NotFoundError: volume "nope-vol" does not exist; create it with `nodal volume create nope-vol`/,
  },
  {
    what: "a missing secret key",
    body: `const s = Secret.fromDict({ A: "1" });\nconst k = Secret.fromName("keys", { requiredKeys: ["API_KEY"] });\nexport const f = app.function({ secrets: [s, k] }, async () => 1);\n`,
    re: /secret "keys" does not exist; create it with `nodal secret create keys KEY=VALUE`/,
  },
  { what: "two Apps in one file", body: `export const other = new App("other");\n`, re: /app\.ts exports 2 Apps \(app, other\)/, hint: true },
  { what: "no App", file: `export const x = 1;\n`, re: /app\.ts exports no App/, hint: true },
];

for (const c of cases) {
  test(`first deploy, serve and run report ${c.what} as the user's error`, async (t) => {
    const box = sandbox(t, { "app.ts": c.file ?? header + c.body });
    for (const cmd of [["deploy", "app.ts"], ["serve", "app.ts"], ["run", "app.ts"]]) {
      const res = await box.run(cmd, { timeoutMs: 60_000 });
      assertUserError(res, c.re);
      if (c.hint) assert.match(res.stderr, /^Hint: /m, `${cmd[0]}: a hint`);
    }
    assert.deepEqual(pidsWithHome(box.home), []);
    const list = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
    assert.deepEqual(list.filter((a) => a.state === "deployed"), []);
  });
}

test("a pinned port in use is the user's error on a first deploy", async (t) => {
  const holder = createServer();
  await new Promise((r) => holder.listen(0, "127.0.0.1", r));
  t.after(() => holder.close());
  const { port } = holder.address();
  const box = sandbox(t, { "app.ts": `${header}export const web = app.webEndpoint({ port: ${port} }, async () => ({}));\n` });
  const res = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assertUserError(res, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
  // deploy has no --port: the hint points at the file's port: instead.
  assert.match(res.stderr, new RegExp(`^Hint: change \`port: ${port}\` of "web" in app\\.ts, or stop what holds it`, "m"));
  assert.doesNotMatch(res.stderr, /--port/);
  await waitUntil(() => pidsWithHome(box.home).length === 0, { what: "the failed supervisor to exit" });
});

test("a failing redeploy names the user's file, never the snapshot under NODAL_HOME", async (t) => {
  const box = sandbox(t, { "app.ts": `${header}export const f = app.function({}, async () => 1);\n` });
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  box.write({ "app.ts": `${header}throw new TypeError("bad v2");\nexport const f = app.function({}, async () => 1);\n` });
  const res = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assertUserError(res, /^Error: v2 of "errs" failed to start: app\.ts:3:7: TypeError: bad v2$/m);
  assert.doesNotMatch(res.stderr, /deployments|\.nodal-home/);
  assert.match(res.stderr, /^> 3 \| throw new TypeError/m);
  assert.match(res.stderr, /^Hint: v1 is still serving/m);
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(rec.state, "deployed");
  assert.equal(rec.version, 1);
});

test("a supervisor killed during a redeploy is reported as unreachable, not as a bug", async (t) => {
  const slow = `${header}console.log("v2 loading");\nawait new Promise((r) => setTimeout(r, 3000));\nexport const f = app.function({}, async () => 2);\n`;
  const box = sandbox(t, { "app.ts": `${header}export const f = app.function({}, async () => 1);\n` });
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  const show = JSON.parse((await box.run(["app", "show", "errs", "--json"])).stdout);
  box.write({ "app.ts": slow });
  const redeploy = box.spawn(["deploy", "app.ts"]);
  // The new version is being activated once its import prints (then it waits 3 s).
  await waitUntil(async () => (await box.run(["app", "logs", "errs", "--search", "v2 loading"])).stdout.includes("v2 loading"), { what: "the new version loading" });
  process.kill(show.pids.supervisor, "SIGKILL");
  const code = await redeploy.exit(30_000);
  assertUserError({ code, stderr: redeploy.stderr }, /^Error: (v2 of "errs" failed to start: )?the app did not answer "activate": it closed the connection without answering$/m);
  assert.match(redeploy.stderr, /^Hint: it may have stopped or crashed meanwhile/m);
});
