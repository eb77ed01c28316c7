import { deserialize, serialize } from "node:v8";
import { fromWire, toWire, type WireError } from "../errors.js";
import { isCloneError } from "../engine/protocol.js";
import { NOT_PLAIN, decodePlain, encodePlain } from "./plain-values.js";

/**
 * Values cross pods as they cross processes: structured clone (v8's serializer), carried as
 * base64 in the job's JSON. Plain values are written and read in the same format without V8's
 * serializer objects (see plain-values.ts), which cost more than the encoding itself.
 */
export function encodeValue(value: unknown, what: string): string {
  const plain = encodePlain(value);
  if (plain !== undefined) return plain;
  try {
    return serialize(value).toString("base64");
  } catch (error) {
    if (isCloneError(error)) throw new TypeError(`${what} cannot cross a process boundary (${(error as Error).message})`);
    throw error;
  }
}

export function decodeValue(text: string): unknown {
  const bytes = Buffer.from(text, "base64");
  const plain = decodePlain(bytes);
  return plain === NOT_PLAIN ? deserialize(bytes) : plain;
}

/**
 * BullMQ keeps only a failed job's `failedReason` (the error's message) where callers can read
 * it, so the whole wire error (name, stack, user-error code) travels in it, after a marker.
 */
const MARK = "nodal-error:";

export function encodeError(error: unknown, attempt: number): string {
  return MARK + JSON.stringify({ wire: toWire(error), attempt });
}

/**
 * The error a caller sees: the remote one (its name and stack kept), its message naming the
 * function and how many attempts were made.
 */
export function decodeError(reason: string, fn: string): Error {
  if (!reason.startsWith(MARK)) return new Error(`function "${fn}" failed: ${reason}`);
  const { wire, attempt } = JSON.parse(reason.slice(MARK.length)) as { wire: WireError; attempt: number };
  if (wire.code) return fromWire(wire);
  const tries = attempt > 1 ? ` after ${attempt} attempts` : "";
  return fromWire({ ...wire, message: `function "${fn}" failed${tries}: ${wire.message}` });
}

