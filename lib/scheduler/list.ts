// Intrusive doubly linked FIFO: O(1) push, shift, and removal of any node, so an aborted
// waiter leaves the queue at once without a scan and without Array.shift on long arrays.

export interface Linked {
  next: Linked | undefined;
  prev: Linked | undefined;
}

export class List<T extends Linked> {
  head: T | undefined = undefined;
  tail: T | undefined = undefined;
  size = 0;

  push(node: T): void {
    node.next = undefined;
    node.prev = this.tail;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  unshift(node: T): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head === undefined) this.tail = node;
    else this.head.prev = node;
    this.head = node;
    this.size++;
  }

  /** Caller guarantees `ref` is in this list and `node` is in none. */
  insertAfter(ref: T, node: T): void {
    node.prev = ref;
    node.next = ref.next;
    if (ref.next === undefined) this.tail = node;
    else ref.next.prev = node;
    ref.next = node;
    this.size++;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node === undefined) return undefined;
    this.head = node.next as T | undefined;
    if (this.head === undefined) this.tail = undefined;
    else this.head.prev = undefined;
    node.next = undefined;
    this.size--;
    return node;
  }

  /** Caller guarantees `node` is in this list. */
  remove(node: T): void {
    if (node.prev === undefined) this.head = node.next as T | undefined;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev as T | undefined;
    else node.next.prev = node.prev;
    node.next = undefined;
    node.prev = undefined;
    this.size--;
  }
}
