/**
 * The host of a `ProcessPoolExecutor`'s workers: child processes (`child_process.fork`) that do
 * not attach to the core, which lives in this process. The main thread takes each child's next
 * batch for it (`take` without lingering, which never blocks) and relays batches and outcomes
 * over IPC (`child.ts`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

import { BrokenProcessPool, type BrokenExecutor, type WorkerEnd } from '../../api/errors.js';
import { type ErrorDescriptor, rebuildError } from '../../wire/errors.js';
import { Inbox } from '../../wire/frames.js';
import { ADDON_PATH_ENV, addonPath, type NativePool, TAKE_EXIT, TAKE_IDLE } from '../../wire/native.js';
import { encode } from '../../wire/values.js';
import type { HostEvents, WorkerHost } from '../host.js';
import { type ChildMessage, PARENT_PID_ENV, type ParentMessage } from './protocol.js';
import { type ChildStopPage, createStopPage, nextBatch, serializeReason, STOP_PAGE_ENV, STOP_PAGE_FD } from './stop-page.js';

const CHILD_FILE = path.join(__dirname, 'child.js');

export interface ProcessHostOptions {
  execArgv: string[] | undefined;
  env: Record<string, string> | undefined;
  initializer: string | undefined;
  initargs: unknown[];
}

/** The main thread's side of one child process. */
interface Child {
  readonly slot: number;
  readonly process: ChildProcess;
  /** Task functions this child has been sent: those numbered below this. */
  functions: number;
  /** The child's measured mean run time per item (sizes its batches). */
  costNs: number;
  /** A batch was sent and its outcomes have not come back. */
  outstanding: boolean;
  /** Where this child reads its stops at once (`stop-page.ts`), if it has such a page. */
  page: ChildStopPage | undefined;
  /** The number of the last batch sent (see `nextBatch`). */
  batch: number;
  /** Records of that batch whose abort reason did not fit in the page: told by IPC alone. */
  unpaged: Set<number> | undefined;
  /** Told to exit, or signalled: take nothing more for it. */
  ending: boolean;
  /** Its `exit` event has been seen (its `close` may still be due). */
  exitSeen: boolean;
  /** It said `ready`: started, its initializer run. */
  ready: boolean;
  gone: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  error: unknown;
}

export class ProcessHost implements WorkerHost {
  readonly lingering = 0;
  readonly pollsCompletions = false;
  readonly workerKind = 'child process';
  readonly stashBlock = undefined;
  readonly moved = undefined;
  readonly sharedMemory = undefined;
  readonly #children = new Map<number, Child>();
  /** Where the core writes the batches taken for the children. */
  readonly #inbox = new Inbox();
  /** The initializer's arguments, encoded once for every child. */
  readonly #initargs: string | Uint8Array;
  #core!: NativePool;
  #events!: HostEvents;
  #initError: unknown;
  /** Every child is being ended on purpose (`endAll`): their deaths break nothing. */
  #ending = false;

  constructor(private readonly options: ProcessHostOptions) {
    // Copied now: every child starts with what was given at construction.
    this.options = { ...options, execArgv: options.execArgv && [...options.execArgv], env: options.env && { ...options.env } };
    this.#initargs = encode(options.initargs, undefined, 'arguments');
  }

  get live(): number {
    return this.#children.size;
  }

  attach(core: NativePool, events: HostEvents): void {
    this.#core = core;
    this.#events = events;
  }

