/**
 * The file every worker process starts with (built as dist/engine/worker-main.cjs): it loads
 * dist/runtime.cjs (the SDK and the worker) with V8's code cache of it, the way bin/nodal.cjs
 * loads the CLI, and makes this process a worker.
 */
import { createRequire } from "node:module";
import { NODAL_ROOT, distFile } from "../paths.js";

const require = createRequire(import.meta.filename);
const { requireBundle } = require(`${NODAL_ROOT}/bin/require-bundle.cjs`) as {
  requireBundle(file: string): { exports: typeof import("../runtime.js") };
};

void requireBundle(distFile("runtime.cjs")).exports.runWorker((url) => import(url));
