/**
 * Which names a function took from the scope it was written in. A function sent by source runs
 * in the worker's global scope, so a name it captured (`const URL = '...'` around it) would there
 * mean the worker's global of that name instead, silently. Only the engine knows a closure's
 * scopes: V8 shows them to the inspector (`[[Scopes]]`), which this asks, on this thread,
 * synchronously, once per function source.
 */
import type { Session } from 'node:inspector';

let session: Session | null | undefined;

/** The in-thread inspector session; `null` where there is none (a runtime without it). */
function inspector(): Session | null {
  if (session === undefined) {
    try {
      const { Session } = require('node:inspector') as typeof import('node:inspector');
      session = new Session();
      session.connect();
    } catch {
      session = null;
    }
  }
  return session;
}

/** Sends an inspector command and answers its result, or `undefined` when it failed. */
function post<T>(method: string, params: object): T | undefined {
  let result: T | undefined;
  inspector()?.post(method, params, (error, answer) => {
    if (error === null) result = answer as T;
  });
  return result;
}

interface RemoteObject {
  objectId?: string;
  description?: string;
}
interface PropertyList {
  result: Array<{ name: string; value?: RemoteObject }>;
  internalProperties?: Array<{ name: string; value?: RemoteObject }>;
}

const GROUP = 'concurrent-futures-captures';
const HOLDER = Symbol.for('concurrent-futures.captures');

/**
 * Of `names`, those `fn` captured: bound in one of its closure, block, script or module scopes
 * rather than the global one. `undefined` when that cannot be told here.
 */
export function capturedNames(fn: Function, names: readonly string[]): string[] | undefined {
  if (names.length === 0 || inspector() === null) return names.length === 0 ? [] : undefined;
  const holder = globalThis as unknown as Record<symbol, unknown>;
  holder[HOLDER] = fn;
  try {
    const found = post<{ result: RemoteObject }>('Runtime.evaluate', { expression: `globalThis[Symbol.for('concurrent-futures.captures')]`, objectGroup: GROUP });
    const fnId = found?.result.objectId;
    if (fnId === undefined) return undefined;
    const internals = post<PropertyList>('Runtime.getProperties', { objectId: fnId, ownProperties: true })?.internalProperties;
    const scopesId = internals?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopesId === undefined) return undefined;
    const scopes = post<PropertyList>('Runtime.getProperties', { objectId: scopesId, ownProperties: true });
    if (scopes === undefined) return undefined;
    const bound = new Set<string>();
    for (const scope of scopes.result) {
      const { objectId, description = '' } = scope.value ?? {};
      if (objectId === undefined || description.startsWith('Global')) continue;
      for (const variable of post<PropertyList>('Runtime.getProperties', { objectId, ownProperties: true })?.result ?? []) bound.add(variable.name);
    }
    return names.filter((name) => bound.has(name));
  } finally {
    delete holder[HOLDER];
    post('Runtime.releaseObjectGroup', { objectGroup: GROUP });
  }
}
