#!/usr/bin/env node
// The only place that turns an outcome into an exit code: everything beneath throws.
import { main, exitCodeFor } from "../dist/cli.js";

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === "number") process.exitCode = code;
  },
  (error) => {
    process.exitCode = exitCodeFor(error);
  },
);
