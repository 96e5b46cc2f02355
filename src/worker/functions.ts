/**
 * Task functions on the worker side: a descriptor (see `wire/task-descriptor.ts`) turned back into
 * something to call, compiled or imported once per worker.
 */
import type { TaskDescriptor } from '../wire/task-descriptor.js';

export type Callable = (...args: unknown[]) => unknown;

/** Turns a descriptor back into a callable (see `api/task.ts`). */
export async function resolve(descriptor: TaskDescriptor): Promise<Callable> {
  if ('source' in descriptor) return compile(descriptor.source, descriptor.name);
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

/** Compiles a function's source in the global scope (so it sees no module variables). */
function compile(source: string, name: string): Callable {
  try {
    return (0, eval)(`(${source}\n)`) as Callable;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method written with the shorthand syntax: `f(x) { ... }`, `async f() {}`, `*f() {}`.
    const holder = (0, eval)(`({ ${source}\n})`) as Record<string, Callable>;
    const fn = holder[name] ?? Object.values(holder)[0];
    if (typeof fn !== 'function') throw error;
    return fn;
  }
}

