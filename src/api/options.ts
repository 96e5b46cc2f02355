/**
 * Options of both pools, parsed by one function from a table of checks: each error names the
 * option it is about.
 */
import os from 'node:os';

import { maxWorkersAllowed } from '../wire/native.js';
import { checkKnownKeys } from './option-keys.js';
import { checkWorkerScope, type Described, describeTask } from './task.js';

/** A check of one option: its value (`undefined` when not given) → what the pool keeps. */
type Check<T> = (value: unknown, name: string) => T;
type Parsed<C extends Record<string, Check<unknown>>> = { [K in keyof C]: ReturnType<C[K]> };

/**
 * Checks `options` (an object, or `undefined` for none) with `checks`, in the table's order; answers
 * what each check kept. `executor` names the class in the errors.
 */
export function parseOptions<C extends Record<string, Check<unknown>>>(executor: string, options: unknown, checks: C): Parsed<C> {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw new TypeError(`${executor} options must be an object`);
  checkKnownKeys(executor, options, Object.keys(checks));
  const parsed = {} as Record<string, unknown>;
  for (const name of Object.keys(checks)) parsed[name] = checks[name]!((options as Record<string, unknown>)[name], name);
  return parsed as Parsed<C>;
}

/** The most tasks per worker before it is recycled (the core counts them in 32 bits). */
export const MAX_TASKS_PER_WORKER = 0xffffffff;

/** `maxWorkers`: default `os.availableParallelism()`, at most what the system lets this process run. */
export const maxWorkers: Check<number> = (value, name) => checkPositiveInteger(name, value, maxWorkersAllowed()) ?? os.availableParallelism();

/** `maxTasksPerWorker` / `maxTasksPerChild`: recycle a worker after this many tasks. */
export const maxTasks: Check<number | undefined> = (value, name) => checkPositiveInteger(name, value, MAX_TASKS_PER_WORKER);

/** `initializer`: what it travels as; a function sent by source may read only the worker's globals. */
export const initializer: Check<Described | undefined> = (value, name) => {
  if (value === undefined) return undefined;
  const described = describeTask(value, name);
  checkWorkerScope(described, name, []);
  return described;
};

/** `initargs`: an argument list, copied into a plain array as a call's rest parameter would be
 * (the items themselves are cloned later); a proxy of an array is read through its traps here, once. */
export const argumentList: Check<unknown[]> = (value, name) => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array`);
  return Array.prototype.slice.call(value);
};

export const stringArray: Check<string[] | undefined> = (value, name) => {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${name} must be an array of strings`);
  return value;
};

/** `abortGrace`: milliseconds (>= 0, or `Infinity`: never) before an aborted task is stopped; default 100. */
export const abortGrace: Check<number> = (value, name) => {
  if (value === undefined) return 100;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number of milliseconds (or Infinity), got ${value === null ? 'null' : typeof value}`);
  if (!(value >= 0)) throw new RangeError(`${name} must be >= 0 (or Infinity), got ${value}`);
  return value;
};

/** A boolean option, `false` when not given. */
export const flag: Check<boolean> = (value, name) => {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${value === null ? 'null' : typeof value}`);
  return value === true;
};

export const optionalString: Check<string | undefined> = (value, name) => {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
};

/** `env`: an object of strings (`process.env` too: a key whose value is `undefined` is left out). */
export const environment: Check<Record<string, string> | undefined> = (value, name) => {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be an object of strings`);
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(value as Record<string, unknown>);
  } catch {
    return value as Record<string, string>; // read where the worker starts, which says what failed
  }
  if (entries.every(([, v]) => v !== undefined)) return value as Record<string, string>;
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Record<string, string>;
};

/** `worker_threads` resource limits: an object of positive numbers (in MB). */
export const resourceLimits: Check<Record<string, number> | undefined> = (value, name) => {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  for (const key of ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb']) {
    const limit = (value as Record<string, unknown>)[key];
    if (limit === undefined) continue;
    if (typeof limit !== 'number') throw new TypeError(`${name}.${key} must be a number of megabytes, got ${typeof limit}`);
    if (Number.isNaN(limit) || limit <= 0) throw new RangeError(`${name}.${key} must be a positive number of megabytes, got ${limit}`);
  }
  return value as Record<string, number>;
};

function checkPositiveInteger(name: string, value: unknown, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a positive integer, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  if (value > max) throw new RangeError(`${name} must be at most ${max}, got ${value}`);
  return value;
}
