#!/usr/bin/env node
// The only place that turns an outcome into an exit code: everything beneath throws.
// It exits explicitly: `deploy` imports the app module to describe it, and an app's
// top-level timers must not keep the CLI alive.
import { main, exitCodeFor } from "../dist/cli.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(typeof code === "number" ? code : 0),
  (error) => process.exit(exitCodeFor(error)),
);
