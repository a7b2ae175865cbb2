/** The total HTTP request budget of a run: no request is sent once it is spent. */
export class RequestBudget {
  private taken = 0;

  constructor(readonly limit: number) {}

  /** Takes one request from the budget; false when none is left. */
  take(): boolean {
    if (this.taken >= this.limit) return false;
    this.taken++;
    return true;
  }

  get used(): number {
    return this.taken;
  }

  get isSpent(): boolean {
    return this.taken >= this.limit;
  }
}

/** Starts due after `elapsedMs` at `ratePerS` (a constant offered rate: start k is due at k / rate seconds). */
export const startsDue = (elapsedMs: number, ratePerS: number): number => Math.floor((elapsedMs * ratePerS) / 1000) + 1;

/**
 * Idle users, first in first out: an attempt takes the user idle the longest, and a user never has two
 * attempts in flight (as a k6 iteration is one user). A user whose attempts are used up leaves.
 */
export class IdleUsers {
  private readonly queue: number[];
  private head = 0;
  private readonly attemptsOf: Uint32Array;

  constructor(users: number, private readonly maxAttempts: number) {
    this.queue = Array.from({ length: users }, (_, i) => i);
    this.attemptsOf = new Uint32Array(users);
  }

  /** The next idle user, counted as attempting; undefined when every user is busy or done. */
  take(): number | undefined {
    if (this.head >= this.queue.length) return undefined;
    const user = this.queue[this.head++]!;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.attemptsOf[user]!++;
    return user;
  }

  /** The user's attempt ended: back in line, unless its attempts are used up. */
  release(user: number): void {
    if (this.maxAttempts === 0 || this.attemptsOf[user]! < this.maxAttempts) this.queue.push(user);
  }

  get idle(): number {
    return this.queue.length - this.head;
  }
}
