import { ServiceUnavailable, TooManyRequests } from '../errors.js';

/**
 * Caps the live streams one process holds, per client address and in all: each open stream costs memory
 * (2,000 took a worker from ~105 MB to ~290 MB). Counted in memory: a stream lives in one process.
 */
export class StreamCaps {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerAddress: number,
    private readonly maxTotal: number,
  ) {}

  /** Takes a place for `address`, or throws 429 (this address has enough) or 503 (this process is full). */
  open(address: string): () => void {
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= this.maxPerAddress) throw new TooManyRequests(5, 'requests');
    if (this.total >= this.maxTotal) throw new ServiceUnavailable('Too many live streams on this server, retry shortly', 5);
    this.perAddress.set(address, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }
}
