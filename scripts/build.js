#!/usr/bin/env node
// Builds dist/: tsc type-checks and writes the .d.ts files, esbuild bundles the JavaScript.
//
// Every process nodal starts (the CLI, a supervisor, each worker) pays for loading its modules,
// and Node 20's ES module loader costs about a millisecond per file here, before any code runs.
// So the code is bundled: one file per entry point, with the code that entries share in
// dist/chunks/ (esbuild's code splitting: each module is in exactly one file, so the SDK
// classes the loader checks for are the same objects the app imported).
//
// Small CommonJS packages are bundled too: Node's require() of a package from node_modules
// (resolving, reading package.json files, wrapping each file) costs 2-3 times what evaluating
// the same code from a bundle does (write-file-atomic 15 against 6 ms; proper-lockfile 20
// against 9). The rest stay in node_modules: esbuild (its binary), the packages apps also load
// (express, express-rate-limit, zod, so both get one copy), and cron-parser (360 KB with luxon,
// loaded only by apps with a Cron).
const BUNDLED = ["commander", "write-file-atomic", "proper-lockfile", "chokidar"];
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = (await import("../package.json", { with: { type: "json" } })).default;

rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}tsconfig.json`, "--emitDeclarationOnly"], { stdio: "inherit" });

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)),
  // For the require() calls of bundled CommonJS code, and `lazy(() => require("cron-parser"))`.
  banner: { js: `import { createRequire as __nodalRequire } from "node:module"; const require = __nodalRequire(import.meta.url);` },
  // write-file-atomic seeds its temporary names with __filename.
  define: { __filename: "import.meta.filename" },
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: [
    "src/cli.ts", // bin/nodal.js
    "src/sdk/index.ts", // what apps import as "nodal"
    "src/deploy/early.ts", // bin/nodal.js, before the rest of the CLI
    "src/engine/worker-main.ts", // forked by the engine
  ],
  outbase: "src",
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
});

// The supervisor (spawned by `nodal deploy`) is one file of its own: it never loads app code,
// so nothing in it has to be shared with other files. It lives as long as the app, and every
// file it loads costs resident memory: Node's loader code ran hot enough over ~10 chunks to be
// optimized by TurboFan, which touches ~4 MB of compiler code (51 MB in all; 46 as one file).
await build({ ...common, entryPoints: ["src/supervisor/main.ts"], outfile: "dist/supervisor/main.js" });
