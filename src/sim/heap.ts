/** A binary min-heap ordered by time, then by insertion: equal times come out in the order they went in. */
export interface Timed {
  atMs: number;
}

export class TimeHeap<T extends Timed> {
  private readonly items: Array<{ item: T; seq: number }> = [];
  private serial = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0]?.item;
  }

  push(item: T): void {
    const entry = { item, seq: this.serial++ };
    const items = this.items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && before(items[right], items[left]) ? right : left;
        if (!before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top.item;
  }
}

function before(a: { item: Timed; seq: number }, b: { item: Timed; seq: number }): boolean {
  return a.item.atMs < b.item.atMs || (a.item.atMs === b.item.atMs && a.seq < b.seq);
}
