/**
 * One instance of each class an executor is made of, kept for the life of the process.
 *
 * V8 describes an object's layout with a hidden class (a map), and optimized code checks the maps
 * it was compiled for. The maps a class's fields produce stay alive only while some object has
 * them: once the last executor is collected, they go, every function optimized against them is
 * thrown away, and the next executor starts from unoptimized code (in the benchmark, which
 * collects garbage between samples, W2's round trips took 17 µs instead of 13). These instances,
 * a few hundred bytes and a core pool with no worker, keep the maps.
 */
import { Future } from '../api/future.js';
import { MapRun } from '../api/map.js';
import { ProcessHost } from '../hosts/process/host.js';
import { ThreadHost } from '../hosts/thread/host.js';
import { Batch } from '../wire/frames.js';
import { NativePool } from '../wire/native.js';
import { CompletionPump } from './completions.js';
import { Lifecycle } from './lifecycle.js';
import { Records } from './records.js';
import { Submission } from './submission.js';

// A pool of the core's with no worker and no wake-up (closed at once): a native object too has a map.
const core = new NativePool(1, undefined, 0, () => {});
core.close();
const thread = new ThreadHost({ threadNamePrefix: undefined, resourceLimits: undefined, execArgv: undefined, env: undefined, initializer: undefined, initargs: [] });
const process = new ProcessHost({ execArgv: undefined, env: undefined, initializer: undefined, initargs: [] });
const records = new Records();
const completions = new CompletionPump(core, thread, records);
const lifecycle = new Lifecycle({ owner: {}, core, host: thread, records, completions });
const batch = new Batch(Buffer.alloc(4), 0);
// A map run over one (empty) input, as a run is made: it submits nothing.
const mapRun = new MapRun({ submit: () => () => {} }, [[]], { deadline: undefined, chunksize: 'auto', buffersize: undefined, signal: undefined });

/** The kept instances, by class (looked up without touching them: an access would let V8 move one to another hidden class). */
export const shapes: ReadonlyMap<Function, object> = new Map<Function, object>(
  [
    core,
    // A pending future that nobody settles (its task would be ours).
    new Future(),
    thread,
    process,
    records,
    completions,
    lifecycle,
    new Submission(core, thread, records, completions, lifecycle, 1, []),
    batch,
    batch.records(),
    batch.completions(),
    mapRun,
  ].map((instance) => [instance.constructor, instance]),
);
