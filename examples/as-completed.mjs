// asCompleted over mixed work: a self-contained async function, a built-in, a module export
// (task()), a task that throws, and a bare Future settled by hand. Each future is handled as it
// finishes, whatever its kind; a failure is just another outcome.
//
//   node examples/as-completed.mjs
import { asCompleted, Future, task, ThreadPoolExecutor, wait, FIRST_COMPLETED } from 'concurrent-futures';

const ex = new ThreadPoolExecutor({ maxWorkers: 4 });
try {
  const sleepThen = async (ms, value) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return value;
  };
  const manual = new Future();
  setTimeout(() => manual.setResult('settled by hand'), 150);

  const labels = new Map([
    [ex.submit(sleepThen, 500, 'slept 500 ms'), 'sleepThen(500)'],
    [ex.submit(Math.pow, 2, 32), 'Math.pow(2, 32)'],
    [ex.submit(task(new URL('./tasks/text.mjs', import.meta.url)), 'hello'), 'sha256("hello")'],
    [ex.submit((n) => {
      if (n < 0) throw new RangeError(`negative input: ${n}`);
      return Math.sqrt(n);
    }, -1), 'sqrtOrThrow(-1)'],
    [manual, 'a bare Future'],
  ]);

  // wait(): block (asynchronously) until the first one is done.
  const { done, notDone } = await wait(labels.keys(), { returnWhen: FIRST_COMPLETED });
  console.log(`first wait: ${done.size} done, ${notDone.size} not done`);

  let failures = 0;
  for await (const f of asCompleted(labels.keys(), { timeout: 10_000 })) {
    const error = await f.exception();
    if (error === undefined) console.log(`ok     ${labels.get(f)} = ${await f.result()}`);
    else {
      failures++;
      console.log(`raised ${labels.get(f)}: ${error.name}: ${error.message}`);
    }
  }
  console.log(`${labels.size} futures, ${failures} raised`);
} finally {
  await ex.shutdown();
}
