/** Redis connections: made from a URL or ioredis options (AUTH and TLS pass through as given). */
import { Redis, type RedisOptions } from 'ioredis';

import type { Connection } from './connection-options.js';

export type { Connection };

/** Checks `connection` synchronously: a `redis://` / `rediss://` URL or an options object. */
export function checkConnection(what: string, connection: unknown): Connection {
  if (typeof connection === 'string') {
    if (!/^rediss?:\/\//.test(connection)) throw new TypeError(`${what}: connection must be a redis:// or rediss:// URL, got '${connection}'`);
    return connection;
  }
  if (typeof connection === 'object' && connection !== null && !Array.isArray(connection)) return connection as Connection;
  throw new TypeError(`${what}: connection must be a redis:// URL or an ioredis options object, got ${connection === null ? 'null' : typeof connection}`);
}

/** A new connection; `extra` overrides what `connection` says. */
export function connect(connection: Connection, extra: RedisOptions = {}): Redis {
  return typeof connection === 'string' ? new Redis(connection, extra) : new Redis({ ...(connection as RedisOptions), ...extra });
}

/** Where a connection points, for error messages (no password). */
export function describeConnection(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? `Redis at ${path}` : `Redis at ${host ?? 'localhost'}:${port ?? 6379}`;
}

interface Unrefable {
  ref?: () => void;
  unref?: () => void;
}

/**
 * Whether `redis`'s socket keeps the process alive. A client with nothing pending must not (an
 * idle executor never keeps the process alive); the choice is applied again on each reconnection.
 */
export class ProcessHold {
  #held = true;

  constructor(private readonly connections: Redis[]) {
    for (const redis of connections) {
      redis.on('connect', () => this.#apply(redis));
      // Told just before ioredis sets its retry timer: applied once the timer exists.
      redis.on('reconnecting', () => setImmediate(() => this.#apply(redis)));
    }
  }

  set(held: boolean): void {
    if (held === this.#held) return;
    this.#held = held;
    for (const redis of this.connections) this.#apply(redis);
  }

  #apply(redis: Redis): void {
    // ioredis has no ref()/unref() of its own; its socket is `stream` (a net or tls socket).
    // Nor for the timer of its next reconnection attempt (`reconnectTimeout`) while Redis is away.
    const { stream, reconnectTimeout } = redis as unknown as { stream?: Unrefable; reconnectTimeout?: Unrefable | null };
    for (const handle of [stream, reconnectTimeout]) {
      if (this.#held) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}
