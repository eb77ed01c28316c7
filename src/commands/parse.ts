import { InvalidArgumentError } from "commander";
import { UserError } from "../errors.js";

/** commander argument parser for a TCP port. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError("a port is an integer from 1 to 65535.");
  return n;
}

/** commander argument parser for a non-negative integer. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer.");
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
