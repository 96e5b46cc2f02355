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
  return value instanceof Error || types.isNativeError(value);
}

/** Turns any thrown value into a cloneable descriptor. */
export function describeError(error: unknown, depth = 0, chain: unknown[] = []): ErrorDescriptor {
  if (!isError(error) || depth > 8) return { thrown: error };
  const descriptor: ErrorDescriptor = {
    ctor: builtinName(error),
    name: error.name,
    message: error.message,
    stack: error.stack,
    props: { ...error },
  };
  delete descriptor.props!.cause; // assigned (enumerable) rather than given to the constructor: kept below
  chain.push(error);
  // A cause that is the error itself or one of its effects (a cycle) is left out: a descriptor
  // is a tree.
  if (Object.prototype.hasOwnProperty.call(error, 'cause') && !chain.includes(error.cause)) {
    descriptor.cause = describeError(error.cause, depth + 1, chain);
  }
  if (error instanceof AggregateError) descriptor.errors = error.errors.map((e) => describeError(e, depth + 1, [...chain]));
  return descriptor;
}

function builtinName(error: Error): string | undefined {
  if (typeof DOMException !== 'undefined' && error instanceof DOMException) return 'DOMException';
  if (error.name === 'DataCloneError' && error instanceof TypeError) return 'TypeError';
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
  let error: Error;
  if (ctor === 'DOMException') error = new DOMException(message, name);
  else if (ctor === 'AggregateError') error = new AggregateError((descriptor.errors ?? []).map(rebuildError), message);
  else error = new (BUILTIN_ERRORS[ctor] ?? Error)(message);
  if (error.name !== name) {
    Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  }
  if (descriptor.cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: rebuildError(descriptor.cause), writable: true, configurable: true, enumerable: false });
  }
  if (descriptor.props) Object.assign(error, descriptor.props);
  if (descriptor.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: descriptor.stack, writable: true, configurable: true, enumerable: false });
  }
  return error;
}
