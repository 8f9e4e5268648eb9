// The tasks of a session waiting for one of its maximumConcurrentTasks places: highest priority
// first, and in the order they were made among equal priorities. A binary heap; a task taken
// out of turn (cancelled while it waits) is only marked, and skipped when it comes up. Plain
// data; JS thread only.

interface Entry<T> {
  item: T;
  priority: number;
  order: number;
}

export class TaskQueue<T> {
  readonly #heap: Entry<T>[] = [];
  readonly #removed = new Set<T>();
  #order = 0;

  /** Waiting items, not counting those removed out of turn. */
  get size(): number {
    return this.#heap.length - this.#removed.size;
  }

  push(item: T, priority: number): void {
    this.#removed.delete(item);
    const heap = this.#heap;
    heap.push({ item, priority, order: this.#order++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  /** Takes `item` out of the queue (it is skipped when its turn comes). */
  remove(item: T): void {
    this.#removed.add(item);
  }

  /** The next item in turn, or undefined when none waits. */
  pop(): T | undefined {
    while (this.#heap.length > 0) {
      const top = this.#take();
      if (!this.#removed.delete(top.item)) return top.item;
    }
    return undefined;
  }

  #take(): Entry<T> {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop() as Entry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let first = i;
        if (left < heap.length && before(heap[left], heap[first])) first = left;
        if (right < heap.length && before(heap[right], heap[first])) first = right;
        if (first === i) break;
        [heap[i], heap[first]] = [heap[first], heap[i]];
        i = first;
      }
    }
    return top;
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.order < b.order;
}
