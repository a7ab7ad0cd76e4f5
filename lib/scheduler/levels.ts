// The ready queue: one FIFO per priority, highest first. Level 0 always exists (plain
// tasks go straight to it); other levels come and go with their tasks.

import { List } from './list.js';
import type { Node } from './task.js';

export class Level extends List<Node> {
  constructor(readonly priority: number) {
    super();
  }
}

export class Levels {
  readonly main = new Level(0);
  private list: Level[] = [this.main];
  private readonly byPriority = new Map<number, Level>([[0, this.main]]);

  get(priority: number): Level {
    if (priority === 0) return this.main;
    let level = this.byPriority.get(priority);
    if (level === undefined) {
      level = new Level(priority);
      this.byPriority.set(priority, level);
      let i = 0;
      while (i < this.list.length && this.list[i]!.priority > priority) i++;
      this.list.splice(i, 0, level);
    }
    return level;
  }

  /** The highest non-empty level. */
  top(): Level | undefined {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i]!.size > 0) return list[i];
    return undefined;
  }

  shiftFrom(level: Level): void {
    level.shift();
    if (level.size === 0) this.drop(level);
  }

  remove(node: Node, priority: number): void {
    const level = this.get(priority);
    level.remove(node);
    if (level.size === 0) this.drop(level);
  }

  /** The head of the lowest non-empty level: what drop-oldest evicts first. */
  oldest(): Node | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const level = this.list[i]!;
      if (level.size > 0) return level.head;
    }
    return undefined;
  }

  /** Every level, highest first, for emptying. */
  all(): readonly Level[] {
    return this.list;
  }

  /** After every level was emptied. */
  reset(): void {
    this.list = [this.main];
    this.byPriority.clear();
    this.byPriority.set(0, this.main);
  }

  private drop(level: Level): void {
    if (level === this.main) return;
    this.byPriority.delete(level.priority);
    this.list.splice(this.list.indexOf(level), 1);
  }
}
