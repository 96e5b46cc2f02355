/**
 * What can be submitted: a self-contained function (sent by its source text), a built-in
 * reachable from `globalThis` (sent by its path), or a `task()` reference to a module's export.
 * `describeTask` turns each into the descriptor a worker finds it again by.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { type TaskDescriptor, writeDescriptor } from '../wire/task-descriptor.js';

export type TaskFunction = (...args: any[]) => any;

/** A reference to a module's export, imported and cached by each worker. See `task()`. */
export class TaskRef<F extends TaskFunction = TaskFunction> {
  /** Carries `F` for the type checker only. */
  declare readonly __signature?: F;

  /** @internal */
  constructor(
    readonly module: string,
    readonly exportName: string,
  ) {
    Object.freeze(this);
  }

  toString(): string {
    return `task(${this.module}, ${this.exportName})`;
  }
}

/** What `submit`, `map` and `initializer` accept. */
export type TaskFn<A extends unknown[] = any[], R = unknown> = ((...args: A) => R) | TaskRef<(...args: A) => R>;

/**
 * A reference to the export `exportName` of a module (ESM or CommonJS; for CommonJS, `'default'`
 * is `module.exports`). Relative paths resolve against the current working directory, now.
 *
 * `F` is the export's type, for the type checker: `task<typeof import('./m.js').f>('./m.js', 'f')`
 * makes `submit` and `map` check the arguments and type the results. Without it, anything goes.
 */
export function task<F extends TaskFunction = TaskFunction>(module: string | URL, exportName?: string): TaskRef<NoInfer<F>>;
export function task(module: string | URL, exportName = 'default'): TaskRef {
  if (typeof exportName !== 'string' || exportName === '') throw new TypeError('task(): exportName must be a non-empty string');
  let specifier: string;
  if (module instanceof URL) specifier = module.href;
  else if (typeof module !== 'string' || module === '') throw new TypeError('task(): module must be a non-empty string or a URL');
  else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(module) && !path.isAbsolute(module)) specifier = module;
  else if (module.startsWith('.') || path.isAbsolute(module)) specifier = pathToFileURL(path.resolve(module)).href;
  else specifier = module;
  return new TaskRef(specifier, exportName);
}

const descriptors = new WeakMap<object, string>();
/** Closures made in a loop are new objects with the same source: describe each source once. */
const bySource = new Map<string, string>();
let nativePaths: WeakMap<Function, string> | undefined;

/**
 * @internal The descriptor of a task function. Throws `TypeError` for what cannot be submitted: a bound
 * function, a class, a native function not reachable from `globalThis`, or a non-function.
 */
export function describeTask(fn: unknown, what = 'submit()'): string {
  if ((typeof fn !== 'function' && !(fn instanceof TaskRef)) || fn === null) {
    throw new TypeError(`${what} expects a function or a task() reference, got ${fn === null ? 'null' : typeof fn}`);
  }
  let descriptor = descriptors.get(fn);
  if (descriptor === undefined) {
    if (fn instanceof TaskRef) {
      descriptor = writeDescriptor({ module: fn.module, export: fn.exportName });
      descriptors.set(fn, descriptor);
    } else {
      descriptor = describeFunction(fn, what);
    }
  }
  return descriptor;
}

const SUBMITTABLE =
  'submit a self-contained function (sent by its source), a built-in reachable from globalThis such as Math.pow, or task(module, exportName)';

function describeFunction(fn: Function, what: string): string {
  const source = Function.prototype.toString.call(fn);
  const known = bySource.get(source);
  if (known !== undefined) return known;
  const described = describeSource(fn, source, what);
  const descriptor = writeDescriptor(described);
  // A built-in's source is `[native code]`, the same for all: kept by the function instead.
  if ('path' in described) descriptors.set(fn, descriptor);
  else if (bySource.size < 10_000) bySource.set(source, descriptor);
  return descriptor;
}

function describeSource(fn: Function, source: string, what: string): TaskDescriptor {
  if (/^class\b/.test(source)) throw new TypeError(`${what}: a class cannot be submitted; ${SUBMITTABLE}`);
  // An accessor's source (`get x() {...}`) compiles to no function of its own in the worker.
  if (/^(get|set)\s/.test(fn.name) && /^(static\s+)?(get|set)[\s[]/.test(source)) {
    throw new TypeError(`${what}: a getter or setter cannot be submitted; ${SUBMITTABLE}`);
  }
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    if (fn.name.startsWith('bound ')) {
      throw new TypeError(`${what}: a bound function cannot be submitted (its bound this and arguments cannot travel); pass the arguments to submit() instead`);
    }
    const found = nativePathOf(fn);
    if (found === undefined) throw new TypeError(`${what}: native function ${fn.name || '(anonymous)'} is not reachable from globalThis; ${SUBMITTABLE}`);
    return { path: found };
  }
  return { source, name: fn.name };
}

/** Breadth-first over `globalThis` (three levels: `String.prototype.at`), shortest path first. */
function nativePathOf(fn: Function): string | undefined {
  if (nativePaths === undefined) {
    nativePaths = new WeakMap();
    const seen = new Set<unknown>([globalThis]);
    let level: Array<[object, string]> = [[globalThis, '']];
    for (let depth = 0; depth < 3 && level.length > 0; depth++) {
      const next: Array<[object, string]> = [];
      for (const [object, prefix] of level) {
        for (const key of Object.getOwnPropertyNames(object)) {
          const descriptor = Object.getOwnPropertyDescriptor(object, key);
          if (descriptor === undefined || !('value' in descriptor)) continue;
          const value: unknown = descriptor.value;
          const name = prefix === '' ? key : `${prefix}.${key}`;
          if (typeof value === 'function' && !nativePaths.has(value)) nativePaths.set(value, name);
          if ((typeof value === 'function' || (typeof value === 'object' && value !== null)) && !seen.has(value)) {
            seen.add(value);
            next.push([value as object, name]);
          }
        }
      }
      level = next;
    }
  }
  return nativePaths.get(fn);
}
