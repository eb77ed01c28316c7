import { UserError } from "../errors.js";
import { saveApp } from "../registry/apps.js";
import { withNameLock } from "../registry/lock.js";
import { findUnrecordedLive, repairRecords, unrecordedLiveIds } from "../registry/live.js";
import { isSameProcess, processStartTime } from "../registry/proc.js";
import { resolveApp } from "../registry/resolve.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { style } from "../ui/output.js";
import { progress, type Progress } from "../ui/progress.js";
import { stdout } from "../ui/stdio.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long past its announced grace an app may take to exit before it is killed. */
const KILL_AFTER_MS = 5000;
/** The grace assumed when an app cannot say (no answer on its socket): the default function timeout. */
const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * Asks the app to stop over its control socket (or, when it does not answer, with SIGTERM,
 * which it handles the same way); resolves to how long its work in flight may take.
 */
async function requestStop(socket: string, pid: number, alive: () => boolean, capMs: number | undefined): Promise<number> {
  try {
    return (await controlRequest(socket, "stop", capMs !== undefined ? { graceMs: capMs } : {}, 5000)).graceMs;
  } catch {
    if (alive()) process.kill(pid, "SIGTERM");
    return capMs ?? DEFAULT_TIMEOUT_MS;
  }
}

/**
 * Stops the instance NAME resolves to: asks it over its control socket (it drains and writes
 * `stopped` itself), waits for its process to end, and escalates to SIGTERM/SIGKILL if it
 * does not answer. A crashed app is just marked stopped.
 */
export async function stopApp(name: string, graceMs?: number): Promise<void> {
  await repairRecords(); // a running app whose record is damaged writes it again
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
    const waitMs = (await requestStop(controlSocketPath(app.id), app.pid!, alive, graceMs)) + KILL_AFTER_MS;
    // A stop with nothing in flight is over in a moment; past that, the app is finishing its
    // requests and calls (within their timeouts), which a terminal shows with a spinner.
    const deadline = Date.now() + waitMs;
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
      stdout.write(`${style("yellow", "!")} App ${app.name} did not stop within ${Math.round(waitMs / 1000)}s; killed it.\n`);
    }
    // Killed, or ended by the SIGTERM sent when it did not answer: a signal leaves an app
    // deployed (it is how a shutdown ends it), and this stop is on purpose.
    const after = resolveApp(app.id);
    if (after.state !== "stopped") saveApp({ ...after, state: "stopped", stoppedAt: new Date().toISOString() });
    stdout.write(`${style("green", "✓")} Stopped app ${app.name} (${app.id}).\n`);
  });
}

/** A running supervisor whose record is damaged, found by its control socket and stopped through it. */
async function stopUnrecorded(name: string, graceMs: number | undefined): Promise<boolean> {
  const live = await findUnrecordedLive(name);
  if (!live) return false;
  const started = processStartTime(live.pid);
  const alive = () => isSameProcess(live.pid, started);
  const deadline = Date.now() + (await requestStop(live.socket, live.pid, alive, graceMs)) + KILL_AFTER_MS;
  while (alive() && Date.now() < deadline) await sleep(20);
  if (alive()) process.kill(live.pid, "SIGKILL");
  stdout.write(`${style("green", "✓")} Stopped app ${name} (${live.id}), whose record was damaged.\n`);
  return true;
}
