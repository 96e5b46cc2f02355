/**
 * Errors no task's outcome can carry: thrown by a timer a task left behind, or a rejection
 * nobody handled. Node would end the worker (`where`), and the pool would break, failing
 * whichever task ran then. As Python reports an exception in a thread a task started
 * (`threading.excepthook`) and goes on, these are reported on stderr and the worker goes on.
 */
export function reportStrayErrors(where: string): void {
  const report = (what: string, error: unknown): void => {
    let shown: string;
    try {
      shown = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    } catch {
      shown = typeof error;
    }
    console.error(`concurrent-futures: ${what} in ${where}, outside any task's outcome (from a timer or promise a task left behind):\n${shown}`);
  };
  process.on('uncaughtException', (error) => report('an uncaught exception', error));
  process.on('unhandledRejection', (reason) => report('an unhandled rejection', reason));
}
