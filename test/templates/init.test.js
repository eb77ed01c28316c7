// `nodal init`: scaffolding, the generated tsconfig, refusals; and that every template type-checks.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { assertUserError, snapshot } from "../commands/asserts.js";
import { ROOT, sandbox } from "../helpers.js";

const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TEMPLATES = ["rest-api", "scheduled-tasks", "multi-tenant", "encrypted-storage"];

/** `tsc -p PROJECT --noEmit …` (npx's tsc, without npx's start-up): { code, output }. */
async function tsc(project, ...args) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TSC, "-p", project, "--noEmit", ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    return { code: error.code, output: `${error.stdout}${error.stderr}` };
  }
}

test("init with no arguments creates ./rest-api with app.ts, README.md, tsconfig.json and says what to run", async (t) => {
  const box = sandbox(t);
  const res = await box.run(["init"]);
  assert.equal(res.code, 0, res.stderr);
  const dir = join(box.dir, "rest-api");
  assert.deepEqual(readdirSync(dir).sort(), ["README.md", "app.ts", "tsconfig.json"]);
  assert.equal(readFileSync(join(dir, "app.ts"), "utf8"), readFileSync(join(ROOT, "templates", "rest-api", "app.ts"), "utf8"));
  for (const f of ["rest-api/app.ts", "rest-api/README.md", "rest-api/tsconfig.json"]) assert.match(res.stdout, new RegExp(`^  ${f}$`, "m"));
  // The secret first, then serve: the order a new user runs them in.
  const secret = res.stdout.search(/^ {2}nodal secret create rest-api-keys API_KEYS=/m);
  const serve = res.stdout.search(/^ {2}nodal serve rest-api\/app\.ts$/m);
  assert.ok(secret > 0 && serve > secret, res.stdout);

  const { compilerOptions } = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
  assert.equal(compilerOptions.strict, true);
  assert.equal(compilerOptions.noEmit, true);
  const [dts] = compilerOptions.paths.nodal;
  assert.equal(dts, join(ROOT, "dist", "sdk", "index.d.ts"));
  assert.ok(existsSync(dts), `${dts} exists`);
});

test("init TEMPLATE DIR: each template, into any folder; a template without a secret says serve directly", async (t) => {
  const box = sandbox(t);
  for (const name of TEMPLATES) {
    const res = await box.run(["init", name, `apps/${name}`]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(existsSync(join(box.dir, "apps", name, "app.ts")));
    assert.ok(existsSync(join(box.dir, "apps", name, "README.md")));
    assert.match(res.stdout, new RegExp(`^  nodal serve apps/${name}/app\\.ts$`, "m"));
  }
  const tasks = await box.run(["init", "scheduled-tasks", "tasks"]);
  assert.doesNotMatch(tasks.stdout, /secret create/);
});

test("init refuses to overwrite: exit 1 naming the file, which is left intact, and nothing else is written", async (t) => {
  const box = sandbox(t, { "mine/README.md": "my own readme\n", "mine/notes.txt": "keep\n" });
  const before = snapshot(join(box.dir, "mine"));
  const res = await box.run(["init", "multi-tenant", "mine"]);
  assertUserError(res, /^Error: not overwriting mine\/README\.md; nothing was written$/m);
  assert.match(res.stderr, /Hint: .*nodal init multi-tenant DIR/);
  assert.deepEqual(snapshot(join(box.dir, "mine")), before, "the folder is exactly as it was");

  // The same for a second init over a complete one, and for a tsconfig.json of the user's.
  assert.equal((await box.run(["init", "hello", "again"])).code, 0);
  const again = await box.run(["init", "hello", "again"]);
  assertUserError(again, /not overwriting again\/app\.ts, again\/tsconfig\.json/);
  box.write({ "ts/tsconfig.json": "{}\n" });
  assertUserError(await box.run(["init", "rest-api", "ts"]), /not overwriting ts\/tsconfig\.json;/);
  assert.deepEqual(readdirSync(join(box.dir, "ts")), ["tsconfig.json"]);
  assert.equal(readFileSync(join(box.dir, "ts", "tsconfig.json"), "utf8"), "{}\n");

  writeFileSync(join(box.dir, "afile"), "x");
  assertUserError(await box.run(["init", "rest-api", "afile"]), /afile exists and is not a directory/);
});

test("an unknown template is exit 1 naming the valid ones; --help lists them", async (t) => {
  const box = sandbox(t);
  const res = await box.run(["init", "my-api"]);
  assertUserError(res, /^Error: unknown template "my-api"; the templates are: rest-api, scheduled-tasks, multi-tenant, encrypted-storage/m);
  assert.ok(!existsSync(join(box.dir, "my-api")));
  const help = await box.run(["init", "--help"]);
  assert.equal(help.code, 0);
  for (const name of TEMPLATES) assert.match(help.stdout, new RegExp(`^  ${name}\\s+\\S`, "m"));
  // Every folder of templates/ is offered, and nothing else.
  const folders = readdirSync(join(ROOT, "templates"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const listed = [...help.stdout.slice(help.stdout.indexOf("Templates:")).matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
  assert.deepEqual(listed.sort(), folders.sort());
});

test("every template type-checks: tsc -p templates --noEmit", async () => {
  const { code, output } = await tsc(join(ROOT, "templates"));
  assert.equal(code, 0, output);
});

test("an app made by init type-checks with its tsconfig.json alone (no node_modules next to it)", async (t) => {
  const box = sandbox(t);
  assert.equal((await box.run(["init", "encrypted-storage", "enc"])).code, 0);
  assert.ok(!existsSync(join(box.dir, "node_modules")));
  const { code, output } = await tsc(join(box.dir, "enc"), "--listFiles");
  assert.equal(code, 0, output);
  // It did check the app, against nodal's declarations and the express and zod types nodal ships.
  const files = output.split("\n");
  assert.ok(files.includes(join(box.dir, "enc", "app.ts")), output);
  assert.ok(files.includes(join(ROOT, "dist", "sdk", "index.d.ts")), output);
  assert.ok(files.some((f) => f.includes("/@types/express/")), output);
  assert.ok(files.some((f) => f.includes("/zod/")), output);
});
