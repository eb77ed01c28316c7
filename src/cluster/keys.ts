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
 * lookup): `fc-` and 20 random hex digits, then the base64url of `APP/FN` ("/" is in no name).
 * It is also the BullMQ job id (no ":", not an integer).
 */
export function newCallId(app: string, fn: string): string {
  return `fc-${randomBytes(10).toString("hex")}-${Buffer.from(`${app}/${fn}`).toString("base64url")}`;
}

/** The app and function a call id names; undefined when it is not a cluster call's id. */
export function parseCallId(id: string): { app: string; fn: string } | undefined {
  const m = /^fc-[0-9a-f]{20}-([A-Za-z0-9_-]+)$/.exec(id);
  if (!m) return undefined;
  const [app, fn, ...rest] = Buffer.from(m[1]!, "base64url").toString("utf8").split("/");
  return app && fn && rest.length === 0 ? { app, fn } : undefined;
}
