import { deserialize, serialize } from "node:v8";
import { UserError } from "../errors.js";
import { NotFoundError } from "./errors.js";
import type { Runtime } from "./runtime.js";

/**
 * Calls a function of a deployed or served app through its supervisor's owner-only control
 * socket (`$NODAL_HOME/run/APP_ID.sock`). Modules are imported lazily: app code that never
 * calls `Function.fromName` does not pay for the registry.
 */
export function remoteRuntime(appName: string): Runtime {
  return {
    async call(fn, args) {
      // Cluster mode: the app's pods consume its queues in Redis.
      const cluster = process.env.NODAL_CLUSTER;
      if (cluster) {
        const { sharedClient } = await import("../cluster/client.js");
        return sharedClient(cluster).call(appName, fn, args);
      }
      const res = await request(appName, fn, args, (socket, payload, controlRequest) =>
        controlRequest(socket, "call", { fn, args: payload }, 24 * 3600 * 1000),
      );
      return deserialize(Buffer.from(res.value, "base64"));
    },
    async spawn(fn, args) {
      // Cluster spawns never get here (`spawnInCluster` takes them first).
      const res = await request(appName, fn, args, (socket, payload, controlRequest) => controlRequest(socket, "spawn", { fn, args: payload }));
      return res.id;
    },
  };
}

type ControlModule = typeof import("../engine/control.js");

/** One control request to the live instance of `appName` (a deployed one first), its arguments v8-serialized. */
async function request<T>(
  appName: string,
  fn: string,
  args: unknown[],
  send: (socket: string, payload: string, controlRequest: ControlModule["controlRequest"]) => Promise<T>,
): Promise<T> {
  const { listApps, liveState } = await import("../registry/apps.js");
  const { controlRequest, controlSocketPath } = await import("../engine/control.js");
  const live = listApps()
    .filter((r) => r.name === appName && (liveState(r) === "deployed" || liveState(r) === "ephemeral"))
    .sort((a, b) => (a.state === "deployed" ? -1 : 0) - (b.state === "deployed" ? -1 : 0));
  if (live.length === 0) throw new NotFoundError(`no running app named "${appName}" (deploy it with \`nodal deploy\` or serve it with \`nodal serve\`)`);
  let payload: string;
  try {
    payload = serialize(args).toString("base64");
  } catch (error) {
    throw new TypeError(`function "${fn}": an argument cannot cross a process boundary (${(error as Error).message})`);
  }
  // The app's own error, as `fromWire` made it: a user error (an unknown function, say)
  // reads as it does from `nodal run`; what the function threw is a RemoteError.
  try {
    return await send(controlSocketPath(live[0]!.id), payload, controlRequest);
  } catch (error) {
    // Scripts catch the SDK's classes; the message is the same one the CLI prints.
    if (error instanceof UserError && error.code === "E_NOT_FOUND") throw new NotFoundError(error.message);
    throw error;
  }
}
