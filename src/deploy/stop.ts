import { UserError } from "../errors.js";
import { saveApp } from "../registry/apps.js";
import { withNameLock } from "../registry/lock.js";
import { findUnrecordedLive, unrecordedLiveIds } from "../registry/live.js";
import { isSameProcess, processStartTime } from "../registry/proc.js";
import { resolveApp } from "../registry/resolve.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { style } from "../ui/output.js";
import { progress, type Progress } from "../ui/progress.js";
import { stdout } from "../ui/stdio.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the instance NAME resolves to: asks it over its control socket (it drains and writes
 * `stopped` itself), waits for its process to end, and escalates to SIGTERM/SIGKILL if it
 * does not answer. A crashed app is just marked stopped.
 */
export async function stopApp(name: string, graceMs: number): Promise<void> {
  let first: ReturnType<typeof resolveApp>;
  try {
    first = resolveApp(name);
  } catch (error) {
    if (await stopUnrecorded(name, graceMs)) return;
    const unnamed = await unrecordedLiveIds();
    if (error instanceof UserError && unnamed.length > 0) {
      throw new UserError(error.code, error.message, `running, with a damaged record: ${unnamed.join(", ")}; stop one by its id, e.g. \`nodal app stop ${unnamed[0]}\``);
    }
    throw error;
  }
  if (first.live !== "deployed" && first.live !== "ephemeral" && (await stopUnrecorded(name, graceMs))) return;
  if (first.live === "stopped") {
    throw new UserError("E_INVALID_STATE", `app "${first.name}" is already stopped`, `start it again with \`nodal deploy ${first.file}\``);
  }
  await withNameLock(first.name, async () => {
    const app = resolveApp(name);
    if (app.live === "crashed") {
      saveApp({ ...app, state: "stopped", stoppedAt: new Date().toISOString() });
      stdout.write(`${style("green", "✓")} App ${app.name} (${app.id}) had crashed; marked stopped.\n`);
      return;
    }
    if (app.live === "stopped") throw new UserError("E_INVALID_STATE", `app "${app.name}" is already stopped`);
    const alive = () => isSameProcess(app.pid ?? undefined, app.pidStart ?? undefined);
    try {
      await controlRequest(controlSocketPath(app.id), "stop", { graceMs }, 5000);
    } catch {
      // No answer on the socket: fall back to the signal the supervisor also handles.
      if (alive()) process.kill(app.pid!, "SIGTERM");
    }
    // A stop with nothing in flight is over in a moment; past that, the app is finishing its
    // requests and calls (within their timeouts), which a terminal shows with a spinner.
    const deadline = Date.now() + graceMs + 5000;
    let spinner: Progress | undefined;
    const waiting = setTimeout(() => {
      spinner = progress();
      spinner.step(`Stopping ${app.name}: waiting for in-flight requests and calls to finish…`);
    }, 300);
    try {
      while (alive() && Date.now() < deadline) await sleep(20);
    } finally {
      clearTimeout(waiting);
      spinner?.done();
    }
    if (alive()) {
      // Its workers follow it: they exit, ending what they started, once it is gone.
      process.kill(app.pid!, "SIGKILL");
      stdout.write(`${style("yellow", "!")} App ${app.name} did not stop within ${Math.round((graceMs + 5000) / 1000)}s; killed it.\n`);
      saveApp({ ...resolveApp(app.id), state: "stopped", stoppedAt: new Date().toISOString() });
    }
    stdout.write(`${style("green", "✓")} Stopped app ${app.name} (${app.id}).\n`);
  });
}

/** A running supervisor whose record is damaged, found by its control socket and stopped through it. */
async function stopUnrecorded(name: string, graceMs: number): Promise<boolean> {
  const live = await findUnrecordedLive(name);
  if (!live) return false;
  const started = processStartTime(live.pid);
  const alive = () => isSameProcess(live.pid, started);
  await controlRequest(live.socket, "stop", { graceMs }, 5000).catch(() => alive() && process.kill(live.pid, "SIGTERM"));
  const deadline = Date.now() + graceMs + 5000;
  while (alive() && Date.now() < deadline) await sleep(20);
  if (alive()) process.kill(live.pid, "SIGKILL");
  stdout.write(`${style("green", "✓")} Stopped app ${name} (${live.id}), whose record was damaged.\n`);
  return true;
}
