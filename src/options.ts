/** Option checks shared by both executors: each error names the option. */
import os from 'node:os';

export function checkPositiveInteger(name: string, value: unknown, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a positive integer, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function defaultWorkers(): number {
  return os.availableParallelism();
}

export function checkStringArray(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${name} must be an array of strings`);
  return value;
}

export function checkEnv(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError('env must be an object of strings');
  return value as Record<string, string>;
}

export function checkArray(name: string, value: unknown): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array`);
  return value;
}
