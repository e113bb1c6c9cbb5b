// What jsdom lacks and the real stack below the UI needs: fake-indexeddb clones every value
// with structuredClone; a few libraries reach for TextEncoder. Node's own structuredClone
// cannot be borrowed (jsdom runs in another realm, and its objects would fail instanceof here).
import { TextDecoder, TextEncoder } from 'node:util';

function clone(value: unknown, seen: Map<unknown, unknown>): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw new DOMException(`${String(value)} could not be cloned.`, 'DataCloneError');
    return value;
  }
  if (seen.has(value)) return seen.get(value);
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof RegExp) return new RegExp(value.source, value.flags);
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (ArrayBuffer.isView(value)) return new (value.constructor as new (b: ArrayBufferLike) => unknown)((value as Uint8Array).slice().buffer);
  if (value instanceof Map) {
    const out = new Map();
    seen.set(value, out);
    value.forEach((v, k) => out.set(clone(k, seen), clone(v, seen)));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    seen.set(value, out);
    value.forEach((v) => out.add(clone(v, seen)));
    return out;
  }
  const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  seen.set(value, out);
  for (const key of Object.keys(value)) (out as Record<string, unknown>)[key] = clone((value as Record<string, unknown>)[key], seen);
  return out;
}

const g = globalThis as Record<string, unknown>;
if (typeof g.structuredClone !== 'function') g.structuredClone = (value: unknown) => clone(value, new Map());
if (typeof g.TextEncoder !== 'function') g.TextEncoder = TextEncoder;
if (typeof g.TextDecoder !== 'function') g.TextDecoder = TextDecoder;
