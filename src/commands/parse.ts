import { InvalidArgumentError } from "commander";

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
