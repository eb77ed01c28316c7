"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname } = require("node:path");
const { Script } = require("node:vm");

/**
 * require() of a CommonJS bundle, with the machine code V8 compiled for it when it was built
 * (FILE.cache, see scripts/build.js). A Node with another V8, or a cache from another build, is
 * rejected by V8, and the source is compiled as require() would. Compiling the CLI's 420 KB
 * takes ~12 ms of every command; with the cache, ~3.
 *
 * Returns the bundle's exports, and whether V8 rejected the cache.
 */
function requireBundle(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {}
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`;
  const script = new Script(wrapper, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  // Set by the build, which runs a command first: the cache then holds the functions it compiled.
  if (process.env.NODAL_WRITE_CODE_CACHE) process.once("exit", () => writeFileSync(`${file}.cache`, script.createCachedData()));
  return { exports: module.exports, rejected: cachedData === undefined || script.cachedDataRejected === true };
}

module.exports = { requireBundle };
