/**
 * What can be submitted: a self-contained function (sent by its source text), a built-in
 * reachable from `globalThis` (sent by its path), or a `task()` reference to a module's export.
 * `describeTask` turns each into the descriptor a worker finds it again by.
 */
import { type Stats, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { types } from 'node:util';

import { writeDescriptor } from '../wire/task-descriptor.js';
import { capturedNames } from './captures.js';
import { readSource, type SourceShape } from './task-source.js';

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

/** `T`, where the checker infers nothing (TypeScript 5.4's `NoInfer`, for older compilers too). */
export type NotInferred<T> = [T][T extends unknown ? 0 : never];

/**
 * A reference to the export `exportName` of a module (ESM or CommonJS; for CommonJS, `'default'`
 * is `module.exports`). Relative paths resolve against the current working directory, now, and
 * the module is looked for now: a path with no file behind it, or a package that cannot be
 * found, is a `TypeError` from `task()` itself (not from the first task that uses it).
 *
 * `F` is the export's type, for the type checker: `task<typeof import('./m.js').f>('./m.js', 'f')`
 * makes `submit` and `map` check the arguments and type the results. Without it, anything goes.
 */
export function task<F extends TaskFunction = TaskFunction>(module: string | URL, exportName?: string): TaskRef<NotInferred<F>>;
export function task(module: string | URL, exportName = 'default'): TaskRef {
  if (typeof exportName !== 'string' || exportName === '') throw new TypeError('task(): exportName must be a non-empty string');
  let specifier: string;
  if (module instanceof URL) specifier = module.href;
  else if (typeof module !== 'string' || module === '') throw new TypeError('task(): module must be a non-empty string or a URL');
  else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(module) && !path.isAbsolute(module)) specifier = module;
  else if (module.startsWith('.') || path.isAbsolute(module)) specifier = pathToFileURL(path.resolve(module)).href;
  else specifier = module;
  checkModule(specifier, module);
  return new TaskRef(specifier, exportName);
}

/** Throws a `TypeError` when the module `specifier` (written `given`) cannot be there. */
function checkModule(specifier: string, given: string | URL): void {
  if (specifier.startsWith('file:')) {
    const file = fileURLToPath(specifier);
    let stats: Stats | undefined;
    try {
      stats = statSync(file);
    } catch {
      // Not there: said below.
    }
    if (stats?.isFile()) return;
    const relative = typeof given === 'string' && given.startsWith('.') ? ` (resolved from '${given}' against ${process.cwd()})` : '';
    const what = stats === undefined ? `there is no file at ${file}` : `${file} is a directory, not a module's file`;
    throw new TypeError(`task(): ${what}${relative}; a task() path names the module's file, with its extension`);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier)) return; // node:, data:, https:...: the runtime's to judge
  try {
    createRequire(path.join(process.cwd(), 'noop.js')).resolve(specifier);
  } catch (error) {
    // A package may be for `import` only (`exports` without `require`): only "not found" is sure.
    if ((error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND') {
      throw new TypeError(`task(): cannot find the package '${specifier}' from ${process.cwd()}; a relative path starts with ./ or ../`);
    }
  }
}

/** What a task function travels as, and what it needs from the worker's global scope. */
export interface Described {
  /** The descriptor (JSON text) a worker finds the function by. */
  readonly descriptor: string;
  /** Names a function sent by source reads without declaring them (none for the rest). */
  readonly reads: readonly string[];
  /**
   * The globals it defines when it runs, as far as its source tells (see `SourceShape.defines`):
   * an initializer's make names the tasks may read. `null` when that cannot be told (a `task()`).
   */
  readonly defines: readonly string[] | null;
}

const described = new WeakMap<object, Described>();
/** Closures made in a loop are new objects with the same source: describe each source once. */
const bySource = new Map<string, Described>();
const MAX_SOURCES = 10_000;
let nativePaths: WeakMap<Function, string> | undefined;

