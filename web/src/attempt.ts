// One Idempotency-Key per purchase attempt. The key is kept while the attempt is unresolved (the request
// failed on the way, or the server was busy), so pressing the button again retries the same purchase and the
// server replays its first answer instead of buying twice. A final answer, or another body, starts a new one.

export class Attempt {
  private key: string | undefined;
  private body = '';

  /** The key for this body: the unresolved attempt's if it is the same purchase, else a new one. */
  keyFor(body: unknown): string {
    const text = JSON.stringify(body);
    if (this.key === undefined || text !== this.body) {
      this.key = crypto.randomUUID();
      this.body = text;
    }
    return this.key;
  }

  /** The server gave a final answer (bought, sold out, refused): the next press is a new purchase. */
  settle(): void {
    this.key = undefined;
  }
}
