/**
 * The part of the Cloudflare Workers runtime API that edge/worker.ts uses,
 * declared by hand: the full @cloudflare/workers-types (or `wrangler types`
 * output) redeclares fetch, Request and Response and clashes with the Node
 * types the rest of the project compiles against. Signatures follow the
 * runtime's own declarations; only what the edge calls is here.
 */

/** A Worker-side WebSocket (the runtime's `WebSocket`, named apart from Node's). */
interface WorkerWebSocket {
  readonly readyState: number;
  accept(): void;
  send(message: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** Keeps a small structured-cloneable value with the socket across hibernation. */
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

declare const WebSocketPair: {
  new (): { 0: WorkerWebSocket; 1: WorkerWebSocket };
};

type SqlStorageValue = ArrayBuffer | string | number | null;

interface SqlStorageCursor<T extends Record<string, SqlStorageValue>> {
  toArray(): T[];
  one(): T;
  readonly rowsRead: number;
  readonly rowsWritten: number;
}

interface SqlStorage {
  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T>;
  readonly databaseSize: number;
}

interface DurableObjectStorage {
  readonly sql: SqlStorage;
  transactionSync<T>(closure: () => T): T;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}

interface DurableObjectId {
  toString(): string;
  readonly name?: string;
}

interface DurableObjectState {
  readonly id: DurableObjectId;
  readonly storage: DurableObjectStorage;
  waitUntil(promise: Promise<unknown>): void;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
  /** Hibernation API: the runtime keeps the socket while the object sleeps. */
  acceptWebSocket(ws: WorkerWebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): WorkerWebSocket[];
}

/** The RPC view of an object's public methods: every call is async from the caller's side. */
type DurableObjectStub<T> = {
  fetch(request: Request): Promise<Response>;
  readonly id: DurableObjectId;
} & {
  [K in keyof T as K extends 'fetch' | 'alarm' | 'webSocketMessage' | 'webSocketClose' | 'webSocketError' ? never : T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

interface DurableObjectNamespace<T = unknown> {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub<T>;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  /** Values a caller attached to this invocation (service bindings). */
  readonly props: unknown;
}

declare module 'cloudflare:workers' {
  /** Base class of Durable Objects with RPC methods. */
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}

/** An R2 object's metadata (`head`), as far as the edge reads it. */
interface R2Object {
  readonly key: string;
  readonly size: number;
}

interface R2ObjectBody extends R2Object {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An R2 bucket binding (wrangler.toml `[[r2_buckets]]`). */
interface R2Bucket {
  head(key: string): Promise<R2Object | null>;
  get(key: string): Promise<R2ObjectBody | null>;
  put(key: string, value: ArrayBuffer | ArrayBufferView | string): Promise<R2Object | null>;
}
