/**
 * Flag values for the tools built on the load generator (`npm run simulate`,
 * `npm run soak`): the shared command-line kit, client/cli-kit.ts.
 */
export { durationFlag, numberFlag, parseFlags, UsageError, wholeFlag, type FlagReader } from "../../client/cli-kit.js";
