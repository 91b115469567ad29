// The pool's `env` is this Worker's Env.
declare module "cloudflare:test" {
  interface ProvidedEnv extends Env {}
}
