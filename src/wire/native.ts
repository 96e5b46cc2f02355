/**
 * The native addon: the core's pool (`NativePool`), the frame layout constants, and the codes its
 * calls answer with (see `crates/node/src/answers.rs`), decoded here alone.
 *
 * `index.js` at the package root is the loader `napi build` generates: it finds the binary for
 * this platform. Our worker threads and child processes load the very addon file the main thread
 * loaded, by its path: the loader (800 lines that probe the platform) costs about 2 ms of each
 * worker's start, the addon itself about 1 ms.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';

import type * as Addon from '../../index.js';

/** Where a worker thread finds the addon's path (in its `workerData`). */
export const ADDON_PATH_KEY = 'concurrentFuturesAddon';
/** Where a child process finds the addon's path (in its environment). */
export const ADDON_PATH_ENV = 'CONCURRENT_FUTURES_ADDON';

const givenPath: unknown = isMainThread ? takeFromEnvironment(ADDON_PATH_ENV) : (workerData as Record<string, unknown> | null)?.[ADDON_PATH_KEY];

/** A variable a process host set for its child; removed, so that tasks see the environment they were given. */
export function takeFromEnvironment(name: string): string | undefined {
  const value = process.env[name];
  delete process.env[name];
  return value;
}
const binding: typeof Addon = load(typeof givenPath === 'string' && givenPath !== '' ? givenPath : loaderPath());

/** The addon, or an error that names the platform package to install. */
function load(file: string): typeof Addon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as typeof Addon;
  } catch (error) {
    const wanted = platformPackage();
    const what = wanted === undefined ? `no prebuilt binary is published for ${process.platform}-${process.arch}` : `install the package for this platform: npm install ${wanted}`;
    throw new Error(`concurrent-futures: the native addon could not be loaded; ${what} (an npm install that skipped optional dependencies leaves it out)`, { cause: error });
  }
}

/** The npm package of this platform's prebuilt binary (see `napi.targets` in package.json). */
function platformPackage(): string | undefined {
  const libc = process.platform === 'linux' ? ((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime ? '-gnu' : '-musl') : '';
  const names: Record<string, string> = {
    'linux-x64': `linux-x64${libc}`,
    'linux-arm64': `linux-arm64${libc}`,
    'darwin-x64': 'darwin-x64',
    'darwin-arm64': 'darwin-arm64',
    'win32-x64': 'win32-x64-msvc',
  };
  const name = names[`${process.platform}-${process.arch}`];
  return name === undefined || name.endsWith('-musl') ? undefined : `concurrent-futures-${name}`;
}

/**
 * The generated loader at the package root, found from this file's folder up: this module also
 * runs inside the bundled worker entries (`scripts/bundle-entries.mjs`), which sit elsewhere in `dist/`.
 */
function loaderPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'index.js');
    if (path.dirname(dir) === dir) throw new Error(`concurrent-futures: no package.json above ${__dirname}`);
  }
}

/** The path of the loaded addon file, for the workers; `undefined` if it cannot be told. */
export const addonPath: string | undefined =
  typeof givenPath === 'string' && givenPath !== ''
    ? givenPath
    : Object.values(require.cache).find((m) => m !== undefined && m.filename.endsWith('.node') && (m.exports as Partial<typeof Addon>)?.NativePool === binding.NativePool)?.filename;

export type NativePool = Addon.NativePool;
export type WorkerExit = Addon.WorkerExit;
export const { NativePool, releaseIdleMemory, startNext, stashBlock, takeBlocks, maxWorkersAllowed, nextSharedMemoryId, exitWithParent } = binding;
export const { SUBMIT_SHUTDOWN, SUBMIT_BROKEN, SUBMIT_NOT_AN_ARRAY, TAKE_IDLE, TAKE_EXIT, STATE_RUNNING, STATUS_BROKEN, STATUS_SKIPPED } = binding;
/** The frame layouts; only `frames.ts` reads these. */
export const layout = binding;

/** Where a dispatch goes: what to do so that queued work runs. */
export interface DispatchTarget {
  /** Ring the doorbell of the parked worker of `slot`. */
  wake(slot: number): void;
  /** Start a worker in `slot`. */
  start(slot: number): void;
}

/** Carries out a dispatch the core answered: `0` nothing, `slot + 1` wake, `-(slot + 1)` start. */
export function dispatch(code: number, target: DispatchTarget): void {
  if (code > 0) target.wake(code - 1);
  else if (code < 0) target.start(-code - 1);
}
