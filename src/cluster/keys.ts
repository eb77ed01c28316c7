import { randomBytes } from "node:crypto";

/**
 * Where an app's calls live in Redis. BullMQ forbids ":" in queue names but not in its key
 * prefix, so the prefix carries the app: function FN of app APP is the queue FN under prefix
 * `nodal:APP`, and its keys read `nodal:APP:FN:wait`, `nodal:APP:FN:active`…
 */
export function queuePrefix(app: string): string {
  return `nodal:${app}`;
}

/** The list of a function's calls waiting for a replica (what a KEDA `redis` scaler watches). */
export function waitListKey(app: string, fn: string): string {
  return `${queuePrefix(app)}:${fn}:wait`;
}

/**
 * A call's id names its app and function (so `FunctionCall.fromId` finds its queue with no
 * lookup): `fc-` and 20 hex digits, then the base64url of `APP/FN` ("/" is in no name).
 * It is also the BullMQ job id (no ":", not an integer).
 *
 * The 20 digits are 12 random ones drawn once per process and an 8-digit counter: unique
 * across pods all the same, without a call to the random source per call (OpenSSL's, which
 * checks the pid on every draw: a system call on the hot path).
 */
export function newCallId(app: string, fn: string): string {
  if (counter > 0xffffffff) {
    counter = 0;
    processPart = randomBytes(6).toString("hex");
  }
  return `fc-${processPart}${(counter++).toString(16).padStart(8, "0")}-${Buffer.from(`${app}/${fn}`).toString("base64url")}`;
}

let processPart = randomBytes(6).toString("hex");
let counter = 0;

/** The app and function a call id names; undefined when it is not a cluster call's id. */
export function parseCallId(id: string): { app: string; fn: string } | undefined {
  const m = /^fc-[0-9a-f]{20}-([A-Za-z0-9_-]+)$/.exec(id);
  if (!m) return undefined;
  const [app, fn, ...rest] = Buffer.from(m[1]!, "base64url").toString("utf8").split("/");
  return app && fn && rest.length === 0 ? { app, fn } : undefined;
}
