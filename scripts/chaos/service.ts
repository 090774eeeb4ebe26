/**
 * The HTTP service that `ChaosWork.callsService` calls, run by the orchestrator on 127.0.0.1 (a
 * free port, kept across restarts). `GET /call?wf=ID&execution=E` answers `{ "reply": "pong:ID" }`
 * after a short pause. The orchestrator takes it down and up at random:
 *   - `refuse()`: stops listening (connects fail with ECONNREFUSED); requests already being
 *     answered are answered, idle keep-alive connections are closed;
 *   - `fail()`: keeps listening but answers 503;
 *   - `up()`: answers 200 again.
 * Every request that reaches it is logged with its workflow, execution and answer, so the
 * orchestrator can count the attempts of each execution and tell whether one was ever answered.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ServiceState = 'up' | 'refusing' | 'failing';

export interface ServiceRequest {
  execution: string;
  at: number;
  /** 200 or 503 once the answer was handed to the socket; 0 while unanswered (or never). */
  status: number;
}

/**
 * Pause before each answer (ms). A failing service answers slowly, as overloaded ones do: its
 * calls are in flight long enough for a graceful stop to catch one (see run.ts).
 */
const ANSWER_DELAY_MS: [number, number] = [20, 150];
const FAILING_ANSWER_DELAY_MS: [number, number] = [100, 400];

export class ChaosService {
  private readonly server: http.Server;
  private port = 0;
  private mode: ServiceState = 'up';
  /** Requests by workflow id. */
  readonly requests = new Map<string, ServiceRequest[]>();
  readonly counters = { requests: 0, answered200: 0, answered503: 0, outages: 0, refusals: 0, failures: 0 };

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 2_000;
  }

  static async start(): Promise<ChaosService> {
    const service = new ChaosService();
    await service.listen();
    return service;
  }

  get state(): ServiceState {
    return this.mode;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** Stops accepting connections (ECONNREFUSED) until `up()`. */
  refuse(): void {
    if (this.mode === 'refusing') return;
    if (this.mode === 'up') this.counters.outages++;
    this.counters.refusals++;
    this.mode = 'refusing';
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Answers 503 until `up()`. */
  async fail(): Promise<void> {
    if (this.mode === 'up') this.counters.outages++;
    this.counters.failures++;
    const wasRefusing = this.mode === 'refusing';
    this.mode = 'failing';
    if (wasRefusing) await this.listen();
  }

  async up(): Promise<void> {
    const wasRefusing = this.mode === 'refusing';
    this.mode = 'up';
    if (wasRefusing) await this.listen();
  }

  /** Whether the service answered 200 to this execution of this workflow. */
  answered(workflowId: string, execution: string): boolean {
    return (this.requests.get(workflowId) ?? []).some((r) => r.execution === execution && r.status === 200);
  }

  async close(): Promise<void> {
    this.mode = 'refusing';
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: '127.0.0.1', port: this.port }, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const workflowId = url.searchParams.get('wf');
    const execution = url.searchParams.get('execution');
    if (url.pathname !== '/call' || !workflowId || !execution) {
      res.writeHead(404).end();
      return;
    }
    this.counters.requests++;
    const entry: ServiceRequest = { execution, at: Date.now(), status: 0 };
    const list = this.requests.get(workflowId) ?? [];
    list.push(entry);
    this.requests.set(workflowId, list);
    const [min, max] = this.mode === 'failing' ? FAILING_ANSWER_DELAY_MS : ANSWER_DELAY_MS;
    const pause = min + Math.floor(Math.random() * (max - min + 1));
    setTimeout(() => {
      // The state when answering decides: a request that arrived just before an outage fails.
      const status = this.mode === 'failing' ? 503 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { reply: `pong:${workflowId}` } : { error: 'the chaos service is failing' }), () => {
        entry.status = status;
        this.counters[status === 200 ? 'answered200' : 'answered503']++;
      });
    }, pause);
  }
}
