/**
 * The room's reads over RPC (`GET /messages`, `GET /retained`, a shard's
 * retained page): envelopes as stored (JSON text, joined by the Worker, so
 * no stored text is parsed on a read), a page at a time, each page within
 * READ_PAGE_BYTES (at least one envelope): the runtime refuses answers past
 * 32 MiB, and no read may fail because of what was published.
 */
import type { HistoryPage } from "../protocol";
import { READ_PAGE_BYTES } from "../protocol/limits";
import { TopicMatcher } from "../protocol/topics";
import { passes } from "./adapters/sse";
import type { History } from "./history";
import type { RetainedMessage } from "./retained-store";

export type StoredHistoryPage = Omit<HistoryPage, "messages"> & { messages: string[] };

/** `GET /messages`: after `after`, at most `limit` and READ_PAGE_BYTES; the last envelope's seq is where the next starts. */
export function historyPage(room: string, log: History, after: number, limit: number, topics: string[] | null): StoredHistoryPage {
  const filter = topics === null ? null : new TopicMatcher(topics);
  const messages: string[] = [];
  let bytes = 0;
  log.replay(after, ({ envelope, topic }) => {
    if (!passes(filter, topic)) return true;
    if (messages.length > 0 && bytes + envelope.length > READ_PAGE_BYTES) return false;
    messages.push(envelope);
    bytes += envelope.length;
    return messages.length < limit;
  });
  return { room, epoch: log.epoch, seq: log.seq, messages };
}

/** A page of retained values with their seqs (a shard's new readers), within READ_PAGE_BYTES. */
export function retainedRows(log: History, topics: string[] | null, after: number, limit: number, maxBytes: number): { rows: RetainedMessage[]; more: boolean } {
  return log.retainedPage(topics, after, limit, Math.min(maxBytes, READ_PAGE_BYTES));
}

/** `GET /retained`: a page of envelopes, oldest seq first; `cursor` (null on the last page) goes on. */
export function retainedEnvelopes(room: string, log: History, topics: string[] | null, limit: number, cursor: number | null): { room: string; messages: string[]; cursor: string | null } {
  const page = retainedRows(log, topics, cursor ?? 0, limit, READ_PAGE_BYTES);
  const last = page.rows[page.rows.length - 1];
  return { room, messages: page.rows.map((r) => r.envelope), cursor: page.more && last ? String(last.seq) : null };
}
