import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";
import { assertUserError } from "./asserts.js";

const VALUE = "s3cr3t-value-Zq9";
const OTHER = "0ther-value-Kx7";
const fileOf = (box, name) => join(box.home, "secrets", `${name}.json`);

/** Runs the CLI and remembers every output, so a test can check that no value was ever printed. */
function cli(box) {
  const outputs = [];
  const run = async (args) => {
    const res = await box.run(args);
    outputs.push({ args, text: res.stdout + res.stderr });
    return res;
  };
  const assertNoValues = (...values) => {
    assert.ok(outputs.length > 0);
    for (const { args, text } of outputs) {
      for (const v of values) assert.ok(!text.includes(v), `a value was printed by nodal ${args.join(" ")}:\n${text}`);
    }
  };
  return { run, outputs, assertNoValues };
}

async function ok(run, args) {
  const res = await run(args);
  assert.equal(res.code, 0, `nodal ${args.join(" ")}\n${res.stderr}`);
  return res;
}

test("create stores owner-only; list shows keys and dates, never values; delete needs --yes", async (t) => {
  const box = sandbox(t);
  const { run, assertNoValues } = cli(box);
  const created = await ok(run, ["secret", "create", "keys", `API_KEY=${VALUE}`, `URL=${OTHER}=with=equals`]);
  assert.match(created.stdout, /Created secret "keys" with keys API_KEY, URL/);
  assert.equal(statSync(fileOf(box, "keys")).mode & 0o777, 0o600);
  assert.equal(statSync(join(box.home, "secrets")).mode & 0o777, 0o700);
  assert.equal(statSync(box.home).mode & 0o777, 0o700);
  const stored = JSON.parse(readFileSync(fileOf(box, "keys"), "utf8"));
  assert.deepEqual(stored.values, { API_KEY: VALUE, URL: `${OTHER}=with=equals` });
  assert.equal(stored.name, "keys");
  assert.equal(stored.createdAt, stored.updatedAt);

  const list = JSON.parse((await ok(run, ["secret", "list", "--json"])).stdout);
  assert.deepEqual(list, [{ name: "keys", keys: ["API_KEY", "URL"], createdAt: stored.createdAt, updatedAt: stored.updatedAt }]);
  assert.match((await ok(run, ["secret", "list"])).stdout, /^Name\s+Keys\s+Created\s+Updated\nkeys\s+API_KEY, URL\s/);

  const refused = await run(["secret", "delete", "keys"]);
  assertUserError(refused, /not deleting secret "keys"/);
  assert.match(refused.stderr, /Hint: .*nodal secret delete keys --yes/);
  assert.deepEqual(JSON.parse(readFileSync(fileOf(box, "keys"), "utf8")), stored, "intact after the refusal");
  await ok(run, ["secret", "delete", "keys", "--yes"]);
  assert.ok(!existsSync(fileOf(box, "keys")));
  assertUserError(await run(["secret", "delete", "keys", "--yes"]), /^Error: secret "keys" does not exist$/m);
  assert.deepEqual(JSON.parse((await ok(run, ["secret", "list", "--json"])).stdout), []);
  assertNoValues(VALUE, OTHER);
});

test("an existing secret is replaced only with --force", async (t) => {
  const box = sandbox(t);
  const { run, assertNoValues } = cli(box);
  await ok(run, ["secret", "create", "keys", `API_KEY=${VALUE}`]);
  const before = readFileSync(fileOf(box, "keys"), "utf8");
  assertUserError(await run(["secret", "create", "keys", `API_KEY=${OTHER}`]), /^Error: secret "keys" already exists; pass --force to replace it$/m);
  assert.equal(readFileSync(fileOf(box, "keys"), "utf8"), before, "byte for byte intact");

  const replaced = await ok(run, ["secret", "create", "keys", `TOKEN=${OTHER}`, "--force"]);
  assert.match(replaced.stdout, /Replaced secret "keys" with key TOKEN/);
  const old = JSON.parse(before);
  const now = JSON.parse(readFileSync(fileOf(box, "keys"), "utf8"));
  assert.deepEqual(now.values, { TOKEN: OTHER }, "--force replaces the whole secret");
  assert.equal(now.createdAt, old.createdAt);
  assert.ok(now.updatedAt >= old.updatedAt);
  assert.equal(statSync(fileOf(box, "keys")).mode & 0o777, 0o600);
  assertNoValues(VALUE, OTHER);
});

