// Type tests of the public API, as an ESM user sees it. Compiled with tsc --noEmit, never run.
// Each `// @ts-expect-error` line must fail to compile (tsc reports a directive that is not
// needed), and each `Assert<Equal<...>>` / `exactly<...>()(...)` must hold exactly.
import {
  ALL_COMPLETED,
  asCompleted,
  BrokenExecutor,
  BrokenProcessPool,
  BrokenThreadPool,
  CancelledError,
  Executor,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  FuturesError,
  InvalidStateError,
  ProcessPoolExecutor,
  repeat,
  ShutdownError,
  task,
  TaskRef,
  ThreadPoolExecutor,
  TimeoutError,
  wait,
  type DoneAndNotDone,
  type ExecutorStats,
  type MapOptions,
  type ProcessPoolOptions,
  type ReturnWhen,
  type ShutdownOptions,
  type TaskFn,
  type ThreadPoolOptions,
  type WaitOptions,
} from 'concurrent-futures';

import { exactly, expectType, type Assert, type Equal } from './expect.js';

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });

// ---- submit: the future's type is the function's (awaited) return type; arguments are checked
const sum = ex.submit((a: number, b: number) => a + b, 1, 2);
type _sum = Assert<Equal<typeof sum, Future<number>>>;
// @ts-expect-error a string where the function takes a number
ex.submit((a: number, b: number) => a + b, 1, '2');
// @ts-expect-error a missing argument
ex.submit((a: number, b: number) => a + b, 1);
// @ts-expect-error an argument too many
ex.submit((a: number) => a, 1, 2);
// @ts-expect-error not a function
ex.submit(42);
// @ts-expect-error not a function
ex.submit('Math.pow', 2, 3);

// unannotated parameters take their types from the arguments
const inferred = ex.submit((a, b) => a * b, 6, 7);
type _inferred = Assert<Equal<typeof inferred, Future<number>>>;

// an async function's future holds what its promise resolves to
const text = ex.submit(async (n: number) => String(n), 1);
type _text = Assert<Equal<typeof text, Future<string>>>;

// built-ins (sent by their path from globalThis)
const pow = ex.submit(Math.pow, 2, 10);
type _pow = Assert<Equal<typeof pow, Future<number>>>;
// @ts-expect-error Math.pow takes numbers
ex.submit(Math.pow, '2', 10);

// optional and rest parameters
const optional = ex.submit((a: number, b?: number) => a + (b ?? 0), 1);
type _optional = Assert<Equal<typeof optional, Future<number>>>;
const rest = ex.submit((...xs: string[]) => xs.join(), 'a', 'b', 'c');
type _rest = Assert<Equal<typeof rest, Future<string>>>;
// @ts-expect-error rest parameters are checked too
ex.submit((...xs: string[]) => xs.join(), 'a', 1);

// shared memory is an ordinary argument
const data = new Float64Array(new SharedArrayBuffer(8 * 1024));
const partial = ex.submit((values: Float64Array, start: number, end: number) => values.subarray(start, end).length, data, 0, 10);
type _partial = Assert<Equal<typeof partial, Future<number>>>;

// ---- task(): a typed reference carries the export's type into submit and map
const typed = task<typeof import('./m.js').f>(new URL('./m.js', import.meta.url), 'f');
type _typed = Assert<Equal<typeof typed, TaskRef<typeof import('./m.js').f>>>;
const repeated = ex.submit(typed, 3, 'ab');
type _repeated = Assert<Equal<typeof repeated, Future<string>>>;
// @ts-expect-error f takes (number, string)
ex.submit(typed, 'ab', 3);
// @ts-expect-error f takes two arguments
ex.submit(typed, 3);

const doubled = ex.submit(task<typeof import('./m.js').double>('./m.js', 'double'), 21n);
type _doubled = Assert<Equal<typeof doubled, Future<bigint>>>;
// @ts-expect-error double takes a bigint
ex.submit(task<typeof import('./m.js').double>('./m.js', 'double'), 21);

const totalRef = task<typeof import('./m.js').default>('./m.js');
const total = ex.submit(totalRef, data, 0, 16);
type _total = Assert<Equal<typeof total, Future<number>>>;

// an untyped reference accepts anything and gives Future<any>, also inline (no inference from context)
const untyped = ex.submit(task('./m.js', 'f'), 1, 'x', true);
type _untyped = Assert<Equal<typeof untyped, Future<any>>>;
const untypedRef = task('./m.js');
type _untypedRef = Assert<Equal<typeof untypedRef, TaskRef>>;
expectType<TaskFn>(untypedRef);
expectType<string>(typed.module);
expectType<string>(typed.exportName);
// @ts-expect-error task() takes a module specifier or URL
task(42);
// @ts-expect-error the export name is a string
task('./m.js', 1);

