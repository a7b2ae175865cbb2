import { ENDPOINTS, endpointPath, type EndpointName } from './contract.ts';

/** The calls the driver makes around the load: seeding, the sale and queue switches, and the results. */

export interface SeededEvent {
  readonly eventId: string;
  readonly maxPerUser: number;
  readonly saleState: string;
  readonly categories: readonly { readonly name: string; readonly totalStock: number }[];
}

export interface CategoryAvailability {
  readonly name: string;
  readonly totalStock: number;
  readonly available: number;
  readonly held: number;
}

export type FairnessFetch =
  | { readonly kind: 'report'; readonly report: Record<string, unknown> }
  | { readonly kind: 'unavailable'; readonly note: string };

type Json = Record<string, unknown>;

export class AdminApi {
  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  private async call(endpoint: EndpointName, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; body: Json | undefined }> {
    const method = ENDPOINTS[endpoint].method;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: typeof parsed === 'object' && parsed !== null ? (parsed as Json) : undefined };
  }

  private async expect(endpoint: EndpointName, path: string, status: number, body?: unknown): Promise<Json> {
    const res = await this.call(endpoint, path, body);
    if (res.status !== status || !res.body) {
      throw new Error(`${ENDPOINTS[endpoint].method} ${path} answered ${res.status}${res.body?.detail ? `: ${String(res.body.detail)}` : ''}`);
    }
    return res.body;
  }

  /** Throws a clear message when no gateway answers at the base URL. */
  async checkReady(): Promise<void> {
    let status: number;
    try {
      status = (await this.call('ready', endpointPath('ready'), undefined, 5_000)).status;
    } catch (err) {
      throw new Error(`no gateway answers at ${this.baseUrl} (${(err as Error).message}); start one with npm run stack`);
    }
    if (status !== 200) throw new Error(`the gateway at ${this.baseUrl} is not ready (GET /ready answered ${status})`);
  }

  /** A new event with categories A, B, ... sharing `seats` (the first ones get the remainder). */
  async seedEvent(settings: { name: string; seats: number; categories: number; maxPerUser: number }): Promise<SeededEvent> {
    const date = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const event = await this.expect('create_event', endpointPath('create_event'), 201, { name: settings.name, date, max_per_user: settings.maxPerUser });
    const eventId = String(event.id);
    const categories = [];
    for (let i = 0; i < settings.categories; i++) {
      const name = String.fromCharCode(65 + i);
      const totalStock = Math.floor(settings.seats / settings.categories) + (i < settings.seats % settings.categories ? 1 : 0);
      await this.expect('create_category', endpointPath('create_category', eventId), 201, { name, total_stock: totalStock, price: 10_000 });
      categories.push({ name, totalStock });
    }
    return { eventId, maxPerUser: Number(event.max_per_user), saleState: String(event.sale_state), categories };
  }

  async loadEvent(eventId: string): Promise<SeededEvent> {
    const event = await this.expect('event', endpointPath('event', eventId), 200);
    const categories = Array.isArray(event.categories) ? (event.categories as Json[]) : [];
    if (categories.length === 0) throw new Error(`event ${eventId} has no category to buy in`);
    return {
      eventId,
      maxPerUser: Number(event.max_per_user),
      saleState: String(event.sale_state),
      categories: categories.map((c) => ({ name: String(c.name), totalStock: Number(c.total_stock) })),
    };
  }

  async openSale(eventId: string): Promise<void> {
    await this.expect('sale', endpointPath('sale', eventId), 200, { state: 'open' });
  }

  async setQueueDepth(eventId: string, maxDepth: number): Promise<void> {
    await this.expect('queue', endpointPath('queue', eventId), 200, { max_depth: maxDepth });
  }

  async availability(eventId: string): Promise<CategoryAvailability[]> {
    const body = await this.expect('availability', endpointPath('availability', eventId), 200);
    const categories = Array.isArray(body.categories) ? (body.categories as Json[]) : [];
    return categories.map((c) => ({ name: String(c.name), totalStock: Number(c.total_stock), available: Number(c.available), held: Number(c.held) }));
  }

  /** `GET /admin/events/{id}/fairness`, or a note saying why there is no report. */
  async fairnessReport(eventId: string): Promise<FairnessFetch> {
    const path = endpointPath('fairness_report', eventId);
    let res;
    try {
      res = await this.call('fairness_report', path, undefined, 300_000);
    } catch (err) {
      return { kind: 'unavailable', note: `GET ${path} failed: ${(err as Error).message}` };
    }
    if (res.status === 200 && res.body) return { kind: 'report', report: res.body };
    if (res.status === 404 && res.body?.code === 'route_not_found') {
      return { kind: 'unavailable', note: `this gateway does not serve GET ${path} yet (404 route_not_found); the load figures above stand on their own` };
    }
    return { kind: 'unavailable', note: `GET ${path} answered ${res.status}${res.body?.code ? ` ${String(res.body.code)}` : ''}` };
  }
}
