/**
 * Task functions on the worker side: a descriptor (see `wire/task-descriptor.ts`) turned back into
 * something to call, compiled or imported once per worker.
 */
import { currentTask } from '../api/current-task.js';
import { move } from '../api/transfer.js';
import type { TaskDescriptor } from '../wire/task-descriptor.js';

export type Callable = (...args: unknown[]) => unknown;

/**
 * Turns a descriptor back into a callable (see `api/task.ts`). `initializer`: the globals a
 * sloppy function makes are kept (that is what an initializer is for); a task's are removed
 * after each call, so that no task leaves globals behind for the next.
 */
export async function resolve(descriptor: TaskDescriptor, initializer = false): Promise<Callable> {
  if ('source' in descriptor) {
    const fn = compile(descriptor.source, descriptor.name, descriptor.sloppy === true);
    const assigns = descriptor.assigns ?? [];
    return initializer || assigns.length === 0 ? fn : leavingNoGlobals(fn, assigns);
  }
  if ('path' in descriptor) {
    const keys = descriptor.path.split('.');
    const owner = keys.slice(0, -1).reduce<any>((object, key) => object?.[key], globalThis);
    const fn = owner?.[keys[keys.length - 1]!];
    if (typeof fn !== 'function') throw new TypeError(`${descriptor.path} is not a function in this worker`);
    // A prototype's method runs unbound, as `const f = Array.prototype.push; f(7)` does on the
    // main thread (a TypeError, never a push onto this worker's prototype). A namespace's
    // function (`console.log`, `crypto.getRandomValues`) keeps its namespace, which some need.
    const self = keys[keys.length - 2] === 'prototype' ? undefined : owner;
    return (...args) => fn.apply(self, args);
  }
  const imported = await import(descriptor.module);
  let fn = imported[descriptor.export];
  // A CommonJS module whose exports Node cannot detect statically (`module.exports = make()`):
  // its names are properties of `module.exports`, which is the default export.
  if (fn === undefined && descriptor.export !== 'default' && imported.default != null) fn = imported.default[descriptor.export];
  if (typeof fn !== 'function') {
    throw new TypeError(`task(${descriptor.module}, ${descriptor.export}): the export is ${typeof fn}, not a function`);
  }
  return fn as Callable;
}

/** What a function sent by source finds in scope besides the worker's globals (`api/task.ts` lets them pass). */
const TASK_NAMES = ['move', 'currentTask'];
const TASK_VALUES = [move, currentTask];

/**
 * Compiles a function's source in the global scope (so it sees no module variables), in strict
 * mode unless it was written in sloppy code: what it does with `this` and undeclared names is
 * then what it did where it was written.
 */
function compile(source: string, name: string, sloppy: boolean): Callable {
  const mode = sloppy ? '' : '"use strict";';
  // The names the package gives a task (`move`) are parameters of a function around it.
  const inScope = (expression: string): unknown => (0, eval)(`(function (${TASK_NAMES.join(', ')}) {${mode} return (${expression}\n); })`)(...TASK_VALUES);
  try {
    return inScope(source) as Callable;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method written with the shorthand syntax: `f(x) { ... }`, `async f() {}`, `*f() {}`.
    const holder = inScope(`{ ${source}\n}`) as Record<string, Callable>;
    const fn = holder[name] ?? Object.values(holder)[0];
    if (typeof fn !== 'function') throw error;
    return fn;
  }
}


/** `fn`, which assigns the undeclared `names`; those of them it makes globals are deleted after each call. */
function leavingNoGlobals(fn: Callable, names: readonly string[]): Callable {
  return (...args) => {
    const made = names.filter((name) => !Object.prototype.hasOwnProperty.call(globalThis, name));
    const remove = (): void => {
      for (const name of made) delete (globalThis as Record<string, unknown>)[name];
    };
    let result: unknown;
    try {
      result = fn(...args);
    } catch (error) {
      remove();
      throw error;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function') || typeof (result as PromiseLike<unknown>).then !== 'function') {
      remove();
      return result;
    }
    return Promise.resolve(result).finally(remove);
  };
}
