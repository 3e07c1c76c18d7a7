import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

// With WORKERS > 1 a scrape of the shared port reaches one worker at random, and its counters alone would
// look like resets to Prometheus. So a worker asks the primary, which gathers every worker's registry
// (prom-client's AggregatorRegistry: counters and histograms summed) and answers with the whole cluster.

const ASK = 'bookfast:metrics-request';
const ANSWER = 'bookfast:metrics-answer';
const TIMEOUT_MS = 6_000; // prom-client gives up on a silent worker after 5 s

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: serve workers' requests for the cluster's metrics. */
export function answerClusterMetricRequests(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: unknown; id?: unknown }) => {
    if (message?.type !== ASK || typeof message.id !== 'number') return;
    const id = message.id;
    // The callback form: a worker that died meanwhile is not an 'error' event in the primary.
    const reply = (answer: Answer) => worker.send(answer, () => undefined);
    aggregator.clusterMetrics().then(
      (text) => reply({ type: ANSWER, id, text }),
      (error: Error) => reply({ type: ANSWER, id, error: error.message }),
    );
  });
}

/** In a worker: let the primary read this registry (prom-client answers its requests). */
export function shareWithPrimary(registry: Registry): void {
  // Constructing one installs prom-client's listener for the primary's requests in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
let nextId = 0;
let listening = false;

/** In a worker: the Prometheus text of the whole cluster, from the primary. */
export function askPrimaryForClusterMetrics(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (message: Partial<Answer> | null) => {
      if (message?.type !== ANSWER || typeof message.id !== 'number') return;
      const entry = waiting.get(message.id);
      if (!entry) return;
      waiting.delete(message.id);
      clearTimeout(entry.timer);
      if (typeof message.text === 'string') entry.resolve(message.text);
      else entry.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('cluster metrics: the primary did not answer'));
    }, TIMEOUT_MS);
    waiting.set(id, { resolve, reject, timer });
    process.send?.({ type: ASK, id });
  });
}
