import { StringDecoder } from "node:string_decoder";

/** The longest line a log keeps whole; longer output is split into lines of at most this. */
export const MAX_LOG_LINE_BYTES = 1024 * 1024;

export interface LineSplitterOptions {
  /** Split longer lines (counted in UTF-8 bytes, never inside a character); default: no limit. */
  maxLineBytes?: number;
}

/**
 * Splits a byte stream into lines without losing a partial last line: `push` returns the
 * complete lines, `flush` the remainder when the stream ends. UTF-8 is decoded across chunks:
 * a character split between two pipe reads stays whole. With `maxLineBytes`, a line without a
 * newline is emitted in pieces as it grows, so no more than that is ever held.
 */
export class LineSplitter {
  #decoder = new StringDecoder("utf8");
  #rest = "";
  #max: number;

  constructor(opts: LineSplitterOptions = {}) {
    this.#max = opts.maxLineBytes ?? Infinity;
  }

  push(chunk: Buffer | string): string[] {
    const text = this.#rest + (typeof chunk === "string" ? chunk : this.#decoder.write(chunk));
    const lines = text.split("\n");
    this.#rest = lines.pop()!;
    const out: string[] = [];
    for (const l of lines) this.#emit(l.endsWith("\r") ? l.slice(0, -1) : l, out);
    if (exceeds(this.#rest, this.#max)) {
      const pieces = cut(this.#rest, this.#max);
      this.#rest = pieces.pop()!;
      for (const p of pieces) out.push(p);
    }
    return out;
  }

  flush(): string[] {
    const rest = this.#rest + this.#decoder.end();
    this.#rest = "";
    const out: string[] = [];
    if (rest) this.#emit(rest, out);
    return out;
  }

  #emit(line: string, out: string[]): void {
    if (!exceeds(line, this.#max)) out.push(line);
    else for (const p of cut(line, this.#max)) out.push(p);
  }
}

/** True when `text` is longer than `max` UTF-8 bytes; measures only when it could be. */
function exceeds(text: string, max: number): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings are never measured.
  return text.length * 3 > max && Buffer.byteLength(text) > max;
}

/** `text` in pieces of at most `max` UTF-8 bytes, each ending on a character boundary. */
function cut(text: string, max: number): string[] {
  const bytes = Buffer.from(text);
  const pieces: string[] = [];
  let start = 0;
  while (bytes.length - start > max) {
    let end = start + max;
    // Back up over continuation bytes (10xxxxxx) to the first byte of a character.
    while (end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    // A limit smaller than one character: that character alone.
    if (end === start) do end++; while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80);
    pieces.push(bytes.toString("utf8", start, end));
    start = end;
  }
  pieces.push(bytes.toString("utf8", start));
  return pieces;
}

/**
 * Needles to mask for these secret values, longest first (so a value that contains another is
 * masked whole): each value, each line of a multi-line value (a PEM key printed line by line),
 * and the JSON-escaped form of each (a value with `"`, `\` or a newline inside a logged object).
 * A value split over several prints or re-encoded (base64, URL-encoded) is not found.
 */
export function secretNeedles(values: readonly string[]): string[] {
  const needles = new Set<string>();
  const add = (s: string) => {
    if (!s) return;
    needles.add(s);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) needles.add(escaped);
  };
  for (const value of values) {
    add(value);
    if (!value.includes("\n")) continue;
    for (const line of value.split("\n")) {
      const part = line.trim();
      // A fragment of a few characters ("AB==", "}") reveals nearly nothing, and as a needle
      // it would mask the same characters in every unrelated line.
      if (part.length >= 4) add(part);
    }
  }
  return [...needles].sort((a, b) => b.length - a.length);
}

/**
 * Replaces every occurrence of each needle with `***`, in the order given (`secretNeedles`
 * sorts longest first). A line with no secret costs one `includes` per needle.
 */
export function maskSecrets(line: string, needles: readonly string[]): string {
  for (const s of needles) if (line.includes(s)) line = line.replaceAll(s, "***");
  return line;
}
