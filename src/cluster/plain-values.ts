/**
 * V8's serialization format (what `v8.serialize` writes and `v8.deserialize` reads, version 15
 * on Node 20, 22 and 24) for the plain values most calls carry: numbers, strings of Latin-1
 * characters, booleans, null, undefined, and arrays and objects of those. Written and read
 * here without V8's serializer objects, each a native object with a handle for the GC to
 * finalise: on a small value those cost several times the encoding itself, on both sides of
 * every cross-pod call.
 *
 * The format is V8's own, so `v8.deserialize` reads what this writes (a pod of another nodal
 * version, too), and this reads what `v8.serialize` writes. Anything else (dates, maps, typed
 * arrays, a shared or cyclic reference, a hole in an array, a property on an array, a key that
 * is an array index or `__proto__`, a string with a character past U+00FF, a proxy) is left to
 * V8: `encodePlain` answers undefined, `decodePlain` answers `NOT_PLAIN`.
 */

import { isProxy } from "node:util/types";

const VERSION = 15;
const MAX_DEPTH = 64;

const enum Tag {
  Version = 0xff,
  Padding = 0x00,
  Undefined = 0x5f, // _
  Null = 0x30, // 0
  True = 0x54, // T
  False = 0x46, // F
  Int32 = 0x49, // I: zigzag varint
  Uint32 = 0x55, // U: varint
  Double = 0x4e, // N: float64, little-endian
  OneByteString = 0x22, // ": varint length, Latin-1 bytes
  TwoByteString = 0x63, // c: varint byte length, UTF-16LE
  Utf8String = 0x53, // S: varint byte length, UTF-8
  BeginObject = 0x6f, // o: key, value… then EndObject
  EndObject = 0x7b, // {: varint property count
  BeginDenseArray = 0x41, // A: varint length, elements, properties… then EndDenseArray
  EndDenseArray = 0x24, // $: varint property count, varint length
}

/** `decodePlain` could not read the value alone: `v8.deserialize` must. */
export const NOT_PLAIN: unique symbol = Symbol("not plain");

const NOT_LATIN1 = /[^\x00-\xff]/;
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

class Writer {
  buf = Buffer.allocUnsafe(64);
  pos = 0;

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.room(5);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  double(x: number): void {
    this.room(8);
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
  }

  latin1(s: string): void {
    this.varint(s.length);
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, "latin1");
  }
}

/** `value` in V8's format, as base64; undefined when it is not a plain value (see above). */
export function encodePlain(value: unknown): string | undefined {
  const w = new Writer();
  w.byte(Tag.Version);
  w.byte(VERSION);
  return write(w, value, new Set(), 0) ? w.buf.toString("base64", 0, w.pos) : undefined;
}

function write(w: Writer, v: unknown, seen: Set<object>, depth: number): boolean {
  switch (typeof v) {
    case "undefined":
      w.byte(Tag.Undefined);
      return true;
    case "boolean":
      w.byte(v ? Tag.True : Tag.False);
      return true;
    case "number":
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0)) {
        w.byte(Tag.Int32);
        w.varint(((v << 1) ^ (v >> 31)) >>> 0);
      } else {
        w.byte(Tag.Double);
        w.double(v);
      }
      return true;
    case "string":
      if (NOT_LATIN1.test(v)) return false;
      w.byte(Tag.OneByteString);
      w.latin1(v);
      return true;
    case "object": {
      if (v === null) {
        w.byte(Tag.Null);
        return true;
      }
      // Each object once: V8 writes a reference back to one seen before, which this does not.
      // A proxy V8 refuses, and says so.
      if (depth >= MAX_DEPTH || seen.has(v) || isProxy(v)) return false;
      seen.add(v);
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto === Array.prototype) return writeArray(w, v as unknown[], seen, depth);
      if (proto === Object.prototype) return writeObject(w, v as Record<string, unknown>, seen, depth);
      return false;
    }
    default:
      return false; // bigint, symbol, function
  }
}

