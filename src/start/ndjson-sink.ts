import type { LogSink } from "../engine/host.js";
import type { LogRecord } from "../logs/record.js";
import { stdout } from "../ui/stdio.js";

/**
 * A container's log: one JSON object a line on stdout, with the fields of `app logs --json`
 * (`time`, `function`, `source`, `stream`, `line`), as Kubernetes and log shippers expect.
 * Records are batched per event-loop turn and written synchronously in order: a slow reader
 * paces the app instead of piling records up in memory.
 */
export class NdjsonSink implements LogSink {
  #batch: string[] = [];
  #scheduled = false;
  #closed = false;

  write(record: LogRecord): void {
    this.#push(JSON.stringify(record));
  }

  writeLines(head: Omit<LogRecord, "line">, lines: string[]): void {
    for (const line of lines) this.#push(JSON.stringify({ ...head, line }));
  }

  #push(text: string): void {
    if (this.#closed) return;
    this.#batch.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#batch.length === 0) return;
    const text = this.#batch.join("\n") + "\n";
    this.#batch = [];
    stdout.write(text);
  }

  close(): void {
    this.flush();
    this.#closed = true;
  }
}
