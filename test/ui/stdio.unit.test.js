import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { waitUntil } from "../helpers.js";

const STDIO = new URL("../../dist/modules/ui/stdio.js", import.meta.url).href;

/** Runs `code` (an ES module importing ui/stdio as `io`) in a child whose stdout this test reads only when told. */
function child(t, code) {
  const c = spawn(process.execPath, ["--input-type=module", "-e", `import * as io from ${JSON.stringify(STDIO)};\n${code}`], { stdio: ["ignore", "pipe", "pipe"] });
  const state = { stdout: "", stderr: "", code: undefined };
  c.stderr.on("data", (d) => (state.stderr += d));
  c.on("close", (code) => (state.code = code));
  t.after(() => c.kill("SIGKILL"));
  state.read = () => c.stdout.on("data", (d) => (state.stdout += d));
  state.closeReader = () => c.stdout.destroy();
  return state;
}

test("a full non-blocking pipe: write returns at once, and every byte arrives in order once the reader reads", async (t) => {
  const c = child(
    t,
    `process.stdout; // Node's stream for a pipe makes the descriptor non-blocking (libuv)
io.stdout.write("a".repeat(1 << 20));
process.stderr.write("returned\\n");
io.stdout.write("b\\n");`,
  );
  // Nobody reads yet: the pipe (64 KiB) is full long before 1 MiB is written. A writer that
  // waited for room here would never say "returned".
  await waitUntil(() => c.stderr.includes("returned") || c.code !== undefined, { timeoutMs: 10_000, what: `"returned" (stderr: ${c.stderr})` });
  assert.equal(c.stderr, "returned\n");
  c.read();
  await waitUntil(() => c.code !== undefined, { timeoutMs: 10_000, what: "the child's exit" });
  assert.equal(c.code, 0);
  assert.ok(c.stdout === "a".repeat(1 << 20) + "b\n", `${c.stdout.length} bytes, ending ${JSON.stringify(c.stdout.slice(-4))}`);
});

test("a reader that has gone: the write throws OutputClosedError (the bin entry exits 0 on it), nothing exits the process", async (t) => {
  const c = child(
    t,
    `try {
  for (let i = 0; i < 100; i++) io.stdout.write("x".repeat(65536));
  process.stderr.write("no error\\n");
} catch (error) {
  process.stderr.write(\`\${error.name} \${error.code} \${error instanceof io.OutputClosedError}\\n\`);
}
process.exitCode = 7;`,
  );
  c.read();
  await waitUntil(() => c.stdout.length > 0 || c.code !== undefined, { timeoutMs: 10_000, what: "the first bytes" });
  c.closeReader(); // the child's next write gets EPIPE
  await waitUntil(() => c.code !== undefined, { timeoutMs: 10_000, what: "the child's exit" });
  assert.equal(c.stderr, "OutputClosedError EPIPE true\n");
  assert.equal(c.code, 7, "the library did not end the process itself");
});

test("a reader gone is EPIPE from a pipe or ECONNRESET from a socket closed with data unread; nothing else", async () => {
  const { readerGone } = await import("../../dist/modules/ui/stdio.js");
  const err = (code) => Object.assign(new Error(code), { code });
  assert.equal(readerGone(err("EPIPE")), true);
  assert.equal(readerGone(err("ECONNRESET")), true);
  for (const code of ["EAGAIN", "EBADF", "ENOSPC", undefined]) assert.equal(readerGone(err(code)), false, String(code));
  assert.equal(readerGone(undefined), false);
});
