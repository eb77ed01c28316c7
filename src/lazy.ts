import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use, not at import: `nodal app list` and spare workers
 * start without it (cron-parser, express-rate-limit and write-file-atomic cost 20–60 ms each
 * to load).
 */
export function lazy<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
