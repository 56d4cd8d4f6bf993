import { InvalidSessionItemsError } from '../exceptions';

/** Resolved size limits (see `SessionMemoryLimitsOptions`). */
export interface ItemLimits {
  maxItemBytes: number;
  maxBatchBytes: number;
  maxItemsPerCall: number;
  maxDepth: number;
}

/** Defaults of `SessionMemoryLimitsOptions`. */
export const DEFAULT_ITEM_LIMITS: Readonly<ItemLimits> = Object.freeze({
  maxItemBytes: 16 * 1024 * 1024,
  maxBatchBytes: 64 * 1024 * 1024,
  maxItemsPerCall: 10_000,
  maxDepth: 128,
});

/**
 * Checks that `items` is an array of plain, JSON-serialisable objects within the limits, and returns
 * each item's JSON text. Throws `InvalidSessionItemsError` (naming the first offending path) otherwise.
 * Nothing is written by the caller unless every item passes.
 */
export function encodeItems(items: unknown, limits: ItemLimits): string[] {
  if (!Array.isArray(items)) {
    throw new InvalidSessionItemsError(
      `addItems expects an array of items, got ${kindOf(items)}. Wrap a single item in an array.`,
    );
  }
  if (items.length > limits.maxItemsPerCall) {
    throw new InvalidSessionItemsError(
      `addItems got ${items.length} items; at most ${limits.maxItemsPerCall} are allowed per call (limits.maxItemsPerCall). Split the batch.`,
    );
  }
  const out = new Array<string>(items.length);
  const ancestors: object[] = [];
  let upperBytes = 0; // at most 3 UTF-8 bytes per UTF-16 unit
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const path = `items[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new InvalidSessionItemsError(
        `${path} must be a plain object (an Agents SDK input item), got ${kindOf(item)}.`,
      );
    }
    // The fast check builds no paths; only an item it refuses is walked again to name the offending path.
    if (!storable(item, 0, ancestors, limits.maxDepth)) {
      ancestors.length = 0;
      checkValue(item, path, 0, ancestors, limits.maxDepth);
    }
    const json = JSON.stringify(item);
    // Each UTF-16 unit is at most 3 UTF-8 bytes: only measure exactly when the text might be too big.
    if (json.length * 3 > limits.maxItemBytes) {
      const bytes = Buffer.byteLength(json, 'utf8');
      if (bytes > limits.maxItemBytes) {
        throw new InvalidSessionItemsError(
          `${path} is ${bytes} bytes of JSON; at most ${limits.maxItemBytes} are allowed (limits.maxItemBytes). Store large payloads elsewhere and keep a reference in the item.`,
        );
      }
    }
    out[i] = json;
    upperBytes += json.length * 3;
  }
  if (upperBytes > limits.maxBatchBytes) {
    let bytes = 0;
    for (const json of out) bytes += Buffer.byteLength(json, 'utf8');
    if (bytes > limits.maxBatchBytes) {
      throw new InvalidSessionItemsError(
        `these ${out.length} items are ${bytes} bytes of JSON in all; at most ${limits.maxBatchBytes} are allowed in one write (limits.maxBatchBytes). Raise the limit, or add the items in several calls.`,
      );
    }
  }
  return out;
}

/**
 * Whether `value` passes `checkValue` (same rules, same order), without building any path: the
 * common case, valid items, costs no string per node.
 */
function storable(value: unknown, depth: number, ancestors: object[], maxDepth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false; // bigint, function, symbol
  }
  if (value === null) return true;
  const obj = value as object;
  if (depth >= maxDepth || ancestors.includes(obj)) return false;
  ancestors.push(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const element: unknown = obj[i];
      if (element === undefined || typeof element === 'function' || typeof element === 'symbol') return false;
      if (!storable(element, depth + 1, ancestors, maxDepth)) return false;
    }
  } else {
    if (!isPlainObjectPrototype(Object.getPrototypeOf(obj))) return false;
    for (const key in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
      if (!storable((obj as Record<string, unknown>)[key], depth + 1, ancestors, maxDepth)) return false;
    }
  }
  ancestors.pop();
  return true;
}

function checkValue(value: unknown, path: string, depth: number, ancestors: object[], maxDepth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new InvalidSessionItemsError(
          `${path} is ${value}, which JSON cannot represent. Use a finite number, a string or null.`,
        );
      }
      return;
    case 'undefined':
      return; // only reached for object properties: JSON leaves them out, as the Agents SDK expects
    case 'bigint':
      throw new InvalidSessionItemsError(
        `${path} is a bigint, which JSON cannot represent. Convert it to a string or a number.`,
      );
    case 'function':
      throw new InvalidSessionItemsError(`${path} is a function, which cannot be stored. Remove it from the item.`);
    case 'symbol':
      throw new InvalidSessionItemsError(`${path} is a symbol, which cannot be stored. Remove it from the item.`);
  }
  if (value === null) return;
  const obj = value as object;
  if (depth >= maxDepth) {
    throw new InvalidSessionItemsError(
      `${path} is nested deeper than ${maxDepth} levels (limits.maxDepth). Flatten the item or store the payload as a string.`,
    );
  }
  if (ancestors.includes(obj)) {
    throw new InvalidSessionItemsError(
      `${path} refers back to one of its own parents (a cycle), which JSON cannot represent. Remove the cycle.`,
    );
  }
  ancestors.push(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const element = obj[i];
      if (element === undefined || typeof element === 'function' || typeof element === 'symbol') {
        throw new InvalidSessionItemsError(
          `${path}[${i}] is ${typeof element}, which JSON would turn into null. Remove it or use null.`,
        );
      }
      checkValue(element, `${path}[${i}]`, depth + 1, ancestors, maxDepth);
    }
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (!isPlainObjectPrototype(proto)) {
      const name = (proto && proto.constructor && proto.constructor.name) || 'an object with a custom prototype';
      throw new InvalidSessionItemsError(
        `${path} is an instance of ${name}, not a plain object; it would not read back the same. Convert it to plain data (for a Date, an ISO string).`,
      );
    }
    for (const key of Object.keys(obj)) {
      checkValue((obj as Record<string, unknown>)[key], childPath(path, key), depth + 1, ancestors, maxDepth);
    }
  }
  ancestors.pop();
}

/**
 * Whether `proto` is that of a plain object: `null`, or `Object.prototype` of this realm or of another one.
 * Objects from another realm are common: the Agents SDK runner copies items with `structuredClone`, whose
 * copies belong to Node's main realm even when the caller runs in a `vm` context such as Jest's sandbox.
 * @internal
 */
export function isPlainObjectPrototype(proto: unknown): boolean {
  if (proto === null || proto === Object.prototype) return true;
  if (typeof proto !== 'object' || Object.getPrototypeOf(proto) !== null) return false;
  const ctor = (proto as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name === 'Object' && (ctor as { prototype?: unknown }).prototype === proto;
}

/** `path.key` for an identifier key, `path["key"]` (JSON-quoted) for any other: no raw control character reaches a message. */
function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
