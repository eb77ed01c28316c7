import { readFileSync } from "node:fs";
import type { WireFrame } from "../errors.js";

const CONTEXT_LINES = 2;

/**
 * The lines of the user's file around `frame`, with a caret under the column:
 *
 *     3 | function boom(): never {
 *   > 4 |   throw new Error("kaboom");
 *       |         ^
 *
 * Empty when the file cannot be read (it moved, or the frame is not a file of ours to show).
 */
export function codeFrame(frame: WireFrame): string {
  let lines: string[];
  try {
    lines = readFileSync(frame.file, "utf8").split(/\r?\n/);
  } catch {
    return "";
  }
  if (frame.line < 1 || frame.line > lines.length) return "";
  const first = Math.max(1, frame.line - CONTEXT_LINES);
  const width = String(frame.line).length;
  const out: string[] = [];
  for (let n = first; n <= frame.line; n++) {
    out.push(`${n === frame.line ? ">" : " "} ${String(n).padStart(width)} | ${lines[n - 1]!.replace(/\t/g, "  ")}`);
  }
  const before = lines[frame.line - 1]!.slice(0, Math.max(0, frame.column - 1)).replace(/\t/g, "  ");
  out.push(`  ${" ".repeat(width)} | ${" ".repeat(before.length)}^`);
  return out.join("\n");
}
