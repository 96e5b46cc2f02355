// The same declarations, as a CommonJS user sees them (the "require" condition of "exports").
import cf = require('concurrent-futures');
import type { Assert, Equal } from './expect.js';

const ex = new cf.ThreadPoolExecutor({ maxWorkers: 1 });
const f = ex.submit((a: number, b: number) => a + b, 1, 2);
type _f = Assert<Equal<typeof f, cf.Future<number>>>;
const ref = cf.task<typeof import('./m.js').f>(require.resolve('./m.js'), 'f');
type _ref = Assert<Equal<typeof ref, cf.TaskRef<typeof import('./m.js').f>>>;
type _it = Assert<Equal<ReturnType<typeof ex.map<[number], number>>, AsyncIterableIterator<number>>>;
// @ts-expect-error f takes (number, string)
ex.submit(ref, 'x', 'y');
void cf.wait([f], { returnWhen: cf.FIRST_COMPLETED }).then(({ done }) => {
  type _done = Assert<Equal<typeof done, Set<cf.Future<number>>>>;
});
