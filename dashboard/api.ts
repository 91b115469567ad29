/**
 * The few HTTP reads the dashboard makes next to its WebSocket, same-origin,
 * with the page's token when it has one.
 */
import { RoomcastError, roomHttpUrl } from "../client/index.js";
import type { ErrorBody, HistoryPage, PresenceList } from "../protocol/index.js";

export class RoomApi {
  constructor(
    private readonly base: string,
    private readonly room: string,
    private readonly token: string | undefined,
  ) {}

  /** One page of members (`cursor` from the previous page, none for the first). */
  presencePage(limit: number, cursor?: string): Promise<PresenceList> {
    const query = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    return this.get<PresenceList>(`/presence${query}`);
  }

  /**
   * Members, page by page, up to `max` of them: a room of thousands is not
   * listed whole (the count always comes from the relay's frames).
   */
  async presence(max = 1000, pageSize = 500): Promise<PresenceList> {
    const first = await this.presencePage(Math.min(pageSize, max));
    const clients = [...first.clients];
    let { cursor } = first;
    while (cursor && clients.length < max) {
      const page = await this.presencePage(Math.min(pageSize, max - clients.length), cursor);
      clients.push(...page.clients);
      cursor = page.cursor;
    }
    return { ...first, clients, cursor };
  }

  /** Up to `limit` messages after `after`, oldest first. */
  history(after: number, limit: number): Promise<HistoryPage> {
    return this.get<HistoryPage>(`/messages?after=${after}&limit=${limit}`);
  }

  /**
   * The messages on `topic` the room still holds, oldest first. The room keeps
   * its last HISTORY_LIMIT (1000 by default) messages, so one page of 1000
   * after `seq - 1000` covers them.
   */
  topicHistory(topic: string, seq: number): Promise<HistoryPage> {
    return this.get<HistoryPage>(`/messages?topics=${encodeURIComponent(topic)}&after=${Math.max(0, seq - 1000)}&limit=1000`);
  }

  private async get<T>(path: string): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(roomHttpUrl(this.base, this.room) + path, { headers });
    const body = (await response.json().catch(() => null)) as (T & Partial<ErrorBody>) | null;
    if (!response.ok || body === null) {
      throw new RoomcastError(body?.error?.code ?? "http_error", body?.error?.message ?? `HTTP ${response.status}`, response.status);
    }
    return body;
  }
}