/**
 * @internal What a task function travels as. Throws `TypeError` for what cannot be submitted: a
 * bound function, a class, a getter, a Proxy, a native function not reachable from `globalThis`,
 * a function that uses `this` or a variable it captured, or a non-function.
 */
export function describeTask(fn: unknown, what = 'submit()'): Described {
  if ((typeof fn !== 'function' && !(fn instanceof TaskRef)) || fn === null) {
    throw new TypeError(`${what} expects a function or a task() reference, got ${fn === null ? 'null' : typeof fn}`);
  }
  let known = described.get(fn);
  if (known === undefined) {
    if (fn instanceof TaskRef) {
      known = { descriptor: writeDescriptor({ module: fn.module, export: fn.exportName }), reads: [], defines: null };
      described.set(fn, known);
    } else {
      known = describeFunction(fn, what);
    }
  }
  return known;
}

/**
 * @internal A task function that arrived as its descriptor (a distributed worker host's job):
 * an object `submit` and `map` take, which travels to this process's workers as that descriptor.
 * The client checked the function when it was submitted; here it is only passed on.
 */
export function taskFromDescriptor(descriptor: string): TaskRef {
  const ref = new TaskRef('descriptor:', 'default');
  described.set(ref, { descriptor, reads: [], defines: null });
  return ref;
}

const SUBMITTABLE =
  'submit a self-contained function (sent by its source), a built-in reachable from globalThis such as Math.pow, or task(module, exportName)';
const SENT_BY_SOURCE = 'task functions are sent to workers by their source text, so they cannot use variables from the scope they were written in: pass values as arguments, or use task() to run a module export';

function describeFunction(fn: Function, what: string): Described {
  const source = Function.prototype.toString.call(fn);
  // A Proxy's source is a native function's, which is never kept by source: a known source is
  // a function's own (asked first: `isProxy` is a call into the runtime, on every submit of a
  // closure made anew).
  const known = bySource.get(source);
  if (known !== undefined) return known;
  if (types.isProxy(fn)) throw new TypeError(`${what}: a Proxy cannot be submitted (what it wraps is not sent with it); submit the function itself`);
  const result = describeSource(fn, source, what);
  // A built-in's source is `[native code]`, the same for all: kept by the function instead.
  if (result.descriptor.startsWith('{"path"')) described.set(fn, result);
  else {
    // Bounded: past this many sources, start afresh (rather than stop remembering, which would
    // parse every later closure anew on each submit).
    if (bySource.size >= MAX_SOURCES) bySource.clear();
    bySource.set(source, result);
  }
  return result;
}

function describeSource(fn: Function, source: string, what: string): Described {
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    if (fn.name.startsWith('bound ')) {
      throw new TypeError(`${what}: a bound function cannot be submitted (its bound this and arguments cannot travel); pass the arguments to submit() instead`);
    }
    const found = nativePathOf(fn);
    if (found === undefined) throw new TypeError(`${what}: native function ${fn.name || '(anonymous)'} is not reachable from globalThis; ${SUBMITTABLE}`);
    return { descriptor: writeDescriptor({ path: found }), reads: [], defines: [] };
  }
  const shape = readSource(source);
  if (typeof shape === 'string') throw new TypeError(`${what}: ${shape}; ${SUBMITTABLE}`);
  // A task is called as a plain function: `this` is `undefined` (strict) or the global object
  // (sloppy), as a plain call would give it where it was written. A method is written to be
  // called on its object, and an arrow's `this` is its scope's: neither travels.
  if (shape.usesThis && (shape.method || shape.arrow)) {
    const whose = shape.method ? 'a method that uses `this` (its object does not travel with it)' : 'an arrow function that uses `this` of the scope it was written in';
    throw new TypeError(`${what}: ${whose} cannot be sent by its source text: pass what it needs as arguments, or use task()`);
  }
  for (const name of shape.read) {
    const helper = compilerHelper(name);
    if (helper !== undefined) throw new TypeError(`${what}: the function uses ${name}, ${helper}`);
  }
  // A name the worker has as a global, which the function took from its own scope instead.
  const captured = capturedNames(fn, shape.free.filter(isWorkerGlobal)) ?? [];
  if (captured.length > 0) {
    throw new TypeError(`${what}: ${captured.join(', ')} ${captured.length > 1 ? 'are variables' : 'is a variable'} of the scope the function was written in, not the worker's global of that name; ${SENT_BY_SOURCE}`);
  }
  // Functions in sloppy mode have `caller` of their own; strict ones (all code of modules and
  // classes) and arrows, methods and async functions do not, and are compiled strict. A sloppy
  // one's assignments to undeclared names make globals, which the worker removes after each call.
  const sloppy = Object.prototype.hasOwnProperty.call(fn, 'caller');
  const descriptor = writeDescriptor(sloppy ? { source, name: fn.name, sloppy: true, assigns: shape.assigned } : { source, name: fn.name });
  return { descriptor, reads: sloppy ? sloppyReads(fn, shape) : shape.read, defines: shape.defines };
}

