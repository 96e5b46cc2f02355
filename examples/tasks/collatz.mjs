// A task module: map-progress.mjs refers to it with task(), so a worker imports it once.

/** Steps of the Collatz sequence from `n` down to 1. */
export function collatzSteps(n) {
  let steps = 0;
  while (n !== 1) {
    n = n % 2 === 0 ? n / 2 : 3 * n + 1;
    steps++;
  }
  return steps;
}
