/**
 * `npm run test:mqtt-interop [-- --paho DIR] [--only NAME]`
 *
 * Runs Eclipse Paho's MQTT interoperability suites (paho.mqtt.testing:
 * `interoperability/client_test.py` for 3.1.1, `client_test5.py` for 5.0;
 * plain Python 3, standard library only) against the embedded relay,
 * through `roomcast bridge` (the suites speak TCP), one test per fresh room
 * and a bridge of its own. Prints a table of what passed and exits 1 if
 * anything failed.
 *
 * The suites are not part of this repository: check them out anywhere and
 * say where with --paho DIR or $PAHO_MQTT_TESTING, e.g.
 *   git clone https://github.com/eclipse/paho.mqtt.testing ~/paho.mqtt.testing
 *   PAHO_MQTT_TESTING=~/paho.mqtt.testing npm run test:mqtt-interop
 */
import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { startBridge } from "../../client/bridge.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseFlags, UsageError } from "../../client/cli-kit.js";
import { EmbeddedRelay } from "../local/relay.js";

const SUITES = [
  { version: "3.1.1", file: "client_test.py" },
  { version: "5.0", file: "client_test5.py" },
] as const;

/** A test that has not finished in this long failed (the longest, will delay and keep-alive, take about 20 s). */
const TEST_TIMEOUT_MS = 120_000;

/**
 * Runs one test of a suite by name. Both suites read `--hostname`/`-p` in
 * their `__main__` block (not `-h`: their `o in ("--help")` is a substring
 * test, so `-h` prints the usage and exits 0), but only client_test5.py
 * takes them back out of sys.argv before unittest.main() reads it; so
 * unittest.main is handed the test's name directly. Nothing of the suite is
 * restated here.
 */
const PYTHON_RUNNER = `
import runpy, sys, unittest
suite, test, port = sys.argv[1], sys.argv[2], sys.argv[3]
real_main = unittest.main
unittest.main = lambda *a, **k: real_main(*a, **{**k, "argv": [suite, "Test." + test]})
sys.argv = [suite, "--hostname", "127.0.0.1", "-p", port]
runpy.run_path(suite, run_name="__main__")
`;

interface Outcome {
  suite: string;
  test: string;
  passed: boolean;
  seconds: number;
  output: string;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), ["paho", "only"], ["verbose"]);
  const pahoDir = flags.str("paho") ?? process.env.PAHO_MQTT_TESTING;
  if (!pahoDir) {
    throw new UsageError(
      "where is paho.mqtt.testing? Check it out (git clone https://github.com/eclipse/paho.mqtt.testing) and pass --paho DIR or set PAHO_MQTT_TESTING=DIR",
    );
  }
  const dir = join(resolve(pahoDir), "interoperability");
  await stat(join(dir, "client_test.py")).catch(() => {
    throw new UsageError(`${dir}/client_test.py not found: --paho must be a checkout of paho.mqtt.testing`);
  });

  // The suite's own test broker caps keep-alive at 60 s (test_server_keep_alive expects Server Keep Alive 60
  // for a client asking 120): the same broker-side setting here is MQTT_MAX_KEEPALIVE_SECONDS.
  const relay = await EmbeddedRelay.start({ vars: { MQTT_MAX_KEEPALIVE_SECONDS: "60" } });
  const outcomes: Outcome[] = [];
  try {
    for (const suite of SUITES) {
      for (const test of await testNames(join(dir, suite.file))) {
        if (flags.str("only") !== undefined && flags.str("only") !== test) continue;
        const outcome = await runOne(relay, dir, suite, test);
        outcomes.push(outcome);
        process.stderr.write(`${outcome.passed ? "pass" : "FAIL"} ${suite.version} ${test} (${outcome.seconds.toFixed(1)} s)\n`);
        if (!outcome.passed && flags.bool("verbose")) process.stderr.write(`${outcome.output}\n`);
      }
    }
  } finally {
    await relay.stop();
  }
  console.log(table(outcomes));
  return outcomes.every((o) => o.passed) ? EXIT_OK : EXIT_FAILURE;
}

/** The suite's test methods, in file order (unittest's own discovery would sort them). */
async function testNames(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  return [...text.matchAll(/^\s+def (test\w*)\(self\)/gm)].map((m) => m[1]!);
}

async function runOne(relay: EmbeddedRelay, dir: string, suite: (typeof SUITES)[number], test: string): Promise<Outcome> {
  // A fresh room per test: no retained value, session or subscription of another test is there.
  const room = `interop-${suite.version.replace(".", "")}-${test.toLowerCase().replace(/_/g, "-")}-${Date.now().toString(36)}`;
  const bridge = await startBridge({ host: "127.0.0.1", port: 0, url: `${relay.wsUrl}/rooms/${room}/mqtt` });
  const started = Date.now();
  try {
    const { code, output } = await python(dir, [suite.file, test, String(bridge.address.port)]);
    // Exit 0 alone is not enough: Python 3.11's unittest exits 0 having run no test at all.
    const passed = code === 0 && /^Ran 1 test/m.test(output) && /^OK/m.test(output);
    return { suite: suite.version, test, passed, seconds: (Date.now() - started) / 1000, output };
  } finally {
    await bridge.close();
  }
}

function python(cwd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn("python3", ["-c", PYTHON_RUNNER, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), TEST_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

function table(outcomes: Outcome[]): string {
  const lines = ["| suite | test | result |", "|---|---|---|"];
  for (const o of outcomes) lines.push(`| ${o.suite} | ${o.test} | ${o.passed ? "pass" : "**fail**"} |`);
  for (const suite of SUITES) {
    const mine = outcomes.filter((o) => o.suite === suite.version);
    if (mine.length > 0) lines.push(`\n${suite.version}: ${mine.filter((o) => o.passed).length} of ${mine.length} pass`);
  }
  return lines.join("\n");
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`test:mqtt-interop: ${error.message}`);
      process.exit(EXIT_USAGE);
    }
    console.error(error);
    process.exit(EXIT_FAILURE);
  },
);
