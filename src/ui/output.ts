/** Terminal output: colour only on a TTY and never with NO_COLOR; `[nodal]` lifecycle lines. */
import { stdout, type TextOut } from "./stdio.js";

const useColor = (stream: TextOut) => !process.env.NO_COLOR && process.env.TERM !== "dumb" && stream.isTTY === true;

const codes = { dim: [2, 22], bold: [1, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof codes;

export function style(s: Style, text: string, stream: TextOut = stdout): string {
  if (!useColor(stream)) return text;
  const [open, close] = codes[s];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

function clock(d = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

/** A lifecycle line: `[nodal] 12:00:01 message`, the same shape for every state change. */
export function lifecycle(message: string, stream: TextOut = process.stdout): void {
  stream.write(`${style("cyan", "[nodal]", stream)} ${style("dim", clock(), stream)} ${message}\n`);
}

/** Renders rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
