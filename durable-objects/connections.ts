/**
 * Operator control of one object's connections (the `admin` scope): the list
 * of every WebSocket and SSE stream it holds, and closing those a kick or a
 * revocation picks. In a sharded room each object answers for its own; the
 * Worker pages and fans out across them (worker/shards.ts).
 *
 * The list is read from the attachments and the SSE hub only when asked for,
 * one page at a time, ordered by connection id (ids are random, so a page is
 * stable under joins: a connection that joins after a page was read shows up
 * later or not at all, never twice). MQTT sockets still waiting for their
 * CONNECT's token are listed (sub null): they hold a socket of the room and
 * an operator may want them gone too.
 */
import { CloseCode, type ConnectionInfo } from "../protocol";
import { ADAPTERS } from "./adapters";
import type { RoomPort } from "./adapters/adapter";
import type { SseHub, SseWho } from "./adapters/sse";
import { isRevocable } from "./revocations";
import { attachmentOf, type Attachment } from "./sockets";

/** Who a connection is, as kicks and revocations match it. */
export type Who = Pick<SseWho, "id" | "sub" | "jti" | "iat">;

export interface ConnectionsParts {
  ctx: DurableObjectState;
  sse: SseHub;
  port(): RoomPort;
  shed(ws: WebSocket, code: number, reason: string, att?: Attachment): void;
}

export interface ConnectionPage {
  connections: ConnectionInfo[];
  cursor: string | null;
}

export class Connections {
  constructor(private readonly parts: ConnectionsParts) {}

  /** One page, ordered by id; `cursor` is the last id of the previous page. */
  page(limit: number, cursor: string | null): ConnectionPage {
    const all: ConnectionInfo[] = [];
    const after = (id: string) => cursor === null || id > cursor;
    for (const ws of this.open()) {
      const a = attachmentOf(ws);
      if (after(a.id)) all.push({ id: a.id, sub: a.sub, kind: a.kind, connectedAt: a.connectedAt });
    }
    for (const s of this.parts.sse.who()) if (after(s.id)) all.push({ id: s.id, sub: s.sub, kind: "sse", connectedAt: s.connectedAt });
    all.sort((x, y) => (x.id < y.id ? -1 : 1));
    const connections = all.slice(0, limit);
    return { connections, cursor: all.length > limit ? connections[connections.length - 1]!.id : null };
  }

  /**
   * Closes every connection `which` picks: a WebSocket with `code` (a stateful
   * protocol says why in its own wire first), an SSE stream ended. Answers how many.
   */
  close(which: (who: Who) => boolean, code: number, reason: string, keepWill: boolean): number {
    let n = 0;
    for (const ws of this.open()) {
      const a = attachmentOf(ws);
      if (!which(a)) continue;
      const dismiss = ADAPTERS[a.kind].session?.dismiss;
      if (dismiss !== undefined) dismiss(ws, this.parts.port(), code, reason, keepWill);
      else this.parts.shed(ws, code, reason, a);
      n++;
    }
    return n + this.parts.sse.endWhere(which);
  }

  /** Whether any connection carries what a revocation could match: only then does the room keep checking (revocations.ts). */
  anyRevocable(): boolean {
    for (const ws of this.open()) if (isRevocable(attachmentOf(ws))) return true;
    for (const s of this.parts.sse.who()) if (isRevocable(s)) return true;
    return false;
  }

  /** Open sockets the room has not already begun to close. */
  private *open(): Iterable<WebSocket> {
    for (const ws of this.parts.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (attachmentOf(ws).closing) continue;
      yield ws;
    }
  }
}

/** A kick's close: 4403, so a client does not reconnect by itself (TERMINAL_CLOSE_CODES). */
export const KICK_CODE = CloseCode.Forbidden;
