/** Every system of the bench, by name. */
import { startNodeWs } from "./node-ws.js";
import type { RunningSystem, SystemName } from "./system.js";
import { startBare, startPartyserver, startRoomcast } from "./workerd.js";

export const STARTERS: Record<SystemName, () => Promise<RunningSystem>> = {
  roomcast: startRoomcast,
  bare: startBare,
  partyserver: startPartyserver,
  "node-ws": startNodeWs,
};
