import { join } from "node:path";
import { deserialize } from "node:v8";
import { fromWire, UserError } from "../errors.js";
import { CancelledError, NotFoundError, TimeoutError } from "./errors.js";
import type { SpawnedRecord } from "../engine/spawned.js";

/**
 * A spawned call of a deployed or served app on this machine, found by id from any process:
 * its record under `$NODAL_HOME/calls`, and, while it runs, the control socket of the app
 * instance running it (which answers as soon as it ends).
 */

/** The longest single wait on the control socket; a longer `get` asks again. */
const WAIT_SLICE_MS = 60_000;

async function find(id: string): Promise<SpawnedRecord> {
  const [{ findSpawned }, { nodalHome }] = await Promise.all([import("../engine/spawned.js"), import("../registry/home.js")]);
  const record = findSpawned(join(nodalHome(), "calls"), id);
  if (!record) {
    throw new NotFoundError(`no function call "${id}" on this machine (results are kept 24 hours)`);
  }
  return record;
}

function settle(record: SpawnedRecord): unknown {
  switch (record.state) {
    case "success":
      return deserialize(Buffer.from(record.value ?? "", "base64"));
    case "failure":
      throw fromWire(record.error ?? { name: "Error", message: "unknown failure" });
    case "cancelled":
      throw new CancelledError(`function call ${record.id} of "${record.function}" was cancelled`);
    case "running":
      throw new Error(`function call ${record.id} is still running`);
  }
}

/**
 * The call's outcome; waits while it runs, at most `timeoutMs` when given (a `TimeoutError`
 * then). A call whose app instance went away before it ended was interrupted: an error says so.
 */
export async function storedOutcome(id: string, timeoutMs?: number): Promise<unknown> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const { controlRequest, controlSocketPath } = await import("../engine/control.js");
  for (;;) {
    let record = await find(id);
    if (record.state !== "running") return settle(record);
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError(`function call ${id} did not finish within ${timeoutMs! / 1000}s`);
    const waitMs = Math.min(left, WAIT_SLICE_MS);
    let running = false;
    try {
      const res = await controlRequest(controlSocketPath(record.appId), "callResult", { id, waitMs }, waitMs + 10_000);
      record = res.record ?? record;
      running = res.running;
    } catch (error) {
      if (!(error instanceof UserError && error.code === "E_APP_UNREACHABLE")) throw error;
      record = await find(id);
    }
    if (record.state !== "running") return settle(record);
    // Its instance is gone, or is a new one that never ran it (the supervisor restarted).
    if (!running) throw interrupted(record);
  }
}

function interrupted(record: SpawnedRecord): Error {
  return new Error(`function call ${record.id} of "${record.function}" was interrupted: app "${record.app}" stopped before it finished`);
}

/** Stops a running call (its worker is stopped); a finished one stays as it ended. */
export async function cancelStored(id: string): Promise<void> {
  const record = await find(id);
  if (record.state !== "running") return;
  const { controlRequest, controlSocketPath } = await import("../engine/control.js");
  try {
    await controlRequest(controlSocketPath(record.appId), "cancel", { id });
  } catch (error) {
    // Its app is gone: nothing runs it any more.
    if (!(error instanceof UserError && error.code === "E_APP_UNREACHABLE")) throw error;
  }
}
