/** The few RoomStore calls the shard code makes (meta only), over a Map: for tests against fake hosts. */
import type { RoomStore } from "../../durable-objects/store";

export function fakeStore(meta = new Map<string, string>()): RoomStore {
  return {
    getMeta: (key: string) => meta.get(key) ?? null,
    setMeta: (key: string, value: string) => void meta.set(key, value),
    create: () => undefined,
  } as unknown as RoomStore;
}