// ---- map: the element type is the function's (awaited) return type
const doubles = ex.map((x: number) => x * 2, [1, 2, 3]);
type _doubles = Assert<Equal<typeof doubles, AsyncIterableIterator<number>>>;
for await (const value of ex.map((x: number) => x * 2, [1, 2, 3])) exactly<number>()(value);

const zipped = ex.map((times: number, s: string) => s.repeat(times), [1, 2], ['a', 'b']);
type _zipped = Assert<Equal<typeof zipped, AsyncIterableIterator<string>>>;
const withOptions = ex.map(async (x: number) => [x], [1, 2], { chunksize: 1, timeout: 1000, buffersize: 4 });
type _withOptions = Assert<Equal<typeof withOptions, AsyncIterableIterator<number[]>>>;
const autoChunks = ex.map((x: number) => x, new Set([1, 2]), { chunksize: 'auto' });
type _autoChunks = Assert<Equal<typeof autoChunks, AsyncIterableIterator<number>>>;
const contextual = ex.map((x) => x.toUpperCase(), ['a', 'b']);
type _contextual = Assert<Equal<typeof contextual, AsyncIterableIterator<string>>>;

async function* numbers(): AsyncGenerator<number> {
  yield 1;
}
const fromAsync = ex.map((x: number) => x > 0, numbers());
type _fromAsync = Assert<Equal<typeof fromAsync, AsyncIterableIterator<boolean>>>;

// repeat(): one value for every item
const sums = ex.map(totalRef, repeat(data), [0, 8], [8, 16]);
type _sums = Assert<Equal<typeof sums, AsyncIterableIterator<number>>>;
const sliced = ex.map(typed, [1, 2], repeat('x'));
type _sliced = Assert<Equal<typeof sliced, AsyncIterableIterator<string>>>;

// API.md's own forms, which the typed inputs above cannot take: an explicit result type, a
// spread of inputs, more inputs than parameters. Inputs the function's parameters do not match
// fall back to these (API.md types map's inputs as any iterables).
const explicit = ex.map<number>((x: number) => x * 2, [1, 2, 3]);
type _explicit = Assert<Equal<typeof explicit, AsyncIterableIterator<number>>>;
const explicitWithOptions = ex.map<string>((x: unknown) => String(x), [1], { timeout: 5 });
type _explicitWithOptions = Assert<Equal<typeof explicitWithOptions, AsyncIterableIterator<string>>>;
const lists = [[1, 2], [3, 4]];
const spread = ex.map((a: number, b: number) => a + b, ...lists);
type _spread = Assert<Equal<typeof spread, AsyncIterableIterator<number>>>;
const extraInput = ex.map((x: number) => x, [1], new Set([2]));
type _extraInput = Assert<Equal<typeof extraInput, AsyncIterableIterator<number>>>;
// @ts-expect-error an explicit result type is checked against the function's
ex.map<string>((x: number) => x, [1]);
// @ts-expect-error chunksize is a number or 'auto'
ex.map((x: number) => x, [1], { chunksize: 'big' });
// @ts-expect-error an unknown option
ex.map((x: number) => x, [1], { chunkSize: 4 });
// @ts-expect-error inputs must be iterable
ex.map((x: number) => x, 1);
// A typed function rejects inputs its parameters do not take, in every form (issue #23: this
// once fell through to the untyped form).
// @ts-expect-error strings for a number parameter
ex.map((x: number) => x * 2, ['a', 'b']);
// @ts-expect-error likewise with options
ex.map((x: number) => x * 2, ['a', 'b'], { chunksize: 1 });
// @ts-expect-error likewise through a typed task() reference (inputs in the wrong order)
ex.map(typed, ['x'], [1]);
// @ts-expect-error the wrong order, with options
ex.map((n: number, s: string) => s.repeat(n), ['x'], [1], { timeout: 5 });
const letters = [['a'], ['b']];
// @ts-expect-error a spread of inputs whose items no parameter takes
ex.map((a: number, b: number) => a + b, ...letters);
// @ts-expect-error the first input is checked also when extra inputs follow
ex.map((x: number) => x, ['a'], [1]);
// @ts-expect-error ... also with options
ex.map((x: number) => x, ['a'], [1], { chunksize: 2 });
// @ts-expect-error a spread with options is checked too
ex.map((a: number) => a, ...letters, { timeout: 5 });
// @ts-expect-error an async input of the wrong items
ex.map((x: string) => x.length, numbers());
// ... and the matching inputs still type-check, through the same forms
const matching = ex.map((x: number) => x * 2, [1, 2], { chunksize: 1 });
type _matching = Assert<Equal<typeof matching, AsyncIterableIterator<number>>>;
const mixedLists: Array<Array<number | string>> = [[1, 2], ['a', 'b']];
// a spread's items are checked against the union of the parameters' types (its count is unknown)
const mixedSpread = ex.map((n: number, s: string) => s.repeat(n), ...mixedLists);
type _mixedSpread = Assert<Equal<typeof mixedSpread, AsyncIterableIterator<string>>>;
const spreadWithOptions = ex.map((a: number, b: number) => a + b, ...lists, { timeout: 5 });
type _spreadWithOptions = Assert<Equal<typeof spreadWithOptions, AsyncIterableIterator<number>>>;
// Extra inputs beyond the parameters are zipped in and ignored by the function: any items.
const extraAny = ex.map((x: number) => x, [1], ['ignored'], { chunksize: 1 });
type _extraAny = Assert<Equal<typeof extraAny, AsyncIterableIterator<number>>>;
const extraContextual = ex.map((x) => x.length, ['a'], [1]);
type _extraContextual = Assert<Equal<typeof extraContextual, AsyncIterableIterator<number>>>;
const untypedInputs = ex.map(task('./m.js', 'f'), ['anything'], [1]);
type _untypedInputs = Assert<Equal<typeof untypedInputs, AsyncIterableIterator<any>>>;

