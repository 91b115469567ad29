/**
 * The repository's own Worker (`npm start`, `wrangler deploy`): the relay
 * with no hooks. A deployer's project does the same with its own hooks,
 * importing `createRelay` from `roomcast/server` (README, examples/).
 */
import { createRelay } from "./relay";

const relay = createRelay();

export const Room = relay.Room;
export default relay;
/** The class's instance type too, as wrangler's generated Env names it (`DurableObjectNamespace<Room>`). */
export type Room = InstanceType<typeof Room>;
