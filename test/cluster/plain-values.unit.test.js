// Plain values in V8's serialization format, without V8's serializer: what is written must read
// back through v8.deserialize as V8's own encoding would, what V8 writes must read back here
// the same, and anything else must be left to V8 rather than read wrong.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deserialize, serialize } from "node:v8";
import { NOT_PLAIN, decodePlain, encodePlain } from "../../dist/modules/cluster/plain-values.js";
import { decodeValue, encodeValue } from "../../dist/modules/cluster/codec.js";

const b64 = (text) => Buffer.from(text, "base64");
/** What a value is after a trip through V8 itself. */
const viaV8 = (v) => deserialize(serialize(v));

function assertPlainRoundTrips(v) {
  const text = encodePlain(v);
  assert.equal(typeof text, "string", `the fast path takes ${JSON.stringify(v)}`);
  assert.deepStrictEqual(deserialize(b64(text)), viaV8(v)); // V8 reads what this writes
  assert.deepStrictEqual(decodePlain(serialize(v)), viaV8(v)); // this reads what V8 writes
  assert.deepStrictEqual(decodePlain(b64(text)), viaV8(v));
  assert.deepStrictEqual(decodeValue(encodeValue(v, "x")), viaV8(v));
}

test("plain values go both ways: numbers of every kind, Latin-1 strings, booleans, null, undefined, arrays, objects", () => {
  const values = [
    0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE,
    "", "a", "café", "\u00ff\u0000", "x".repeat(300),
    true, false, null, undefined,
    [], [1, "two", [3, [4]]], [undefined, null], Array.from({ length: 200 }, (_, i) => i * 1.25),
    {}, { a: 1, b: { c: [1, { d: "e" }] } }, { "": 0, constructor: 1, "01": 2, "-1": 3, "1.5": 4 }, { u: undefined },
  ];
  for (const v of values) assertPlainRoundTrips(v);
});

test("random plain values round-trip the same through this and through V8", () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const gen = (depth) => {
    const k = Math.floor(rand() * (depth > 3 ? 6 : 8));
    switch (k) {
      case 0: return Math.floor(rand() * 2 ** 33) - 2 ** 32;
      case 1: return (rand() - 0.5) * 1e6;
      case 2: return String.fromCharCode(...Array.from({ length: Math.floor(rand() * 12) }, () => Math.floor(rand() * 256)));
      case 3: return [true, false, null, undefined][Math.floor(rand() * 4)];
      case 4: return Math.floor(rand() * 300) - 150;
      case 5: return rand() < 0.5 ? -0 : 0;
      case 6: return Array.from({ length: Math.floor(rand() * 5) }, () => gen(depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, (_, i) => [`k${i}${String.fromCharCode(97 + Math.floor(rand() * 26))}`, gen(depth + 1)]));
    }
  };
  for (let i = 0; i < 2000; i++) assertPlainRoundTrips(gen(0));
});

test("anything but plain values is left to V8, and still crosses as V8 carries it", () => {
  const shared = { s: 1 };
  const cyclic = { name: "loop" };
  cyclic.self = cyclic;
  const sparse = [1, , 3];
  const withProp = Object.assign([1, 2], { extra: true });
  class Point {
    constructor() {
      this.x = 1;
    }
  }
  const values = [
    new Date(5), new Map([[1, 2]]), new Set(["x"]), 10n, new Uint8Array([1, 2]), Buffer.from("hi"), /re/g, new Error("boom"),
    sparse, withProp, { 1: "index key" }, JSON.parse('{"__proto__": 1}'), [shared, shared], cyclic,
    "日本", { key: "naïve ✓" }, { "ключ": 1 }, new Point(), Object.create(null), new Proxy({}, {}),
  ];
  for (const v of values) {
    assert.equal(encodePlain(v), undefined, `left to V8: ${Object.prototype.toString.call(v)}`);
    let bytes;
    try {
      bytes = serialize(v);
    } catch {
      continue; // V8 refuses it (a proxy): encodeValue says so, as before
    }
    // Reading V8's bytes: what this reads at all (a two-byte string, an index key, a class
    // instance's fields: V8 writes a plain object) reads as V8 reads it; the rest is V8's.
    const read = decodePlain(bytes);
    if (read !== NOT_PLAIN) assert.deepStrictEqual(read, deserialize(bytes));
    assert.deepStrictEqual(decodeValue(encodeValue(v, "x")), deserialize(bytes));
  }
  for (const v of [new Date(5), new Map(), new Set(), 10n, new Uint8Array(1), /re/g, new Error("boom"), sparse, withProp, [shared, shared], cyclic, JSON.parse('{"__proto__": 1}')]) {
    assert.equal(decodePlain(serialize(v)), NOT_PLAIN, `left to V8 when reading: ${Object.prototype.toString.call(v)}`);
  }
  assert.throws(() => encodeValue([new Proxy({}, {})], 'function "f": an argument'), { name: "TypeError", message: /^function "f": an argument cannot cross a process boundary/ });
  assert.throws(() => encodeValue({ f: () => 1 }, 'function "f": its result'), { name: "TypeError", message: /cannot cross a process boundary/ });
});

test("a truncated, padded or foreign buffer is never read as a plain value", () => {
  for (const v of [[1, "two", { three: 3.5 }], "a string", 2 ** 40, { a: [true, null] }]) {
    const bytes = serialize(v);
    for (let k = 0; k < bytes.length; k++) assert.equal(decodePlain(bytes.subarray(0, k)), NOT_PLAIN, `${JSON.stringify(v)} cut at ${k}`);
    assert.equal(decodePlain(Buffer.concat([bytes, Buffer.from([0x30])])), NOT_PLAIN, "trailing bytes");
  }
  assert.equal(decodePlain(Buffer.from([0xff, 0x0e, 0x30])), NOT_PLAIN, "another format version");
  assert.equal(decodePlain(Buffer.from('{"json":true}')), NOT_PLAIN);
  // V8 pads before a two-byte string to align it; reading skips the padding.
  const twoByte = serialize(["é", "日本"]);
  assert.deepStrictEqual(decodePlain(twoByte), ["é", "日本"]);
});
