/**
 * Splits a byte stream into lines without losing a partial last line: `push` returns the
 * complete lines, `flush` the remainder when the stream ends.
 */
export class LineSplitter {
  #rest = "";

  push(chunk: Buffer | string): string[] {
    const text = this.#rest + chunk.toString();
    const lines = text.split("\n");
    this.#rest = lines.pop()!;
    return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  }

  flush(): string[] {
    const rest = this.#rest;
    this.#rest = "";
    return rest ? [rest] : [];
  }
}

/** Replaces every occurrence of any secret value with `***`. */
export function maskSecrets(line: string, secrets: readonly string[]): string {
  for (const s of secrets) if (line.includes(s)) line = line.split(s).join("***");
  return line;
}