test("--from-dotenv, with KEY=VALUE pairs winning", async (t) => {
  const box = sandbox(t, { ".env": `# comment\nAPI_KEY=${VALUE}\nQUOTED="${OTHER} spaced"\n` });
  const { run, assertNoValues } = cli(box);
  await ok(run, ["secret", "create", "env", "--from-dotenv", ".env", "EXTRA=1"]);
  assert.deepEqual(JSON.parse(readFileSync(fileOf(box, "env"), "utf8")).values, { API_KEY: VALUE, QUOTED: `${OTHER} spaced`, EXTRA: "1" });
  await ok(run, ["secret", "create", "env", "--from-dotenv", ".env", "API_KEY=override", "--force"]);
  assert.equal(JSON.parse(readFileSync(fileOf(box, "env"), "utf8")).values.API_KEY, "override");
  assertUserError(await run(["secret", "create", "other", "--from-dotenv", "missing.env"]), /dotenv file missing\.env cannot be read/);
  assert.ok(!existsSync(fileOf(box, "other")));
  assertNoValues(VALUE, OTHER);
});

test("bad input is refused with exit 1, and what was stored before is intact", async (t) => {
  const box = sandbox(t, { "empty.env": "# nothing\n" });
  const { run, assertNoValues } = cli(box);
  await ok(run, ["secret", "create", "keys", `API_KEY=${VALUE}`]);
  const before = readFileSync(fileOf(box, "keys"), "utf8");
  const cases = [
    [["secret", "create", "keys", OTHER, "--force"], /argument 1 after the secret name is not KEY=VALUE/],
    [["secret", "create", "keys", `1BAD=${OTHER}`, "--force"], /invalid key "1BAD"/],
    [["secret", "create", "keys", `MY-KEY=${OTHER}`, "--force"], /invalid key "MY-KEY"/],
    [["secret", "create", "keys", `=${OTHER}`, "--force"], /invalid key ""/],
    [["secret", "create", "keys", "--force"], /no values given for secret "keys"/],
    [["secret", "create", "keys", "--from-dotenv", "empty.env", "--force"], /no values given/],
    [["secret", "create", "bad name", `A=${OTHER}`], /invalid secret name "bad name"/],
    [["secret", "create", "../escape", `A=${OTHER}`], /invalid secret name/],
    [["secret", "delete", "nope", "--yes"], /secret "nope" does not exist/],
  ];
  for (const [args, re] of cases) {
    assertUserError(await run(args), re);
    assert.equal(readFileSync(fileOf(box, "keys"), "utf8"), before, `intact after: ${args.join(" ")}`);
  }
  assert.equal(JSON.parse((await ok(run, ["secret", "list", "--json"])).stdout).length, 1, "nothing else was stored");
  assert.ok(!existsSync(join(box.home, "escape.json")));
  assertNoValues(VALUE, OTHER);
});

test("a damaged secret file is listed by name, and its content is never quoted", async (t) => {
  const box = sandbox(t);
  const { run, assertNoValues } = cli(box);
  await ok(run, ["secret", "create", "good", "A=1"]);
  box.write({ [join(".nodal-home", "secrets", "broken.json")]: `{"values": {"API_KEY": "${VALUE}"` });
  const list = JSON.parse((await ok(run, ["secret", "list", "--json"])).stdout);
  assert.deepEqual(list.map((s) => [s.name, s.keys]), [["broken", []], ["good", ["A"]]]);
  await ok(run, ["secret", "list"]);
  assertUserError(await run(["secret", "create", "broken", "B=2"]), /secret "broken" already exists/);
  assertNoValues(VALUE);
});
