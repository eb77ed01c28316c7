// The CLI's bundle and its V8 code cache, as bin/nodal.cjs loads them.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, sandbox } from "../helpers.js";

test("the build's code cache of the CLI is accepted by this Node", () => {
  const { rejected, main } = loadInChild(join(ROOT, "dist", "cli.cjs"));
  assert.equal(rejected, false, "V8 rejected dist/cli.cjs.cache: the build did not write it for this bundle");
  assert.equal(main, "function");
});

/** Loads a bundle as bin/nodal.cjs does, in a fresh process (V8 keeps what it compiled per process). */
function loadInChild(file) {
  const script = `const r = require(${JSON.stringify(join(ROOT, "bin", "require-bundle.cjs"))}).requireBundle(${JSON.stringify(file)});
console.log(JSON.stringify({ rejected: r.rejected, main: typeof r.exports.main }));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
}

test("a missing or foreign code cache only costs the compile: the bundle still loads", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-bundle-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A copy of the package as far as the bundle looks (it reads package.json for --version).
  mkdirSync(join(dir, "dist"));
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  const file = join(dir, "dist", "cli.cjs");
  copyFileSync(join(ROOT, "dist", "cli.cjs"), file);
  assert.deepEqual(loadInChild(file), { rejected: true, main: "function" });
  writeFileSync(`${file}.cache`, Buffer.alloc(4096, 7));
  assert.deepEqual(loadInChild(file), { rejected: true, main: "function" });
  copyFileSync(join(ROOT, "dist", "cli.cjs.cache"), `${file}.cache`);
  assert.deepEqual(loadInChild(file), { rejected: false, main: "function" });
});

test("the CLI loads no ES module loader for `app list` (it costs every command ~10 ms)", async (t) => {
  const box = sandbox(t);
  // A preload that reports, at exit, whether Node's ES module loader ever translated a module.
  const probe = join(box.dir, "probe.cjs");
  writeFileSync(
    probe,
    `process.on("exit", () => process.stderr.write("esm-loader:" + process.moduleLoadList.includes("NativeModule internal/modules/esm/translators") + "\\n"));\n`,
  );
  const res = await box.run(["app", "list", "--json"], { env: { NODE_OPTIONS: `--require ${probe}` } });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), []);
  assert.match(res.stderr, /esm-loader:false/);
});
