/**
 * A system under test, as the load process sees it: where its rooms are, how
 * its frames look, and which process holds its memory.
 */
export const SYSTEM_NAMES = ["roomcast", "roomcast-hook", "bare", "partyserver", "node-ws"] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/**
 * The systems that are Roomcast: "roomcast" (the repository's Worker, no
 * hooks) and "roomcast-hook" (a deployer's Worker with a no-op publish hook,
 * tools/bench/hooked/). Both speak Roomcast's wire (envelopes, seqs, welcome,
 * resume, the diagnostics route); the others forward bare frames.
 */
const ROOMCAST_SYSTEMS: readonly SystemName[] = ["roomcast", "roomcast-hook"];

/** Whether `name` speaks Roomcast's wire: the one test of it in the bench. */
export function speaksRoomcast(name: SystemName): boolean {
  return ROOMCAST_SYSTEMS.includes(name);
}

/** Everything the load process needs to know about a running system (plain JSON: it crosses processes). */
export interface SystemEndpoint {
  name: SystemName;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Path of a room: its WebSocket (with Upgrade) and its counters (without). */
  roomPathPrefix: string;
  /** The process whose RSS is the runtime's memory (workerd, or the node-ws server). */
  pid: number;
  /** Roomcast's clients ask for batch frames (`batch=1`), as roomcast/client does: the bench's batch variant. */
  batch?: boolean;
  /** Roomcast's publisher asks to skip history (`"history": false`): the bench's `live` variant. */
  live?: boolean;
  /** Roomcast's readers ask for conflation (`conflate=<ms>`): the bench's `conflate` variant. */
  conflate?: number;
  /** The token every Roomcast socket of the run connects with (`token=`), on a relay with AUTH_SECRET. */
  token?: string;
}

export interface RunningSystem {
  endpoint: SystemEndpoint;
  stop(): Promise<void>;
  /**
   * Stops the system and starts it again on the same port with the same
   * storage (its persistence dir), as a deploy or a crash would; every open
   * socket drops. `endpoint.pid` follows the new runtime process. Only the
   * systems that can (the workerd ones) have it.
   */
  restart?(): Promise<void>;
}

export function roomPath(endpoint: SystemEndpoint, room: string): string {
  return `${endpoint.roomPathPrefix}${encodeURIComponent(room)}`;
}
