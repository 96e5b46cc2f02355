// Each line marked `// !error` must be a compile error; no other line may be.
import { asCompleted, Future, task, ThreadPoolExecutor, wait } from 'concurrent-futures';

import { exactly, expectType, type Assert, type Equal } from '../expect.js';

const ex = new ThreadPoolExecutor();
const sum = ex.submit((a: number, b: number) => a + b, 1, 2);

// exact checks reject another type, a looser type, and any
type _wrong = Assert<Equal<typeof sum, Future<string>>>; // !error
type _looser = Assert<Equal<typeof sum, Future<unknown>>>; // !error
type _any = Assert<Equal<typeof sum, Future<any>>>; // !error
exactly<Future<string>>()(sum); // !error
exactly<Future<number | string>>()(sum); // !error
expectType<Future<string>>(sum); // !error

// the mistakes that api.mts expects, without their @ts-expect-error
ex.submit((a: number, b: number) => a + b, 1, '2'); // !error
ex.submit((a: number) => a, 1, 2); // !error
ex.submit(task<typeof import('../m.js').f>('../m.js', 'f'), 'ab', 3); // !error

// an untyped reference is Future<any>, which exact checks tell apart from a typed one
const untyped = ex.submit(task('../m.js', 'f'), 3, 'ab');
exactly<Future<string>>()(untyped); // !error

// map's elements are the results, not futures
for await (const value of ex.map((x: number) => x * 2, [1])) exactly<Future<number>>()(value); // !error

// wait and asCompleted keep the futures' own types, not Future<unknown> or the values
const { done } = await wait([sum]);
exactly<Set<Future<unknown>>>()(done); // !error
for await (const f of asCompleted([sum])) exactly<number>()(f); // !error
