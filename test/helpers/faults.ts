import pg from 'pg';

/**
 * Terminates the app's connections (application_name 'bookfast', what a failover or a pooler restart does)
 * every `everyMs` until stopped; resolves to the number of connections killed.
 */
export function killConnectionsRepeatedly(url: string, everyMs: number): { stop(): Promise<number> } {
  let stopped = false;
  const running = (async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let killed = 0;
    try {
      while (!stopped) {
        await new Promise((resolve) => setTimeout(resolve, everyMs));
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'bookfast' AND pid <> pg_backend_pid()`,
        );
        killed += rowCount ?? 0;
      }
    } finally {
      await admin.end();
    }
    return killed;
  })();
  return {
    stop() {
      stopped = true;
      return running;
    },
  };
}

export interface Answer {
  /** 0: no HTTP answer at all (connection refused or reset, or none within 30 s). */
  status: number;
  text: string;
  replayed: string | null;
}

/** A POST over a real connection that never throws: a transport failure is status 0. */
export async function send(baseUrl: string, path: string, token: string, body: object, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      // An answer that never comes is a failure to report, not a test that hangs.
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, text: await response.text(), replayed: response.headers.get('idempotent-replayed') };
  } catch (error) {
    return { status: 0, text: String((error as Error).cause ?? error), replayed: null };
  }
}

/** Registers and logs in a user over HTTP; returns its id and token. */
export async function signUp(baseUrl: string, email: string): Promise<{ id: number; token: string }> {
  const password = 'correct horse battery';
  const headers = { 'content-type': 'application/json' };
  const registered = await fetch(`${baseUrl}/register`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
  if (registered.status !== 200) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const login = await fetch(`${baseUrl}/login`, { method: 'POST', headers, body: JSON.stringify({ username: email, password }) });
  const { id } = (await registered.json()) as { id: number };
  return { id, token: ((await login.json()) as { access_token: string }).access_token };
}
