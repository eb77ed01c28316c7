#!/usr/bin/env node
"use strict";
// The only place that turns an outcome into an exit code: everything beneath throws.
// It exits explicitly (an app module imported by a command may hold timers), but only once
// stdout and stderr are flushed: writes to a pipe are asynchronous, and exiting early would
// cut long output such as `app logs --tail 100000`.
//
// The CLI is CommonJS bundles (see scripts/build.js), loaded with V8's code cache of them.
const { join } = require("node:path");

// Started by bin/nodal without NODE_EXTRA_CA_CERTS (see there): what this CLI starts gets it.
if (process.env.NODAL_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.NODAL_EXTRA_CA_CERTS;
  delete process.env.NODAL_EXTRA_CA_CERTS;
}
const { requireBundle } = require("./require-bundle.cjs");

const dist = join(__dirname, "..", "dist");
const argv = process.argv.slice(2);
// A first deploy starts its supervisor before the rest of the CLI is even loaded.
if (argv[0] === "deploy") require(join(dist, "deploy", "early.cjs")).startEarly(argv.slice(1));
const { main, exitCodeFor } = requireBundle(join(dist, "cli.cjs")).exports;

// `nodal app logs | head`: once the reader is gone, stop quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

function exit(code) {
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write("", done);
  process.stderr.write("", done);
}

main(argv).then(
  (code) => exit(typeof code === "number" ? code : 0),
  (error) => exit(exitCodeFor(error)),
);
