/**
 * Errors on the wire: a thrown value travels as a plain descriptor (name, message, stack, own
 * properties, cause) and is rebuilt on the other side, built-in classes as themselves.
 */
import { types } from 'node:util';

/** The DOM's `DataCloneError`, as a `TypeError` by that name (so that it is an `Error` everywhere). */
export function cloneError(message: string): TypeError {
  const error = new TypeError(message);
  error.name = 'DataCloneError';
  return error;
}

/** `error` as a `DataCloneError` when it is a failure to clone (V8 throws plain `Error`s for some). */
export function asCloneError(error: unknown): unknown {
  if (error instanceof Error && (error.name === 'DataCloneError' || /could not be cloned/.test(error.message))) {
    return error.name === 'DataCloneError' && error instanceof TypeError ? error : cloneError(error.message);
  }
  return error;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export interface ErrorDescriptor {
  /** A thrown non-Error value, as itself. */
  thrown?: unknown;
  ctor?: string;
  name?: string;
  message?: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: ErrorDescriptor;
  errors?: ErrorDescriptor[];
}

function isError(value: unknown): value is Error {
  return types.isNativeError(value) || (!types.isProxy(value) && value instanceof Error);
}

/**
 * Turns any thrown value into a descriptor: a non-error as itself (`thrown`), an error as its
 * class, name, message, stack, own enumerable properties, cause and (for an `AggregateError`)
 * errors. Never throws: whatever cannot be read (a getter that throws) is left out, alone. The
 * descriptor may still hold what cannot be cloned (see `wireError`).
 */
export function describeError(error: unknown, depth = 0, chain: unknown[] = []): ErrorDescriptor {
  try {
    if (!isError(error) || depth > 8) return { thrown: error };
  } catch {
    return { thrown: error }; // a prototype chain that throws when looked at
  }
  const descriptor: ErrorDescriptor = { ctor: attempt(() => builtinName(error)) };
  const name = attempt(() => error.name);
  const message = attempt(() => error.message);
  const stack = attempt(() => error.stack);
  if (typeof name === 'string') descriptor.name = name;
  if (typeof message === 'string') descriptor.message = message;
  if (typeof stack === 'string') descriptor.stack = stack;
  descriptor.props = ownProperties(error);
  chain.push(error);
  // A cause that is the error itself or one of its effects (a cycle) is left out: a descriptor
  // is a tree.
  const cause = attempt(() => (Object.prototype.hasOwnProperty.call(error, 'cause') ? { value: error.cause } : undefined));
  if (cause !== undefined && !chain.includes(cause.value)) descriptor.cause = describeError(cause.value, depth + 1, chain);
  if (attempt(() => error instanceof AggregateError)) {
    const errors = attempt(() => (error as AggregateError).errors);
    if (Array.isArray(errors)) descriptor.errors = errors.map((e) => describeError(e, depth + 1, [...chain]));
  }
  return descriptor;
}

/**
 * `make()` with no stack trace captured (`Error.stackTraceLimit` 0 meanwhile, then as it was; left
 * alone if it cannot be set).
 */
function withoutStackTrace<T>(make: () => T): T {
  const own = Object.prototype.hasOwnProperty.call(Error, 'stackTraceLimit');
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return make(); // frozen
  }
  try {
    return make();
  } finally {
    if (own) Error.stackTraceLimit = limit;
    else delete (Error as { stackTraceLimit?: number }).stackTraceLimit;
  }
}

/** `error`'s own enumerable properties but `cause` (kept apart), each read once; one that throws is left out. */
function ownProperties(error: Error): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  const keys = attempt(() => Object.keys(error)) ?? [];
  for (const key of keys) {
    if (key === 'cause') continue;
    try {
      setOwn(props, key, (error as unknown as Record<string, unknown>)[key]);
    } catch {
      // a getter that throws: this property alone is left out
    }
  }
  return props;
}

/** Defines `object[key] = value` as an own data property, even for `__proto__`. */
function setOwn(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}

/** What `read` gives, or `undefined` when it throws. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function builtinName(error: Error): string | undefined {
  if (typeof DOMException !== 'undefined' && error instanceof DOMException) return 'DOMException';
  if (error instanceof TypeError && attempt(() => error.name) === 'DataCloneError') return 'TypeError';
  if (error instanceof AggregateError) return 'AggregateError';
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (typeof name === 'string' && BUILTIN_ERRORS[name] === proto.constructor) return name;
  }
  return undefined;
}

/** Rebuilds the thrown value described by `descriptor` (built-in classes as themselves). */
export function rebuildError(descriptor: ErrorDescriptor): unknown {
  if ('thrown' in descriptor) return descriptor.thrown;
  const { ctor = 'Error', name = 'Error', message = '' } = descriptor;
  const make = (): Error => {
    if (ctor === 'DOMException') return new DOMException(message, name);
    if (ctor === 'AggregateError') return new AggregateError((descriptor.errors ?? []).map(rebuildError), message);
    return new (BUILTIN_ERRORS[ctor] ?? Error)(message);
  };
  // The sender's stack replaces this side's: capturing this one would be wasted, and formatting it
  // (which replacing `stack` does) is most of what rebuilding an error costs.
  const error = descriptor.stack === undefined ? make() : withoutStackTrace(make);
  if (error.name !== name) {
    Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  }
  if (descriptor.cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: rebuildError(descriptor.cause), writable: true, configurable: true, enumerable: false });
  }
  // Each as an own data property: a key named `__proto__` is a property, never the prototype.
  if (descriptor.props) for (const key of Object.keys(descriptor.props)) setOwn(error, key, descriptor.props[key]);
  if (descriptor.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: descriptor.stack, writable: true, configurable: true, enumerable: false });
  }
  return error;
}
