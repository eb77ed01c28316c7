// The in-process tier: runs the built CLI's `main(argv)` in this process, as bin/nodal.cjs
// does, with its output captured instead of written to fds 1 and 2, no terminal, no colour,
// and a temporary NODAL_HOME. Fast enough to assert every byte a command prints.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const cli = require("../../dist/cli.cjs");

/** The variables a run sees: a fresh NODAL_HOME, colour off, the debug stack off (as users run). */
function pinEnv(home) {
  const saved = {};
  for (const [key, value] of Object.entries({ NODAL_HOME: home, NO_COLOR: "1", FORCE_COLOR: undefined, NODAL_DEBUG: undefined })) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** A fresh NODAL_HOME for test `t`; `nodal(argv)` runs one command there: { code, stdout, stderr }. */
export function inProcess(t) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-main-"));
  const home = join(dir, "home");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    home,
    async nodal(argv) {
      const out = { stdout: "", stderr: "" };
      const restore = pinEnv(home);
      cli.setOutput({
        stdout: { isTTY: false, write: (text) => (out.stdout += text) },
        stderr: { isTTY: false, write: (text) => (out.stderr += text) },
      });
      let code;
      try {
        code = await cli.main(argv);
      } catch (error) {
        // What bin/nodal.cjs does with a thrown error: print it per its family, pick the code.
        code = cli.exitCodeFor(error);
      } finally {
        cli.setOutput(undefined);
        restore();
      }
      return { code, ...out };
    },
  };
}

/** Times in tables (`2026-01-31 12:00:00`) as `<time>`, so the rest can be compared exactly. */
export const withoutTimes = (text) => text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, "<time>");