  start(slot: number): void {
    let child: ChildProcess;
    // The child's stop page goes to it as descriptor `STOP_PAGE_FD`, the one after the IPC
    // channel's (Node, Bun and Deno all hand it over; a child that finds no page there does without).
    const stops = createStopPage();
    try {
      child = fork(CHILD_FILE, [], {
        execArgv: this.options.execArgv,
        env: {
          ...(this.options.env ?? process.env),
          [PARENT_PID_ENV]: String(process.pid),
          ...(addonPath === undefined ? {} : { [ADDON_PATH_ENV]: addonPath }),
          ...(stops === undefined ? {} : { [STOP_PAGE_ENV]: `${STOP_PAGE_FD}:${stops.token}` }),
        },
        serialization: 'advanced',
        stdio: stops === undefined ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc', stops.page.fd!],
      });
    } catch (error) {
      stops?.page.close();
      // Never throw out of `submit`: the slot is the core's "starting" worker; its loss breaks the pool.
      queueMicrotask(() => this.#events.exited(slot, { reason: 'A child process could not be started', cause: error, exitCode: null, signal: null }));
      return;
    }
    // The child has its own descriptor now; the mapping stays until it has exited.
    stops?.page.closeFd();
    const c: Child = {
      slot,
      process: child,
      functions: 0,
      costNs: 0,
      outstanding: false,
      page: stops?.page,
      batch: 0,
      unpaged: undefined,
      ending: false,
      exitSeen: false,
      ready: false,
      gone: false,
      exitCode: null,
      signal: null,
      error: undefined,
    };
    this.#children.set(slot, c);
    child.on('message', (message: ChildMessage) => this.#onMessage(c, message));
    child.on('error', (error) => {
      c.error ??= error;
      if (child.pid === undefined) this.#exited(c); // it never started: no `exit` will come
    });
    child.on('exit', (exitCode, signal) => {
      c.exitSeen = true;
      c.exitCode = exitCode;
      c.signal = signal;
      // Outcomes may still be in the channel: wait for `close`, which comes once it is drained.
      if (c.outstanding) child.channel?.ref?.();
      else this.#exited(c);
    });
    child.on('close', () => this.#exited(c));
    // An idle executor never keeps the process alive: while work is pending the core's wake-up
    // is referenced (see `executor/lifecycle.ts`), which keeps the loop running for the replies.
    child.unref();
    child.channel?.unref?.(); // after `on('message')`, which would reference the channel (Bun's channel has no unref)
    this.#send(c, { t: 'init', initializer: this.options.initializer, initargs: this.#initargs });
    // Messages are handled in order, so the first batch may follow the initializer at once.
    queueMicrotask(() => this.#pump(c));
  }

  wake(slot: number): void {
    const c = this.#children.get(slot);
    // Deferred: a loop of submits is queued before the child takes its batch.
    if (c !== undefined) queueMicrotask(() => this.#pump(c));
  }

  /** The stopped records are marked in the child's page (seen at once), then told by message. */
  interrupt(slot: number): void {
    const c = this.#children.get(slot);
    if (c === undefined || !c.outstanding) return;
    const indices = this.#core.stopped(slot);
    this.#markStopped(c, indices);
    this.#send(c, { t: 'stop', indices });
  }

  /** The reason goes in the child's page with its mark, so that the child knows it before the message comes. */
  abort(slot: number, index: number, reason: ErrorDescriptor): void {
    const c = this.#children.get(slot);
    if (c === undefined || !c.outstanding) return;
    if (c.page !== undefined) {
      const bytes = serializeReason(reason);
      // What does not fit in the page is told by the message alone, never marked without its reason.
      if (bytes === undefined || !c.page.stop(c.batch, index, bytes)) (c.unpaged ??= new Set()).add(index);
    }
    const indices = this.#core.stopped(slot);
    this.#markStopped(c, indices);
    this.#send(c, { t: 'stop', indices, reasons: [[index, reason]] });
  }

  /** Marks `indices` of `c`'s batch stopped in its page (those aborted with a reason are marked already). */
  #markStopped(c: Child, indices: readonly number[]): void {
    if (c.page === undefined) return;
    for (const index of indices) if (c.unpaged === undefined || !c.unpaged.has(index)) c.page.stop(c.batch, index, null);
  }

  stop(slot: number): void {
    const c = this.#children.get(slot);
    if (c !== undefined) this.#signal(c, 'SIGKILL');
  }

  stopAll(): void {
    for (const slot of this.#children.keys()) this.stop(slot);
  }

  brokenError(message: string, cause?: unknown, end?: WorkerEnd): BrokenExecutor {
    return new BrokenProcessPool(message, { ...(cause === undefined ? {} : { cause }), ...end });
  }

  /**
   * Ends every child with `signal` (`terminateWorkers()`, `killWorkers()`): their deaths are
   * expected, not a break. A child that handles or ignores the signal is told to exit once idle,
   * and killed after `graceMs` if it still runs.
   */
  endAll(signal: NodeJS.Signals, graceMs: number): { cancelEscalation(): void } {
    this.#ending = true;
    for (const c of this.#children.values()) this.#signal(c, signal);
    const escalation = signal === 'SIGKILL' ? undefined : setTimeout(() => this.stopAll(), graceMs);
    return { cancelEscalation: () => clearTimeout(escalation) };
  }

  /** Takes the next batch for `c` and sends it; parks it when there is none; tells it to exit. */
  #pump(c: Child): void {
    if (c.outstanding || c.ending || c.exitSeen) return;
    const taken = this.#core.take(c.slot, c.costNs, false, this.#inbox.target);
    if (taken === TAKE_IDLE) return;
    if (taken === TAKE_EXIT) {
      c.ending = true;
      c.process.ref(); // its exit must be seen, even when nothing else keeps the loop alive
      this.#send(c, { t: 'exit' });
      return;
    }
    const batch = this.#inbox.receive(taken)!;
    // The task functions registered since this child was last sent some: a child cannot ask
    // the core (which lives in this process) for the ones its batch names.
    let fns: Array<[number, string]> | undefined;
    for (let descriptor = this.#core.function(c.functions); descriptor !== null; descriptor = this.#core.function(c.functions)) {
      (fns ??= []).push([c.functions++, descriptor]);
    }
    c.outstanding = true;
    c.batch = nextBatch(c.batch);
    c.unpaged = undefined;
    // A view of the inbox is enough: `send` serializes the message before it returns.
    const bytes = batch.bytes.subarray(0, batch.end);
    this.#send(c, fns === undefined ? { t: 'run', batch: bytes } : { t: 'run', batch: bytes, fns });
    this.#inbox.done(batch);
  }

  #send(c: Child, message: ParentMessage): void {
    // A failure (the child is gone) is reported by the `error` event; its `exit` decides.
    if (c.process.connected) c.process.send(message);
  }

  #onMessage(c: Child, message: ChildMessage): void {
    if (message.t === 'part') {
      this.#core.completePart(c.slot, message.index, message.count, message.frame, message.frame.length, 0);
    } else if (message.t === 'done') {
      c.outstanding = false;
      if (message.ending === true) c.ending = true; // no new batch: it is exiting
      else c.costNs = message.costNs;
      this.#core.complete(c.slot, message.frames, message.frames.length, 0);
      if (c.exitSeen) this.#exited(c);
      else if (c.ending) this.#send(c, { t: 'exit' }); // it outlived a signal it ignores
      else this.#pump(c);
    } else if (message.t === 'ready') {
      c.ready = true;
    } else if (message.t === 'initFailed' && this.#initError === undefined) {
      this.#initError = rebuildError(message.error as ErrorDescriptor);
      if (!this.#ending) this.#events.broke('A process initializer failed', this.#initError, true);
    }
  }

  /** The child has exited (and its channel is drained when it had a batch): report it once. */
  #exited(c: Child): void {
    if (c.gone) return;
    c.gone = true;
    // Died in the middle of a batch (out of memory, killed): the outcomes it finished and never
    // sent are in its stop page (none, when it died running the first record); they go to the
    // core as it would have sent them, so that only the record it was running fails and those
    // after it go back to the queue.
    const finished = c.outstanding ? c.page?.takeOutcomes() : undefined;
    if (finished != null) this.#core.complete(c.slot, finished, finished.length, 0);
    c.page?.close();
    if (this.#children.get(c.slot) === c) this.#children.delete(c.slot);
    const how = c.signal !== null ? `signal ${c.signal}` : `exit code ${c.exitCode}`;
    const reason =
      this.#initError !== undefined
        ? 'A process initializer failed'
        : !c.ready && !c.ending && !this.#ending
          ? `A child process exited (${how}) while starting, before it could take a task (its initializer, or its execArgv); a new one would fail the same way, so the process pool is not usable anymore`
          : `A child process terminated abruptly (${how}) while running or holding tasks; the process pool is not usable anymore`;
    this.#events.exited(c.slot, { reason, cause: this.#initError ?? c.error, exitCode: c.exitCode, signal: c.signal, beforeReady: !c.ready && !c.ending && !this.#ending && this.#initError === undefined });
  }

  #signal(c: Child, signal: NodeJS.Signals): void {
    if (c.gone) return;
    c.ending = true;
    c.process.ref(); // its exit must be seen, even when nothing else keeps the loop alive
    if (c.outstanding) c.process.channel?.ref?.();
    c.process.kill(signal);
    // A child that handles or ignores the signal still ends: at once when idle, else after its batch.
    if (!c.outstanding) this.#send(c, { t: 'exit' });
  }
}
