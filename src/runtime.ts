/**
 * What runs app code, as one CommonJS bundle (dist/runtime.cjs): the SDK that apps import as
 * "nodal", and the worker process that loads their builds.
 *
 * One bundle, so there is one copy of each SDK class in a worker: the classes an app's exports
 * are checked against (`instanceof App`) are the ones the app imported. Apps reach it through
 * dist/sdk/index.js (an ES module) or dist/sdk/index.cjs, both of which hand on this bundle's
 * `sdk`. CommonJS, so a worker starts without Node's ES module loader until it imports an ES
 * module app, and loads this file with V8's code cache of it (dist/engine/worker-main.cjs).
 */
import * as sdk from "./sdk/index.js";
import { setModuleImporter, type ModuleImporter } from "./engine/import-module.js";

export { sdk };

/**
 * Makes this process a worker: called once, by dist/engine/worker-main.cjs, with its own
 * `import()` for the app's builds (the code cache's way of loading this bundle leaves it none).
 */
export function runWorker(importModule: ModuleImporter): Promise<unknown> {
  setModuleImporter(importModule);
  return import("./engine/worker-main.js");
}
