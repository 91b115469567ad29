/** Every system of the bench, by name. */
import { startNodeWs } from "./node-ws.js";
import type { RunningSystem, SystemName } from "./system.js";
import { startBare, startPartyserver, startRoomcast, startRoomcastHook } from "./workerd.js";

export const STARTERS: Record<SystemName, () => Promise<RunningSystem>> = {
  roomcast: startRoomcast,
  "roomcast-hook": startRoomcastHook,
  bare: startBare,
  partyserver: startPartyserver,
  "node-ws": startNodeWs,
};
