// Assertions shared by the command tests in this folder.
import assert from "node:assert/strict";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export const dataOf = (box, name) => join(box.home, "volumes", name, "data");

/** Every path under `dir` with its content (files), target (links) or "dir": a before/after snapshot. */
export function snapshot(dir, out = {}, prefix = "") {
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = join(prefix, name);
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) snapshot(dir, out, rel);
    out[rel] = st.isDirectory() ? "dir" : st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, rel))}` : readFileSync(join(dir, rel), "utf8");
  }
  return out;
}

/** A user error: exit 1, an `Error:` line, no stack trace, no "bug" line. */
export function assertUserError(res, re) {
  assert.equal(res.code, 1, `exit code; stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  assert.match(res.stderr, re);
  assert.doesNotMatch(res.stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(res.stderr, /looks like a bug/);
}

export async function ok(box, args) {
  const res = await box.run(args);
  assert.equal(res.code, 0, `nodal ${args.join(" ")}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  return res;
}

