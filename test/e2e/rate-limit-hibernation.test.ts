/**
 * The token bucket lives in the socket's attachment, so a room that
 * hibernates does not hand a flooding client a fresh bucket. With 1 token
 * per second and a burst of 100, a client that spent its burst and then sat
 * through an eviction has only the ~12 tokens it earned meanwhile.
 */
import { expect, it } from "vitest";
import { roomInstance } from "../support/http";
import { useRelay } from "../support/relay";
import { sleep, TestSocket, uniqueRoom } from "../support/socket";

const relay = useRelay({ vars: { RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "100" }, diagnostics: true });

it("keeps a spent bucket through hibernation", async () => {
  const room = uniqueRoom("bucket");
  const sock = await TestSocket.open(`${relay.wsUrl}/rooms/${room}`);
  await sock.next("welcome");
  for (let i = 0; i < 100; i++) sock.publish(i, `burst-${i}`);
  await sock.until((fs) => fs.filter((f) => f.json?.type === "ack").length >= 100, "100 acks");
  const instance = await roomInstance(relay.url, room);

  await sleep(13_000); // idle past workerd's ~10 s eviction
  expect(await roomInstance(relay.url, room)).not.toBe(instance); // it really was evicted

  // 22, not more: ten refusals in a row would close the socket with 1008.
  for (let i = 0; i < 22; i++) sock.publish(i, `after-${i}`);
  await sock.until(
    (fs) => fs.filter((f) => f.json?.type === "ack" && f.json.id.startsWith("after-")).length + fs.filter((f) => f.json?.type === "error").length >= 22,
    "an answer to each of 22 publishes",
  );
  const accepted = sock.all("ack").filter((a) => a.id.startsWith("after-")).length;
  const limited = sock.all("error").filter((e) => e.code === "rate_limited").length;
  // About 13-15 tokens were earned while idle; a fresh bucket would take all 22.
  expect(accepted).toBeGreaterThanOrEqual(10);
  expect(accepted).toBeLessThan(20);
  expect(limited).toBe(22 - accepted);
  expect(sock.closed).toBeNull();
  sock.close();
}, 40_000);
