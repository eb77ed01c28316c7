// dist/runtime.cjs: the SDK and the worker in one bundle, loaded by workers with its code cache,
// and the one instance that `import "nodal"` and `require("nodal")` hand to app code.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./helpers.js";

test("a worker's runtime, loaded with its code cache, is the SDK apps import and require as \"nodal\"", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-runtime-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "nodal"));
  // As dist/engine/worker-main.cjs loads it, then an ES module app and a CommonJS one.
  writeFileSync(join(dir, "esm-app.mjs"), `import { App, Volume } from "nodal";\nexport { App, Volume };\n`);
  writeFileSync(join(dir, "cjs-app.cjs"), `const { App } = require("nodal");\nmodule.exports = { App };\n`);
  const script = `
const r = require(${JSON.stringify(join(ROOT, "bin", "require-bundle.cjs"))}).requireBundle(${JSON.stringify(join(ROOT, "dist", "runtime.cjs"))});
const { sdk } = r.exports;
import(${JSON.stringify(join(dir, "esm-app.mjs"))}).then((esm) => {
  const cjs = require(${JSON.stringify(join(dir, "cjs-app.cjs"))});
  console.log(JSON.stringify({
    rejected: r.rejected,
    esm: esm.App === sdk.App && esm.Volume === sdk.Volume,
    cjs: cjs.App === sdk.App,
    names: Object.keys(sdk).length,
  }));
});`;
  const out = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" }));
  assert.equal(out.rejected, false, "V8 rejected dist/runtime.cjs.cache: the build did not write it for this bundle");
  assert.equal(out.esm, true, "import 'nodal' gave classes other than the worker's");
  assert.equal(out.cjs, true, "require('nodal') gave classes other than the worker's");
  assert.ok(out.names >= 20, `the SDK exports ${out.names} names`);
});

test("import \"nodal\" names every export of the SDK's type declarations", async () => {
  const sdk = await import(join(ROOT, "dist", "sdk", "index.js"));
  const { readFileSync } = await import("node:fs");
  const declared = new Set();
  const text = readFileSync(join(ROOT, "src", "sdk", "index.ts"), "utf8");
  for (const m of text.matchAll(/^export \{([^}]+)\} from/gms)) {
    for (const part of m[1].split(",")) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) declared.add(name);
    }
  }
  assert.ok(declared.size >= 10, "the test read src/sdk/index.ts's exports");
  for (const name of declared) assert.notEqual(sdk[name], undefined, `"${name}" is missing from dist/sdk/index.js`);
  assert.equal(sdk.Function, sdk.Function_);
});
