#!/usr/bin/env node
"use strict";
// The only place that turns an outcome into an exit code: everything beneath throws.
// It exits explicitly (an app module imported by a command may hold timers), but only once
// the stdout and stderr streams are flushed, if a command used them: their writes to a full
// pipe finish asynchronously, and exiting early would cut long output.
//
// The CLI is one CommonJS bundle (see scripts/build.js), loaded with V8's code cache of it.
const { join } = require("node:path");

// Started by bin/nodal without NODE_EXTRA_CA_CERTS (see there): what this CLI starts gets it.
if (process.env.NODAL_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.NODAL_EXTRA_CA_CERTS;
  delete process.env.NODAL_EXTRA_CA_CERTS;
}
// `nodal start` (a container's command) forks its first worker now, so that it boots while
// the CLI loads, and hands it to the command (see src/engine/prefork.ts). Not for its help.
const forStart = process.argv[2] === "start" && !process.argv.some((a) => a === "--help" || a === "-h");
const preforked = forStart ? require("../dist/engine/prefork.cjs").preforkWorker() : undefined;

const { requireBundle } = require("./require-bundle.cjs");

const { main, exitCodeFor } = requireBundle(join(__dirname, "..", "dist", "cli.cjs")).exports;
// NODAL_WRITE_CODE_CACHE=1 (the build, and an exported image's Dockerfile for its own Node)
// writes the code caches of both bundles as this command exits: the CLI's and the runtime's,
// which workers load (a cache from another Node's V8 is rejected, and costs the compile).
if (process.env.NODAL_WRITE_CODE_CACHE) requireBundle(join(__dirname, "..", "dist", "runtime.cjs"));

// Node builds process.stdout and process.stderr on first use, and most commands never use them
// (dist/ui/stdio writes with write(2)). Those that are built are flushed before the exit and
// end quietly once their reader is gone (`nodal app logs | head`), as other Unix tools do.
const opened = [];
for (const name of ["stdout", "stderr"]) {
  const { get } = Object.getOwnPropertyDescriptor(process, name);
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: true,
    get() {
      const stream = get.call(process);
      if (!opened.includes(stream)) {
        opened.push(stream);
        stream.on("error", (error) => {
          // The reader has gone: EPIPE from a pipe, ECONNRESET from a socket (see src/ui/stdio.ts).
          if (error.code === "EPIPE" || error.code === "ECONNRESET") process.exit(0);
          throw error;
        });
      }
      return stream;
    },
  });
}

function exit(code) {
  let pending = opened.length;
  if (pending === 0) process.exit(code);
  for (const stream of opened) stream.write("", () => --pending === 0 && process.exit(code));
}

main(process.argv.slice(2), { preforked }).then(
  (code) => exit(typeof code === "number" ? code : 0),
  (error) => exit(exitCodeFor(error)),
);
