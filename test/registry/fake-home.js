// Unit-test helpers for the registry: a temp NODAL_HOME in this process, and fake app records.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temp NODAL_HOME for this test, and a way to plant records in it. */
export function fakeHome(t) {
  const home = mkdtempSync(join(tmpdir(), "nodal-registry-"));
  const before = process.env.NODAL_HOME;
  process.env.NODAL_HOME = home;
  t.after(() => {
    if (before === undefined) delete process.env.NODAL_HOME;
    else process.env.NODAL_HOME = before;
    rmSync(home, { recursive: true, force: true });
  });
  mkdirSync(join(home, "apps"), { recursive: true });
  const plant = (file, text) => writeFileSync(join(home, "apps", file), text);
  return { home, plant };
}

/** A record whose process is long gone (pid 0x3fffff is above any pid_max in use). */
export function record(id, name, over = {}) {
  return {
    id,
    name,
    state: "deployed",
    version: 1,
    file: "/srv/app.ts",
    createdAt: "2026-01-01T00:00:00.000Z",
    stoppedAt: null,
    pid: 4194303,
    pidStart: "1",
    urls: {},
    functions: ["f"],
    ...over,
  };
}
