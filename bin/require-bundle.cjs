"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { dirname } = require("node:path");
const { Script } = require("node:vm");

/**
 * require() of a CommonJS bundle, with the machine code V8 compiled for it when it was built
 * (FILE.cache, see scripts/build.js). A Node with another V8, or a cache from another build, is
 * rejected by V8, and the source is compiled as require() would. Compiling the CLI's 420 KB
 * takes ~12 ms of every command; with the cache, ~3.
 *
 * The module is kept in require.cache as require() keeps it, so a later require() of the same
 * file (dist/sdk/index.cjs requiring dist/runtime.cjs) gets this instance. An import() in the
 * bundle fails (a script compiled this way has no module loader of its own): a bundle that
 * must import is handed a function that does (see src/runtime.ts).
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
  const module = new Module(file, null);
  module.filename = file;
  require.cache[file] = module;
  try {
    script.runInThisContext()(module.exports, Module.createRequire(file), module, file, dirname(file));
  } catch (error) {
    delete require.cache[file];
    throw error;
  }
  module.loaded = true;
  // Set by the build, which runs a command first: the cache then holds the functions it compiled.
  if (process.env.NODAL_WRITE_CODE_CACHE) process.once("exit", () => writeFileSync(`${file}.cache`, script.createCachedData()));
  return { exports: module.exports, rejected: cachedData === undefined || script.cachedDataRejected === true };
}

module.exports = { requireBundle };
