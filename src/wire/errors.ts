/**
 * Errors on the wire: a thrown value travels as a plain descriptor (name, message, stack, own
 * properties, cause) and is rebuilt on the other side, built-in classes and this package's own
 * error classes as themselves.
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

/**
 * This package's error classes, by name (`api/errors.ts`, a layer above, registers them): each
 * side of the wire may have its own copy of the classes (a worker runs a bundled one), so one
 * crosses as its class's name (prefixed, apart from the built-ins') and is made of the receiver's
 * class, e.g. the `TimeoutError` a timed-out task throws from its signal.
 */
const PACKAGE_ERRORS: Record<string, new (message?: string) => Error> = Object.create(null);
/** The mark of this package's error classes, whichever copy of the package made them. */
export const PACKAGE_ERROR = Symbol.for('concurrent-futures.error');

export function registerPackageErrors(classes: Record<string, new (message?: string) => Error>): void {
  Object.assign(PACKAGE_ERRORS, classes);
}

const PACKAGE_PREFIX = 'concurrent-futures:';

export interface ErrorDescriptor {
  /** A thrown non-Error value, as itself. */
  thrown?: unknown;
  /** The nearest built-in class on the error's prototype chain (`PACKAGE_PREFIX` and the name for one of this package's). */
  ctor?: string;
  name?: string;
  message?: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: ErrorDescriptor;
  errors?: ErrorDescriptor[];
  /**
   * A task threw its own signal's reason (`currentTask().signal.reason`): its future fails with the
   * reason it was aborted with, as it would had its worker been stopped (see `isOwnAbortReason`).
   */
  ownReason?: true;
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
    if (typeof name !== 'string') continue;
    if (BUILTIN_ERRORS[name] === proto.constructor) return name;
    // One of this package's classes, from whichever copy of it (a task module imports the package, a worker runs a bundled copy).
    if (Object.hasOwn(PACKAGE_ERRORS, name) && (proto.constructor as { [PACKAGE_ERROR]?: boolean })[PACKAGE_ERROR] === true) return PACKAGE_PREFIX + name;
  }
  return undefined;
}

/** The errors rebuilt from a descriptor marked `ownReason`. */
const ownAbortReasons = new WeakSet<object>();

/** Whether `error` was rebuilt from what a task threw that was its own signal's reason. */
export function isOwnAbortReason(error: unknown): boolean {
  return typeof error === 'object' && error !== null && ownAbortReasons.has(error);
}

/** The class of a rebuilt error: the built-in or package class `ctor` names, else `Error`. */
function classOf(ctor: string): new (message?: string) => Error {
  // Own keys only: a descriptor from another machine (a distributed host) names anything.
  const [classes, name] = ctor.startsWith(PACKAGE_PREFIX) ? [PACKAGE_ERRORS, ctor.slice(PACKAGE_PREFIX.length)] : [BUILTIN_ERRORS, ctor];
  return Object.hasOwn(classes, name) ? classes[name]! : Error;
}

/** Rebuilds the thrown value described by `descriptor` (built-in classes as themselves). */
export function rebuildError(descriptor: ErrorDescriptor): unknown {
  if ('thrown' in descriptor) {
    const { thrown } = descriptor;
    if (descriptor.ownReason === true && typeof thrown === 'object' && thrown !== null) ownAbortReasons.add(thrown);
    return thrown;
  }
  const { ctor = 'Error', name = 'Error', message = '' } = descriptor;
  const make = (): Error => {
    if (ctor === 'DOMException') return new DOMException(message, name);
    if (ctor === 'AggregateError') return new AggregateError((descriptor.errors ?? []).map(rebuildError), message);
    return new (classOf(ctor))(message);
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
  if (descriptor.ownReason === true) ownAbortReasons.add(error);
  return error;
}
