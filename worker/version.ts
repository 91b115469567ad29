import pkg from "../package.json";

/** The relay's version, as `GET /health` reports it. */
export const VERSION: string = pkg.version;
