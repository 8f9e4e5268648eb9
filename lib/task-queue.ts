// The tasks of a session waiting for one of its maximumConcurrentTasks places: highest priority
// first, and in the order they were made among equal priorities. A binary heap; a task taken
// out of turn (cancelled while it waits) stays in it, and its owner skips it when it comes up
// (lib/task-launcher.ts). Plain data; JS thread only.

interface Entry<T> {
  item: T;
  priority: number;
  order: number;
}

export class TaskQueue<T> {
  readonly #heap: Entry<T>[] = [];
  #order = 0;

  push(item: T, priority: number): void {
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

  /** The next item in turn, or undefined when none waits. */
  pop(): T | undefined {
    return this.#heap.length > 0 ? this.#take().item : undefined;
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
