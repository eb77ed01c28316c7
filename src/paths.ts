/**
 * Where nodal's own files are. The built code is bundled (dist/cli.cjs, dist/runtime.cjs and
 * others), so a URL relative to one module would depend on which file it ended up in;
 * everything is found from the package root instead.
 */
import { dirname, join, sep } from "node:path";

const here = import.meta.filename;
const inDist = here.lastIndexOf(`${sep}dist${sep}`);

/** The folder holding nodal's package.json, templates/ and dist/. */
export const NODAL_ROOT = inDist >= 0 ? here.slice(0, inDist) : dirname(dirname(here));

/** The built code. */
export const NODAL_DIST = join(NODAL_ROOT, "dist");

/** A file of the built code, e.g. `distFile("supervisor", "main.cjs")`. */
export const distFile = (...parts: string[]): string => join(NODAL_DIST, ...parts);
