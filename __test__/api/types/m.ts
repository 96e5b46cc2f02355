// A task module, as a user would write one; the type tests refer to it with task<typeof import('./m.js').f>.
export function f(times: number, text: string): string {
  return text.repeat(times);
}

export async function double(x: bigint): Promise<bigint> {
  return x * 2n;
}

export default function total(values: Float64Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += values[i]!;
  return sum;
}
