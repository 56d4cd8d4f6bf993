import { createRequire } from 'module';
import { isPlainObjectPrototype } from '../validation';

/**
 * Why a value cannot be snapshotted: its path (`transaction.items[2].providerData`) and the rule it breaks.
 * @internal
 */
export class SnapshotRefusal extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/**
 * A deep copy of `value` made of what a history transaction may hold, by the rules of the Agents
 * SDK's `MemorySession`: strings, finite or not numbers, booleans, null, undefined, plain objects
 * (prototype `Object.prototype`, of any realm, or null) and arrays whose every own property is an enumerable data
 * property with a string key (no getters, no symbols, no holes, no extra array properties), and no
 * cycles. A Proxy is refused (it cannot be structured-cloned), so the copy is never read through
 * traps twice. Unlike `MemorySession`, a `Uint8Array` is refused too: JSON cannot store it.
 * @throws SnapshotRefusal naming the first offending path.
 * @internal
 */
export function strictSnapshot(value: unknown, path: string): unknown {
  try {
    structuredClone(value);
  } catch {
    throw new SnapshotRefusal(
      path,
      'cannot be copied (a Proxy, a function, a class instance or another uncloneable value).',
    );
  }
  return copy(value, path, new Set());
}

function copy(value: unknown, path: string, ancestors: Set<object>): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
      return value;
    case 'object':
      break;
    default:
      throw new SnapshotRefusal(path, `is a ${typeof value}, which a history transaction cannot hold.`);
  }
  const object = value as object;
  if (ancestors.has(object)) throw new SnapshotRefusal(path, 'refers back to itself (a cycle).');
  ancestors.add(object);
  try {
    return Array.isArray(object) ? copyArray(object, path, ancestors) : copyObject(object, path, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function copyArray(array: unknown[], path: string, ancestors: Set<object>): unknown[] {
  const length = array.length;
  const keys = Reflect.ownKeys(array);
  if (keys.length !== length + 1) {
    throw new SnapshotRefusal(path, 'is an array with holes or extra properties.');
  }
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++)
    out[i] = copy(dataProperty(array, String(i), `${path}[${i}]`), `${path}[${i}]`, ancestors);
  return out;
}

function copyObject(object: object, path: string, ancestors: Set<object>): Record<string, unknown> {
  const prototype = Object.getPrototypeOf(object);
  if (!isPlainObjectPrototype(prototype)) {
    const name = (prototype as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    throw new SnapshotRefusal(path, `is an instance of ${name}; only plain objects and arrays can be stored.`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(object)) {
    if (typeof key !== 'string') throw new SnapshotRefusal(path, 'has a symbol key.');
    const child = `${path}.${key}`;
    // defineProperty: a key named __proto__ is copied as the own property it is, never as a prototype.
    Object.defineProperty(out, key, {
      value: copy(dataProperty(object, key, child), child, ancestors),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function dataProperty(object: object, key: string, path: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  if (!descriptor || !('value' in descriptor))
    throw new SnapshotRefusal(path, 'is missing or is an accessor (a getter).');
  if (!descriptor.enumerable) throw new SnapshotRefusal(path, 'is not enumerable: JSON would drop it silently.');
  return descriptor.value;
}

/** The Agents SDK's own schema of a model item (`protocol.ModelItem`), when `@openai/agents-core` is installed. */
type ItemSchema = { safeParse(value: unknown): { success: boolean } };
let itemSchema: ItemSchema | null | undefined;

/**
 * Whether `item` is a model item by the Agents SDK's schema, as `MemorySession` checks it; `true`
 * when `@openai/agents-core` is not installed (then nothing but the SDK could call with its items).
 * @internal
 */
export function isModelItem(item: unknown): boolean {
  if (itemSchema === undefined) {
    try {
      const core = createRequire(__filename)('@openai/agents-core') as { protocol?: { ModelItem?: ItemSchema } };
      itemSchema = core.protocol?.ModelItem ?? null;
    } catch {
      itemSchema = null;
    }
  }
  return itemSchema === null || itemSchema.safeParse(item).success;
}
