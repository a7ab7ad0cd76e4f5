// The floor every feature is measured from: a counter, a linked FIFO and one promise per
// task. No bound, no cancellation, no priorities; nothing a real scheduler could ship.

export function minimalSemaphore(concurrency) {
  let active = 0;
  let head = null;
  let tail = null;
  const done = () => {
    active--;
    if (head !== null) {
      const node = head;
      head = node.next;
      if (head === null) tail = null;
      start(node);
    }
  };
  const start = (node) => {
    active++;
    Promise.resolve(node.fn()).then(
      (value) => {
        node.resolve(value);
        done();
      },
      (err) => {
        node.reject(err);
        done();
      },
    );
  };
  return (fn) => new Promise((resolve, reject) => {
    const node = { fn, resolve, reject, next: null };
    if (active < concurrency) start(node);
    else {
      if (tail === null) head = node;
      else tail.next = node;
      tail = node;
    }
  });
}
