import { join } from "node:path";
import { NODAL_ROOT, distFile } from "../paths.js";

export { distFile };

/** The CLI bundle (actions run CLI commands, as the user would). */
export const BIN_CJS = join(NODAL_ROOT, "bin", "nodal.cjs");
