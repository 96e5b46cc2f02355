/** Option checks shared by both executors: each error names the option. */
import os from 'node:os';

/** The most workers one executor may have (the core numbers them in 15 bits). */
export const MAX_WORKERS = 32766;

/** The most tasks per worker before it is recycled (the core counts them in 32 bits). */
export const MAX_TASKS_PER_WORKER = 0xffffffff;

export function checkPositiveInteger(name: string, value: unknown, fallback?: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a positive integer, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  if (value > max) throw new RangeError(`${name} must be at most ${max}, got ${value}`);
  return value;
}

/** `worker_threads` resource limits: an object of positive numbers (in MB). */
export function checkResourceLimits(value: unknown): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`resourceLimits must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  for (const key of ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb']) {
    const limit = (value as Record<string, unknown>)[key];
    if (limit === undefined) continue;
    if (typeof limit !== 'number') throw new TypeError(`resourceLimits.${key} must be a number of megabytes, got ${typeof limit}`);
    if (Number.isNaN(limit) || limit <= 0) throw new RangeError(`resourceLimits.${key} must be a positive number of megabytes, got ${limit}`);
  }
  return value as Record<string, number>;
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
  // An argument list, copied into a plain array as a call's rest parameter would be (the items
  // themselves are cloned later): a proxy of an array is read through its traps here, once.
  return Array.prototype.slice.call(value);
}
