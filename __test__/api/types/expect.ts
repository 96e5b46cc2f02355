// Helpers for the type tests. They only mean something to the type checker.

/** `true` when `X` and `Y` are the same type: mutual assignability is not enough, and `any` equals only `any`. */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** Compiles only for `true`: `type _ = Assert<Equal<typeof x, Future<number>>>`. */
export type Assert<T extends true> = T;

/** Compiles only when `value` is assignable to `T`. */
export function expectType<T>(value: T): void {
  void value;
}

/** Compiles only when the type of `value` is exactly `Expected`: `exactly<number>()(x)`. */
export function exactly<Expected>() {
  return <Actual>(value: Actual, ..._typesDiffer: Equal<Expected, Actual> extends true ? [] : ['the types differ']): void => {
    void value;
  };
}