function writeArray(w: Writer, a: unknown[], seen: Set<object>, depth: number): boolean {
  const n = a.length;
  w.byte(Tag.BeginDenseArray);
  w.varint(n);
  for (let i = 0; i < n; i++) {
    if (!(i in a)) return false; // a hole
    if (!write(w, a[i], seen, depth + 1)) return false;
  }
  // Properties besides the elements (a.foo = 1) travel too: left to V8.
  if (Object.keys(a).length !== n) return false;
  w.byte(Tag.EndDenseArray);
  w.varint(0);
  w.varint(n);
  return true;
}

function writeObject(w: Writer, o: Record<string, unknown>, seen: Set<object>, depth: number): boolean {
  const keys = Object.keys(o);
  w.byte(Tag.BeginObject);
  for (const key of keys) {
    // V8 writes index keys as numbers, first; `__proto__` must be defined, not assigned.
    if (INDEX_KEY.test(key) || key === "__proto__" || NOT_LATIN1.test(key)) return false;
    w.byte(Tag.OneByteString);
    w.latin1(key);
    if (!write(w, o[key], seen, depth + 1)) return false;
  }
  w.byte(Tag.EndObject);
  w.varint(keys.length);
  return true;
}

class Reader {
  readonly buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw NOT_PLAIN;
    return this.buf[this.pos++]!;
  }

  /** The next tag, past V8's alignment padding. */
  tag(): number {
    const t = this.peekTag();
    this.pos++;
    return t;
  }

  /** The next tag, left to be read; the padding before it is skipped. */
  peekTag(): number {
    let p = this.pos;
    while (p < this.buf.length && this.buf[p] === Tag.Padding) p++;
    if (p >= this.buf.length) throw NOT_PLAIN;
    this.pos = p;
    return this.buf[p]!;
  }

  varint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
    }
    throw NOT_PLAIN;
  }

  bytes(n: number): [number, number] {
    const start = this.pos;
    if (start + n > this.buf.length) throw NOT_PLAIN;
    this.pos += n;
    return [start, this.pos];
  }
}

/** The value in `buf` (V8's format), or `NOT_PLAIN` when it holds anything but plain values. */
export function decodePlain(buf: Buffer): unknown {
  const r = new Reader(buf);
  try {
    if (r.byte() !== Tag.Version || r.varint() !== VERSION) return NOT_PLAIN;
    const value = read(r, 0);
    return r.pos === buf.length ? value : NOT_PLAIN;
  } catch (error) {
    if (error === NOT_PLAIN) return NOT_PLAIN;
    throw error;
  }
}

function read(r: Reader, depth: number): unknown {
  if (depth > MAX_DEPTH) throw NOT_PLAIN;
  const t = r.tag();
  switch (t) {
    case Tag.Undefined:
      return undefined;
    case Tag.Null:
      return null;
    case Tag.True:
      return true;
    case Tag.False:
      return false;
    case Tag.Int32: {
      const z = r.varint();
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case Tag.Uint32:
      return r.varint();
    case Tag.Double: {
      const [start] = r.bytes(8);
      return r.buf.readDoubleLE(start);
    }
    case Tag.OneByteString:
    case Tag.TwoByteString:
    case Tag.Utf8String: {
      const [start, end] = r.bytes(r.varint());
      return r.buf.toString(t === Tag.OneByteString ? "latin1" : t === Tag.TwoByteString ? "utf16le" : "utf8", start, end);
    }
    case Tag.BeginObject: {
      const o: Record<string, unknown> = {};
      let count = 0;
      while (r.peekTag() !== Tag.EndObject) {
        const key = read(r, depth + 1);
        if ((typeof key !== "string" && typeof key !== "number") || key === "__proto__") throw NOT_PLAIN;
        o[key] = read(r, depth + 1);
        count++;
      }
      r.tag();
      if (r.varint() !== count) throw NOT_PLAIN;
      return o;
    }
    case Tag.BeginDenseArray: {
      const n = r.varint();
      if (n > r.buf.length) throw NOT_PLAIN; // each element takes a byte at least
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = read(r, depth + 1); // a hole's tag is not read here: NOT_PLAIN
      if (r.tag() !== Tag.EndDenseArray || r.varint() !== 0 || r.varint() !== n) throw NOT_PLAIN;
      return a;
    }
    default:
      throw NOT_PLAIN;
  }
}
