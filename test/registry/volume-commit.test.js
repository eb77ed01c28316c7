import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, sandbox } from "../helpers.js";

// One process committing a volume N times, printing each version it got.
const worker = `
import { Volume } from ${JSON.stringify(join(ROOT, "dist", "sdk", "index.js"))};
const v = Volume.fromName("shared", { createIfMissing: true });
const got = [];
for (let i = 0; i < Number(process.argv[2]); i++) got.push(await v.commit());
process.stdout.write(JSON.stringify(got));
`;

test("commits from 5 processes at once each get their own version: none is lost", async (t) => {
  const box = sandbox(t, { "worker.mjs": worker });
  const ok = await box.run(["volume", "create", "shared"]);
  assert.equal(ok.code, 0, ok.stderr);
  const children = Array.from({ length: 5 }, () =>
    spawn(process.execPath, [join(box.dir, "worker.mjs"), "20"], { cwd: box.dir, env: box.env, stdio: ["ignore", "pipe", "pipe"] }),
  );
  t.after(() => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
  const results = await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve, reject) => {
          let out = "";
          let err = "";
          c.stdout.on("data", (d) => (out += d));
          c.stderr.on("data", (d) => (err += d));
          const timer = setTimeout(() => c.kill("SIGKILL"), 60_000);
          c.on("exit", (code) => {
            clearTimeout(timer);
            if (code === 0) resolve(JSON.parse(out));
            else reject(new Error(`worker exited ${code}: ${err}`));
          });
        }),
    ),
  );
  const all = results.flat();
  assert.equal(all.length, 100);
  assert.equal(new Set(all).size, 100, "every commit got a distinct version");
  assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
  for (const got of results) assert.deepEqual(got, [...got].sort((a, b) => a - b), "each process sees its versions rise");
  assert.equal(JSON.parse(readFileSync(join(box.home, "volumes", "shared", "volume.json"), "utf8")).version, 100);
});
