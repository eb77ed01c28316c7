// bin/: `nodal` (bin/nodal) and the CLI's bundle with its V8 code cache, as bin/nodal.cjs loads it.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { certsApp } from "../fixtures/apps.js";
import { ROOT, request, sandbox } from "../helpers.js";

test("the build's code cache of the CLI is accepted by this Node", () => {
  const { rejected, main } = loadInChild(join(ROOT, "dist", "cli.cjs"));
  assert.equal(rejected, false, "V8 rejected dist/cli.cjs.cache: the build did not write it for this bundle");
  assert.equal(main, "function");
});

/**
 * Loads a bundle as bin/nodal.cjs does, in a fresh process (V8 keeps what it compiled per
 * process), run with `nodeArgs`.
 */
function loadInChild(file, nodeArgs = []) {
  const script = `const r = require(${JSON.stringify(join(ROOT, "bin", "require-bundle.cjs"))}).requireBundle(${JSON.stringify(file)});
console.log(JSON.stringify({ rejected: r.rejected, main: typeof r.exports.main }));`;
  return JSON.parse(execFileSync(process.execPath, [...nodeArgs, "-e", script], { encoding: "utf8" }));
}

test("the code cache under another V8 (as after switching Node versions) is rejected, and the CLI still runs", (t) => {
  // V8 accepts a cache only from its own version with the same flags; other flags stand in
  // for another Node here.
  const otherV8 = ["--no-flush-bytecode"];
  assert.deepEqual(loadInChild(join(ROOT, "dist", "cli.cjs"), otherV8), { rejected: true, main: "function" });
  const home = mkdtempSync(join(tmpdir(), "nodal-home-"));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const out = execFileSync(process.execPath, [...otherV8, join(ROOT, "bin", "nodal.cjs"), "app", "list", "--json"], {
    env: { ...process.env, NODAL_HOME: home },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(out), []);
});

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

test("`app list` loads neither the ES module loader, child_process nor the stdio streams beyond what bare node loads (each costs every command ms)", async (t) => {
  const box = sandbox(t);
  // A preload that reports, at exit, which of those modules Node loaded: the ES module loader
  // is running once it has translated a module or made a job to import one. It writes with
  // write(2): process.stderr would load net itself.
  const probe = join(box.dir, "probe.cjs");
  writeFileSync(
    probe,
    `process.on("exit", () => {
  const watched = ["internal/modules/esm/translators", "internal/modules/esm/module_job", "child_process", "net"];
  const loaded = watched.filter((m) => process.moduleLoadList.includes("NativeModule " + m));
  require("node:fs").writeSync(2, JSON.stringify(loaded) + "\\n");
});\n`,
  );
  const env = { NODE_OPTIONS: `--require ${probe}` };
  // The floor: an empty CommonJS file under the same node. Node 24 starts its ES module loader
  // before any preload runs, for every program; Node 20 and 22 only when something is imported.
  const bare = join(box.dir, "bare.cjs");
  writeFileSync(bare, "");
  const floorRun = spawnSync(process.execPath, [bare], { env: { ...box.env, ...env }, encoding: "utf8", timeout: 30_000 });
  assert.equal(floorRun.status, 0, floorRun.stderr);
  const floor = JSON.parse(floorRun.stderr);
  const res = await box.run(["app", "list", "--json"], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), []);
  const loaded = JSON.parse(res.stderr);
  assert.deepEqual(loaded.filter((m) => !floor.includes(m)), [], `bare node loads ${JSON.stringify(floor)}`);
});

/** The environment a process was started with (/proc: what exec gave it, whatever it set since). */
function startEnv(pid) {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

test("`nodal` starts the CLI without NODE_EXTRA_CA_CERTS (Node parses it at start-up); the app's workers get it", async (t) => {
  const box = sandbox(t, certsApp);
  const certs = join(box.dir, "extra.pem");
  // Through a link, as `npm link` or a global install puts it on PATH.
  mkdirSync(join(box.dir, "bin"));
  const link = join(box.dir, "bin", "nodal");
  symlinkSync(join(ROOT, "bin", "nodal"), link);
  const serve = async (bin) => {
    const proc = box.spawn(["serve", "app.ts"], { env: { NODE_EXTRA_CA_CERTS: certs }, bin });
    await proc.waitFor(/ready in \d+ ms/);
    const url = proc.stdout.match(/^\s+api\s+(http:\/\/127\.0\.0\.1:\d+)$/m)[1];
    const env = startEnv(proc.pid);
    const body = JSON.parse((await request(url)).body);
    await proc.kill();
    return { env, body };
  };
  const wrapped = await serve(link);
  assert.equal(wrapped.env.NODE_EXTRA_CA_CERTS, undefined, "the CLI started without it");
  assert.equal(wrapped.env.NODAL_EXTRA_CA_CERTS, certs);
  assert.deepEqual(wrapped.body, { certs });
  // Without the script (node bin/nodal.cjs), Node gets the variable as it was.
  const direct = await serve(undefined);
  assert.equal(direct.env.NODE_EXTRA_CA_CERTS, certs);
  assert.deepEqual(direct.body, { certs });
});

test("`nodal` passes arguments and the exit code through", async (t) => {
  const box = sandbox(t);
  const bin = join(ROOT, "bin", "nodal");
  const ok = await box.run(["app", "list", "--json"], { bin });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), []);
  const bad = await box.run(["app", "stop", "no such app"], { bin });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: no app named "no such app"/m);
  const usage = await box.run(["app", "list", "--bogus"], { bin });
  assert.equal(usage.code, 2);
});

test("output to a reader that has gone (`nodal … | head`) ends the CLI quietly", async (t) => {
  const box = sandbox(t);
  for (const args of [["--help"], ["app", "list"]]) {
    const p = box.spawn(args);
    p.child.stdout.destroy(); // the reading end closes before the CLI has written anything
    assert.equal(await p.exit(), 0, p.stderr);
    assert.doesNotMatch(p.stderr, /EPIPE|Unhandled|at /);
  }
});
