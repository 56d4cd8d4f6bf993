import type { AddItemsOptions } from '../interfaces';

export type { AddItemsOptions } from '../interfaces';

/** True for a plain options object (not, say, a RunContext some caller passed along). @internal */
export function isAddItemsOptions(value: unknown): value is AddItemsOptions {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
