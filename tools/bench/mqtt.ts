/**
 * The MQTT part of a bench run (scenario `mqtt`, Roomcast only): the JSON
 * fan-out's sizes with mqtt.js subscribers at each QoS of the plan, then
 * idle MQTT devices pinging once after the room was evicted.
 */
import type { MqttFanoutResult, MqttIdleResult } from "./driver/jobs.js";
import type { LoadProcess } from "./driver/spawn.js";
import { burstSize, type Plan } from "./plan.js";
import type { SystemEndpoint } from "./systems/system.js";

export async function runMqtt(
  plan: Plan,
  load: LoadProcess,
  endpoint: SystemEndpoint,
  log: (line: string) => void,
): Promise<{ fanout: MqttFanoutResult[]; idle: MqttIdleResult | null }> {
  const fanout: MqttFanoutResult[] = [];
  for (const qos of plan.mqtt.qos) {
    for (const subscribers of plan.fanout.subscribers) {
      const messages = burstSize(plan, subscribers);
      const job = { scenario: "mqtt-fanout", endpoint, subscribers, messages, qos, timeoutMs: plan.fanout.timeoutMs } as const;
      try {
        const r = await load.run<MqttFanoutResult>(job, plan.fanout.timeoutMs + 120_000);
        log(`mqtt fan-out QoS ${qos} N=${subscribers} M=${messages}: ${r.msgsPerSec.toLocaleString("en-US")} msg/s, lost ${r.lost}`);
        fanout.push(r);
      } catch (error) {
        log(`mqtt fan-out QoS ${qos} N=${subscribers} FAILED: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
    }
  }
  let idle: MqttIdleResult | null = null;
  try {
    const job = { scenario: "mqtt-idle", endpoint, devices: plan.mqtt.idleDevices, hibernateMs: plan.idle.hibernateMs } as const;
    idle = await load.run<MqttIdleResult>(job, plan.idle.hibernateMs + 120_000);
    log(`mqtt idle: ${idle.devices} devices, evicted ${idle.evicted}, ${idle.pingresps} PINGRESPs, wake-ups ${idle.wakeups}`);
  } catch (error) {
    log(`mqtt idle FAILED: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  return { fanout, idle };
}
