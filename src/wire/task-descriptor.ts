/**
 * How a task function travels: a small JSON descriptor, registered once per executor and fetched
 * by each worker on first use.
 */
export type TaskDescriptor =
  /**
   * A self-contained function, compiled once per worker: strict, unless it was written sloppy;
   * then `assigns` names the undeclared names it assigns, which the worker deletes after each call.
   */
  | { source: string; name: string; sloppy?: true; assigns?: string[] }
  /** A built-in reachable from `globalThis` by this property path, e.g. `Math.pow`. */
  | { path: string }
  /** A module's export (`task()`), imported once per worker. */
  | { module: string; export: string };

export function writeDescriptor(descriptor: TaskDescriptor): string {
  return JSON.stringify(descriptor);
}

export function readDescriptor(text: string): TaskDescriptor {
  return JSON.parse(text) as TaskDescriptor;
}