// ---- Future
const bare = new Future<string>();
expectType<boolean>(bare.cancel());
expectType<boolean>(bare.cancelled());
expectType<boolean>(bare.running());
expectType<boolean>(bare.done());
expectType<boolean>(bare.setRunningOrNotifyCancel());
exactly<Promise<string>>()(bare.result());
exactly<Promise<string>>()(bare.result(100));
exactly<Promise<unknown>>()(bare.exception(0));
exactly<string>()(await bare);
exactly<string>()(await bare.then((v) => v));
exactly<number>()(await bare.then((v) => v.length));
exactly<string | null>()(await bare.then(undefined, () => null));
bare.addDoneCallback((f) => exactly<Future<string>>()(f));
bare.setResult('done');
bare.setException(new RangeError('bad'));
expectType<string>(bare.toString());
expectType<PromiseLike<string>>(bare);
// @ts-expect-error a Future<string> holds strings
bare.setResult(1);
// @ts-expect-error timeouts are milliseconds (numbers)
bare.result('1s');
// @ts-expect-error the callback receives the future
bare.addDoneCallback((f: Future<number>) => f);
const untypedFuture = new Future();
type _untypedFuture = Assert<Equal<typeof untypedFuture, Future<unknown>>>;

// ---- wait and asCompleted keep the futures' types
const mixed = [sum, text];
const split = await wait(mixed, { timeout: 100, returnWhen: FIRST_COMPLETED });
type _split = Assert<Equal<typeof split, DoneAndNotDone<Future<number> | Future<string>>>>;
exactly<Set<Future<number> | Future<string>>>()(split.done);
exactly<Set<Future<number> | Future<string>>>()(split.notDone);
const all = await wait([sum]);
exactly<Set<Future<number>>>()(all.done);
await wait(new Set([sum, pow]), { returnWhen: FIRST_EXCEPTION });
await wait([sum], { returnWhen: ALL_COMPLETED });
const when: ReturnWhen = FIRST_COMPLETED;
const waitOptions: WaitOptions = { returnWhen: when };
await wait([sum], waitOptions);
// @ts-expect-error returnWhen is one of the three constants
await wait([sum], { returnWhen: 'FIRST' });
// @ts-expect-error wait takes futures
await wait([Promise.resolve(1)]);
// @ts-expect-error timeouts are milliseconds (numbers)
await wait([sum], { timeout: '1s' });

for await (const f of asCompleted([sum, sum])) {
  // the loop variable is the future itself (as at run time), and awaiting it gives its value
  exactly<Future<number>>()(f);
  exactly<number>()(await f);
  exactly<number>()(await f.result());
}
for await (const f of asCompleted(mixed, { timeout: 1000 })) exactly<Future<number> | Future<string>>()(f);
const completed = asCompleted([text]);
const first = await completed.next();
if (!first.done) exactly<Future<string>>()(first.value);
expectType<AsyncIterableIterator<Future<string>>>(completed);
// @ts-expect-error asCompleted takes futures
asCompleted([1, 2]);
// @ts-expect-error timeouts are milliseconds (numbers)
asCompleted([sum], { timeout: '1s' });

