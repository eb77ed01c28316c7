import { InvalidArgumentError } from "commander";
import { UserError } from "../errors.js";
import { parseTime } from "../logs/time.js";

/** commander argument parser for a TCP port. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError("A port is an integer from 1 to 65535.");
  return n;
}

/** commander argument parser for a non-negative integer. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("Expected a non-negative integer.");
  return n;
}

/** `--input JSON`: a function's argument; malformed JSON is the user's error. */
export function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError("E_INVALID_INPUT", `--input is not valid JSON: ${(error as Error).message}`, `quote it for the shell, e.g. --input '{"name":"Ada"}'`);
  }
}

/** commander argument parser for a time: `30m`, `2h`, `1d`, `45s` (ago) or ISO-8601. */
export function parseTimeArg(value: string): Date {
  const d = parseTime(value);
  if (!d) throw new InvalidArgumentError("Use 30m, 2h, 1d or an ISO-8601 time like 2026-01-31T12:00:00Z.");
  return d;
}
