/**
 * `roomcast/server`: what a deployer's own Worker imports. `createRelay`
 * returns the Worker (`export default relay`) and the Durable Object class
 * (`export const Room = relay.Room`), with the deployer's hooks run by the
 * Room on every connection and every publish (docs/protocol.md, "A
 * deployer's own Worker").
 */
export { createRelay, type Relay, type RelayOptions } from "../worker/relay";
export type {
  ConnectAnswer,
  ConnectionKind,
  HookCommitted,
  HookConnection,
  HookMessage,
  HookRefusal,
  PublishAnswer,
  RelayHooks,
} from "../protocol/hooks";
