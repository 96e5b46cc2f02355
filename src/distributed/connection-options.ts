/**
 * How to reach Redis, as the public options say it: a URL, or ioredis options. Declared here
 * without ioredis' own types, so that the package's declarations do not depend on them (ioredis is
 * BullMQ's optional peer; its typings need packages of their own).
 */

/** ioredis connection options (passed through as given: AUTH, TLS, Sentinel and the rest). */
export interface RedisConnectionOptions {
  host?: string | undefined;
  port?: number | undefined;
  path?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  db?: number | undefined;
  tls?: object | undefined;
  [option: string]: unknown;
}

/** A `redis://` / `rediss://` URL, or ioredis options. */
export type Connection = string | RedisConnectionOptions;
