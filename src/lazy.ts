/**
 * A CommonJS package evaluated on first use, not at import: `nodal app list` and spare workers
 * start without it. Write `lazy(() => require("pkg"))`: the build bundles packages required
 * this way (still evaluated only on the first call), and leaves the ones it keeps external to
 * Node's require (scripts/build.js says which).
 */
export function lazy<T>(load: () => T): () => T {
  let mod: T | undefined;
  return () => (mod ??= load());
}

/** node:crypto, loaded when an id is made: a supervisor that never makes one is 2 MB smaller. */
export const nodeCrypto = lazy(() => require("node:crypto") as typeof import("node:crypto"));
