import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pidsWithHome, sandbox } from "../helpers.js";

/** Every user error: exit 1, the message, a hint, no stack trace, no process left. */
function assertUserError(res, box, re) {
  assert.equal(res.code, 1, `exit code; stderr:\n${res.stderr}`);
  assert.match(res.stderr, re);
  assert.doesNotMatch(res.stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(res.stderr, /looks like a bug/);
  assert.deepEqual(pidsWithHome(box.home), []);
}

test("a missing app file", async (t) => {
  const box = sandbox(t);
  for (const cmd of [["serve", "nope.ts"], ["run", "nope.ts"]]) {
    const res = await box.run(cmd);
    assertUserError(res, box, /^Error: app file nope\.ts does not exist$/m);
    assert.match(res.stderr, /Hint: .*nodal init/);
  }
});

test("an app file with no App", async (t) => {
  const box = sandbox(t, { "app.ts": `export const x = 1;\n` });
  const res = await box.run(["serve", "app.ts"]);
  assertUserError(res, box, /app\.ts exports no App/);
  assert.match(res.stderr, /export const app = new App/);
});

test("several Apps need a ::name, and a wrong ::name lists the exports", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";\nexport const one = new App("one");\nexport const two = new App("two");\n`,
  });
  assertUserError(await box.run(["serve", "app.ts"]), box, /exports 2 Apps \(one, two\)[^]*app\.ts::one/);
  assertUserError(await box.run(["serve", "app.ts::three"]), box, /no exported App or function named "three"[^]*one, two/);
});

test("a bad app name", async (t) => {
  const box = sandbox(t, { "app.ts": `import { App } from "nodal";\nexport const app = new App("bad name!");\n` });
  const res = await box.run(["serve", "app.ts"]);
  assertUserError(res, box, /invalid app name "bad name!": use 1 to 64 characters/);
  assert.match(res.stderr, /app\.ts:2/);
});

test("a bad cron expression names the function and its line", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App, Cron } from "nodal";
export const app = new App("crons");
export const nightly = app.function({ schedule: new Cron("61 * * * *") }, async () => {});
`,
  });
  const res = await box.run(["serve", "app.ts"]);
  assertUserError(res, box, /function "nightly" \(app\.ts:3:\d+\): schedule: invalid cron expression "61 \* \* \* \*"/);
});

test("out-of-range options name the function and the allowed range", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("opts");
export const slow = app.function({ timeout: 0, retries: 11 }, async () => {});
app.function({}, async () => {});
`,
  });
  const res = await box.run(["serve", "app.ts"]);
  assertUserError(res, box, /function "slow" \(app\.ts:3:\d+\): timeout must be from 1 to 86400 seconds, got 0/);
  assert.match(res.stderr, /retries must be an integer from 0 to 10/);
  assert.match(res.stderr, /a function declared at app\.ts:4:\d+ has no name/);
});

test("a build error names file, line and column with a code frame", async (t) => {
  const box = sandbox(t, { "app.ts": `import { App } from "nodal";\nexport const app = new App("x"\n` });
  const res = await box.run(["serve", "app.ts"]);
  assertUserError(res, box, /build failed:/);
  assert.match(res.stderr, /app\.ts:3:0/);
  assert.match(res.stderr, /│/);
});

test("an unknown command or option is a usage error: exit 2", async (t) => {
  const box = sandbox(t);
  const res = await box.run(["frobnicate"]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown command 'frobnicate'/);
  const res2 = await box.run(["serve", "app.ts", "--port", "99999"]);
  assert.equal(res2.code, 2);
  assert.match(res2.stderr, /A port is an integer from 1 to 65535/);
  const res3 = await box.run(["serve"]);
  assert.equal(res3.code, 2);
  assert.match(res3.stderr, /missing required argument 'file'/);
});

test("--help and --version exit 0", async (t) => {
  const box = sandbox(t);
  const help = await box.run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /serve \[options\] <file>/);
  const version = await box.run(["--version"]);
  assert.equal(version.code, 0);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.equal(version.stdout.trim(), pkg.version);
});

test("NODAL_HOME is created owner-only", async (t) => {
  const box = sandbox(t);
  const res = await box.run(["app", "list"]);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /No apps yet/);
  assert.ok(existsSync(box.home));
  const { statSync } = await import("node:fs");
  assert.equal(statSync(box.home).mode & 0o777, 0o700);
  assert.equal(statSync(join(box.home, "apps")).mode & 0o777, 0o700);
});
