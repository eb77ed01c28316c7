import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const DELAY_MS = 1000;
let gc: (() => void) | null | undefined;
let timer: NodeJS.Timeout | undefined;

/**
 * A full garbage collection a moment after a swap (one for a burst of swaps). A swap leaves the old
 * version's objects (its workers' process handles, pipes and streams, its build and manifest)
 * as garbage old enough to sit in V8's old generation, which V8 collects only when that
 * generation passes a limit or when the process looks idle to it: a supervisor redeployed
 * back to back grew ~45 KB a redeploy and serve ~10 KB a reload, though nothing stayed
 * reachable (bench/memory.js). Collecting a heap this small takes a few milliseconds.
 */
export function collectSoon(): void {
  if (timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    fullGc()?.();
  }, DELAY_MS);
  timer.unref();
}

function fullGc(): (() => void) | undefined {
  if (gc === undefined) {
    try {
      // The flag exposes `gc` only to contexts made after it is set (not to this one): a new
      // context hands it over.
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  return gc ?? undefined;
}