// ---- executors: options, stats, shutdown, disposal
exactly<number>()(ex.maxWorkers);
exactly<ExecutorStats>()(ex.stats());
const { workers, idle, queued, running, completed: finished } = ex.stats();
expectType<number[]>([workers, idle, queued, running, finished]);
exactly<Promise<void>>()(ex.shutdown());
exactly<Promise<void>>()(ex.shutdown({ wait: false, cancelFutures: true }));
const shutdownOptions: ShutdownOptions = { wait: true };
await ex.shutdown(shutdownOptions);
// @ts-expect-error Python's cancel_futures is cancelFutures here
await ex.shutdown({ cancel_futures: true });
// @ts-expect-error wait is a boolean
await ex.shutdown({ wait: 'yes' });

const threadOptions: ThreadPoolOptions = {
  maxWorkers: 4,
  threadNamePrefix: 'worker',
  initializer: (x: number) => void x,
  initargs: [1],
  maxTasksPerWorker: 100,
  resourceLimits: { maxOldGenerationSizeMb: 64 },
  execArgv: ['--no-warnings'],
  env: { A: '1' },
};
new ThreadPoolExecutor(threadOptions);
new ThreadPoolExecutor({ initializer: task('./m.js', 'init') });
// @ts-expect-error maxWorkers is a number
new ThreadPoolExecutor({ maxWorkers: '4' });
// @ts-expect-error Python's max_workers is maxWorkers here
new ThreadPoolExecutor({ max_workers: 4 });

const processOptions: ProcessPoolOptions = { maxWorkers: 2, maxTasksPerChild: 10, initializer: Math.random, execArgv: [], env: {} };
const px = new ProcessPoolExecutor(processOptions);
const viaProcess = px.submit((n: number) => ({ n }), 1);
type _viaProcess = Assert<Equal<typeof viaProcess, Future<{ n: number }>>>;
// @ts-expect-error the same argument checks as the thread pool's
px.submit((n: number) => n, 'one');
exactly<Promise<void>>()(px.terminateWorkers());
exactly<Promise<void>>()(px.killWorkers());
exactly<number>()(px.maxWorkers);
exactly<ExecutorStats>()(px.stats());
// @ts-expect-error a process pool has maxTasksPerChild, not maxTasksPerWorker
new ProcessPoolExecutor({ maxTasksPerWorker: 10 });
// @ts-expect-error terminateWorkers is the process pool's
ex.terminateWorkers();

// both are Executors; an Executor's submit and map are typed the same way
const executors: Executor[] = [ex, px];
for (const e of executors) {
  const f = e.submit((s: string) => s.length, 'abc');
  type _f = Assert<Equal<typeof f, Future<number>>>;
  // @ts-expect-error an Executor checks arguments too
  e.submit((s: string) => s.length, 3);
  await e[Symbol.asyncDispose]();
}
{
  await using scoped = new ThreadPoolExecutor();
  exactly<Future<number>>()(scoped.submit(Math.sqrt, 2));
}

// map options as a value
const mapOptions: MapOptions = { timeout: 10, chunksize: 'auto', buffersize: 2 };
ex.map((x: number) => x, [1], mapOptions);

// ---- errors: Python's hierarchy
expectType<FuturesError>(new CancelledError());
expectType<FuturesError>(new InvalidStateError());
expectType<FuturesError>(new TimeoutError('late'));
expectType<FuturesError>(new ShutdownError());
expectType<BrokenExecutor>(new BrokenThreadPool());
expectType<BrokenExecutor>(new BrokenProcessPool('gone', { cause: new Error('exit 1') }));
expectType<Error>(new BrokenExecutor());
try {
  await sum;
} catch (error) {
  if (error instanceof BrokenProcessPool) exactly<BrokenProcessPool>()(error);
  if (error instanceof FuturesError) expectType<string>(error.name);
}

// ---- map with no input at all (an empty run, as in Python), with or without options
for await (const nothing of ex.map((x: number) => x)) expectType<number>(nothing);
ex.map(() => 1, { timeout: 5 });

// ---- options may hold `undefined` (the default) under exactOptionalPropertyTypes too
declare const maybeTimeout: number | undefined;
ex.run((n: number) => n, [1], { timeout: maybeTimeout });
ex.map((n: number) => n, [1], { timeout: maybeTimeout, buffersize: undefined });
void wait([ex.submit(() => 1)], { timeout: maybeTimeout });
asCompleted([ex.submit(() => 1)], { timeout: maybeTimeout });

// ---- env takes process.env as it is
void new ProcessPoolExecutor({ env: process.env });
void new ThreadPoolExecutor({ env: { ...process.env, EXTRA: '1' } });

// ---- maxWorkers is read-only
// @ts-expect-error maxWorkers is read-only
ex.maxWorkers = 3;
