#!/usr/bin/env node
// Builds dist/: tsc type-checks and writes the .d.ts files, esbuild bundles the JavaScript.
//
// Every process nodal starts (the CLI, a supervisor, each worker) pays for loading its modules,
// and Node 20's ES module loader costs about a millisecond per file here, before any code runs.
// So the code is bundled, and as CommonJS: Node 20 starts its ES module loader only when
// something is imported, and that loader costs ~10 ms of start-up on an idle machine (`nodal
// app list` 68 against 90 ms, with `node -e 0` at 42) and ~2 MB of a long-lived supervisor's
// memory. (Node 24 starts that loader for every program, before any of ours runs: there the
// format saves little at start.) The bundles, one self-contained file each:
//
// - dist/cli.cjs, the CLI (bin/nodal.cjs), and dist/supervisor/main.cjs, a deployed app's
//   supervisor: the processes that never load app code.
// - dist/runtime.cjs: what runs app code, the SDK and the worker process in one file (see
//   src/runtime.ts), so a worker holds one copy of each SDK class. Apps reach it through
//   dist/sdk/index.js, a small ES module written below that hands on its exports, or
//   dist/sdk/index.cjs. A worker starts from dist/engine/worker-main.cjs, which loads it with
//   its code cache.
//
// Small CommonJS packages are bundled too: Node's require() of a package from node_modules
// (resolving, reading package.json files, wrapping each file) costs 2-3 times what evaluating
// the same code from a bundle does (proper-lockfile 20 against 9 ms). The rest stay in
// node_modules: esbuild (its binary), the packages apps also load (express, express-rate-limit,
// zod, so both get one copy), and cron-parser (360 KB with luxon, loaded only by apps with a Cron).
const BUNDLED = ["commander", "proper-lockfile", "chokidar", "prom-client"];
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = (await import("../package.json", { with: { type: "json" } })).default;

rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}tsconfig.json`, "--emitDeclarationOnly"], { stdio: "inherit" });

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20.19",
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)),
  logLevel: "warning",
};

// commander requires node:child_process as it loads, for subcommands run as executables of
// their own (nodal has none); loading that module costs every command ~3 ms (`app list` 60
// against 57 ms). commander gets a stand-in that loads it on first use.
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(build) {
    const commander = `${sep}node_modules${sep}commander${sep}`;
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(commander) ? { path: "child_process", namespace: "lazy" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lazy" }, () => ({
      contents: `let m; module.exports = new Proxy({}, { get: (_, key) => (m ??= require("node:child_process"))[key] });`,
      loader: "js",
    }));
  },
};

// One self-contained file per entry (a module in both has a copy of its state in each).
for (const [entry, outfile] of [
  ["src/cli.ts", "dist/cli.cjs"], // bin/nodal.cjs
  // Spawned by `nodal deploy`. It lives as long as the app, and all it loads stays resident.
  ["src/supervisor/main.ts", "dist/supervisor/main.cjs"],
  // Loaded by bin/nodal.cjs before the CLI for `nodal start`: forks its first worker.
  ["src/engine/prefork.ts", "dist/engine/prefork.cjs"],
]) {
  await build({
    ...common,
    format: "cjs",
    entryPoints: [entry],
    outfile,
    define: { "import.meta.filename": "__filename" },
    // `await import("node:fs/promises")` as a require(): an import() would start the ES module
    // loader these bundles are CommonJS to avoid.
    supported: { "dynamic-import": false },
    plugins: [lazyChildProcess],
  });
}

// What runs app code. Their import() calls stay: a worker imports the app's build (an ES
// module) with one. (The runtime's local modules are part of its bundle all the same, loaded on
// first use.)
for (const [entry, outfile] of [
  // The SDK and the worker (src/runtime.ts).
  ["src/runtime.ts", "dist/runtime.cjs"],
  // What every worker process starts with: it loads dist/runtime.cjs and lends it its import().
  ["src/engine/worker-boot.ts", "dist/engine/worker-main.cjs"],
]) {
  await build({ ...common, format: "cjs", entryPoints: [entry], outfile, define: { "import.meta.filename": "__filename" } });
}
// What apps import as "nodal": the runtime's `sdk`, by name, from an ES module (dist/sdk/index.js)
// and from CommonJS (dist/sdk/index.cjs). The ES module takes it through index.cjs, whose
// `module.exports = sdk` names nothing that Node's scan of CommonJS exports would go on to
// read the 200 KB runtime for.
{
  const { writeFileSync } = await import("node:fs");
  const { createRequire } = await import("node:module");
  const names = Object.keys(createRequire(import.meta.url)(`${root}dist/runtime.cjs`).sdk).sort();
  writeFileSync(
    `${root}dist/sdk/index.cjs`,
    `"use strict";\n// What apps import as "nodal" (see scripts/build.js).\nconst { sdk } = require("../runtime.cjs");\nmodule.exports = sdk;\n`,
  );
  writeFileSync(
    `${root}dist/sdk/index.js`,
    `// What apps import as "nodal" (see scripts/build.js).\nimport sdk from "./index.cjs";\n` +
      names.map((name, i) => `const _${i} = sdk[${JSON.stringify(name)}];\n`).join("") +
      `export { ${names.map((name, i) => `_${i} as ${name}`).join(", ")} };\n`,
  );
}

// The dashboard's front end (plain JavaScript with uPlot for its charts): one script, one
// stylesheet and its page, served by `nodal dashboard` from dist/dashboard/.
await build({
  absWorkingDir: root,
  bundle: true,
  minify: true,
  platform: "browser",
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  entryPoints: { app: "src/dashboard/ui/main.js" },
  outdir: "dist/dashboard",
  logLevel: "warning",
});
await build({ absWorkingDir: root, bundle: true, minify: true, entryPoints: { app: "src/dashboard/ui/style.css" }, outdir: "dist/dashboard", logLevel: "warning" });
const { copyFileSync } = await import("node:fs");
copyFileSync(`${root}src/dashboard/ui/index.html`, `${root}dist/dashboard/index.html`);

// Every module of src/ on its own, unbundled, for the unit tests (test/ mirrors src/): a test
// imports the one module it is about (dist/modules/engine/front-door.js) and fakes its seams.
// Nothing at run time loads these.
const { readdirSync } = await import("node:fs");
const sources = readdirSync(`${root}src`, { recursive: true }).filter((f) => f.endsWith(".ts")).map((f) => `src/${f}`);
await build({
  absWorkingDir: root,
  platform: "node",
  target: common.target,
  // Unbundled, esbuild warns about every require() in an ES module; the banner provides one.
  logLevel: "error",
  format: "esm",
  entryPoints: sources,
  outbase: "src",
  outdir: "dist/modules",
  banner: { js: `import { createRequire as __nodalRequire } from "node:module"; const require = __nodalRequire(import.meta.url);` },
});

// V8's code caches of the CLI bundle and the runtime (bin/nodal.cjs and every worker load them),
// written after a command ran, so the CLI's holds the functions every command compiles
// (commander's, the registry's) besides the top level; the runtime's holds its top level.
const home = mkdtempSync(join(tmpdir(), "nodal-build-"));
try {
  execFileSync(process.execPath, [`${root}bin/nodal.cjs`, "app", "list"], {
    env: { ...process.env, NODAL_HOME: home, NODAL_WRITE_CODE_CACHE: "1" },
    stdio: "ignore",
  });
} finally {
  rmSync(home, { recursive: true, force: true });
}
