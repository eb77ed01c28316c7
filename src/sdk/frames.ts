import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** One stack frame's source position, or undefined for frames without one (`node:…`, native). */
export interface Frame {
  file: string;
  line: string;
  column: string;
}

export function parseFrame(frame: string): Frame | undefined {
  // The path starts the frame's location: `node:internal/modules/…` is not `/modules/…`.
  const m = frame.match(/(?:^|[\s(])((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)\)?\s*$/);
  if (!m) return undefined;
  return { file: m[1]!.startsWith("file://") ? fileURLToPath(m[1]!) : m[1]!, line: m[2]!, column: m[3]! };
}

/** `file:line:col`, the file relative to the working directory when it lies below it. */
export function formatFrame(f: Frame): string {
  const rel = relative(process.cwd(), f.file);
  return `${rel.startsWith("..") ? f.file : rel}:${f.line}:${f.column}`;
}