/**
 * What a sloppy function reads that must be the worker's: not a name it assigns first (that makes
 * a global, `tmp = 7; return tmp`) nor one read inside a `with` (the object may have it), unless
 * it captured that name where it was written (then it is refused as any other capture).
 */
function sloppyReads(fn: Function, shape: SourceShape): readonly string[] {
  const mayBeGlobal = shape.read.filter((name) => shape.assigned.includes(name) || shape.readInWith.includes(name));
  if (mayBeGlobal.length === 0) return shape.read;
  const captured = capturedNames(fn, mayBeGlobal);
  if (captured === undefined) return shape.read;
  return shape.read.filter((name) => !mayBeGlobal.includes(name) || captured.includes(name));
}

/** Why `name` is a compiler's helper or renamed import, if it looks like one. */
function compilerHelper(name: string): string | undefined {
  if (/^(__[A-Za-z]+|_(asyncToGenerator|regeneratorRuntime|defineProperty|objectSpread2?|classCallCheck|createClass|interopRequireDefault|slicedToArray|toConsumableArray|extends|typeof)|regeneratorRuntime)$/.test(name)) {
    return 'a helper your compiler added where the function was written (tslib, Babel, esbuild): compile to ES2017 or later so that it needs none, or put the function in a module and use task()';
  }
  if (/^[A-Za-z]\w*_\d+$/.test(name)) return 'which your compiler made of an import: a function sent by its source text cannot use imports; put it in a module and use task()';
  return undefined;
}

/** The globals a worker has: this thread's own when this module loaded (the runtime's), plus `Object.prototype`'s. */
const WORKER_GLOBALS = new Set(Object.getOwnPropertyNames(globalThis));

function isWorkerGlobal(name: string): boolean {
  return WORKER_GLOBALS.has(name) || name in Object.prototype;
}

/**
 * @internal Throws a `TypeError` for a name a function sent by source reads that the worker does
 * not have as a global: the runtime's, or one the executor's initializer defines
 * (`initializerDefines`; `null` when that cannot be told, which lets every name pass).
 */
export function checkWorkerScope(task: Described, what: string, initializerDefines: readonly string[] | null): void {
  if (initializerDefines === null || task.reads.length === 0) return;
  const missing = task.reads.filter((name) => !isWorkerGlobal(name) && !WORKER_NAMES.includes(name) && !initializerDefines.includes(name));
  if (missing.length > 0) {
    throw new TypeError(`${what}: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not defined in the worker; ${SENT_BY_SOURCE}`);
  }
}

/** Names a task sent by source finds in the worker besides the runtime's globals (see `worker/functions.ts`). */
const WORKER_NAMES: readonly string[] = ['move', 'currentTask'];

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
