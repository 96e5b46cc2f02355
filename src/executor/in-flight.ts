/**
 * The entries of the records in flight, by id. The core numbers records 1, 2, 3, ... in
 * submission order and they mostly settle in about that order, so entries live in an array
 * indexed by `id - base`: a fraction of a `Map`'s cost per record. A record that stays pending
 * while many later ones settle would hold the array's head back and leave it mostly holes; such
 * a straggler moves to a `Map` instead.
 */
export class InFlight<T> {
  #slots: Array<T | undefined> = [];
  /** The id of `#slots[0]`. */
  #base = 1;
  /** Every slot before this index is empty. */
  #head = 0;
  /** Entries in `#slots`. */
  #live = 0;
  readonly #stragglers = new Map<number, T>();

  /** Entries in flight. */
  get size(): number {
    return this.#live + this.#stragglers.size;
  }

  /** Adds the entry of record `id`; ids must be added in increasing order. */
  add(id: number, entry: T): void {
    if (this.#live === 0) {
      this.#slots = [];
      this.#base = id;
      this.#head = 0;
    }
    if (id - this.#base !== this.#slots.length) {
      this.#stragglers.set(id, entry);
      return;
    }
    this.#slots.push(entry);
    this.#live++;
    // Mostly holes behind a long-pending head: move the head aside.
    while (this.#slots.length - this.#head > 4 * this.#live + 1024) {
      this.#stragglers.set(this.#base + this.#head, this.#slots[this.#head]!);
      this.#slots[this.#head] = undefined;
      this.#live--;
      this.#advance();
    }
  }

  get(id: number): T | undefined {
    const index = id - this.#base;
    if (index >= this.#head && index < this.#slots.length) return this.#slots[index];
    return this.#stragglers.size > 0 ? this.#stragglers.get(id) : undefined;
  }

  /** Removes the entry of record `id`; `false` when there was none. */
  delete(id: number): boolean {
    const index = id - this.#base;
    if (index < this.#head || index >= this.#slots.length) return this.#stragglers.delete(id);
    if (this.#slots[index] === undefined) return false;
    this.#slots[index] = undefined;
    if (--this.#live === 0) {
      // Start afresh (at the next `add`): the old array, however large, can be collected.
      this.#slots = [];
      this.#head = 0;
    } else if (index === this.#head) {
      this.#advance();
    }
    return true;
  }

  /** Moves the head past empty slots, and drops a long empty prefix. */
  #advance(): void {
    while (this.#slots[this.#head] === undefined) this.#head++;
    if (this.#head > 4096 && 2 * this.#head > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
  }
}
